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
 * Grouped-query attention ({@code gqaAttentionForward/Backward}, Llama's) in fused mode runs the flash-style
 * CUDA-core kernels GPT-2's fused attention runs (kernels/attention.cu, attention_backward_fused.cu) with
 * separate q, k, v and a group size: out and dq, dk, dv (accumulated onto random values) equal the
 * reference's within {@value #BOUND} relative (max |diff| / max |ref|) for NH/NKV = 1, 2 and 4, head sizes
 * 12, 10 and 64, T not a multiple of the 4 rows per block and across 32-row chunks, with att and datt exactly
 * as large as {@code gqaAttentionStateFloats/ScratchFloats} say (far less than (B,NH,T,T)). The launches are
 * counted on the kernel timeline (the fused kernels, not kernels/llama.cu's), reruns give bit-identical
 * gradients (one writer per output, no atomics), and at T <= head size the probabilities are kept as before.
 * In bf16 mode, head size <= 64, the tensor-core kernels (kernels/attention_flash_tc.cu) run instead: within 1e-2
 * of the reference and measurably different from the fp32 kernels.
 */
abstract class GqaFusedAttentionContractTest extends CudaReferenceFixture {
    static final double BOUND = 1e-4;
    static final String FORWARD = "attention_forward_fused", DQ = "attention_backward_fused_dq", DKV = "attention_backward_fused_dkv";

    @Override
    void configure(CudaBackend cuda) {
        cuda.setFusedAttention(true);
    }

    @Test
    void fusedGroupedQueryAttentionMatchesTheReference() {
        check(2, 37, 4, 4, 12);  // NH/NKV 1, T not a multiple of the 4 rows per block
        check(1, 70, 4, 2, 12);  // NH/NKV 2, three 32-row chunks
        check(2, 41, 8, 2, 10);  // NH/NKV 4
        check(1, 67, 4, 1, 64);  // NH/NKV 4, head size 64 (two channels per lane), T > 64
    }

    private void check(int B, int T, int NH, int NKV, int hs) {
        String shape = " (B" + B + " T" + T + " NH" + NH + " NKV" + NKV + " hs" + hs + ")";
        Inputs in = inputs(new Random(17L * T + NH * 5L + NKV), B, T, NH, NKV, hs);
        Result want = reference(in);

        assertThat(cuda.gqaAttentionKeepsProbabilities(B, T, NH, NKV, hs)).as("fused" + shape).isFalse();
        // a log-sum-exp (att) or D (datt) per row, with room for the rows path of batches of T <= hs; no copy of out
        assertThat(cuda.gqaAttentionStateFloats(B, T, NH, NKV, hs)).isEqualTo((long) B * NH * Math.max(T, hs * hs));
        assertThat(cuda.gqaAttentionScratchFloats(B, T, NH, NKV, hs)).isEqualTo((long) B * NH * Math.max(T, hs * hs));
        Map<String, Long> launches = new TreeMap<>();
        Result got = run(in, launches);
        assertThat(launches).as("fused gqa launches" + shape).containsOnlyKeys(FORWARD, DQ, DKV);
        assertClose("out" + shape, want.out, got.out);
        assertClose("dq" + shape, want.dq, got.dq);
        assertClose("dk" + shape, want.dk, got.dk);
        assertClose("dv" + shape, want.dv, got.dv);
    }

    /** bf16 mode, head size <= 64: the tensor-core kernels (kernels/attention_flash_mma.cu, and the WMMA ones) with the same layout. */
    @Test
    void tensorCoreKernelsInBf16ModeTrackTheReference() {
        checkBf16(1, 37, 2, 2, 12);  // NH/NKV 1, hs 12 computed as 16, one partial tile
        checkBf16(2, 70, 4, 2, 16);  // NH/NKV 2, two query and key tiles
        checkBf16(1, 67, 4, 1, 64);  // NH/NKV 4, hs 64
    }

    private void checkBf16(int B, int T, int NH, int NKV, int hs) {
        String shape = " (bf16, B" + B + " T" + T + " NH" + NH + " NKV" + NKV + " hs" + hs + ")";
        Inputs in = inputs(new Random(23L * T + NH * 3L + NKV), B, T, NH, NKV, hs);
        Result want = reference(in);

        for (boolean wmma : new boolean[] {false, true}) { // the mma.sync kernels (default), then the WMMA ones
            cuda.setMath(GemmMath.BF16);
            cuda.setWmmaAttention(wmma);
            try {
                String label = wmma ? "fused-wmma" : "fused-tc";
                assertThat(cuda.gqaAttentionLabel(hs)).isEqualTo(label);
                Map<String, Long> launches = new TreeMap<>();
                Result tc = run(in, launches);
                assertThat(launches).as("bf16 fused gqa launches" + shape + " " + label)
                        .containsOnlyKeys(FlashAttentionContractTest.tensorCoreKernels(wmma));
                cuda.setMath(GemmMath.FP32);
                Result fp32 = run(in, new TreeMap<>());
                assertBf16("out" + shape + " " + label, want.out, tc.out, fp32.out);
                assertBf16("dq" + shape + " " + label, want.dq, tc.dq, fp32.dq);
                assertBf16("dk" + shape + " " + label, want.dk, tc.dk, fp32.dk);
                assertBf16("dv" + shape + " " + label, want.dv, tc.dv, fp32.dv);
            } finally {
                cuda.setMath(GemmMath.FP32);
                cuda.setWmmaAttention(false);
            }
        }
    }

    /** Within 1e-2 of the reference (bf16 operands), and measurably different from the fp32 kernels (the bf16 code ran). */
    private static void assertBf16(String what, Tensor expected, Tensor bf16, Tensor fp32) {
        double rel = relative(expected, bf16);
        System.out.printf("fused gqa attention %s: tensor cores vs reference %.2e, vs fp32 kernels %.2e%n", what, rel, relative(fp32, bf16));
        assertThat(rel).as(what + " vs the reference").isLessThanOrEqualTo(1e-2);
        assertThat(relative(fp32, bf16)).as(what + ": must differ from the fp32 kernels").isGreaterThan(1e-6);
    }

    @Test
    void rerunsGiveBitIdenticalGradients() {
        Inputs in = inputs(new Random(2), 1, 45, 4, 1, 8);
        Result a = run(in, new TreeMap<>());
        Result b = run(in, new TreeMap<>());
        for (long i = 0; i < a.dk.numel(); i++) {
            assertThat(Float.floatToRawIntBits(b.dk.getFloat(i))).as("dk[%d]", i).isEqualTo(Float.floatToRawIntBits(a.dk.getFloat(i)));
            assertThat(Float.floatToRawIntBits(b.dv.getFloat(i))).as("dv[%d]", i).isEqualTo(Float.floatToRawIntBits(a.dv.getFloat(i)));
        }
        for (long i = 0; i < a.dq.numel(); i++) {
            assertThat(Float.floatToRawIntBits(b.dq.getFloat(i))).as("dq[%d]", i).isEqualTo(Float.floatToRawIntBits(a.dq.getFloat(i)));
        }
    }

    @Test
    void shortSequencesKeepTheProbabilitiesAndFusedBuffersNeedFusedMode() {
        // T <= head size: kernels/llama.cu's kernels run and att is probabilities (the fused path runs only where T > hs)
        int B = 1, T = 6, NH = 4, NKV = 2, hs = 8;
        Random r = new Random(8);
        Tensor q = randn(r, B, T, NH * hs), k = randn(r, B, T, NKV * hs), v = randn(r, B, T, NKV * hs);
        Tensor out = host.allocate(DType.F32, B, T, NH * hs), att = host.allocate(DType.F32, B, NH, T, T);
        ref.gqaAttentionForward(out, att, q, k, v, B, T, NH, NKV, hs);
        assertThat(cuda.gqaAttentionKeepsProbabilities(B, T, NH, NKV, hs)).isTrue();
        assertThat(cuda.gqaAttentionStateFloats(B, T, NH, NKV, hs)).isEqualTo((long) B * NH * T * T);
        Tensor dAtt = dev.allocate(DType.F32, B, NH, T, T), dOut = dev.allocate(DType.F32, B, T, NH * hs);
        cuda.gqaAttentionForward(dOut, dAtt, up(q), up(k), up(v), B, T, NH, NKV, hs);
        assertClose("att when T <= hs", att, down(dAtt));
        assertClose("out when T <= hs", out, down(dOut));

        // buffers sized in fused mode are refused, with the reason, when fused mode is off
        int T2 = 40;
        long fusedState = cuda.gqaAttentionStateFloats(B, T2, NH, NKV, hs);
        Tensor small = dev.allocate(DType.F32, fusedState);
        Tensor q2 = up(randn(r, B, T2, NH * hs)), k2 = up(randn(r, B, T2, NKV * hs)), v2 = up(randn(r, B, T2, NKV * hs));
        Tensor o2 = dev.allocate(DType.F32, B, T2, NH * hs);
        assertThat(fusedState).as("log-sum-exps, room for batches of T <= hs").isEqualTo((long) B * NH * hs * hs);
        cuda.gqaAttentionForward(o2, small, q2, k2, v2, B, T2, NH, NKV, hs);  // fused: fits
        cuda.gqaAttentionForward(o2, small.view(0, (long) B * NH * T2), q2, k2, v2, B, T2, NH, NKV, hs); // its exact need
        assertThatThrownBy(() -> cuda.gqaAttentionForward(o2, dev.allocate(DType.F32, (long) B * NH * T2 - 1), q2, k2, v2, B, T2, NH, NKV, hs))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("att");
        cuda.setFusedAttention(false);
        assertThat(cuda.gqaAttentionKeepsProbabilities(B, T2, NH, NKV, hs)).isTrue();
        assertThat(cuda.gqaAttentionStateFloats(B, T2, NH, NKV, hs)).isEqualTo((long) B * NH * T2 * T2);
        assertThatThrownBy(() -> cuda.gqaAttentionForward(o2, small, q2, k2, v2, B, T2, NH, NKV, hs))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("JGPT_CUDA_ATTENTION=fused");
        assertThat(cuda.gqaAttentionLabel(hs)).isEqualTo("rows");
        cuda.setFusedAttention(true);
        assertThat(cuda.gqaAttentionLabel(hs)).isEqualTo("fused-cudacore");
    }

    // ---- helpers ------------------------------------------------------------------------------------

    private record Result(Tensor out, Tensor dq, Tensor dk, Tensor dv) {}

    /** One attention problem on the host: q, k, v, the upstream gradient, and the gradients to accumulate onto. */
    private record Inputs(int B, int T, int NH, int NKV, int hs, Tensor q, Tensor k, Tensor v, Tensor dout,
                          Tensor dq0, Tensor dk0, Tensor dv0) {}

    /** The reference backend's forward and backward (gradients accumulated onto copies of dq0, dk0, dv0). */
    private Result reference(Inputs in) {
        int B = in.B, T = in.T, NH = in.NH, NKV = in.NKV, hs = in.hs;
        Tensor out = host.allocate(DType.F32, B, T, NH * hs), att = host.allocate(DType.F32, B, NH, T, T);
        Tensor dq = copyOf(in.dq0), dk = copyOf(in.dk0), dv = copyOf(in.dv0);
        ref.gqaAttentionForward(out, att, in.q, in.k, in.v, B, T, NH, NKV, hs);
        ref.gqaAttentionBackward(dq, dk, dv, host.allocate(DType.F32, B, NH, T, T), in.dout, in.q, in.k, in.v, att, out, B, T, NH, NKV, hs);
        return new Result(out, dq, dk, dv);
    }

    private Inputs inputs(Random r, int B, int T, int NH, int NKV, int hs) {
        int d = NH * hs, kv = NKV * hs;
        return new Inputs(B, T, NH, NKV, hs, randn(r, B, T, d), randn(r, B, T, kv), randn(r, B, T, kv), randn(r, B, T, d),
                randn(r, B, T, d), randn(r, B, T, kv), randn(r, B, T, kv));
    }

    /** gqaAttentionForward then gqaAttentionBackward with buffers of exactly the asked sizes; kernel launches counted. */
    private Result run(Inputs in, Map<String, Long> launches) {
        int B = in.B, T = in.T, NH = in.NH, NKV = in.NKV, hs = in.hs;
        Tensor dQ = up(in.q), dK = up(in.k), dV = up(in.v), dDout = up(in.dout), dDq = up(in.dq0), dDk = up(in.dk0), dDv = up(in.dv0);
        Tensor dOut = dev.allocate(DType.F32, B, T, NH * hs);
        Tensor dAtt = dev.allocate(DType.F32, cuda.gqaAttentionStateFloats(B, T, NH, NKV, hs));
        Tensor dDatt = dev.allocate(DType.F32, cuda.gqaAttentionScratchFloats(B, T, NH, NKV, hs));
        KernelTimeline timeline = cuda.timeline();
        timeline.reset();
        timeline.beginStep();
        cuda.gqaAttentionForward(dOut, dAtt, dQ, dK, dV, B, T, NH, NKV, hs);
        cuda.gqaAttentionBackward(dDq, dDk, dDv, dDatt, dDout, dQ, dK, dV, dAtt, dOut, B, T, NH, NKV, hs);
        timeline.endStep();
        for (KernelTimeline.Row row : timeline.profile().rows()) {
            if (row.kind() == KernelTimeline.Kind.KERNEL) launches.merge(row.name(), row.calls(), Long::sum);
        }
        timeline.reset();
        return new Result(down(dOut), down(dDq), down(dDk), down(dDv));
    }

    private static void assertClose(String what, Tensor expected, Tensor actual) {
        double rel = relative(expected, actual);
        System.out.printf("fused gqa attention %s: relative difference %.2e%n", what, rel);
        assertThat(rel).as(what + " vs the reference").isLessThanOrEqualTo(BOUND);
    }

    private Tensor copyOf(Tensor t) {
        Tensor c = host.allocate(DType.F32, t.shape());
        for (long i = 0; i < t.numel(); i++) c.setFloat(i, t.getFloat(i));
        return c;
    }
}
