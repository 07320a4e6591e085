package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/** {@link DeterminismContractTest} on a real GPU (its scheduler varies the blocks' order by itself); skipped elsewhere. */
class CudaDeterminismTest extends DeterminismContractTest {
    @BeforeAll
    static void requireGpu() {
        CudaTestSupport.requireGpu();
    }

    @Override
    CudaBackend open() {
        return new CudaBackend(0, GemmMath.FP32);
    }

    @Override
    void reorder(int run) {}
}
