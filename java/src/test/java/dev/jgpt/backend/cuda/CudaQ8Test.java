package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/** {@link Q8ContractTest} on a real GPU; skipped, with the reason, elsewhere. */
class CudaQ8Test extends Q8ContractTest {
    @BeforeAll
    static void requireGpu() {
        CudaTestSupport.requireGpu();
    }

    @Override
    CudaBackend open(GemmMath math) {
        return new CudaBackend(0, math);
    }
}
