package dev.jgpt.model;

import dev.jgpt.backend.reference.ReferenceBackend;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** A decode step and a training step allocate nothing on the Java heap either: views are pre-sliced, loops are indexed. */
class Gpt2AllocationTest {

    @Test
    void stepAllocatesNoHeapMemory() {
        GptConfig cfg = new GptConfig(17, 64, 2, 2, 8);
        try (Gpt2 model = new Gpt2(new ReferenceBackend(), cfg, 1, 8);
             Gpt2Inference lm = Gpt2Inference.of(model)) {
            model.initWeights(1);
            for (int round = 0; round < 2; round++) { // class loading
                lm.reset();
                for (int t = 0; t < 60; t++) lm.step(t % 17);
            }
            lm.reset();
            long before = AllocationProbe.threadAllocatedBytes();
            for (int t = 0; t < 60; t++) lm.step(t % 17);
            long bytes = AllocationProbe.threadAllocatedBytes() - before;
            System.out.println("heap bytes allocated by 60 decode steps: " + bytes);
            assertThat(bytes / 60).as("bytes per step").isLessThan(64);
        }
    }

    @Test
    void trainingStepAllocatesNoHeapMemory() {
        GptConfig cfg = new GptConfig(17, 8, 2, 2, 8);
        int B = 2, T = 4;
        try (Gpt2 model = new Gpt2(new ReferenceBackend(), cfg, B, T);
             dev.jgpt.memory.TensorArena host = dev.jgpt.memory.TensorArena.host()) {
            model.initWeights(1);
            Runnable step = AllocationProbe.trainingStep(model, host, B, T);
            // class loading, lazy AdamW state, and enough runs that the JIT has settled (a short warm-up
            // left ~1 KB of one-off allocations inside the measured window now and then)
            for (int i = 0; i < 200; i++) step.run();
            long before = AllocationProbe.threadAllocatedBytes();
            for (int i = 0; i < 20; i++) step.run();
            long bytes = AllocationProbe.threadAllocatedBytes() - before;
            System.out.println("heap bytes allocated by 20 training steps: " + bytes);
            assertThat(bytes / 20).as("bytes per step").isLessThan(64);
        }
    }
}
