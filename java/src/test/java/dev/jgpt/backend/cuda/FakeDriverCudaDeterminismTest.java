package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/**
 * {@link DeterminismContractTest} on the stand-in: the second run of each check draws other block, warp and lane
 * orders ({@link FakeCuda#reorderEmulation}), so a sum that depends on them (fp32 atomics: the layernorm and encoder
 * backwards before they summed in a fixed order) shows other low bits.
 */
class FakeDriverCudaDeterminismTest extends DeterminismContractTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    CudaBackend open() {
        return FakeCuda.backend();
    }

    @Override
    void reorder(int run) {
        FakeCuda.reorderEmulation(run == 0 ? 0 : 0x5EED + run);
    }
}
