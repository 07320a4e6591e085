package dev.jgpt.serve;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.FakeCuda;
import dev.jgpt.model.GptConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The attention view on a cuda backend with fused attention: one clear 400 naming the switch for prompts longer
 * than the head size (where the fused path keeps no probabilities), and no refusal where the view works.
 */
class FakeDriverCudaAttentionViewTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Test
    void fusedAttentionGivesOneClearErrorOnlyWhereItKeepsNoProbabilities() {
        GptConfig c = new GptConfig(64, 32, 1, 2, 16); // head size 8
        try (CudaBackend cuda = FakeCuda.backend()) {
            assertThatCode(() -> ModelViews.requireAttentionProbabilities(cuda, c, 20)).doesNotThrowAnyException();
            cuda.setFusedAttention(true);
            assertThatCode(() -> ModelViews.requireAttentionProbabilities(cuda, c, 8)).doesNotThrowAnyException();
            assertThatThrownBy(() -> ModelViews.requireAttentionProbabilities(cuda, c, 9)).isInstanceOf(ApiException.class)
                    .hasMessageContaining("attention view is unavailable for 9 tokens")
                    .hasMessageContaining("longer than 8 tokens").hasMessageContaining("JGPT_CUDA_ATTENTION=fused")
                    .satisfies(e -> org.assertj.core.api.Assertions.assertThat(((ApiException) e).status()).isEqualTo(400));
        }
    }
}
