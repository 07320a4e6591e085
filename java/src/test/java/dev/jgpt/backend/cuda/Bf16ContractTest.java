package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The ops whose products change in {@link GemmMath#BF16} mode (matmul, attention, classifier, forward and
 * backward) against the fp32 reference, with the stated bound for bf16 operands: {@value #BOUND} relative
 * (max |diff| / max |ref|). Two more checks make sure the numbers really went through bf16: each result
 * differs from the fp32 reference by more than {@value #MIN_BF16_EFFECT} relative (bf16 keeps 8 bits of
 * mantissa, so rounding the inputs moves results by about 1e-3; 0 would mean fp32 products), and the
 * matmul equals the fp32 reference computed on inputs rounded to bf16 (round-to-nearest-even) on the host.
 * Every other op is the fp32 code in every mode (the contract tests cover it).
 */
abstract class Bf16ContractTest extends CudaReferenceFixture {
    static final double BOUND = 1e-2;
    static final double MIN_BF16_EFFECT = 1e-5;
    /** fp32 products of bf16-rounded inputs: only the accumulation order differs. */
    static final double ROUNDED_INPUT_BOUND = 1e-5;

    private final Random random = new Random(17);

    @Override
    void configure(CudaBackend cuda) {
        assertThat(cuda.math()).isEqualTo(GemmMath.BF16);
    }

    @Test
    void matmulForwardAndBackward() {
        int N = 21, C = 24, OC = 37;
        Tensor inp = randn(1, N, C), w = randn(1, OC, C), bias = randn(1, OC), out = host.allocate(DType.F32, N, OC);
        Tensor dOut = dev.allocate(DType.F32, N, OC);
        ref.matmulForward(out, inp, w, bias, N, C, OC);
        cuda.matmulForward(dOut, up(inp), up(w), up(bias), N, C, OC);
        Tensor got = down(dOut);
        check("matmul out", out, got);
        // the same product on bf16-rounded inputs, in fp32 on the host: what the GPU computes, up to summation order
        Tensor rounded = host.allocate(DType.F32, N, OC);
        ref.matmulForward(rounded, bf16(inp), bf16(w), bias, N, C, OC);
        assertRelative("matmul out vs fp32 product of bf16-rounded inputs", rounded, got, ROUNDED_INPUT_BOUND);

        Tensor dinp = randn(1, N, C), dw = randn(1, OC, C), db = randn(1, OC), dout = randn(1, N, OC);
        Tensor ddinp = up(dinp), ddw = up(dw), ddb = up(db);
        ref.matmulBackward(dinp, dw, db, dout, inp, w, N, C, OC);
        cuda.matmulBackward(ddinp, ddw, ddb, up(dout), up(inp), up(w), N, C, OC);
        check("matmul dinp", dinp, down(ddinp));
        check("matmul dweight", dw, down(ddw));
        // cuBLASLt's BGRADB sums the product's bf16 operand dout; without Lt an fp32 kernel sums dout itself
        assertRelative(cuda.lt() ? "matmul dbias (BGRADB of bf16 dout)" : "matmul dbias (fp32 kernel, not a product)", db,
                down(ddb), cuda.lt() ? BOUND : 1e-5);
    }

    @Test
    void attentionForwardAndBackward() {
        int B = 2, T = 9, C = 24, NH = 3;
        Tensor qkv = randn(1, B, T, 3 * C), out = host.allocate(DType.F32, B, T, C), att = host.allocate(DType.F32, B, NH, T, T);
        Tensor dQkv = up(qkv), dOut = dev.allocate(DType.F32, B, T, C), dAtt = dev.allocate(DType.F32, B, NH, T, T);
        ref.attentionForward(out, att, qkv, B, T, C, NH);
        cuda.attentionForward(dOut, dAtt, dQkv, B, T, C, NH);
        check("attention out", out, down(dOut));
        check("attention att", att, down(dAtt));

        Tensor dqkv = randn(1, B, T, 3 * C), datt = host.allocate(DType.F32, B, NH, T, T), dout = randn(1, B, T, C);
        Tensor ddqkv = up(dqkv), ddatt = dev.allocate(DType.F32, B, NH, T, T);
        ref.attentionBackward(dqkv, datt, dout, qkv, att, out, B, T, C, NH);
        cuda.attentionBackward(ddqkv, ddatt, up(dout), dQkv, dAtt, dOut, B, T, C, NH);
        check("attention dqkv", dqkv, down(ddqkv));
    }

    @Test
    void classifierForwardAndBackwardInChunks() {
        int N = 13, C = 16, V = 41;
        Tensor x = randn(1, N, C), wte = randn(0.5, V, C), targets = host.allocate(DType.I32, N);
        for (int i = 0; i < N; i++) targets.setInt(i, i == 4 ? -1 : random.nextInt(V));
        Tensor losses = host.allocate(DType.F32, N), dx = randn(1, N, C), dwte = randn(1, V, C);
        Tensor dLosses = dev.allocate(DType.F32, N), ddx = up(dx), ddwte = up(dwte);
        double r = ref.classifier(losses, dx, dwte, x, wte, targets, host.allocate(DType.F32, 4, V), N, C, V, 1f / N, true);
        double d = cuda.classifier(dLosses, ddx, ddwte, up(x), up(wte), up(targets), dev.allocate(DType.F32, 4, V),
                N, C, V, 1f / N, true);
        assertThat(Math.abs(d - r) / Math.abs(r)).as("summed loss, bf16 vs fp32").isLessThan(BOUND).isGreaterThan(0.0);
        check("classifier losses", losses, down(dLosses));
        check("classifier dx", dx, down(ddx));
        check("classifier dwte", dwte, down(ddwte));
    }

    /**
     * Weights inside a registered parameter buffer ({@code parametersAre}) are read from its bf16 copy: the
     * products equal those on an unregistered copy of the same fp32 weights (same bf16 operands), transposed
     * (forward) and not (backward dinp); after the fused AdamW ({@code adamw_update_bf16}) and after a plain
     * copy into the buffer the products use the new values, and the fp32 masters AdamW wrote equal the plain
     * AdamW's.
     */
    @Test
    void registeredParametersGiveTheProductsOfTheirCurrentValues() {
        int N = 11, C = 24, OC = 40, pad = 8;
        long wn = (long) OC * C;
        Tensor inp = up(randn(1, N, C)), dout = up(randn(1, N, OC));
        Tensor params = dev.allocate(DType.F32, pad + wn), w = params.view(pad, wn);
        Tensor wHost = randn(1, OC, C);
        cuda.copy(w, wHost);
        cuda.parametersAre(params);
        assertProductsMatchUnregistered("registered weight", inp, dout, w, N, C, OC);

        // AdamW on the buffer (fused in bf16 mode) and the same update on an unregistered copy (plain kernel)
        Tensor grads = up(randn(1, pad + wn)), m = dev.allocate(DType.F32, pad + wn), v = dev.allocate(DType.F32, pad + wn);
        Tensor other = up(down(params)), m2 = dev.allocate(DType.F32, pad + wn), v2 = dev.allocate(DType.F32, pad + wn);
        for (int step = 1; step <= 2; step++) {
            cuda.adamw(params, grads, m, v, 0.05f, 0.9f, 0.95f, 1e-8f, 0.1f, step, 1f);
            cuda.adamw(other, grads, m2, v2, 0.05f, 0.9f, 0.95f, 1e-8f, 0.1f, step, 1f);
        }
        Tensor updated = down(params), plain = down(other);
        for (long i = 0; i < updated.numel(); i++) {
            assertThat(updated.getFloat(i)).as("fp32 master " + i + ": fused vs plain AdamW").isEqualTo(plain.getFloat(i));
        }
        assertThat(relative(wHost, down(w))).as("AdamW moved the weights").isGreaterThan(1e-3);
        assertProductsMatchUnregistered("after AdamW", inp, dout, w, N, C, OC);

        // a plain copy into part of the buffer: the next product must see it
        cuda.copy(w.view(0, (long) 3 * C), randn(1, 3, C));
        assertProductsMatchUnregistered("after a copy into the buffer", inp, dout, w, N, C, OC);
        cuda.parametersAre(null);
    }

    /** matmulForward and matmulBackward's dinp on {@code w} (registered) vs on a fresh unregistered copy of it. */
    private void assertProductsMatchUnregistered(String what, Tensor inp, Tensor dout, Tensor w, int N, int C, int OC) {
        Tensor loose = up(down(w));
        Tensor out1 = dev.allocate(DType.F32, N, OC), out2 = dev.allocate(DType.F32, N, OC);
        cuda.matmulForward(out1, inp, w, null, N, C, OC);
        cuda.matmulForward(out2, inp, loose, null, N, C, OC);
        assertRelative(what + ": forward (weight transposed)", down(out2), down(out1), 1e-6);
        Tensor dinp1 = dev.allocate(DType.F32, N, C), dinp2 = dev.allocate(DType.F32, N, C);
        Tensor dw1 = dev.allocate(DType.F32, OC, C), dw2 = dev.allocate(DType.F32, OC, C);
        cuda.matmulBackward(dinp1, dw1, null, dout, inp, w, N, C, OC);
        cuda.matmulBackward(dinp2, dw2, null, dout, inp, loose, N, C, OC);
        assertRelative(what + ": backward dinp (weight not transposed)", down(dinp2), down(dinp1), 1e-6);
        // and both are the fp32 product of the bf16-rounded current weight
        Tensor rounded = host.allocate(DType.F32, N, OC);
        ref.matmulForward(rounded, bf16(down(inp)), bf16(down(w)), null, N, C, OC);
        assertRelative(what + ": forward vs fp32 product of bf16-rounded inputs", rounded, down(out1), ROUNDED_INPUT_BOUND);
    }

    @Test
    void fp32ModeOnTheSameBackendIsExact() {
        // switching back (--precision fp32) gives the fp32 products: the mode is read at each product
        cuda.setMath(GemmMath.FP32);
        int N = 5, C = 8, OC = 6;
        Tensor inp = randn(1, N, C), w = randn(1, OC, C), out = host.allocate(DType.F32, N, OC), dOut = dev.allocate(DType.F32, N, OC);
        ref.matmulForward(out, inp, w, null, N, C, OC);
        cuda.matmulForward(dOut, up(inp), up(w), null, N, C, OC);
        assertRelative("fp32 matmul", out, down(dOut), 1e-5);
    }

    // ---- helpers ------------------------------------------------------------------------------------

    /** Within the bf16 bound of the fp32 reference, and measurably different from it. */
    private static void check(String what, Tensor expected, Tensor actual) {
        double rel = relative(expected, actual);
        assertThat(rel).as(what + ": relative difference bf16 vs fp32").isLessThanOrEqualTo(BOUND);
        assertThat(rel).as(what + ": bf16 results must differ from fp32 by a bf16-sized amount").isGreaterThan(MIN_BF16_EFFECT);
    }

    private static void assertRelative(String what, Tensor expected, Tensor actual, double bound) {
        assertThat(relative(expected, actual)).as(what).isLessThanOrEqualTo(bound);
    }

    private Tensor bf16(Tensor t) {
        Tensor r = host.allocate(DType.F32, t.shape());
        for (long i = 0; i < t.numel(); i++) r.setFloat(i, DType.fromBf16(DType.toBf16(t.getFloat(i))));
        return r;
    }

    private Tensor randn(double scale, long... shape) {
        Tensor t = host.allocate(DType.F32, shape);
        for (long i = 0; i < t.numel(); i++) t.setFloat(i, (float) (random.nextGaussian() * scale));
        return t;
    }
}
