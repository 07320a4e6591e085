package dev.jgpt.llama;

import dev.jgpt.generate.CausalLm;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The oracle: a plain-Java Llama forward pass, one token at a time, written to be obviously
 * correct rather than fast (it follows llama2.c's run.c step by step: RMSNorm, q/k/v, RoPE on
 * pairs (2i, 2i+1), grouped-query attention over the cache, wo, residual, RMSNorm, SwiGLU, w2,
 * residual; final RMSNorm and classifier). It shares no code with {@link LlamaInference}.
 * Allocates its arrays once; slow (a few tokens per second at stories15M size) and fine for tests.
 */
public final class ReferenceLlama implements CausalLm {
    private final LlamaConfig c;
    private final LlamaWeights w;
    private final float[][] keyCache, valueCache; // [layer][pos * kvDim + i]
    private final float[] x, xb, xb2, hb, hb2, q, k, v, att, logitsArray;
    private final Arena arena = Arena.ofConfined();
    private final Tensor logits;
    private int pos;

    public ReferenceLlama(LlamaWeights weights) {
        this.w = weights;
        this.c = weights.config();
        int d = c.dim(), kv = c.kvDim(), h = c.hiddenDim();
        keyCache = new float[c.layers()][c.seqLen() * kv];
        valueCache = new float[c.layers()][c.seqLen() * kv];
        x = new float[d];
        xb = new float[d];
        xb2 = new float[d];
        hb = new float[h];
        hb2 = new float[h];
        q = new float[d];
        k = new float[kv];
        v = new float[kv];
        att = new float[c.seqLen()];
        logitsArray = new float[c.vocabSize()];
        logits = Tensor.ofHost(arena.allocate(4L * c.vocabSize(), 64), DType.F32, c.vocabSize());
    }

    @Override public int vocabSize() { return c.vocabSize(); }
    @Override public int contextLength() { return c.seqLen(); }
    @Override public void reset() { pos = 0; }
    @Override public int position() { return pos; }

    @Override
    public Tensor prefill(int[] tokens) {
        if (tokens.length == 0) throw new IllegalArgumentException("prefill of no tokens");
        if (pos + tokens.length > c.seqLen()) throw new IllegalArgumentException("context of " + c.seqLen() + " exceeded");
        for (int t : tokens) step(t);
        return logits;
    }

    @Override
    public Tensor step(int token) {
        forward(token);
        logits.copyFrom(logitsArray);
        return logits;
    }

    /** The logits of the last step as an array (valid until the next step). */
    public float[] lastLogits() { return logitsArray; }

    private void forward(int token) {
        if (token < 0 || token >= c.vocabSize()) throw new IllegalArgumentException("token " + token + " outside the vocabulary");
        if (pos >= c.seqLen()) throw new IllegalArgumentException("context of " + c.seqLen() + " exceeded");
        int d = c.dim(), hs = c.headSize(), kvDim = c.kvDim(), hidden = c.hiddenDim();
        int kvMul = c.heads() / c.kvHeads();
        for (int i = 0; i < d; i++) x[i] = f(w.tokenEmbedding(), (long) token * d + i);

        for (int l = 0; l < c.layers(); l++) {
            rmsnorm(xb, x, w.rmsAtt(), (long) l * d);
            matmul(q, xb, w.wq(), (long) l * d * d, d, d);
            matmul(k, xb, w.wk(), (long) l * kvDim * d, d, kvDim);
            matmul(v, xb, w.wv(), (long) l * kvDim * d, d, kvDim);

            for (int i = 0; i < d; i += 2) {           // RoPE: rotate pairs by position-dependent angles
                int headDim = i % hs;
                float freq = (float) (1.0 / Math.pow(c.ropeTheta(), headDim / (double) hs));
                float val = pos * freq;
                float fcr = (float) Math.cos(val), fci = (float) Math.sin(val);
                rotate(q, i, fcr, fci);
                if (i < kvDim) rotate(k, i, fcr, fci);
            }
            System.arraycopy(k, 0, keyCache[l], pos * kvDim, kvDim);
            System.arraycopy(v, 0, valueCache[l], pos * kvDim, kvDim);

            for (int h = 0; h < c.heads(); h++) {
                int kvOff = (h / kvMul) * hs;
                for (int t = 0; t <= pos; t++) {
                    float score = 0;
                    for (int i = 0; i < hs; i++) score += q[h * hs + i] * keyCache[l][t * kvDim + kvOff + i];
                    att[t] = score / (float) Math.sqrt(hs);
                }
                softmax(att, pos + 1);
                for (int i = 0; i < hs; i++) {
                    float s = 0;
                    for (int t = 0; t <= pos; t++) s += att[t] * valueCache[l][t * kvDim + kvOff + i];
                    xb[h * hs + i] = s;
                }
            }
            matmul(xb2, xb, w.wo(), (long) l * d * d, d, d);
            for (int i = 0; i < d; i++) x[i] += xb2[i];

            rmsnorm(xb, x, w.rmsFfn(), (long) l * d);
            matmul(hb, xb, w.w1(), (long) l * hidden * d, d, hidden);
            matmul(hb2, xb, w.w3(), (long) l * hidden * d, d, hidden);
            for (int i = 0; i < hidden; i++) {
                float g = hb[i];
                hb[i] = g * (float) (1.0 / (1.0 + Math.exp(-g))) * hb2[i]; // SwiGLU: silu(w1 x) * (w3 x)
            }
            matmul(xb, hb, w.w2(), (long) l * d * hidden, hidden, d);
            for (int i = 0; i < d; i++) x[i] += xb[i];
        }
        rmsnorm(x, x, w.rmsFinal(), 0);
        matmul(logitsArray, x, w.wcls(), 0, d, c.vocabSize());
        pos++;
    }

    private static void rotate(float[] vec, int i, float fcr, float fci) {
        float v0 = vec[i], v1 = vec[i + 1];
        vec[i] = v0 * fcr - v1 * fci;
        vec[i + 1] = v0 * fci + v1 * fcr;
    }

    private void rmsnorm(float[] out, float[] in, MemorySegment weight, long offset) {
        int n = in.length;
        float ss = 0;
        for (float e : in) ss += e * e;
        ss = (float) (1.0 / Math.sqrt(ss / n + (float) c.normEps()));
        for (int i = 0; i < n; i++) out[i] = f(weight, offset + i) * (ss * in[i]);
    }

    /** out[i] = sum_j W[i, j] in[j] for the (rows, n) matrix starting at {@code offset}. */
    private static void matmul(float[] out, float[] in, MemorySegment wm, long offset, int n, int rows) {
        for (int i = 0; i < rows; i++) {
            float s = 0;
            long row = offset + (long) i * n;
            for (int j = 0; j < n; j++) s += f(wm, row + j) * in[j];
            out[i] = s;
        }
    }

    private static void softmax(float[] a, int n) {
        float max = a[0];
        for (int i = 1; i < n; i++) max = Math.max(max, a[i]);
        float sum = 0;
        for (int i = 0; i < n; i++) {
            a[i] = (float) Math.exp(a[i] - max);
            sum += a[i];
        }
        for (int i = 0; i < n; i++) a[i] /= sum;
    }

    private static float f(MemorySegment s, long i) {
        return s.getAtIndex(ValueLayout.JAVA_FLOAT, i);
    }

    @Override
    public void close() {
        arena.close();
    }
}
