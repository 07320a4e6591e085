package dev.jgpt.llama;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * An imported model (GGUF, Hugging Face) read in two parts: the float32 embedding and RMSNorm weights, already
 * decoded, and the seven stacked matrices (and a separate classifier) left to decode one at a time — so a bf16 / q8
 * decoder can convert each and release it ({@link LlamaInference#streamed}) instead of holding every float32 matrix
 * at once. {@code matrices} reads from its source file, which must stay open while it is used.
 */
public record LlamaParts(LlamaConfig config, MemorySegment emb, MemorySegment rmsAtt, MemorySegment rmsFfn,
                         MemorySegment rmsFinal, LlamaInference.MatrixDecoder matrices) {

    /**
     * A llama2.c model (float32 views, e.g. a mapped file) as parts: the embedding and norms copied into {@code small} now,
     * each matrix copied out when decoded (so the mapping may close once the model is built).
     */
    public static LlamaParts of(LlamaWeights w, Arena small) {
        MemorySegment[] m = {w.wq(), w.wk(), w.wv(), w.wo(), w.w1(), w.w2(), w.w3(), w.wcls()};
        return new LlamaParts(w.config(), copy(w.tokenEmbedding(), small), copy(w.rmsAtt(), small), copy(w.rmsFfn(), small),
                copy(w.rmsFinal(), small), (k, into) -> copy(m[k], into));
    }

    private static MemorySegment copy(MemorySegment s, Arena into) {
        return into.allocate(s.byteSize(), 64).copyFrom(s);
    }

    /** These parts with {@code lora}'s adapters merged into each stacked matrix as it is decoded ({@code W + scale B A}). */
    public LlamaParts withAdapters(LoraFile lora) {
        LlamaInference.MatrixDecoder plain = matrices;
        return new LlamaParts(config, emb, rmsAtt, rmsFfn, rmsFinal, (k, into) -> {
            MemorySegment stacked = plain.decode(k, into);
            LoraSpec.Target t = LoraSpec.Target.ofPart(k);
            if (t != null && lora.adapts(t)) {
                long per = stacked.byteSize() / config.layers();
                for (int l = 0; l < config.layers(); l++) lora.addTo(t, l, stacked.asSlice(l * per, per));
            }
            return stacked;
        });
    }

    /** Every matrix decoded into {@code arena} (shared): the whole model as float32 weights. */
    public LlamaWeights load(Arena arena) {
        MemorySegment[] m = new MemorySegment[8];
        for (int k = 0; k < (config.sharedClassifier() ? 7 : 8); k++) m[k] = matrices.decode(k, arena);
        return new LlamaWeights(config, emb, rmsAtt, m[0], m[1], m[2], m[3], rmsFfn, m[4], m[5], m[6], rmsFinal,
                config.sharedClassifier() ? emb : m[7]);
    }

    /**
     * Copies the model into {@code dst} (float32 views of the same shape, e.g. a training model's), decoding one stacked
     * matrix at a time into a scratch arena released before the next: the copy's peak is {@code dst} plus one matrix,
     * not a second float32 model.
     */
    public void copyInto(LlamaWeights dst) {
        dst.tokenEmbedding().copyFrom(emb);
        dst.rmsAtt().copyFrom(rmsAtt);
        dst.rmsFfn().copyFrom(rmsFfn);
        dst.rmsFinal().copyFrom(rmsFinal);
        MemorySegment[] to = {dst.wq(), dst.wk(), dst.wv(), dst.wo(), dst.w1(), dst.w2(), dst.w3(), dst.wcls()};
        for (int k = 0; k < (config.sharedClassifier() ? 7 : 8); k++) {
            if (to[k].byteSize() == 0) continue; // not held by dst (a LoRA model's matrices frozen in GGUF blocks)
            try (Arena one = Arena.ofShared()) { // shared: a matrix's slices decode in parallel
                to[k].copyFrom(matrices.decode(k, one));
            }
        }
    }

    /** Decodes for {@code dtype}: bf16 and q8 convert the matrices one at a time; f32 needs them all. */
    public LlamaInference inference(DecodeDType dtype, int groupSize, int threads, Arena owner) {
        return dtype == DecodeDType.F32 ? new LlamaInference(load(owner), dtype, groupSize, threads, owner)
                : LlamaInference.streamed(config, emb, rmsAtt, rmsFfn, rmsFinal, matrices, dtype, groupSize, threads, owner);
    }
}
