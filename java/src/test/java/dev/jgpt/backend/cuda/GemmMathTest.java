package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * matmul and attention with tensor-core math (cublasGemmEx / GemmStridedBatchedEx) against the reference,
 * with the stated bounds: TF32 5e-3, bf16 3e-2 relative (fp32 storage, fp32 accumulation). On a GPU this
 * checks cuBLAS; without one the stand-in GEMM (fp32 accumulation) stands in and only the Java side is checked.
 */
class GemmMathTest {

    static CudaBackend backend(GemmMath math) {
        if (CudaProbe.get().usable()) return new CudaBackend(0, math);
        return FakeCuda.backend(math);
    }

    @Test
    void tf32AndBf16ProductsStayWithinTheirBounds() {
        check(GemmMath.TF32, 5e-3);
        check(GemmMath.BF16, 3e-2);
    }

    private static void check(GemmMath math, double bound) {
        int B = 2, T = 9, C = 32, NH = 4, N = B * T, OC = 3 * C;
        try (CudaBackend cuda = backend(math); ReferenceBackend ref = new ReferenceBackend();
             TensorArena host = TensorArena.host(); TensorArena dev = cuda.newArena()) {
            assertThat(cuda.math()).isEqualTo(math);
            Random r = new Random(5);
            Tensor inp = rand(host, r, N, C), w = rand(host, r, OC, C), bias = rand(host, r, OC);
            Tensor out = host.allocate(DType.F32, N, OC);
            ref.matmulForward(out, inp, w, bias, N, C, OC);
            Tensor dInp = up(cuda, dev, inp), dW = up(cuda, dev, w), dBias = up(cuda, dev, bias);
            Tensor dOut = dev.allocate(DType.F32, N, OC);
            cuda.matmulForward(dOut, dInp, dW, dBias, N, C, OC);
            assertClose(math + " matmul", out, down(cuda, host, dOut), bound);

            Tensor att = host.allocate(DType.F32, B, NH, T, T), y = host.allocate(DType.F32, B, T, C);
            ref.attentionForward(y, att, out, B, T, C, NH);
            Tensor dAtt = dev.allocate(DType.F32, B, NH, T, T), dY = dev.allocate(DType.F32, B, T, C);
            cuda.attentionForward(dY, dAtt, up(cuda, dev, out), B, T, C, NH);
            assertClose(math + " attention", y, down(cuda, host, dY), bound);
        }
    }

    private static Tensor rand(TensorArena a, Random r, long... shape) {
        Tensor t = a.allocate(DType.F32, shape);
        for (long i = 0; i < t.numel(); i++) t.setFloat(i, (float) (r.nextGaussian() * 0.5));
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

    private static void assertClose(String what, Tensor expected, Tensor actual, double bound) {
        double maxDiff = 0, maxRef = 0;
        for (long i = 0; i < expected.numel(); i++) {
            maxDiff = Math.max(maxDiff, Math.abs(expected.getFloat(i) - actual.getFloat(i)));
            maxRef = Math.max(maxRef, Math.abs(expected.getFloat(i)));
        }
        assertThat(maxDiff / maxRef).as(what + ": max |diff| " + maxDiff + " vs max |ref| " + maxRef).isLessThanOrEqualTo(bound);
    }
}
