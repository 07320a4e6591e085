package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link CudaBackend#matmulForward} on the row kernels (kernels/matmul.cu's jg_matmul_rows: a decode step's one row, a
 * batched step's up to {@value CudaBackend#ROW_PRODUCT_ROWS}) against the reference, and which path ran: the kernel
 * timeline names every launch, so a row product that silently went to cuBLAS (or the reverse) fails here. Shapes cover
 * one chunk of loads, a ragged last chunk (C 1028 and 1032: more than the JG_ROWS_UNROLL x 32 lanes x 16 bytes a chunk
 * reads) and rows narrower than a warp's first load.
 */
abstract class RowProductsContractTest extends CudaReferenceFixture {
    /** fp32 operands: the contract's bound. */
    static final double FP32_BOUND = 1e-4;
    /** bf16 operands against the fp32 product of the same bf16-rounded values: the summation order only. */
    static final double ROUNDED_BOUND = 1e-5;
    /** A bf16 out: one rounding of each result (8 bits of mantissa). */
    static final double BF16_OUT_BOUND = 8e-3;

    private final Random random = new Random(29);

    @Test
    void fp32RowsMatchTheReferenceOnTheRowKernels() {
        assertThat(cuda.rowProducts()).as("on by default (JGPT_CUDA_ROW_PRODUCTS)").isTrue();
        for (int N : new int[] {1, 3, 8}) {
            for (int[] shape : new int[][] {{8, 5}, {100, 37}, {1028, 9}}) {
                for (boolean withBias : new boolean[] {true, false}) {
                    int C = shape[0], OC = shape[1];
                    String what = "N " + N + " C " + C + " OC " + OC + (withBias ? " + bias" : "");
                    Tensor got = product(DType.F32, DType.F32, N, C, OC, withBias, N == 1 ? "matmul_row_forward" : "matmul_rows_forward");
                    assertThat(relative(expected, got)).as(what).isLessThanOrEqualTo(FP32_BOUND);
                }
            }
        }
    }

    @Test
    void otherShapesAndTheSwitchTakeCublas() {
        // more rows than the kernels keep sums for, rows that 16-byte loads cannot read, the switch off
        Tensor got = product(DType.F32, DType.F32, CudaBackend.ROW_PRODUCT_ROWS + 1, 16, 7, true, null);
        assertThat(relative(expected, got)).as("N 9").isLessThanOrEqualTo(FP32_BOUND);
        got = product(DType.F32, DType.F32, 2, 30, 7, true, null);
        assertThat(relative(expected, got)).as("C 30").isLessThanOrEqualTo(FP32_BOUND);
        cuda.setRowProducts(false);
        got = product(DType.F32, DType.F32, 1, 64, 7, false, null);
        assertThat(relative(expected, got)).as("switched off").isLessThanOrEqualTo(FP32_BOUND);
    }

    @Test
    void bf16OperandsOnTheRowKernels() {
        cuda.setMath(GemmMath.BF16);
        for (int N : new int[] {1, 5}) {
            for (int C : new int[] {24, 1032}) {
                String what = "bf16 N " + N + " C " + C;
                String kernel = N == 1 ? "matmul_row_forward" : "matmul_rows_forward";
                // fp32 out from bf16 operands (the products added to the residual stream): only the summation differs
                Tensor got = product(DType.BF16, DType.F32, N, C, 11, true, kernel + "_bf16_in");
                assertThat(relative(roundedExpected, got)).as(what + ", F32 out").isLessThanOrEqualTo(ROUNDED_BOUND);
                // bf16 out (bf16 activation storage), and an fp32 input converted to its bf16 operand first
                got = product(DType.BF16, DType.BF16, N, C, 11, false, kernel + "_bf16");
                assertThat(relative(roundedExpected, got)).as(what + ", BF16 out").isLessThanOrEqualTo(BF16_OUT_BOUND);
                got = product(DType.F32, DType.F32, N, C, 11, true, kernel + "_bf16_in");
                assertThat(relative(roundedExpected, got)).as(what + ", F32 input").isLessThanOrEqualTo(ROUNDED_BOUND);
            }
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------

    /** The reference's out for the last {@link #product}, on the inputs as given and rounded to bf16. */
    private Tensor expected, roundedExpected;

    /**
     * One matmulForward of random inputs (inp in inType, out in outType, weights F32) recorded by the kernel timeline:
     * the kernel {@code kernel} ran once and nothing else, or (kernel null) a cuBLAS product did. Sets {@link #expected}
     * and {@link #roundedExpected}; returns the result on the host as F32.
     */
    private Tensor product(DType inType, DType outType, int N, int C, int OC, boolean withBias, String kernel) {
        Tensor inp = randn(random, N, C), w = randn(random, OC, C), bias = withBias ? randn(random, OC) : null;
        expected = host.allocate(DType.F32, N, OC);
        ref.matmulForward(expected, inp, w, bias, N, C, OC);
        roundedExpected = host.allocate(DType.F32, N, OC);
        ref.matmulForward(roundedExpected, rounded(inp), rounded(w), bias, N, C, OC);
        Tensor dInp = up(as(inType, inp)), dW = up(w), dBias = bias == null ? null : up(bias);
        Tensor dOut = dev.allocate(outType, N, OC);
        KernelTimeline t = cuda.timeline();
        t.beginStep();
        cuda.matmulForward(dOut, dInp, dW, dBias, N, C, OC);
        t.endStep();
        List<KernelTimeline.Row> rows = t.profile().rows().stream().filter(r -> !r.name().equals("f32_to_bf16")).toList();
        t.reset();
        if (kernel != null) {
            assertThat(rows).as("what ran").extracting(KernelTimeline.Row::name).containsExactly(kernel);
        } else {
            assertThat(rows).as("what ran").anyMatch(r -> r.kind() == KernelTimeline.Kind.CUBLAS)
                    .noneMatch(r -> r.name().startsWith("matmul_row"));
        }
        Tensor got = down(dOut);
        return outType == DType.F32 ? got : as(DType.F32, got);
    }

    private Tensor as(DType type, Tensor t) {
        if (t.dtype() == type) return t;
        Tensor r = host.allocate(type, t.shape());
        for (long i = 0; i < t.numel(); i++) r.setFloat(i, t.getFloat(i));
        return r;
    }

    private Tensor rounded(Tensor t) {
        return as(DType.F32, as(DType.BF16, t));
    }
}
