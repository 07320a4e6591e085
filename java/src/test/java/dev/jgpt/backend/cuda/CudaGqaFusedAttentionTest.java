package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/** {@link GqaFusedAttentionContractTest} on a real GPU; skipped, with the reason, elsewhere. */
class CudaGqaFusedAttentionTest extends GqaFusedAttentionContractTest {
    @BeforeAll
    static void requireGpu() {
        CudaTestSupport.requireGpu();
    }

    @Override
    CudaBackend open() {
        return new CudaBackend(0, GemmMath.FP32);
    }
}
