package dev.jgpt.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.JgptException;
import java.util.List;
import org.junit.jupiter.api.Test;

class GenerationConfigTest {
    private final GenerationConfig d = GenerationConfig.DEFAULTS;

    @Test
    void rejectsOutOfRangeValuesWithTheirName() {
        assertThatThrownBy(() -> d.withTemperature(-0.1)).isInstanceOf(JgptException.class).hasMessageContaining("temperature");
        assertThatThrownBy(() -> d.withTemperature(Double.NaN)).isInstanceOf(JgptException.class).hasMessageContaining("temperature");
        assertThatThrownBy(() -> d.withTopP(0)).isInstanceOf(JgptException.class).hasMessageContaining("top-p");
        assertThatThrownBy(() -> d.withTopP(1.01)).isInstanceOf(JgptException.class).hasMessageContaining("top-p");
        assertThatThrownBy(() -> d.withTopK(-1)).isInstanceOf(JgptException.class).hasMessageContaining("top-k");
        assertThatThrownBy(() -> d.withMaxNewTokens(0)).isInstanceOf(JgptException.class).hasMessageContaining("max new tokens");
        assertThatThrownBy(() -> d.withRepetitionPenalty(0)).isInstanceOf(JgptException.class).hasMessageContaining("repetition");
        assertThatThrownBy(() -> d.withStopSequences(List.of(""))).isInstanceOf(JgptException.class).hasMessageContaining("stop");
    }

    @Test
    void settingsByName() {
        GenerationConfig c = d.with("temperature", "0.7").with("top-k", "5").with("TOP_P", "0.5")
                .with("max_tokens", "9").with("seed", "3").with("stop", "\\n\\n").with("overflow", "truncate-left")
                .with("repetition_penalty", "1.2");
        assertThat(c).isEqualTo(new GenerationConfig(9, 0.7, 5, 0.5, 1.2, List.of("\n\n"), 3L, BudgetPolicy.TRUNCATE_LEFT));
        assertThat(c.with("seed", "none").seed()).isNull();
        assertThat(c.with("stop", "none").stopSequences()).isEmpty();
        assertThatThrownBy(() -> d.with("temp", "1")).isInstanceOf(JgptException.class).hasMessageContaining("'temp'")
                .hasMessageContaining("temperature");
        assertThatThrownBy(() -> d.with("top_k", "x")).isInstanceOf(JgptException.class).hasMessageContaining("not a number");
        assertThat(d.withTemperature(0).greedy()).isTrue();
    }
}
