package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/** {@link FlashAttentionContractTest} on a real GPU (WMMA on tensor cores); skipped, with the reason, elsewhere. */
class CudaFlashAttentionTest extends FlashAttentionContractTest {
    @BeforeAll
    static void requireGpu() {
        CudaTestSupport.requireGpu();
    }

    @Override
    CudaBackend open() {
        return new CudaBackend(0, GemmMath.BF16);
    }
}
