package dev.jgpt.llama;

import dev.jgpt.JgptException;
import dev.jgpt.backend.Backend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Random;

import static dev.jgpt.llama.LoraSpec.Target.DOWN;
import static dev.jgpt.llama.LoraSpec.Target.GATE;
import static dev.jgpt.llama.LoraSpec.Target.K;
import static dev.jgpt.llama.LoraSpec.Target.O;
import static dev.jgpt.llama.LoraSpec.Target.Q;
import static dev.jgpt.llama.LoraSpec.Target.UP;
import static dev.jgpt.llama.LoraSpec.Target.V;

/**
 * Training of a Llama-style model (RMSNorm, RoPE, SwiGLU, grouped-query attention), llm.c style:
 * one flat parameter buffer in llama2.c's weight order (so {@link #writeLlama2c} is one write through
 * {@link Llama2cCheckpoint#write}), explicit per-layer forward and backward, everything allocated in
 * the constructor — including every per-layer view, so a training step allocates nothing.
 *
 * <p>Every layer goes through the {@link Backend} contract: matrix products, the token embedding,
 * RMSNorm, RoPE, SwiGLU, grouped-query causal attention, residual adds, the fused classifier, the
 * gradient norm and AdamW, so the model runs on any backend: {@code reference}, {@code cpu} and
 * {@code cuda} (the last checked only through the stand-in driver so far, see docs/llama.md).
 *
 * <p>{@link #parameters()}, {@link #weights()} and {@link #gradients()} are host memory. On a device
 * backend they are host mirrors: {@link #parameters()}/{@link #weights()} bring the device's values
 * down when an AdamW step changed them, and whatever the caller writes into the mirror goes up
 * before the next forward or AdamW step. Call them again after training steps to see new values;
 * {@link #gradients()} copies the device's gradients down on every call.
 *
 * <p>Layout of the flat buffer (floats, llama2.c order): token embedding (V,d), rms_att (L,d),
 * wq (L,d,d), wk (L,kv,d), wv (L,kv,d), wo (L,d,d), rms_ffn (L,d), w1 (L,h,d), w2 (L,d,h),
 * w3 (L,h,d), rms_final (d), then the classifier (V,d) only when it is not shared.
 *
 * <p>With a {@link LoraSpec} the model is fine-tuned by LoRA: these weights are frozen (no gradient buffer, no AdamW
 * moments, no weight-gradient products), and {@link LoraAdapters} add their low-rank products to the adapted
 * matrices' outputs; gradients, the gradient norm, AdamW and the optimizer state are the adapters'. With
 * {@link GgufFrozenMatrices} as well, the seven matrices of every layer are not in the flat buffer at all: they stay in
 * a GGUF file's blocks and every product with them decodes tiles of rows (the flat buffer holds the embedding, the
 * norms and the classifier).
 */
public final class LlamaTrainModel implements AutoCloseable, dev.jgpt.train.TrainableModel, dev.jgpt.memory.MemoryAccounted {

    /** Index of each tensor in the flat buffer: llama2.c's file order. */
    private static final int EMB = 0, RMS_ATT = 1, WQ = 2, WK = 3, WV = 4, WO = 5, RMS_FFN = 6, W1 = 7, W2 = 8,
            W3 = 9, RMS_FINAL = 10, WCLS = 11;
    /** Which tensors get AdamW's weight decay (matrices and embeddings, never RMSNorm weights). */
    private static final boolean[] DECAY = {true, false, true, true, true, true, false, true, true, true, false, true};

    /** One layer's weights (or their gradients): views into a flat buffer, made once. */
    private record Layer(Tensor rmsAtt, Tensor wq, Tensor wk, Tensor wv, Tensor wo, Tensor rmsFfn, Tensor w1,
                         Tensor w2, Tensor w3) {}

    private final Backend ops;
    private final LlamaConfig c;
    private final int maxB, maxT;
    private final float eps;
    private final TensorArena arena;
    private final TensorArena hostArena;
    private final long parameterCount;
    private final long[] offsets = new long[12], sizes = new long[12];

    private final Tensor params, grads;           // grads: null when LoRA freezes the weights
    private final LoraAdapters lora;              // null: every weight trains
    private final GgufFrozenMatrices frozen;      // null: the matrices are in params
    private final Tensor hostParams, hostGrads;   // == params, grads on host backends; mirrors on a device
    private boolean hostStale;                    // the device changed params since the mirror was refreshed
    private boolean deviceStale;                  // the mirror was handed out (or written) since the last upload
    private final Tensor[] paramViews = new Tensor[12], gradViews = new Tensor[12];
    private final Layer[] p, g;                   // per layer, into params and grads
    private final Tensor cls, dcls;               // the classifier (the embedding when shared) and its gradient
    private Tensor m, v;
    private Tensor[] mViews, vViews;
    private int step;

    // activations, one (maxB*maxT, width) view per layer; the ops take N/B/T, so views may be larger than used
    private final Tensor[] resid;      // L+1: residual stream at each layer's input, last = final
    private final Tensor[] mid;        // residual stream after attention
    private final Tensor[] xn1, xn2;   // RMSNorm outputs (these, q, k, vv, atty, h1, h3, hg and xf: Backend.activationDType)
    private final Tensor[] rstd1, rstd2;
    private final Tensor[] q, k, vv;   // (N, d), (N, kv), (N, kv); q and k after RoPE
    // (B, NH, T, T) attention probabilities, or the backend's smaller state for its backward where it keeps none
    // (cuda's fused attention: Backend.gqaAttentionStateFloats / gqaAttentionKeepsProbabilities)
    private final Tensor[] att;
    /**
     * Whether every layer's att is one shared buffer, the probabilities recomputed (one more attention forward per
     * layer) just before each layer's backward: where keeping them for every layer would take more than
     * {@link #KEEP_ATTENTION_BYTES} (B x heads x T^2 floats a layer: 3 GB for a 1.1B Llama at 4 x 512).
     */
    private final boolean recomputeAttention;
    /** Above this, attention's probabilities are recomputed in the backward rather than kept for every layer. */
    static final long KEEP_ATTENTION_BYTES = 256L << 20;
    private final Tensor[] atty;       // (N, d)
    private final Tensor[] h1, h3, hg; // (N, hidden): gate pre-activation, up, silu(gate) * up
    private final Tensor tmp;          // (N, d)
    private final Tensor xf, rstdf;    // final RMSNorm output (N, d), (N)
    private final Tensor ropeCos, ropeSin; // (maxT, hs/2) on the backend
    private final Tensor normSink;         // LoRA: where RMSNorm's backward puts the frozen weights' gradient
    private final Tensor losses, scratch, tokensBuf, targetsBuf, zeroPos, dzeroPos;
    private final Tensor tokensHost, targetsHost;  // int[] inputs are checked here before the copy
    // backward buffers
    private final Tensor dres, dxn, datty, dq, dk, dv, dhg, dh1, dh3, datt;
    /** dres's bf16 copy for the w2 and wo backward products where activations are bf16 (RMSNorm's backward writes it); else null. */
    private final Tensor dresCopy;

    // views of tokensBuf/targetsBuf of the last batch's B*T (remade only when B*T changes)
    private Tensor tokensN, targetsN;
    private int curB, curT;
    private int targetCount;

    public LlamaTrainModel(Backend backend, LlamaConfig config, int maxBatch, int maxSeq) {
        this(backend, config, maxBatch, maxSeq, null);
    }

    /** A model whose weights stay frozen while LoRA adapters of {@code lora} train (null: full training). */
    public LlamaTrainModel(Backend backend, LlamaConfig config, int maxBatch, int maxSeq, LoraSpec lora) {
        this(backend, config, maxBatch, maxSeq, lora, null);
    }

    /**
     * A LoRA model whose frozen matrices are {@code frozen}'s GGUF blocks (owned: closed with the model), or with
     * {@code frozen} null, in the flat buffer. Blocks need LoRA (nothing else could train them) and host tensors.
     */
    public LlamaTrainModel(Backend backend, LlamaConfig config, int maxBatch, int maxSeq, LoraSpec lora, GgufFrozenMatrices frozen) {
        this(backend, config, maxBatch, maxSeq, lora, frozen, null);
    }

    /** {@code recompute}: null decides by {@link #KEEP_ATTENTION_BYTES}; true / false force it (tests). */
    LlamaTrainModel(Backend backend, LlamaConfig config, int maxBatch, int maxSeq, LoraSpec lora, GgufFrozenMatrices frozen,
                    Boolean recompute) {
        try {
            checkArguments(backend, config, maxBatch, maxSeq, lora, frozen);
        } catch (RuntimeException e) {
            if (frozen != null) frozen.close(); // owned, even when refused
            throw e;
        }
        this.frozen = frozen;
        this.ops = backend;
        this.c = config;
        this.maxB = maxBatch;
        this.maxT = maxSeq;
        this.eps = (float) config.normEps();
        long[] s = LlamaWeights.sizes(c);
        long off = 0;
        for (int i = 0; i < 12; i++) {
            sizes[i] = i < s.length ? s[i] : (c.sharedClassifier() ? 0 : (long) c.vocabSize() * c.dim());
            if (frozen != null && part(i) >= 0) sizes[i] = 0; // in the GGUF blocks
            offsets[i] = off;
            off += sizes[i];
        }
        parameterCount = off;
        arena = backend.newArena();
        hostArena = TensorArena.host();
        try {
            params = arena.allocate(DType.F32, parameterCount);
            if (frozen != null && !params.isHost()) {
                throw new JgptException("matrices frozen in GGUF blocks are multiplied on the cpu backend, not " + backend.name());
            }
            grads = lora == null ? arena.allocate(DType.F32, parameterCount) : null;
            hostParams = params.isHost() ? params : hostArena.allocate(DType.F32, parameterCount);
            hostGrads = grads == null || grads.isHost() ? grads : hostArena.allocate(DType.F32, parameterCount);
            int L = c.layers(), d = c.dim(), kv = c.kvDim(), hd = c.hiddenDim(), NH = c.heads(), hs = c.headSize();
            // frozen weights: RMSNorm's backward still writes a weight gradient, into one d-float sink nobody reads
            normSink = lora == null ? null : arena.allocate(DType.F32, d);
            for (int i = 0; i < 12; i++) {
                paramViews[i] = params.view(offsets[i], sizes[i]);
                gradViews[i] = grads == null ? null : grads.view(offsets[i], sizes[i]);
            }
            p = layers(params);
            g = grads != null ? layers(grads) : frozenLayers(L, normSink);
            backend.parametersAre(params); // cuda bf16: products read a bf16 copy of it that AdamW keeps current
            cls = paramViews[c.sharedClassifier() ? EMB : WCLS];
            dcls = grads == null ? null : gradViews[c.sharedClassifier() ? EMB : WCLS];
            long N = (long) maxB * maxT;
            // what only products and the backend's kernels read in the backend's activation type (bf16 on cuda in bf16
            // mode: the RMSNorm outputs, q, k, v and the attention output, the gate and up products and their SwiGLU,
            // the final RMSNorm's output, the classifier's logits chunk; and the gradients d(attention output), dq, dk, dv,
            // d(SwiGLU), d(gate), d(up))
            DType act = backend.activationDType();
            resid = perLayer(L + 1, N * d);
            mid = perLayer(L, N * d);
            xn1 = perLayer(act, L, N * d);
            xn2 = perLayer(act, L, N * d);
            rstd1 = perLayer(L, N);
            rstd2 = perLayer(L, N);
            q = perLayer(act, L, N * d);
            k = perLayer(act, L, N * kv);
            vv = perLayer(act, L, N * kv);
            long state = backend.gqaAttentionStateFloats(maxB, maxT, NH, c.kvHeads(), hs);
            recomputeAttention = recompute != null ? recompute
                    : backend.gqaAttentionKeepsProbabilities(maxB, maxT, NH, c.kvHeads(), hs) && 4 * state * L > KEEP_ATTENTION_BYTES;
            if (recomputeAttention) {
                att = new Tensor[L];
                java.util.Arrays.fill(att, arena.allocate(DType.F32, state));
            } else {
                att = perLayer(L, state);
            }
            atty = perLayer(act, L, N * d);
            h1 = perLayer(act, L, N * hd);
            h3 = perLayer(act, L, N * hd);
            hg = perLayer(act, L, N * hd);
            tmp = arena.allocate(DType.F32, N * d);
            xf = arena.allocate(act, N * d);
            rstdf = arena.allocate(DType.F32, N);
            losses = arena.allocate(DType.F32, N);
            scratch = arena.allocate(act, backend.classifierRows(N, c.vocabSize()), backend.classifierRowStride(c.vocabSize()));
            tokensBuf = arena.allocate(DType.I32, N);
            targetsBuf = arena.allocate(DType.I32, N);
            tokensHost = hostArena.allocate(DType.I32, N);
            targetsHost = hostArena.allocate(DType.I32, N);
            zeroPos = arena.allocate(DType.F32, maxT, d);
            dzeroPos = arena.allocate(DType.F32, maxT, d);
            dres = arena.allocate(DType.F32, N * d);
            dresCopy = act == DType.F32 ? null : arena.allocate(act, N * d);
            dxn = arena.allocate(DType.F32, N * d);
            // attention's gradients, which only the attention backward, RoPE's backward and the q/k/v products read
            datty = arena.allocate(act, N * d);
            dq = arena.allocate(act, N * d);
            dk = arena.allocate(act, N * kv);
            dv = arena.allocate(act, N * kv);
            // SwiGLU's gradients: written by the w2 backward product and SwiGLU's backward, read by it and the w1/w3 products
            dhg = arena.allocate(act, N * hd);
            dh1 = arena.allocate(act, N * hd);
            dh3 = arena.allocate(act, N * hd);
            datt = arena.allocate(DType.F32, backend.gqaAttentionScratchFloats(maxB, maxT, NH, c.kvHeads(), hs));
            ropeCos = arena.allocate(DType.F32, maxT, hs / 2);
            ropeSin = arena.allocate(DType.F32, maxT, hs / 2);
            Tensor hc = hostArena.allocate(DType.F32, maxT, hs / 2), hsn = hostArena.allocate(DType.F32, maxT, hs / 2);
            Backend.ropeTables(hc, hsn, maxT, hs, c.ropeTheta());
            ops.copy(ropeCos, hc);
            ops.copy(ropeSin, hsn);
            ops.zero(zeroPos);
            this.lora = lora == null ? null : new LoraAdapters(backend, c, lora, N); // last: nothing after it can fail
        } catch (RuntimeException e) {
            arena.close();
            hostArena.close();
            if (frozen != null) frozen.close();
            throw e;
        }
    }

    private static void checkArguments(Backend backend, LlamaConfig config, int maxBatch, int maxSeq, LoraSpec lora,
                                       GgufFrozenMatrices frozen) {
        if (frozen != null && (lora == null || !frozen.config().equals(config))) {
            throw new IllegalArgumentException("matrices frozen in GGUF blocks need LoRA and the same shape");
        }
        if (maxBatch <= 0 || maxSeq <= 0) throw new JgptException("batch and sequence length must be positive");
        if (maxSeq > config.seqLen()) {
            throw new JgptException("sequence length " + maxSeq + " exceeds the model's seq_len " + config.seqLen());
        }
        if (lora != null && backend.activationDType() != DType.F32) {
            throw new JgptException("LoRA fine-tuning runs in float32; the " + backend.name() + " backend's "
                    + backend.activationDType() + " activations are not supported with it yet");
        }
    }

    /** Where tensor {@code i} (file order) is among the seven matrices of a layer (0 wq .. 6 w3), or -1. */
    private static int part(int i) {
        LoraSpec.Target t = LoraSpec.Target.ofFileIndex(i);
        return t == null ? -1 : t.part;
    }

    /** {@code out (N, OC) = inp (N, C) W^T} for layer l's matrix i: the flat buffer's view w, or the GGUF blocks. */
    private void product(int i, int l, Tensor out, Tensor inp, Tensor w, int N, int C, int OC) {
        if (frozen != null) frozen.forward(out, inp, part(i), l, N, OC, C);
        else ops.matmulForward(out, inp, w, null, N, C, OC);
    }

    /** Its backward: {@code dinp (+)= dout W} (overwritten where {@code overwrite}), and dweight (null: frozen). */
    private void productBackward(int i, int l, Tensor dinp, boolean overwrite, Tensor dweight, Tensor dout, Tensor inp, Tensor w,
                                 int N, int C, int OC) {
        if (frozen != null) frozen.backwardInput(dinp, dout, part(i), l, N, OC, C, overwrite);
        else if (overwrite) ops.matmulBackwardOverwrite(dinp, dweight, null, dout, inp, w, N, C, OC);
        else ops.matmulBackward(dinp, dweight, null, dout, inp, w, N, C, OC);
    }

    /** The gradient views of a frozen model: no matrix gradients (the products skip them), RMSNorm's into the sink. */
    private static Layer[] frozenLayers(int L, Tensor sink) {
        Layer[] out = new Layer[L];
        for (int l = 0; l < L; l++) out[l] = new Layer(sink, null, null, null, null, sink, null, null, null);
        return out;
    }

    /** The per-layer weight views of a flat buffer laid out like the parameters. */
    private Layer[] layers(Tensor flat) {
        int L = c.layers();
        long d = c.dim(), kv = c.kvDim(), hd = c.hiddenDim();
        Layer[] out = new Layer[L];
        for (int l = 0; l < L; l++) {
            out[l] = frozen != null // the matrices are in the GGUF blocks
                    ? new Layer(slice(flat, RMS_ATT, l, d), null, null, null, null, slice(flat, RMS_FFN, l, d), null, null, null)
                    : new Layer(slice(flat, RMS_ATT, l, d), slice(flat, WQ, l, d * d), slice(flat, WK, l, kv * d),
                    slice(flat, WV, l, kv * d), slice(flat, WO, l, d * d), slice(flat, RMS_FFN, l, d),
                    slice(flat, W1, l, hd * d), slice(flat, W2, l, d * hd), slice(flat, W3, l, hd * d));
        }
        return out;
    }

    private Tensor slice(Tensor flat, int i, int l, long per) {
        return flat.view(offsets[i] + l * per, per);
    }

    /** {@code count} tensors of {@code per} floats each, views into one allocation. */
    private Tensor[] perLayer(int count, long per) {
        return perLayer(DType.F32, count, per);
    }

    /** {@code count} tensors of {@code per} elements of {@code type} each, views into one allocation. */
    private Tensor[] perLayer(DType type, int count, long per) {
        Tensor all = arena.allocate(type, count, per);
        Tensor[] out = new Tensor[count];
        for (int l = 0; l < count; l++) out[l] = all.view(l * per, per);
        return out;
    }

    public LlamaConfig config() { return c; }
    @Override public int layers() { return c.layers(); }
    @Override public int channels() { return c.dim(); }
    @Override public String describe() {
        return "llama " + c + (lora == null ? "" : ", " + lora.spec() + (frozen == null ? " (weights frozen)"
                : String.format(" (matrices frozen in the GGUF file's %s blocks, %.1f MB)", frozen.types(), frozen.bytes() / 1e6)));
    }
    @Override public Tensor optimizerM() { return lora != null ? lora.optimizerM() : m; }
    @Override public Tensor optimizerV() { return lora != null ? lora.optimizerV() : v; }

    /** The LoRA adapters being trained, or null when every weight trains. */
    public LoraAdapters lora() { return lora; }

    public Backend backend() { return ops; }

    /** Whether the parameters live in a device's memory ({@link #parameters()} is then a host mirror). */
    public boolean onDevice() { return !params.isHost(); }

    /** Trainable parameters: every weight, or with LoRA the adapters' (the frozen weights: {@link #frozenParameterCount}). */
    public long parameterCount() { return lora != null ? lora.parameterCount() : parameterCount; }

    /** Weights that take part in every product but do not train (all of them under LoRA). */
    @Override
    public long frozenParameterCount() { return lora == null ? 0 : frozen != null ? c.parameterCount() : parameterCount; }


    /**
     * Parameters, gradients, AdamW moments (after the first step) and the rest of the backend arena
     * (activations and working buffers), plus the host arena (token staging, RoPE tables, and on a device
     * backend the host mirrors of parameters and gradients).
     */
    @Override
    public java.util.Map<String, Long> offHeapBytes() {
        java.util.Map<String, Long> out = new java.util.LinkedHashMap<>();
        long one = params.byteSize();
        if (lora != null) {
            long a = lora.parameterBytes(), opt = lora.optimizerM() == null ? 0 : 2 * a;
            out.put("params", one + a);
            out.put("grads", a);
            out.put("optimizer", opt);
            out.put("activations", arena.allocatedBytes() - one + lora.allocatedBytes() - 2 * a - opt);
        } else {
            long opt = m == null ? 0 : 2 * one;
            out.put("params", one);
            out.put("grads", one);
            out.put("optimizer", opt);
            out.put("activations", arena.allocatedBytes() - 2 * one - opt);
        }
        out.put("hostStaging", hostArena.allocatedBytes());
        if (frozen != null) out.put("weightsMapped", frozen.bytes());
        return out;
    }

    /** The flat parameter buffer (host; on a device backend its mirror, see the class comment), llama2.c's order. */
    public Tensor parameters() {
        if (hostParams != params) {
            if (hostStale) ops.copy(hostParams, params);
            hostStale = false;
            deviceStale = true;   // the caller may write into it
        }
        return hostParams;
    }

    /**
     * The flat gradient buffer (host; copied down from a device backend on each call), layout of {@link #parameters()};
     * with LoRA the adapters' gradients, in their layout.
     */
    public Tensor gradients() {
        if (lora != null) return lora.gradients();
        if (hostGrads != grads) ops.copy(hostGrads, grads);
        return hostGrads;
    }

    /**
     * The parameters where the backend computes on them (the device copy on cuda), with any writes into the host
     * mirror uploaded first: for {@link LlamaOpsInference#over}, which decodes over them in place.
     */
    Tensor deviceParameters() {
        uploadParameters();
        return params;
    }

    /** On a device backend: the caller's writes into the host mirror go up before the device reads params. */
    private void uploadParameters() {
        if (deviceStale) {
            ops.copy(params, hostParams);
            deviceStale = false;
        }
    }

    public int optimizerStep() { return step; }

    public void setOptimizerStep(int s) { step = s; }

    /** llama2.c-ordered views of the parameters (the classifier is the embedding when shared). */
    public LlamaWeights weights() {
        MemorySegment seg = parameters().data();
        MemorySegment[] t = new MemorySegment[12];
        for (int i = 0; i < 12; i++) t[i] = seg.asSlice(offsets[i] * 4, sizes[i] * 4);
        MemorySegment cls = c.sharedClassifier() ? t[EMB] : t[WCLS];
        return new LlamaWeights(c, t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10], cls);
    }

    /**
     * Writes the parameters as a llama2.c checkpoint that run.c (and {@link LlamaInference}) can load; with LoRA the
     * adapters merged into the matrices they adapt ({@code W + scale B A}), one layer's matrix at a time.
     */
    public void writeLlama2c(Path file) {
        ops.synchronize();
        if (lora == null) {
            Llama2cCheckpoint.write(file, weights());
            return;
        }
        Tensor adapters = lora.host();
        Llama2cCheckpoint.write(file, weights(), (fileIndex, layer, w) -> {
            if (frozen != null) frozen.decode(part(fileIndex), layer, w); // the copy starts from the blocks
            LoraSpec.Target t = LoraSpec.Target.ofFileIndex(fileIndex);
            if (t != null && lora.adapts(t)) lora.addDelta(adapters, layer, t, w);
        });
    }

    /**
     * Deterministic init (java.util.Random): N(0, 0.02) for the embedding, classifier and matrices,
     * N(0, 0.02/sqrt(2L)) for the residual projections wo and w2, RMSNorm weights 1.
     */
    public void initWeights(long seed) {
        Tensor host = parameters();
        Random r = new Random(seed);
        double resScale = 0.02 / Math.sqrt(2.0 * c.layers());
        for (int i = 0; i < 12; i++) {
            boolean norm = i == RMS_ATT || i == RMS_FFN || i == RMS_FINAL;
            double std = (i == WO || i == W2) ? resScale : 0.02;
            for (long j = 0; j < sizes[i]; j++) {
                host.setFloat(offsets[i] + j, norm ? 1f : (float) (r.nextGaussian() * std));
            }
        }
        step = 0;
    }

    public void zeroGrad() {
        if (lora != null) lora.zeroGrad();
        else ops.zero(grads);
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
            tokensHost.setInt(i, tokens[i]);
            if (targets != null) targetsHost.setInt(i, targets[i]);
        }
        load(tokensHost, targets == null ? null : targetsHost, B, T);
    }

    /** Checks the ids on the host (one clear error before any kernel reads them), then copies them in. */
    private void load(Tensor tokens, Tensor targets, int B, int T) {
        checkBatch(B, T);
        int N = B * T;
        tokens.requireAtLeast("tokens", DType.I32, N);
        if (!tokens.isHost() || (targets != null && !targets.isHost())) {
            throw new IllegalArgumentException("tokens and targets must be host tensors");
        }
        targetCount = 0;
        for (int i = 0; i < N; i++) checkToken("token", tokens.getInt(i), i, T);
        if (targets != null) {
            targets.requireAtLeast("targets", DType.I32, N);
            for (int i = 0; i < N; i++) {
                int tg = targets.getInt(i);
                if (tg >= 0) {
                    checkToken("target", tg, i, T);
                    targetCount++;
                }
            }
        }
        uploadParameters();
        if (tokensN == null || tokensN.numel() != N) {
            tokensN = tokensBuf.first(N);
            targetsN = targetsBuf.first(N);
        }
        ops.copy(tokensN, tokens.first(N));
        if (targets != null) ops.copy(targetsN, targets.first(N));
    }

    /** The forward (and the classifier's backward) on the ids in tokensBuf / targetsBuf. */
    private float run(int B, int T, boolean hasTargets, boolean backward) {
        int N = B * T;
        curB = B;
        curT = T;
        forwardBlocks(B, T);
        if (!hasTargets) return Float.NaN;
        if (backward) ops.zero(dres);   // all targets ignored: no gradient flows
        if (targetCount == 0) return 0f;
        float scale = 1f / targetCount;
        double sum = ops.classifier(losses, dres, dcls, xf, cls, targetsBuf, scratch, N, c.dim(), c.vocabSize(),
                scale, backward);
        return (float) (sum / targetCount);
    }

    private void checkToken(String what, int id, int i, int T) {
        if (id < 0 || id >= c.vocabSize()) {
            throw new JgptException(what + " " + id + " at position " + i + " (sequence " + i / T + ", index "
                    + i % T + ") is outside the vocabulary [0, " + c.vocabSize() + ")");
        }
    }

    /**
     * Logits (B*T, V) of the last forward into {@code out}: a tensor of this backend, or a host tensor
     * (on a device backend the logits are then computed into a device buffer made on first use and copied down).
     */
    public void logits(Tensor out) {
        int N = curB * curT;
        long nv = (long) N * c.vocabSize();
        if (out.isHost() == params.isHost()) {
            ops.matmulForward(out, xf, cls, null, N, c.dim(), c.vocabSize());
            return;
        }
        out.requireAtLeast("out", DType.F32, nv);
        if (logitsDevice == null) logitsDevice = arena.allocate(DType.F32, (long) maxB * maxT, c.vocabSize());
        Tensor dev = logitsDevice.view(0, nv);
        ops.matmulForward(dev, xf, cls, null, N, c.dim(), c.vocabSize());
        ops.copy(out.first(nv), dev);
    }

    private Tensor logitsDevice;

    /** The logits (V floats) after the last position of the last forward, into a host tensor. */
    public void lastLogits(Tensor out) {
        int V = c.vocabSize(), d = c.dim();
        out.requireAtLeast("out", DType.F32, V);
        Tensor last = xf.view((long) (curB * curT - 1) * d, d);
        if (params.isHost()) {
            ops.matmulForward(out.first(V), last, cls, null, 1, d, V);
            return;
        }
        if (logitsDevice == null) logitsDevice = arena.allocate(DType.F32, (long) maxB * maxT, c.vocabSize());
        Tensor dev = logitsDevice.view(0, V);
        ops.matmulForward(dev, last, cls, null, 1, d, V);
        ops.copy(out.first(V), dev);
    }

    /** The longest sequence a forward takes (the training window this model was built for). */
    public int maxSequence() {
        return maxT;
    }

    private void forwardBlocks(int B, int T) {
        int N = B * T, d = c.dim(), kv = c.kvDim(), hd = c.hiddenDim(), NH = c.heads(), NKV = c.kvHeads(), hs = c.headSize();
        // token embedding: the encoder op with an all-zero position table
        ops.encoderForward(resid[0], tokensBuf, paramViews[EMB], zeroPos, B, T, d);
        for (int l = 0; l < c.layers(); l++) {
            Layer w = p[l];
            ops.rmsnormForward(xn1[l], rstd1[l], resid[l], w.rmsAtt(), N, d, eps);
            product(WQ, l, q[l], xn1[l], w.wq(), N, d, d);
            product(WK, l, k[l], xn1[l], w.wk(), N, d, kv);
            product(WV, l, vv[l], xn1[l], w.wv(), N, d, kv);
            adapt(l, Q, q[l], xn1[l], N);
            adapt(l, K, k[l], xn1[l], N);
            adapt(l, V, vv[l], xn1[l], N);
            ops.ropeForward(q[l], ropeCos, ropeSin, B, T, NH, hs);
            ops.ropeForward(k[l], ropeCos, ropeSin, B, T, NKV, hs);
            ops.gqaAttentionForward(atty[l], att[l], q[l], k[l], vv[l], B, T, NH, NKV, hs);
            product(WO, l, tmp, atty[l], w.wo(), N, d, d);
            adapt(l, O, tmp, atty[l], N);
            ops.residualForward(mid[l], resid[l], tmp, N * d);

            ops.rmsnormForward(xn2[l], rstd2[l], mid[l], w.rmsFfn(), N, d, eps);
            product(W1, l, h1[l], xn2[l], w.w1(), N, d, hd);
            product(W3, l, h3[l], xn2[l], w.w3(), N, d, hd);
            adapt(l, GATE, h1[l], xn2[l], N);
            adapt(l, UP, h3[l], xn2[l], N);
            ops.swigluForward(hg[l], h1[l], h3[l], N * hd);
            product(W2, l, tmp, hg[l], w.w2(), N, hd, d);
            adapt(l, DOWN, tmp, hg[l], N);
            ops.residualForward(resid[l + 1], mid[l], tmp, N * d);
        }
        ops.rmsnormForward(xf, rstdf, resid[c.layers()], paramViews[RMS_FINAL], N, d, eps);
    }

    // ---- backward -------------------------------------------------------------------------------

    /** After the classifier wrote d(loss)/d(xf) into dres: the blocks in reverse. */
    private void backwardBlocks() {
        int B = curB, T = curT, N = B * T, d = c.dim(), kv = c.kvDim(), hd = c.hiddenDim();
        int NH = c.heads(), NKV = c.kvHeads(), hs = c.headSize();
        // final RMSNorm: dres holds d/d(xf); turn it into d/d(resid[L])
        ops.copy(dxn, dres);
        ops.zero(dres);
        rmsnormBackward(lora == null ? gradViews[RMS_FINAL] : normSink, resid[c.layers()], paramViews[RMS_FINAL], rstdf, N, d);
        for (int l = c.layers() - 1; l >= 0; l--) {
            Layer w = p[l], dw = g[l];
            // MLP: resid[l+1] = mid + w2 (silu(w1 xn2) * w3 xn2); dres flows to mid unchanged
            productBackward(W2, l, dhg, true, dw.w2(), dresForProducts(), hg[l], w.w2(), N, hd, d);
            adaptBackward(l, DOWN, dhg, dres, hg[l], N);
            ops.swigluBackwardOverwrite(dh1, dh3, dhg, h1[l], h3[l], N * hd);
            productBackward(W1, l, dxn, true, dw.w1(), dh1, xn2[l], w.w1(), N, d, hd);
            productBackward(W3, l, dxn, false, dw.w3(), dh3, xn2[l], w.w3(), N, d, hd);
            adaptBackward(l, GATE, dxn, dh1, xn2[l], N);
            adaptBackward(l, UP, dxn, dh3, xn2[l], N);
            rmsnormBackward(dw.rmsFfn(), mid[l], w.rmsFfn(), rstd2[l], N, d);

            // attention: mid = resid[l] + wo attn(rope(wq xn1), rope(wk xn1), wv xn1)
            productBackward(WO, l, datty, true, dw.wo(), dresForProducts(), atty[l], w.wo(), N, d, d);
            adaptBackward(l, O, datty, dres, atty[l], N);
            // the shared att holds the last layer's probabilities: layer l's again (atty[l] rewritten with its own values)
            if (recomputeAttention && l < c.layers() - 1) ops.gqaAttentionForward(atty[l], att[l], q[l], k[l], vv[l], B, T, NH, NKV, hs);
            ops.gqaAttentionBackwardOverwrite(dq, dk, dv, datt, datty, q[l], k[l], vv[l], att[l], atty[l], B, T, NH, NKV, hs);
            ops.ropeBackward(dq, ropeCos, ropeSin, B, T, NH, hs);
            ops.ropeBackward(dk, ropeCos, ropeSin, B, T, NKV, hs);
            productBackward(WQ, l, dxn, true, dw.wq(), dq, xn1[l], w.wq(), N, d, d);
            productBackward(WK, l, dxn, false, dw.wk(), dk, xn1[l], w.wk(), N, d, kv);
            productBackward(WV, l, dxn, false, dw.wv(), dv, xn1[l], w.wv(), N, d, kv);
            adaptBackward(l, Q, dxn, dq, xn1[l], N);
            adaptBackward(l, K, dxn, dk, xn1[l], N);
            adaptBackward(l, V, dxn, dv, xn1[l], N);
            rmsnormBackward(dw.rmsAtt(), resid[l], w.rmsAtt(), rstd1[l], N, d);
        }
        if (lora == null) ops.encoderBackward(gradViews[EMB], dzeroPos, dres, tokensBuf, B, T, d);
    }

    /** With LoRA, adds matrix {@code t}'s adapter product to the frozen product's {@code out}. */
    private void adapt(int l, LoraSpec.Target t, Tensor out, Tensor inp, int N) {
        if (lora != null && lora.adapts(t)) lora.forward(l, t, out, inp, N);
    }

    /** With LoRA, the adapter of matrix {@code t}: its gradients, and its share of {@code dinp}. */
    private void adaptBackward(int l, LoraSpec.Target t, Tensor dinp, Tensor dout, Tensor inp, int N) {
        if (lora != null && lora.adapts(t)) lora.backward(l, t, dinp, dout, inp, N);
    }

    /** RMSNorm's backward from dxn into dres, in bf16 mode also writing dres's bf16 copy for the next products. */
    private void rmsnormBackward(Tensor dweight, Tensor inp, Tensor weight, Tensor rstd, int N, int d) {
        if (dresCopy == null) ops.rmsnormBackward(dres, dweight, dxn, inp, weight, rstd, N, d);
        else ops.rmsnormBackwardCopy(dres, dresCopy, dweight, dxn, inp, weight, rstd, N, d);
    }

    /** The residual stream's gradient as the backward products read it: its bf16 copy in bf16 mode, else dres. */
    private Tensor dresForProducts() {
        return dresCopy == null ? dres : dresCopy;
    }

    // ---- optimizer ------------------------------------------------------------------------------

    /** Global L2 norm of the gradients. */
    public double gradNorm() {
        return Math.sqrt(lora != null ? lora.gradSumSquares() : ops.sumSquares(grads));
    }

    /** One AdamW step; weight decay on matrices and embeddings only. */
    public void adamwStep(float lr, float beta1, float beta2, float eps, float weightDecay, float gradScale) {
        if (lora != null) {
            lora.adamw(lr, beta1, beta2, eps, weightDecay, ++step, gradScale);
            return;
        }
        if (m == null) allocateOptimizerState();
        uploadParameters();
        step++;
        ops.parametersAre(params); // the model being trained, should another have registered since (a no-op if not)
        for (int i = 0; i < 12; i++) {
            if (sizes[i] == 0) continue;
            ops.adamw(paramViews[i], gradViews[i], mViews[i], vViews[i], lr, beta1, beta2, eps,
                    DECAY[i] ? weightDecay : 0f, step, gradScale);
        }
        if (hostParams != params) hostStale = true;
    }

    public void allocateOptimizerState() {
        if (lora != null) {
            lora.allocateOptimizerState();
            return;
        }
        if (m == null) {
            m = arena.allocate(DType.F32, parameterCount);
            v = arena.allocate(DType.F32, parameterCount);
            mViews = new Tensor[12];
            vViews = new Tensor[12];
            for (int i = 0; i < 12; i++) {
                mViews[i] = m.view(offsets[i], sizes[i]);
                vViews[i] = v.view(offsets[i], sizes[i]);
            }
        }
    }

    @Override
    public void close() {
        try (TensorArena a = arena; TensorArena h = hostArena; LoraAdapters ad = lora; GgufFrozenMatrices f = frozen) {
            // closed in reverse order, each even if another fails
        }
    }
}
