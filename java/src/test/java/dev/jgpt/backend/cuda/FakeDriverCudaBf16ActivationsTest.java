package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/**
 * {@link Bf16ActivationsContractTest} on the stand-in: the real kernels under the host emulation, and fake_cuda.c's
 * cuBLAS / cuBLASLt writing bf16 C and D (one rounding after the fp32 sum) and reading a bf16 GELU pre-activation.
 */
class FakeDriverCudaBf16ActivationsTest extends Bf16ActivationsContractTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    CudaBackend open() {
        return FakeCuda.backend(GemmMath.BF16);
    }
}
