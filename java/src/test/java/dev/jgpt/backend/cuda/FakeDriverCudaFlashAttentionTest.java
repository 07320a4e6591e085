package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/**
 * {@link FlashAttentionContractTest} on the stand-in driver: the real kernels/attention_flash_tc.cu under the
 * host emulation, whose mma.h (cuda_host/) multiplies WMMA fragments with a lane layout unlike the GPU's and
 * checks the wmma rules (whole warps, 32-byte aligned pointers, ldm multiples).
 */
class FakeDriverCudaFlashAttentionTest extends FlashAttentionContractTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    CudaBackend open() {
        return FakeCuda.backend(GemmMath.BF16);
    }
}
