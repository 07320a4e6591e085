package dev.jgpt.backend.reference;

import dev.jgpt.backend.Backend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The oracle: every operation of {@link Backend} in plain, single-threaded Java that reads like its
 * formula. Every other backend is tested against this one, so clarity beats speed here.
 *
 * <p>Sums (dot products, means, variances, softmax normalisers, losses) are accumulated in
 * {@code double}: the oracle should be more accurate than what it judges, never less. Results are
 * stored as F32 like every backend.
 *
 * <p>All tensors must be host tensors (this backend allocates with {@link TensorArena#host()}).
 */
public final class ReferenceBackend implements Backend {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;
    private static final double GELU_SCALE = Math.sqrt(2.0 / Math.PI);
    private static final double LAYERNORM_EPS = 1e-5;

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public TensorArena newArena() {
        return TensorArena.host();
    }

    /** The oracle is single-threaded on purpose; the setting is accepted and remembered only. */
    @Override
    public void setThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads: must be >= 1 but was " + threads);
        this.threads = threads;
    }

    private int threads = 1;

    @Override
    public int threads() {
        return threads;
    }

    // ---- copies ----------------------------------------------------------------------------------

    @Override
    public void copy(Tensor dst, Tensor src) {
        notNull("dst", dst);
        notNull("src", src);
        host("dst", dst);
        host("src", src);
        if (dst.dtype() != src.dtype()) {
            throw new IllegalArgumentException("dst: dtype " + dst.dtype() + " differs from src " + src.dtype());
        }
        if (dst.numel() != src.numel()) {
            throw new IllegalArgumentException("dst: " + dst + " and src " + src + " differ in size");
        }
        MemorySegment.copy(src.data(), 0, dst.data(), 0, src.byteSize());
    }

    @Override
    public void zero(Tensor t) {
        notNull("t", t);
        host("t", t);
        MemorySegment d = t.data();
        (d.byteSize() == t.byteSize() ? d : d.asSlice(0, t.byteSize())).fill((byte) 0);
    }

    // ---- encoder ---------------------------------------------------------------------------------

    @Override
    public void encoderForward(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int B, int T, int C) {
        positive("B", B);
        positive("T", T);
        positive("C", C);
        long BT = (long) B * T;
        MemorySegment o = f32("out", out, BT * C);
        MemorySegment tok = i32("tokens", tokens, BT);
        MemorySegment e = f32("wte", wte, C);
        MemorySegment p = f32("wpe", wpe, (long) T * C);
        long V = wte.numel() / C;
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                long bt = (long) b * T + t;
                int token = checkedToken(tok.getAtIndex(I, bt), b, t, V);
                for (int c = 0; c < C; c++) {
                    o.setAtIndex(F, bt * C + c, e.getAtIndex(F, (long) token * C + c) + p.getAtIndex(F, (long) t * C + c));
                }
            }
        }
    }

    private static int checkedToken(int token, int b, int t, long V) {
        if (token < 0 || token >= V) {
            throw new IllegalArgumentException("tokens: token " + token + " at (b=" + b + ", t=" + t
                    + ") is outside the vocabulary [0, " + V + ")");
        }
        return token;
    }

    @Override
    public void encoderBackward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens, int B, int T, int C) {
        positive("B", B);
        positive("T", T);
        positive("C", C);
        long BT = (long) B * T;
        MemorySegment de = f32("dwte", dwte, C);
        MemorySegment dp = f32("dwpe", dwpe, (long) T * C);
        MemorySegment d = f32("dout", dout, BT * C);
        MemorySegment tok = i32("tokens", tokens, BT);
        long V = dwte.numel() / C;
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                long bt = (long) b * T + t;
                int token = checkedToken(tok.getAtIndex(I, bt), b, t, V);
                for (int c = 0; c < C; c++) {
                    float g = d.getAtIndex(F, bt * C + c);
                    add(de, (long) token * C + c, g);
                    add(dp, (long) t * C + c, g);
                }
            }
        }
    }

    // ---- layernorm -------------------------------------------------------------------------------

    @Override
    public void layernormForward(Tensor out, Tensor mean, Tensor rstd, Tensor inp, Tensor weight, Tensor bias,
                                 int N, int C) {
        positive("N", N);
        positive("C", C);
        MemorySegment o = f32("out", out, (long) N * C);
        MemorySegment m = f32("mean", mean, N);
        MemorySegment r = f32("rstd", rstd, N);
        MemorySegment x = f32("inp", inp, (long) N * C);
        MemorySegment w = f32("weight", weight, C);
        MemorySegment bs = f32("bias", bias, C);
        for (long i = 0; i < N; i++) {
            long row = i * C;
            double sum = 0;
            for (int c = 0; c < C; c++) sum += x.getAtIndex(F, row + c);
            double mu = sum / C;
            double var = 0;
            for (int c = 0; c < C; c++) {
                double dx = x.getAtIndex(F, row + c) - mu;
                var += dx * dx;
            }
            var /= C; // biased variance, as PyTorch's LayerNorm
            double s = 1.0 / Math.sqrt(var + LAYERNORM_EPS);
            for (int c = 0; c < C; c++) {
                double n = (x.getAtIndex(F, row + c) - mu) * s;
                o.setAtIndex(F, row + c, (float) (n * w.getAtIndex(F, c) + bs.getAtIndex(F, c)));
            }
            m.setAtIndex(F, i, (float) mu);
            r.setAtIndex(F, i, (float) s);
        }
    }

    @Override
    public void layernormBackward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                                  Tensor weight, Tensor mean, Tensor rstd, int N, int C) {
        positive("N", N);
        positive("C", C);
        MemorySegment dx = f32("dinp", dinp, (long) N * C);
        MemorySegment dw = f32("dweight", dweight, C);
        MemorySegment db = f32("dbias", dbias, C);
        MemorySegment d = f32("dout", dout, (long) N * C);
        MemorySegment x = f32("inp", inp, (long) N * C);
        MemorySegment w = f32("weight", weight, C);
        MemorySegment m = f32("mean", mean, N);
        MemorySegment r = f32("rstd", rstd, N);
        for (long i = 0; i < N; i++) {
            long row = i * C;
            double mu = m.getAtIndex(F, i);
            double s = r.getAtIndex(F, i);
            // y = norm * w + b with norm = (x - mu) * s; dnorm = dout * w.
            // dx = s * (dnorm - mean(dnorm) - norm * mean(dnorm * norm))
            double dnormMean = 0, dnormNormMean = 0;
            for (int c = 0; c < C; c++) {
                double norm = (x.getAtIndex(F, row + c) - mu) * s;
                double dnorm = (double) w.getAtIndex(F, c) * d.getAtIndex(F, row + c);
                dnormMean += dnorm;
                dnormNormMean += dnorm * norm;
            }
            dnormMean /= C;
            dnormNormMean /= C;
            for (int c = 0; c < C; c++) {
                double norm = (x.getAtIndex(F, row + c) - mu) * s;
                double g = d.getAtIndex(F, row + c);
                double dnorm = w.getAtIndex(F, c) * g;
                add(db, c, (float) g);
                add(dw, c, (float) (norm * g));
                add(dx, row + c, (float) ((dnorm - dnormMean - norm * dnormNormMean) * s));
            }
        }
    }

    // ---- matmul ----------------------------------------------------------------------------------

    @Override
    public void matmulForward(Tensor out, Tensor inp, Tensor weight, Tensor bias, int N, int C, int OC) {
        positive("N", N);
        positive("C", C);
        positive("OC", OC);
        MemorySegment o = f32("out", out, (long) N * OC);
        MemorySegment x = f32("inp", inp, (long) N * C);
        MemorySegment w = f32("weight", weight, (long) OC * C);
        MemorySegment bs = bias == null ? null : f32("bias", bias, OC);
        // out[n,oc] = bias[oc] + sum_c inp[n,c] * weight[oc,c]
        for (long n = 0; n < N; n++) {
            for (long oc = 0; oc < OC; oc++) {
                double acc = (bs == null ? 0 : bs.getAtIndex(F, oc)) + dot(x, n * C, 1, w, oc * C, 1, C);
                o.setAtIndex(F, n * OC + oc, (float) acc);
            }
        }
    }

    /** {@code sum_i a[aOff + i aStride] * b[bOff + i bStride]} for i in [0, n), in double: every product's inner loop. */
    private static double dot(MemorySegment a, long aOff, long aStride, MemorySegment b, long bOff, long bStride, long n) {
        double acc = 0;
        for (long i = 0; i < n; i++) acc += (double) a.getAtIndex(F, aOff + i * aStride) * b.getAtIndex(F, bOff + i * bStride);
        return acc;
    }

    @Override
    public void matmulBackward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp, Tensor weight,
                               int N, int C, int OC) {
        positive("N", N);
        positive("C", C);
        positive("OC", OC);
        MemorySegment dx = f32("dinp", dinp, (long) N * C);
        MemorySegment dw = dweight == null ? null : f32("dweight", dweight, (long) OC * C); // null: a frozen weight
        MemorySegment db = dbias == null ? null : f32("dbias", dbias, OC);
        MemorySegment d = f32("dout", dout, (long) N * OC);
        MemorySegment x = f32("inp", inp, (long) N * C);
        MemorySegment w = f32("weight", weight, (long) OC * C);
        // dinp[n,c] += sum_oc dout[n,oc] * weight[oc,c]
        for (long n = 0; n < N; n++) {
            for (long c = 0; c < C; c++) add(dx, n * C + c, (float) dot(d, n * OC, 1, w, c, C, OC));
        }
        // dweight[oc,c] += sum_n dout[n,oc] * inp[n,c]; dbias[oc] += sum_n dout[n,oc]
        for (long oc = 0; oc < OC; oc++) {
            for (long c = 0; dw != null && c < C; c++) add(dw, oc * C + c, (float) dot(d, oc, OC, x, c, C, N));
            if (db != null) {
                double acc = 0;
                for (long n = 0; n < N; n++) acc += d.getAtIndex(F, n * OC + oc);
                add(db, oc, (float) acc);
            }
        }
    }

    @Override
    public void matmulAddForward(Tensor out, Tensor inp, Tensor weight, int N, int C, int OC, float alpha) {
        positive("N", N);
        positive("C", C);
        positive("OC", OC);
        MemorySegment o = f32("out", out, (long) N * OC);
        MemorySegment x = f32("inp", inp, (long) N * C);
        MemorySegment w = f32("weight", weight, (long) OC * C);
        // out[n,oc] += alpha * sum_c inp[n,c] * weight[oc,c]
        for (long n = 0; n < N; n++) {
            for (long oc = 0; oc < OC; oc++) add(o, n * OC + oc, (float) (alpha * dot(x, n * C, 1, w, oc * C, 1, C)));
        }
    }

    @Override
    public void matmulAddBackward(Tensor dinp, Tensor dweight, Tensor dout, Tensor inp, Tensor weight, int N, int C, int OC,
                                  float alpha) {
        positive("N", N);
        positive("C", C);
        positive("OC", OC);
        MemorySegment dx = f32("dinp", dinp, (long) N * C);
        MemorySegment dw = f32("dweight", dweight, (long) OC * C);
        MemorySegment d = f32("dout", dout, (long) N * OC);
        MemorySegment x = f32("inp", inp, (long) N * C);
        MemorySegment w = f32("weight", weight, (long) OC * C);
        // dinp[n,c] = alpha * sum_oc dout[n,oc] * weight[oc,c]: overwritten, the old value never read
        for (long n = 0; n < N; n++) {
            for (long c = 0; c < C; c++) dx.setAtIndex(F, n * C + c, (float) (alpha * dot(d, n * OC, 1, w, c, C, OC)));
        }
        // dweight[oc,c] += alpha * sum_n dout[n,oc] * inp[n,c]
        for (long oc = 0; oc < OC; oc++) {
            for (long c = 0; c < C; c++) add(dw, oc * C + c, (float) (alpha * dot(d, oc, OC, x, c, C, N)));
        }
    }

    // ---- attention -------------------------------------------------------------------------------

    @Override
    public void attentionForward(Tensor out, Tensor att, Tensor qkv, int B, int T, int C, int NH) {
        checkAttentionDims(B, T, C, NH);
        int hs = C / NH;
        long C3 = 3L * C;
        MemorySegment o = f32("out", out, (long) B * T * C);
        MemorySegment a = f32("att", att, (long) B * NH * T * T);
        MemorySegment x = f32("qkv", qkv, (long) B * T * C3);
        double scale = 1.0 / Math.sqrt(hs);
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                for (int t = 0; t < T; t++) {
                    long q = ((long) b * T + t) * C3 + (long) h * hs;
                    long arow = (((long) b * NH + h) * T + t) * T;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t2 = 0; t2 <= t; t2++) {
                        long k = ((long) b * T + t2) * C3 + C + (long) h * hs;
                        double dot = 0;
                        for (int i = 0; i < hs; i++) dot += (double) x.getAtIndex(F, q + i) * x.getAtIndex(F, k + i);
                        a.setAtIndex(F, arow + t2, (float) (dot * scale)); // the att row holds the scores first
                        max = Math.max(max, a.getAtIndex(F, arow + t2));
                    }
                    double sum = 0;
                    for (int t2 = 0; t2 <= t; t2++) {
                        sum += Math.exp(a.getAtIndex(F, arow + t2) - max); // minus the max: exp never overflows
                    }
                    for (int t2 = 0; t2 < T; t2++) {
                        double p = t2 <= t ? Math.exp(a.getAtIndex(F, arow + t2) - max) / sum : 0;
                        a.setAtIndex(F, arow + t2, (float) p);
                    }
                    long orow = ((long) b * T + t) * C + (long) h * hs;
                    for (int i = 0; i < hs; i++) {
                        double acc = 0;
                        for (int t2 = 0; t2 <= t; t2++) {
                            long v = ((long) b * T + t2) * C3 + 2L * C + (long) h * hs;
                            acc += (double) a.getAtIndex(F, arow + t2) * x.getAtIndex(F, v + i);
                        }
                        o.setAtIndex(F, orow + i, (float) acc);
                    }
                }
            }
        }
    }

    @Override
    public void attentionBackward(Tensor dqkv, Tensor datt, Tensor dout, Tensor qkv, Tensor att, Tensor out,
                                  int B, int T, int C, int NH) {
        checkAttentionDims(B, T, C, NH);
        int hs = C / NH;
        long C3 = 3L * C;
        MemorySegment dx = f32("dqkv", dqkv, (long) B * T * C3);
        MemorySegment da = f32("datt", datt, (long) B * NH * T * T);
        MemorySegment d = f32("dout", dout, (long) B * T * C);
        MemorySegment x = f32("qkv", qkv, (long) B * T * C3);
        MemorySegment a = f32("att", att, (long) B * NH * T * T);
        f32("out", out, (long) B * T * C); // not read: the probabilities in att suffice here
        double scale = 1.0 / Math.sqrt(hs);
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                for (int t = 0; t < T; t++) {
                    long arow = (((long) b * NH + h) * T + t) * T;
                    long orow = ((long) b * T + t) * C + (long) h * hs;
                    // out[t] = sum_t2 att[t,t2] v[t2]: datt[t,t2] = dout[t].v[t2]; dv[t2] += att[t,t2] dout[t]
                    for (int t2 = 0; t2 < T; t2++) {
                        if (t2 > t) {
                            da.setAtIndex(F, arow + t2, 0f);
                            continue;
                        }
                        long v = ((long) b * T + t2) * C3 + 2L * C + (long) h * hs;
                        double p = a.getAtIndex(F, arow + t2);
                        double dot = 0;
                        for (int i = 0; i < hs; i++) {
                            double g = d.getAtIndex(F, orow + i);
                            dot += g * x.getAtIndex(F, v + i);
                            add(dx, v + i, (float) (p * g));
                        }
                        da.setAtIndex(F, arow + t2, (float) dot);
                    }
                    // softmax backward: dpre[t2] = att[t2] * (datt[t2] - sum_j att[j] datt[j])
                    double inner = 0;
                    for (int t2 = 0; t2 <= t; t2++) {
                        inner += (double) a.getAtIndex(F, arow + t2) * da.getAtIndex(F, arow + t2);
                    }
                    long q = ((long) b * T + t) * C3 + (long) h * hs;
                    for (int t2 = 0; t2 <= t; t2++) {
                        double dpre = a.getAtIndex(F, arow + t2) * (da.getAtIndex(F, arow + t2) - inner) * scale;
                        da.setAtIndex(F, arow + t2, (float) dpre); // datt now holds the pre-softmax gradient
                        long k = ((long) b * T + t2) * C3 + C + (long) h * hs;
                        for (int i = 0; i < hs; i++) {
                            add(dx, q + i, (float) (dpre * x.getAtIndex(F, k + i)));
                            add(dx, k + i, (float) (dpre * x.getAtIndex(F, q + i)));
                        }
                    }
                }
            }
        }
    }

    // ---- elementwise -----------------------------------------------------------------------------

    @Override
    public void geluForward(Tensor out, Tensor inp, int N) {
        positive("N", N);
        MemorySegment o = f32("out", out, N);
        MemorySegment x = f32("inp", inp, N);
        for (long i = 0; i < N; i++) {
            double v = x.getAtIndex(F, i);
            double u = GELU_SCALE * (v + 0.044715 * v * v * v);
            o.setAtIndex(F, i, (float) (0.5 * v * (1 + Math.tanh(u))));
        }
    }

    @Override
    public void geluBackward(Tensor dinp, Tensor inp, Tensor dout, int N) {
        positive("N", N);
        MemorySegment dx = f32("dinp", dinp, N);
        MemorySegment x = f32("inp", inp, N);
        MemorySegment d = f32("dout", dout, N);
        for (long i = 0; i < N; i++) {
            double v = x.getAtIndex(F, i);
            double u = GELU_SCALE * (v + 0.044715 * v * v * v);
            double th = Math.tanh(u);
            double sech2 = 1 - th * th;
            double local = 0.5 * (1 + th) + 0.5 * v * sech2 * GELU_SCALE * (1 + 3 * 0.044715 * v * v);
            add(dx, i, (float) (local * d.getAtIndex(F, i)));
        }
    }

    @Override
    public void residualForward(Tensor out, Tensor a, Tensor b, int N) {
        positive("N", N);
        MemorySegment o = f32("out", out, N);
        MemorySegment x = f32("a", a, N);
        MemorySegment y = f32("b", b, N);
        for (long i = 0; i < N; i++) o.setAtIndex(F, i, x.getAtIndex(F, i) + y.getAtIndex(F, i));
    }

    @Override
    public void residualBackward(Tensor da, Tensor db, Tensor dout, int N) {
        positive("N", N);
        MemorySegment x = f32("da", da, N);
        MemorySegment y = f32("db", db, N);
        MemorySegment d = f32("dout", dout, N);
        for (long i = 0; i < N; i++) {
            float g = d.getAtIndex(F, i);
            add(x, i, g);
            add(y, i, g);
        }
    }

    // ---- classifier ------------------------------------------------------------------------------

    @Override
    public double classifier(Tensor losses, Tensor dx, Tensor dwte, Tensor x, Tensor wte, Tensor targets,
                             Tensor scratch, int N, int C, int V, float dlossScale, boolean backward) {
        positive("N", N);
        positive("C", C);
        positive("V", V);
        MemorySegment ls = f32("losses", losses, N);
        MemorySegment in = f32("x", x, (long) N * C);
        MemorySegment w = f32("wte", wte, (long) V * C);
        MemorySegment tg = i32("targets", targets, N);
        MemorySegment s = f32("scratch", scratch, V);
        MemorySegment dIn = backward ? f32("dx", dx, (long) N * C) : null;
        MemorySegment dW = backward && dwte != null ? f32("dwte", dwte, (long) V * C) : null; // null: a frozen wte
        long rowsPerChunk = scratch.numel() / V;
        for (long n = 0; n < N; n++) { // check every target before any gradient is touched
            int target = tg.getAtIndex(I, n);
            if (target >= V) {
                throw new IllegalArgumentException("targets: target " + target + " at row " + n
                        + " is outside the vocabulary [0, " + V + ")");
            }
        }
        double total = 0;
        for (long start = 0; start < N; start += rowsPerChunk) {
            long end = Math.min(N, start + rowsPerChunk);
            for (long n = start; n < end; n++) {
                int target = tg.getAtIndex(I, n);
                long srow = (n - start) * V;
                if (target < 0) { // ignored row: no loss, no gradient
                    ls.setAtIndex(F, n, 0f);
                    continue;
                }
                // logits, then a numerically stable log-softmax: log p = z - max - log(sum exp(z - max))
                double max = Double.NEGATIVE_INFINITY;
                for (long v = 0; v < V; v++) {
                    double acc = 0;
                    for (long c = 0; c < C; c++) acc += (double) in.getAtIndex(F, n * C + c) * w.getAtIndex(F, v * C + c);
                    s.setAtIndex(F, srow + v, (float) acc);
                    max = Math.max(max, acc);
                }
                double sum = 0;
                for (long v = 0; v < V; v++) sum += Math.exp(s.getAtIndex(F, srow + v) - max);
                double logSum = Math.log(sum);
                double loss = -(s.getAtIndex(F, srow + target) - max - logSum);
                ls.setAtIndex(F, n, (float) loss);
                total += loss;
                if (!backward) continue;
                for (long v = 0; v < V; v++) {
                    double p = Math.exp(s.getAtIndex(F, srow + v) - max - logSum);
                    double g = (p - (v == target ? 1 : 0)) * dlossScale;
                    s.setAtIndex(F, srow + v, (float) g); // the scratch row now holds dlogits
                }
            }
            if (!backward) continue;
            for (long n = start; n < end; n++) {
                if (tg.getAtIndex(I, n) < 0) continue;
                long srow = (n - start) * V;
                // dx[n] += dlogits[n] @ wte
                for (long c = 0; c < C; c++) {
                    double acc = 0;
                    for (long v = 0; v < V; v++) acc += (double) s.getAtIndex(F, srow + v) * w.getAtIndex(F, v * C + c);
                    add(dIn, n * C + c, (float) acc);
                }
            }
            // dwte[v] += sum_n dlogits[n,v] * x[n]
            for (long v = 0; dW != null && v < V; v++) {
                for (long c = 0; c < C; c++) {
                    double acc = 0;
                    for (long n = start; n < end; n++) {
                        if (tg.getAtIndex(I, n) < 0) continue;
                        acc += (double) s.getAtIndex(F, (n - start) * V + v) * in.getAtIndex(F, n * C + c);
                    }
                    if (acc != 0) add(dW, v * C + c, (float) acc);
                }
            }
        }
        return total;
    }

    // ---- optimizer -------------------------------------------------------------------------------

    @Override
    public double sumSquares(Tensor t) {
        notNull("t", t);
        MemorySegment x = f32("t", t, t.numel());
        double sum = 0;
        for (long i = 0; i < t.numel(); i++) {
            double v = x.getAtIndex(F, i);
            sum += v * v;
        }
        return sum;
    }

    @Override
    public void adamw(Tensor params, Tensor grads, Tensor m, Tensor v, float lr, float beta1, float beta2,
                      float eps, float weightDecay, int step, float gradScale) {
        notNull("params", params);
        if (step < 1) throw new IllegalArgumentException("step: must start at 1 but was " + step);
        long n = params.numel();
        MemorySegment p = f32("params", params, n);
        MemorySegment g = f32("grads", grads, n);
        MemorySegment ms = f32("m", m, n);
        MemorySegment vs = f32("v", v, n);
        double c1 = 1 - Math.pow(beta1, step);
        double c2 = 1 - Math.pow(beta2, step);
        for (long i = 0; i < n; i++) {
            double grad = (double) g.getAtIndex(F, i) * gradScale;
            double mi = beta1 * ms.getAtIndex(F, i) + (1 - beta1) * grad;
            double vi = beta2 * vs.getAtIndex(F, i) + (1 - beta2) * grad * grad;
            ms.setAtIndex(F, i, (float) mi);
            vs.setAtIndex(F, i, (float) vi);
            double mhat = mi / c1;
            double vhat = vi / c2;
            double w = p.getAtIndex(F, i);
            // decoupled weight decay (AdamW): the decay is applied to the weight, not added to the gradient
            p.setAtIndex(F, i, (float) (w - lr * (mhat / (Math.sqrt(vhat) + eps) + weightDecay * w)));
        }
    }

    // ---- Llama-style layers ----------------------------------------------------------------------

    @Override
    public void rmsnormForward(Tensor out, Tensor rstd, Tensor inp, Tensor weight, int N, int C, float eps) {
        positive("N", N);
        positive("C", C);
        if (!(eps >= 0)) throw new IllegalArgumentException("eps: must be >= 0 but was " + eps);
        MemorySegment o = f32("out", out, (long) N * C);
        MemorySegment r = f32("rstd", rstd, N);
        MemorySegment x = f32("inp", inp, (long) N * C);
        MemorySegment w = f32("weight", weight, C);
        for (long n = 0; n < N; n++) {
            long row = n * C;
            double ss = 0;
            for (int c = 0; c < C; c++) {
                double e = x.getAtIndex(F, row + c);
                ss += e * e;
            }
            double s = 1.0 / Math.sqrt(ss / C + eps);
            for (int c = 0; c < C; c++) {
                o.setAtIndex(F, row + c, (float) (w.getAtIndex(F, c) * (x.getAtIndex(F, row + c) * s)));
            }
            r.setAtIndex(F, n, (float) s);
        }
    }

    @Override
    public void rmsnormBackward(Tensor dinp, Tensor dweight, Tensor dout, Tensor inp, Tensor weight, Tensor rstd,
                                int N, int C) {
        positive("N", N);
        positive("C", C);
        MemorySegment dx = f32("dinp", dinp, (long) N * C);
        MemorySegment dw = f32("dweight", dweight, C);
        MemorySegment d = f32("dout", dout, (long) N * C);
        MemorySegment x = f32("inp", inp, (long) N * C);
        MemorySegment w = f32("weight", weight, C);
        MemorySegment r = f32("rstd", rstd, N);
        for (long n = 0; n < N; n++) {
            long row = n * C;
            double s = r.getAtIndex(F, n);
            // y = w * x * s with s = (mean(x^2) + eps)^(-1/2): ds/dx = -s^3 x / C
            double dot = 0;
            for (int c = 0; c < C; c++) {
                dot += (double) w.getAtIndex(F, c) * d.getAtIndex(F, row + c) * x.getAtIndex(F, row + c);
            }
            double coef = s * s * s / C * dot;
            for (int c = 0; c < C; c++) {
                double g = d.getAtIndex(F, row + c), xi = x.getAtIndex(F, row + c);
                add(dx, row + c, (float) (s * w.getAtIndex(F, c) * g - coef * xi));
                add(dw, c, (float) (g * xi * s));
            }
        }
    }

    @Override
    public void ropeForward(Tensor x, Tensor cos, Tensor sin, int B, int T, int NH, int hs) {
        rope("x", x, cos, sin, B, T, NH, hs, false);
    }

    @Override
    public void ropeBackward(Tensor dx, Tensor cos, Tensor sin, int B, int T, int NH, int hs) {
        rope("dx", dx, cos, sin, B, T, NH, hs, true);
    }

    /** Rotates each pair (2i, 2i+1) of every head by the angle of (t, i); {@code transpose}: by minus it. */
    private static void rope(String name, Tensor x, Tensor cos, Tensor sin, int B, int T, int NH, int hs, boolean transpose) {
        positive("B", B);
        positive("T", T);
        positive("NH", NH);
        positive("hs", hs);
        if (hs % 2 != 0) throw new IllegalArgumentException("hs: RoPE rotates pairs, the head size must be even but was " + hs);
        int half = hs / 2;
        long width = (long) NH * hs;
        MemorySegment s = f32(name, x, (long) B * T * width);
        MemorySegment cs = f32("cos", cos, (long) T * half);
        MemorySegment sn = f32("sin", sin, (long) T * half);
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                long row = ((long) b * T + t) * width;
                for (int h = 0; h < NH; h++) {
                    for (int i = 0; i < half; i++) {
                        double c = cs.getAtIndex(F, (long) t * half + i), si = sn.getAtIndex(F, (long) t * half + i);
                        if (transpose) si = -si;
                        long j = row + (long) h * hs + 2L * i;
                        double v0 = s.getAtIndex(F, j), v1 = s.getAtIndex(F, j + 1);
                        s.setAtIndex(F, j, (float) (v0 * c - v1 * si));
                        s.setAtIndex(F, j + 1, (float) (v0 * si + v1 * c));
                    }
                }
            }
        }
    }

    @Override
    public void swigluForward(Tensor out, Tensor gate, Tensor up, int N) {
        positive("N", N);
        MemorySegment o = f32("out", out, N);
        MemorySegment a = f32("gate", gate, N);
        MemorySegment u = f32("up", up, N);
        for (long i = 0; i < N; i++) {
            double x = a.getAtIndex(F, i), sig = 1.0 / (1.0 + Math.exp(-x));
            o.setAtIndex(F, i, (float) (x * sig * u.getAtIndex(F, i)));
        }
    }

    @Override
    public void swigluBackward(Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up, int N) {
        positive("N", N);
        MemorySegment da = f32("dgate", dgate, N);
        MemorySegment du = f32("dup", dup, N);
        MemorySegment d = f32("dout", dout, N);
        MemorySegment a = f32("gate", gate, N);
        MemorySegment u = f32("up", up, N);
        for (long i = 0; i < N; i++) {
            double x = a.getAtIndex(F, i), sig = 1.0 / (1.0 + Math.exp(-x)), g = d.getAtIndex(F, i);
            // silu'(x) = sig + x sig (1 - sig)
            add(da, i, (float) (g * u.getAtIndex(F, i) * sig * (1.0 + x * (1.0 - sig))));
            add(du, i, (float) (g * x * sig));
        }
    }

    @Override
    public void gqaAttentionForward(Tensor out, Tensor att, Tensor q, Tensor k, Tensor v, int B, int T, int NH, int NKV,
                                    int hs) {
        checkGqaDims(B, T, NH, NKV, hs);
        long Cq = (long) NH * hs, Ckv = (long) NKV * hs;
        int group = NH / NKV;
        MemorySegment o = f32("out", out, (long) B * T * Cq);
        MemorySegment a = f32("att", att, (long) B * NH * T * T);
        MemorySegment qs = f32("q", q, (long) B * T * Cq);
        MemorySegment ks = f32("k", k, (long) B * T * Ckv);
        MemorySegment vs = f32("v", v, (long) B * T * Ckv);
        double scale = 1.0 / Math.sqrt(hs);
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                long kvOff = (long) (h / group) * hs;
                for (int t = 0; t < T; t++) {
                    long qRow = ((long) b * T + t) * Cq + (long) h * hs;
                    long arow = (((long) b * NH + h) * T + t) * T;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int u = 0; u <= t; u++) {
                        long kRow = ((long) b * T + u) * Ckv + kvOff;
                        double dot = 0;
                        for (int i = 0; i < hs; i++) dot += (double) qs.getAtIndex(F, qRow + i) * ks.getAtIndex(F, kRow + i);
                        a.setAtIndex(F, arow + u, (float) (dot * scale)); // the att row holds the scores first
                        max = Math.max(max, a.getAtIndex(F, arow + u));
                    }
                    double sum = 0;
                    for (int u = 0; u <= t; u++) sum += Math.exp(a.getAtIndex(F, arow + u) - max);
                    for (int u = 0; u < T; u++) {
                        double p = u <= t ? Math.exp(a.getAtIndex(F, arow + u) - max) / sum : 0;
                        a.setAtIndex(F, arow + u, (float) p);
                    }
                    for (int i = 0; i < hs; i++) {
                        double acc = 0;
                        for (int u = 0; u <= t; u++) {
                            acc += (double) a.getAtIndex(F, arow + u) * vs.getAtIndex(F, ((long) b * T + u) * Ckv + kvOff + i);
                        }
                        o.setAtIndex(F, qRow + i, (float) acc);
                    }
                }
            }
        }
    }

    @Override
    public void gqaAttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor datt, Tensor dout, Tensor q, Tensor k,
                                     Tensor v, Tensor att, Tensor out, int B, int T, int NH, int NKV, int hs) {
        checkGqaDims(B, T, NH, NKV, hs);
        long Cq = (long) NH * hs, Ckv = (long) NKV * hs;
        int group = NH / NKV;
        MemorySegment dqs = f32("dq", dq, (long) B * T * Cq);
        MemorySegment dks = f32("dk", dk, (long) B * T * Ckv);
        MemorySegment dvs = f32("dv", dv, (long) B * T * Ckv);
        MemorySegment da = f32("datt", datt, (long) B * NH * T * T);
        MemorySegment d = f32("dout", dout, (long) B * T * Cq);
        MemorySegment qs = f32("q", q, (long) B * T * Cq);
        MemorySegment ks = f32("k", k, (long) B * T * Ckv);
        MemorySegment vs = f32("v", v, (long) B * T * Ckv);
        MemorySegment a = f32("att", att, (long) B * NH * T * T);
        f32("out", out, (long) B * T * Cq); // not read: the probabilities in att suffice here
        double scale = 1.0 / Math.sqrt(hs);
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                long kvOff = (long) (h / group) * hs;
                for (int t = 0; t < T; t++) {
                    long arow = (((long) b * NH + h) * T + t) * T;
                    long qRow = ((long) b * T + t) * Cq + (long) h * hs;
                    // out[t] = sum_u att[t,u] v[u]: datt[t,u] = dout[t].v[u]; dv[u] += att[t,u] dout[t]
                    double inner = 0;
                    for (int u = 0; u < T; u++) {
                        if (u > t) {
                            da.setAtIndex(F, arow + u, 0f);
                            continue;
                        }
                        long vRow = ((long) b * T + u) * Ckv + kvOff;
                        double p = a.getAtIndex(F, arow + u), dot = 0;
                        for (int i = 0; i < hs; i++) {
                            double g = d.getAtIndex(F, qRow + i);
                            dot += g * vs.getAtIndex(F, vRow + i);
                            add(dvs, vRow + i, (float) (p * g));
                        }
                        da.setAtIndex(F, arow + u, (float) dot);
                        inner += p * dot;
                    }
                    // softmax backward: dscore[u] = att[u] (datt[u] - sum_j att[j] datt[j]), times the scale
                    for (int u = 0; u <= t; u++) {
                        double ds = a.getAtIndex(F, arow + u) * (da.getAtIndex(F, arow + u) - inner) * scale;
                        da.setAtIndex(F, arow + u, (float) ds); // datt now holds d(scores)
                        long kRow = ((long) b * T + u) * Ckv + kvOff;
                        for (int i = 0; i < hs; i++) {
                            add(dqs, qRow + i, (float) (ds * ks.getAtIndex(F, kRow + i)));
                            add(dks, kRow + i, (float) (ds * qs.getAtIndex(F, qRow + i)));
                        }
                    }
                }
            }
        }
    }

    private static void checkGqaDims(int B, int T, int NH, int NKV, int hs) {
        positive("B", B);
        positive("T", T);
        positive("NH", NH);
        positive("NKV", NKV);
        positive("hs", hs);
        if (NH % NKV != 0) throw new IllegalArgumentException("NKV: " + NKV + " kv heads do not divide NH = " + NH);
    }

    // ---- inference -------------------------------------------------------------------------------

    @Override
    public void attentionDecode(Tensor out, Tensor att, Tensor q, Tensor kCache, Tensor vCache, int pos, int C,
                                int NH) {
        checkAttentionDims(1, 1, C, NH);
        if (pos < 0) throw new IllegalArgumentException("pos: must be >= 0 but was " + pos);
        int hs = C / NH;
        int T = pos + 1;
        MemorySegment o = f32("out", out, C);
        MemorySegment a = f32("att", att, (long) NH * T);
        MemorySegment qs = f32("q", q, C);
        MemorySegment k = f32("kCache", kCache, (long) T * C);
        MemorySegment vs = f32("vCache", vCache, (long) T * C);
        double scale = 1.0 / Math.sqrt(hs);
        for (int h = 0; h < NH; h++) {
            long arow = (long) h * T;
            double max = Double.NEGATIVE_INFINITY;
            for (int t = 0; t < T; t++) {
                double dot = 0;
                for (int i = 0; i < hs; i++) {
                    dot += (double) qs.getAtIndex(F, (long) h * hs + i) * k.getAtIndex(F, (long) t * C + h * hs + i);
                }
                a.setAtIndex(F, arow + t, (float) (dot * scale));
                max = Math.max(max, a.getAtIndex(F, arow + t));
            }
            double sum = 0;
            for (int t = 0; t < T; t++) sum += Math.exp(a.getAtIndex(F, arow + t) - max);
            for (int t = 0; t < T; t++) {
                a.setAtIndex(F, arow + t, (float) (Math.exp(a.getAtIndex(F, arow + t) - max) / sum));
            }
            for (int i = 0; i < hs; i++) {
                double acc = 0;
                for (int t = 0; t < T; t++) {
                    acc += (double) a.getAtIndex(F, arow + t) * vs.getAtIndex(F, (long) t * C + h * hs + i);
                }
                o.setAtIndex(F, (long) h * hs + i, (float) acc);
            }
        }
    }

    @Override
    public void gqaAttentionDecode(Tensor out, Tensor att, Tensor q, Tensor kCache, Tensor vCache, int pos, int rows, int NH,
                                   int NKV, int hs) {
        checkGqaDims(1, 1, NH, NKV, hs);
        if (pos < 0) throw new IllegalArgumentException("pos: must be >= 0 but was " + pos);
        if (rows < 1) throw new IllegalArgumentException("rows: must be positive but was " + rows);
        int T = pos + rows;   // positions the block's last row sees; the stride of an att row
        long Cq = (long) NH * hs, Ckv = (long) NKV * hs;
        int group = NH / NKV;
        MemorySegment o = f32("out", out, rows * Cq);
        MemorySegment a = f32("att", att, Backend.gqaAttentionDecodeScratchFloats(pos, rows, NH));
        MemorySegment qs = f32("q", q, rows * Cq);
        MemorySegment k = f32("kCache", kCache, T * Ckv);
        MemorySegment vs = f32("vCache", vCache, T * Ckv);
        double scale = 1.0 / Math.sqrt(hs);
        for (int h = 0; h < NH; h++) {
            long kvOff = (long) (h / group) * hs;
            for (int r = 0; r < rows; r++) {
                int seen = pos + r + 1;   // row r attends over positions 0..pos+r
                long arow = ((long) h * rows + r) * T, qOff = r * Cq + (long) h * hs;
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t < seen; t++) {
                    double dot = 0;
                    for (int i = 0; i < hs; i++) dot += (double) qs.getAtIndex(F, qOff + i) * k.getAtIndex(F, t * Ckv + kvOff + i);
                    a.setAtIndex(F, arow + t, (float) (dot * scale));
                    max = Math.max(max, a.getAtIndex(F, arow + t));
                }
                double sum = 0;
                for (int t = 0; t < seen; t++) sum += Math.exp(a.getAtIndex(F, arow + t) - max);
                for (int t = 0; t < seen; t++) a.setAtIndex(F, arow + t, (float) (Math.exp(a.getAtIndex(F, arow + t) - max) / sum));
                for (int t = seen; t < T; t++) a.setAtIndex(F, arow + t, 0f);
                for (int i = 0; i < hs; i++) {
                    double acc = 0;
                    for (int t = 0; t < seen; t++) acc += (double) a.getAtIndex(F, arow + t) * vs.getAtIndex(F, t * Ckv + kvOff + i);
                    o.setAtIndex(F, qOff + i, (float) acc);
                }
            }
        }
    }

    // ---- argument checks -------------------------------------------------------------------------

    private static void add(MemorySegment s, long i, float v) {
        s.setAtIndex(F, i, s.getAtIndex(F, i) + v);
    }

    private static MemorySegment f32(String name, Tensor t, long n) {
        return checked(name, t, DType.F32, n);
    }

    private static MemorySegment i32(String name, Tensor t, long n) {
        return checked(name, t, DType.I32, n);
    }

    private static MemorySegment checked(String name, Tensor t, DType type, long n) {
        notNull(name, t);
        host(name, t);
        t.requireAtLeast(name, type, n);
        return t.data();
    }

    private static void notNull(String name, Tensor t) {
        if (t == null) throw new IllegalArgumentException(name + ": must not be null");
    }

    private static void host(String name, Tensor t) {
        if (!t.isHost()) throw new IllegalArgumentException(name + ": the reference backend needs host tensors, got " + t);
    }

    private static void positive(String name, int v) {
        if (v <= 0) throw new IllegalArgumentException(name + ": must be positive but was " + v);
    }

    private static void checkAttentionDims(int B, int T, int C, int NH) {
        positive("B", B);
        positive("T", T);
        positive("C", C);
        positive("NH", NH);
        if (C % NH != 0) throw new IllegalArgumentException("NH: " + NH + " heads do not divide C = " + C);
    }
}
