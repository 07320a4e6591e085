package dev.jgpt.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.management.ThreadMXBean;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.model.Gpt2;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.model.GptConfig;
import java.lang.management.ManagementFactory;
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
        ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        GptConfig cfg = new GptConfig(17, 16, 2, 2, 8);
        int B = 2, T = 8;
        try (CpuBackend cpu = backend(); Gpt2 model = new Gpt2(cpu, cfg, B, T); TensorArena host = TensorArena.host()) {
            model.initWeights(1);
            Tensor tokens = host.allocate(DType.I32, B * T), targets = host.allocate(DType.I32, B * T);
            for (int i = 0; i < B * T; i++) {
                tokens.setInt(i, i % 17);
                targets.setInt(i, (i + 1) % 17);
            }
            Runnable step = () -> {
                model.zeroGrad();
                model.forwardBackward(tokens, targets, B, T);
                double norm = model.gradNorm();
                model.adamwStep(1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, norm > 1 ? (float) (1 / norm) : 1f);
            };
            // FFM downcalls allocate a little while interpreted; count only once the JIT has compiled them
            for (int i = 0; i < 600; i++) step.run();
            // background JIT threads may be slow on a busy machine: the best of a few rounds counts
            long bytes = Long.MAX_VALUE;
            for (int round = 0; round < 10 && bytes / 20 >= 64; round++) {
                long before = mx.getThreadAllocatedBytes(tid);
                for (int i = 0; i < 20; i++) step.run();
                bytes = Math.min(bytes, mx.getThreadAllocatedBytes(tid) - before);
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
                    long before = mx.getThreadAllocatedBytes(tid);
                    for (int t = 0; t < 16; t++) lm.step(t % 17);
                    bytes = Math.min(bytes, mx.getThreadAllocatedBytes(tid) - before);
                }
                System.out.println("cpu: heap bytes allocated by 16 decode steps: " + bytes);
                assertThat(bytes / 16).as("bytes per decode step").isLessThan(64);
            }
        }
    }
}
