package dev.jgpt.model;

import dev.jgpt.JgptException;
import dev.jgpt.backend.Backend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;

import java.util.Random;

/**
 * GPT-2 for training, in llm.c's style: pre-LayerNorm blocks, learned positions, GELU MLP (4x),
 * final LayerNorm, output classifier tied to the token embedding. Forward and backward are written
 * out per layer, side by side, on the {@link Backend} contract only: no autograd, no graph, and
 * nothing allocated per step (every buffer is sized once for {@code (maxBatch, maxSeq)}).
 *
 * <p>One training step:
 * <pre>{@code
 * model.zeroGrad();
 * float loss = model.forwardBackward(tokens, targets, B, T);   // or forward(...) then backward()
 * double norm = model.gradNorm();
 * model.adamwStep(lr, 0.9f, 0.95f, 1e-8f, 0.1f, norm > 1 ? (float) (1 / norm) : 1f);
 * }</pre>
 *
 * <p>Memory (floats, see {@code docs/model.md}): parameters, gradients and (after the first AdamW
 * step) two moments of {@link GptConfig#parameterCount()} each, plus {@link #activationFloats}.
 * Not thread-safe.
 */
public final class Gpt2 implements AutoCloseable, dev.jgpt.train.TrainableModel, dev.jgpt.memory.MemoryAccounted {

    private final Backend ops;
    private final GptConfig cfg;
    private final ParameterLayout layout;
    private final int maxB, maxT;
    private final TensorArena paramArena;
    private final TensorArena actArena;
    private final ParameterTensors p;
    private final ParameterTensors g;
    private ParameterTensors m, v; // AdamW moments, allocated at the first step
    private int adamStep;

    private final Acts a;
    private final Tensor tokensBuf, targetsBuf;

    /** Batch shape and valid-target count of the last forward (what backward needs). */
    private int lastB, lastT, lastValid;
    private boolean haveTargets;
    /** Whether the last forward left attention probabilities in att ({@link Backend#attentionKeepsProbabilities}). */
    private boolean attentionKept;

    /**
     * Allocates parameters (zero; call {@link #initWeights}), gradients and activations for batches of
     * up to {@code maxBatch} sequences of up to {@code maxSeq} tokens on {@code backend}.
     */
    public Gpt2(Backend backend, GptConfig config, int maxBatch, int maxSeq) {
        if (maxBatch < 1) throw new JgptException("batch size must be positive but was " + maxBatch);
        if (maxSeq < 1 || maxSeq > config.contextLength()) {
            throw new JgptException("sequence length " + maxSeq + " must be in [1, " + config.contextLength()
                    + "] (the model's context length)");
        }
        this.ops = backend;
        this.cfg = config;
        this.layout = ParameterLayout.of(config);
        this.maxB = maxBatch;
        this.maxT = maxSeq;
        this.paramArena = backend.newArena();
        this.actArena = backend.newArena();
        try {
            this.p = layout.bind(paramArena.allocate(DType.F32, layout.size()));
            this.g = layout.bind(paramArena.allocate(DType.F32, layout.size()));
            this.a = new Acts(actArena, backend, config, maxBatch, maxSeq);
            this.tokensBuf = actArena.allocate(DType.I32, (long) maxBatch * maxSeq);
            this.targetsBuf = actArena.allocate(DType.I32, (long) maxBatch * maxSeq);
            backend.parametersAre(p.flat()); // cuda bf16: products read a bf16 copy of it that AdamW keeps current
        } catch (RuntimeException | OutOfMemoryError e) {
            close();
            throw e;
        }
    }

    /**
     * Activations of the forward pass (kept for backward) and the backward pass's working buffers. Those only products
     * and the backend's kernels read (marked "act") are of the backend's {@link Backend#activationDType} (bf16 on cuda in
     * bf16 mode), the rest F32: the residual stream, layernorm statistics, losses and every gradient but d(fch) (written
     * in bf16 by the fcproj backward's GELU epilogue for the fc backward product), the gradients of the layernorm and
     * attention outputs and dqkv (written by backward products and the attention backward, read by the layernorm and
     * attention backwards and the qkv product), and a bf16 copy of the residual stream's gradient that the layernorm
     * backwards write beside it for the attproj and fcproj backward products.
     */
    private static final class Acts {
        final Tensor encoded;                       // (B,T,C)
        final Tensor[] ln1, ln1Mean, ln1Rstd;       // (B,T,C) act, (B,T), (B,T) per layer
        final Tensor[] qkv;                         // (B,T,3C) act
        final Tensor[] atty;                        // (B,T,C) act
        final Tensor[] att;                         // (B,NH,T,T), or the backend's smaller attention state; attentionStateDType
        final Tensor[] res2;                        // (B,T,C)
        final Tensor[] ln2, ln2Mean, ln2Rstd;       // act, F32, F32
        final Tensor[] fch, fchGelu;                // (B,T,4C) act
        final Tensor[] res3;                        // (B,T,C): the block's output
        final Tensor proj;                          // (B,T,C) act: attproj / fcproj outputs, not needed by backward
        final Tensor lnf, lnfMean, lnfRstd;         // act, F32, F32
        final Tensor losses;                        // (B,T)
        final Tensor scratch;                       // (R, stride) act: classifier logits chunk, R = ops.classifierRows
        // backward working buffers
        final Tensor dres;                          // (B,T,C): gradient of the residual stream
        final Tensor dbtc;                          // (B,T,C)
        final Tensor d4a, d4b;                      // (B,T,4C): F32 scratch, act
        final Tensor dbtcAct, dqkv;                 // (B,T,C), (B,T,3C) act: d(ln out) or d(attention out); dqkv
        final Tensor dresCopy;                      // (B,T,C) act: dres for the products, where act is BF16 (else null)
        final Tensor datt;                          // (B,NH,T,T), or the backend's smaller scratch; att's type

        Acts(TensorArena arena, Backend ops, GptConfig c, int B, int T) {
            int L = c.layers();
            long BT = (long) B * T, C = c.channels(), V = c.vocabSize();
            DType act = ops.activationDType(), f32 = DType.F32;
            encoded = arena.allocate(DType.F32, BT * C);
            ln1 = perLayer(arena, act, L, BT * C);
            ln1Mean = perLayer(arena, f32, L, BT);
            ln1Rstd = perLayer(arena, f32, L, BT);
            qkv = perLayer(arena, act, L, BT * 3 * C);
            atty = perLayer(arena, act, L, BT * C);
            DType attType = ops.attentionStateDType(B, T, c.channels(), c.heads()); // bf16 probabilities on cuda's cuBLAS path
            att = perLayer(arena, attType, L, ops.attentionStateFloats(B, T, c.channels(), c.heads()));
            res2 = perLayer(arena, f32, L, BT * C);
            ln2 = perLayer(arena, act, L, BT * C);
            ln2Mean = perLayer(arena, f32, L, BT);
            ln2Rstd = perLayer(arena, f32, L, BT);
            fch = perLayer(arena, act, L, BT * 4 * C);
            fchGelu = perLayer(arena, act, L, BT * 4 * C);
            res3 = perLayer(arena, f32, L, BT * C);
            proj = arena.allocate(act, BT * C);            // a product's output, read once by the residual add
            lnf = arena.allocate(act, BT * C);
            lnfMean = arena.allocate(DType.F32, BT);
            lnfRstd = arena.allocate(DType.F32, BT);
            losses = arena.allocate(DType.F32, BT);
            scratch = arena.allocate(act, ops.classifierRows(BT, (int) V), ops.classifierRowStride((int) V));
            dres = arena.allocate(DType.F32, BT * C);
            dbtc = arena.allocate(DType.F32, BT * C);
            d4a = arena.allocate(DType.F32, BT * 4 * C);
            d4b = arena.allocate(act, BT * 4 * C);    // d(fch): only the fc backward product reads it
            // the gradients only backward ops read: a layernorm's or the attention's output (one at a time) and dqkv. In
            // F32 they share dbtc's and d4a's memory (each is free again when they are used); bf16 ones get their own
            dbtcAct = act == DType.F32 ? dbtc : arena.allocate(act, BT * C);
            dqkv = act == DType.F32 ? d4a.view(0, BT * 3 * C) : arena.allocate(act, BT * 3 * C);
            dresCopy = act == DType.F32 ? null : arena.allocate(act, BT * C);
            datt = arena.allocate(attType, ops.attentionScratchFloats(B, T, c.channels(), c.heads()));
        }

        private static Tensor[] perLayer(TensorArena arena, DType type, int L, long n) {
            Tensor all = arena.allocate(type, L, n);
            Tensor[] out = new Tensor[L];
            for (int l = 0; l < L; l++) out[l] = all.slice(l);
            return out;
        }
    }

    /**
     * Floats of activation memory for batches of (B, T) on a backend that keeps the attention probabilities
     * (reference, cpu, cuda without fused attention): what the constructor allocates besides the parameters:
     * {@code L*(16*BTC + 4*BT + NH*B*T^2) + 13*BTC + 5*BT + NH*B*T^2 + R*V} (the 5*BT include the I32 tokens
     * and targets), with R = {@link Backend#defaultClassifierRows} = min(BT, max(1, 2^24 / V)) classifier rows.
     */
    public static long activationFloats(GptConfig c, int B, int T) {
        long att = (long) B * c.heads() * T * T;
        return activationFloats(c, B, T, att, att, Backend.defaultClassifierRows((long) B * T, c.vocabSize()) * c.vocabSize());
    }

    /**
     * {@link #activationFloats(GptConfig, int, int)} on {@code backend}, whose attention may keep less than
     * the probabilities and whose classifier may take more rows at once: {@code L*(16*BTC + 4*BT + A) + 13*BTC
     * + 5*BT + D + R*V} with A = {@link Backend#attentionStateFloats} and D = {@link Backend#attentionScratchFloats}
     * (both NH*B*T^2 by default; cuda's fused attention, T > head size hs: A = NH*BT + BTC, D = NH*B*max(T, hs^2))
     * and R*V the logits chunk: {@link Backend#classifierRows} rows {@link Backend#classifierRowStride} apart.
     */
    public static long activationFloats(GptConfig c, int B, int T, Backend backend) {
        return activationFloats(c, B, T, backend.attentionStateFloats(B, T, c.channels(), c.heads()),
                backend.attentionScratchFloats(B, T, c.channels(), c.heads()), logitsChunk(c, B, T, backend));
    }

    /** Elements of the classifier's logits chunk on {@code backend}: its rows times its row stride. */
    private static long logitsChunk(GptConfig c, int B, int T, Backend backend) {
        return backend.classifierRows((long) B * T, c.vocabSize()) * backend.classifierRowStride(c.vocabSize());
    }

    /**
     * Bytes of {@link #activationFloats(GptConfig, int, int, Backend)}, with the product-input activations and the
     * classifier's logits in the backend's {@link Backend#activationDType}: where that is BF16, {@code L*14*BTC + 6*BTC
     * + R*V} of the floats (ln1, qkv, atty, ln2, fch, fchGelu per layer, lnf, proj, d(fch) and the logits chunk) take 2 bytes
     * instead of 4, and the gradients of the layernorm and attention outputs, dqkv and the copy of dres take {@code 5*BTC}
     * bf16 elements of their own (in F32 the first two share dbtc and d4a, and there is no copy); and where
     * {@link Backend#attentionStateDType} is BF16, so do {@code L*A + D} (every layer's att and the datt scratch).
     */
    public static long activationBytes(GptConfig c, int B, int T, Backend backend) {
        long bytes = 4 * activationFloats(c, B, T, backend);
        if (backend.activationDType() != DType.BF16) return bytes;
        long BT = (long) B * T, BTC = BT * c.channels();
        bytes -= 2 * (c.layers() * 14 * BTC + 6 * BTC + logitsChunk(c, B, T, backend));
        bytes += 2 * 5 * BTC; // bf16 dbtcAct, dqkv and dresCopy
        if (backend.attentionStateDType(B, T, c.channels(), c.heads()) != DType.BF16) return bytes;
        return bytes - 2 * (c.layers() * backend.attentionStateFloats(B, T, c.channels(), c.heads())
                + backend.attentionScratchFloats(B, T, c.channels(), c.heads()));
    }

    private static long activationFloats(GptConfig c, int B, int T, long att, long datt, long logitsChunk) {
        long BT = (long) B * T, C = c.channels(), L = c.layers();
        long perLayer = 16 * BT * C + 4 * BT + att;
        long shared = BT * C                 // encoded
                + 2 * BT * C + 3 * BT        // proj, lnf (+ mean, rstd), losses
                + 2 * BT * C + 8 * BT * C    // dres, dbtc, d4a, d4b
                + datt
                + logitsChunk
                + 2 * BT;                    // tokens, targets (I32, same size as F32)
        return L * perLayer + shared;
    }

    // ---- accessors -----------------------------------------------------------------------------

    public GptConfig config() { return cfg; }
    @Override public long parameterCount() { return cfg.parameterCount(); }
    @Override public int layers() { return cfg.layers(); }
    @Override public int channels() { return cfg.channels(); }
    @Override public String describe() { return cfg.toString(); }
    @Override public Tensor optimizerM() { return m == null ? null : m.flat(); }
    @Override public Tensor optimizerV() { return v == null ? null : v.flat(); }
    public ParameterLayout layout() { return layout; }
    public Backend backend() { return ops; }
    /** Parameters, named views over one flat buffer. */
    public ParameterTensors params() { return p; }
    /** Gradients, laid out like the parameters. */
    public ParameterTensors grads() { return g; }
    /** AdamW first moments, or null before the first step (or {@link #allocateOptimizerState}). */
    public ParameterTensors adamM() { return m; }
    /** AdamW second moments, or null before the first step. */
    public ParameterTensors adamV() { return v; }
    /** AdamW steps taken so far (the bias-correction step of the last update). */
    public int optimizerStep() { return adamStep; }
    /** Sets the AdamW step counter (when resuming from a checkpoint). */
    public void setOptimizerStep(int step) {
        if (step < 0) throw new IllegalArgumentException("step: must be >= 0 but was " + step);
        adamStep = step;
    }
    public int maxBatch() { return maxB; }
    public int maxSeq() { return maxT; }
    /** Output of the final layernorm (B*T, C) of the last forward: the classifier's input (F32, or BF16: {@link Backend#activationDType}). */
    public Tensor finalHidden() { return a.lnf; }
    /**
     * Attention probabilities of layer {@code l} from the last forward, laid out (B, NH, T, T) for that
     * forward's B and T (row t holds query t's weights over keys 0..t, zeros above the diagonal).
     * Read-only use: the views into the model (attention heat maps) read it; backward needs it intact.
     *
     * @throws IllegalStateException before a forward, or when the backend did not keep the probabilities
     *                               for that forward (cuda's fused attention; {@link Backend#attentionKeepsProbabilities})
     */
    public Tensor attention(int l) {
        if (lastB == 0) throw new IllegalStateException("attention: run forward first");
        if (!attentionKept) {
            throw new IllegalStateException("attention: the " + ops.name() + " backend's fused attention kept no probabilities for the last"
                    + " forward (B " + lastB + ", T " + lastT + "); see Backend.attentionKeepsProbabilities");
        }
        return a.att[l].view(0, (long) lastB * cfg.heads() * lastT * lastT);
    }
    /** Per-token losses (B*T) of the last forward with targets; 0 where the target was ignored. */
    public Tensor losses() { return a.losses; }
    /** Bytes held by parameters, gradients and optimizer state. */
    public long parameterBytes() { return paramArena.allocatedBytes(); }
    /** Bytes held by activations and working buffers. */
    public long activationBytes() { return actArena.allocatedBytes(); }

    /**
     * llm.c's four parameter-sized buffers (the optimizer's two only after the first step) and the
     * activations, in bytes: together exactly what the model's two arenas allocated.
     */
    @Override
    public java.util.Map<String, Long> offHeapBytes() {
        long one = p.flat().byteSize();
        java.util.Map<String, Long> m = new java.util.LinkedHashMap<>();
        m.put("params", one);
        m.put("grads", one);
        m.put("optimizer", this.m == null ? 0L : 2 * one);
        m.put("activations", actArena.allocatedBytes());
        return m;
    }

    // ---- initialisation --------------------------------------------------------------------------

    /**
     * GPT-2's initialisation, deterministic for a seed: every matmul weight and both embeddings
     * N(0, 0.02); the residual projections ({@code attprojw}, {@code fcprojw}) N(0, 0.02/sqrt(2L)) so
     * the residual stream's variance does not grow with depth; layernorm weights 1; biases 0.
     */
    public void initWeights(long seed) {
        Random rnd = new Random(seed);
        double residualStd = 0.02 / Math.sqrt(2.0 * cfg.layers());
        try (TensorArena staging = TensorArena.host()) {
            Tensor host = p.flat().isHost() ? p.flat() : staging.allocate(DType.F32, layout.size());
            for (ParameterLayout.View view : layout.views()) {
                Tensor t = view.of(host);
                String n = view.name();
                if (n.startsWith("ln")) {
                    t.fill(n.endsWith("w") ? 1f : 0f);
                } else if (n.endsWith("b")) {
                    t.fill(0f);
                } else {
                    double std = n.equals("attprojw") || n.equals("fcprojw") ? residualStd : 0.02;
                    for (long i = 0; i < t.numel(); i++) t.setFloat(i, (float) (rnd.nextGaussian() * std));
                }
            }
            if (host != p.flat()) ops.copy(p.flat(), host);
        }
    }

    // ---- forward ---------------------------------------------------------------------------------

    /**
     * Runs the model on {@code tokens} (I32, B*T) and returns the mean cross-entropy over the
     * positions whose target is non-negative (0 if there are none). With {@code targets == null} only
     * the hidden states are computed ({@link #finalHidden()}, {@link #logits}) and NaN is returned.
     * Host token tensors are checked (every token in the vocabulary) and copied to the backend.
     *
     * @throws JgptException for a token or target outside the vocabulary, or B, T beyond the sizes
     *                       this model was built for
     */
    public float forward(Tensor tokens, Tensor targets, int B, int T) {
        return run(tokens, targets, B, T, false);
    }

    /** {@link #forward} and {@link #backward} in one, computing the classifier's logits only once. */
    public float forwardBackward(Tensor tokens, Tensor targets, int B, int T) {
        if (targets == null) throw new IllegalArgumentException("targets: required for backward");
        float loss = run(tokens, targets, B, T, true);
        backwardBlocks();
        return loss;
    }

    /** Convenience for tests and small tools: tokens and targets as arrays (copied to the backend). */
    public float forward(int[] tokens, int[] targets, int B, int T) {
        try (TensorArena tmp = TensorArena.host()) {
            return forward(hostInts(tmp, tokens), targets == null ? null : hostInts(tmp, targets), B, T);
        }
    }

    /** Convenience: {@link #forwardBackward} with arrays. */
    public float forwardBackward(int[] tokens, int[] targets, int B, int T) {
        try (TensorArena tmp = TensorArena.host()) {
            return forwardBackward(hostInts(tmp, tokens), hostInts(tmp, targets), B, T);
        }
    }

    private static Tensor hostInts(TensorArena arena, int[] values) {
        Tensor t = arena.allocate(DType.I32, values.length);
        for (int i = 0; i < values.length; i++) t.setInt(i, values[i]);
        return t;
    }

    private float run(Tensor tokens, Tensor targets, int B, int T, boolean fusedBackward) {
        checkBatch(B, T);
        int C = cfg.channels(), V = cfg.vocabSize(), L = cfg.layers();
        int BT = B * T;
        loadTokens(tokensBuf, tokens, "tokens", BT, T, false);
        int valid = targets == null ? 0 : loadTokens(targetsBuf, targets, "targets", BT, T, true);
        lastB = B;
        lastT = T;
        lastValid = valid;
        haveTargets = targets != null;
        attentionKept = ops.attentionKeepsProbabilities(B, T, C, cfg.heads());

        ops.encoderForward(a.encoded, tokensBuf, p.wte(), p.wpe(), B, T, C);
        ops.layernormForward(a.ln1[0], a.ln1Mean[0], a.ln1Rstd[0], a.encoded, p.ln1w(0), p.ln1b(0), BT, C);
        for (int l = 0; l < L; l++) blockForward(l, l == 0 ? a.encoded : a.res3[l - 1], B, T);
        if (targets == null) return Float.NaN;

        float scale = valid == 0 ? 0f : 1f / valid;
        if (fusedBackward) ops.zero(a.dbtc);
        double sum = ops.classifier(a.losses, a.dbtc, g.wte(), a.lnf, p.wte(), targetsBuf, a.scratch,
                BT, C, V, scale, fusedBackward);
        return valid == 0 ? 0f : (float) (sum / valid);
    }

    /**
     * One pre-LayerNorm block: x -> x + attn(ln1(x)) -> res2 + mlp(ln2(res2)), with ln1(x) already computed.
     * Each residual add is fused with the layernorm that reads it (as llm.c does): res2 with ln2, res3 with the
     * next block's ln1, or the last block's with lnf.
     */
    private void blockForward(int l, Tensor x, int B, int T) {
        int C = cfg.channels(), NH = cfg.heads(), BT = B * T, L = cfg.layers();
        ops.matmulForward(a.qkv[l], a.ln1[l], p.qkvw(l), p.qkvb(l), BT, C, 3 * C);
        ops.attentionForward(a.atty[l], a.att[l], a.qkv[l], B, T, C, NH);
        ops.matmulForward(a.proj, a.atty[l], p.attprojw(l), p.attprojb(l), BT, C, C);
        ops.residualLayernormForward(a.res2[l], a.ln2[l], a.ln2Mean[l], a.ln2Rstd[l], x, a.proj,
                p.ln2w(l), p.ln2b(l), BT, C);
        ops.matmulGeluForward(a.fch[l], a.fchGelu[l], a.ln2[l], p.fcw(l), p.fcb(l), BT, C, 4 * C); // fch, gelu(fch)
        ops.matmulForward(a.proj, a.fchGelu[l], p.fcprojw(l), p.fcprojb(l), BT, 4 * C, C);
        if (l + 1 < L) {
            ops.residualLayernormForward(a.res3[l], a.ln1[l + 1], a.ln1Mean[l + 1], a.ln1Rstd[l + 1], a.res2[l], a.proj,
                    p.ln1w(l + 1), p.ln1b(l + 1), BT, C);
        } else {
            ops.residualLayernormForward(a.res3[l], a.lnf, a.lnfMean, a.lnfRstd, a.res2[l], a.proj, p.lnfw(), p.lnfb(), BT, C);
        }
    }

    /**
     * Logits (B*T, V) of the last forward into {@code out} (a backend tensor of at least B*T*V floats):
     * for evaluation and tests; training never materialises them.
     */
    public void logits(Tensor out) {
        if (lastB == 0) throw new IllegalStateException("logits: run forward first");
        ops.matmulForward(out, a.lnf, p.wte(), null, lastB * lastT, cfg.channels(), cfg.vocabSize());
    }

    // ---- backward --------------------------------------------------------------------------------

    /** Sets every gradient to zero (backward accumulates, so call this once per optimizer step). */
    public void zeroGrad() {
        ops.zero(g.flat());
    }

    /**
     * Accumulates the gradient of the last {@link #forward}'s mean loss into {@link #grads()}. The
     * classifier's logits are recomputed; {@link #forwardBackward} avoids that.
     */
    public void backward() {
        if (!haveTargets) throw new IllegalStateException("backward: run forward with targets first");
        int BT = lastB * lastT;
        float scale = lastValid == 0 ? 0f : 1f / lastValid;
        ops.zero(a.dbtc);
        ops.classifier(a.losses, a.dbtc, g.wte(), a.lnf, p.wte(), targetsBuf, a.scratch,
                BT, cfg.channels(), cfg.vocabSize(), scale, true);
        backwardBlocks();
    }

    /** Everything after the classifier, whose input gradient is in {@code a.dbtc}. */
    private void backwardBlocks() {
        int B = lastB, T = lastT, BT = B * T, C = cfg.channels(), L = cfg.layers();
        haveTargets = false; // one backward per forward: the activations are consumed
        ops.zero(a.dres);
        layernormBackward(g.lnfw(), g.lnfb(), a.dbtc, a.res3[L - 1], p.lnfw(), a.lnfMean, a.lnfRstd, BT, C);
        for (int l = L - 1; l >= 0; l--) blockBackward(l, l == 0 ? a.encoded : a.res3[l - 1], B, T);
        ops.encoderBackward(g.wte(), g.wpe(), a.dres, tokensBuf, B, T, C);
    }

    /**
     * A layernorm's backward into the residual stream's gradient {@code a.dres}; in bf16 mode it also writes the bf16
     * copy the next backward products read ({@link Backend#layernormBackwardCopy}), so they convert nothing.
     */
    private void layernormBackward(Tensor dw, Tensor db, Tensor dout, Tensor inp, Tensor w, Tensor mean, Tensor rstd, int BT, int C) {
        if (a.dresCopy == null) ops.layernormBackward(a.dres, dw, db, dout, inp, w, mean, rstd, BT, C);
        else ops.layernormBackwardCopy(a.dres, a.dresCopy, dw, db, dout, inp, w, mean, rstd, BT, C);
    }

    /** The residual stream's gradient as the backward products read it: its bf16 copy in bf16 mode, else itself. */
    private Tensor dresForProducts() {
        return a.dresCopy == null ? a.dres : a.dresCopy;
    }

    /**
     * The block's forward in reverse. On entry {@code a.dres} holds dLoss/d(block output); the
     * residual connections pass it through unchanged, so each layernorm's backward simply adds its
     * input gradient to it, and on exit it holds dLoss/d(block input).
     */
    private void blockBackward(int l, Tensor x, int B, int T) {
        int C = cfg.channels(), NH = cfg.heads(), BT = B * T;
        // MLP: res3 = res2 + fcproj(gelu(fc(ln2(res2))))
        // d4b = d(fch), through fcproj and the GELU (d4a: scratch for d(gelu(fch)))
        ops.matmulBackwardGelu(a.d4b, a.d4a, g.fcprojw(l), g.fcprojb(l), dresForProducts(), a.fchGelu[l], p.fcprojw(l), a.fch[l],
                BT, 4 * C, C);
        ops.matmulBackwardOverwrite(a.dbtcAct, g.fcw(l), g.fcb(l), a.d4b, a.ln2[l], p.fcw(l), BT, C, 4 * C);
        layernormBackward(g.ln2w(l), g.ln2b(l), a.dbtcAct, a.res2[l], p.ln2w(l), a.ln2Mean[l], a.ln2Rstd[l], BT, C);
        // attention: res2 = x + attproj(attention(qkv(ln1(x))))
        ops.matmulBackwardOverwrite(a.dbtcAct, g.attprojw(l), g.attprojb(l), dresForProducts(), a.atty[l], p.attprojw(l), BT, C, C);
        Tensor dqkv = a.dqkv.first((long) BT * 3 * C);
        ops.attentionBackwardOverwrite(dqkv, a.datt, a.dbtcAct, a.qkv[l], a.att[l], a.atty[l], B, T, C, NH);
        ops.matmulBackwardOverwrite(a.dbtcAct, g.qkvw(l), g.qkvb(l), dqkv, a.ln1[l], p.qkvw(l), BT, C, 3 * C);
        layernormBackward(g.ln1w(l), g.ln1b(l), a.dbtcAct, x, p.ln1w(l), a.ln1Mean[l], a.ln1Rstd[l], BT, C);
    }

    // ---- optimizer -------------------------------------------------------------------------------

    /** The global L2 norm of all gradients. */
    public double gradNorm() {
        return Math.sqrt(ops.sumSquares(g.flat()));
    }

    /** Allocates the AdamW moments now (zero) instead of at the first step, e.g. to load them from a checkpoint. */
    public void allocateOptimizerState() {
        if (m == null) {
            m = layout.bind(paramArena.allocate(DType.F32, layout.size()));
            v = layout.bind(paramArena.allocate(DType.F32, layout.size()));
        }
    }

    /**
     * One AdamW update of every parameter. Weight decay applies only to the views whose
     * {@link ParameterLayout.View#weightDecay()} is set. {@code gradScale} multiplies the gradients
     * first (clipping: {@code min(1, maxNorm / gradNorm())}; accumulation: {@code 1 / microSteps}).
     */
    public void adamwStep(float lr, float beta1, float beta2, float eps, float weightDecay, float gradScale) {
        allocateOptimizerState();
        adamStep++;
        ops.parametersAre(p.flat()); // the model being trained, should another have registered since (a no-op if not)
        var views = layout.views();
        for (int i = 0; i < views.size(); i++) { // indexed: no iterator per step
            ParameterLayout.View view = views.get(i);
            ops.adamw(p.tensor(view), g.tensor(view), m.tensor(view), v.tensor(view), lr, beta1, beta2, eps,
                    view.weightDecay() ? weightDecay : 0f, adamStep, gradScale);
        }
    }

    // ---- input checks ----------------------------------------------------------------------------

    private void checkBatch(int B, int T) {
        if (T > cfg.contextLength()) {
            throw new JgptException("sequence length " + T + " exceeds the model's context length " + cfg.contextLength());
        }
        if (B < 1 || T < 1) throw new JgptException("batch " + B + " x " + T + ": both must be positive");
        if (B > maxB || T > maxT) {
            throw new JgptException("batch " + B + " x " + T + " exceeds the " + maxB + " x " + maxT
                    + " this model's buffers were sized for");
        }
    }

    /** Checks host ids against the vocabulary and copies them in; returns how many are non-negative. */
    private int loadTokens(Tensor dst, Tensor src, String what, int n, int T, boolean allowNegative) {
        if (src.dtype() != DType.I32) throw new IllegalArgumentException(what + ": expected I32 but got " + src.dtype());
        if (src.numel() != n) {
            throw new IllegalArgumentException(what + ": expected " + n + " ids (B*T) but got " + src);
        }
        int valid = n;
        if (src.isHost()) {
            valid = 0;
            int V = cfg.vocabSize();
            for (int i = 0; i < n; i++) {
                int id = src.getInt(i);
                if (id >= V || (id < 0 && !allowNegative)) {
                    throw new JgptException((what.equals("tokens") ? "token " : "target ") + id + " at position " + i
                            + " (sequence " + i / T + ", index " + i % T + ") is outside the vocabulary [0, " + V + ")");
                }
                if (id >= 0) valid++;
            }
        } else if (allowNegative) {
            throw new IllegalArgumentException(what + ": must be a host tensor (the loss is averaged over its valid ids)");
        }
        ops.copy(dst.first(n), src);
        return valid;
    }

    @Override
    public void close() {
        if (actArena != null) actArena.close();
        if (paramArena != null) paramArena.close();
    }
}
