package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/**
 * {@link DecodeGraphContract} on a real GPU: CUDA graphs for decode against the op-by-op path and the reference.
 * Skipped with the reason where CUDA is not usable; run by {@code bench/gpu-check.sh}.
 * {@link FakeDriverCudaDecodeGraphTest} runs the same on the stand-in driver in CI.
 */
class CudaDecodeGraphTest extends DecodeGraphContract {
    @BeforeAll
    static void requireGpu() {
        CudaTestSupport.requireGpu();
    }

    @Override
    CudaBackend open() {
        return CudaBackend.open();
    }
}
