package dev.jgpt.generate;

/**
 * The outcome of one generation.
 *
 * @param text the generated text, cut before a stop sequence when {@code finishReason} is STOP
 * @param tokenIds the sampled tokens (an end token is not included); decoding them may give more
 *     than {@code text} when a stop sequence cut it
 * @param finishReason why it ended
 * @param promptTokens prompt tokens fed to the model (after any left truncation)
 * @param truncatedTokens prompt tokens dropped from the left to fit the context (0 if none)
 * @param timeToFirstTokenMillis from the start of the call to the first sampled token (includes the prefill)
 * @param tokensPerSecond decode speed: tokens sampled after the first, per second of the time after
 *     the first; 0 when fewer than two tokens were sampled
 * @param totalMillis the whole call
 */
public record GenerationResult(
        String text,
        int[] tokenIds,
        FinishReason finishReason,
        int promptTokens,
        int truncatedTokens,
        double timeToFirstTokenMillis,
        double tokensPerSecond,
        double totalMillis) {

    /** Tokens sampled (end token excluded). */
    public int generatedTokens() {
        return tokenIds.length;
    }
}
