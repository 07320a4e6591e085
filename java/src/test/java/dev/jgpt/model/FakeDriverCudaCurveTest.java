package dev.jgpt.model;

import dev.jgpt.backend.cuda.FakeCuda;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link CudaGpt2Test}'s 50-step {@code small} training run (C 256, 4 layers, V 4096, B 4, T 64) on the
 * stand-in driver, where the cuda backend runs the real kernels/ source under the host emulation: the
 * kernels at a real model's shapes (4096-wide classifier rows, 256-wide layer norms, 64 x 64 causal softmax)
 * must track cpu's loss curve as the GPU must ({@link CudaGpt2Test#CURVE_TOLERANCE}).
 */
class FakeDriverCudaCurveTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Test
    void smallTrainingRunTracksTheCpuLossCurveFor50Steps() {
        CudaGpt2Test.compareWithCpu("stand-in cuda (real kernels, host emulation)", T -> FakeCuda.backend(), 64,
                CudaGpt2Test.CURVE_TOLERANCE);
    }
}
