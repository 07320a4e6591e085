package dev.jgpt.backend.cuda;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.BackendContractTest;
import org.junit.jupiter.api.BeforeAll;

/**
 * The backend contract against {@link CudaBackend} over the stand-in driver ({@link FakeCuda}): checks the
 * Java side without a GPU (cuBLAS transposes, leading dimensions and strides, pointer offsets, launch
 * arguments, device arenas, copies, id checks, chunked classifier, sums). It does not check the CUDA
 * kernels themselves, which the stand-in re-implements in C.
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
