package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/**
 * {@link Bf16ContractTest} on the stand-in driver: the Java side of bf16 mode (which operands are converted
 * into which slot, bf16 element offsets and strides, cublasGemmEx types) against fake_cuda.c's emulation of
 * the conversion kernel (round-to-nearest-even) and of bf16 x bf16 products with fp32 accumulation.
 */
class FakeDriverCudaBf16Test extends Bf16ContractTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    CudaBackend open() {
        return FakeCuda.backend(GemmMath.BF16);
    }
}
