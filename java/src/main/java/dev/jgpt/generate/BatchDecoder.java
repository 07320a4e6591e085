package dev.jgpt.generate;

import dev.jgpt.memory.Tensor;

/**
 * A model that advances several sequences by one token each in one step (continuous batching, as
 * {@code jgpt serve} does). Sequences live in slots {@code 0..maxBatch()-1}, each with its own KV
 * cache over weights shared by all slots; a step reads the weights once for every sequence in it.
 *
 * <p>One thread drives a decoder: call {@link #bindThread} on it first (kernel thread counts are a
 * per-thread setting). Returned logits are host tensors valid until the next call.
 */
public interface BatchDecoder extends AutoCloseable {

    /** Most sequences in flight, and in one {@link #step}. */
    int maxBatch();

    int vocabSize();

    int contextLength();

    /** Tokens already in {@code slot}'s cache (its next position). */
    int position(int slot);

    /** Empties {@code slot}'s cache: its next token goes to position 0. */
    void reset(int slot);

    /** Appends {@code tokens} to {@code slot}'s cache; the next-token logits (vocabSize floats). */
    Tensor prefill(int slot, int[] tokens);

    /**
     * One decode step: sequence {@code slots[i]} appends {@code tokens[i]} at its own position, for
     * {@code i < n} (distinct slots). Returns (at least n, vocabSize) logits, row i for {@code slots[i]}.
     */
    Tensor step(int[] slots, int[] tokens, int n);

    /**
     * Most candidates per row {@link #stepCandidates} can give, or 0 when this decoder has no such step (its
     * logits are host memory already, or its backend cannot pick them where they are): then use {@link #step}.
     */
    default int maxCandidates() {
        return 0;
    }

    /**
     * {@link #step} without copying the (n, vocabSize) logits to the host: the {@code k} largest of the first
     * {@code V} logits of row i (V: the tokenizer's ids, where the model's rows are padded beyond them),
     * largest first, ties to the lower id (as {@link Sampler#sampleCandidates} expects), go to
     * {@code ids/logits[i*k .. i*k+k)}. k is in [1, {@link #maxCandidates()}].
     *
     * @throws UnsupportedOperationException when {@link #maxCandidates()} is 0
     */
    default void stepCandidates(int[] slots, int[] tokens, int n, int V, int k, int[] ids, float[] logits) {
        throw new UnsupportedOperationException("this decoder's logits are host memory: use step");
    }

    /**
     * Row i of the last {@link #stepCandidates}' logits on the host (vocabSize floats, valid until the next
     * call): for the rare token its candidates cannot decide (a non-finite largest logit).
     */
    default Tensor candidatesRow(int i) {
        throw new UnsupportedOperationException("this decoder's logits are host memory: use step");
    }

    /** Applies this decoder's kernel thread settings to the calling thread (the one that steps it). */
    default void bindThread() {}

    /** Frees what this decoder allocated (not the weights it borrows). */
    @Override
    void close();
}
