package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/** {@link Bf16ActivationsContractTest} on a real GPU; skipped, with the reason, elsewhere. */
class CudaBf16ActivationsTest extends Bf16ActivationsContractTest {
    @BeforeAll
    static void requireGpu() {
        CudaTestSupport.requireGpu();
    }

    @Override
    CudaBackend open() {
        return new CudaBackend(0, GemmMath.BF16);
    }
}
