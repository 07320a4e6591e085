package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.cuda.FakeCuda.LtCounter;
import dev.jgpt.bindings.CublasLt;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link LtEpilogueContractTest} on the stand-in (fake_cuda.c's cuBLASLt: the same layouts, transposes, epilogues and
 * workspace checks as the library, on its plain GEMM), plus what only the stand-in can count: which epilogue each op
 * used, that a shape is described and its algorithm chosen once, that nothing is allocated after the first call of a
 * shape, and which shapes fall back to cuBLAS.
 */
class FakeDriverCudaLtTest extends LtEpilogueContractTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    CudaBackend open() {
        CudaBackend cuda = FakeCuda.backend(GemmMath.FP32);
        cuda.setRowProducts(false); // the epilogues at this class's few-row shapes, which the row kernels would take
        return cuda;
    }

    private static Map<LtCounter, Long> counters() {
        Map<LtCounter, Long> m = new EnumMap<>(LtCounter.class);
        for (LtCounter c : LtCounter.values()) m.put(c, FakeCuda.count(c));
        return m;
    }

    private static long since(Map<LtCounter, Long> before, LtCounter c) {
        return FakeCuda.count(c) - before.get(c);
    }

    @Test
    void eachOpUsesItsEpilogueAndEachShapeIsDescribedOnce() {
        int N = 8, C = 16, OC = 32;
        Tensor inp = dev.allocate(DType.F32, N, C), w = dev.allocate(DType.F32, OC, C), bias = dev.allocate(DType.F32, OC);
        Tensor out = dev.allocate(DType.F32, N, OC), pre = dev.allocate(DType.F32, N, OC), dout = dev.allocate(DType.F32, N, OC);
        Tensor dinp = dev.allocate(DType.F32, N, C), dw = dev.allocate(DType.F32, OC, C), db = dev.allocate(DType.F32, OC);
        Tensor w2 = dev.allocate(DType.F32, C, OC), dout2 = dev.allocate(DType.F32, N, C);
        Tensor dw2 = dev.allocate(DType.F32, C, OC), db2 = dev.allocate(DType.F32, C), dpre = dev.allocate(DType.F32, N, OC);
        Runnable ops = () -> {
            cuda.matmulForward(out, inp, w, bias, N, C, OC);                        // BIAS
            cuda.matmulForward(out, inp, w, null, N, C, OC);                        // cuBLAS
            cuda.matmulGeluForward(pre, out, inp, w, bias, N, C, OC);               // GELU_AUX_BIAS
            cuda.matmulBackward(dinp, dw, db, dout, inp, w, N, C, OC);              // cuBLAS dinp, BGRADB dweight
            cuda.matmulBackward(dinp, dw, null, dout, inp, w, N, C, OC);            // cuBLAS, no bias gradient
            cuda.matmulBackwardGelu(dpre, out, dw2, db2, dout2, out, w2, pre, N, OC, C); // DGELU, BGRADB
        };
        long kernels = FakeCuda.count(FakeCuda.Counter.KERNELS), cublas = FakeCuda.count(FakeCuda.Counter.CUBLAS);
        Map<LtCounter, Long> before = counters();
        ops.run();
        assertThat(since(before, LtCounter.BIAS)).isEqualTo(1);
        assertThat(since(before, LtCounter.GELU_AUX_BIAS)).isEqualTo(1);
        assertThat(since(before, LtCounter.DGELU)).isEqualTo(1);
        assertThat(since(before, LtCounter.BGRADB)).isEqualTo(2);
        assertThat(since(before, LtCounter.MATMULS)).isEqualTo(5);
        assertThat(since(before, LtCounter.PLAIN)).isZero();
        assertThat(FakeCuda.count(FakeCuda.Counter.CUBLAS) - cublas).as("cuBLAS: no-bias forward, 2 dinp, no-bias dweight; 5 Lt")
                .isEqualTo(4 + 5);
        // kernels: the two bias-gradient adds (residual_forward), nothing else
        assertThat(FakeCuda.count(FakeCuda.Counter.KERNELS) - kernels).isEqualTo(2);
        long heuristics = FakeCuda.count(LtCounter.HEURISTICS), live = FakeCuda.count(LtCounter.LIVE);
        int[] plans = cuda.ltPlans();
        assertThat(plans[0]).as("shapes described").isEqualTo(5).isEqualTo(plans[1]);
        long allocations = FakeCuda.deviceAllocations();

        before = counters();
        ops.run();
        assertThat(since(before, LtCounter.MATMULS)).isEqualTo(5);
        assertThat(FakeCuda.count(LtCounter.HEURISTICS)).as("no heuristic query for a known shape").isEqualTo(heuristics);
        assertThat(FakeCuda.count(LtCounter.LIVE)).as("no descriptor or layout made again").isEqualTo(live);
        assertThat(FakeCuda.deviceAllocations()).as("cuMemAlloc after the first call of each shape").isEqualTo(allocations);

        cuda.setLt(false);
        before = counters();
        ops.run();
        assertThat(since(before, LtCounter.MATMULS)).as("switched off").isZero();
        cuda.close();
        cuda = null;
        assertThat(FakeCuda.count(LtCounter.LIVE)).as("closing destroys every Lt object (other backends of this JVM closed)")
                .isLessThan(live);
    }

    /**
     * An epilogue the heuristic answers INVALID_VALUE for (as cuBLAS 13 on an H200 did for an fp32 bias onto a bf16 output)
     * is no error: the shape gets no algorithm, and the op takes cuBLAS and the separate kernels, with the reference's numbers.
     */
    @Test
    void anEpilogueTheHeuristicRefusesTakesTheTwoOps() {
        int N = 9, C = 16, OC = 32;
        java.util.Random r = new java.util.Random(3);
        Tensor pre = randn(r, N, C), gel = host.allocate(DType.F32, N, C), w = randn(r, OC, C), dout = randn(r, N, OC);
        ref.geluForward(gel, pre, N * C);
        Tensor dpre = host.allocate(DType.F32, N, C), dgelu = host.allocate(DType.F32, N, C);
        Tensor dw = host.allocate(DType.F32, OC, C), db = host.allocate(DType.F32, OC);
        ref.matmulBackwardGelu(dpre, dgelu, dw, db, dout, gel, w, pre, N, C, OC);
        Tensor ddpre = up(randn(r, N, C)), ddgelu = dev.allocate(DType.F32, N, C), ddw = dev.allocate(DType.F32, OC, C);
        Tensor ddb = dev.allocate(DType.F32, OC);
        cuda.zero(ddw);
        cuda.zero(ddb);
        int[] plans;
        Map<LtCounter, Long> before = counters();
        try {
            FakeCuda.refuseLtEpilogue(CublasLt.CUBLASLT_EPILOGUE_DGELU);
            cuda.matmulBackwardGelu(ddpre, ddgelu, ddw, ddb, up(dout), up(gel), up(w), up(pre), N, C, OC);
            plans = cuda.ltPlans();
        } finally {
            FakeCuda.refuseLtEpilogue(0);
        }
        assertThat(since(before, LtCounter.DGELU)).as("no DGELU product").isZero();
        assertThat(since(before, LtCounter.BGRADB)).as("the weight gradient keeps its epilogue").isEqualTo(1);
        assertThat(plans[0] - plans[1]).as("shapes described without an algorithm").isEqualTo(1);
        assertThat(relative(dpre, down(ddpre))).as("dpre from the product and the gelu kernel").isLessThanOrEqualTo(FP32);
        assertThat(relative(dw, down(ddw))).as("dweight").isLessThanOrEqualTo(FP32);
    }

    @Test
    void auxLeadingDimensionsNotAMultipleOfEightTakeTheTwoOps() {
        int N = 5, C = 8, OC = 12; // the aux matrix's ld (OC) must be a multiple of 8
        Tensor inp = dev.allocate(DType.F32, N, C), w = dev.allocate(DType.F32, OC, C), bias = dev.allocate(DType.F32, OC);
        Tensor pre = dev.allocate(DType.F32, N, OC), out = dev.allocate(DType.F32, N, OC);
        Map<LtCounter, Long> before = counters();
        cuda.matmulGeluForward(pre, out, inp, w, bias, N, C, OC);
        assertThat(since(before, LtCounter.GELU_AUX_BIAS)).isZero();
        assertThat(since(before, LtCounter.BIAS)).as("the product still adds its bias in the epilogue").isEqualTo(1);
    }

    /** Prefill of many prompt lengths makes one shape each: the kept shapes stay bounded, the results right. */
    @Test
    void manyShapesKeepABoundedNumberOfPlans() {
        int C = 8, OC = 16, maxN = LtMatmul.MAX_PLANS + 10;
        Tensor inp = dev.allocate(DType.F32, maxN, C), w = dev.allocate(DType.F32, OC, C), bias = dev.allocate(DType.F32, OC);
        Tensor out = dev.allocate(DType.F32, maxN, OC);
        Tensor hostBias = host.allocate(DType.F32, OC);
        for (int i = 0; i < OC; i++) hostBias.setFloat(i, i + 0.5f);
        cuda.copy(bias, hostBias);
        for (int N = 1; N <= maxN; N++) cuda.matmulForward(out.view(0, N, OC), inp.view(0, N, C), w, bias, N, C, OC);
        assertThat(cuda.ltPlans()[0]).isEqualTo(LtMatmul.MAX_PLANS);
        Tensor got = down(out); // zero inputs: every row is the bias
        for (int r = 0; r < maxN; r++) for (int i = 0; i < OC; i++) assertThat(got.getFloat((long) r * OC + i)).isEqualTo(i + 0.5f);
    }
}
