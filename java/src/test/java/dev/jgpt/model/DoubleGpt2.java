package dev.jgpt.model;

/**
 * An independent GPT-2 forward pass in double precision over plain arrays, written from the
 * architecture's definition (not from the backend's code): the judge for the finite-difference
 * gradient check and for the float model's loss. Tests only; slow and allocating on purpose.
 */
final class DoubleGpt2 {
    private final GptConfig cfg;
    private final ParameterLayout layout;

    DoubleGpt2(GptConfig cfg) {
        this.cfg = cfg;
        this.layout = ParameterLayout.of(cfg);
    }

    /** Mean cross-entropy over non-negative targets of the model with parameters {@code w}. */
    double loss(double[] w, int[] tokens, int[] targets, int B, int T) {
        double[][] logits = logits(w, tokens, B, T);
        double sum = 0;
        int valid = 0;
        for (int i = 0; i < B * T; i++) {
            if (targets[i] < 0) continue;
            double max = Double.NEGATIVE_INFINITY;
            for (double z : logits[i]) max = Math.max(max, z);
            double s = 0;
            for (double z : logits[i]) s += Math.exp(z - max);
            sum += -(logits[i][targets[i]] - max - Math.log(s));
            valid++;
        }
        return valid == 0 ? 0 : sum / valid;
    }

    /** Logits [b*T + t][v]. */
    double[][] logits(double[] w, int[] tokens, int B, int T) {
        int C = cfg.channels(), V = cfg.vocabSize(), L = cfg.layers(), NH = cfg.heads(), hs = C / NH;
        int wte = off("wte"), wpe = off("wpe");
        double[][][] out = new double[B][][];
        for (int b = 0; b < B; b++) {
            double[][] x = new double[T][C];
            for (int t = 0; t < T; t++) {
                for (int c = 0; c < C; c++) x[t][c] = w[wte + tokens[b * T + t] * C + c] + w[wpe + t * C + c];
            }
            for (int l = 0; l < L; l++) {
                double[][] h = layernorm(x, w, layer("ln1w", l, C), layer("ln1b", l, C));
                double[][] qkv = linear(h, w, layer("qkvw", l, 3 * C * C), layer("qkvb", l, 3 * C), C, 3 * C);
                double[][] y = new double[T][C];
                for (int head = 0; head < NH; head++) {
                    for (int t = 0; t < T; t++) {
                        double[] s = new double[t + 1];
                        double max = Double.NEGATIVE_INFINITY;
                        for (int u = 0; u <= t; u++) {
                            double dot = 0;
                            for (int i = 0; i < hs; i++) dot += qkv[t][head * hs + i] * qkv[u][C + head * hs + i];
                            s[u] = dot / Math.sqrt(hs);
                            max = Math.max(max, s[u]);
                        }
                        double z = 0;
                        for (int u = 0; u <= t; u++) z += (s[u] = Math.exp(s[u] - max));
                        for (int u = 0; u <= t; u++) {
                            for (int i = 0; i < hs; i++) y[t][head * hs + i] += s[u] / z * qkv[u][2 * C + head * hs + i];
                        }
                    }
                }
                add(x, linear(y, w, layer("attprojw", l, C * C), layer("attprojb", l, C), C, C));
                double[][] h2 = layernorm(x, w, layer("ln2w", l, C), layer("ln2b", l, C));
                double[][] f = linear(h2, w, layer("fcw", l, 4 * C * C), layer("fcb", l, 4 * C), C, 4 * C);
                for (double[] row : f) {
                    for (int i = 0; i < row.length; i++) {
                        double v = row[i];
                        row[i] = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
                    }
                }
                add(x, linear(f, w, layer("fcprojw", l, 4 * C * C), layer("fcprojb", l, C), 4 * C, C));
            }
            double[][] hf = layernorm(x, w, off("lnfw"), off("lnfb"));
            double[][] lg = new double[T][V];
            for (int t = 0; t < T; t++) {
                for (int v = 0; v < V; v++) {
                    double dot = 0;
                    for (int c = 0; c < C; c++) dot += hf[t][c] * w[wte + v * C + c];
                    lg[t][v] = dot;
                }
            }
            out[b] = lg;
        }
        double[][] flat = new double[B * T][];
        for (int b = 0; b < B; b++) System.arraycopy(out[b], 0, flat, b * T, T);
        return flat;
    }

    private int off(String name) {
        return (int) layout.view(name).offset();
    }

    private int layer(String name, int l, int perLayer) {
        return off(name) + l * perLayer;
    }

    private double[][] layernorm(double[][] x, double[] w, int weight, int bias) {
        int C = x[0].length;
        double[][] out = new double[x.length][C];
        for (int t = 0; t < x.length; t++) {
            double mean = 0, var = 0;
            for (double v : x[t]) mean += v;
            mean /= C;
            for (double v : x[t]) var += (v - mean) * (v - mean);
            var /= C;
            double r = 1 / Math.sqrt(var + 1e-5);
            for (int c = 0; c < C; c++) out[t][c] = (x[t][c] - mean) * r * w[weight + c] + w[bias + c];
        }
        return out;
    }

    /** x (T, in) @ W(out, in)^T + b. */
    private static double[][] linear(double[][] x, double[] w, int weight, int bias, int in, int outC) {
        double[][] out = new double[x.length][outC];
        for (int t = 0; t < x.length; t++) {
            for (int o = 0; o < outC; o++) {
                double acc = w[bias + o];
                for (int i = 0; i < in; i++) acc += x[t][i] * w[weight + o * in + i];
                out[t][o] = acc;
            }
        }
        return out;
    }

    private static void add(double[][] x, double[][] y) {
        for (int t = 0; t < x.length; t++) for (int c = 0; c < x[t].length; c++) x[t][c] += y[t][c];
    }
}
