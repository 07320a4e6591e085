package dev.jgpt.testing;

import java.util.Random;

/**
 * A learnable stream for short training runs in tests: each of B sequences counts up from a random start, modulo
 * the vocabulary, and its targets are the next counts. Loss curves on it fall within a few steps.
 */
public final class CountingBatches {
    private CountingBatches() {}

    /** Fills tokens and targets (B*T each) with the next batch drawn from {@code rnd}. */
    public static void next(Random rnd, int[] tokens, int[] targets, int B, int T, int vocab) {
        for (int b = 0; b < B; b++) {
            int start = rnd.nextInt(vocab);
            for (int t = 0; t < T; t++) {
                tokens[b * T + t] = (start + t) % vocab;
                targets[b * T + t] = (start + t + 1) % vocab;
            }
        }
    }
}
