package dev.jgpt.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.FakeCuda;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link ReservedMemoryContract} on the stand-in driver, whose cuMemAlloc/cuMemFree keep a gauge of the live device
 * bytes and whose cuMemGetInfo reports 1 GiB minus it. GPU twin: {@link CudaReservedMemoryTest}.
 */
class FakeDriverCudaReservedMemoryTest extends ReservedMemoryContract {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    CudaBackend open() {
        return FakeCuda.backend();
    }

    @Override
    long granularity() {
        return 0;
    }

    @Test
    void cuMemGetInfoFollowsTheGauge() {
        try (CudaBackend cuda = open()) {
            assertThat(cuda.deviceMemoryInUse()).isEqualTo(FakeCuda.count(FakeCuda.Counter.DEVICE_BYTES));
        }
    }
}
