package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/**
 * {@link Bf16FusedAttentionContractTest} on the stand-in driver: the real kernels/attention.cu,
 * attention_backward_fused.cu and attention_flash_tc.cu (their _bf16 entry points) under the host emulation, which
 * compiles them without FMA contraction: the bf16 kernels must give bit for bit what the fp32 ones give on the same values.
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

    @Override
    int sameOutUlps() {
        return 0;
    }

    @Override
    double sameBound(boolean tensorCores) {
        return 0;
    }
}
