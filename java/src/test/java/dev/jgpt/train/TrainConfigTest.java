package dev.jgpt.train;

import dev.jgpt.JgptException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TrainConfigTest {
    @TempDir
    Path dir;

    private Path yaml(String text) throws IOException {
        Path f = dir.resolve("train.yaml");
        Files.writeString(f, text);
        return f;
    }

    @Test
    void readsYamlAndFlagsOverride() throws IOException {
        TrainConfig c = TrainConfig.load(yaml("data: shards\nlr: 0.002\nmax_steps: 50\npreset: tiny\n"),
                Map.of("max_steps", "70", "out", "123"));
        assertThat(c.data).isEqualTo("shards");
        assertThat(c.lr).isEqualTo(0.002);
        assertThat(c.max_steps).isEqualTo(70);
        assertThat(c.out).isEqualTo("123");
        assertThat(c.preset).isEqualTo("tiny");
        assertThat(c.copy().toYaml()).isEqualTo(c.toYaml());
    }

    @Test
    void unknownKeyIsNamedWithASuggestion() throws IOException {
        Path f = yaml("data: shards\nlearning_rat: 0.1\n");
        assertThatThrownBy(() -> TrainConfig.load(f, Map.of())).isInstanceOf(JgptException.class)
                .hasMessageContaining("unknown key 'learning_rat'");
        Path g = yaml("data: shards\nmax_step: 10\n");
        assertThatThrownBy(() -> TrainConfig.load(g, Map.of())).hasMessageContaining("did you mean 'max_steps'?");
    }

    @Test
    void impossibleValuesAreNamed() throws IOException {
        assertThatThrownBy(() -> TrainConfig.load(yaml("data: s\nn_embd: 100\nn_head: 3\n"), Map.of()))
                .isInstanceOf(JgptException.class).hasMessageContaining("'n_head' (3) must divide 'n_embd' (100)");
        assertThatThrownBy(() -> TrainConfig.load(yaml("data: s\nlr: fast\n"), Map.of()))
                .isInstanceOf(JgptException.class).hasMessageContaining("'lr'");
        assertThatThrownBy(() -> TrainConfig.load(yaml("data: s\nseq_len: 512\ncontext: 256\n"), Map.of()))
                .hasMessageContaining("'seq_len' (512) is larger than the model's 'context' (256)");
        assertThatThrownBy(() -> TrainConfig.load(yaml("lr: 1\n"), Map.of())).hasMessageContaining("set 'data'");
    }

    @Test
    void scheduleWarmsUpThenDecaysToTheFloor() {
        LrSchedule s = new LrSchedule(1.0, 10, 111, 0.1);
        assertThat(s.at(0)).isEqualTo(0.1);
        assertThat(s.at(9)).isEqualTo(1.0);
        assertThat(s.at(10)).isEqualTo(1.0);
        assertThat(s.at(60)).isCloseTo(0.55, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(s.at(110)).isCloseTo(0.1, org.assertj.core.data.Offset.offset(1e-12));
        assertThat(s.at(500)).isCloseTo(0.1, org.assertj.core.data.Offset.offset(1e-12));
    }

    /** {@code jgpt train --help} describes every key: a key added without a help line fails here. */
    @Test
    void everyKeyHasAHelpLine() {
        assertThat(TrainConfig.help().keySet()).containsExactlyElementsOf(TrainConfig.keys().keySet());
        assertThat(TrainConfig.help().values()).allMatch(h -> !h.isBlank() && h.length() < 110);
    }
}
