package dev.jgpt.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.FakeCuda;
import dev.jgpt.generate.CausalLm;
import dev.jgpt.llama.LlamaConfig;
import dev.jgpt.llama.LlamaOpsInference;
import dev.jgpt.llama.LlamaTrainModel;
import dev.jgpt.llama.ReferenceLlama;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The samples of a Llama run trained on cuda (stand-in driver) decode the live device parameters through
 * {@link LlamaOpsInference}: after training steps change them on the device, the sampler's logits equal the
 * oracle's on the new weights (a host decoder over the parameters' mirror would still see the old ones).
 */
class FakeDriverCudaLlamaSamplerTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Test
    void theSamplerOnCudaDecodesTheLiveDeviceWeights() {
        LlamaConfig c = LlamaConfig.llama2c(16, 32, 2, 4, 2, 40, 16, false);
        int[] tokens = {3, 17, 5, 9, 1, 30, 2, 8}, targets = {17, 5, 9, 1, 30, 2, 8, 4};
        CudaBackend cuda = FakeCuda.backend();
        try (cuda; LlamaTrainModel m = new LlamaTrainModel(cuda, c, 1, 8)) {
            m.initWeights(1);
            try (CausalLm sampler = Trainer.samplerFor(m)) {
                assertThat(sampler).isInstanceOf(LlamaOpsInference.class);
                int[] prompt = {3, 17, 5};
                float[] before = assertSameLogits(sampler, m, prompt);
                m.allocateOptimizerState();
                for (int s = 0; s < 3; s++) {   // training steps change the device parameters
                    m.zeroGrad();
                    m.forwardBackward(tokens, targets, 1, 8);
                    m.adamwStep(1e-2f, 0.9f, 0.95f, 1e-8f, 0f, 1f);
                }
                float[] after = assertSameLogits(sampler, m, prompt);
                assertThat(after).as("the steps changed the logits").isNotEqualTo(before);
            }
        }
    }

    /** The sampler's logits after the prompt equal ReferenceLlama's on the model's current weights; returns them. */
    private static float[] assertSameLogits(CausalLm sampler, LlamaTrainModel m, int[] prompt) {
        sampler.reset();
        float[] got = sampler.prefill(prompt).toFloatArray();
        try (ReferenceLlama ref = new ReferenceLlama(m.weights())) {
            float[] want = ref.prefill(prompt).toFloatArray();
            for (int v = 0; v < want.length; v++) assertThat(got[v]).as("logit %d", v).isCloseTo(want[v], within(1e-4f * (1 + Math.abs(want[v]))));
        }
        return got;
    }
}
