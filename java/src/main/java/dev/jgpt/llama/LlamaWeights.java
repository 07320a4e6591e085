package dev.jgpt.llama;

import java.lang.foreign.MemorySegment;

/**
 * The float32 weights of a Llama-family model as views into memory someone else owns (usually a
 * memory-mapped llama2.c checkpoint). Shapes and order are llama2.c's; matrices are (out, in),
 * stacked over layers.
 *
 * @param tokenEmbedding (vocab, dim)
 * @param rmsAtt         (layers, dim) RMSNorm weights before attention
 * @param wq             (layers, dim, dim)
 * @param wk             (layers, kvDim, dim)
 * @param wv             (layers, kvDim, dim)
 * @param wo             (layers, dim, dim)
 * @param rmsFfn         (layers, dim) RMSNorm weights before the MLP
 * @param w1             (layers, hidden, dim) gate
 * @param w2             (layers, dim, hidden) down
 * @param w3             (layers, hidden, dim) up
 * @param rmsFinal       (dim)
 * @param wcls           (vocab, dim); the same segment as tokenEmbedding when shared
 */
public record LlamaWeights(LlamaConfig config, MemorySegment tokenEmbedding, MemorySegment rmsAtt, MemorySegment wq,
                           MemorySegment wk, MemorySegment wv, MemorySegment wo, MemorySegment rmsFfn,
                           MemorySegment w1, MemorySegment w2, MemorySegment w3, MemorySegment rmsFinal,
                           MemorySegment wcls) {

    /** Floats of each tensor in llama2.c's file order (the classifier last, only when not shared). */
    static long[] sizes(LlamaConfig c) {
        long d = c.dim(), h = c.hiddenDim(), L = c.layers(), kv = c.kvDim(), V = c.vocabSize();
        return new long[] {V * d, L * d, L * d * d, L * kv * d, L * kv * d, L * d * d, L * d, L * h * d, L * d * h,
                L * h * d, d};
    }

    /** The tensors in llama2.c's file order, without the classifier. */
    MemorySegment[] inFileOrder() {
        return new MemorySegment[] {tokenEmbedding, rmsAtt, wq, wk, wv, wo, rmsFfn, w1, w2, w3, rmsFinal};
    }

    /** Copies {@code src}'s tensors into these views (same shape); the classifier too when it is not the embedding. */
    public void copyFrom(LlamaWeights src) {
        MemorySegment[] from = src.inFileOrder(), to = inFileOrder();
        for (int i = 0; i < to.length; i++) to[i].copyFrom(from[i]);
        if (!config.sharedClassifier()) wcls.copyFrom(src.wcls);
    }

    /** Views over one contiguous float32 block laid out in llama2.c's order ({@code ropeSkip} floats
     *  of the old RoPE tables after rmsFinal, then the classifier when not shared). */
    static LlamaWeights view(LlamaConfig c, MemorySegment block, long ropeSkipFloats) {
        long[] sizes = sizes(c);
        MemorySegment[] t = new MemorySegment[sizes.length];
        long off = 0;
        for (int i = 0; i < sizes.length; i++) {
            t[i] = block.asSlice(off, sizes[i] * 4);
            off += sizes[i] * 4;
        }
        off += ropeSkipFloats * 4;
        MemorySegment cls = c.sharedClassifier() ? t[0] : block.asSlice(off, (long) c.vocabSize() * c.dim() * 4);
        return new LlamaWeights(c, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], cls);
    }
}
