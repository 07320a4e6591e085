package dev.jgpt.serve;

import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.CudaTestSupport;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@link BatchSamplingContract} on a real GPU. Skipped with the reason where CUDA is not usable; run by
 * {@code bench/gpu-check.sh}. {@link FakeDriverCudaBatchSamplingTest} runs the same on the stand-in driver in CI.
 */
class CudaBatchSamplingTest extends BatchSamplingContract {
    @BeforeAll
    static void requireGpu() {
        CudaTestSupport.requireGpu();
    }

    @Override
    protected CudaBackend newBackend() {
        return CudaBackend.open();
    }
}
