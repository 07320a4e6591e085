package dev.jgpt.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jgpt.memory.TensorArena;
import dev.jgpt.model.AllocationProbe;
import dev.jgpt.model.Gpt2;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.model.GptConfig;
import org.junit.jupiter.api.Test;

/**
 * The cpu backend keeps the model's promise: no Java heap allocation per training or decode step
 * (once the JIT has compiled the downcalls: interpreted FFM calls allocate ~100 bytes each).
 */
class CpuBackendAllocationTest {

    private static CpuBackend backend() {
        String why = CpuBackend.unavailableReason();
        assumeTrue(why == null || !why.contains("not on the class path"), () -> "skipped: " + why);
        return new CpuBackend(2);
    }

    @Test
    void trainingAndDecodeStepsAllocateNothingOnTheHeap() {
        GptConfig cfg = new GptConfig(17, 16, 2, 2, 8);
        int B = 2, T = 8;
        try (CpuBackend cpu = backend(); Gpt2 model = new Gpt2(cpu, cfg, B, T); TensorArena host = TensorArena.host()) {
            model.initWeights(1);
            Runnable step = AllocationProbe.trainingStep(model, host, B, T);
            // FFM downcalls allocate a little while interpreted; count only once the JIT has compiled them
            for (int i = 0; i < 600; i++) step.run();
            // background JIT threads may be slow on a busy machine: the best of a few rounds counts
            long bytes = Long.MAX_VALUE;
            for (int round = 0; round < 10 && bytes / 20 >= 64; round++) {
                long before = AllocationProbe.threadAllocatedBytes();
                for (int i = 0; i < 20; i++) step.run();
                bytes = Math.min(bytes, AllocationProbe.threadAllocatedBytes() - before);
            }
            System.out.println("cpu: heap bytes allocated by 20 training steps: " + bytes);
            assertThat(bytes / 20).as("bytes per training step").isLessThan(64);

            try (Gpt2Inference lm = Gpt2Inference.of(model)) {
                for (int r = 0; r < 300; r++) {
                    lm.reset();
                    for (int t = 0; t < 16; t++) lm.step(t % 17);
                }
                bytes = Long.MAX_VALUE;
                for (int round = 0; round < 10 && bytes / 16 >= 64; round++) {
                    lm.reset();
                    long before = AllocationProbe.threadAllocatedBytes();
                    for (int t = 0; t < 16; t++) lm.step(t % 17);
                    bytes = Math.min(bytes, AllocationProbe.threadAllocatedBytes() - before);
                }
                System.out.println("cpu: heap bytes allocated by 16 decode steps: " + bytes);
                assertThat(bytes / 16).as("bytes per decode step").isLessThan(64);
            }
        }
    }
}
