package dev.jgpt.model;

import dev.jgpt.JgptException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GptConfigTest {

    @Test
    void parameterCountsOfThePresets() {
        // GPT-2 small's well-known count: 124,439,808 (tied embeddings, vocab 50257 unpadded)
        assertThat(GptConfig.preset("gpt2").parameterCount()).isEqualTo(124_439_808L);
        assertThat(GptConfig.preset("gpt2").vocabSize()).isEqualTo(50257);
        assertThat(GptConfig.preset("tiny").parameterCount()).isEqualTo(937_472L);
        assertThat(GptConfig.preset("small", 4096)).isEqualTo(new GptConfig(4096, 256, 4, 4, 256));
        assertThat(GptConfig.preset("small").parameterCount()).isEqualTo(4_273_664L);
        assertThat(GptConfig.preset("base").parameterCount()).isEqualTo(12_318_720L);
    }

    @Test
    void parameterCountFollowsTheFormula() {
        GptConfig c = new GptConfig(100, 32, 3, 2, 16);
        long V = 100, T = 32, L = 3, C = 16;
        assertThat(c.parameterCount()).isEqualTo(V * C + T * C + L * (12 * C * C + 13 * C) + 2 * C);
    }

    @Test
    void headsMustDivideChannels() {
        assertThatThrownBy(() -> new GptConfig(100, 64, 2, 3, 128))
                .isInstanceOf(JgptException.class)
                .hasMessageContaining("heads (3) must divide channels (128)");
    }

    @Test
    void everyDimensionMustBePositive() {
        assertThatThrownBy(() -> new GptConfig(0, 64, 2, 2, 128))
                .isInstanceOf(JgptException.class).hasMessageContaining("vocabSize must be positive but was 0");
        assertThatThrownBy(() -> new GptConfig(10, -1, 2, 2, 128))
                .isInstanceOf(JgptException.class).hasMessageContaining("contextLength");
        assertThatThrownBy(() -> new GptConfig(10, 8, 0, 2, 128))
                .isInstanceOf(JgptException.class).hasMessageContaining("layers");
        assertThatThrownBy(() -> new GptConfig(10, 8, 2, 0, 128))
                .isInstanceOf(JgptException.class).hasMessageContaining("heads");
    }

    @Test
    void unknownPresetListsTheKnownOnes() {
        assertThatThrownBy(() -> GptConfig.preset("huge", 100))
                .isInstanceOf(JgptException.class)
                .hasMessageContaining("unknown 'huge'").hasMessageContaining("tiny");
    }
}
