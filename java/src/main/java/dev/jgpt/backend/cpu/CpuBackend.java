package dev.jgpt.backend.cpu;

import static dev.jgpt.bindings.Cblas.CblasNoTrans;
import static dev.jgpt.bindings.Cblas.CblasRowMajor;
import static dev.jgpt.bindings.Cblas.CblasTrans;

import dev.jgpt.backend.Backend;
import dev.jgpt.bindings.Cblas;
import dev.jgpt.bindings.Jgpt;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The {@code cpu} backend: every matrix product through OpenBLAS's {@code cblas_sgemm}, everything
 * else through libjgpt's C kernels (OpenMP). Both libraries run on the caller's thread and use the
 * same number of worker threads, one after the other (never at the same time), set by
 * {@link #setThreads(int)}.
 *
 * <p>Attention runs in libjgpt: per (batch, head), in blocks of 64 query rows, cblas_sgemm for the
 * scores (only up to the diagonal block: the causal upper triangle is never multiplied) and for
 * att @ v, with scale, mask and softmax in C between them while the block is in cache. Heads run in
 * parallel on OpenMP threads, each calling a single-threaded sgemm (libjgpt gets OpenBLAS's
 * function addresses at load time).
 * The classifier computes logits for a chunk of rows into the caller's scratch with sgemm, turns
 * them into dlogits in place (softmax, loss, minus one-hot) and feeds them straight into the two
 * gradient sgemms, so the (rows, V) probabilities exist once per chunk and are never stored twice.
 *
 * <p>Threads are process-wide: OpenBLAS and OpenMP each have one global setting, so the last
 * {@link #setThreads(int)} of any CpuBackend in the process wins.
 *
 * <p>The only memory the backend owns is a small scratch for per-thread partial sums in layernorm
 * backward, grown (rarely) when a wider row or more threads need more.
 */
public final class CpuBackend implements Backend {
    private static final long F = Float.BYTES;

    private int threads;
    private final Arena scratchArena = Arena.ofShared();
    private MemorySegment scratch = MemorySegment.NULL;

    /** Loads the native libraries (or throws IllegalStateException saying which one failed and why). */
    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public CpuBackend(int threads) {
        NativeLibraries.require();
        setThreads(threads);
    }

    /** Null when the backend can be used here, else the reason it cannot. */
    public static String unavailableReason() {
        NativeLibraries.Status s = NativeLibraries.status();
        return s.available() ? null : s.reason();
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public TensorArena newArena() {
        return TensorArena.host();
    }

    @Override
    public void setThreads(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads: must be >= 1 but was " + threads);
        this.threads = threads;
        Cblas.openblas_set_num_threads(threads);
        Jgpt.jgpt_set_num_threads(threads);
    }

    @Override
    public int threads() {
        return threads;
    }

    // ---- copies ---------------------------------------------------------------------------------

    @Override
    public void copy(Tensor dst, Tensor src) {
        notNull("dst", dst);
        notNull("src", src);
        if (dst.dtype() != src.dtype()) {
            throw new IllegalArgumentException("dst: dtype " + dst.dtype() + " differs from src's " + src.dtype());
        }
        if (dst.numel() != src.numel()) {
            throw new IllegalArgumentException("dst: " + dst.numel() + " elements but src has " + src.numel());
        }
        host("dst", dst);
        host("src", src);
        MemorySegment.copy(src.data(), 0, dst.data(), 0, src.byteSize());
    }

    @Override
    public void zero(Tensor t) {
        notNull("t", t);
        host("t", t);
        MemorySegment d = t.data();
        (d.byteSize() == t.byteSize() ? d : d.asSlice(0, t.byteSize())).fill((byte) 0); // no slice object when exact
    }

    // ---- encoder --------------------------------------------------------------------------------

    @Override
    public void encoderForward(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, int B, int T, int C) {
        dim("B", B); dim("T", T); dim("C", C);
        long n = (long) B * T;
        f32("out", out, n * C);
        i32("tokens", tokens, n);
        f32("wte", wte, C);
        f32("wpe", wpe, (long) T * C);
        checkTokens("tokens", tokens, n, wte.numel() / C);
        Jgpt.jgpt_encoder_forward(out.data(), tokens.data(), wte.data(), wpe.data(), B, T, C);
    }

    @Override
    public void encoderBackward(Tensor dwte, Tensor dwpe, Tensor dout, Tensor tokens, int B, int T, int C) {
        dim("B", B); dim("T", T); dim("C", C);
        long n = (long) B * T;
        f32("dwte", dwte, C);
        f32("dwpe", dwpe, (long) T * C);
        f32("dout", dout, n * C);
        i32("tokens", tokens, n);
        checkTokens("tokens", tokens, n, dwte.numel() / C);
        Jgpt.jgpt_encoder_backward(dwte.data(), dwpe.data(), dout.data(), tokens.data(), B, T, C);
    }

    // ---- layernorm ------------------------------------------------------------------------------

    @Override
    public void layernormForward(Tensor out, Tensor mean, Tensor rstd, Tensor inp, Tensor weight, Tensor bias,
                                 int N, int C) {
        dim("N", N); dim("C", C);
        long nc = (long) N * C;
        f32("out", out, nc);
        f32("mean", mean, N);
        f32("rstd", rstd, N);
        f32("inp", inp, nc);
        f32("weight", weight, C);
        f32("bias", bias, C);
        Jgpt.jgpt_layernorm_forward(out.data(), mean.data(), rstd.data(), inp.data(), weight.data(), bias.data(), N, C);
    }

    @Override
    public void layernormBackward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                                  Tensor weight, Tensor mean, Tensor rstd, int N, int C) {
        dim("N", N); dim("C", C);
        long nc = (long) N * C;
        f32("dinp", dinp, nc);
        f32("dweight", dweight, C);
        f32("dbias", dbias, C);
        f32("dout", dout, nc);
        f32("inp", inp, nc);
        f32("weight", weight, C);
        f32("mean", mean, N);
        f32("rstd", rstd, N);
        MemorySegment partials = scratch(2L * C * Math.max(threads, Jgpt.jgpt_get_max_threads()));
        Jgpt.jgpt_layernorm_backward(dinp.data(), dweight.data(), dbias.data(), dout.data(), inp.data(),
                weight.data(), mean.data(), rstd.data(), partials, N, C);
    }

    // ---- matmul ---------------------------------------------------------------------------------

    @Override
    public void matmulForward(Tensor out, Tensor inp, Tensor weight, Tensor bias, int N, int C, int OC) {
        dim("N", N); dim("C", C); dim("OC", OC);
        f32("out", out, (long) N * OC);
        f32("inp", inp, (long) N * C);
        f32("weight", weight, (long) OC * C);
        float beta = 0f;
        if (bias != null) {
            f32("bias", bias, OC);
            Jgpt.jgpt_broadcast_rows(out.data(), bias.data(), N, OC);
            beta = 1f;
        }
        Cblas.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C,
                1f, inp.data(), C, weight.data(), C, beta, out.data(), OC);
    }

    @Override
    public void matmulBackward(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp, Tensor weight,
                               int N, int C, int OC) {
        matmulBackward(dinp, 1f, dweight, dbias, dout, inp, weight, N, C, OC);
    }

    /** dinp written by the product (beta 0), not zeroed first and then accumulated into. */
    @Override
    public void matmulBackwardOverwrite(Tensor dinp, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp, Tensor weight,
                                        int N, int C, int OC) {
        matmulBackward(dinp, 0f, dweight, dbias, dout, inp, weight, N, C, OC);
    }

    /**
     * {@code dinp = dinpBeta * dinp + dout @ weight} (1: the contract's +=, 0: overwritten); the rest accumulates. A null
     * dweight (a frozen weight) skips its product.
     */
    private void matmulBackward(Tensor dinp, float dinpBeta, Tensor dweight, Tensor dbias, Tensor dout, Tensor inp,
                                Tensor weight, int N, int C, int OC) {
        dim("N", N); dim("C", C); dim("OC", OC);
        f32("dinp", dinp, (long) N * C);
        if (dweight != null) f32("dweight", dweight, (long) OC * C);
        f32("dout", dout, (long) N * OC);
        f32("inp", inp, (long) N * C);
        f32("weight", weight, (long) OC * C);
        if (dbias != null) f32("dbias", dbias, OC);
        // dinp (N,C) (+)= dout (N,OC) @ weight (OC,C)
        Cblas.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC,
                1f, dout.data(), OC, weight.data(), C, dinpBeta, dinp.data(), C);
        // dweight (OC,C) += dout^T (OC,N) @ inp (N,C)
        if (dweight != null) {
            Cblas.cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N,
                    1f, dout.data(), OC, inp.data(), C, 1f, dweight.data(), C);
        }
        if (dbias != null) Jgpt.jgpt_sum_rows(dbias.data(), dout.data(), N, OC);
    }

    @Override
    public void matmulAddForward(Tensor out, Tensor inp, Tensor weight, int N, int C, int OC, float alpha) {
        dim("N", N); dim("C", C); dim("OC", OC);
        f32("out", out, (long) N * OC);
        f32("inp", inp, (long) N * C);
        f32("weight", weight, (long) OC * C);
        // out (N,OC) += alpha * inp (N,C) @ weight (OC,C)^T: beta 1
        Cblas.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C,
                alpha, inp.data(), C, weight.data(), C, 1f, out.data(), OC);
    }

    @Override
    public void matmulAddBackward(Tensor dinp, Tensor dweight, Tensor dout, Tensor inp, Tensor weight, int N, int C, int OC,
                                  float alpha) {
        dim("N", N); dim("C", C); dim("OC", OC);
        f32("dinp", dinp, (long) N * C);
        f32("dweight", dweight, (long) OC * C);
        f32("dout", dout, (long) N * OC);
        f32("inp", inp, (long) N * C);
        f32("weight", weight, (long) OC * C);
        // dinp (N,C) = alpha * dout (N,OC) @ weight (OC,C): beta 0, the old dinp not read
        Cblas.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC,
                alpha, dout.data(), OC, weight.data(), C, 0f, dinp.data(), C);
        // dweight (OC,C) += alpha * dout^T (OC,N) @ inp (N,C)
        Cblas.cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N,
                alpha, dout.data(), OC, inp.data(), C, 1f, dweight.data(), C);
    }

    // ---- attention ------------------------------------------------------------------------------

    @Override
    public void attentionForward(Tensor out, Tensor att, Tensor qkv, int B, int T, int C, int NH) {
        headSize(B, T, C, NH);
        f32("out", out, (long) B * T * C);
        f32("att", att, (long) B * NH * T * T);
        f32("qkv", qkv, (long) B * T * 3 * C);
        Jgpt.jgpt_attention_forward(out.data(), att.data(), qkv.data(), B, T, C, NH);
    }

    @Override
    public void attentionBackward(Tensor dqkv, Tensor datt, Tensor dout, Tensor qkv, Tensor att, Tensor out,
                                  int B, int T, int C, int NH) {
        headSize(B, T, C, NH);
        f32("dqkv", dqkv, (long) B * T * 3 * C);
        f32("datt", datt, (long) B * NH * T * T);
        f32("dout", dout, (long) B * T * C);
        f32("qkv", qkv, (long) B * T * 3 * C);
        f32("att", att, (long) B * NH * T * T);
        f32("out", out, (long) B * T * C); // not read: the probabilities in att suffice here
        Jgpt.jgpt_attention_backward(dqkv.data(), datt.data(), dout.data(), qkv.data(), att.data(), B, T, C, NH);
    }

    // ---- elementwise ----------------------------------------------------------------------------

    @Override
    public void geluForward(Tensor out, Tensor inp, int N) {
        dim("N", N);
        f32("out", out, N);
        f32("inp", inp, N);
        Jgpt.jgpt_gelu_forward(out.data(), inp.data(), N);
    }

    @Override
    public void geluBackward(Tensor dinp, Tensor inp, Tensor dout, int N) {
        dim("N", N);
        f32("dinp", dinp, N);
        f32("inp", inp, N);
        f32("dout", dout, N);
        Jgpt.jgpt_gelu_backward(dinp.data(), inp.data(), dout.data(), N);
    }

    @Override
    public void residualForward(Tensor out, Tensor a, Tensor b, int N) {
        dim("N", N);
        f32("out", out, N);
        f32("a", a, N);
        f32("b", b, N);
        Jgpt.jgpt_residual_forward(out.data(), a.data(), b.data(), N);
    }

    @Override
    public void residualBackward(Tensor da, Tensor db, Tensor dout, int N) {
        dim("N", N);
        f32("da", da, N);
        f32("db", db, N);
        f32("dout", dout, N);
        Jgpt.jgpt_residual_backward(da.data(), db.data(), dout.data(), N);
    }

    // ---- classifier -----------------------------------------------------------------------------

    @Override
    public double classifier(Tensor losses, Tensor dx, Tensor dwte, Tensor x, Tensor wte, Tensor targets,
                             Tensor scratch, int N, int C, int V, float dlossScale, boolean backward) {
        dim("N", N); dim("C", C); dim("V", V);
        f32("losses", losses, N);
        f32("x", x, (long) N * C);
        f32("wte", wte, (long) V * C);
        i32("targets", targets, N);
        f32("scratch", scratch, V);
        if (backward) {
            f32("dx", dx, (long) N * C);
            if (dwte != null) f32("dwte", dwte, (long) V * C); // null: a frozen wte, its product skipped in C
        }
        checkTargets(targets, N, V);
        int rows = (int) Math.min(N, scratch.numel() / V);
        MemorySegment none = MemorySegment.NULL;
        return Jgpt.jgpt_classifier(losses.data(), backward ? dx.data() : none, backward && dwte != null ? dwte.data() : none,
                x.data(), wte.data(), targets.data(), scratch.data(), rows, N, C, V, dlossScale, backward ? 1 : 0);
    }

    // ---- optimizer ------------------------------------------------------------------------------

    @Override
    public double sumSquares(Tensor t) {
        notNull("t", t);
        f32("t", t, t.numel());
        return Jgpt.jgpt_sum_squares(t.data(), t.numel());
    }

    @Override
    public void adamw(Tensor params, Tensor grads, Tensor m, Tensor v, float lr, float beta1, float beta2,
                      float eps, float weightDecay, int step, float gradScale) {
        notNull("params", params);
        long n = params.numel();
        f32("params", params, n);
        f32("grads", grads, n);
        f32("m", m, n);
        f32("v", v, n);
        if (step < 1) throw new IllegalArgumentException("step: must be >= 1 but was " + step);
        Jgpt.jgpt_adamw(params.data(), grads.data(), m.data(), v.data(), n, lr, beta1, beta2, eps, weightDecay,
                step, gradScale);
    }

    // ---- inference ------------------------------------------------------------------------------

    @Override
    public void gqaAttentionDecode(Tensor out, Tensor att, Tensor q, Tensor kCache, Tensor vCache, int pos, int rows, int NH, int NKV,
                                   int hs) {
        gqaDims(1, 1, NH, NKV, hs);
        if (pos < 0) throw new IllegalArgumentException("pos: must be >= 0 but was " + pos);
        if (rows < 1) throw new IllegalArgumentException("rows: must be positive but was " + rows);
        long kv = ((long) pos + rows) * NKV * hs;
        f32("out", out, (long) rows * NH * hs);
        f32("att", att, Backend.gqaAttentionDecodeScratchFloats(pos, rows, NH));
        f32("q", q, (long) rows * NH * hs);
        f32("kCache", kCache, kv);
        f32("vCache", vCache, kv);
        Jgpt.jgpt_gqa_attention_decode(out.data(), att.data(), q.data(), kCache.data(), vCache.data(), pos, rows, NH, NKV, hs);
    }

    // ---- Llama-style layers (libjgpt llama_ops.c) --------------------------------------------------

    @Override
    public void rmsnormForward(Tensor out, Tensor rstd, Tensor inp, Tensor weight, int N, int C, float eps) {
        dim("N", N); dim("C", C);
        if (!(eps >= 0)) throw new IllegalArgumentException("eps: must be >= 0 but was " + eps);
        long nc = (long) N * C;
        f32("out", out, nc);
        f32("rstd", rstd, N);
        f32("inp", inp, nc);
        f32("weight", weight, C);
        Jgpt.jgpt_rmsnorm_forward(out.data(), rstd.data(), inp.data(), weight.data(), N, C, eps);
    }

    @Override
    public void rmsnormBackward(Tensor dinp, Tensor dweight, Tensor dout, Tensor inp, Tensor weight, Tensor rstd,
                                int N, int C) {
        dim("N", N); dim("C", C);
        long nc = (long) N * C;
        f32("dinp", dinp, nc);
        f32("dweight", dweight, C);
        f32("dout", dout, nc);
        f32("inp", inp, nc);
        f32("weight", weight, C);
        f32("rstd", rstd, N);
        MemorySegment partials = scratch((long) C * Math.max(threads, Jgpt.jgpt_get_max_threads()));
        Jgpt.jgpt_rmsnorm_backward(dinp.data(), dweight.data(), dout.data(), inp.data(), weight.data(), rstd.data(),
                partials, N, C);
    }

    @Override
    public void ropeForward(Tensor x, Tensor cos, Tensor sin, int B, int T, int NH, int hs) {
        checkRope("x", x, cos, sin, B, T, NH, hs);
        Jgpt.jgpt_rope_forward(x.data(), cos.data(), sin.data(), B, T, NH, hs);
    }

    @Override
    public void ropeBackward(Tensor dx, Tensor cos, Tensor sin, int B, int T, int NH, int hs) {
        checkRope("dx", dx, cos, sin, B, T, NH, hs);
        Jgpt.jgpt_rope_backward(dx.data(), cos.data(), sin.data(), B, T, NH, hs);
    }

    private static void checkRope(String name, Tensor x, Tensor cos, Tensor sin, int B, int T, int NH, int hs) {
        dim("B", B); dim("T", T); dim("NH", NH); dim("hs", hs);
        if (hs % 2 != 0) throw new IllegalArgumentException("hs: RoPE rotates pairs, the head size must be even but was " + hs);
        f32(name, x, (long) B * T * NH * hs);
        f32("cos", cos, (long) T * (hs / 2));
        f32("sin", sin, (long) T * (hs / 2));
    }

    @Override
    public void swigluForward(Tensor out, Tensor gate, Tensor up, int N) {
        dim("N", N);
        f32("out", out, N);
        f32("gate", gate, N);
        f32("up", up, N);
        Jgpt.jgpt_swiglu_forward(out.data(), gate.data(), up.data(), N);
    }

    @Override
    public void swigluBackward(Tensor dgate, Tensor dup, Tensor dout, Tensor gate, Tensor up, int N) {
        dim("N", N);
        f32("dgate", dgate, N);
        f32("dup", dup, N);
        f32("dout", dout, N);
        f32("gate", gate, N);
        f32("up", up, N);
        Jgpt.jgpt_swiglu_backward(dgate.data(), dup.data(), dout.data(), gate.data(), up.data(), N);
    }

    @Override
    public void gqaAttentionForward(Tensor out, Tensor att, Tensor q, Tensor k, Tensor v, int B, int T, int NH, int NKV,
                                    int hs) {
        gqaDims(B, T, NH, NKV, hs);
        long bt = (long) B * T;
        f32("out", out, bt * NH * hs);
        f32("att", att, (long) B * NH * T * T);
        f32("q", q, bt * NH * hs);
        f32("k", k, bt * NKV * hs);
        f32("v", v, bt * NKV * hs);
        Jgpt.jgpt_gqa_attention_forward(out.data(), att.data(), q.data(), k.data(), v.data(), B, T, NH, NKV, hs);
    }

    @Override
    public void gqaAttentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor datt, Tensor dout, Tensor q, Tensor k,
                                     Tensor v, Tensor att, Tensor out, int B, int T, int NH, int NKV, int hs) {
        gqaDims(B, T, NH, NKV, hs);
        long bt = (long) B * T, tt = (long) B * NH * T * T;
        f32("dq", dq, bt * NH * hs);
        f32("dk", dk, bt * NKV * hs);
        f32("dv", dv, bt * NKV * hs);
        f32("datt", datt, tt);
        f32("dout", dout, bt * NH * hs);
        f32("q", q, bt * NH * hs);
        f32("k", k, bt * NKV * hs);
        f32("v", v, bt * NKV * hs);
        f32("att", att, tt);
        f32("out", out, bt * NH * hs); // not read: the probabilities in att suffice here
        Jgpt.jgpt_gqa_attention_backward(dq.data(), dk.data(), dv.data(), datt.data(), dout.data(), q.data(), k.data(),
                v.data(), att.data(), B, T, NH, NKV, hs);
    }

    private static void gqaDims(int B, int T, int NH, int NKV, int hs) {
        dim("B", B); dim("T", T); dim("NH", NH); dim("NKV", NKV); dim("hs", hs);
        if (NH % NKV != 0) throw new IllegalArgumentException("NKV: " + NKV + " kv heads do not divide NH = " + NH);
    }

    @Override
    public void close() {
        scratchArena.close();
    }

    // ---- helpers --------------------------------------------------------------------------------

    private MemorySegment scratch(long floats) {
        if (scratch.byteSize() < floats * F) scratch = scratchArena.allocate(floats * F, 64);
        return scratch;
    }

    private static int headSize(int B, int T, int C, int NH) {
        dim("B", B); dim("T", T); dim("C", C); dim("NH", NH);
        if (C % NH != 0) throw new IllegalArgumentException("NH: C=" + C + " is not divisible by NH=" + NH);
        return C / NH;
    }

    /** A dimension must be positive (no varargs here: ops must not allocate). */
    private static void dim(String name, int v) {
        if (v <= 0) throw new IllegalArgumentException(name + ": must be > 0 but was " + v);
    }

    private static void notNull(String name, Tensor t) {
        if (t == null) throw new IllegalArgumentException(name + ": must not be null");
    }

    private static void host(String name, Tensor t) {
        if (!t.isHost()) throw new IllegalArgumentException(name + ": the cpu backend needs a host tensor, got " + t);
    }

    private static void f32(String name, Tensor t, long n) {
        notNull(name, t);
        host(name, t);
        t.requireAtLeast(name, DType.F32, n);
    }

    private static void i32(String name, Tensor t, long n) {
        notNull(name, t);
        host(name, t);
        t.requireAtLeast(name, DType.I32, n);
    }

    /** A token outside [0, V) would make the C kernel read outside wte: refuse it here. */
    private static void checkTokens(String name, Tensor tokens, long n, long V) {
        MemorySegment s = tokens.data();
        for (long i = 0; i < n; i++) {
            int tok = s.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, i);
            if (tok < 0 || tok >= V) {
                throw new IllegalArgumentException(name + ": token " + tok + " at index " + i + " is outside [0, " + V + ")");
            }
        }
    }

    private static void checkTargets(Tensor targets, int N, int V) {
        MemorySegment s = targets.data();
        for (long i = 0; i < N; i++) {
            int t = s.getAtIndex(java.lang.foreign.ValueLayout.JAVA_INT, i);
            if (t >= V) throw new IllegalArgumentException("targets: target " + t + " at index " + i + " is >= V=" + V);
        }
    }
}
