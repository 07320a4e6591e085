package dev.jgpt.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.cpu.CpuBackend;
import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.CudaProbe;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import dev.jgpt.testing.TrainSteps;

/**
 * The whole model on {@code cuda}: the model contract (finite differences, overfitting, inference) and a
 * 50-step {@code small} training run whose loss curve must track {@code cpu}'s step by step. Skipped,
 * with the reason, where no GPU is usable.
 */
class CudaGpt2Test extends Gpt2ContractTest {
    @BeforeAll
    static void requireGpu() {
        dev.jgpt.backend.cuda.CudaTestSupport.requireGpu();
    }

    @Override
    protected Backend newBackend() {
        return CudaBackend.open();
    }

    /**
     * With the cuBLASLt epilogues on (the default), GELU and its derivative come from cuBLASLt: on an H200 (2026-11-27)
     * the fc bias gradient, which dgelu feeds directly, differed from finite differences by 2.1e-4 relative where the
     * contract allows 1e-4; our reading is cuBLASLt's faster tanh. 1e-3 still catches a wrong or mis-scaled term (an
     * O(1) error); the test below holds our own kernels to the contract's 1e-4.
     */
    @Override
    protected double gradientTolerance() {
        return 1e-3;
    }

    /** The same check with the epilogues off: cuBLAS products and jgpt's add_bias / gelu / bias-gradient kernels. */
    @Test
    void gradientsMatchFiniteDifferencesWithOurGeluKernels() {
        ((CudaBackend) backend()).setLt(false);
        checkGradientsAgainstFiniteDifferences(super.gradientTolerance());
    }

    /** Relative difference allowed between the cpu and cuda losses at any of the 50 steps (fp32, TF32 off). */
    static final double CURVE_TOLERANCE = 1e-2;

    @Test
    void smallTrainingRunTracksTheCpuLossCurveFor50Steps() {
        compareWithCpu("fp32", T -> CudaBackend.open(), 64, CURVE_TOLERANCE);
    }

    /** Relative difference allowed with bf16 operands (fp32 master weights, gradients and AdamW state). */
    static final double BF16_CURVE_TOLERANCE = 3e-2;

    /** The same 50 steps with --precision bf16: within {@link #BF16_CURVE_TOLERANCE} of cpu's fp32 curve. */
    @Test
    void smallTrainingRunInBf16TracksTheCpuLossCurve() {
        compareWithCpu("bf16", T -> {
            CudaBackend b = CudaBackend.open();
            b.setMath(dev.jgpt.backend.cuda.GemmMath.BF16);
            return b;
        }, 64, BF16_CURVE_TOLERANCE);
    }

    /** Fused attention (forward and backward kernels instead of the att matrix): T = 128 > head size 64, fp32. */
    @Test
    void smallTrainingRunWithFusedAttentionTracksTheCpuLossCurve() {
        compareWithCpu("fused attention", T -> {
            CudaBackend b = CudaBackend.open();
            b.setFusedAttention(true);
            return b;
        }, 128, CURVE_TOLERANCE);
    }

    /**
     * bf16 with fused attention: T = 128 > head size 64, so the tensor-core kernels (kernels/attention_flash_tc.cu)
     * run every layer's attention; held to the bf16 bound.
     */
    @Test
    void smallTrainingRunInBf16WithTensorCoreAttentionTracksTheCpuLossCurve() {
        compareWithCpu("bf16 fused attention", T -> {
            CudaBackend b = CudaBackend.open();
            b.setMath(dev.jgpt.backend.cuda.GemmMath.BF16);
            b.setFusedAttention(true);
            b.setCudaCoreAttention(false);
            return b;
        }, 128, BF16_CURVE_TOLERANCE);
    }

    /**
     * 50 training steps of the {@code small} preset (B 4, sequences of T) on cpu and on the given cuda backend:
     * every loss within {@code tolerance} (relative) of cpu's, and the curve falling. Returns the worst
     * relative difference.
     */
    static double compareWithCpu(String what, java.util.function.IntFunction<Backend> cuda, int T, double tolerance) {
        String cpuWhy = CpuBackend.unavailableReason();
        assumeTrue(cpuWhy == null, () -> "skipped, cpu backend unavailable: " + cpuWhy);
        GptConfig cfg = GptConfig.preset("small", 512);
        // bench/gpu-check.sh's dry run (DRY_RUN=1: the host emulation, no GPU) shortens the curve to a few steps
        int B = 4, steps = Integer.getInteger("jgpt.test.curveSteps", 50);
        float[] cpu = curve(new CpuBackend(Math.max(1, Runtime.getRuntime().availableProcessors())), cfg, B, T, steps);
        long t0 = System.nanoTime();
        float[] gpu = curve(cuda.apply(T), cfg, B, T, steps);
        long msPerStep = (System.nanoTime() - t0) / 1_000_000 / steps;
        double worst = 0;
        for (int s = 0; s < steps; s++) {
            System.out.printf("%s step %2d cpu %.5f cuda %.5f%n", what, s, cpu[s], gpu[s]);
            assertThat((double) gpu[s]).as(what + ": loss at step " + s)
                    .isCloseTo(cpu[s], org.assertj.core.data.Offset.offset(tolerance * Math.abs(cpu[s])));
            worst = Math.max(worst, Math.abs(gpu[s] - cpu[s]) / Math.abs(cpu[s]));
        }
        if (steps >= 50) assertThat(cpu[steps - 1]).as("the cpu curve falls").isLessThan(cpu[0] - 1);
        System.out.printf("%s: loss %.4f -> %.4f, worst relative difference from cpu %.2e, %d ms/step%n",
                what, gpu[0], gpu[steps - 1], worst, msPerStep);
        return worst;
    }

    static float[] curve(Backend backend, GptConfig cfg, int B, int T, int steps) {
        float[] losses = new float[steps];
        try (backend; Gpt2 model = new Gpt2(backend, cfg, B, T)) {
            model.initWeights(7);
            Random rnd = new Random(11);
            int[] tokens = new int[B * T], targets = new int[B * T];
            for (int s = 0; s < steps; s++) {
                dev.jgpt.testing.CountingBatches.next(rnd, tokens, targets, B, T, cfg.vocabSize());
                model.zeroGrad();
                losses[s] = model.forwardBackward(tokens, targets, B, T);
                TrainSteps.clipAndAdamw(model, 1e-3f, 0.1f);
            }
        }
        return losses;
    }
}
