package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/** {@link LtEpilogueContractTest} on a real GPU (cuBLASLt's own epilogues); skipped, with the reason, elsewhere. */
class CudaLtTest extends LtEpilogueContractTest {
    @BeforeAll
    static void requireGpu() {
        CudaTestSupport.requireGpu();
    }

    @Override
    CudaBackend open() {
        return new CudaBackend(0, GemmMath.FP32);
    }
}
