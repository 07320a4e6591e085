package dev.jgpt.llama;

import dev.jgpt.bindings.Jgpt;
import dev.jgpt.generate.NativeBatchDecoder;

import java.lang.foreign.MemorySegment;

/**
 * Continuous batching for a Llama-family model: up to {@code maxBatch} sequences over the weights of
 * one {@link LlamaInference} (borrowed: its plan, so its dtype, bf16/q8 copies and thread count), each
 * with its own KV cache (float32, or halves as the model decodes: {@link LlamaInference#kvCacheHalf}). A step is one native call ({@code jgpt_llama_decode_batch}) that
 * reads each block of weight rows once and applies it to every sequence; per-row arithmetic is the
 * one-sequence decode's, so logits equal {@link LlamaInference#step}'s. A step of one sequence is the
 * one-sequence decode itself ({@code jgpt_llama_decode} over the slot's plan); a prompt is prefilled
 * with {@code jgpt_llama_prefill}, exactly as {@link LlamaInference#prefill} does. The slot
 * bookkeeping is {@link NativeBatchDecoder}'s.
 */
public final class LlamaBatchDecoder extends NativeBatchDecoder {
    private final LlamaInference model;
    private final LlamaConfig c;

    /** @param model the weights (must stay open while this is used; not closed by {@link #close}) */
    public LlamaBatchDecoder(LlamaInference model, int maxBatch) {
        super(model.plan(), maxBatch, layout(model, maxBatch));
        this.model = model;
        this.c = model.config();
    }

    private static Layout layout(LlamaInference model, int maxBatch) {
        LlamaConfig c = model.config();
        MemorySegment plan = model.plan();
        int chunk = Math.min(LlamaInference.PREFILL_CHUNK, c.seqLen());
        return new Layout(Jgpt.JGPT_LLAMA_PLAN_SLOTS, Jgpt.JGPT_LLAMA_KCACHE, Jgpt.JGPT_LLAMA_VCACHE, Jgpt.JGPT_LLAMA_POOL,
                model.cacheBytesPerSequence(), c.vocabSize(), c.seqLen(), model.threads(),
                Jgpt.jgpt_llama_batch_scratch_floats(plan, Math.max(1, maxBatch)), Jgpt.jgpt_llama_decode_scratch_floats(plan),
                Jgpt.jgpt_llama_prefill_scratch_floats(plan, chunk), chunk);
    }

    public LlamaInference model() { return model; }
    public LlamaConfig config() { return c; }

    @Override
    protected void decodeOne(MemorySegment logits, MemorySegment plan, MemorySegment scratch, int token, int position) {
        Jgpt.jgpt_llama_decode(logits, plan, scratch, token, position);
    }

    @Override
    protected void decodeBatch(MemorySegment logits, MemorySegment plan, MemorySegment scratch, MemorySegment tokens,
                               MemorySegment positions, MemorySegment caches, int n) {
        Jgpt.jgpt_llama_decode_batch(logits, plan, scratch, tokens, positions, caches, n);
    }

    @Override
    protected void prefillChunk(MemorySegment logits, MemorySegment plan, MemorySegment prefillScratch,
                                MemorySegment decodeScratch, MemorySegment tokens, int n, int position) {
        Jgpt.jgpt_llama_prefill(logits, plan, prefillScratch, tokens, n, position);
    }

    @Override
    protected void checkPrompt(int at, int[] prompt) {
        if (prompt.length == 0) throw new IllegalArgumentException("prefill of no tokens");
        if (at + prompt.length > c.seqLen()) {
            throw new IllegalArgumentException("position " + at + " + " + prompt.length + " tokens exceeds the context of " + c.seqLen());
        }
        for (int t : prompt) checkToken(t);
    }

    @Override
    protected void checkStep(int slot, int token, int position) {
        checkToken(token);
        if (position >= c.seqLen()) throw new IllegalArgumentException("slot " + slot + ": the context of " + c.seqLen() + " tokens is full");
    }

    private void checkToken(int t) {
        if (t < 0 || t >= c.vocabSize()) {
            throw new IllegalArgumentException("token " + t + " is outside the vocabulary [0, " + c.vocabSize() + ")");
        }
    }
}
