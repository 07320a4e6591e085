package dev.jgpt.model;

import dev.jgpt.JgptException;
import dev.jgpt.backend.cpu.DecodePool;
import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.bindings.Cblas;
import dev.jgpt.bindings.Jgpt;
import dev.jgpt.generate.CausalLm;
import dev.jgpt.llama.DecodeDType;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Fast GPT-2 inference on the CPU through libjgpt, the GPT-2 twin of
 * {@link dev.jgpt.llama.LlamaInference}: decode is one native call per token
 * ({@code jgpt_gpt2_decode}, on this object's own pool of decode threads, matrix-vector products in
 * the chosen {@link DecodeDType}); prefill runs blocks of prompt tokens through float32
 * {@code cblas_sgemm} ({@code jgpt_gpt2_prefill}). The four matrices of each layer and the
 * classifier (the tied token embedding) are used in place in f32 or converted once here to bf16 or
 * q8; LayerNorms, biases and embeddings stay float32. The KV cache (float32), the scratch buffers
 * and the logits are allocated once: nothing is allocated per token.
 *
 * <p>The prompt's keys and values come from the float32 weights whatever the dtype (sgemm needs
 * float32); the logits after the prompt and every decoded token use the dtype. Results in f32 equal
 * {@link Gpt2Inference}'s up to float rounding (the same arithmetic, other summation orders).
 */
public final class Gpt2Decoder implements CausalLm, dev.jgpt.memory.MemoryAccounted {
    /** Prompt tokens per prefill call: bounds the scratch (about chunk * (7 C + heads * maxT) floats). */
    static final int PREFILL_CHUNK = 128;

    private final GptConfig c;
    private final Tensor params;
    private final DecodeDType dtype;
    private final int groupSize, threads;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment plan, scratch, prefillScratch, promptTokens;
    private final Tensor logits;
    private final AutoCloseable owner;
    private final DecodePool pool;
    private long convertedBytes;   // the bf16 / q8 copies (and q8 scales)
    private int pos;
    private boolean closed;

    /**
     * @param params    the flat float32 parameters on the host ({@link ParameterLayout}), borrowed:
     *                  they must outlive this object
     * @param groupSize q8 group size (32 or 64; must divide the channels); ignored otherwise
     * @param owner     closed with this object (what owns the parameters), or null
     */
    public Gpt2Decoder(GptConfig config, Tensor params, DecodeDType dtype, int groupSize, int threads, AutoCloseable owner) {
        dtype.requireNotGguf("a GPT-2 run");
        NativeLibraries.require();
        if (!params.isHost() || params.dtype() != DType.F32) throw new IllegalArgumentException("Gpt2Decoder needs float32 host parameters");
        ParameterLayout layout = ParameterLayout.of(config);
        if (params.numel() != layout.size()) {
            throw new IllegalArgumentException("parameters: " + params.numel() + " floats, the layout of " + config + " has " + layout.size());
        }
        this.c = config;
        this.params = params;
        this.dtype = dtype;
        this.groupSize = groupSize;
        this.threads = Math.max(1, threads);
        this.owner = owner;
        int C = c.channels();
        if (dtype == DecodeDType.Q8) {
            if (groupSize != 32 && groupSize != 64) throw new JgptException("--group-size must be 32 or 64 but was " + groupSize);
            if (C % groupSize != 0) {
                throw new JgptException("q8 with groups of " + groupSize + " needs the channels (" + C + ") to be a multiple of "
                        + groupSize + (groupSize == 64 ? "; try --group-size 32" : ""));
            }
        }
        try {
            Jgpt.jgpt_set_num_threads(this.threads);
            Cblas.openblas_set_num_threads(this.threads);

            plan = arena.allocate(8L * Jgpt.JGPT_GPT2_PLAN_SLOTS, 64);
            set(Jgpt.JGPT_GPT2_C, C);
            set(Jgpt.JGPT_GPT2_LAYERS, c.layers());
            set(Jgpt.JGPT_GPT2_HEADS, c.heads());
            set(Jgpt.JGPT_GPT2_VOCAB, c.vocabSize());
            set(Jgpt.JGPT_GPT2_SEQ, c.contextLength());
            set(Jgpt.JGPT_GPT2_DTYPE, dtype.code);
            set(Jgpt.JGPT_GPT2_GROUP, groupSize);
            set(Jgpt.JGPT_GPT2_THREADS, this.threads);
            set(Jgpt.JGPT_GPT2_WTE, addr(layout, params, "wte"));
            set(Jgpt.JGPT_GPT2_WPE, addr(layout, params, "wpe"));
            set(Jgpt.JGPT_GPT2_LN1W, addr(layout, params, "ln1w"));
            set(Jgpt.JGPT_GPT2_LN1B, addr(layout, params, "ln1b"));
            set(Jgpt.JGPT_GPT2_LN2W, addr(layout, params, "ln2w"));
            set(Jgpt.JGPT_GPT2_LN2B, addr(layout, params, "ln2b"));
            set(Jgpt.JGPT_GPT2_LNFW, addr(layout, params, "lnfw"));
            set(Jgpt.JGPT_GPT2_LNFB, addr(layout, params, "lnfb"));
            set(Jgpt.JGPT_GPT2_QKVB, addr(layout, params, "qkvb"));
            set(Jgpt.JGPT_GPT2_ATTPROJB, addr(layout, params, "attprojb"));
            set(Jgpt.JGPT_GPT2_FCB, addr(layout, params, "fcb"));
            set(Jgpt.JGPT_GPT2_FCPROJB, addr(layout, params, "fcprojb"));
            String[] mats = {"qkvw", "attprojw", "fcw", "fcprojw", "wte"};
            for (int k = 0; k < mats.length; k++) {
                int slot = Jgpt.JGPT_GPT2_WEIGHTS + 3 * k;
                MemorySegment m = layout.view(mats[k]).of(params).data();
                set(slot, m.address());
                convert(m, slot);
            }
            set(Jgpt.JGPT_GPT2_KV_TYPE, dtype.halfKvCache() ? 1 : 0);
            long cacheBytes = cacheBytesPerSequence();
            // sized for the whole context, filled from the front: only the rows a sequence reaches take memory
            set(Jgpt.JGPT_GPT2_KCACHE, dev.jgpt.memory.LazyZeroMemory.allocate(cacheBytes, arena).address());
            set(Jgpt.JGPT_GPT2_VCACHE, dev.jgpt.memory.LazyZeroMemory.allocate(cacheBytes, arena).address());
            set(Jgpt.JGPT_GPT2_SGEMM, Cblas.cblas_sgemm$address().address());

            scratch = arena.allocate(4L * Jgpt.jgpt_gpt2_decode_scratch_floats(plan), 64);
            int chunk = Math.min(PREFILL_CHUNK, c.contextLength());
            prefillScratch = arena.allocate(4L * Jgpt.jgpt_gpt2_prefill_scratch_floats(plan, chunk), 64);
            promptTokens = arena.allocate(4L * chunk, 64);
            logits = Tensor.ofHost(arena.allocate(4L * c.vocabSize(), 64), DType.F32, c.vocabSize());
            pool = new DecodePool(this.threads);   // last: nothing after it can fail and leak the threads
        } catch (RuntimeException | Error e) {
            arena.close();   // no thread was started
            throw e;
        }
        set(Jgpt.JGPT_GPT2_POOL, pool.address());
    }

    private static long addr(ParameterLayout layout, Tensor params, String view) {
        return layout.view(view).of(params).data().address();
    }

    /** Converts one stacked matrix to the decode dtype (f32: used in place). */
    private void convert(MemorySegment f32, int slot) {
        long n = f32.byteSize() / 4;
        switch (dtype) {
            case F32 -> set(slot + 1, f32.address());
            case BF16 -> {
                MemorySegment out = arena.allocate(2 * n, 64);
                convertedBytes += out.byteSize();
                Jgpt.jgpt_convert_bf16(out, f32, n);
                set(slot + 1, out.address());
            }
            case Q8 -> {
                MemorySegment out = arena.allocate(n, 64), scales = arena.allocate(4 * (n / groupSize), 64);
                convertedBytes += out.byteSize() + scales.byteSize();
                Jgpt.jgpt_convert_q8(out, scales, f32, n, groupSize);
                set(slot + 1, out.address());
                set(slot + 2, scales.address());
            }
        }
    }

    /** Whether the KV caches hold IEEE halves (bf16 and q8 weights: {@link DecodeDType#halfKvCache}), else float32. */
    public boolean kvCacheHalf() {
        return plan.getAtIndex(ValueLayout.JAVA_LONG, Jgpt.JGPT_GPT2_KV_TYPE) == 1;
    }

    /** Bytes of one sequence's key cache (and of its value cache): layers x context x channels elements. */
    public long cacheBytesPerSequence() {
        return (kvCacheHalf() ? 2L : 4L) * c.layers() * c.contextLength() * c.channels();
    }

    private void set(int slot, long value) {
        plan.setAtIndex(ValueLayout.JAVA_LONG, slot, value);
    }

    /** Off-heap bytes this object owns (the float32 parameters belong to the caller or the owner). */
    @Override
    public java.util.Map<String, Long> offHeapBytes() {
        java.util.Map<String, Long> m = new java.util.LinkedHashMap<>();
        m.put("weightsConverted", convertedBytes);
        m.put("kvCache", 2 * cacheBytesPerSequence());
        m.put("scratch", plan.byteSize() + scratch.byteSize() + prefillScratch.byteSize() + promptTokens.byteSize()
                + logits.data().byteSize());
        return m;
    }

    public GptConfig config() { return c; }
    public DecodeDType dtype() { return dtype; }
    public int threads() { return threads; }
    /** The float32 host parameters this decoder reads ({@link ParameterLayout}; borrowed, not a copy). */
    public Tensor params() { return params; }
    /** The plan (jgpt.h's JGPT_GPT2_* slots): what {@link Gpt2NativeBatchDecoder} steps over. */
    MemorySegment plan() { return plan; }

    @Override public int vocabSize() { return c.vocabSize(); }
    @Override public int contextLength() { return c.contextLength(); }
    @Override public void reset() { pos = 0; }
    @Override public int position() { return pos; }

    @Override
    public Tensor prefill(int[] tokens) {
        if (tokens == null || tokens.length == 0) throw new IllegalArgumentException("tokens: prefill needs at least one token");
        checkRoom(tokens.length);
        for (int i = 0; i < tokens.length; i++) checkToken(tokens[i], pos + i);
        if (tokens.length == 1) return step(tokens[0]);
        int chunk = (int) (promptTokens.byteSize() / 4);
        for (int start = 0; start < tokens.length; start += chunk) {
            int n = Math.min(chunk, tokens.length - start);
            MemorySegment.copy(tokens, start, promptTokens, ValueLayout.JAVA_INT, 0, n);
            Jgpt.jgpt_gpt2_prefill(logits.data(), plan, prefillScratch, scratch, promptTokens, n, pos);
            pos += n;
        }
        return logits;
    }

    @Override
    public Tensor step(int token) {
        checkRoom(1);
        checkToken(token, pos);
        Jgpt.jgpt_gpt2_decode(logits.data(), plan, scratch, token, pos);
        pos++;
        return logits;
    }

    // the same messages as Gpt2Inference's, so a user sees one error whichever path decodes
    private void checkRoom(int n) {
        if (pos + n > c.contextLength()) {
            throw new IllegalArgumentException("context full: " + pos + " cached + " + n + " new tokens exceed the context length "
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
        if (closed) return;
        closed = true;
        pool.close();   // first: its workers read the plan and scratch of the arena
        arena.close();
        if (owner != null) {
            try {
                owner.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
