package dev.jgpt.generate;

import dev.jgpt.memory.Tensor;

/**
 * A model that can be run token by token with a KV cache: what generation, chat and serving need,
 * whatever the architecture (GPT-2, later Llama) or backend.
 *
 * <p>One instance holds one sequence's cache. Not thread-safe: one conversation at a time.
 */
public interface CausalLm extends AutoCloseable {

    int vocabSize();

    /** The longest sequence (prompt + generated) the model can attend over. */
    int contextLength();

    /** Forgets the cached sequence; the next {@link #prefill} starts at position 0. */
    void reset();

    /** Tokens held in the cache so far (the position of the next token). */
    int position();

    /**
     * Appends {@code tokens} to the cached sequence (batched matrix products, not token by token)
     * and returns the logits (V floats, host memory) for the token after the last one. The returned
     * tensor is reused: it is valid until the next call.
     *
     * @throws IllegalArgumentException if position() + tokens.length exceeds the context
     */
    Tensor prefill(int[] tokens);

    /** Appends one token and returns the next-token logits (same reuse rule as {@link #prefill}). */
    Tensor step(int token);

    /**
     * Where the logits live in an accelerator's memory and the backend can pick the largest there: a
     * view that advances this sequence without copying the V logits to the host and hands out the top k
     * instead ({@link DeviceLogits}). Null (the default) when the logits are host memory anyway or the
     * backend cannot; callers then use {@link #prefill}/{@link #step}.
     */
    default DeviceLogits deviceLogits() {
        return null;
    }

    @Override
    default void close() {}
}
