package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/**
 * {@link Bf16FusedAttentionContractTest} on the stand-in driver: the real kernels/attention.cu,
 * attention_backward_fused.cu and attention_flash_tc.cu (their _bf16 entry points) under the host emulation.
 */
class FakeDriverCudaBf16FusedAttentionTest extends Bf16FusedAttentionContractTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    CudaBackend open() {
        return FakeCuda.backend(GemmMath.BF16);
    }
}
