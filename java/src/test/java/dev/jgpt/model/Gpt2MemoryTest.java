package dev.jgpt.model;

import dev.jgpt.backend.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The memory formula of docs/model.md predicts what the model really allocates. */
class Gpt2MemoryTest {

    @Test
    void activationFormulaMatchesTheAllocation() {
        GptConfig cfg = new GptConfig(300, 32, 3, 4, 16);
        try (Gpt2 model = new Gpt2(new ReferenceBackend(), cfg, 2, 24)) {
            long predicted = 4 * Gpt2.activationFloats(cfg, 2, 24);
            // the host arena rounds each of its ~30 allocations up to at least 64 bytes
            assertThat(model.activationBytes()).isBetween(predicted, predicted + 30 * 64);
            assertThat(model.parameterBytes()).isEqualTo(2 * 4 * cfg.parameterCount());
            model.allocateOptimizerState();
            assertThat(model.parameterBytes()).isEqualTo(4 * 4 * cfg.parameterCount());
        }
    }
}
