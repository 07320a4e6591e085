package dev.jgpt.model;

import dev.jgpt.backend.cuda.CudaBackend;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@link ReservedMemoryContract} on a real GPU (cuMemGetInfo's used bytes before and after a model). Skipped with the
 * reason where CUDA is not usable; run by {@code bench/gpu-check.sh}.
 */
class CudaReservedMemoryTest extends ReservedMemoryContract {
    @BeforeAll
    static void requireGpu() {
        dev.jgpt.backend.cuda.CudaTestSupport.requireGpu();
    }

    @Override
    CudaBackend open() {
        return CudaBackend.open();
    }

    /** The driver's allocation granularity for device memory is 2 MiB on current GPUs. */
    @Override
    long granularity() {
        return 2L << 20;
    }
}
