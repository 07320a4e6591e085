package dev.jgpt.generate;

import dev.jgpt.memory.Tensor;

/**
 * The next-token logits of a {@link CausalLm} that computes them in an accelerator's memory, read
 * there: {@link #topCandidates} brings k (id, logit) pairs to the host instead of V logits. Found
 * through {@link CausalLm#deviceLogits()}; it advances the same sequence (same cache, same position)
 * as the model's own {@code prefill}/{@code step}, which stay as they are (they copy the V logits).
 *
 * <p>The {@link Generator} uses it when its {@link Sampler} can give exactly the full-logit result from
 * the candidates ({@link Sampler#candidatesNeeded}): greedy, or top-k (with or without top-p) with k at
 * most {@link #maxCandidates()}, no repetition penalty. Otherwise it calls {@code prefill}/{@code step}.
 */
public interface DeviceLogits {

    /** Most candidates {@link #topCandidates} returns. */
    int maxCandidates();

    /** {@link CausalLm#prefill} without the copy of the logits to host memory. */
    void prefillOnDevice(int[] tokens);

    /** {@link CausalLm#step} without the copy of the logits to host memory. */
    void stepOnDevice(int token);

    /**
     * The {@code k} largest of the first {@code n} logits of the last prefill or step, largest first, into
     * {@code ids[0..k)} and {@code logits[0..k)}; equal logits (-0 equals +0) in ascending id, NaN never
     * chosen while another value is left; slots beyond the non-NaN logits hold -inf (their ids are
     * unspecified).
     *
     * @throws IllegalArgumentException when k is not in [1, min({@link #maxCandidates()}, n)] or n exceeds the vocabulary
     * @throws IllegalStateException before the first prefill
     */
    void topCandidates(int n, int k, int[] ids, float[] logits);

    /**
     * The last prefill or step's logits copied to host memory now (V floats, the tensor {@code prefill}
     * returns, valid until the next prefill or step): for a token the candidates cannot decide.
     *
     * @throws IllegalStateException before the first prefill
     */
    Tensor hostLogits();

    /**
     * {@link #stepOnDevice}({@code token}) then {@link #topCandidates}({@code n, k, ids, logits}) in one call, so
     * that a device which replays its step as a graph may capture the top-k into the same graph (one upload, one
     * launch, one copy back per token). Same results as the two calls.
     */
    default void stepTopCandidates(int token, int n, int k, int[] ids, float[] logits) {
        stepOnDevice(token);
        topCandidates(n, k, ids, logits);
    }
}
