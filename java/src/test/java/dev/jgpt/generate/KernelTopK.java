package dev.jgpt.generate;

/**
 * The order of {@code kernels/topk.cu}'s top-k in plain Java, for tests without a device:
 * k rounds, each taking the largest value not taken yet (ties and -0/+0 to the lower index, NaN never, -inf
 * only when nothing larger is left), index 0 with -inf when only NaN is left.
 */
final class KernelTopK {
    private KernelTopK() {}

    static void topK(float[] logits, int n, int k, int[] idx, float[] val) {
        for (int round = 0; round < k; round++) {
            float bv = Float.NEGATIVE_INFINITY;
            int bi = Integer.MAX_VALUE;
            for (int j = 0; j < n; j++) {
                boolean used = false;
                for (int r = 0; r < round; r++) used |= idx[r] == j;
                float v = logits[j];
                if (!used && (v > bv || (v == bv && j < bi))) {
                    bv = v;
                    bi = j;
                }
            }
            idx[round] = bi == Integer.MAX_VALUE ? 0 : bi;
            val[round] = bv;
        }
    }
}
