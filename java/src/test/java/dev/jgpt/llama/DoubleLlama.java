package dev.jgpt.llama;

/**
 * An independent double-precision forward of a Llama-style model over a batch, for finite-difference
 * gradient checks of {@link LlamaTrainModel}. Parameters are one double array in llama2.c's order
 * (classifier appended when not shared). Written from the formulas, sharing no code with the model.
 */
final class DoubleLlama {
    private DoubleLlama() {}

    /** Mean cross-entropy over positions with a non-negative target (0 when none). */
    static double loss(LlamaConfig c, double[] p, int[] tokens, int[] targets, int B, int T) {
        double[][] logits = logits(c, p, tokens, B, T);
        double sum = 0;
        int count = 0;
        for (int n = 0; n < B * T; n++) {
            if (targets[n] < 0) continue;
            double max = Double.NEGATIVE_INFINITY;
            for (double z : logits[n]) max = Math.max(max, z);
            double s = 0;
            for (double z : logits[n]) s += Math.exp(z - max);
            sum += -(logits[n][targets[n]] - max - Math.log(s));
            count++;
        }
        return count == 0 ? 0 : sum / count;
    }

    static double[][] logits(LlamaConfig c, double[] p, int[] tokens, int B, int T) {
        int d = c.dim(), hd = c.hiddenDim(), L = c.layers(), V = c.vocabSize(), kv = c.kvDim(), hs = c.headSize();
        int NH = c.heads(), group = NH / c.kvHeads();
        long[] sz = LlamaWeights.sizes(c);
        int[] off = new int[12];
        for (int i = 1; i < 12; i++) off[i] = off[i - 1] + (int) sz[i - 1];
        int cls = c.sharedClassifier() ? 0 : off[11];
        int N = B * T;
        double[][] x = new double[N][d];
        for (int n = 0; n < N; n++) for (int i = 0; i < d; i++) x[n][i] = p[tokens[n] * d + i];
        for (int l = 0; l < L; l++) {
            double[][] xa = new double[N][];
            for (int n = 0; n < N; n++) xa[n] = rms(x[n], p, off[1] + l * d, c.normEps());
            double[][] q = new double[N][], k = new double[N][], v = new double[N][];
            for (int n = 0; n < N; n++) {
                int pos = n % T;
                q[n] = rope(mat(p, off[2] + l * d * d, d, d, xa[n]), pos, hs, c.ropeTheta());
                k[n] = rope(mat(p, off[3] + l * kv * d, kv, d, xa[n]), pos, hs, c.ropeTheta());
                v[n] = mat(p, off[4] + l * kv * d, kv, d, xa[n]);
            }
            double[][] y = new double[N][d];
            for (int b = 0; b < B; b++) {
                for (int h = 0; h < NH; h++) {
                    int ko = (h / group) * hs;
                    for (int t = 0; t < T; t++) {
                        double[] s = new double[t + 1];
                        double max = Double.NEGATIVE_INFINITY;
                        for (int u = 0; u <= t; u++) {
                            for (int i = 0; i < hs; i++) s[u] += q[b * T + t][h * hs + i] * k[b * T + u][ko + i];
                            s[u] /= Math.sqrt(hs);
                            max = Math.max(max, s[u]);
                        }
                        double z = 0;
                        for (int u = 0; u <= t; u++) z += (s[u] = Math.exp(s[u] - max));
                        for (int u = 0; u <= t; u++) {
                            for (int i = 0; i < hs; i++) y[b * T + t][h * hs + i] += s[u] / z * v[b * T + u][ko + i];
                        }
                    }
                }
            }
            for (int n = 0; n < N; n++) {
                double[] o = mat(p, off[5] + l * d * d, d, d, y[n]);
                for (int i = 0; i < d; i++) x[n][i] += o[i];
                double[] xb = rms(x[n], p, off[6] + l * d, c.normEps());
                double[] a = mat(p, off[7] + l * hd * d, hd, d, xb);
                double[] u = mat(p, off[9] + l * hd * d, hd, d, xb);
                for (int i = 0; i < hd; i++) a[i] = a[i] / (1 + Math.exp(-a[i])) * u[i];
                double[] m = mat(p, off[8] + l * d * hd, d, hd, a);
                for (int i = 0; i < d; i++) x[n][i] += m[i];
            }
        }
        double[][] logits = new double[N][];
        for (int n = 0; n < N; n++) logits[n] = mat(p, cls, V, d, rms(x[n], p, off[10], c.normEps()));
        return logits;
    }

    private static double[] rms(double[] x, double[] p, int w, double eps) {
        double ss = 0;
        for (double e : x) ss += e * e;
        double r = 1 / Math.sqrt(ss / x.length + eps);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = p[w + i] * x[i] * r;
        return out;
    }

    private static double[] mat(double[] p, int w, int rows, int cols, double[] x) {
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) for (int j = 0; j < cols; j++) out[r] += p[w + r * cols + j] * x[j];
        return out;
    }

    private static double[] rope(double[] v, int pos, int hs, double theta) {
        for (int i = 0; i < v.length; i += 2) {
            double ang = pos / Math.pow(theta, (i % hs) / (double) hs);
            double a = v[i], b = v[i + 1];
            v[i] = a * Math.cos(ang) - b * Math.sin(ang);
            v[i + 1] = a * Math.sin(ang) + b * Math.cos(ang);
        }
        return v;
    }
}
