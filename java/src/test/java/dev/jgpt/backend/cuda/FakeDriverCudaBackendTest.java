package dev.jgpt.backend.cuda;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.BackendContractTest;
import org.junit.jupiter.api.BeforeAll;

/**
 * The backend contract against {@link CudaBackend} over the stand-in driver ({@link FakeCuda}) without a
 * GPU: the Java side (cuBLAS transposes, leading dimensions and strides, pointer offsets, launch arguments,
 * device arenas, copies, id checks, chunked classifier, sums) and the real kernels/ source, run on the CPU
 * by the host emulation (src/test/c/cuda_host). Not cuBLAS itself, not GPU concurrency, not speed.
 */
class FakeDriverCudaBackendTest extends BackendContractTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    protected Backend backendUnderTest() {
        return FakeCuda.backend();
    }
}
