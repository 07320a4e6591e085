package dev.jgpt.generate;

import java.util.HashSet;
import java.util.Set;

/**
 * Diversity and repetition figures over generated token ids, for the inference grid.
 *
 * <ul>
 *   <li>distinct-n: unique n-grams / total n-grams (1 = no n-gram repeats; low = loops). NaN when
 *       there are fewer than n tokens.
 *   <li>repetition rate: the fraction of tokens equal to one of the {@value #REPETITION_WINDOW}
 *       tokens before them (0 = never repeats locally; near 1 = stuck in a loop). NaN for no tokens.
 * </ul>
 */
public final class TextMetrics {
    public static final int REPETITION_WINDOW = 16;

    private TextMetrics() {}

    public static double distinctN(int[] tokens, int n) {
        if (n < 1) throw new IllegalArgumentException("n must be >= 1");
        int total = tokens.length - n + 1;
        if (total <= 0) return Double.NaN;
        Set<NGram> unique = new HashSet<>();
        for (int i = 0; i < total; i++) unique.add(new NGram(tokens, i, n));
        return (double) unique.size() / total;
    }

    public static double repetitionRate(int[] tokens) {
        return repetitionRate(tokens, REPETITION_WINDOW);
    }

    public static double repetitionRate(int[] tokens, int window) {
        if (tokens.length == 0) return Double.NaN;
        int repeats = 0;
        for (int i = 0; i < tokens.length; i++) {
            for (int j = Math.max(0, i - window); j < i; j++) {
                if (tokens[j] == tokens[i]) {
                    repeats++;
                    break;
                }
            }
        }
        return (double) repeats / tokens.length;
    }

    private record NGram(int[] tokens, int from, int n) {
        @Override
        public boolean equals(Object o) {
            return o instanceof NGram g && java.util.Arrays.equals(tokens, from, from + n, g.tokens, g.from, g.from + g.n);
        }

        @Override
        public int hashCode() {
            int h = 1;
            for (int i = from; i < from + n; i++) h = 31 * h + tokens[i];
            return h;
        }
    }
}
