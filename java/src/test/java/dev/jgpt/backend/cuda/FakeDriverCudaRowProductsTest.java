package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/** {@link RowProductsContractTest} on the stand-in driver: the real kernels/matmul.cu under the host emulation. */
class FakeDriverCudaRowProductsTest extends RowProductsContractTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    CudaBackend open() {
        return FakeCuda.backend(GemmMath.FP32);
    }
}
