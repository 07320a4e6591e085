package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/** {@link GqaFusedAttentionContractTest} on the stand-in driver: the real kernels under the host emulation. */
class FakeDriverCudaGqaFusedAttentionTest extends GqaFusedAttentionContractTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    CudaBackend open() {
        return FakeCuda.backend();
    }
}
