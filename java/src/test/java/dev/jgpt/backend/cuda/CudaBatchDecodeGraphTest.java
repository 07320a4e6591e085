package dev.jgpt.backend.cuda;

import org.junit.jupiter.api.BeforeAll;

/**
 * {@link BatchDecodeGraphContract} on a real GPU: the server's batched steps replayed from per-size graphs against
 * the op-by-op path. Skipped with the reason where CUDA is not usable; run by {@code bench/gpu-check.sh}.
 * {@link FakeDriverCudaBatchDecodeGraphTest} runs the same on the stand-in driver in CI.
 */
class CudaBatchDecodeGraphTest extends BatchDecodeGraphContract {
    @BeforeAll
    static void requireGpu() {
        CudaTestSupport.requireGpu();
    }

    @Override
    CudaBackend open() {
        return CudaBackend.open();
    }
}
