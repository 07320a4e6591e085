package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/** {@link Q8ContractTest} on the stand-in driver (the kernels emulated on the CPU). */
class FakeDriverCudaQ8Test extends Q8ContractTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    CudaBackend open(GemmMath math) {
        return FakeCuda.backend(math);
    }
}
