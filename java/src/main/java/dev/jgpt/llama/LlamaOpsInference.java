package dev.jgpt.llama;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.DeviceTopK;
import dev.jgpt.generate.BackendLm;
import dev.jgpt.llama.LlamaBackendWeights.Matrix;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Llama inference with a KV cache on any {@link Backend}: one sequence, token by token, over the contract's
 * ops (RMSNorm, RoPE, SwiGLU, grouped-query attention, matmul), so it decodes on {@code cuda} and
 * {@code reference} where {@link LlamaInference} (libjgpt, CPU only) cannot. The same pattern as
 * {@code Gpt2Inference}: the weights copied once into the backend's memory ({@link LlamaBackendWeights}:
 * the matrices and the embedding table float32, bf16 on cuda in bf16 mode, or q8), the cache (layers, seq_len,
 * kv_dim) there too, the prompt in batched matrix products ({@link #PREFILL_CHUNK} rows at a time), each
 * new token through {@link Backend#gqaAttentionDecode} over the cache.
 *
 * <p>Prefill: a prompt block that starts the sequence (position 0) attends with
 * {@link Backend#gqaAttentionForward} over its own keys and values, which are the cache's first rows; a
 * block that continues a sequence (a later chunk, a chat turn) attends with one
 * {@link Backend#gqaAttentionDecode} call per layer for all its rows, which reads the earlier positions from
 * the cache (one kernel launch per layer on cuda, not one per row).
 *
 * <p>On a backend whose tensors live on a device and that picks the largest logits there ({@link DeviceTopK},
 * the cuda backend), {@link #deviceLogits()} decodes without copying the V logits to the host.
 *
 * <p>Every buffer and every per-position view is made in the constructor: nothing is allocated per token.
 */
public final class LlamaOpsInference extends BackendLm {

    /**
     * Most prompt tokens one batched prefill pass holds: bounds the working buffers and the attention scratch,
     * (NH, n, pos+n) probabilities of a block, NH * PREFILL_CHUNK * seq_len floats at most.
     */
    public static final int PREFILL_CHUNK = 128;

    private final LlamaConfig c;
    private final float eps;
    private final AutoCloseable owner;

    private final LlamaBackendWeights weights;                  // the backend's copy, or views of a training model's
    private final boolean ownsWeights;                          // false: borrowed (training parameters, a first sequence's)
    private final Tensor rmsFinal;
    private final Tensor[] rmsAtt, rmsFfn;                      // per layer
    private final Matrix emb, cls;                              // the embedding table (F32, or converted) and the classifier
    private final Matrix[] wq, wk, wv, wo, w1, w2, w3;          // per layer: F32, BF16, or q8 (I8 and scales)
    private final Tensor[] kCache, vCache;                      // per layer (seq_len, kv_dim)
    private final Tensor[][] kRow, vRow;                        // [layer][pos]: kv_dim rows of the caches
    private final Tensor ropeCos, ropeSin;                      // (seq_len, hs/2) on the backend
    private final Tensor[] cosFrom, sinFrom;                    // [pos]: the tables from row pos on
    private final Tensor x, xn, q, atty, tmp, h1, h3, hg, rstd, att, zeroPos;
    private final Tensor xf, rstdf;
    private final Tensor kvRows;                                // (2, rows, kv_dim): a step's new keys, values

    private int lastRows;
    private boolean closed;

    /**
     * Copies {@code w} (float32, e.g. a mapped checkpoint; not kept: the caller may free it afterwards) into
     * {@code backend}'s memory, the matrices and the embedding table in its {@link Backend#decodeWeightDType} (bf16 on
     * cuda in bf16 mode).
     * {@code owner} (the backend, or null) is closed with this object.
     */
    public LlamaOpsInference(Backend backend, LlamaWeights w, AutoCloseable owner) {
        this(backend, w, backend.decodeWeightDType(), 0, owner);
    }

    /**
     * {@link #LlamaOpsInference(Backend, LlamaWeights, AutoCloseable)} with the matrices, the classifier and (unless
     * F32) the embedding table stored as {@code matrixType}: F32 (on cuda in bf16 mode, products then read a bf16 copy kept beside them), BF16 where the
     * backend's {@link Backend#decodeWeightDType} is BF16, or I8: q8 in groups of {@code group} (32 or 64; must divide
     * dim and hidden_dim), multiplied by {@link Backend#matmulQ8Forward}.
     */
    public LlamaOpsInference(Backend backend, LlamaWeights w, DType matrixType, int group, AutoCloseable owner) {
        this(backend, w.config(), w, null, matrixType, group, owner);
    }

    /**
     * Decoding over a training model's live parameters on its backend (borrowed, not copied: every prefill and
     * step reads the current values), for its samples during training.
     */
    public static LlamaOpsInference over(LlamaTrainModel model) {
        return new LlamaOpsInference(model.backend(), model.config(), null,
                LlamaBackendWeights.over(model.config(), model.deviceParameters()), DType.F32, 0, null);
    }

    /** Exactly one of {@code w} (copied in as {@code matrixType}) and {@code shared} (borrowed) is non-null. */
    private LlamaOpsInference(Backend backend, LlamaConfig config, LlamaWeights w, LlamaBackendWeights shared,
                              DType matrixType, int group, AutoCloseable owner) {
        super(backend, config.vocabSize(), config.seqLen(), PREFILL_CHUNK);
        this.c = config;
        this.eps = (float) c.normEps();
        this.owner = owner;
        int L = c.layers(), d = c.dim(), kv = c.kvDim(), hd = c.hiddenDim(), NH = c.heads(), hs = c.headSize();
        int maxT = c.seqLen(), half = hs / 2;
        try {
            ownsWeights = shared == null;
            weights = ownsWeights ? LlamaBackendWeights.upload(ops, arena, w, matrixType, group) : shared;
            weights.register(ops);
            emb = weights.emb; rmsFinal = weights.rmsFinal; cls = weights.cls;
            rmsAtt = weights.rmsAtt; rmsFfn = weights.rmsFfn;
            wq = weights.wq; wk = weights.wk; wv = weights.wv; wo = weights.wo;
            w1 = weights.w1; w2 = weights.w2; w3 = weights.w3;

            kCache = caches(L, kv);
            vCache = caches(L, kv);
            kRow = rowViews(kCache);
            vRow = rowViews(vCache);
            ropeCos = arena.allocate(DType.F32, maxT, half);
            ropeSin = arena.allocate(DType.F32, maxT, half);
            try (TensorArena tables = TensorArena.host()) {
                Tensor hc = tables.allocate(DType.F32, maxT, half), hsn = tables.allocate(DType.F32, maxT, half);
                Backend.ropeTables(hc, hsn, maxT, hs, c.ropeTheta());
                ops.copy(ropeCos, hc);
                ops.copy(ropeSin, hsn);
            }
            cosFrom = new Tensor[maxT];
            sinFrom = new Tensor[maxT];
            for (int t = 0; t < maxT; t++) {
                cosFrom[t] = ropeCos.view((long) t * half, (long) (maxT - t) * half);
                sinFrom[t] = ropeSin.view((long) t * half, (long) (maxT - t) * half);
            }
            // what only products and the backend's kernels read in the backend's activation type (bf16 on cuda in
            // bf16 mode: no rounding copy before those products, half the cache): the RMSNorm outputs, q, k, v and
            // the KV cache, the attention output, the gate and up products and their SwiGLU; the residual stream, the
            // products' outputs added to it and the logits stay F32
            DType act = backend.activationDType();
            x = arena.allocate(DType.F32, rows, d);
            xn = arena.allocate(act, rows, d);
            q = arena.allocate(act, rows, d);
            atty = arena.allocate(act, rows, d);
            tmp = arena.allocate(DType.F32, rows, d);
            h1 = arena.allocate(act, rows, hd);
            h3 = arena.allocate(act, rows, hd);
            hg = arena.allocate(act, rows, hd);
            kvRows = arena.allocate(act, 2, rows, kv);
            rstd = arena.allocate(DType.F32, rows);
            // gqaAttentionForward's (NH, n, n) for a block at position 0, gqaAttentionDecode's (NH, n, pos+n) for one
            // that continues a sequence: at most NH * rows * maxT floats
            att = arena.allocate(DType.F32, Backend.gqaAttentionDecodeScratchFloats(maxT - rows, rows, NH));
            zeroPos = arena.allocate(DType.F32, rows, d);   // the encoder's position table: Llama has none
            ops.zero(zeroPos);
            xf = arena.allocate(act, d);
            rstdf = arena.allocate(DType.F32, 1);
            ops.synchronize();   // the weights are copied: the caller may unmap their source now
        } catch (RuntimeException | OutOfMemoryError e) {
            super.close();   // not the owner: the caller still holds it
            throw e;
        }
    }

    public LlamaConfig config() { return c; }

    /** The weights (the backend's copy, unless borrowed), the K and V caches, and the working buffers (with host staging). */
    @Override
    public Map<String, Long> offHeapBytes() {
        long kv = cacheBytes(kCache, vCache);
        boolean lazy = cachesOutsideArena();
        long own = ownsWeights ? weights.ownedBytes() : 0;   // borrowed weights are counted by their owner
        Map<String, Long> m = new LinkedHashMap<>();
        if (ownsWeights) m.put("weights", own);
        m.put("kvCache", kv);
        m.put("scratch", arena.allocatedBytes() - own - (lazy ? 0 : kv) + hostArena.allocatedBytes());
        return m;
    }

    /** Runs tokensDev[0..n) at positions pos..pos+n through every layer; leaves the residual stream in x. */
    @Override
    protected void forwardRows(int n) {
        int d = c.dim(), kv = c.kvDim(), NH = c.heads(), NKV = c.kvHeads(), hs = c.headSize();
        int pos0 = pos;
        embed(tokensDev, n); // BackendLm checked them (checkToken)
        for (int l = 0; l < c.layers(); l++) {
            ops.rmsnormForward(xn, rstd, x, rmsAtt[l], n, d, eps);
            // keys and values go straight into the cache rows of their positions
            Tensor k = n == 1 ? kRow[l][pos0] : kCache[l].view((long) pos0 * kv, (long) n * kv);
            Tensor v = n == 1 ? vRow[l][pos0] : vCache[l].view((long) pos0 * kv, (long) n * kv);
            matmul(q, xn, wq[l], n, d, d);
            matmul(k, xn, wk[l], n, d, kv);
            matmul(v, xn, wv[l], n, d, kv);
            ops.ropeForward(q, cosFrom[pos0], sinFrom[pos0], 1, n, NH, hs);
            ops.ropeForward(k, cosFrom[pos0], sinFrom[pos0], 1, n, NKV, hs);
            if (pos0 == 0 && n > 1) {
                ops.gqaAttentionForward(atty, att, q, k, v, 1, n, NH, NKV, hs);
            } else {
                // one call for the whole block: row i attends over the cache's positions 0..pos0+i
                ops.gqaAttentionDecode(atty, att, q, kCache[l], vCache[l], pos0, n, NH, NKV, hs);
            }
            projectAndFfn(l, n);
        }
        pos += n;
        lastRows = n;
    }

    @Override
    protected boolean hasDeviceStep() {
        return true;
    }

    /**
     * One token whose id and position live in device memory (a CUDA graph replays this per token): the embedding
     * (no position table), the products, RoPE and the attention reading the position when they run; k and v go
     * through kvRows into the cache row the attention op writes.
     */
    @Override
    protected void forwardStepAt(Tensor token, Tensor position) {
        int d = c.dim(), kv = c.kvDim(), NH = c.heads(), NKV = c.kvHeads(), hs = c.headSize(), maxT = c.seqLen();
        dev.jgpt.backend.StepGraphs g = stepGraphs();
        embed(token, 1);
        Tensor kNew = newKeys(1), vNew = newValues(1);
        for (int l = 0; l < c.layers(); l++) {
            ops.rmsnormForward(xn, rstd, x, rmsAtt[l], 1, d, eps);
            matmul(q, xn, wq[l], 1, d, d);
            matmul(kNew, xn, wk[l], 1, d, kv);
            matmul(vNew, xn, wv[l], 1, d, kv);
            g.ropeForwardRowsAt(q, ropeCos, ropeSin, position, maxT, 1, NH, hs);
            g.ropeForwardRowsAt(kNew, ropeCos, ropeSin, position, maxT, 1, NKV, hs);
            oneK[0] = kCache[l];
            oneV[0] = vCache[l];
            g.gqaAttentionDecodeRowsAt(atty, att, q, kNew, vNew, oneK, oneV, position, maxT, 1, NH, NKV, hs);
            projectAndFfn(l, 1);
        }
        lastRows = 1;
    }

    private final Tensor[] oneK = new Tensor[1], oneV = new Tensor[1];

    /** A step's n new keys (kv_dim wide): the first half of kvRows. */
    private Tensor newKeys(int n) {
        return kvRows.view(0, (long) n * c.kvDim());
    }

    /** A step's n new values: the second half of kvRows. */
    private Tensor newValues(int n) {
        return kvRows.view(kvRows.numel() / 2, (long) n * c.kvDim());
    }

    /** The rest of layer l for n rows once attention has filled atty: x += wo(atty); x += w2(swiglu(w1 xn, w3 xn)), xn = rmsnorm(x). */
    private void projectAndFfn(int l, int n) {
        int d = c.dim(), hd = c.hiddenDim();
        matmul(tmp, atty, wo[l], n, d, d);
        ops.residualForward(x, x, tmp, n * d);
        ops.rmsnormForward(xn, rstd, x, rmsFfn[l], n, d, eps);
        matmul(h1, xn, w1[l], n, d, hd);
        matmul(h3, xn, w3[l], n, d, hd);
        ops.swigluForward(hg, h1, h3, n * hd);
        matmul(tmp, hg, w2[l], n, hd, d);
        ops.residualForward(x, x, tmp, n * d);
    }

    /** x (n, dim) = the embedding rows of the n token ids in {@code tokens} (device memory; checked by the caller). */
    private void embed(Tensor tokens, int n) {
        if (emb.values().dtype() == DType.F32) ops.encoderForwardCheckedIds(x, tokens, emb.values(), zeroPos, 1, n, c.dim());
        else ops.embeddingLookup(x, tokens, emb.values(), emb.scales(), weights.group, n, c.dim());
    }

    /** {@code out (n, OC) = in (n, C) . w^T}: the backend's product, or its q8 product for q8 weights. */
    private void matmul(Tensor out, Tensor in, Matrix w, int n, int C, int OC) {
        if (w.scales() == null) ops.matmulForward(out, in, w.values(), null, n, C, OC);
        else ops.matmulQ8Forward(out, in, w.values(), w.scales(), weights.group, n, C, OC);
    }

    /** Final RMSNorm and classifier of the last row of the last pass, left where the backend computes. */
    @Override
    protected void computeLogits() {
        Tensor last = lastRows == 1 ? x : x.slice(lastRows - 1);
        ops.rmsnormForward(xf, rstdf, last, rmsFinal, 1, c.dim(), eps);
        matmul(logits, xf, cls, 1, c.dim(), c.vocabSize());
    }

    // ---- batched decode (BackendLm.stepBatch): one step for several sequences over these weights ----

    /** Another sequence over these weights (borrowed: close it before this object, which may own them). */
    @Override
    public LlamaOpsInference newSequence() {
        return new LlamaOpsInference(ops, c, null, weights, DType.F32, 0, null);
    }

    @Override
    protected boolean sharesWeights(BackendLm other) {
        LlamaOpsInference o = (LlamaOpsInference) other;
        return o.weights.sameAs(weights) && o.c.equals(c);
    }

    @Override
    protected void forwardBatch(BackendLm[] seqs, int n) {
        int d = c.dim(), kv = c.kvDim(), NH = c.heads(), NKV = c.kvHeads(), hs = c.headSize();
        embed(tokensDev, n); // checked by stepBatchOnDevice; RoPE below, per row
        Tensor kNew = newKeys(n), vNew = newValues(n);
        for (int l = 0; l < c.layers(); l++) {
            ops.rmsnormForward(xn, rstd, x, rmsAtt[l], n, d, eps);
            matmul(q, xn, wq[l], n, d, d);
            matmul(kNew, xn, wk[l], n, d, kv);
            matmul(vNew, xn, wv[l], n, d, kv);
            ops.ropeForwardRows(q, ropeCos, ropeSin, batchPos, n, NH, hs);
            ops.ropeForwardRows(kNew, ropeCos, ropeSin, batchPos, n, NKV, hs);
            for (int i = 0; i < n; i++) {
                LlamaOpsInference s = (LlamaOpsInference) seqs[i];
                batchK[i] = s.kCache[l];
                batchV[i] = s.vCache[l];
            }
            ops.gqaAttentionDecodeRows(atty, att, q, kNew, vNew, batchK, batchV, batchPos, n, NH, NKV, hs);
            projectAndFfn(l, n);
        }
    }

    @Override
    protected boolean hasDeviceBatchStep() {
        return true;
    }

    @Override
    protected int cacheLayers() {
        return c.layers();
    }

    @Override
    protected Tensor cache(int layer, boolean value) {
        return value ? vCache[layer] : kCache[layer];
    }

    /** {@link #forwardBatch} with the rows' tokens, positions and caches read from the device row table when the ops run. */
    @Override
    protected void forwardBatchAt(int n, Tensor tokens, Tensor positions, Tensor[] caches) {
        int d = c.dim(), kv = c.kvDim(), NH = c.heads(), NKV = c.kvHeads(), hs = c.headSize(), maxT = c.seqLen();
        dev.jgpt.backend.StepGraphs g = stepGraphs();
        embed(tokens, n); // ids checked when staged; RoPE below, per row
        Tensor kNew = newKeys(n), vNew = newValues(n);
        for (int l = 0; l < c.layers(); l++) {
            ops.rmsnormForward(xn, rstd, x, rmsAtt[l], n, d, eps);
            matmul(q, xn, wq[l], n, d, d);
            matmul(kNew, xn, wk[l], n, d, kv);
            matmul(vNew, xn, wv[l], n, d, kv);
            g.ropeForwardRowsAt(q, ropeCos, ropeSin, positions, maxT, n, NH, hs);
            g.ropeForwardRowsAt(kNew, ropeCos, ropeSin, positions, maxT, n, NKV, hs);
            g.gqaAttentionDecodeRowsTable(atty, att, q, kNew, vNew, caches[l], positions, maxT, n, NH, NKV, hs);
            projectAndFfn(l, n);
        }
    }

    @Override
    protected void batchHead(Tensor out, int n) {
        ops.rmsnormForward(xn, rstd, x, rmsFinal, n, c.dim(), eps);
        matmul(out, xn, cls, n, c.dim(), c.vocabSize());
    }

    /** Frees the backend memory, then closes the owner (the backend this object was given to own). */
    @Override
    public void close() {
        boolean first = !closed;
        closed = true;
        super.close();
        if (first && owner != null) {
            try {
                owner.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
