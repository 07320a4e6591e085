package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/** {@link Bf16FusedAttentionContractTest} on a real GPU (the _bf16 fused attention kernels); skipped, with the reason, elsewhere. */
class CudaBf16FusedAttentionTest extends Bf16FusedAttentionContractTest {
    @BeforeAll
    static void requireGpu() {
        CudaTestSupport.requireGpu();
    }

    @Override
    CudaBackend open() {
        return new CudaBackend(0, GemmMath.BF16);
    }
}
