package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/** {@link Bf16ContractTest} on a real GPU (cuBLAS bf16 tensor-core products); skipped, with the reason, elsewhere. */
class CudaBf16ContractTest extends Bf16ContractTest {
    @BeforeAll
    static void requireGpu() {
        CudaTestSupport.requireGpu();
    }

    @Override
    CudaBackend open() {
        return new CudaBackend(0, GemmMath.BF16);
    }
}
