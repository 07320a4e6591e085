package dev.jgpt.llama;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.DeviceTopK;
import dev.jgpt.generate.BackendLm;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Llama inference with a KV cache on any {@link Backend}: one sequence, token by token, over the contract's
 * ops (RMSNorm, RoPE, SwiGLU, grouped-query attention, matmul), so it decodes on {@code cuda} and
 * {@code reference} where {@link LlamaInference} (libjgpt, CPU only) cannot. The same pattern as
 * {@code Gpt2Inference}: float32 weights copied once into the backend's memory, the cache (layers, seq_len,
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

    private final Tensor weights;                               // llama2.c order, F32, on the backend
    private final boolean ownsWeights;                          // false: borrowed (a training model's parameters)
    private final Tensor emb, rmsFinal, cls;
    private final Tensor[] rmsAtt, wq, wk, wv, wo, rmsFfn, w1, w2, w3;   // per layer, views of weights
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
     * {@code backend}'s memory. {@code owner} (the backend, or null) is closed with this object.
     */
    public LlamaOpsInference(Backend backend, LlamaWeights w, AutoCloseable owner) {
        this(backend, w.config(), w, null, owner);
    }

    /**
     * Decoding over a training model's live parameters on its backend (borrowed, not copied: every prefill and
     * step reads the current values), for its samples during training.
     */
    public static LlamaOpsInference over(LlamaTrainModel model) {
        return new LlamaOpsInference(model.backend(), model.config(), null, model.deviceParameters(), null);
    }

    /** Exactly one of {@code w} (copied in) and {@code flat} (borrowed, llama2.c order on {@code backend}) is non-null. */
    private LlamaOpsInference(Backend backend, LlamaConfig config, LlamaWeights w, Tensor flat, AutoCloseable owner) {
        super(backend, config.vocabSize(), config.seqLen(), PREFILL_CHUNK);
        this.c = config;
        this.eps = (float) c.normEps();
        this.owner = owner;
        int L = c.layers(), d = c.dim(), kv = c.kvDim(), hd = c.hiddenDim(), NH = c.heads(), hs = c.headSize();
        int maxT = c.seqLen(), V = c.vocabSize(), half = hs / 2;
        try {
            long[] sizes = LlamaWeights.sizes(c);
            long total = 0;
            for (long s : sizes) total += s;
            long clsSize = c.sharedClassifier() ? 0 : (long) V * d;
            ownsWeights = flat == null;
            if (ownsWeights) {
                weights = arena.allocate(DType.F32, total + clsSize);
            } else {
                flat.requireAtLeast("parameters", DType.F32, total + clsSize);
                weights = flat;
            }
            MemorySegment[] src = ownsWeights ? w.inFileOrder() : null;
            Tensor[] part = new Tensor[sizes.length];
            long off = 0;
            for (int i = 0; i < sizes.length; i++) {
                part[i] = weights.view(off, sizes[i]);
                if (ownsWeights) ops.copy(part[i], Tensor.ofHost(src[i], DType.F32, sizes[i]));
                off += sizes[i];
            }
            emb = part[0];
            rmsFinal = part[10];
            if (clsSize > 0) {
                cls = weights.view(off, (long) V * d);
                if (ownsWeights) ops.copy(cls, Tensor.ofHost(w.wcls(), DType.F32, (long) V * d));
            } else {
                cls = emb;
            }
            ops.parametersAre(weights); // cuda bf16: decode products read the weights' bf16 copy, none converted per token
            rmsAtt = perLayer(part[1], d); wq = perLayer(part[2], (long) d * d); wk = perLayer(part[3], (long) kv * d);
            wv = perLayer(part[4], (long) kv * d); wo = perLayer(part[5], (long) d * d); rmsFfn = perLayer(part[6], d);
            w1 = perLayer(part[7], (long) hd * d); w2 = perLayer(part[8], (long) d * hd); w3 = perLayer(part[9], (long) hd * d);

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

    /** L views of {@code per} floats each over a stacked (L, ...) tensor. */
    private Tensor[] perLayer(Tensor stacked, long per) {
        Tensor[] out = new Tensor[c.layers()];
        for (int l = 0; l < out.length; l++) out[l] = stacked.view(l * per, per);
        return out;
    }

    public LlamaConfig config() { return c; }

    /** The weights (float32 copy on the backend, unless borrowed), the K and V caches, and the working buffers (with host staging). */
    @Override
    public Map<String, Long> offHeapBytes() {
        long kv = cacheBytes(kCache, vCache);
        boolean lazy = cachesOutsideArena();
        long own = ownsWeights ? weights.byteSize() : 0;   // borrowed weights are counted by their owner
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
        ops.encoderForwardCheckedIds(x, tokensDev, emb, zeroPos, 1, n, d); // BackendLm checked them (checkToken)
        for (int l = 0; l < c.layers(); l++) {
            ops.rmsnormForward(xn, rstd, x, rmsAtt[l], n, d, eps);
            // keys and values go straight into the cache rows of their positions
            Tensor k = n == 1 ? kRow[l][pos0] : kCache[l].view((long) pos0 * kv, (long) n * kv);
            Tensor v = n == 1 ? vRow[l][pos0] : vCache[l].view((long) pos0 * kv, (long) n * kv);
            ops.matmulForward(q, xn, wq[l], null, n, d, d);
            ops.matmulForward(k, xn, wk[l], null, n, d, kv);
            ops.matmulForward(v, xn, wv[l], null, n, d, kv);
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
        ops.encoderForwardCheckedIds(x, token, emb, zeroPos, 1, 1, d);
        Tensor kNew = newKeys(1), vNew = newValues(1);
        for (int l = 0; l < c.layers(); l++) {
            ops.rmsnormForward(xn, rstd, x, rmsAtt[l], 1, d, eps);
            ops.matmulForward(q, xn, wq[l], null, 1, d, d);
            ops.matmulForward(kNew, xn, wk[l], null, 1, d, kv);
            ops.matmulForward(vNew, xn, wv[l], null, 1, d, kv);
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
        ops.matmulForward(tmp, atty, wo[l], null, n, d, d);
        ops.residualForward(x, x, tmp, n * d);
        ops.rmsnormForward(xn, rstd, x, rmsFfn[l], n, d, eps);
        ops.matmulForward(h1, xn, w1[l], null, n, d, hd);
        ops.matmulForward(h3, xn, w3[l], null, n, d, hd);
        ops.swigluForward(hg, h1, h3, n * hd);
        ops.matmulForward(tmp, hg, w2[l], null, n, hd, d);
        ops.residualForward(x, x, tmp, n * d);
    }

    /** Final RMSNorm and classifier of the last row of the last pass, left where the backend computes. */
    @Override
    protected void computeLogits() {
        Tensor last = lastRows == 1 ? x : x.slice(lastRows - 1);
        ops.rmsnormForward(xf, rstdf, last, rmsFinal, 1, c.dim(), eps);
        ops.matmulForward(logits, xf, cls, null, 1, c.dim(), c.vocabSize());
    }

    // ---- batched decode (BackendLm.stepBatch): one step for several sequences over these weights ----

    /** Another sequence over these weights (borrowed: close it before this object, which may own them). */
    @Override
    public LlamaOpsInference newSequence() {
        return new LlamaOpsInference(ops, c, null, weights, null);
    }

    @Override
    protected boolean sharesWeights(BackendLm other) {
        LlamaOpsInference o = (LlamaOpsInference) other;
        return o.weights.data().equals(weights.data()) && o.c.equals(c);
    }

    @Override
    protected void forwardBatch(BackendLm[] seqs, int n) {
        int d = c.dim(), kv = c.kvDim(), NH = c.heads(), NKV = c.kvHeads(), hs = c.headSize();
        ops.encoderForwardCheckedIds(x, tokensDev, emb, zeroPos, 1, n, d); // checked by stepBatchOnDevice; RoPE below, per row
        Tensor kNew = newKeys(n), vNew = newValues(n);
        for (int l = 0; l < c.layers(); l++) {
            ops.rmsnormForward(xn, rstd, x, rmsAtt[l], n, d, eps);
            ops.matmulForward(q, xn, wq[l], null, n, d, d);
            ops.matmulForward(kNew, xn, wk[l], null, n, d, kv);
            ops.matmulForward(vNew, xn, wv[l], null, n, d, kv);
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
        ops.encoderForwardCheckedIds(x, tokens, emb, zeroPos, 1, n, d); // ids checked when staged; RoPE below, per row
        Tensor kNew = newKeys(n), vNew = newValues(n);
        for (int l = 0; l < c.layers(); l++) {
            ops.rmsnormForward(xn, rstd, x, rmsAtt[l], n, d, eps);
            ops.matmulForward(q, xn, wq[l], null, n, d, d);
            ops.matmulForward(kNew, xn, wk[l], null, n, d, kv);
            ops.matmulForward(vNew, xn, wv[l], null, n, d, kv);
            g.ropeForwardRowsAt(q, ropeCos, ropeSin, positions, maxT, n, NH, hs);
            g.ropeForwardRowsAt(kNew, ropeCos, ropeSin, positions, maxT, n, NKV, hs);
            g.gqaAttentionDecodeRowsTable(atty, att, q, kNew, vNew, caches[l], positions, maxT, n, NH, NKV, hs);
            projectAndFfn(l, n);
        }
    }

    @Override
    protected void batchHead(Tensor out, int n) {
        ops.rmsnormForward(xn, rstd, x, rmsFinal, n, c.dim(), eps);
        ops.matmulForward(out, xn, cls, null, n, c.dim(), c.vocabSize());
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
