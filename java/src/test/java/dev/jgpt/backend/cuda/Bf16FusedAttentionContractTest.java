package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The fused attention on bf16 activations ({@link CudaBackend#attentionForwardFused} and
 * {@link CudaBackend#attentionBackwardFused} given BF16 qkv and out: the _bf16 kernels), on the CUDA-core path
 * (fp32 math) and the tensor-core path (bf16 math, head size at most 64):
 * <ul>
 *   <li>the same results as the fp32 kernels given the same values: qkv rounded to bf16 and held as F32, and in the
 *       backward the fp32 forward's out rounded to bf16 (the bf16 forward's out is bf16). The kernels do the same
 *       arithmetic in the same order, so on the stand-in (no FMA contraction) the results must be bit-identical; on a
 *       GPU ({@link #sameOutUlps}, {@link #sameBound}) out within 1 bf16 ulp of the fp32 out rounded, lse and dqkv
 *       within 1e-6 of their largest magnitude on CUDA cores and 5e-5 on tensor cores, room for ptxas contracting
 *       a*b+c into FMAs differently in the two instantiations (on tensor cores a 1-ulp change in fp32 can flip the
 *       bf16 rounding of a P or dS element: with the host compiler's contraction left on, the stand-in measured
 *       up to 2e-7 on CUDA cores and 6.7e-6 on tensor cores);</li>
 *   <li>within {@value #REFERENCE_BOUND} (max |diff| / max |ref|) of the plain-Java reference in fp32 on the
 *       unrounded qkv: the bf16 rounding of the inputs and of out, and on tensor cores bf16 products;</li>
 *   <li>the contract's attentionForward/attentionBackward in fused mode on BF16 qkv and out (the backward reads the
 *       bf16 out it is given) give exactly what the fused calls give;</li>
 *   <li>qkv and out of different types (or neither F32 nor BF16): one IllegalArgumentException naming both.</li>
 * </ul>
 * The launches are counted on the kernel timeline: the _bf16 kernels for BF16 activations, their fp32 twins for F32.
 */
abstract class Bf16FusedAttentionContractTest extends CudaReferenceFixture {
    static final double REFERENCE_BOUND = 1e-2;

    /** How many bf16 ulps the bf16 kernels' out may be from the fp32 kernels' rounded to bf16 (0: bit-identical). */
    int sameOutUlps() {
        return 1;
    }

    /** How far (relative to the largest magnitude) lse and dqkv may be from the fp32 kernels' (0: bit-identical). */
    double sameBound(boolean tensorCores) {
        return tensorCores ? 5e-5 : 1e-6;
    }

    @Override
    void configure(CudaBackend cuda) {
        cuda.setMath(GemmMath.BF16);
        cuda.setFusedAttention(true); // only for attentionLabel in the messages: the fused calls run either way
    }

    @Test
    void cudaCoreKernelsOnBf16ActivationsMatchTheFp32Ones() {
        cuda.setCudaCoreAttention(true);
        String[] bf16 = {"attention_forward_fused_bf16", "attention_backward_fused_dq_bf16", "attention_backward_fused_dkv_bf16"};
        String[] fp32 = {"attention_forward_fused", "attention_backward_fused_dq", "attention_backward_fused_dkv"};
        check(2, 37, 24, 2, bf16, fp32);   // hs 12, T across two 32-key chunks, not a multiple of 4 rows per block
        check(2, 130, 128, 2, bf16, fp32); // hs 64, five key chunks
        check(2, 45, 320, 4, bf16, fp32);  // hs 80 > 64 (the only fused kernels for it), three channels per lane
    }

    @Test
    void tensorCoreKernelsOnBf16ActivationsMatchTheFp32Ones() {
        assertThat(cuda.tensorCoreAttention(64)).isTrue();
        for (boolean wmma : new boolean[] {false, true}) { // mma.sync (attention_flash_mma.cu), then WMMA (_tc)
            cuda.setWmmaAttention(wmma);
            String f = wmma ? "attention_flash_tc_" : "attention_flash_mma_";
            String[] bf16 = {f + "forward_bf16", f + "backward_dq_bf16", f + "backward_dkv_bf16"};
            String[] fp32 = {f + "forward", f + "backward_dq", f + "backward_dkv"};
            check(2, 37, 24, 2, bf16, fp32);   // hs 12 (computed as 16): hs % 8 != 0, so tiles staged with 2-byte loads
            check(2, 130, 128, 2, bf16, fp32); // hs 64: three query and key tiles, 16-byte loads (cp.async on mma)
            check(2, 70, 128, 4, bf16, fp32);  // hs 32, NH 4, T not a multiple of 64
            check(1, 290, 128, 2, bf16, fp32); // hs 64: three of mma's 128-row forward blocks, cp.async double buffering
        }
        cuda.setWmmaAttention(false);
    }

    /**
     * The contract's attention in fused mode on BF16 qkv and out (what GPT-2 does with bf16 activation storage): the
     * backward reads the bf16 out it is given, and must give exactly what the fused calls give.
     */
    @Test
    void contractAttentionInFusedModeOnBf16ActivationsIsTheFusedCalls() {
        for (String path : new String[] {"fused-tc", "fused-wmma", "fused-cudacore"}) {
            cuda.setCudaCoreAttention(path.equals("fused-cudacore"));
            cuda.setWmmaAttention(path.equals("fused-wmma"));
            int B = 2, T = 70, C = 128, NH = 2;
            String what = " (" + cuda.attentionLabel(C / NH) + ")";
            Random r = new Random(11);
            Tensor qkv = randn(r, DType.BF16, B, T, 3 * C), dout = randn(r, DType.F32, B, T, C), dqkv0 = randn(r, DType.F32, B, T, 3 * C);
            Result direct = run(qkv, dout, dqkv0, null, B, T, C, NH, new TreeMap<>());

            Tensor dQkv = up(qkv), dOut = dev.allocate(DType.BF16, B, T, C), dDqkv = up(dqkv0), dDout = up(dout);
            Tensor att = dev.allocate(DType.F32, cuda.attentionStateFloats(B, T, C, NH));
            Tensor datt = dev.allocate(DType.F32, cuda.attentionScratchFloats(B, T, C, NH));
            cuda.attentionForward(dOut, att, dQkv, B, T, C, NH);
            cuda.attentionBackward(dDqkv, datt, dDout, dQkv, att, dOut, B, T, C, NH);
            Tensor out = convert(down(dOut), DType.F32), dqkv = down(dDqkv), state = down(att);
            Tensor lse = host.allocate(DType.F32, B, NH, T);
            for (long i = 0; i < lse.numel(); i++) lse.setFloat(i, state.getFloat(i)); // the fused state starts with lse
            assertThat(relative(direct.out, out)).as("out" + what).isZero();
            assertThat(relative(direct.lse, lse)).as("lse" + what).isZero();
            assertThat(relative(direct.dqkv, dqkv)).as("dqkv" + what).isZero();
        }
    }

    @Test
    void mismatchedActivationTypesAreOneClearError() {
        int B = 1, T = 8, C = 16, NH = 2;
        Tensor qkvB = dev.allocate(DType.BF16, B, T, 3 * C), qkvF = dev.allocate(DType.F32, B, T, 3 * C);
        Tensor outB = dev.allocate(DType.BF16, B, T, C), outF = dev.allocate(DType.F32, B, T, C);
        Tensor lse = dev.allocate(DType.F32, B, NH, T), delta = dev.allocate(DType.F32, B, NH, T);
        Tensor dqkv = dev.allocate(DType.F32, B, T, 3 * C), dout = dev.allocate(DType.F32, B, T, C);
        assertThatThrownBy(() -> cuda.attentionForwardFused(outF, lse, qkvB, B, T, C, NH))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("attentionForwardFused: qkv is BF16 and out is F32; the fused attention takes both F32 or both BF16");
        assertThatThrownBy(() -> cuda.attentionForwardFused(outB, lse, qkvF, B, T, C, NH))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("qkv is F32 and out is BF16");
        assertThatThrownBy(() -> cuda.attentionBackwardFused(dqkv, delta, dout, qkvB, outF, lse, B, T, C, NH))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("attentionBackwardFused: qkv is BF16 and out is F32; the fused attention takes both F32 or both BF16");
        Tensor qkvI = dev.allocate(DType.I32, B, T, 3 * C), outI = dev.allocate(DType.I32, B, T, C);
        assertThatThrownBy(() -> cuda.attentionForwardFused(outI, lse, qkvI, B, T, C, NH))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("qkv is I32 and out is I32");
        // the gradients stay fp32: a bf16 dqkv is the size check's error
        Tensor dqkvB = dev.allocate(DType.BF16, B, T, 3 * C);
        assertThatThrownBy(() -> cuda.attentionBackwardFused(dqkvB, delta, dout, qkvB, outB, lse, B, T, C, NH))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dqkv");
    }

    // ---- helpers ------------------------------------------------------------------------------------

    private record Result(Tensor out, Tensor lse, Tensor dqkv) {}

    private void check(int B, int T, int C, int NH, String[] bf16Kernels, String[] fp32Kernels) {
        String shape = " (B" + B + " T" + T + " C" + C + " NH" + NH + ", " + cuda.attentionLabel(C / NH) + ")";
        Random r = new Random(17L * T + C + NH);
        Tensor qkv = randn(r, DType.F32, B, T, 3 * C), dout = randn(r, DType.F32, B, T, C), dqkv0 = randn(r, DType.F32, B, T, 3 * C);
        Tensor qkvBf16 = convert(qkv, DType.BF16), qkvRounded = convert(qkvBf16, DType.F32);

        Map<String, Long> launches = new TreeMap<>();
        Result bf16 = run(qkvBf16, dout, dqkv0, null, B, T, C, NH, launches);
        assertThat(launches).as("launches on BF16 activations" + shape).containsOnlyKeys(bf16Kernels);
        launches.clear();
        // the fp32 kernels on the same values; their backward reads the fp32 forward's out rounded to bf16, as the
        // bf16 backward reads the bf16 forward's out
        Result fp32 = run(qkvRounded, dout, dqkv0, Rounding.OUT_TO_BF16, B, T, C, NH, launches);
        assertThat(launches).as("launches on F32 activations" + shape).containsOnlyKeys(fp32Kernels);

        Tensor fp32OutRounded = convert(convert(fp32.out, DType.BF16), DType.F32);
        double outUlps = bf16Ulps(fp32OutRounded, bf16.out), lseRel = relative(fp32.lse, bf16.lse);
        double dqkvRel = relative(minus(fp32.dqkv, dqkv0), minus(bf16.dqkv, dqkv0));
        System.out.printf("bf16 fused attention%s: vs fp32 kernels on the same values: out %.0f bf16 ulp, lse %.2e, dqkv %.2e%n",
                shape, outUlps, lseRel, dqkvRel);
        double same = sameBound(cuda.tensorCoreAttention(C / NH));
        assertThat(outUlps).as("out vs the fp32 kernels' rounded to bf16, in bf16 ulps" + shape).isLessThanOrEqualTo(sameOutUlps());
        assertThat(lseRel).as("lse vs the fp32 kernels'" + shape).isLessThanOrEqualTo(same);
        assertThat(dqkvRel).as("dqkv vs the fp32 kernels'" + shape).isLessThanOrEqualTo(same);

        // the fp32 reference on the unrounded inputs
        Tensor refOut = host.allocate(DType.F32, B, T, C), att = host.allocate(DType.F32, B, NH, T, T);
        Tensor refDqkv = convert(dqkv0, DType.F32);
        ref.attentionForward(refOut, att, qkv, B, T, C, NH);
        ref.attentionBackward(refDqkv, host.allocate(DType.F32, B, NH, T, T), dout, qkv, att, refOut, B, T, C, NH);
        double outRef = relative(refOut, bf16.out), dqkvRef = relative(minus(refDqkv, dqkv0), minus(bf16.dqkv, dqkv0));
        System.out.printf("bf16 fused attention%s: vs the fp32 reference: out %.2e, dqkv %.2e%n", shape, outRef, dqkvRef);
        assertThat(outRef).as("out vs the fp32 reference" + shape).isLessThanOrEqualTo(REFERENCE_BOUND);
        assertThat(dqkvRef).as("dqkv vs the fp32 reference" + shape).isLessThanOrEqualTo(REFERENCE_BOUND);
    }

    private enum Rounding { OUT_TO_BF16 }

    /**
     * attentionForwardFused then attentionBackwardFused on device copies of qkv (its dtype: the activations'), with
     * out of the same dtype; {@code rounding} OUT_TO_BF16 rounds the forward's (F32) out to bf16 values before the
     * backward reads it. Kernel launches counted into {@code launches}; results on the host as F32.
     */
    private Result run(Tensor qkv, Tensor dout, Tensor dqkv0, Rounding rounding, int B, int T, int C, int NH,
                       Map<String, Long> launches) {
        DType act = qkv.dtype();
        Tensor dQkv = up(qkv), dOut = dev.allocate(act, B, T, C), dLse = dev.allocate(DType.F32, B, NH, T);
        Tensor dDqkv = up(dqkv0), dDout = up(dout), dDelta = dev.allocate(DType.F32, B, NH, T);
        KernelTimeline timeline = cuda.timeline();
        timeline.reset();
        timeline.beginStep();
        cuda.attentionForwardFused(dOut, dLse, dQkv, B, T, C, NH);
        Tensor savedOut = dOut;
        if (rounding == Rounding.OUT_TO_BF16) savedOut = up(convert(convert(down(dOut), DType.BF16), DType.F32));
        cuda.attentionBackwardFused(dDqkv, dDelta, dDout, dQkv, savedOut, dLse, B, T, C, NH);
        timeline.endStep();
        for (KernelTimeline.Row row : timeline.profile().rows()) {
            if (row.kind() == KernelTimeline.Kind.KERNEL) launches.merge(row.name(), row.calls(), Long::sum);
        }
        timeline.reset();
        return new Result(convert(down(dOut), DType.F32), down(dLse), down(dDqkv));
    }

    /** The largest |expected - actual| in units of expected's bf16 ulp (2^(exponent - 7); denormals as the smallest normal). */
    private static double bf16Ulps(Tensor expected, Tensor actual) {
        double worst = 0;
        for (long i = 0; i < expected.numel(); i++) {
            float e = expected.getFloat(i), a = actual.getFloat(i);
            assertThat(Float.isFinite(a)).as("finite at " + i).isTrue();
            double ulp = Math.scalb(1.0, Math.max(Math.getExponent(e), Float.MIN_EXPONENT) - 7);
            worst = Math.max(worst, Math.abs((double) e - a) / ulp);
        }
        return worst;
    }

    private Tensor convert(Tensor t, DType type) {
        Tensor c = host.allocate(type, t.shape());
        for (long i = 0; i < t.numel(); i++) c.setFloat(i, t.getFloat(i));
        return c;
    }

    private Tensor minus(Tensor a, Tensor b) {
        Tensor d = host.allocate(DType.F32, a.shape());
        for (long i = 0; i < a.numel(); i++) d.setFloat(i, (float) ((double) a.getFloat(i) - b.getFloat(i)));
        return d;
    }

    private Tensor randn(Random r, DType type, long... shape) {
        Tensor t = host.allocate(type, shape);
        for (long i = 0; i < t.numel(); i++) t.setFloat(i, (float) r.nextGaussian());
        return t;
    }
}
