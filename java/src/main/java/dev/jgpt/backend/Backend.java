package dev.jgpt.backend;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;

/**
 * The kernel contract: every operation a GPT needs, forward and backward, with no hidden state.
 * Three implementations must agree: {@code reference} (plain Java, the oracle), {@code cpu}
 * (OpenBLAS sgemm + libjgpt C kernels) and, later, {@code cuda}.
 *
 * <p>Conventions (as llm.c):
 * <ul>
 *   <li>All float tensors are F32, row-major, contiguous. Tokens and targets are I32.</li>
 *   <li>{@code B} batch, {@code T} time, {@code C} channels, {@code NH} heads, {@code V} vocabulary,
 *       {@code N} rows (= B*T for per-token ops), {@code OC} output channels.</li>
 *   <li>Forward ops <b>overwrite</b> their outputs. Backward ops <b>accumulate</b> ({@code +=}) into
 *       every gradient they write, so callers zero gradients once per step.</li>
 *   <li>Shapes are validated: a tensor smaller than the dims say, or of the wrong dtype, gives an
 *       {@link IllegalArgumentException} naming the argument.</li>
 *   <li>Nothing allocates inside an op; scratch space is passed in.</li>
 * </ul>
 */
public interface Backend extends AutoCloseable {

    /** {@code reference}, {@code cpu} or {@code cuda}. */
    String name();

    /** An owner for tensors this backend can compute on (host memory for reference/cpu). */
    TensorArena newArena();

    /** Threads used by this backend's kernels (OpenBLAS and OpenMP take turns on the same cores). */
    void setThreads(int threads);

    int threads();

    /** Blocks until queued work is done (a no-op on the host). */
    default void synchronize() {}

    // ---- copies between host memory and this backend's tensors --------------------------------

    /** {@code dst[:] = src[:]}; both F32/I32 of equal size; either side may be host or device. */
    void copy(Tensor dst, Tensor src);

    /** {@code t[:] = 0}. */
    void zero(Tensor t);

    // ---- encoder: token + position embedding ---------------------------------------------------

    /** {@code out[b,t,:] = wte[tokens[b,t],:] + wpe[t,:]}. out (B,T,C), tokens I32 (B,T), wte (V,C), wpe (maxT,C). */
    void encoderForward(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int B, int T, int C);

    /**
     * {@link #encoderForward} of ids the caller has already checked to lie in [0, V) on the host (a decoder's own
     * tokens, checked before they were staged): a device backend skips its own check of the ids and the
     * synchronisation it costs (a round trip per decoded token). An id outside the vocabulary gives NaN rows, never
     * a read outside wte. The default checks anyway.
     */
    default void encoderForwardCheckedIds(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int B, int T, int C) {
        encoderForward(out, tokens, wte, wpe, B, T, C);
    }

    /** {@code dwte[tokens[b,t]] += dout[b,t]; dwpe[t] += dout[b,t]}. */
    void encoderBackward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens, int B, int T, int C);

    // ---- layernorm ---------------------------------------------------------------------------

    /** Per row of inp (N,C): normalise (eps 1e-5), scale by weight, shift by bias. Saves mean, rstd (N). */
    void layernormForward(Tensor out, Tensor mean, Tensor rstd, Tensor inp, Tensor weight, Tensor bias, int N, int C);

    /**
     * {@code residual = a + b} (N*C), then {@link #layernormForward} of it into out: the end of one block and
     * the first op of the next, fused where a backend can read each input once (cuda:
     * {@code fused_residual_layernorm_forward}). Here the two ops one after the other.
     */
    default void residualLayernormForward(Tensor residual, Tensor out, Tensor mean, Tensor rstd, Tensor a, Tensor b,
                                          Tensor weight, Tensor bias, int N, int C) {
        residualForward(residual, a, b, N * C);
        layernormForward(out, mean, rstd, residual, weight, bias, N, C);
    }

    void layernormBackward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                           Tensor weight, Tensor mean, Tensor rstd, int N, int C);

    /**
     * {@link #layernormBackward}, then {@code dinpCopy} (N,C) = dinp's new values: the residual stream's gradient, kept
     * beside the fp32 {@code dinp} for the backward products that read it next. Where {@link #activationDType} is BF16
     * the copy and {@code dout} may be BF16 (GPT-2 in bf16 mode: the copy is those products' bf16 operand, rounded once in
     * the same pass, so no conversion before them). The default runs {@link #layernormBackward} and {@link #copy}
     * (copy and dinp of one type).
     */
    default void layernormBackwardCopy(Tensor dinp, Tensor dinpCopy, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                                       Tensor weight, Tensor mean, Tensor rstd, int N, int C) {
        layernormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
        long n = (long) N * C;
        copy(dinpCopy.first(n), dinp.first(n));
    }

    // ---- matmul ------------------------------------------------------------------------------

    /**
     * {@code out (N,OC) = inp (N,C) @ weight(OC,C)^T + bias(OC)}; bias may be null. {@code weight} may also be of
     * {@link #decodeWeightDType} (a decoder's bf16 matrices on cuda in bf16 mode).
     */
    void matmulForward(Tensor out, Tensor inp, Tensor weight, Tensor bias, int N, int C, int OC);

    /**
     * {@code out (N,OC) = inp (N,C) @ W^T} for a decoder's q8 matrix W (OC,C): {@code weight} I8 (OC*C) and {@code scales}
     * F32 (OC*C/group), {@code W[o][c] = weight[o*C+c] * scales[(o*C+c)/group]} (libjgpt's q8: one scale per group of
     * {@code group} weights along a row; group divides C). Each row's sum is taken per group, then scaled and added in
     * group order. {@code inp} and {@code out} may be of {@link #activationDType}. The default computes it in plain Java
     * on host tensors (the reference); cuda runs its own kernel for a few rows and a product on the weights dequantised
     * into scratch for more.
     */
    default void matmulQ8Forward(Tensor out, Tensor inp, Tensor weight, Tensor scales, int group, int N, int C, int OC) {
        checkQ8("matmulQ8Forward", weight, scales, group, N, C, OC);
        out.requireAtLeast("out", out.dtype(), (long) N * OC);
        inp.requireAtLeast("inp", inp.dtype(), (long) N * C);
        int groups = C / group;
        for (int n = 0; n < N; n++) {
            long x = (long) n * C;
            for (int o = 0; o < OC; o++) {
                long w = (long) o * C;
                float s = 0f;
                for (int g = 0; g < groups; g++) {
                    float gs = 0f;
                    for (int i = g * group; i < (g + 1) * group; i++) gs += weight.getFloat(w + i) * inp.getFloat(x + i);
                    s += gs * scales.getFloat(w / group + g);
                }
                out.setFloat((long) n * OC + o, s);
            }
        }
    }

    /**
     * {@code out (N, C)} F32, row i = row {@code tokens[i]} of a decoder's converted embedding table (V, C): BF16
     * values ({@code scales} null), or I8 values with F32 {@code scales} as in {@link #matmulQ8Forward} (q8); V is the
     * table's rows, and an id outside [0, V) gives a row of NaN. The default computes it on host tensors in plain Java.
     */
    default void embeddingLookup(Tensor out, Tensor tokens, Tensor table, Tensor scales, int group, int N, int C) {
        long V = checkEmbeddingTable("embeddingLookup", out, tokens, table, scales, group, N, C);
        for (int i = 0; i < N; i++) {
            int tok = tokens.getInt(i);
            for (int c = 0; c < C; c++) {
                long at = (long) tok * C + c;
                float v = tok < 0 || tok >= V ? Float.NaN
                        : scales == null ? table.getFloat(at) : table.getFloat(at) * scales.getFloat(at / group);
                out.setFloat((long) i * C + c, v);
            }
        }
    }

    /** {@link #embeddingLookup}'s checks, one clear message each; returns the table's rows V. */
    static long checkEmbeddingTable(String op, Tensor out, Tensor tokens, Tensor table, Tensor scales, int group, int N, int C) {
        if (N <= 0 || C <= 0) throw new IllegalArgumentException(op + ": N, C must be positive: " + N + ", " + C);
        if (out == null || tokens == null || table == null) throw new IllegalArgumentException(op + ": out, tokens and table must not be null");
        out.requireAtLeast("out", DType.F32, (long) N * C);
        tokens.requireAtLeast("tokens", DType.I32, N);
        long V = table.numel() / C;
        if (V < 1) throw new IllegalArgumentException(op + ": table " + table + " holds no row of " + C);
        if (scales == null) {
            table.requireAtLeast("table", DType.BF16, V * C);
        } else {
            checkGroup(op, group, C);
            table.requireAtLeast("table", DType.I8, V * C);
            scales.requireAtLeast("scales", DType.F32, V * C / group);
        }
        return V;
    }

    /** A q8 group size must be positive and divide the row length C. */
    private static void checkGroup(String op, int group, int C) {
        if (group <= 0 || C % group != 0) {
            throw new IllegalArgumentException(op + ": group " + group + " must be positive and divide C (" + C + ")");
        }
    }

    /** The shape checks of {@link #matmulQ8Forward}'s weight operands, one clear message each. */
    static void checkQ8(String op, Tensor weight, Tensor scales, int group, int N, int C, int OC) {
        if (N <= 0 || C <= 0 || OC <= 0) throw new IllegalArgumentException(op + ": N, C, OC must be positive: " + N + ", " + C + ", " + OC);
        checkGroup(op, group, C);
        if (weight == null || scales == null) throw new IllegalArgumentException(op + ": weight and scales must not be null");
        weight.requireAtLeast("weight", DType.I8, (long) OC * C);
        scales.requireAtLeast("scales", DType.F32, (long) OC * C / group);
    }

    /**
     * {@code dinp += dout @ weight; dweight += dout^T @ inp; dbias += sum_rows(dout)}. dbias may be null. dweight may be
     * null too, for a frozen weight (LoRA's base matrices): then the dweight product is not run at all (no work, nothing
     * written or allocated for it) and only dinp, and dbias where given, are computed; dbias is independent of dweight.
     */
    void matmulBackward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp, Tensor weight,
                        int N, int C, int OC);

    /**
     * {@link #matmulBackward} with dinp <b>overwritten</b>: {@code dinp (N,C) = dout @ weight}, whatever it held (NaNs
     * included); dweight and dbias accumulate as there, and either may be null as there (a frozen weight: dinp only).
     * For the gradient of a product's input that nothing else adds to (the model's first product into a buffer), as
     * llm.c writes it. The default zeroes dinp's first N*C elements and accumulates; cpu and cuda write it directly (a
     * product with beta 0: no zeroing pass, and the old dinp is not read).
     */
    default void matmulBackwardOverwrite(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp, Tensor weight,
                                         int N, int C, int OC) {
        long n = (long) N * C;
        zero(dinp.first(n));
        matmulBackward(dinp, dweight, dbias, dout, inp, weight, N, C, OC);
    }

    /**
     * {@code out (N,OC) += alpha * inp (N,C) @ weight^T} (weight (OC,C)): a LoRA adapter's B product added onto the frozen
     * product's output. out is accumulated into, never overwritten (unlike {@link #matmulForward}). All three tensors
     * F32 (cuda in bf16 activation mode refuses BF16 ones, naming them).
     */
    void matmulAddForward(Tensor out, Tensor inp, Tensor weight, int N, int C, int OC, float alpha);

    /**
     * The backward of {@link #matmulAddForward}: {@code dinp (N,C) = alpha * dout (N,OC) @ weight} (<b>overwritten</b>,
     * whatever it held, NaNs included, like {@link #matmulBackwardOverwrite}) and
     * {@code dweight (OC,C) += alpha * dout^T @ inp} (accumulated). For a LoRA adapter's B: dinp is the gradient of the
     * low-rank intermediate, which nothing else adds to. All F32.
     */
    void matmulAddBackward(Tensor dinp, Tensor dweight, Tensor dout, Tensor inp, Tensor weight, int N, int C, int OC, float alpha);

    /**
     * A product followed by GELU (GPT-2's fc): {@code pre (N,OC) = inp @ weight^T + bias}, {@code out = gelu(pre)}; both
     * overwritten (forward). The default runs {@link #matmulForward} and {@link #geluForward}; cuda fuses them into one
     * cuBLASLt product whose epilogue adds the bias, applies GELU and writes {@code pre} beside {@code out}.
     */
    default void matmulGeluForward(Tensor pre, Tensor out, Tensor inp, Tensor weight, Tensor bias, int N, int C, int OC) {
        matmulForward(pre, inp, weight, bias, N, C, OC);
        geluForward(out, pre, N * OC);
    }

    /**
     * The backward of a product whose input was {@code inp = gelu(pre)} (GPT-2's fc proj), through the GELU:
     * {@code dpre (N,C) = gelu'(pre) * (dout @ weight)} is <b>overwritten</b>, unlike other backward outputs (it is the
     * gradient of an intermediate that only this op produces, so nothing is there to accumulate into);
     * {@code dweight += dout^T @ inp} and {@code dbias += sum_rows(dout)} accumulate as in {@link #matmulBackward}
     * (dbias may be null). {@code dgelu} (N,C) is scratch: afterwards it holds {@code dout @ weight} or is untouched.
     * The default runs {@link #matmulBackwardOverwrite}, {@link #zero} and {@link #geluBackward}; cuda fuses the
     * GELU backward into the dinp product (cuBLASLt's DGELU epilogue) and the bias gradient into the dweight product.
     */
    default void matmulBackwardGelu(Tensor dpre, Tensor dgelu, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                                    Tensor weight, Tensor pre, int N, int C, int OC) {
        long n = (long) N * C;
        matmulBackwardOverwrite(dgelu, dweight, dbias, dout, inp, weight, N, C, OC);
        zero(dpre.first(n));
        geluBackward(dpre, pre, dgelu, N * C);
    }

    // ---- causal multi-head self-attention ------------------------------------------------------

    /**
     * qkv (B,T,3C) holds q, k, v side by side per token; head h uses channels [h*hs, (h+1)*hs) of each,
     * hs = C/NH. Writes att (B,NH,T,T): the softmax of the causal, 1/sqrt(hs)-scaled scores (zero above
     * the diagonal), and out (B,T,C) = att @ v, heads concatenated. Where
     * {@link #attentionKeepsProbabilities} is false, att holds the backend's own state for
     * {@link #attentionBackward} instead (cuda's fused attention), and may be as small as {@link #attentionStateFloats}.
     */
    void attentionForward(Tensor out, Tensor att, Tensor qkv, int B, int T, int C, int NH);

    /**
     * {@code dqkv += d(out)/d(qkv)}; att and out are what {@link #attentionForward} wrote (out is read, never
     * written: a flash-style backward needs each row's dout.out, and is given the model's own out instead of keeping a
     * copy of it); datt (B,NH,T,T, or as small as {@link #attentionScratchFloats}) is scratch that this call overwrites.
     */
    void attentionBackward(Tensor dqkv, Tensor datt, Tensor dout, Tensor qkv, Tensor att, Tensor out,
                           int B, int T, int C, int NH);

    /**
     * {@link #attentionBackward} with dqkv <b>overwritten</b>: {@code dqkv = d(out)/d(qkv)}, whatever it held (NaNs
     * included), for a dqkv nothing else adds to (GPT-2's, which the qkv product's backward reads next). The default
     * zeroes dqkv's first B*T*3C elements and accumulates; cuda writes it directly (its products with beta 0, its fused
     * kernels storing each row once: no zeroing pass, and the old dqkv is not read).
     */
    default void attentionBackwardOverwrite(Tensor dqkv, Tensor datt, Tensor dout, Tensor qkv, Tensor att, Tensor out,
                                            int B, int T, int C, int NH) {
        zero(dqkv.first((long) B * T * 3 * C));
        attentionBackward(dqkv, datt, dout, qkv, att, out, B, T, C, NH);
    }

    /**
     * Floats the {@code att} of {@link #attentionForward}/{@link #attentionBackward} must hold for every batch of
     * at most B sequences of at most T tokens: B*NH*T*T, the probabilities, unless the backend keeps less
     * between the two (cuda's fused attention: a log-sum-exp per row, B*NH*T).
     * Callers that size att for their largest batch use it.
     */
    default long attentionStateFloats(int B, int T, int C, int NH) {
        return (long) B * NH * T * T;
    }

    /**
     * Floats the {@code datt} scratch of {@link #attentionBackward} must hold for every batch of at most B
     * sequences of at most T tokens: B*NH*T*T unless the backend needs less.
     */
    default long attentionScratchFloats(int B, int T, int C, int NH) {
        return (long) B * NH * T * T;
    }

    /**
     * Whether {@link #attentionForward} at these dims leaves the probabilities (B,NH,T,T) in att, as the
     * contract describes; false where the backend keeps its own state there (see {@link #attentionStateFloats}).
     */
    default boolean attentionKeepsProbabilities(int B, int T, int C, int NH) {
        return true;
    }

    /**
     * The element type of {@code att} and {@code datt} for batches of at most B sequences of at most T tokens (both
     * one type): F32 here and wherever {@link #activationDType} is F32. The cuda backend in bf16 mode says BF16
     * where its cuBLAS attention path runs (the scores, probabilities and their gradients stored in bf16, as llm.c's
     * unfused attention keeps them), and F32 where its fused path keeps per-row log-sum-exps there instead.
     */
    default DType attentionStateDType(int B, int T, int C, int NH) {
        return DType.F32;
    }

    // ---- elementwise -------------------------------------------------------------------------

    /** GELU, tanh approximation: {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}. */
    void geluForward(Tensor out, Tensor inp, int N);

    void geluBackward(Tensor dinp, Tensor inp, Tensor dout, int N);

    /** {@code out = a + b}. */
    void residualForward(Tensor out, Tensor a, Tensor b, int N);

    /** {@code da += dout; db += dout}. */
    void residualBackward(Tensor da, Tensor db, Tensor dout, int N);

    // ---- fused classifier: logits -> softmax -> cross-entropy -> dlogits -----------------------

    /**
     * For each of the N rows of x (N,C): logits = x @ wte^T (V), p = softmax(logits),
     * {@code losses[i] = -log p[targets[i]]}. Rows whose target is negative are ignored: loss 0,
     * no gradient (loss masking). When {@code backward} is set, also accumulates
     * {@code dx += dlogits @ wte} and {@code dwte += dlogits^T @ x} with
     * {@code dlogits = (p - onehot(target)) * dlossScale} (dwte may be null for a frozen wte, LoRA's: then only dx is
     * accumulated and the dwte product is not run), and never holds more than
     * {@code scratch} worth of logits at once: scratch (R,V) for some R >= 1 sets the row chunk (rows
     * {@link #classifierRowStride} apart where the scratch holds at least one such row).
     *
     * @return the sum of losses over the non-ignored rows (double, so a mean over many rows is exact enough)
     */
    double classifier(Tensor losses, Tensor dx, Tensor dwte, Tensor x, Tensor wte, Tensor targets,
                      Tensor scratch, int N, int C, int V, float dlossScale, boolean backward);

    /**
     * Rows of logits a model's {@link #classifier} scratch should hold for N rows over a vocabulary of V (the
     * scratch is then (rows, {@link #classifierRowStride}(V)) of {@link #activationDType}): {@link #defaultClassifierRows}
     * (64 MiB of F32) here. The cuda backend takes far more (up to 1 GiB): each chunk re-reads and re-writes the whole
     * fp32 {@code dwte} and multiplies with an inner dimension of only the chunk's rows.
     */
    default long classifierRows(long N, int V) {
        return defaultClassifierRows(N, V);
    }

    /**
     * Elements from one row of logits to the next in a model's {@link #classifier} scratch: V here. The cuda backend
     * pads it to a multiple of 64 (GPT-2's 50,257 to 50,304), so that every row of the logits, which products write
     * and read, starts 128-byte aligned; the padding is never read. A scratch smaller than one padded row is still
     * taken, with rows V apart.
     */
    default int classifierRowStride(int V) {
        return V;
    }

    /** {@code min(N, max(1, 2^24 / V))}: at most 64 MiB of F32 logits at once. */
    static long defaultClassifierRows(long N, int V) {
        return Math.max(1, Math.min(N, (1L << 24) / V));
    }

    // ---- optimizer ---------------------------------------------------------------------------

    /** Sum of squares of all elements (for the global gradient norm), in double. */
    double sumSquares(Tensor t);

    /**
     * One AdamW step over params/grads/m/v of equal size (decoupled weight decay, bias correction
     * with {@code step} starting at 1). The gradient is multiplied by {@code gradScale} first
     * (global-norm clipping and accumulation averaging in one multiply).
     */
    void adamw(Tensor params, Tensor grads, Tensor m, Tensor v, float lr, float beta1, float beta2,
               float eps, float weightDecay, int step, float gradScale);

    /**
     * Tells the backend that {@code params} is a model's flat parameter buffer on it (models call this
     * once, when they allocate or borrow the buffer; null forgets it). A hint with no effect on results:
     * the default does nothing. The cuda backend in bf16 mode keeps one bf16 copy of this buffer that
     * {@link #adamw} keeps current, so products read their weights from it instead of converting each
     * weight before each product; any other write into the buffer through the backend makes it refresh.
     */
    default void parametersAre(Tensor params) {}

    /**
     * The element type a model should store its product-input activations in: the tensors only products and
     * this backend's kernels read (GPT-2's layernorm outputs, qkv, the attention output, the fc output and its
     * GELU). F32 here and on every backend but cuda in bf16 mode, which multiplies bf16 operands anyway and
     * so keeps them as bf16: half their memory, and no rounding copy before each product. Where this is BF16,
     * {@link #layernormForward} and {@link #residualLayernormForward} ({@code out}; and {@code b} with it: GPT-2's
     * attproj/fcproj output, added to the fp32 residual), {@link #layernormBackwardCopy}
     * ({@code dinpCopy}, {@code dout}), {@link #rmsnormBackwardCopy} ({@code dinpCopy}), {@link #matmulForward}
     * ({@code out}, {@code inp}), {@link #matmulBackward} and {@link #matmulBackwardOverwrite} ({@code inp}, and
     * {@code dout}: GPT-2's d(fch), dqkv and the residual stream's gradient; {@link #matmulBackwardOverwrite} also
     * {@code dinp}, GPT-2's d(attention
     * output), written rounded once), {@link #matmulGeluForward} ({@code pre}, {@code out}, {@code inp}),
     * {@link #matmulBackwardGelu} ({@code inp}, {@code pre}, {@code dpre} with {@code pre}, and {@code dout}), {@link #attentionForward}
     * and {@link #attentionBackward} ({@code qkv} and {@code out}, one type; and {@code dqkv} with {@code dout}, one type
     * too: GPT-2's attention gradients, added to in fp32 and rounded once), {@link #geluForward} (both),
     * {@link #geluBackward} ({@code inp}, and {@code dinp} with {@code inp}: added to in fp32, rounded once) and
     * {@link #classifier} ({@code x}, and {@code scratch}: the logits,
     * overwritten in place by the dlogits) take BF16 tensors there, and for
     * Llama's layers {@link #rmsnormForward} ({@code out}), {@link #swigluForward} (all three, one type),
     * {@link #swigluBackward} ({@code gate}, {@code up}; and {@code dgate}, {@code dup} with {@code dout}, one type), {@link #ropeForward} ({@code x}),
     * {@link #gqaAttentionForward} ({@code out}, {@code q}, {@code k}, {@code v}, one type) and
     * {@link #gqaAttentionBackward} ({@code q}, {@code k}, {@code v}; and {@code dq}, {@code dk}, {@code dv} with
     * {@code dout}, one type: Llama's attention gradients), {@link #ropeBackward} ({@code dx}); for decoding, {@link #gqaAttentionDecode},
     * {@link #gqaAttentionDecodeRows} and the {@link StepGraphs} variants ({@code out}, {@code q}, the new keys and
     * values and the KV caches, one type; the probabilities scratch stays F32), {@link #ropeForwardRows} ({@code x});
     * other gradients, residuals and statistics stay F32.
     */
    default DType activationDType() {
        return DType.F32;
    }

    /**
     * The element type a decoder may store its weight matrices in, for {@link #matmulForward}'s {@code weight} (its
     * other weights, and every weight a training step reads, stay F32): F32 here and on every backend but cuda in bf16
     * mode, whose products round a float32 weight to bf16 anyway, so that storing only the rounding gives the same
     * numbers with a third of the memory of the float32 weights and their bf16 copy.
     */
    default DType decodeWeightDType() {
        return DType.F32;
    }

    // ---- Llama-style layers: RMSNorm, RoPE, SwiGLU, grouped-query causal attention -------------

    /**
     * RMSNorm per row of inp (N,C): {@code out = weight * inp * rstd} with
     * {@code rstd = 1 / sqrt(mean(inp^2) + eps)}, saved in rstd (N) for the backward.
     */
    void rmsnormForward(Tensor out, Tensor rstd, Tensor inp, Tensor weight, int N, int C, float eps);

    /**
     * {@code dinp += rstd * (weight*dout) - rstd^3 / C * inp * sum(weight*dout*inp)} per row;
     * {@code dweight += sum_rows(dout * inp * rstd)}.
     */
    void rmsnormBackward(Tensor dinp, Tensor dweight, Tensor dout, Tensor inp, Tensor weight, Tensor rstd, int N, int C);

    /**
     * {@link #rmsnormBackward}, then {@code dinpCopy} (N,C) = dinp's new values, as {@link #layernormBackwardCopy} does
     * for GPT-2: where {@link #activationDType} is BF16 the copy may be BF16 (Llama's residual stream gradient as the next
     * backward products' operand, written in the same pass on cuda). The default runs {@link #rmsnormBackward} and
     * {@link #copy} (copy and dinp of one type).
     */
    default void rmsnormBackwardCopy(Tensor dinp, Tensor dinpCopy, Tensor dweight, Tensor dout, Tensor inp, Tensor weight,
                                     Tensor rstd, int N, int C) {
        rmsnormBackward(dinp, dweight, dout, inp, weight, rstd, N, C);
        long n = (long) N * C;
        copy(dinpCopy.first(n), dinp.first(n));
    }

    /**
     * Rotary position embedding in place (llama2.c's interleaved pairs): x (B,T,NH*hs); for token t,
     * head h and pair i in [0, hs/2) the values {@code (x[2i], x[2i+1])} of the head are rotated by the
     * angle whose cosine and sine are {@code cos[t,i]}, {@code sin[t,i]}: tables of at least (T, hs/2),
     * usually {@code angle = t * theta^(-2i/hs)} (see {@link #ropeTables}). hs must be even.
     */
    void ropeForward(Tensor x, Tensor cos, Tensor sin, int B, int T, int NH, int hs);

    /**
     * The backward of {@link #ropeForward}, in place: dx holds d(loss)/d(rotated x) and becomes
     * d(loss)/d(x) (the transposed rotation). Unlike the other backward ops it transforms rather than
     * accumulates: RoPE sits between a matmul's output and the attention, so the gradient arrives whole.
     */
    void ropeBackward(Tensor dx, Tensor cos, Tensor sin, int B, int T, int NH, int hs);

    /** SwiGLU's gate: {@code out = silu(gate) * up} elementwise, {@code silu(a) = a * sigmoid(a)}; N elements. */
    void swigluForward(Tensor out, Tensor gate, Tensor up, int N);

    /** {@code dgate += dout * up * silu'(gate); dup += dout * silu(gate)}. */
    void swigluBackward(Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up, int N);

    /**
     * {@link #swigluBackward} with dgate and dup <b>overwritten</b> (whatever they held), for gradients nothing else adds
     * to (Llama's). The default zeroes their first N elements and accumulates; cuda writes them directly.
     */
    default void swigluBackwardOverwrite(Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up, int N) {
        zero(dgate.first(N));
        zero(dup.first(N));
        swigluBackward(dgate, dup, dout, gate, up, N);
    }

    /**
     * Causal grouped-query attention. q (B,T,NH*hs); k and v (B,T,NKV*hs); query head h reads kv head
     * {@code h / (NH/NKV)} (NKV divides NH; NKV = NH is plain multi-head attention). Writes att (B,NH,T,T):
     * the softmax of the causal, 1/sqrt(hs)-scaled scores (zero above the diagonal), and out (B,T,NH*hs)
     * = att @ v, heads concatenated. Where {@link #gqaAttentionKeepsProbabilities} is false, att holds the
     * backend's own state for {@link #gqaAttentionBackward} instead (cuda's fused attention), and may be as small
     * as {@link #gqaAttentionStateFloats}.
     */
    void gqaAttentionForward(Tensor out, Tensor att, Tensor q, Tensor k, Tensor v, int B, int T, int NH, int NKV, int hs);

    /**
     * {@code dq, dk, dv += d(out)/d(q, k, v)} of {@link #gqaAttentionForward} (a kv head's gradient sums
     * over the query heads that share it); datt (B,NH,T,T) is scratch that this call overwrites (it is
     * left holding d(loss)/d(q.k), the gradient of the unscaled scores, zero above the diagonal; where
     * {@link #gqaAttentionKeepsProbabilities} is false it may be as small as {@link #gqaAttentionScratchFloats} and
     * what it holds afterwards is unspecified). att and out are what {@link #gqaAttentionForward} wrote (out read only,
     * as in {@link #attentionBackward}).
     */
    void gqaAttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor datt, Tensor dout, Tensor q, Tensor k, Tensor v,
                              Tensor att, Tensor out, int B, int T, int NH, int NKV, int hs);

    /**
     * {@link #gqaAttentionBackward} with dq, dk and dv <b>overwritten</b> (whatever they held), for gradients nothing
     * else adds to (Llama's). The default zeroes them (B*T*NH*hs, B*T*NKV*hs twice) and accumulates; cuda writes them
     * directly.
     */
    default void gqaAttentionBackwardOverwrite(Tensor dq, Tensor dk, Tensor dv, Tensor datt, Tensor dout, Tensor q, Tensor k,
                                               Tensor v, Tensor att, Tensor out, int B, int T, int NH, int NKV, int hs) {
        long bt = (long) B * T;
        zero(dq.first(bt * NH * hs));
        zero(dk.first(bt * NKV * hs));
        zero(dv.first(bt * NKV * hs));
        gqaAttentionBackward(dq, dk, dv, datt, dout, q, k, v, att, out, B, T, NH, NKV, hs);
    }

    /**
     * Floats the {@code att} of {@link #gqaAttentionForward}/{@link #gqaAttentionBackward} must hold for every batch
     * of at most B sequences of at most T tokens: B*NH*T*T, the probabilities, unless the backend keeps less
     * between the two (cuda's fused attention: a log-sum-exp per row, B*NH*T).
     * Callers that size att for their largest batch use it.
     */
    default long gqaAttentionStateFloats(int B, int T, int NH, int NKV, int hs) {
        return (long) B * NH * T * T;
    }

    /**
     * Floats the {@code datt} scratch of {@link #gqaAttentionBackward} must hold for every batch of at most B
     * sequences of at most T tokens: B*NH*T*T unless the backend needs less.
     */
    default long gqaAttentionScratchFloats(int B, int T, int NH, int NKV, int hs) {
        return (long) B * NH * T * T;
    }

    /**
     * Whether {@link #gqaAttentionForward} at these dims leaves the probabilities (B,NH,T,T) in att, as the
     * contract describes; false where the backend keeps its own state there (see {@link #gqaAttentionStateFloats}).
     */
    default boolean gqaAttentionKeepsProbabilities(int B, int T, int NH, int NKV, int hs) {
        return true;
    }

    /**
     * Fills host F32 tables cos and sin (at least T*hs/2 each, read as (T, hs/2)) with llama2.c's RoPE
     * angles {@code t * theta^(-2i/hs)}, computed in double. Copy them to a backend's tensors with
     * {@link #copy}.
     */
    static void ropeTables(Tensor cos, Tensor sin, int T, int hs, double theta) {
        if (T <= 0 || hs <= 0 || hs % 2 != 0) {
            throw new IllegalArgumentException("ropeTables: T must be positive and hs positive and even, got T=" + T + ", hs=" + hs);
        }
        int half = hs / 2;
        cos.requireAtLeast("cos", dev.jgpt.memory.DType.F32, (long) T * half);
        sin.requireAtLeast("sin", dev.jgpt.memory.DType.F32, (long) T * half);
        for (int t = 0; t < T; t++) {
            for (int i = 0; i < half; i++) {
                double freq = 1.0 / Math.pow(theta, (2.0 * i) / hs);   // run.c: 1 / theta^(2i/hs), angle = pos * freq
                double angle = t * freq;
                cos.setFloat((long) t * half + i, (float) Math.cos(angle));
                sin.setFloat((long) t * half + i, (float) Math.sin(angle));
            }
        }
    }

    // ---- inference -----------------------------------------------------------------------------

    /**
     * Single-token causal attention over a KV cache: q (C) for position {@code pos}; kCache and vCache
     * (maxT, C) hold positions 0..pos (the current token's k and v already written). Writes out (C).
     * att is scratch of at least NH*(pos+1) floats. By default {@link #gqaAttentionDecode} of one row with one
     * query head per kv head (NKV = NH, hs = C/NH), which is the same computation.
     */
    default void attentionDecode(Tensor out, Tensor att, Tensor q, Tensor kCache, Tensor vCache, int pos, int C, int NH) {
        if (C <= 0 || NH <= 0 || C % NH != 0) {
            throw new IllegalArgumentException("C, NH: C must be a positive multiple of NH but C=" + C + ", NH=" + NH);
        }
        gqaAttentionDecode(out, att, q, kCache, vCache, pos, 1, NH, NH, C / NH);
    }

    /**
     * {@link #attentionDecode} with grouped-query heads, for a block of {@code rows} consecutive query rows
     * (Llama decoding, and prefill over a KV cache in one call per layer): q (rows, NH*hs) holds the queries of
     * positions pos..pos+rows-1; kCache and vCache (maxT, NKV*hs) hold positions 0..pos+rows-1 (the block's own
     * keys and values already written). Row i attends causally over positions 0..pos+i; query head h reads kv
     * head {@code h / (NH/NKV)} (NKV divides NH). Writes out (rows, NH*hs), heads concatenated per row.
     * att is scratch of at least NH*rows*(pos+rows) floats, left holding the probabilities as
     * (NH, rows, pos+rows), zero past each row's own position: the layout of {@link #gqaAttentionForward}'s
     * att when pos = 0, and (NH, pos+1) when rows = 1.
     */
    void gqaAttentionDecode(Tensor out, Tensor att, Tensor q, Tensor kCache, Tensor vCache, int pos, int rows, int NH, int NKV,
                            int hs);

    /** Floats of {@code att} scratch {@link #gqaAttentionDecode} needs for a block of rows at position pos: NH*rows*(pos+rows). */
    static long gqaAttentionDecodeScratchFloats(int pos, int rows, int NH) {
        return (long) NH * rows * ((long) pos + rows);
    }

    /**
     * One decode step's attention for {@code n} sequences that each have their own KV cache (a server's batched
     * step): for row i, the new key and value (row i of kNew / vNew, NKV*hs floats each) go into
     * {@code kCaches[i]} / {@code vCaches[i]} at position {@code pos[i]}; then row i of out (n, NH*hs) is query
     * row i of q attending over that cache's positions 0..pos[i] ({@link #gqaAttentionDecode} of one row).
     * att is scratch of at least {@link #gqaAttentionDecodeRowsScratchFloats} floats; what it holds afterwards is
     * unspecified. The default makes the two copies and one {@link #gqaAttentionDecode} per row; a device
     * backend does it all in one launch.
     */
    default void gqaAttentionDecodeRows(Tensor out, Tensor att, Tensor q, Tensor kNew, Tensor vNew, Tensor[] kCaches,
                                        Tensor[] vCaches, int[] pos, int n, int NH, int NKV, int hs) {
        int kv = NKV * hs, qw = NH * hs;
        for (int i = 0; i < n; i++) {
            requireRows("kCaches", i, kCaches[i], (pos[i] + 1L) * kv);
            requireRows("vCaches", i, vCaches[i], (pos[i] + 1L) * kv);
        }
        if (n == 1 && kNew.isHost() && vNew.isHost() && kCaches[0].isHost() && vCaches[0].isHost()) {
            // one decode row in host memory (single-sequence decoding on the cpu or reference backend): copied
            // without making views, so that a decode step allocates nothing
            requireRows("kNew", 0, kNew, kv);
            requireRows("vNew", 0, vNew, kv);
            java.lang.foreign.MemorySegment.copy(kNew.data(), 0, kCaches[0].data(), 4L * pos[0] * kv, 4L * kv);
            java.lang.foreign.MemorySegment.copy(vNew.data(), 0, vCaches[0].data(), 4L * pos[0] * kv, 4L * kv);
            gqaAttentionDecode(out, att, q, kCaches[0], vCaches[0], pos[0], 1, NH, NKV, hs);
            return;
        }
        for (int i = 0; i < n; i++) {
            copy(kCaches[i].view((long) pos[i] * kv, kv), kNew.view((long) i * kv, kv));
            copy(vCaches[i].view((long) pos[i] * kv, kv), vNew.view((long) i * kv, kv));
            gqaAttentionDecode(out.view((long) i * qw, qw), att, q.view((long) i * qw, qw), kCaches[i], vCaches[i], pos[i], 1,
                    NH, NKV, hs);
        }
    }

    /**
     * {@link #encoderForward} for a batched decode step: row r of out (n, C) is {@code wte[tokens[r]] + wpe[pos[r]]},
     * each token of its own sequence at its own position (wpe: (maxT, C) from position 0). The default encodes
     * row by row; a device backend checks the ids and encodes all rows in one go.
     */
    default void encoderForwardRows(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int[] pos, int n, int C) {
        for (int r = 0; r < n; r++) {
            encoderForward(out.view((long) r * C, C), tokens.view(r, 1), wte, wpe.view((long) pos[r] * C, C), 1, 1, C);
        }
    }

    /**
     * {@link #ropeForward} for a batched decode step: row r of x (n, heads*hs) is one token of its own sequence
     * at position {@code pos[r]}, rotated by row pos[r] of the tables cos and sin (maxT, hs/2). The default
     * rotates row by row; a device backend does all rows in one launch.
     */
    default void ropeForwardRows(Tensor x, Tensor cos, Tensor sin, int[] pos, int n, int heads, int hs) {
        int w = heads * hs, half = hs / 2;
        for (int r = 0; r < n; r++) {
            ropeForward(x.view((long) r * w, w), cos.view((long) pos[r] * half, half), sin.view((long) pos[r] * half, half), 1, 1,
                    heads, hs);
        }
    }

    /** Element i of an array argument holds at least n floats; its name is built only to report a failure. */
    private static void requireRows(String array, int i, Tensor t, long n) {
        if (t.dtype() != dev.jgpt.memory.DType.F32 || t.numel() < n) t.requireAtLeast(array + "[" + i + "]", dev.jgpt.memory.DType.F32, n);
    }

    /** Floats of {@code att} scratch {@link #gqaAttentionDecodeRows} needs: NH * n * (largest position + 1). */
    static long gqaAttentionDecodeRowsScratchFloats(int[] pos, int n, int NH) {
        int max = 0;
        for (int i = 0; i < n; i++) max = Math.max(max, pos[i]);
        return (long) NH * n * (max + 1L);
    }

    @Override
    default void close() {}
}
