package dev.jgpt.serve;

import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.FakeCuda;
import org.junit.jupiter.api.BeforeAll;

/** {@link BatchSamplingContract} on the stand-in driver (the real kernels emulated on the CPU), in CI. */
class FakeDriverCudaBatchSamplingTest extends BatchSamplingContract {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    protected CudaBackend newBackend() {
        return FakeCuda.backend();
    }

    @Override
    protected long graphLaunches() {
        return FakeCuda.count(FakeCuda.Counter.GRAPH_LAUNCHES);
    }
}
