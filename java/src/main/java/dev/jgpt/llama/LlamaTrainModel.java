package dev.jgpt.llama;

import dev.jgpt.JgptException;
import dev.jgpt.backend.Backend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Random;

/**
 * Training of a Llama-style model (RMSNorm, RoPE, SwiGLU, grouped-query attention), llm.c style:
 * one flat parameter buffer in llama2.c's weight order (so {@link #writeLlama2c} is one write through
 * {@link Llama2cCheckpoint#write}), explicit per-layer forward and backward, everything allocated in
 * the constructor.
 *
 * <p>Matrix products, the token embedding, the fused classifier, the gradient norm and AdamW go
 * through the {@link Backend} contract. The Llama-only pieces (RMSNorm, RoPE, SwiGLU and GQA causal
 * attention, forward and backward) are plain Java over host memory in this class for now — the
 * reference implementation, double accumulators — so this model runs on {@code reference} and
 * {@code cpu} only. Moving them into the Backend contract and libjgpt is the follow-up.
 *
 * <p>Layout of the flat buffer (floats, llama2.c order): token embedding (V,d), rms_att (L,d),
 * wq (L,d,d), wk (L,kv,d), wv (L,kv,d), wo (L,d,d), rms_ffn (L,d), w1 (L,h,d), w2 (L,d,h),
 * w3 (L,h,d), rms_final (d), then the classifier (V,d) only when it is not shared.
 */
public final class LlamaTrainModel implements AutoCloseable, dev.jgpt.train.TrainableModel {

    /** Index of each tensor in {@link #views}: llama2.c's file order. */
    private static final int EMB = 0, RMS_ATT = 1, WQ = 2, WK = 3, WV = 4, WO = 5, RMS_FFN = 6, W1 = 7, W2 = 8,
            W3 = 9, RMS_FINAL = 10, WCLS = 11;
    /** Which views get AdamW's weight decay (matrices and embeddings, never RMSNorm weights). */
    private static final boolean[] DECAY = {true, false, true, true, true, true, false, true, true, true, false, true};

    private final Backend ops;
    private final LlamaConfig c;
    private final int maxB, maxT;
    private final TensorArena arena;
    private final long parameterCount;
    private final long[] offsets = new long[12], sizes = new long[12];

    private final Tensor params, grads;
    private Tensor m, v;
    private int step;

    // activations (per layer tensors are (L, ...) stacked)
    private final Tensor resid;        // (L+1, N, d): residual stream at each layer's input, last = final
    private final Tensor mid;          // (L, N, d): residual stream after attention
    private final Tensor xn1, xn2;     // (L, N, d): RMSNorm outputs
    private final Tensor rstd1, rstd2; // (L, N)
    private final Tensor q, k, vv;     // (L, N, d), (L, N, kv), (L, N, kv); q and k after RoPE
    private final Tensor att;          // (L, B, NH, T, T): attention probabilities
    private final Tensor atty;         // (L, N, d)
    private final Tensor h1, h3, hg;   // (L, N, hidden): gate pre-activation, up, silu(gate) * up
    private final Tensor tmp;          // (N, d)
    private final Tensor xf, rstdf;    // final RMSNorm output (N, d), (N)
    private final Tensor losses, scratch, tokensBuf, targetsBuf, zeroPos, dzeroPos;
    // backward buffers
    private final Tensor dres, dxn, datty, dq, dk, dv, dhg, dh1, dh3;
    private final double[] ropeCos, ropeSin; // (maxT, hs/2)
    private final double[] scoreRow;         // (maxT): one attention row, forward and backward

    private int curB, curT;
    private int targetCount;

    public LlamaTrainModel(Backend backend, LlamaConfig config, int maxBatch, int maxSeq) {
        if (maxBatch <= 0 || maxSeq <= 0) throw new JgptException("batch and sequence length must be positive");
        if (maxSeq > config.seqLen()) {
            throw new JgptException("sequence length " + maxSeq + " exceeds the model's seq_len " + config.seqLen());
        }
        this.ops = backend;
        this.c = config;
        this.maxB = maxBatch;
        this.maxT = maxSeq;
        long[] s = LlamaWeights.sizes(c);
        long off = 0;
        for (int i = 0; i < 12; i++) {
            sizes[i] = i < s.length ? s[i] : (c.sharedClassifier() ? 0 : (long) c.vocabSize() * c.dim());
            offsets[i] = off;
            off += sizes[i];
        }
        parameterCount = off;
        arena = backend.newArena();
        try {
            params = arena.allocate(DType.F32, parameterCount);
            if (!params.isHost()) {
                throw new JgptException("Llama training runs on the reference and cpu backends only (not "
                        + backend.name() + ")");
            }
            grads = arena.allocate(DType.F32, parameterCount);
            int L = c.layers(), d = c.dim(), kv = c.kvDim(), hd = c.hiddenDim(), NH = c.heads();
            long N = (long) maxB * maxT;
            resid = arena.allocate(DType.F32, L + 1, N, d);
            mid = arena.allocate(DType.F32, L, N, d);
            xn1 = arena.allocate(DType.F32, L, N, d);
            xn2 = arena.allocate(DType.F32, L, N, d);
            rstd1 = arena.allocate(DType.F32, L, N);
            rstd2 = arena.allocate(DType.F32, L, N);
            q = arena.allocate(DType.F32, L, N, d);
            k = arena.allocate(DType.F32, L, N, kv);
            vv = arena.allocate(DType.F32, L, N, kv);
            att = arena.allocate(DType.F32, L, (long) maxB * NH * maxT * maxT);
            atty = arena.allocate(DType.F32, L, N, d);
            h1 = arena.allocate(DType.F32, L, N, hd);
            h3 = arena.allocate(DType.F32, L, N, hd);
            hg = arena.allocate(DType.F32, L, N, hd);
            tmp = arena.allocate(DType.F32, N * d);
            xf = arena.allocate(DType.F32, N * d);
            rstdf = arena.allocate(DType.F32, N);
            losses = arena.allocate(DType.F32, N);
            long rows = Math.min(N, Math.max(1, (1 << 24) / c.vocabSize()));
            scratch = arena.allocate(DType.F32, rows, c.vocabSize());
            tokensBuf = arena.allocate(DType.I32, N);
            targetsBuf = arena.allocate(DType.I32, N);
            zeroPos = arena.allocate(DType.F32, maxT, d);
            dzeroPos = arena.allocate(DType.F32, maxT, d);
            dres = arena.allocate(DType.F32, N * d);
            dxn = arena.allocate(DType.F32, N * d);
            datty = arena.allocate(DType.F32, N * d);
            dq = arena.allocate(DType.F32, N * d);
            dk = arena.allocate(DType.F32, N * kv);
            dv = arena.allocate(DType.F32, N * kv);
            dhg = arena.allocate(DType.F32, N * hd);
            dh1 = arena.allocate(DType.F32, N * hd);
            dh3 = arena.allocate(DType.F32, N * hd);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        int hs = c.headSize();
        ropeCos = new double[maxT * hs / 2];
        ropeSin = new double[maxT * hs / 2];
        scoreRow = new double[maxT];
        for (int t = 0; t < maxT; t++) {
            for (int i = 0; i < hs / 2; i++) {
                // run.c: freq = 1 / theta^(headDim / hs) with headDim = 2i, angle = pos * freq
                double freq = 1.0 / Math.pow(c.ropeTheta(), (2.0 * i) / hs);
                ropeCos[t * hs / 2 + i] = Math.cos(t * freq);
                ropeSin[t * hs / 2 + i] = Math.sin(t * freq);
            }
        }
    }

    public LlamaConfig config() { return c; }
    @Override public int layers() { return c.layers(); }
    @Override public int channels() { return c.dim(); }
    @Override public String describe() { return "llama " + c; }
    @Override public Tensor optimizerM() { return m; }
    @Override public Tensor optimizerV() { return v; }

    public Backend backend() { return ops; }

    public long parameterCount() { return parameterCount; }

    /** The flat parameter buffer (host), llama2.c's order. */
    public Tensor parameters() { return params; }

    /** The flat gradient buffer, same layout as {@link #parameters()}. */
    public Tensor gradients() { return grads; }

    public int optimizerStep() { return step; }

    public void setOptimizerStep(int s) { step = s; }

    /** llama2.c-ordered views of the parameters (the classifier is the embedding when shared). */
    public LlamaWeights weights() {
        MemorySegment seg = params.data();
        MemorySegment[] t = new MemorySegment[12];
        for (int i = 0; i < 12; i++) t[i] = seg.asSlice(offsets[i] * 4, sizes[i] * 4);
        MemorySegment cls = c.sharedClassifier() ? t[EMB] : t[WCLS];
        return new LlamaWeights(c, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], cls);
    }

    /** Writes the parameters as a llama2.c checkpoint that run.c (and {@link LlamaInference}) can load. */
    public void writeLlama2c(Path file) {
        ops.synchronize();
        Llama2cCheckpoint.write(file, weights());
    }

    /**
     * Deterministic init (java.util.Random): N(0, 0.02) for the embedding, classifier and matrices,
     * N(0, 0.02/sqrt(2L)) for the residual projections wo and w2, RMSNorm weights 1.
     */
    public void initWeights(long seed) {
        Random r = new Random(seed);
        double resScale = 0.02 / Math.sqrt(2.0 * c.layers());
        for (int i = 0; i < 12; i++) {
            boolean norm = i == RMS_ATT || i == RMS_FFN || i == RMS_FINAL;
            double std = (i == WO || i == W2) ? resScale : 0.02;
            for (long j = 0; j < sizes[i]; j++) {
                params.setFloat(offsets[i] + j, norm ? 1f : (float) (r.nextGaussian() * std));
            }
        }
        step = 0;
    }

    public void zeroGrad() {
        ops.zero(grads);
    }

    // ---- forward --------------------------------------------------------------------------------

    /**
     * Forward over B sequences of T tokens ({@code tokens.length == B*T}). With targets, returns the
     * mean cross-entropy over positions whose target is non-negative (0 when none); without, NaN.
     */
    public float forward(int[] tokens, int[] targets, int B, int T) {
        load(tokens, targets, B, T);
        return run(B, T, targets != null, false);
    }

    /** Forward and backward in one pass (the classifier's logits computed once); gradients accumulate. */
    public float forwardBackward(int[] tokens, int[] targets, int B, int T) {
        if (targets == null) throw new IllegalArgumentException("forwardBackward needs targets");
        load(tokens, targets, B, T);
        float loss = run(B, T, true, true);
        backwardBlocks();
        return loss;
    }

    /** {@link #forward(int[], int[], int, int)} with host I32 tensors of at least B*T ids (targets may be null). */
    public float forward(Tensor tokens, Tensor targets, int B, int T) {
        load(tokens, targets, B, T);
        return run(B, T, targets != null, false);
    }

    /** {@link #forwardBackward(int[], int[], int, int)} with host I32 tensors of at least B*T ids. */
    public float forwardBackward(Tensor tokens, Tensor targets, int B, int T) {
        if (targets == null) throw new IllegalArgumentException("forwardBackward needs targets");
        load(tokens, targets, B, T);
        float loss = run(B, T, true, true);
        backwardBlocks();
        return loss;
    }

    private void checkBatch(int B, int T) {
        if (B <= 0 || B > maxB || T <= 0 || T > maxT) {
            throw new JgptException("batch " + B + " x " + T + " exceeds the model's " + maxB + " x " + maxT);
        }
    }

    private void load(int[] tokens, int[] targets, int B, int T) {
        checkBatch(B, T);
        int N = B * T;
        if (tokens.length != N || (targets != null && targets.length != N)) {
            throw new IllegalArgumentException("tokens and targets must hold B*T = " + N + " ids");
        }
        for (int i = 0; i < N; i++) {
            tokensBuf.setInt(i, tokens[i]);
            if (targets != null) targetsBuf.setInt(i, targets[i]);
        }
    }

    private void load(Tensor tokens, Tensor targets, int B, int T) {
        checkBatch(B, T);
        long N = (long) B * T;
        tokens.requireAtLeast("tokens", DType.I32, N);
        ops.copy(tokensBuf.view(0, N), tokens.numel() == N ? tokens : tokens.view(0, N));
        if (targets != null) {
            targets.requireAtLeast("targets", DType.I32, N);
            ops.copy(targetsBuf.view(0, N), targets.numel() == N ? targets : targets.view(0, N));
        }
    }

    /** The forward (and the classifier's backward) on the ids in tokensBuf / targetsBuf. */
    private float run(int B, int T, boolean hasTargets, boolean backward) {
        int N = B * T;
        targetCount = 0;
        for (int i = 0; i < N; i++) {
            checkToken("token", tokensBuf.getInt(i), i, T);
            if (hasTargets) {
                int tg = targetsBuf.getInt(i);
                if (tg >= 0) {
                    checkToken("target", tg, i, T);
                    targetCount++;
                }
            }
        }
        curB = B;
        curT = T;
        forwardBlocks(B, T);
        if (!hasTargets) return Float.NaN;
        int d = c.dim();
        if (backward) ops.zero(dres.view(0, (long) N * d));   // all targets ignored: no gradient flows
        if (targetCount == 0) return 0f;
        float scale = 1f / targetCount;
        double sum = ops.classifier(losses, dres, view(grads, c.sharedClassifier() ? EMB : WCLS), xf,
                view(params, c.sharedClassifier() ? EMB : WCLS), targetsBuf, scratch, N, d, c.vocabSize(),
                scale, backward);
        return (float) (sum / targetCount);
    }

    private void checkToken(String what, int id, int i, int T) {
        if (id < 0 || id >= c.vocabSize()) {
            throw new JgptException(what + " " + id + " at position " + i + " (sequence " + i / T + ", index "
                    + i % T + ") is outside the vocabulary [0, " + c.vocabSize() + ")");
        }
    }

    /** Logits (B*T, V) of the last forward into {@code out}. */
    public void logits(Tensor out) {
        int N = curB * curT;
        ops.matmulForward(out, xf, view(params, c.sharedClassifier() ? EMB : WCLS), null, N, c.dim(), c.vocabSize());
    }

    private void forwardBlocks(int B, int T) {
        int N = B * T, d = c.dim(), kv = c.kvDim(), hd = c.hiddenDim();
        // token embedding: the encoder op with an all-zero position table
        ops.encoderForward(layer(resid, 0, N, d), tokensBuf, view(params, EMB), zeroPos, B, T, d);
        for (int l = 0; l < c.layers(); l++) {
            Tensor x = layer(resid, l, N, d), xa = layer(xn1, l, N, d);
            rmsnormForward(xa, slice(rstd1, l, N), x, weight(RMS_ATT, l, d), N, d);
            Tensor ql = layer(q, l, N, d), kl = layer(k, l, N, kv), vl = layer(vv, l, N, kv);
            ops.matmulForward(ql, xa, weight(WQ, l, (long) d * d), null, N, d, d);
            ops.matmulForward(kl, xa, weight(WK, l, (long) kv * d), null, N, d, kv);
            ops.matmulForward(vl, xa, weight(WV, l, (long) kv * d), null, N, d, kv);
            rope(ql, B, T, c.heads(), false);
            rope(kl, B, T, c.kvHeads(), false);
            Tensor yl = layer(atty, l, N, d);
            attentionForward(yl, slice(att, l, attSize(B, T)), ql, kl, vl, B, T);
            Tensor tp = tmp.view(0, (long) N * d);
            ops.matmulForward(tp, yl, weight(WO, l, (long) d * d), null, N, d, d);
            Tensor ml = layer(mid, l, N, d);
            ops.residualForward(ml, x, tp, N * d);

            Tensor xb = layer(xn2, l, N, d);
            rmsnormForward(xb, slice(rstd2, l, N), ml, weight(RMS_FFN, l, d), N, d);
            Tensor a = layer(h1, l, N, hd), u = layer(h3, l, N, hd), g = layer(hg, l, N, hd);
            ops.matmulForward(a, xb, weight(W1, l, (long) hd * d), null, N, d, hd);
            ops.matmulForward(u, xb, weight(W3, l, (long) hd * d), null, N, d, hd);
            swigluForward(g, a, u, N * hd);
            ops.matmulForward(tp, g, weight(W2, l, (long) d * hd), null, N, hd, d);
            ops.residualForward(layer(resid, l + 1, N, d), ml, tp, N * d);
        }
        rmsnormForward(xf.view(0, (long) N * d), rstdf, layer(resid, c.layers(), N, d), view(params, RMS_FINAL), N, d);
    }

    // ---- backward -------------------------------------------------------------------------------

    /** After the classifier wrote d(loss)/d(xf) into dres: the blocks in reverse. */
    private void backwardBlocks() {
        int B = curB, T = curT, N = B * T, d = c.dim(), kv = c.kvDim(), hd = c.hiddenDim();
        Tensor dr = dres.view(0, (long) N * d), dx = dxn.view(0, (long) N * d);
        // final RMSNorm: dres holds d/d(xf); turn it into d/d(resid[L])
        ops.copy(dx, dr);
        ops.zero(dr);
        rmsnormBackward(dr, view(grads, RMS_FINAL), dx, layer(resid, c.layers(), N, d), view(params, RMS_FINAL), rstdf, N, d);
        for (int l = c.layers() - 1; l >= 0; l--) {
            // MLP: resid[l+1] = mid + w2 (silu(w1 xn2) * w3 xn2); dres flows to mid unchanged
            Tensor dg = dhg.view(0, (long) N * hd), da = dh1.view(0, (long) N * hd), du = dh3.view(0, (long) N * hd);
            ops.zero(dg);
            ops.matmulBackward(dg, weight(grads, W2, l, (long) d * hd), null, dr, layer(hg, l, N, hd),
                    weight(W2, l, (long) d * hd), N, hd, d);
            swigluBackward(da, du, dg, layer(h1, l, N, hd), layer(h3, l, N, hd), N * hd);
            ops.zero(dx);
            Tensor xb = layer(xn2, l, N, d);
            ops.matmulBackward(dx, weight(grads, W1, l, (long) hd * d), null, da, xb, weight(W1, l, (long) hd * d), N, d, hd);
            ops.matmulBackward(dx, weight(grads, W3, l, (long) hd * d), null, du, xb, weight(W3, l, (long) hd * d), N, d, hd);
            rmsnormBackward(dr, weight(grads, RMS_FFN, l, d), dx, layer(mid, l, N, d), weight(RMS_FFN, l, d),
                    slice(rstd2, l, N), N, d);

            // attention: mid = resid[l] + wo attn(rope(wq xn1), rope(wk xn1), wv xn1)
            Tensor dy = datty.view(0, (long) N * d);
            ops.zero(dy);
            ops.matmulBackward(dy, weight(grads, WO, l, (long) d * d), null, dr, layer(atty, l, N, d),
                    weight(WO, l, (long) d * d), N, d, d);
            Tensor dql = dq.view(0, (long) N * d), dkl = dk.view(0, (long) N * kv), dvl = dv.view(0, (long) N * kv);
            ops.zero(dql);
            ops.zero(dkl);
            ops.zero(dvl);
            attentionBackward(dql, dkl, dvl, dy, slice(att, l, attSize(B, T)), layer(q, l, N, d), layer(k, l, N, kv),
                    layer(vv, l, N, kv), B, T);
            rope(dql, B, T, c.heads(), true);
            rope(dkl, B, T, c.kvHeads(), true);
            ops.zero(dx);
            Tensor xa = layer(xn1, l, N, d);
            ops.matmulBackward(dx, weight(grads, WQ, l, (long) d * d), null, dql, xa, weight(WQ, l, (long) d * d), N, d, d);
            ops.matmulBackward(dx, weight(grads, WK, l, (long) kv * d), null, dkl, xa, weight(WK, l, (long) kv * d), N, d, kv);
            ops.matmulBackward(dx, weight(grads, WV, l, (long) kv * d), null, dvl, xa, weight(WV, l, (long) kv * d), N, d, kv);
            rmsnormBackward(dr, weight(grads, RMS_ATT, l, d), dx, layer(resid, l, N, d), weight(RMS_ATT, l, d),
                    slice(rstd1, l, N), N, d);
        }
        ops.encoderBackward(view(grads, EMB), dzeroPos, dr, tokensBuf, B, T, d);
    }

    // ---- optimizer ------------------------------------------------------------------------------

    /** Global L2 norm of the gradients. */
    public double gradNorm() {
        return Math.sqrt(ops.sumSquares(grads));
    }

    /** One AdamW step; weight decay on matrices and embeddings only. */
    public void adamwStep(float lr, float beta1, float beta2, float eps, float weightDecay, float gradScale) {
        if (m == null) allocateOptimizerState();
        step++;
        for (int i = 0; i < 12; i++) {
            if (sizes[i] == 0) continue;
            ops.adamw(view(params, i), view(grads, i), view(m, i), view(v, i), lr, beta1, beta2, eps,
                    DECAY[i] ? weightDecay : 0f, step, gradScale);
        }
    }

    public void allocateOptimizerState() {
        if (m == null) {
            m = arena.allocate(DType.F32, parameterCount);
            v = arena.allocate(DType.F32, parameterCount);
        }
    }

    // ---- the Llama-only pieces: reference implementations in plain Java -------------------------

    /** y = w * x / sqrt(mean(x^2) + eps) per row; saves 1/rms. */
    private void rmsnormForward(Tensor out, Tensor rstd, Tensor inp, Tensor w, int N, int d) {
        MemorySegment o = out.data(), x = inp.data(), ws = w.data(), rs = rstd.data();
        for (int n = 0; n < N; n++) {
            long row = (long) n * d;
            double ss = 0;
            for (int i = 0; i < d; i++) {
                double e = f(x, row + i);
                ss += e * e;
            }
            double r = 1.0 / Math.sqrt(ss / d + c.normEps());
            for (int i = 0; i < d; i++) set(o, row + i, (float) (f(ws, i) * (f(x, row + i) * r)));
            set(rs, n, (float) r);
        }
    }

    /** dinp += r (w*dy) - r^3/d x sum(w*dy*x); dw += dy * x * r. */
    private static void rmsnormBackward(Tensor dinp, Tensor dw, Tensor dout, Tensor inp, Tensor w, Tensor rstd,
                                        int N, int d) {
        MemorySegment di = dinp.data(), dws = dw.data(), dy = dout.data(), x = inp.data(), ws = w.data(), rs = rstd.data();
        for (int n = 0; n < N; n++) {
            long row = (long) n * d;
            double r = f(rs, n), dot = 0;
            for (int i = 0; i < d; i++) dot += f(ws, i) * f(dy, row + i) * f(x, row + i);
            double coef = r * r * r / d * dot;
            for (int i = 0; i < d; i++) {
                double g = f(dy, row + i);
                set(di, row + i, (float) (f(di, row + i) + r * f(ws, i) * g - coef * f(x, row + i)));
                set(dws, i, (float) (f(dws, i) + g * f(x, row + i) * r));
            }
        }
    }

    /** Rotates each (2i, 2i+1) pair of every head of t (N, heads*hs) by the position's angle (llama2.c's
     *  interleaved RoPE); {@code inverse} rotates back, which is the backward of the rotation. */
    private void rope(Tensor t, int B, int T, int heads, boolean inverse) {
        int hs = c.headSize(), half = hs / 2, width = heads * hs;
        MemorySegment s = t.data();
        for (int b = 0; b < B; b++) {
            for (int p = 0; p < T; p++) {
                long row = ((long) b * T + p) * width;
                for (int h = 0; h < heads; h++) {
                    for (int i = 0; i < half; i++) {
                        double cs = ropeCos[p * half + i], sn = inverse ? -ropeSin[p * half + i] : ropeSin[p * half + i];
                        long j = row + (long) h * hs + 2L * i;
                        double v0 = f(s, j), v1 = f(s, j + 1);
                        set(s, j, (float) (v0 * cs - v1 * sn));
                        set(s, j + 1, (float) (v0 * sn + v1 * cs));
                    }
                }
            }
        }
    }

    private long attSize(int B, int T) {
        return (long) B * c.heads() * T * T;
    }

    /** Causal GQA: query head h reads kv head h / (heads/kvHeads); att (B, NH, T, T) saved. */
    private void attentionForward(Tensor out, Tensor attT, Tensor qT, Tensor kT, Tensor vT, int B, int T) {
        int NH = c.heads(), hs = c.headSize(), d = c.dim(), kv = c.kvDim(), group = NH / c.kvHeads();
        double scale = 1.0 / Math.sqrt(hs);
        MemorySegment o = out.data(), a = attT.data(), qs = qT.data(), ks = kT.data(), vs = vT.data();
        double[] row = scoreRow;
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                int kvOff = (h / group) * hs;
                for (int t = 0; t < T; t++) {
                    long qRow = ((long) b * T + t) * d + (long) h * hs;
                    long aRow = (((long) b * NH + h) * T + t) * T;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int u = 0; u <= t; u++) {
                        long kRow = ((long) b * T + u) * kv + kvOff;
                        double sdot = 0;
                        for (int i = 0; i < hs; i++) sdot += f(qs, qRow + i) * f(ks, kRow + i);
                        row[u] = sdot * scale;
                        max = Math.max(max, row[u]);
                    }
                    double sum = 0;
                    for (int u = 0; u <= t; u++) {
                        row[u] = Math.exp(row[u] - max);
                        sum += row[u];
                    }
                    for (int u = 0; u < T; u++) set(a, aRow + u, u <= t ? (float) (row[u] / sum) : 0f);
                    for (int i = 0; i < hs; i++) {
                        double acc = 0;
                        for (int u = 0; u <= t; u++) acc += f(a, aRow + u) * f(vs, ((long) b * T + u) * kv + kvOff + i);
                        set(o, qRow + i, (float) acc);
                    }
                }
            }
        }
    }

    /** dq, dk, dv += the attention's backward (softmax Jacobian per row). */
    private void attentionBackward(Tensor dqT, Tensor dkT, Tensor dvT, Tensor dout, Tensor attT, Tensor qT, Tensor kT,
                                   Tensor vT, int B, int T) {
        int NH = c.heads(), hs = c.headSize(), d = c.dim(), kv = c.kvDim(), group = NH / c.kvHeads();
        double scale = 1.0 / Math.sqrt(hs);
        MemorySegment dqs = dqT.data(), dks = dkT.data(), dvs = dvT.data(), dy = dout.data(), a = attT.data(),
                qs = qT.data(), ks = kT.data(), vs = vT.data();
        double[] datt = scoreRow;
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < NH; h++) {
                int kvOff = (h / group) * hs;
                for (int t = 0; t < T; t++) {
                    long qRow = ((long) b * T + t) * d + (long) h * hs;
                    long aRow = (((long) b * NH + h) * T + t) * T;
                    double dot = 0;
                    for (int u = 0; u <= t; u++) {
                        long vRow = ((long) b * T + u) * kv + kvOff;
                        double p = f(a, aRow + u), s = 0;
                        for (int i = 0; i < hs; i++) {
                            double g = f(dy, qRow + i);
                            s += g * f(vs, vRow + i);
                            set(dvs, vRow + i, (float) (f(dvs, vRow + i) + p * g));
                        }
                        datt[u] = s;
                        dot += p * s;
                    }
                    for (int u = 0; u <= t; u++) {
                        double ds = f(a, aRow + u) * (datt[u] - dot) * scale;
                        long kRow = ((long) b * T + u) * kv + kvOff;
                        for (int i = 0; i < hs; i++) {
                            set(dqs, qRow + i, (float) (f(dqs, qRow + i) + ds * f(ks, kRow + i)));
                            set(dks, kRow + i, (float) (f(dks, kRow + i) + ds * f(qs, qRow + i)));
                        }
                    }
                }
            }
        }
    }

    /** g = silu(a) * u. */
    private static void swigluForward(Tensor g, Tensor a, Tensor u, int n) {
        MemorySegment gs = g.data(), as = a.data(), us = u.data();
        for (long i = 0; i < n; i++) {
            double x = f(as, i), sig = 1.0 / (1.0 + Math.exp(-x));
            set(gs, i, (float) (x * sig * f(us, i)));
        }
    }

    /** da = dg * u * silu'(a), du = dg * silu(a) (overwrites). */
    private static void swigluBackward(Tensor da, Tensor du, Tensor dg, Tensor a, Tensor u, int n) {
        MemorySegment das = da.data(), dus = du.data(), dgs = dg.data(), as = a.data(), us = u.data();
        for (long i = 0; i < n; i++) {
            double x = f(as, i), sig = 1.0 / (1.0 + Math.exp(-x)), g = f(dgs, i);
            set(dus, i, (float) (g * x * sig));
            set(das, i, (float) (g * f(us, i) * sig * (1.0 + x * (1.0 - sig))));
        }
    }

    // ---- views ----------------------------------------------------------------------------------

    private Tensor view(Tensor flat, int i) {
        return flat.view(offsets[i], sizes[i]);
    }

    private Tensor weight(int i, int l, long per) {
        return weight(params, i, l, per);
    }

    private Tensor weight(Tensor flat, int i, int l, long per) {
        return flat.view(offsets[i] + l * per, per);
    }

    private static Tensor layer(Tensor stacked, int l, int N, int width) {
        long per = stacked.numel() / stacked.dim(0);
        return stacked.view(l * per, (long) N * width);
    }

    private static Tensor slice(Tensor stacked, int l, long n) {
        long per = stacked.numel() / stacked.dim(0);
        return stacked.view(l * per, n);
    }

    private static double f(MemorySegment s, long i) {
        return s.getAtIndex(ValueLayout.JAVA_FLOAT, i);
    }

    private static void set(MemorySegment s, long i, float v) {
        s.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
    }

    @Override
    public void close() {
        arena.close();
    }
}
