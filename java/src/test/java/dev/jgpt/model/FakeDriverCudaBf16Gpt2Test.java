package dev.jgpt.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.cuda.FakeCuda;
import dev.jgpt.backend.cuda.GemmMath;
import dev.jgpt.backend.reference.ReferenceBackend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Training in bf16 mode on the stand-in driver: a short run's loss curve tracks the fp32 reference's
 * within {@value #CURVE_BOUND} relative at every step, yet is not identical (the products really took bf16
 * operands), and the loss falls. CudaGpt2Test holds the GPU to the same bound over 50 steps.
 */
class FakeDriverCudaBf16Gpt2Test {
    static final double CURVE_BOUND = 3e-2;

    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Test
    void bf16LossCurveTracksFp32() {
        GptConfig cfg = new GptConfig(64, 32, 2, 2, 32);
        int B = 2, T = 16, steps = 12;
        float[] fp32 = CudaGpt2Test.curve(new ReferenceBackend(), cfg, B, T, steps);
        float[] bf16 = CudaGpt2Test.curve(FakeCuda.backend(GemmMath.BF16), cfg, B, T, steps);
        boolean differs = false;
        for (int s = 0; s < steps; s++) {
            assertThat((double) bf16[s]).as("loss at step " + s + " (fp32 " + fp32[s] + ")")
                    .isCloseTo(fp32[s], org.assertj.core.data.Offset.offset(CURVE_BOUND * Math.abs(fp32[s])));
            differs |= bf16[s] != fp32[s];
        }
        assertThat(differs).as("bf16 losses differ from fp32 somewhere").isTrue();
        assertThat(bf16[steps - 1]).isLessThan(bf16[0]);
    }
}
