package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/** {@link RowProductsContractTest} on a real GPU; skipped, with the reason, elsewhere. */
class CudaRowProductsTest extends RowProductsContractTest {
    @BeforeAll
    static void requireGpu() {
        CudaTestSupport.requireGpu();
    }

    @Override
    CudaBackend open() {
        return new CudaBackend(0, GemmMath.FP32);
    }
}
