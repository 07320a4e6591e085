package dev.jgpt.model;

import dev.jgpt.JgptException;
import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.TensorArena;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class Gpt2BadInputTest {
    private final ReferenceBackend backend = new ReferenceBackend();
    private final GptConfig cfg = new GptConfig(10, 8, 1, 2, 4);
    private final Gpt2 model = new Gpt2(backend, cfg, 2, 8);

    @AfterEach
    void close() {
        model.close();
    }

    @Test
    void tokenOutsideTheVocabularyNamesTokenAndPosition() {
        int[] tokens = {1, 2, 3, 4, 5, 10, 1, 2};
        assertThatThrownBy(() -> model.forward(tokens, null, 2, 4))
                .isInstanceOf(JgptException.class)
                .hasMessageContaining("token 10 at position 5 (sequence 1, index 1)")
                .hasMessageContaining("[0, 10)");
        assertThatThrownBy(() -> model.forward(new int[] {-1, 0, 0, 0}, null, 1, 4))
                .isInstanceOf(JgptException.class).hasMessageContaining("token -1 at position 0");
        assertThatThrownBy(() -> model.forward(new int[] {0, 0, 0, 0}, new int[] {0, 12, 0, 0}, 1, 4))
                .isInstanceOf(JgptException.class).hasMessageContaining("target 12 at position 1");
    }

    @Test
    void sequenceLongerThanTheContext() {
        assertThatThrownBy(() -> model.forward(new int[9], null, 1, 9))
                .isInstanceOf(JgptException.class).hasMessageContaining("exceeds the model's context length 8");
        assertThatThrownBy(() -> new Gpt2(backend, cfg, 1, 9))
                .isInstanceOf(JgptException.class).hasMessageContaining("sequence length 9");
        assertThatThrownBy(() -> model.forward(new int[12], null, 3, 4))
                .isInstanceOf(JgptException.class).hasMessageContaining("exceeds the 2 x 8");
    }

    @Test
    void wrongTensorShapesAndTypes() {
        try (TensorArena arena = TensorArena.host()) {
            assertThatThrownBy(() -> model.forward(arena.allocate(DType.I32, 5), null, 1, 4))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tokens: expected 4 ids");
            assertThatThrownBy(() -> model.forward(arena.allocate(DType.F32, 4), null, 1, 4))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tokens: expected I32");
            assertThatThrownBy(() -> new Gpt2Inference(backend, cfg, arena.allocate(DType.F32, 7)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("flat: expected F32[" + cfg.parameterCount());
        }
    }

    @Test
    void backwardWithoutForwardIsAnError() {
        assertThatThrownBy(model::backward).isInstanceOf(IllegalStateException.class);
        model.forward(new int[] {1, 2, 3, 4}, null, 1, 4);
        assertThatThrownBy(model::backward).isInstanceOf(IllegalStateException.class); // no targets
    }

    @Test
    void inferenceRejectsOverflowAndUnknownTokens() {
        model.initWeights(1);
        try (Gpt2Inference lm = Gpt2Inference.of(model)) {
            assertThatThrownBy(() -> lm.prefill(new int[9]))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("context length 8");
            assertThatThrownBy(() -> lm.prefill(new int[] {1, 99}))
                    .isInstanceOf(JgptException.class).hasMessageContaining("token 99 at position 1");
            assertThat(lm.position()).isZero(); // nothing was cached by the rejected calls
            lm.prefill(new int[] {1, 2, 3, 4, 5, 6, 7});
            lm.step(1);
            assertThatThrownBy(() -> lm.step(1)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void allTargetsIgnoredGivesZeroLossAndNoGradient() {
        model.initWeights(2);
        model.zeroGrad();
        float loss = model.forwardBackward(new int[] {1, 2, 3, 4}, new int[] {-1, -1, -1, -1}, 1, 4);
        assertThat(loss).isZero();
        assertThat(model.gradNorm()).isZero();
    }

    @Test
    void initIsDeterministicForASeed() {
        try (Gpt2 other = new Gpt2(backend, cfg, 1, 4)) {
            model.initWeights(5);
            other.initWeights(5);
            assertThat(other.params().flat().toFloatArray()).containsExactly(model.params().flat().toFloatArray());
            other.initWeights(6);
            assertThat(other.params().flat().toFloatArray()).isNotEqualTo(model.params().flat().toFloatArray());
            assertThat(model.params().ln1w(0).toFloatArray()).containsOnly(1f);
            assertThat(model.params().qkvb(0).toFloatArray()).containsOnly(0f);
        }
    }
}
