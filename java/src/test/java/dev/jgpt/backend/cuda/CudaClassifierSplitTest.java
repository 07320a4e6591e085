package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/** {@link ClassifierSplitContractTest} on a real GPU; skipped, with the reason, elsewhere. */
class CudaClassifierSplitTest extends ClassifierSplitContractTest {
    @BeforeAll
    static void requireGpu() {
        CudaTestSupport.requireGpu();
    }

    @Override
    CudaBackend open() {
        return new CudaBackend(0, GemmMath.FP32);
    }
}
