package dev.jgpt.llama;

import dev.jgpt.JgptException;
import dev.jgpt.backend.cpu.DecodePool;
import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.bindings.Cblas;
import dev.jgpt.bindings.Jgpt;
import dev.jgpt.generate.CausalLm;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.LazyZeroMemory;
import dev.jgpt.memory.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Fast Llama inference on the CPU through libjgpt: decode is one native call per token
 * ({@code jgpt_llama_decode}: run on this object's own pool of decode threads, matrix-vector
 * products in the chosen {@link DecodeDType}, spin-then-sleep barriers between phases), prefill runs blocks of prompt tokens through
 * float32 {@code cblas_sgemm} ({@code jgpt_llama_prefill}). Weights are used where they lie (the
 * memory-mapped checkpoint) for f32, or converted once at construction to bf16 / q8 in off-heap
 * memory (the mapped float32 pages then leave the RSS until a prefill reads them again). The KV
 * cache, the scratch buffers and the logits are allocated once: nothing is allocated per token. The
 * decode threads ({@code threads - 1} native workers, the caller is the first member) are started here
 * and stopped by {@link #close}: two instances decode on two Java threads at once without sharing
 * workers.
 *
 * <p>The prompt goes through libjgpt's prefill in blocks of {@link #PREFILL_CHUNK} rows: f32 weights through sgemm; other
 * dtypes, where the CPU has AVX512-BF16, through bf16 products of the dtype's own weight values (bf16 ones as they are,
 * q8 and GGUF blocks in tiles decoded to bf16), so a llama2.c file's float32 pages stay out of memory; without it
 * through sgemm on the float32 file, or on float32 tiles decoded from the dtype where the model keeps no float32 copy
 * (an imported model in bf16 or q8 releases its float32 matrices once converted).
 */
public final class LlamaInference implements CausalLm, dev.jgpt.memory.MemoryAccounted {
    /**
     * Prompt tokens per prefill call: bounds the scratch (about chunk * (3 dim + 2 hidden + heads * seq_len) floats). A
     * model without float32 matrices (GGUF blocks, converted imports) decodes every weight tile once per call: 256
     * rather than 128 took a 256-token prompt of a Q4_K_M stories110M from 620 to 555 ms (1 thread), for ~8 MiB more.
     */
    static final int PREFILL_CHUNK = 256;

    private final LlamaConfig c;
    private final DecodeDType dtype;
    private final int groupSize, threads;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment plan, scratch, prefillScratch, promptTokens;
    private final Tensor logits;
    private final AutoCloseable owner;
    private final DecodePool pool;
    private final long weightBytes, cacheBytes;   // float32 weights (distinct segments), K + V caches
    private final boolean weightsMapped;
    private final boolean kvHalf;                 // the KV caches hold IEEE halves (libjgpt ABI 14), else float32
    private long convertedBytes;                  // the bf16 / q8 copies (and q8 scales)
    private int pos;
    private boolean closed;

    /**
     * @param weights   float32 weights (kept in use: they must outlive this object)
     * @param groupSize q8 group size (32 or 64; must divide dim and hidden_dim); ignored otherwise
     * @param owner     closed with this object (the arena of the mapped checkpoint), or null
     */
    public LlamaInference(LlamaWeights weights, DecodeDType dtype, int groupSize, int threads, AutoCloseable owner) {
        this(weights, dtype, groupSize, threads, dtype.halfKvCache(), owner);
    }

    /** As above with the KV caches' element chosen: IEEE halves ({@code kvHalf}) or float32, whatever the dtype's default. */
    public LlamaInference(LlamaWeights weights, DecodeDType dtype, int groupSize, int threads, boolean kvHalf, AutoCloseable owner) {
        this(weights.config(), weights.tokenEmbedding(), weights.rmsAtt(), weights.rmsFfn(), weights.rmsFinal(),
                (k, into) -> matrix(weights, k), null, false, dtype.requireNotGguf("this model"), groupSize, threads, kvHalf, owner);
    }

    /** Produces stacked float32 matrix k (0 wq, 1 wk, 2 wv, 3 wo, 4 w1, 5 w2, 6 w3, 7 a separate classifier) in {@code into}. */
    @FunctionalInterface
    public interface MatrixDecoder {
        MemorySegment decode(int k, Arena into);
    }

    /**
     * A model whose float32 matrices exist one at a time, only while they are converted to {@code dtype} (bf16 or q8):
     * each is decoded by {@code matrices} into an arena of its own, converted, and released, so an imported model
     * (GGUF, Hugging Face) never holds more than its converted matrices, one float32 matrix, and the float32
     * embedding and norms ({@code emb} ... {@code rmsFinal}, owned by {@code owner}). Prefill then multiplies tiles
     * decoded back from the converted matrices (libjgpt's plan holds no float32 address for them).
     */
    public static LlamaInference streamed(LlamaConfig c, MemorySegment emb, MemorySegment rmsAtt, MemorySegment rmsFfn,
                                          MemorySegment rmsFinal, MatrixDecoder matrices, DecodeDType dtype, int groupSize,
                                          int threads, AutoCloseable owner) {
        if (dtype == DecodeDType.F32) throw new IllegalArgumentException("f32 decodes from float32 matrices: load them whole");
        return new LlamaInference(c, emb, rmsAtt, rmsFfn, rmsFinal, matrices, null, true, dtype.requireNotGguf("this model"),
                groupSize, threads, dtype.halfKvCache(), owner);
    }

    /**
     * The matrices as ggml blocks in a mapped GGUF file: {@code addresses[k][l]} and {@code types[k][l]} for matrix k
     * (wq, wk, wv, wo, w1, w2, w3) of layer l, and the classifier as {@code k = 7} with one entry; {@code bytes} in all.
     */
    public record Blocks(long[][] addresses, int[][] types, long bytes) {}

    /**
     * A GGUF model decoding from the file's own blocks ({@link DecodeDType#GGUF}): nothing converted, the matrices read
     * in place from the mapping that {@code owner} keeps open; prefill multiplies tiles decoded from them. {@code emb}:
     * float32 rows ({@code embType} 0) or the file's token_embd blocks of ggml type {@code embType}.
     */
    public static LlamaInference fromBlocks(LlamaConfig c, MemorySegment emb, int embType, MemorySegment rmsAtt,
                                            MemorySegment rmsFfn, MemorySegment rmsFinal, Blocks blocks, int threads,
                                            AutoCloseable owner) {
        LlamaInference inf = new LlamaInference(c, emb, rmsAtt, rmsFfn, rmsFinal, null, blocks, true, DecodeDType.GGUF, 32,
                threads, DecodeDType.GGUF.halfKvCache(), owner);
        inf.set(Jgpt.JGPT_LLAMA_EMB_TYPE, embType); // the embedding's rows in the file's own type (0: float32)
        return inf;
    }

    private static MemorySegment matrix(LlamaWeights w, int k) {
        return switch (k) {
            case 0 -> w.wq();
            case 1 -> w.wk();
            case 2 -> w.wv();
            case 3 -> w.wo();
            case 4 -> w.w1();
            case 5 -> w.w2();
            case 6 -> w.w3();
            default -> w.wcls();
        };
    }

    private LlamaInference(LlamaConfig config, MemorySegment emb, MemorySegment rmsAtt, MemorySegment rmsFfn,
                           MemorySegment rmsFinal, MatrixDecoder matrices, Blocks blocks, boolean streamed, DecodeDType dtype,
                           int groupSize, int threads, boolean kvHalf, AutoCloseable owner) {
        NativeLibraries.require();
        this.kvHalf = kvHalf;
        this.c = config;
        this.dtype = dtype;
        this.groupSize = groupSize;
        this.threads = Math.max(1, threads);
        this.owner = owner;
        if (dtype == DecodeDType.Q8) {
            if (groupSize != 32 && groupSize != 64) throw new JgptException("--group-size must be 32 or 64 but was " + groupSize);
            if (c.dim() % groupSize != 0 || c.hiddenDim() % groupSize != 0) {
                throw new JgptException("q8 with groups of " + groupSize + " needs dim (" + c.dim() + ") and hidden_dim ("
                        + c.hiddenDim() + ") to be multiples of " + groupSize + (groupSize == 64 ? "; try --group-size 32" : ""));
            }
        }
        Jgpt.jgpt_set_num_threads(this.threads);
        Cblas.openblas_set_num_threads(this.threads);

        plan = arena.allocate(8L * Jgpt.JGPT_LLAMA_PLAN_SLOTS, 64);
        set(Jgpt.JGPT_LLAMA_DIM, c.dim());
        set(Jgpt.JGPT_LLAMA_HIDDEN, c.hiddenDim());
        set(Jgpt.JGPT_LLAMA_LAYERS, c.layers());
        set(Jgpt.JGPT_LLAMA_HEADS, c.heads());
        set(Jgpt.JGPT_LLAMA_KV_HEADS, c.kvHeads());
        set(Jgpt.JGPT_LLAMA_VOCAB, c.vocabSize());
        set(Jgpt.JGPT_LLAMA_SEQ, c.seqLen());
        set(Jgpt.JGPT_LLAMA_DTYPE, dtype.code);
        set(Jgpt.JGPT_LLAMA_GROUP, groupSize);
        set(Jgpt.JGPT_LLAMA_THREADS, this.threads);
        set(Jgpt.JGPT_LLAMA_ROPE_THETA, Double.doubleToRawLongBits(c.ropeTheta()));
        set(Jgpt.JGPT_LLAMA_EPS, Double.doubleToRawLongBits(c.normEps()));
        set(Jgpt.JGPT_LLAMA_EMB, emb.address());
        set(Jgpt.JGPT_LLAMA_RMS_ATT, rmsAtt.address());
        set(Jgpt.JGPT_LLAMA_RMS_FFN, rmsFfn.address());
        set(Jgpt.JGPT_LLAMA_RMS_FINAL, rmsFinal.address());
        long wb = emb.byteSize() + rmsAtt.byteSize() + rmsFfn.byteSize() + rmsFinal.byteSize();
        boolean mapped = false;
        if (blocks != null) { // per matrix a table of per-layer addresses and one of ggml types (libjgpt ABI 12)
            for (int k = 0; k < 8; k++) {
                int slot = Jgpt.JGPT_LLAMA_WEIGHTS + 3 * k, n = blocks.addresses()[k].length;
                MemorySegment at = arena.allocate(8L * n, 8), types = arena.allocate(8L * n, 8);
                for (int l = 0; l < n; l++) {
                    at.setAtIndex(ValueLayout.JAVA_LONG, l, blocks.addresses()[k][l]);
                    types.setAtIndex(ValueLayout.JAVA_LONG, l, blocks.types()[k][l]);
                }
                set(slot, 0);
                set(slot + 1, at.address());
                set(slot + 2, types.address());
            }
            mapped = true;
            wb += blocks.bytes();
        }
        for (int k = 0; k < (blocks != null ? 0 : 8); k++) {
            int slot = Jgpt.JGPT_LLAMA_WEIGHTS + 3 * k;
            if (k == 7 && c.sharedClassifier()) { // the classifier is the embedding (kept: it is looked up per token)
                set(slot, streamed ? 0 : emb.address());
                convert(emb, slot);
            } else if (streamed) {
                try (Arena one = Arena.ofShared()) {
                    convert(matrices.decode(k, one), slot);
                }
            } else {
                MemorySegment m = matrices.decode(k, null);
                if (k == 0) mapped = m.isMapped();
                set(slot, m.address());
                convert(m, slot);
                wb += m.byteSize();
            }
        }
        weightsMapped = mapped;
        weightBytes = wb;
        set(Jgpt.JGPT_LLAMA_KV_TYPE, kvHalf ? 1 : 0);
        long cacheBytes = cacheBytesPerSequence();
        this.cacheBytes = 2 * cacheBytes;
        // sized for the whole context, filled from the front: only the rows a sequence reaches take memory
        set(Jgpt.JGPT_LLAMA_KCACHE, LazyZeroMemory.allocate(cacheBytes, arena).address());
        set(Jgpt.JGPT_LLAMA_VCACHE, LazyZeroMemory.allocate(cacheBytes, arena).address());
        set(Jgpt.JGPT_LLAMA_SGEMM, Cblas.cblas_sgemm$address().address());

        scratch = arena.allocate(4L * Jgpt.jgpt_llama_decode_scratch_floats(plan), 64);
        int chunk = Math.min(PREFILL_CHUNK, c.seqLen());
        prefillScratch = arena.allocate(4L * Jgpt.jgpt_llama_prefill_scratch_floats(plan, chunk), 64);
        promptTokens = arena.allocate(4L * chunk, 64);
        logits = Tensor.ofHost(arena.allocate(4L * c.vocabSize(), 64), DType.F32, c.vocabSize());
        pool = new DecodePool(this.threads);   // last: nothing after it can fail and leak the threads
        set(Jgpt.JGPT_LLAMA_POOL, pool.address());
    }

    /** Floats converted per native call: a multiple of both q8 group sizes (16 MiB of float32; tests make it small). */
    static long convertChunk = 1L << 22;

    /**
     * Converts one stacked matrix to the decode dtype (f32: used in place). When the float32 source lies
     * in a memory-mapped checkpoint, each converted chunk of it is then dropped from this process's memory
     * ({@link MemorySegment#unload}: madvise DONTNEED on a read-only file mapping, so nothing is lost):
     * decoding never reads it again, and a prefill (float32 sgemm) reads it back from the page cache. So
     * the peak holds the converted copies plus one chunk of float32, not the whole file besides them.
     */
    private void convert(MemorySegment f32, int slot) {
        long n = f32.byteSize() / 4;
        switch (dtype) {
            case F32 -> set(slot + 1, f32.address());
            case BF16 -> {
                MemorySegment out = arena.allocate(2 * n, 64);
                for (long at = 0; at < n; at += convertChunk) {
                    long k = Math.min(convertChunk, n - at);
                    MemorySegment src = f32.asSlice(4 * at, 4 * k);
                    Jgpt.jgpt_convert_bf16(out.asSlice(2 * at, 2 * k), src, k);
                    dropIfMapped(src);
                }
                set(slot + 1, out.address());
                convertedBytes += out.byteSize();
            }
            case Q8 -> {
                MemorySegment out = arena.allocate(n, 64), scales = arena.allocate(4 * (n / groupSize), 64);
                for (long at = 0; at < n; at += convertChunk) { // chunks are whole groups: convertChunk % 64 == 0
                    long k = Math.min(convertChunk, n - at);
                    MemorySegment src = f32.asSlice(4 * at, 4 * k);
                    Jgpt.jgpt_convert_q8(out.asSlice(at, k), scales.asSlice(4 * (at / groupSize), 4 * (k / groupSize)), src, k,
                            groupSize);
                    dropIfMapped(src);
                }
                set(slot + 1, out.address());
                set(slot + 2, scales.address());
                convertedBytes += out.byteSize() + scales.byteSize();
            }
        }
    }

    private static void dropIfMapped(MemorySegment f32) {
        if (f32.isMapped()) f32.unload();
    }

    private void set(int slot, long value) {
        plan.setAtIndex(ValueLayout.JAVA_LONG, slot, value);
    }

    public LlamaConfig config() { return c; }

    /**
     * The float32 weights when this object owns them ({@code weightsMapped}: a mapped checkpoint, in the
     * RSS only as far as its pages were touched; {@code weights}: copied into memory), the bf16 / q8 copies
     * ({@code weightsConverted}), the K and V caches (sized for the whole context; in the RSS only up to
     * the rows a sequence reached, see {@link LazyZeroMemory}) and the scratch buffers.
     */
    @Override
    public java.util.Map<String, Long> offHeapBytes() {
        java.util.Map<String, Long> m = new java.util.LinkedHashMap<>();
        if (owner != null) m.put(weightsMapped ? "weightsMapped" : "weights", weightBytes);
        m.put("weightsConverted", convertedBytes);
        m.put("kvCache", cacheBytes);
        m.put("scratch", plan.byteSize() + scratch.byteSize() + prefillScratch.byteSize() + promptTokens.byteSize()
                + logits.data().byteSize());
        return m;
    }

    public DecodeDType dtype() { return dtype; }
    public int threads() { return threads; }

    /** Whether this model's KV caches hold halves ({@link DecodeDType#halfKvCache}). */
    public boolean kvCacheHalf() { return kvHalf; }

    /** Bytes of one sequence's key cache (and of its value cache): layers x context x kv_dim elements. */
    public long cacheBytesPerSequence() {
        return (kvHalf ? 2L : 4L) * c.layers() * c.seqLen() * c.kvDim();
    }

    /**
     * The plan of this model (weights in the decode dtype, sizes, threads), for {@link LlamaBatchDecoder},
     * which shares the weights and gives each of its sequences its own cache. Valid until {@link #close}.
     */
    MemorySegment plan() { return plan; }

    @Override public int vocabSize() { return c.vocabSize(); }
    @Override public int contextLength() { return c.seqLen(); }
    @Override public void reset() { pos = 0; }
    @Override public int position() { return pos; }

    @Override
    public Tensor prefill(int[] tokens) {
        if (tokens.length == 0) throw new IllegalArgumentException("prefill of no tokens");
        if (pos + tokens.length > c.seqLen()) {
            throw new IllegalArgumentException("position " + pos + " + " + tokens.length + " tokens exceeds the context of " + c.seqLen());
        }
        for (int t : tokens) checkToken(t);
        if (tokens.length == 1) return step(tokens[0]);
        int chunk = (int) (promptTokens.byteSize() / 4);
        for (int start = 0; start < tokens.length; start += chunk) {
            int n = Math.min(chunk, tokens.length - start);
            MemorySegment.copy(tokens, start, promptTokens, ValueLayout.JAVA_INT, 0, n);
            Jgpt.jgpt_llama_prefill(logits.data(), plan, prefillScratch, promptTokens, n, pos);
            pos += n;
        }
        return logits;
    }

    @Override
    public Tensor step(int token) {
        checkToken(token);
        if (pos >= c.seqLen()) throw new IllegalArgumentException("the context of " + c.seqLen() + " tokens is full");
        Jgpt.jgpt_llama_decode(logits.data(), plan, scratch, token, pos);
        pos++;
        return logits;
    }

    private void checkToken(int t) {
        if (t < 0 || t >= c.vocabSize()) {
            throw new IllegalArgumentException("token " + t + " is outside the vocabulary [0, " + c.vocabSize() + ")");
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
