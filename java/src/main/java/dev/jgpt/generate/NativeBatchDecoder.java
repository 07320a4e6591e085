package dev.jgpt.generate;

import dev.jgpt.backend.cpu.DecodePool;
import dev.jgpt.bindings.Cblas;
import dev.jgpt.bindings.Jgpt;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The slot bookkeeping of libjgpt's batched decoders (GPT-2 and Llama): up to {@code maxBatch}
 * sequences over the weights of one loaded model (its "plan", borrowed), each slot with its own
 * KV cache (float32 or halves, as the model) and its own copy of the plan whose cache slots point at that cache. A step of
 * several sequences is one native call that reads each block of weight rows once for all of them; a
 * step of one sequence is the one-sequence decode over the slot's plan; a prompt is prefilled one
 * sequence at a time in float32 sgemm chunks. Everything is allocated in the constructor; a step
 * allocates nothing on the Java heap. Not thread-safe: one thread drives it.
 *
 * <p>What differs between the families — the plan's layout, the native entry points and the
 * wording of their errors — is what a subclass supplies.
 */
public abstract class NativeBatchDecoder implements BatchDecoder {

    /**
     * A family's plan layout and sizes.
     *
     * @param planSlots    int64 slots of the plan
     * @param kCacheSlot   plan slot of the key cache's address (likewise value cache, decode pool)
     * @param cacheBytes   bytes of one slot's key (and of its value) cache
     * @param prefillChunk tokens per prefill call
     */
    public record Layout(int planSlots, int kCacheSlot, int vCacheSlot, int poolSlot, long cacheBytes, int vocabSize,
                            int contextLength, int threads, long batchScratchFloats, long decodeScratchFloats,
                            long prefillScratchFloats, int prefillChunk) {}

    private final Layout layout;
    private final int maxBatch;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment basePlan;
    private final DecodePool pool;
    private final MemorySegment[] slotPlans;     // the model's plan with the cache slots = the slot's cache
    private final long[] kCache, vCache;         // addresses of each slot's caches
    private final int[] positions;
    private final MemorySegment tokens, pos, caches, scratch, decodeScratch, prefillScratch, promptTokens;
    private final Tensor logits, prefillLogits;

    protected NativeBatchDecoder(MemorySegment basePlan, int maxBatch, Layout layout) {
        if (maxBatch < 1) throw new IllegalArgumentException("maxBatch must be at least 1 (got " + maxBatch + ")");
        this.layout = layout;
        this.maxBatch = maxBatch;
        this.basePlan = basePlan;
        long planBytes = 8L * layout.planSlots();
        try {
            slotPlans = new MemorySegment[maxBatch];
            kCache = new long[maxBatch];
            vCache = new long[maxBatch];
            positions = new int[maxBatch];
            for (int i = 0; i < maxBatch; i++) {
                MemorySegment p = arena.allocate(planBytes, 64);
                MemorySegment.copy(basePlan, 0, p, 0, planBytes);
                // sized for the whole context, in the RSS only as far as a slot's sequences reach (LazyZeroMemory)
                kCache[i] = dev.jgpt.memory.LazyZeroMemory.allocate(layout.cacheBytes(), arena).address();
                vCache[i] = dev.jgpt.memory.LazyZeroMemory.allocate(layout.cacheBytes(), arena).address();
                p.setAtIndex(ValueLayout.JAVA_LONG, layout.kCacheSlot(), kCache[i]);
                p.setAtIndex(ValueLayout.JAVA_LONG, layout.vCacheSlot(), vCache[i]);
                slotPlans[i] = p;
            }
            tokens = arena.allocate(4L * maxBatch, 64);
            pos = arena.allocate(4L * maxBatch, 64);
            caches = arena.allocate(16L * maxBatch, 64);
            scratch = arena.allocate(4L * layout.batchScratchFloats(), 64);
            decodeScratch = arena.allocate(4L * layout.decodeScratchFloats(), 64);
            prefillScratch = arena.allocate(4L * layout.prefillScratchFloats(), 64);
            promptTokens = arena.allocate(4L * layout.prefillChunk(), 64);
            int V = layout.vocabSize();
            logits = Tensor.ofHost(arena.allocate(4L * maxBatch * V, 64), DType.F32, maxBatch, V);
            prefillLogits = Tensor.ofHost(arena.allocate(4L * V, 64), DType.F32, V);
            // its own decode threads for one-sequence steps: the model's pool may be busy on another thread
            pool = new DecodePool(layout.threads());   // last: nothing after it can fail and leak the threads
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
        for (MemorySegment p : slotPlans) p.setAtIndex(ValueLayout.JAVA_LONG, layout.poolSlot(), pool.address());
    }

    /** One sequence's next-token logits: the one-sequence decode over {@code plan}. */
    protected abstract void decodeOne(MemorySegment logits, MemorySegment plan, MemorySegment scratch, int token, int position);

    /** n sequences' logits in one call over the model's own plan (each row's caches in {@code caches}). */
    protected abstract void decodeBatch(MemorySegment logits, MemorySegment plan, MemorySegment scratch, MemorySegment tokens,
                                        MemorySegment positions, MemorySegment caches, int n);

    /** n prompt tokens through the slot's {@code plan} from {@code position}; logits of the last. */
    protected abstract void prefillChunk(MemorySegment logits, MemorySegment plan, MemorySegment prefillScratch,
                                         MemorySegment decodeScratch, MemorySegment tokens, int n, int position);

    /** Throws the family's error when {@code prompt} cannot be appended at {@code position}. */
    protected abstract void checkPrompt(int position, int[] prompt);

    /** Throws the family's error when {@code token} cannot be decoded at {@code position} of {@code slot}. */
    protected abstract void checkStep(int slot, int token, int position);

    @Override public int maxBatch() { return maxBatch; }
    @Override public int vocabSize() { return layout.vocabSize(); }
    @Override public int contextLength() { return layout.contextLength(); }
    @Override public int position(int slot) { return positions[checkSlot(slot)]; }
    @Override public void reset(int slot) { positions[checkSlot(slot)] = 0; }

    @Override
    public void bindThread() {
        Jgpt.jgpt_set_num_threads(layout.threads());
        Cblas.openblas_set_num_threads(layout.threads());
    }

    @Override
    public Tensor prefill(int slot, int[] prompt) {
        checkSlot(slot);
        checkPrompt(positions[slot], prompt);
        if (prompt.length == 1) {
            // one token: the decode path (as the one-sequence decoders' prefill does), as a batch of one
            Tensor out = step(new int[] {slot}, prompt, 1);
            MemorySegment.copy(out.data(), 0, prefillLogits.data(), 0, 4L * layout.vocabSize());
            return prefillLogits;
        }
        int chunk = layout.prefillChunk();
        for (int start = 0; start < prompt.length; start += chunk) {
            int n = Math.min(chunk, prompt.length - start);
            MemorySegment.copy(prompt, start, promptTokens, ValueLayout.JAVA_INT, 0, n);
            prefillChunk(prefillLogits.data(), slotPlans[slot], prefillScratch, decodeScratch, promptTokens, n, positions[slot]);
            positions[slot] += n;
        }
        return prefillLogits;
    }

    @Override
    public Tensor step(int[] slots, int[] toks, int n) {
        if (n < 1 || n > maxBatch) throw new IllegalArgumentException("batch of " + n + " sequences: must be in [1, " + maxBatch + "]");
        for (int i = 0; i < n; i++) {
            int s = checkSlot(slots[i]);
            checkStep(s, toks[i], positions[s]);
            for (int j = 0; j < i; j++) {
                if (slots[j] == s) throw new IllegalArgumentException("slot " + s + " appears twice in one step");
            }
            tokens.setAtIndex(ValueLayout.JAVA_INT, i, toks[i]);
            pos.setAtIndex(ValueLayout.JAVA_INT, i, positions[s]);
            caches.setAtIndex(ValueLayout.JAVA_LONG, 2L * i, kCache[s]);
            caches.setAtIndex(ValueLayout.JAVA_LONG, 2L * i + 1, vCache[s]);
        }
        if (n == 1) {
            // one sequence: the one-sequence decode over the slot's plan (same logits; its threads split
            // every matrix, where the batched call splits row blocks and costs a few % at B = 1)
            decodeOne(logits.data(), slotPlans[slots[0]], decodeScratch, toks[0], positions[slots[0]]);
        } else {
            decodeBatch(logits.data(), basePlan, scratch, tokens, pos, caches, n);
        }
        for (int i = 0; i < n; i++) positions[slots[i]]++;
        return logits;
    }

    private int checkSlot(int slot) {
        if (slot < 0 || slot >= maxBatch) throw new IllegalArgumentException("slot " + slot + " outside [0, " + maxBatch + ")");
        return slot;
    }

    @Override
    public void close() {
        pool.close();   // first: its workers read the slot plans
        arena.close();
    }
}
