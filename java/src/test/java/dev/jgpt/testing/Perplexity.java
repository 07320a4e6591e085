package dev.jgpt.testing;

/** Perplexity of a text under a model's next-token logits, for the tests that compare weight formats. */
public final class Perplexity {
    private Perplexity() {}

    /** exp(mean -log p(text[i] | logits[i])): logits[i] is the distribution that predicts text[i]. */
    public static double of(float[][] logits, int[] text) {
        double nll = 0;
        for (int i = 0; i < text.length; i++) {
            float[] l = logits[i];
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (float v : l) max = Math.max(max, v);
            for (float v : l) sum += Math.exp(v - max);
            nll += -(l[text[i]] - max - Math.log(sum));
        }
        return Math.exp(nll / text.length);
    }
}
