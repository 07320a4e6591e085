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

    @Test
    void theBreakdownAddsUpToWhatTheArenasAllocated() {
        GptConfig cfg = new GptConfig(300, 32, 3, 4, 16);
        try (Gpt2 model = new Gpt2(new ReferenceBackend(), cfg, 2, 24)) {
            long one = 4 * cfg.parameterCount();
            assertThat(model.offHeapBytes()).containsExactly(java.util.Map.entry("params", one), java.util.Map.entry("grads", one),
                    java.util.Map.entry("optimizer", 0L), java.util.Map.entry("activations", model.activationBytes()));
            model.allocateOptimizerState();
            java.util.Map<String, Long> b = model.offHeapBytes();
            assertThat(b.get("optimizer")).isEqualTo(2 * one);
            long sum = b.values().stream().mapToLong(Long::longValue).sum();
            assertThat(sum).isEqualTo(model.parameterBytes() + model.activationBytes());
            // and the arena's counter is the sum of its allocations
            try (dev.jgpt.memory.TensorArena arena = dev.jgpt.memory.TensorArena.host()) {
                arena.allocate(dev.jgpt.memory.DType.F32, 1000);
                arena.allocate(dev.jgpt.memory.DType.I32, 7, 3);
                arena.allocate(dev.jgpt.memory.DType.BF16, 1); // rounded up to the 64-byte alignment
                assertThat(arena.allocatedBytes()).isEqualTo(4000 + 84 + 64);
            }
        }
    }

    @Test
    void anInferenceSessionCountsItsCacheNotTheBorrowedWeights() {
        GptConfig cfg = new GptConfig(300, 32, 3, 4, 16);
        try (Gpt2 model = new Gpt2(new ReferenceBackend(), cfg, 1, 1); Gpt2Inference lm = Gpt2Inference.of(model)) {
            java.util.Map<String, Long> b = lm.offHeapBytes();
            assertThat(b).containsOnlyKeys("kvCache", "scratch");
            assertThat(b.get("kvCache")).isEqualTo(2L * 4 * cfg.layers() * cfg.contextLength() * cfg.channels());
            assertThat(b.get("scratch")).isPositive().isLessThan(4 * cfg.parameterCount());
        }
    }
}
