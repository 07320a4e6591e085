package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The fused (flash-style) attention forward gives the reference's attention output, and lse is the
 * log-sum-exp of each row's scaled scores. On a GPU this checks the CUDA kernel; without one it runs on
 * the stand-in driver (the Java side, and the kernels under the host emulation), and is skipped where neither works.
 * The fused backward (recomputing the probabilities from lse) gives the reference's dqkv, directly and as
 * the contract's attention in {@link CudaBackend#setFusedAttention fused mode}.
 */
class FusedAttentionTest {

    static CudaBackend backend() {
        if (CudaProbe.get().usable()) return CudaBackend.open();
        return FakeCuda.backend();
    }

    @Test
    void matchesTheReferenceAttentionOutput() {
        check(2, 37, 48, 4);   // T not a multiple of the 4 query rows per block, hs = 12
        check(1, 70, 64, 1);   // hs = 64, more than two 32-key chunks
    }

    private static void check(int B, int T, int C, int NH) {
        try (CudaBackend cuda = backend(); ReferenceBackend ref = new ReferenceBackend();
             TensorArena host = TensorArena.host(); TensorArena dev = cuda.newArena()) {
            Random r = new Random(3);
            Tensor qkv = host.allocate(DType.F32, B, T, 3 * C);
            for (long i = 0; i < qkv.numel(); i++) qkv.setFloat(i, (float) r.nextGaussian());
            Tensor out = host.allocate(DType.F32, B, T, C), att = host.allocate(DType.F32, B, NH, T, T);
            ref.attentionForward(out, att, qkv, B, T, C, NH);

            Tensor dq = dev.allocate(DType.F32, B, T, 3 * C), dout = dev.allocate(DType.F32, B, T, C);
            Tensor dlse = dev.allocate(DType.F32, B, NH, T);
            cuda.copy(dq, qkv);
            cuda.attentionForwardFused(dout, dlse, dq, B, T, C, NH);
            Tensor got = host.allocate(DType.F32, B, T, C), lse = host.allocate(DType.F32, B, NH, T);
            cuda.copy(got, dout);
            cuda.copy(lse, dlse);
            double maxDiff = 0, maxRef = 0;
            for (long i = 0; i < out.numel(); i++) {
                maxDiff = Math.max(maxDiff, Math.abs(out.getFloat(i) - got.getFloat(i)));
                maxRef = Math.max(maxRef, Math.abs(out.getFloat(i)));
            }
            assertThat(maxDiff / maxRef).as("fused attention out, max |diff| " + maxDiff).isLessThanOrEqualTo(1e-4);
            // lse: the probability of key 0 for row t is exp(score_0 - lse)
            int hs = C / NH;
            for (int b = 0; b < B; b++) for (int h = 0; h < NH; h++) for (int t = 0; t < T; t += 7) {
                double s0 = 0;
                for (int i = 0; i < hs; i++) {
                    s0 += (double) qkv.getFloat(((long) b * T + t) * 3 * C + h * hs + i) * qkv.getFloat((long) b * T * 3 * C + C + h * hs + i);
                }
                s0 /= Math.sqrt(hs);
                double p0 = Math.exp(s0 - lse.getFloat(((long) b * NH + h) * T + t));
                assertThat(p0).as("p(key 0) at b%d h%d t%d", b, h, t)
                        .isCloseTo(att.getFloat((((long) b * NH + h) * T + t) * T), org.assertj.core.data.Offset.offset(1e-4));
            }
        }
    }

    // ---- fused backward ---------------------------------------------------------------------------

    @Test
    void fusedBackwardGivesTheReferenceGradient() {
        checkBackward(2, 37, 48, 4);  // hs = 12, T not a multiple of the 4 rows per block
        checkBackward(1, 70, 64, 1);  // hs = 64, keys and queries across three 32-wide chunks
        checkBackward(1, 5, 512, 2);  // hs = 256, the most the kernels take (8 channels per lane)
    }

    /** dqkv (starting from random values: backward accumulates) from the fused pair vs the reference's backward. */
    private static void checkBackward(int B, int T, int C, int NH) {
        try (CudaBackend cuda = backend(); ReferenceBackend ref = new ReferenceBackend();
             TensorArena host = TensorArena.host(); TensorArena dev = cuda.newArena()) {
            Random r = new Random(9);
            Tensor qkv = randn(host, r, B, T, 3 * C), dout = randn(host, r, B, T, C), dqkv = randn(host, r, B, T, 3 * C);
            Tensor out = host.allocate(DType.F32, B, T, C), att = host.allocate(DType.F32, B, NH, T, T);
            Tensor datt = host.allocate(DType.F32, B, NH, T, T);
            Tensor dQkv = up(cuda, dev, qkv), dDout = up(cuda, dev, dout), dDqkv = up(cuda, dev, dqkv);
            ref.attentionForward(out, att, qkv, B, T, C, NH);
            ref.attentionBackward(dqkv, datt, dout, qkv, att, out, B, T, C, NH);

            Tensor dOut = dev.allocate(DType.F32, B, T, C), lse = dev.allocate(DType.F32, B, NH, T), delta = dev.allocate(DType.F32, B, NH, T);
            cuda.attentionForwardFused(dOut, lse, dQkv, B, T, C, NH);
            cuda.attentionBackwardFused(dDqkv, delta, dDout, dQkv, dOut, lse, B, T, C, NH);
            assertRelative("fused dqkv (B" + B + " T" + T + " C" + C + " NH" + NH + ")", dqkv, down(cuda, host, dDqkv), 1e-4);
        }
    }

    @Test
    void fusedModeRunsTheContractsAttentionThroughTheFusedKernels() {
        int B = 2, T = 19, C = 24, NH = 4; // hs = 6 < T: fused
        try (CudaBackend cuda = backend(); ReferenceBackend ref = new ReferenceBackend();
             TensorArena host = TensorArena.host(); TensorArena dev = cuda.newArena()) {
            cuda.setFusedAttention(true);
            Random r = new Random(4);
            Tensor qkv = randn(host, r, B, T, 3 * C), dout = randn(host, r, B, T, C), dqkv = randn(host, r, B, T, 3 * C);
            Tensor dDqkv = up(cuda, dev, dqkv); // before the reference accumulates into dqkv
            Tensor out = host.allocate(DType.F32, B, T, C), att = host.allocate(DType.F32, B, NH, T, T);
            ref.attentionForward(out, att, qkv, B, T, C, NH);
            ref.attentionBackward(dqkv, host.allocate(DType.F32, B, NH, T, T), dout, qkv, att, out, B, T, C, NH);

            // att and datt exactly as large as the fused path says (far less than (B,NH,T,T))
            Tensor dQkv = up(cuda, dev, qkv), dOut = dev.allocate(DType.F32, B, T, C);
            Tensor dAtt = dev.allocate(DType.F32, cuda.attentionStateFloats(B, T, C, NH));
            assertThat(dAtt.numel()).isEqualTo((long) B * NH * 36); // log-sum-exps, room for T <= hs 6 batches: B*NH*hs^2
            cuda.attentionForward(dOut, dAtt, dQkv, B, T, C, NH);
            assertRelative("fused-mode out", out, down(cuda, host, dOut), 1e-4);
            // att holds the fused path's state, not probabilities: row 1 of head 0 would start with p(key 0) < 1
            Tensor a = down(cuda, host, dAtt);
            assertThat(a.getFloat(1)).as("att[0] is the log-sum-exp of row 1, not a probability").isNotEqualTo(att.getFloat(T));
            cuda.attentionBackward(dDqkv, dev.allocate(DType.F32, cuda.attentionScratchFloats(B, T, C, NH)), up(cuda, dev, dout), dQkv, dAtt, dOut, B, T, C, NH);
            assertRelative("fused-mode dqkv", dqkv, down(cuda, host, dDqkv), 1e-4);

            // T <= head size: no room in att for the fused path's state, so the cuBLAS path runs and att is probabilities
            int t = 4;
            Tensor q2 = randn(host, r, 1, t, 3 * C), o2 = host.allocate(DType.F32, 1, t, C), a2 = host.allocate(DType.F32, 1, 4, t, t);
            ref.attentionForward(o2, a2, q2, 1, t, C, 4);
            Tensor dA2 = dev.allocate(DType.F32, 1, 4, t, t);
            cuda.attentionForward(dev.allocate(DType.F32, 1, t, C), dA2, up(cuda, dev, q2), 1, t, C, 4);
            assertRelative("att when T <= hs", a2, down(cuda, host, dA2), 1e-4);
        }
    }

    private static Tensor randn(TensorArena a, Random r, long... shape) {
        Tensor t = a.allocate(DType.F32, shape);
        for (long i = 0; i < t.numel(); i++) t.setFloat(i, (float) r.nextGaussian());
        return t;
    }

    private static Tensor up(CudaBackend cuda, TensorArena dev, Tensor h) {
        Tensor d = dev.allocate(h.dtype(), h.shape());
        cuda.copy(d, h);
        return d;
    }

    private static Tensor down(CudaBackend cuda, TensorArena host, Tensor d) {
        Tensor h = host.allocate(d.dtype(), d.shape());
        cuda.copy(h, d);
        return h;
    }

    private static void assertRelative(String what, Tensor expected, Tensor actual, double bound) {
        double maxDiff = 0, maxRef = 0;
        for (long i = 0; i < expected.numel(); i++) {
            maxDiff = Math.max(maxDiff, Math.abs((double) expected.getFloat(i) - actual.getFloat(i)));
            maxRef = Math.max(maxRef, Math.abs(expected.getFloat(i)));
        }
        assertThat(maxDiff / maxRef).as(what + ": max |diff| " + maxDiff + " vs max |ref| " + maxRef).isLessThanOrEqualTo(bound);
    }
}
