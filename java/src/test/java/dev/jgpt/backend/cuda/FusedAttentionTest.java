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
 * the stand-in driver (checking the Java side and launch shape only), and is skipped where neither works.
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
}
