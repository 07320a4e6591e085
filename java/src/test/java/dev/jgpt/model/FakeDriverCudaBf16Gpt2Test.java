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

    /**
     * bf16 with fused attention: T 40 > head size 16, so every layer's attention runs on the tensor-core
     * kernels (kernels/attention_flash_tc.cu, under the host emulation's WMMA); the losses track fp32's
     * within the same bound and differ from the CUDA-core fused kernels' (the same run with them forced).
     */
    @Test
    void bf16FusedTensorCoreAttentionLossCurveTracksFp32() {
        GptConfig cfg = new GptConfig(64, 48, 2, 2, 32);
        int B = 2, T = 40, steps = 8;
        float[] fp32 = CudaGpt2Test.curve(new ReferenceBackend(), cfg, B, T, steps);
        dev.jgpt.backend.cuda.CudaBackend tc = FakeCuda.backend(GemmMath.BF16), cc = FakeCuda.backend(GemmMath.BF16);
        tc.setFusedAttention(true);
        cc.setFusedAttention(true);
        cc.setCudaCoreAttention(true);
        assertThat(tc.attentionLabel(16)).isEqualTo("fused-tc");
        float[] bf16 = CudaGpt2Test.curve(tc, cfg, B, T, steps);
        float[] bf16CudaCores = CudaGpt2Test.curve(cc, cfg, B, T, steps);
        boolean differs = false;
        for (int s = 0; s < steps; s++) {
            System.out.printf("bf16 fused step %d: fp32 %.6f, tensor-core attention %.6f, CUDA-core attention %.6f%n",
                    s, fp32[s], bf16[s], bf16CudaCores[s]);
            assertThat((double) bf16[s]).as("loss at step " + s + " (fp32 " + fp32[s] + ")")
                    .isCloseTo(fp32[s], org.assertj.core.data.Offset.offset(CURVE_BOUND * Math.abs(fp32[s])));
            differs |= bf16[s] != bf16CudaCores[s];
        }
        assertThat(differs).as("tensor-core attention changes the losses (it ran)").isTrue();
        assertThat(bf16[steps - 1]).isLessThan(bf16[0]);
    }
}
