package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link CudaBackend#matmulQ8Forward} (kernels/quant.cu) against the reference backend's plain Java (on the stand-in
 * driver, {@link FakeDriverCudaQ8Test}, and on a GPU, {@link CudaQ8Test}): the warp-per-row kernel for up to {@link CudaBackend#Q8_KERNEL_ROWS} rows (one pass of 8 rows, several passes,
 * a row shorter than a warp's 512 weights), the dequantised cuBLAS product for more; fp32 and bf16 activations, groups
 * of 32 and 64.
 */
abstract class Q8ContractTest {

    /** A backend in {@code math} on the driver the subclass tests. */
    abstract CudaBackend open(GemmMath math);

    @Test
    void fp32ActivationsMatchTheReference() {
        try (CudaBackend cuda = open(GemmMath.FP32)) {
            for (int N : new int[] {1, 3, 8, 9, 32, 40}) {
                for (int group : new int[] {32, 64}) {
                    check(cuda, N, 192, 48, group, false, 1e-5);
                }
            }
            check(cuda, 2, 1024, 24, 32, false, 1e-5); // two 512-weight strides per lane
            // one row: a warp takes 4 output rows (JG_Q8_OUT), here with the last warp's past OC, and two strides
            check(cuda, 1, 1024, 50, 32, false, 1e-5);
        }
    }

    /** bf16 mode: q, k, v, gate and up come out bf16 (inp and out bf16), the residual products fp32 (bf16 in, fp32 out). */
    @Test
    void bf16ActivationsMatchTheReferenceToBf16() {
        try (CudaBackend cuda = open(GemmMath.BF16)) {
            for (int N : new int[] {1, 9, 40}) {
                check(cuda, N, 192, 48, 32, true, 1e-2);   // bf16 in and out
                check(cuda, N, 128, 40, 64, false, 1e-2);  // bf16 in, fp32 out; past 32 rows the weights dequantised to bf16
                check(cuda, N, 128, 40, 32, DType.F32, true, 1e-2); // fp32 in (fp32 activation storage), bf16 out
                check(cuda, N, 192, 42, 32, true, 1e-2);   // OC not a multiple of the one-row kernels' 4 rows per warp
            }
        }
    }

    /** A decoder's bf16 and q8 embedding rows, an id past the table a row of NaN, as on the reference backend. */
    @Test
    void embeddingRowsMatchTheReference() {
        int V = 11, C = 64, N = 5, group = 32;
        Random rnd = new Random(8);
        try (CudaBackend cuda = open(GemmMath.FP32); Backend ref = new ReferenceBackend(); TensorArena host = ref.newArena();
             TensorArena dev = cuda.newArena()) {
            Tensor ids = host.allocate(DType.I32, N);
            int[] tokens = {3, 0, 10, 3, V};
            for (int i = 0; i < N; i++) ids.setInt(i, tokens[i]);
            Tensor bf = host.allocate(DType.BF16, (long) V * C), q = host.allocate(DType.I8, (long) V * C);
            Tensor s = host.allocate(DType.F32, (long) V * C / group);
            for (long i = 0; i < bf.numel(); i++) {
                bf.setFloat(i, (float) rnd.nextGaussian());
                q.setFloat(i, rnd.nextInt(255) - 127);
            }
            for (long i = 0; i < s.numel(); i++) s.setFloat(i, 0.01f * (1 + rnd.nextFloat()));
            Tensor dIds = dev.allocate(DType.I32, N), dBf = dev.allocate(DType.BF16, bf.numel()), dQ = dev.allocate(DType.I8, q.numel());
            Tensor dS = dev.allocate(DType.F32, s.numel()), dOut = dev.allocate(DType.F32, (long) N * C);
            cuda.copy(dIds, ids);
            cuda.copy(dBf, bf);
            cuda.copy(dQ, q);
            cuda.copy(dS, s);
            for (boolean q8 : new boolean[] {false, true}) {
                Tensor want = host.allocate(DType.F32, (long) N * C), got = host.allocate(DType.F32, (long) N * C);
                ref.embeddingLookup(want, ids, q8 ? q : bf, q8 ? s : null, group, N, C);
                cuda.embeddingLookup(dOut, dIds, q8 ? dQ : dBf, q8 ? dS : null, group, N, C);
                cuda.copy(got, dOut);
                assertThat(got.toFloatArray()).as(q8 ? "q8 rows" : "bf16 rows").containsExactly(want.toFloatArray());
                assertThat(want.getFloat((long) (N - 1) * C)).as("an id past the table").isNaN();
                assertThat(want.getFloat(C + 5)).as("row of id 0").isNotNaN().isEqualTo(q8 ? q.getFloat(5) * s.getFloat(0) : bf.getFloat(5));
            }
        }
    }

    @Test
    void malformedOperandsAreOneClearError() {
        try (CudaBackend cuda = open(GemmMath.FP32); TensorArena dev = cuda.newArena()) {
            Tensor out = dev.allocate(DType.F32, 2, 8), in = dev.allocate(DType.F32, 2, 64);
            Tensor w = dev.allocate(DType.I8, 8 * 64), s = dev.allocate(DType.F32, 8 * 64 / 32);
            assertThatThrownBy(() -> cuda.matmulQ8Forward(out, in, w, s, 48, 2, 64, 8)).hasMessageContaining("group 48");
            assertThatThrownBy(() -> cuda.matmulQ8Forward(out, in, s, s, 32, 2, 64, 8)).hasMessageContaining("weight: expected I8");
            assertThatThrownBy(() -> cuda.matmulQ8Forward(out, in, w, s.view(0, 3), 32, 2, 64, 8)).hasMessageContaining("scales: needs 16");
            assertThatThrownBy(() -> cuda.matmulQ8Forward(out, in, w.view(1, 64), s, 32, 1, 64, 1)).hasMessageContaining("16-byte aligned");
        }
    }

    /**
     * Random q8 weights (OC, C) and inputs (N, C) on both backends; {@code bf16Out}: inp and out bf16 (else inp as the
     * mode stores it, out fp32); the largest difference over the largest |out| at most {@code tol}.
     */
    private static void check(CudaBackend cuda, int N, int C, int OC, int group, boolean bf16Out, double tol) {
        check(cuda, N, C, OC, group, cuda.activationDType(), bf16Out, tol);
    }

    /** {@link #check(CudaBackend, int, int, int, int, boolean, double)} with the input stored as {@code act}. */
    private static void check(CudaBackend cuda, int N, int C, int OC, int group, DType act, boolean bf16Out, double tol) {
        Random rnd = new Random(N * 31L + C + group);
        try (Backend ref = new ReferenceBackend(); TensorArena host = ref.newArena(); TensorArena dev = cuda.newArena()) {
            Tensor w = host.allocate(DType.I8, (long) OC * C), s = host.allocate(DType.F32, (long) OC * C / group);
            Tensor x = host.allocate(act, (long) N * C);
            for (long i = 0; i < w.numel(); i++) w.setFloat(i, rnd.nextInt(255) - 127);
            for (long i = 0; i < s.numel(); i++) s.setFloat(i, 0.001f + 0.01f * rnd.nextFloat());
            for (long i = 0; i < x.numel(); i++) x.setFloat(i, (float) rnd.nextGaussian());
            DType outType = bf16Out ? DType.BF16 : DType.F32;
            Tensor want = host.allocate(DType.F32, (long) N * OC);
            ref.matmulQ8Forward(want, x, w, s, group, N, C, OC);

            Tensor dw = dev.allocate(DType.I8, w.numel()), ds = dev.allocate(DType.F32, s.numel());
            Tensor dx = dev.allocate(act, x.numel()), dout = dev.allocate(outType, (long) N * OC);
            cuda.copy(dw, w);
            cuda.copy(ds, s);
            cuda.copy(dx, x);
            cuda.matmulQ8Forward(dout, dx, dw, ds, group, N, C, OC);
            Tensor got = host.allocate(outType, (long) N * OC);
            cuda.copy(got, dout);
            double worst = 0, scale = 0;
            for (long i = 0; i < want.numel(); i++) {
                worst = Math.max(worst, Math.abs(got.getFloat(i) - want.getFloat(i)));
                scale = Math.max(scale, Math.abs(want.getFloat(i)));
            }
            assertThat(scale).isPositive();
            assertThat(worst / scale).as("N %d, C %d, OC %d, group %d, %s in, %s out", N, C, OC, group, act, outType)
                    .isLessThanOrEqualTo(tol);
        }
    }
}
