package dev.jgpt.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jgpt.backend.cpu.CpuBackend;
import dev.jgpt.backend.cuda.FakeCuda;
import org.assertj.core.data.Offset;
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
        String cpuWhy = CpuBackend.unavailableReason();
        assumeTrue(cpuWhy == null, () -> "skipped, cpu backend unavailable: " + cpuWhy);
        GptConfig cfg = GptConfig.preset("small", 512);
        int B = 4, T = 64, steps = 50;
        float[] cpu = CudaGpt2Test.curve(new CpuBackend(1), cfg, B, T, steps);
        long t0 = System.nanoTime();
        float[] cuda = CudaGpt2Test.curve(FakeCuda.backend(), cfg, B, T, steps);
        System.out.printf("stand-in cuda (real kernels, host emulation): %d ms/step%n", (System.nanoTime() - t0) / 1_000_000 / steps);
        double worst = 0;
        for (int s = 0; s < steps; s++) {
            worst = Math.max(worst, Math.abs(cuda[s] - cpu[s]) / Math.abs(cpu[s]));
            assertThat((double) cuda[s]).as("loss at step " + s)
                    .isCloseTo(cpu[s], Offset.offset(CudaGpt2Test.CURVE_TOLERANCE * Math.abs(cpu[s])));
        }
        System.out.printf("loss %.4f -> %.4f (cpu %.4f -> %.4f), worst relative difference %.2e%n",
                cuda[0], cuda[steps - 1], cpu[0], cpu[steps - 1], worst);
        assertThat(cpu[steps - 1]).isLessThan(cpu[0] - 1);
    }
}
