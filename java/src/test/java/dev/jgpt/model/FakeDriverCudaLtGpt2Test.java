package dev.jgpt.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.FakeCuda;
import dev.jgpt.backend.cuda.GemmMath;
import dev.jgpt.memory.TensorArena;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * GPT-2 on the cuda backend with the cuBLASLt epilogues on (fc + GELU, bias adds and bias gradients inside the products,
 * the GELU backward in the fc proj's dinp product), over the stand-in driver: the whole model contract (finite
 * differences, overfitting, inference), and training steps that track the same steps with Lt off (fp32 1e-4, bf16 1e-2).
 */
class FakeDriverCudaLtGpt2Test extends Gpt2ContractTest {
    private static final GptConfig CFG = new GptConfig(33, 16, 2, 2, 16);
    private static final int B = 2, T = 8, STEPS = 5;

    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    protected Backend newBackend() {
        CudaBackend cuda = FakeCuda.backend();
        cuda.setLt(true);
        assertThat(cuda.lt()).isTrue();
        return cuda;
    }

    @Test
    void trainingStepsTrackTheOldPath() {
        for (GemmMath math : new GemmMath[] {GemmMath.FP32, GemmMath.BF16}) {
            float[][] losses = new float[2][];
            for (int pass = 0; pass < 2; pass++) {
                CudaBackend cuda = FakeCuda.backend(math);
                cuda.setLt(pass == 0);
                try (Gpt2 model = new Gpt2(cuda, CFG, B, T); TensorArena host = TensorArena.host()) {
                    model.initWeights(7);
                    losses[pass] = new float[STEPS];
                    int[] tokens = new int[B * T], targets = new int[B * T];
                    for (int i = 0; i < B * T; i++) {
                        tokens[i] = (i * 5 + 3) % CFG.vocabSize();
                        targets[i] = (i * 7 + 1) % CFG.vocabSize();
                    }
                    for (int s = 0; s < STEPS; s++) {
                        model.zeroGrad();
                        losses[pass][s] = model.forwardBackward(tokens, targets, B, T);
                        double norm = model.gradNorm();
                        model.adamwStep(1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, norm > 1 ? (float) (1 / norm) : 1f);
                    }
                } finally {
                    cuda.close();
                }
            }
            double bound = math == GemmMath.FP32 ? 1e-4 : 1e-2;
            for (int s = 0; s < STEPS; s++) {
                assertThat((double) losses[0][s]).as(math + " step " + s + " loss, Lt on vs off")
                        .isCloseTo(losses[1][s], org.assertj.core.data.Offset.offset(bound * Math.abs(losses[1][s])));
            }
            assertThat(losses[0][STEPS - 1]).as(math + ": training lowers the loss").isLessThan(losses[0][0]);
        }
    }
}
