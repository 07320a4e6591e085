package dev.jgpt.model;

import dev.jgpt.JgptException;
import dev.jgpt.bindings.Jgpt;
import dev.jgpt.generate.NativeBatchDecoder;

import java.lang.foreign.MemorySegment;

/**
 * Continuous batching for GPT-2 on the native path, the twin of {@link dev.jgpt.llama.LlamaBatchDecoder}:
 * up to {@code maxBatch} sequences over the weights of one {@link Gpt2Decoder} (borrowed: its plan, so
 * its dtype, bf16/q8 copies and thread count), each with its own float32 KV cache. A step is one
 * native call ({@code jgpt_gpt2_decode_batch}) that reads each block of weight rows once and applies
 * it to every sequence; per-row arithmetic is the one-sequence decode's, so logits equal
 * {@link Gpt2Decoder#step}'s. A step of one sequence is the one-sequence decode itself
 * ({@code jgpt_gpt2_decode} over the slot's plan); a prompt is prefilled with {@code jgpt_gpt2_prefill},
 * as {@link Gpt2Decoder#prefill} does. The slot bookkeeping is {@link NativeBatchDecoder}'s.
 */
public final class Gpt2NativeBatchDecoder extends NativeBatchDecoder {
    private final Gpt2Decoder model;
    private final GptConfig c;

    /** @param model the weights (must stay open while this is used; not closed by {@link #close}) */
    public Gpt2NativeBatchDecoder(Gpt2Decoder model, int maxBatch) {
        super(model.plan(), maxBatch, layout(model, maxBatch));
        this.model = model;
        this.c = model.config();
    }

    private static Layout layout(Gpt2Decoder model, int maxBatch) {
        GptConfig c = model.config();
        MemorySegment plan = model.plan();
        int chunk = Math.min(Gpt2Decoder.PREFILL_CHUNK, c.contextLength());
        return new Layout(Jgpt.JGPT_GPT2_PLAN_SLOTS, Jgpt.JGPT_GPT2_KCACHE, Jgpt.JGPT_GPT2_VCACHE, Jgpt.JGPT_GPT2_POOL,
                model.cacheBytesPerSequence(), c.vocabSize(), c.contextLength(), model.threads(),
                Jgpt.jgpt_gpt2_batch_scratch_floats(plan, Math.max(1, maxBatch)), Jgpt.jgpt_gpt2_decode_scratch_floats(plan),
                Jgpt.jgpt_gpt2_prefill_scratch_floats(plan, chunk), chunk);
    }

    public Gpt2Decoder model() { return model; }
    public GptConfig config() { return c; }

    @Override
    protected void decodeOne(MemorySegment logits, MemorySegment plan, MemorySegment scratch, int token, int position) {
        Jgpt.jgpt_gpt2_decode(logits, plan, scratch, token, position);
    }

    @Override
    protected void decodeBatch(MemorySegment logits, MemorySegment plan, MemorySegment scratch, MemorySegment tokens,
                               MemorySegment positions, MemorySegment caches, int n) {
        Jgpt.jgpt_gpt2_decode_batch(logits, plan, scratch, tokens, positions, caches, n);
    }

    @Override
    protected void prefillChunk(MemorySegment logits, MemorySegment plan, MemorySegment prefillScratch,
                                MemorySegment decodeScratch, MemorySegment tokens, int n, int position) {
        Jgpt.jgpt_gpt2_prefill(logits, plan, prefillScratch, decodeScratch, tokens, n, position);
    }

    @Override
    protected void checkPrompt(int at, int[] prompt) {
        if (prompt == null || prompt.length == 0) throw new IllegalArgumentException("tokens: prefill needs at least one token");
        checkRoom(at, prompt.length);
        for (int i = 0; i < prompt.length; i++) checkToken(prompt[i], at + i);
    }

    @Override
    protected void checkStep(int slot, int token, int position) {
        checkToken(token, position);
        checkRoom(position, 1);
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
}
