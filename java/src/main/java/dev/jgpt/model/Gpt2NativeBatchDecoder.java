package dev.jgpt.model;

import dev.jgpt.JgptException;
import dev.jgpt.backend.cpu.DecodePool;
import dev.jgpt.bindings.Cblas;
import dev.jgpt.bindings.Jgpt;
import dev.jgpt.generate.BatchDecoder;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Continuous batching for GPT-2 on the native path, the twin of {@link dev.jgpt.llama.LlamaBatchDecoder}:
 * up to {@code maxBatch} sequences over the weights of one {@link Gpt2Decoder} (borrowed: its plan, so
 * its dtype, bf16/q8 copies and thread count), each with its own float32 KV cache. A step is one
 * native call ({@code jgpt_gpt2_decode_batch}) that reads each block of weight rows once and applies
 * it to every sequence; per-row arithmetic is the one-sequence decode's, so logits equal
 * {@link Gpt2Decoder#step}'s. A step of one sequence is the one-sequence decode itself
 * ({@code jgpt_gpt2_decode} over the slot's plan).
 *
 * <p>A prompt is prefilled one sequence at a time with float32 sgemm ({@code jgpt_gpt2_prefill} over
 * the slot's own copy of the plan, whose cache slots point at the slot's cache), as
 * {@link Gpt2Decoder#prefill} does. Everything is allocated in the constructor; a step allocates
 * nothing on the Java heap. Not thread-safe: one thread drives it.
 */
public final class Gpt2NativeBatchDecoder implements BatchDecoder {
    private final Gpt2Decoder model;
    private final GptConfig c;
    private final int maxBatch;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment basePlan;
    private final DecodePool pool;
    private final MemorySegment[] slotPlans;     // the model's plan with KCACHE/VCACHE = the slot's cache
    private final long[] kCache, vCache;         // addresses of each slot's caches
    private final int[] positions;
    private final MemorySegment tokens, pos, caches, scratch, decodeScratch, prefillScratch, promptTokens;
    private final Tensor logits, prefillLogits;

    /** @param model the weights (must stay open while this is used; not closed by {@link #close}) */
    public Gpt2NativeBatchDecoder(Gpt2Decoder model, int maxBatch) {
        if (maxBatch < 1) throw new IllegalArgumentException("maxBatch must be at least 1 (got " + maxBatch + ")");
        this.model = model;
        this.c = model.config();
        this.maxBatch = maxBatch;
        this.basePlan = model.plan();
        long planBytes = 8L * Jgpt.JGPT_GPT2_PLAN_SLOTS;
        long cacheBytes = 4L * c.layers() * c.contextLength() * c.channels();
        try {
            slotPlans = new MemorySegment[maxBatch];
            kCache = new long[maxBatch];
            vCache = new long[maxBatch];
            positions = new int[maxBatch];
            for (int i = 0; i < maxBatch; i++) {
                MemorySegment p = arena.allocate(planBytes, 64);
                MemorySegment.copy(basePlan, 0, p, 0, planBytes);
                kCache[i] = arena.allocate(cacheBytes, 64).address();
                vCache[i] = arena.allocate(cacheBytes, 64).address();
                p.setAtIndex(ValueLayout.JAVA_LONG, Jgpt.JGPT_GPT2_KCACHE, kCache[i]);
                p.setAtIndex(ValueLayout.JAVA_LONG, Jgpt.JGPT_GPT2_VCACHE, vCache[i]);
                slotPlans[i] = p;
            }
            tokens = arena.allocate(4L * maxBatch, 64);
            pos = arena.allocate(4L * maxBatch, 64);
            caches = arena.allocate(16L * maxBatch, 64);
            scratch = arena.allocate(4L * Jgpt.jgpt_gpt2_batch_scratch_floats(basePlan, maxBatch), 64);
            decodeScratch = arena.allocate(4L * Jgpt.jgpt_gpt2_decode_scratch_floats(basePlan), 64);
            int chunk = Math.min(Gpt2Decoder.PREFILL_CHUNK, c.contextLength());
            prefillScratch = arena.allocate(4L * Jgpt.jgpt_gpt2_prefill_scratch_floats(basePlan, chunk), 64);
            promptTokens = arena.allocate(4L * chunk, 64);
            logits = Tensor.ofHost(arena.allocate(4L * maxBatch * c.vocabSize(), 64), DType.F32, maxBatch, c.vocabSize());
            prefillLogits = Tensor.ofHost(arena.allocate(4L * c.vocabSize(), 64), DType.F32, c.vocabSize());
            // its own decode threads for one-sequence steps: the model's pool may be busy on another thread
            pool = new DecodePool(model.threads());   // last: nothing after it can fail and leak the threads
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
        for (MemorySegment p : slotPlans) p.setAtIndex(ValueLayout.JAVA_LONG, Jgpt.JGPT_GPT2_POOL, pool.address());
    }

    public Gpt2Decoder model() { return model; }
    public GptConfig config() { return c; }

    @Override public int maxBatch() { return maxBatch; }
    @Override public int vocabSize() { return c.vocabSize(); }
    @Override public int contextLength() { return c.contextLength(); }
    @Override public int position(int slot) { return positions[checkSlot(slot)]; }
    @Override public void reset(int slot) { positions[checkSlot(slot)] = 0; }

    @Override
    public void bindThread() {
        Jgpt.jgpt_set_num_threads(model.threads());
        Cblas.openblas_set_num_threads(model.threads());
    }

    @Override
    public Tensor prefill(int slot, int[] prompt) {
        checkSlot(slot);
        if (prompt == null || prompt.length == 0) throw new IllegalArgumentException("tokens: prefill needs at least one token");
        int at = positions[slot];
        checkRoom(at, prompt.length);
        for (int i = 0; i < prompt.length; i++) checkToken(prompt[i], at + i);
        if (prompt.length == 1) {
            // one token: the decode path (as Gpt2Decoder.prefill does), as a batch of one
            Tensor out = step(new int[] {slot}, prompt, 1);
            MemorySegment.copy(out.data(), 0, prefillLogits.data(), 0, 4L * c.vocabSize());
            return prefillLogits;
        }
        int chunk = (int) (promptTokens.byteSize() / 4);
        for (int start = 0; start < prompt.length; start += chunk) {
            int n = Math.min(chunk, prompt.length - start);
            MemorySegment.copy(prompt, start, promptTokens, ValueLayout.JAVA_INT, 0, n);
            Jgpt.jgpt_gpt2_prefill(prefillLogits.data(), slotPlans[slot], prefillScratch, decodeScratch, promptTokens, n, positions[slot]);
            positions[slot] += n;
        }
        return prefillLogits;
    }

    @Override
    public Tensor step(int[] slots, int[] toks, int n) {
        if (n < 1 || n > maxBatch) throw new IllegalArgumentException("batch of " + n + " sequences: must be in [1, " + maxBatch + "]");
        for (int i = 0; i < n; i++) {
            int s = checkSlot(slots[i]);
            checkToken(toks[i], positions[s]);
            checkRoom(positions[s], 1);
            for (int j = 0; j < i; j++) {
                if (slots[j] == s) throw new IllegalArgumentException("slot " + s + " appears twice in one step");
            }
            tokens.setAtIndex(ValueLayout.JAVA_INT, i, toks[i]);
            pos.setAtIndex(ValueLayout.JAVA_INT, i, positions[s]);
            caches.setAtIndex(ValueLayout.JAVA_LONG, 2L * i, kCache[s]);
            caches.setAtIndex(ValueLayout.JAVA_LONG, 2L * i + 1, vCache[s]);
        }
        if (n == 1) {
            // one sequence: the one-sequence decode over the slot's plan (same logits; its pool splits
            // every matrix between the threads, which is faster for one vector than row blocks)
            Jgpt.jgpt_gpt2_decode(logits.data(), slotPlans[slots[0]], decodeScratch, toks[0], positions[slots[0]]);
        } else {
            Jgpt.jgpt_gpt2_decode_batch(logits.data(), basePlan, scratch, tokens, pos, caches, n);
        }
        for (int i = 0; i < n; i++) positions[slots[i]]++;
        return logits;
    }

    private int checkSlot(int slot) {
        if (slot < 0 || slot >= maxBatch) throw new IllegalArgumentException("slot " + slot + " outside [0, " + maxBatch + ")");
        return slot;
    }

    // the same messages as Gpt2Decoder's, so a user sees one error whichever path decodes
    private void checkRoom(int at, int n) {
        if (at + n > c.contextLength()) {
            throw new IllegalArgumentException("context full: " + at + " cached + " + n + " new tokens exceed the context length "
                    + c.contextLength());
        }
    }

    private void checkToken(int token, int position) {
        if (token < 0 || token >= c.vocabSize()) {
            throw new JgptException("token " + token + " at position " + position + " is outside the vocabulary [0, "
                    + c.vocabSize() + ")");
        }
    }

    @Override
    public void close() {
        pool.close();   // first: its workers read the slot plans
        arena.close();
    }
}
