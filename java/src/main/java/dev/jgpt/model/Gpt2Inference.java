package dev.jgpt.model;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.DeviceTopK;
import dev.jgpt.backend.StepGraphs;
import dev.jgpt.generate.BackendLm;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;

/**
 * GPT-2 inference with a KV cache: one sequence, token by token, on any {@link Backend}.
 *
 * <p>{@link #prefill} runs the new tokens through every layer as batched matrix products (in chunks
 * of at most {@link #PREFILL_CHUNK} rows), writing their keys and values straight into the cache;
 * attention then runs over the cache for the whole chunk in one {@link Backend#gqaAttentionDecode} call per
 * layer (NKV = NH; row i sees positions 0..pos+i), which handles a prefill that continues an existing
 * sequence (position &gt; 0) exactly. {@link #step} makes q, k and v of its one token in one product and hands
 * k and v to {@link Backend#gqaAttentionDecodeRows}, which writes them into the cache and attends (on cuda one
 * launch); every residual add is fused with the layernorm that reads it.
 * The logits are computed for the last position only.
 *
 * <p>On a backend whose tensors live on a device and that can pick the largest logits there
 * ({@link DeviceTopK}, the cuda backend), {@link #deviceLogits()} advances the sequence without copying
 * the V logits to the host; the generator then reads only the top k candidates.
 *
 * <p>Every buffer is allocated in the constructor (cache rows and position rows are pre-sliced):
 * nothing is allocated per token. The parameters are borrowed, not owned. What only products and the backend's
 * kernels read (the layernorm outputs, q, k, v and the KV cache, the attention output, the fc output and its GELU,
 * the final layernorm's output) is stored in the backend's {@link Backend#activationDType} (bf16 on cuda in bf16
 * mode: no rounding copy before those products, half the cache); the residual stream and the logits stay F32.
 */
public final class Gpt2Inference extends BackendLm {

    /**
     * Most tokens one batched prefill pass holds at once: bounds the working buffers and the attention scratch,
     * (NH, n, pos+n) probabilities of a chunk, NH * PREFILL_CHUNK * maxT floats at most.
     */
    public static final int PREFILL_CHUNK = 256;

    private final GptConfig cfg;
    private final ParameterTensors p;

    private final Tensor[] kCache, vCache;             // per layer (maxT, C)
    private final Tensor[] wpeRow;                     // [pos] wpe from row pos on
    private final Tensor[] wq, wk, wv, bq, bk, bv;     // per layer: the three thirds of qkvw / qkvb
    private final Tensor x, res, ln, q, atty, proj, fch, fchGelu, mean, rstd, att;
    private final Tensor lnf, lnfMean, lnfRstd;
    /** (rows, 3C): one token's q, k, v from one product, or a batched step's new keys and values. */
    private final Tensor qkvRows;
    /** One token's q, k, v (views of qkvRows), and the one-row arguments of its attention op. */
    private final Tensor qkvOne, qOne, kOne, vOne;
    private final Tensor[] oneK = new Tensor[1], oneV = new Tensor[1];
    private final int[] onePos = new int[1];

    /** Inference over {@code params} (a flat F32 buffer of {@link ParameterLayout#size()} on {@code backend}). */
    public Gpt2Inference(Backend backend, GptConfig config, Tensor params) {
        super(backend, config.vocabSize(), config.contextLength(), PREFILL_CHUNK);
        this.cfg = config;
        this.p = ParameterLayout.of(config).bind(params);
        backend.parametersAre(params); // cuda bf16: decode products read the weights' bf16 copy, none converted per token
        int L = config.layers(), C = config.channels(), maxT = config.contextLength();
        try {
            kCache = caches(L, C);
            vCache = caches(L, C);
            wq = new Tensor[L]; wk = new Tensor[L]; wv = new Tensor[L];
            bq = new Tensor[L]; bk = new Tensor[L]; bv = new Tensor[L];
            long CC = (long) C * C;
            for (int l = 0; l < L; l++) {
                Tensor w = p.qkvw(l), b = p.qkvb(l);
                wq[l] = w.view(0, C, C);
                wk[l] = w.view(CC, C, C);
                wv[l] = w.view(2 * CC, C, C);
                bq[l] = b.view(0, C);
                bk[l] = b.view(C, C);
                bv[l] = b.view(2L * C, C);
            }
            wpeRow = new Tensor[maxT];
            for (int t = 0; t < maxT; t++) wpeRow[t] = p.wpe().view((long) t * C, (long) (maxT - t) * C);
            DType act = backend.activationDType(); // what only products and the backend's kernels read
            x = arena.allocate(DType.F32, rows, C);
            res = arena.allocate(DType.F32, rows, C);
            ln = arena.allocate(act, rows, C);
            q = arena.allocate(act, rows, C);
            atty = arena.allocate(act, rows, C);
            proj = arena.allocate(DType.F32, rows, C);
            fch = arena.allocate(act, rows, 4L * C);
            fchGelu = arena.allocate(act, rows, 4L * C);
            qkvRows = arena.allocate(act, rows, 3L * C);
            qkvOne = qkvRows.view(0, 3L * C);
            qOne = qkvRows.view(0, C);
            kOne = qkvRows.view(C, C);
            vOne = qkvRows.view(2L * C, C);
            mean = arena.allocate(DType.F32, rows);
            rstd = arena.allocate(DType.F32, rows);
            // gqaAttentionDecode's (NH, n, pos+n) probabilities for a block of n <= rows at pos + n <= maxT
            att = arena.allocate(DType.F32, Backend.gqaAttentionDecodeScratchFloats(maxT - rows, rows, config.heads()));
            lnf = arena.allocate(act, C);
            lnfMean = arena.allocate(DType.F32, 1);
            lnfRstd = arena.allocate(DType.F32, 1);
        } catch (RuntimeException | OutOfMemoryError e) {
            close();
            throw e;
        }
    }

    /** Inference over a training model's current parameters (shared, not copied). */
    public static Gpt2Inference of(Gpt2 model) {
        return new Gpt2Inference(model.backend(), model.config(), model.params().flat());
    }

    public GptConfig config() { return cfg; }

    /**
     * The flat parameter buffer (borrowed, never owned): another {@code Gpt2Inference} over the same
     * buffer is a second sequence sharing the weights (the HTTP server's per-model sessions).
     */
    public Tensor params() { return p.flat(); }

    /** What this sequence owns: its KV cache and working buffers (the weights are borrowed, counted by their owner). */
    @Override
    public java.util.Map<String, Long> offHeapBytes() {
        long kv = cacheBytes(kCache, vCache);
        java.util.Map<String, Long> m = new java.util.LinkedHashMap<>();
        m.put("kvCache", kv);
        m.put("scratch", arena.allocatedBytes() - (cachesOutsideArena() ? 0 : kv) + hostArena.allocatedBytes());
        return m;
    }

    /** Runs tokensDev[0..n) at positions pos..pos+n through every layer; leaves the block output in x. */
    @Override
    protected void forwardRows(int n) {
        int C = cfg.channels(), NH = cfg.heads(), L = cfg.layers();
        int pos0 = pos;
        ops.encoderForwardCheckedIds(x, tokensDev, p.wte(), wpeRow[pos0], 1, n, C); // BackendLm checked them (checkToken)
        ops.layernormForward(ln, mean, rstd, x, p.ln1w(0), p.ln1b(0), n, C); // later layers' ln1: projectAndMlp
        for (int l = 0; l < L; l++) {
            if (n == 1) {
                // one token: q, k and v in one product; the attention op writes k and v into the cache row of this
                // position and attends over the cache
                ops.matmulForward(qkvOne, ln, p.qkvw(l), p.qkvb(l), 1, C, 3 * C);
                oneK[0] = kCache[l];
                oneV[0] = vCache[l];
                onePos[0] = pos0;
                ops.gqaAttentionDecodeRows(atty, att, qOne, kOne, vOne, oneK, oneV, onePos, 1, NH, NH, C / NH);
            } else {
                // keys and values go straight into the cache rows of their positions
                ops.matmulForward(q, ln, wq[l], bq[l], n, C, C);
                ops.matmulForward(kCache[l].view((long) pos0 * C, (long) n * C), ln, wk[l], bk[l], n, C, C);
                ops.matmulForward(vCache[l].view((long) pos0 * C, (long) n * C), ln, wv[l], bv[l], n, C, C);
                // the whole block in one call: GPT-2's cache rows (maxT, C) are the op's (maxT, NKV*hs) with NKV = NH
                ops.gqaAttentionDecode(atty, att, q, kCache[l], vCache[l], pos0, n, NH, NH, C / NH);
            }
            projectAndMlp(l, n, C);
        }
        pos += n;
        lastRows = n;
    }

    private int lastRows;

    @Override
    protected boolean hasDeviceStep() {
        return true;
    }

    /**
     * One token whose id and position live in device memory: the same ops as {@link #forwardRows}(1), with the
     * embedding and the attention reading the position when they run (graph-capturable: nothing here depends on it).
     */
    @Override
    protected void forwardStepAt(Tensor token, Tensor position) {
        int C = cfg.channels(), NH = cfg.heads(), L = cfg.layers(), maxT = cfg.contextLength();
        StepGraphs g = stepGraphs();
        g.encoderForwardRowsAt(x, token, p.wte(), p.wpe(), position, maxT, 1, C);
        ops.layernormForward(ln, mean, rstd, x, p.ln1w(0), p.ln1b(0), 1, C);
        for (int l = 0; l < L; l++) {
            ops.matmulForward(qkvOne, ln, p.qkvw(l), p.qkvb(l), 1, C, 3 * C);
            oneK[0] = kCache[l];
            oneV[0] = vCache[l];
            g.gqaAttentionDecodeRowsAt(atty, att, qOne, kOne, vOne, oneK, oneV, position, maxT, 1, NH, NH, C / NH);
            projectAndMlp(l, 1, C);
        }
        lastRows = 1;
    }

    /**
     * The rest of layer l for n rows once attention has filled atty: x += proj(atty); x += mlp(ln2(x)); then, below
     * the last layer, ln = ln1 of layer l+1 (each residual add fused with the layernorm that reads it).
     */
    private void projectAndMlp(int l, int n, int C) {
        ops.matmulForward(proj, atty, p.attprojw(l), p.attprojb(l), n, C, C);
        ops.residualLayernormForward(res, ln, mean, rstd, x, proj, p.ln2w(l), p.ln2b(l), n, C);
        ops.matmulForward(fch, ln, p.fcw(l), p.fcb(l), n, C, 4 * C);
        ops.geluForward(fchGelu, fch, n * 4 * C);
        ops.matmulForward(proj, fchGelu, p.fcprojw(l), p.fcprojb(l), n, 4 * C, C);
        if (l + 1 < cfg.layers()) {
            ops.residualLayernormForward(x, ln, mean, rstd, res, proj, p.ln1w(l + 1), p.ln1b(l + 1), n, C);
        } else {
            ops.residualForward(x, res, proj, n * C);
        }
    }

    // ---- batched decode (BackendLm.stepBatch): one step for several sequences over these weights ----

    @Override
    public Gpt2Inference newSequence() {
        return new Gpt2Inference(ops, cfg, p.flat());
    }

    @Override
    protected boolean sharesWeights(BackendLm other) {
        Gpt2Inference o = (Gpt2Inference) other;
        return o.p.flat().data().equals(p.flat().data()) && o.cfg.equals(cfg);
    }

    @Override
    protected void forwardBatch(BackendLm[] seqs, int n) {
        int C = cfg.channels(), NH = cfg.heads(), L = cfg.layers();
        ops.encoderForwardRows(x, tokensDev, p.wte(), p.wpe(), batchPos, n, C);
        Tensor kNew = newKeys(n), vNew = newValues(n);
        ops.layernormForward(ln, mean, rstd, x, p.ln1w(0), p.ln1b(0), n, C); // later layers' ln1: projectAndMlp
        for (int l = 0; l < L; l++) {
            ops.matmulForward(q, ln, wq[l], bq[l], n, C, C);
            ops.matmulForward(kNew, ln, wk[l], bk[l], n, C, C);
            ops.matmulForward(vNew, ln, wv[l], bv[l], n, C, C);
            for (int i = 0; i < n; i++) {
                Gpt2Inference s = (Gpt2Inference) seqs[i];
                batchK[i] = s.kCache[l];
                batchV[i] = s.vCache[l];
            }
            ops.gqaAttentionDecodeRows(atty, att, q, kNew, vNew, batchK, batchV, batchPos, n, NH, NH, C / NH);
            projectAndMlp(l, n, C);
        }
    }

    /** A batched step's n new keys (C wide) in qkvRows. */
    private Tensor newKeys(int n) {
        return qkvRows.view(0, (long) n * cfg.channels());
    }

    /** A batched step's n new values, after the rows' worth of keys in qkvRows. */
    private Tensor newValues(int n) {
        long rowsC = qkvRows.numel() / 3;
        return qkvRows.view(rowsC, (long) n * cfg.channels());
    }

    @Override
    protected boolean hasDeviceBatchStep() {
        return hasDeviceStep();
    }

    @Override
    protected int cacheLayers() {
        return cfg.layers();
    }

    @Override
    protected Tensor cache(int layer, boolean value) {
        return value ? vCache[layer] : kCache[layer];
    }

    /** {@link #forwardBatch} with the rows' tokens, positions and caches read from the device row table when the ops run. */
    @Override
    protected void forwardBatchAt(int n, Tensor tokens, Tensor positions, Tensor[] caches) {
        int C = cfg.channels(), NH = cfg.heads(), L = cfg.layers(), maxT = cfg.contextLength();
        StepGraphs g = stepGraphs();
        g.encoderForwardRowsAt(x, tokens, p.wte(), p.wpe(), positions, maxT, n, C);
        Tensor kNew = newKeys(n), vNew = newValues(n);
        ops.layernormForward(ln, mean, rstd, x, p.ln1w(0), p.ln1b(0), n, C);
        for (int l = 0; l < L; l++) {
            ops.matmulForward(q, ln, wq[l], bq[l], n, C, C);
            ops.matmulForward(kNew, ln, wk[l], bk[l], n, C, C);
            ops.matmulForward(vNew, ln, wv[l], bv[l], n, C, C);
            g.gqaAttentionDecodeRowsTable(atty, att, q, kNew, vNew, caches[l], positions, maxT, n, NH, NH, C / NH);
            projectAndMlp(l, n, C);
        }
    }

    @Override
    protected void batchHead(Tensor out, int n) {
        int C = cfg.channels();
        ops.layernormForward(ln, mean, rstd, x, p.lnfw(), p.lnfb(), n, C);
        ops.matmulForward(out, ln, p.wte(), null, n, C, cfg.vocabSize());
    }

    /** Final layernorm and logits (left where the backend computes them) of the last row of the last pass only. */
    @Override
    protected void computeLogits() {
        int C = cfg.channels();
        Tensor last = lastRows == 1 ? x : x.slice(lastRows - 1);
        ops.layernormForward(lnf, lnfMean, lnfRstd, last, p.lnfw(), p.lnfb(), 1, C);
        ops.matmulForward(logits, lnf, p.wte(), null, 1, C, cfg.vocabSize());
    }
}
