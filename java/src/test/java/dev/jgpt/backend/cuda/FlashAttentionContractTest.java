package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Fused attention in bf16 mode runs the tensor-core kernels (kernels/attention_flash_mma.cu, or with
 * {@link CudaBackend#setWmmaAttention} the WMMA ones, kernels/attention_flash_tc.cu; both checked): the contract's
 * attention forward (out, and the log-sum-exp the fused state keeps) and backward (dqkv) against the fp32
 * reference within {@value #BOUND} relative (max |diff| / max |ref|), for head sizes 6 and 16 (computed as 16),
 * 24 and 32 (as 32) and 64, T below, across and not a multiple of the 64-row tiles, B and NH above 1. Each result must also
 * differ from the fp32 CUDA-core fused kernels' by more than {@value #MIN_BF16_EFFECT} relative: the proof
 * that the bf16 tensor-core code ran, not the fp32 kernels. The launches are counted on the kernel timeline:
 * the tensor-core kernels in bf16 mode, the CUDA-core ones when forced ({@code fused-cudacore}), in fp32 mode,
 * and for head sizes above {@value CudaBackend#TENSOR_CORE_ATTENTION_MAX_HEAD}.
 */
abstract class FlashAttentionContractTest extends CudaReferenceFixture {
    static final double BOUND = 1e-2;
    static final double MIN_BF16_EFFECT = 1e-6;
    static final String CC_FORWARD = "attention_forward_fused", CC_DQ = "attention_backward_fused_dq",
            CC_DKV = "attention_backward_fused_dkv";

    /** The fp32 entry points of the tensor-core kernels: mma.sync (the default) or WMMA. */
    static String[] tensorCoreKernels(boolean wmma) {
        String family = wmma ? "attention_flash_tc_" : "attention_flash_mma_";
        return new String[] {family + "forward", family + "backward_dq", family + "backward_dkv"};
    }


    @Override
    void configure(CudaBackend cuda) {
        cuda.setMath(GemmMath.BF16);
        cuda.setFusedAttention(true);
    }

    @Test
    void tensorCoreAttentionTracksTheReference() {
        for (boolean wmma : new boolean[] {false, true}) {
            cuda.setWmmaAttention(wmma);
            check(1, 37, 32, 2);   // hs 16, T < 64 (one partial tile)
            check(2, 70, 64, 2);   // hs 32, B > 1, T not a multiple of 64
            check(1, 130, 128, 2); // hs 64, three query and key tiles (the dkv kernel's 32-query tiles across them)
            check(1, 290, 128, 2); // hs 64, three 128-row query blocks (mma's forward), five key tiles, warps past the diagonal
            check(1, 67, 72, 3);   // hs 24: computed as 32 with zero channels
            check(2, 21, 12, 2);   // hs 6: computed as 16; hs % 4 != 0, so the tiles are staged with 4-byte loads
        }
        cuda.setWmmaAttention(false);
    }

    private void check(int B, int T, int C, int NH) {
        String shape = " (B" + B + " T" + T + " C" + C + " NH" + NH + ", " + cuda.attentionLabel(C / NH) + ")";
        Random r = new Random(31L * T + C);
        Tensor qkv = randn(r, B, T, 3 * C), dout = randn(r, B, T, C), dqkv0 = randn(r, B, T, 3 * C);
        Tensor out = host.allocate(DType.F32, B, T, C), att = host.allocate(DType.F32, B, NH, T, T);
        Tensor dqkv = copyOf(dqkv0);
        ref.attentionForward(out, att, qkv, B, T, C, NH);
        ref.attentionBackward(dqkv, host.allocate(DType.F32, B, NH, T, T), dout, qkv, att, out, B, T, C, NH);
        Tensor grad = minus(dqkv, dqkv0), lse = referenceLse(qkv, B, T, C, NH);

        Map<String, Long> launches = new TreeMap<>();
        Result tc = run(qkv, dout, dqkv0, B, T, C, NH, launches);
        assertThat(launches).as("bf16 fused attention launches" + shape).containsOnlyKeys(tensorCoreKernels(cuda.wmmaAttention()));
        assertThat(cuda.tensorCoreAttention(C / NH)).isTrue();

        cuda.setMath(GemmMath.FP32); // the CUDA-core fused kernels, fp32 throughout
        launches.clear();
        Result fp32 = run(qkv, dout, dqkv0, B, T, C, NH, launches);
        assertThat(launches).as("fp32 fused attention launches" + shape).containsOnlyKeys(CC_FORWARD, CC_DQ, CC_DKV);
        cuda.setMath(GemmMath.BF16);

        checkBf16("out" + shape, out, tc.out, fp32.out);
        checkBf16("lse" + shape, lse, tc.lse, fp32.lse);
        checkBf16("dqkv" + shape, grad, minus(tc.dqkv, dqkv0), minus(fp32.dqkv, dqkv0));
    }

    @Test
    void cudaCoreKernelsWhenForcedInFp32ModeAndForLargeHeads() {
        int B = 1, T = 40, C = 32, NH = 2;
        Random r = new Random(5);
        Tensor qkv = randn(r, B, T, 3 * C), dout = randn(r, B, T, C), dqkv0 = randn(r, B, T, 3 * C);
        Map<String, Long> launches = new TreeMap<>();
        cuda.setCudaCoreAttention(true);
        assertThat(cuda.tensorCoreAttention(16)).isFalse();
        assertThat(cuda.attentionLabel(16)).isEqualTo("fused-cudacore");
        Result forced = run(qkv, dout, dqkv0, B, T, C, NH, launches);
        assertThat(launches).as("fused-cudacore in bf16 mode").containsOnlyKeys(CC_FORWARD, CC_DQ, CC_DKV);
        cuda.setCudaCoreAttention(false);
        assertThat(cuda.attentionLabel(16)).isEqualTo("fused-tc");
        launches.clear();
        Result tc = run(qkv, dout, dqkv0, B, T, C, NH, launches);
        assertThat(launches).containsOnlyKeys(tensorCoreKernels(false));
        cuda.setWmmaAttention(true);
        assertThat(cuda.attentionLabel(16)).isEqualTo("fused-wmma");
        launches.clear();
        run(qkv, dout, dqkv0, B, T, C, NH, launches);
        assertThat(launches).as("fused-wmma").containsOnlyKeys(tensorCoreKernels(true));
        cuda.setWmmaAttention(false);
        assertThat(relative(forced.out, tc.out)).as("the two kernels' outputs differ (bf16 vs fp32)").isGreaterThan(MIN_BF16_EFFECT);

        // head size 80 > 64: the CUDA-core kernels even in bf16 mode
        int C2 = 160, NH2 = 2, T2 = 90;
        launches.clear();
        run(randn(r, 1, T2, 3 * C2), randn(r, 1, T2, C2), randn(r, 1, T2, 3 * C2), 1, T2, C2, NH2, launches);
        assertThat(launches).as("head size 80").containsOnlyKeys(CC_FORWARD, CC_DQ, CC_DKV);
        assertThat(cuda.attentionLabel(80)).isEqualTo("fused-cudacore");
    }

    // ---- helpers ------------------------------------------------------------------------------------

    private record Result(Tensor out, Tensor lse, Tensor dqkv) {}

    /** The contract's attention forward and backward in the backend's current mode; kernel launches counted into {@code launches}. */
    private Result run(Tensor qkv, Tensor dout, Tensor dqkv0, int B, int T, int C, int NH, Map<String, Long> launches) {
        Tensor dQkv = up(qkv), dOut = dev.allocate(DType.F32, B, T, C), dDqkv = up(dqkv0);
        Tensor dAtt = dev.allocate(DType.F32, cuda.attentionStateFloats(B, T, C, NH));
        Tensor dDatt = dev.allocate(DType.F32, cuda.attentionScratchFloats(B, T, C, NH));
        Tensor dDout = up(dout);
        KernelTimeline timeline = cuda.timeline();
        timeline.reset();
        timeline.beginStep();
        cuda.attentionForward(dOut, dAtt, dQkv, B, T, C, NH);
        cuda.attentionBackward(dDqkv, dDatt, dDout, dQkv, dAtt, dOut, B, T, C, NH);
        timeline.endStep();
        for (KernelTimeline.Row row : timeline.profile().rows()) {
            if (row.kind() == KernelTimeline.Kind.KERNEL) launches.merge(row.name(), row.calls(), Long::sum);
        }
        timeline.reset();
        Tensor state = down(dAtt);
        Tensor lse = host.allocate(DType.F32, B, NH, T);
        for (long i = 0; i < lse.numel(); i++) lse.setFloat(i, state.getFloat(i)); // the fused state starts with lse
        return new Result(down(dOut), lse, down(dDqkv));
    }

    /** log sum_j<=t exp(q_t . k_j / sqrt(hs)) per (b, h, t), in double. */
    private Tensor referenceLse(Tensor qkv, int B, int T, int C, int NH) {
        int hs = C / NH;
        Tensor lse = host.allocate(DType.F32, B, NH, T);
        for (int b = 0; b < B; b++) for (int h = 0; h < NH; h++) for (int t = 0; t < T; t++) {
            double[] s = new double[t + 1];
            double mx = Double.NEGATIVE_INFINITY;
            for (int j = 0; j <= t; j++) {
                double d = 0;
                for (int i = 0; i < hs; i++) {
                    d += (double) qkv.getFloat(((long) b * T + t) * 3 * C + h * hs + i) * qkv.getFloat(((long) b * T + j) * 3 * C + C + h * hs + i);
                }
                s[j] = d / Math.sqrt(hs);
                mx = Math.max(mx, s[j]);
            }
            double sum = 0;
            for (double v : s) sum += Math.exp(v - mx);
            lse.setFloat(((long) b * NH + h) * T + t, (float) (mx + Math.log(sum)));
        }
        return lse;
    }

    /** Within the bf16 bound of the reference, and measurably different from the fp32 kernels' result. */
    private static void checkBf16(String what, Tensor reference, Tensor bf16, Tensor fp32) {
        double rel = relative(reference, bf16);
        System.out.printf("flash attention %s: bf16 tensor cores vs reference %.2e, vs fp32 kernels %.2e%n", what, rel, relative(fp32, bf16));
        assertThat(rel).as(what + ": tensor-core bf16 vs the fp32 reference").isLessThanOrEqualTo(BOUND);
        assertThat(relative(reference, fp32)).as(what + ": fp32 kernels vs the reference").isLessThanOrEqualTo(1e-4);
        assertThat(relative(fp32, bf16)).as(what + ": tensor-core bf16 must differ from the fp32 kernels").isGreaterThan(MIN_BF16_EFFECT);
    }

    private Tensor minus(Tensor a, Tensor b) {
        Tensor d = host.allocate(DType.F32, a.shape());
        for (long i = 0; i < a.numel(); i++) d.setFloat(i, (float) ((double) a.getFloat(i) - b.getFloat(i)));
        return d;
    }

    private Tensor copyOf(Tensor t) {
        Tensor c = host.allocate(DType.F32, t.shape());
        for (long i = 0; i < t.numel(); i++) c.setFloat(i, t.getFloat(i));
        return c;
    }
}
