package dev.jgpt.model;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.ThreadMXBean;
import dev.jgpt.backend.cuda.FakeCuda;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.TensorArena;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A training step and a decode step on the cuda backend allocate (almost) nothing on the Java heap:
 * launches reuse one argument buffer, messages are built only on failure. Runs over the stand-in driver,
 * whose C code allocates no Java memory, so what is measured is the backend's Java side.
 */
class FakeDriverCudaAllocationTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Test
    void trainingAndDecodeStepsAllocateLittleHeap() {
        ThreadMXBean mx = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        GptConfig cfg = new GptConfig(17, 8, 2, 2, 8);
        int B = 2, T = 4;
        try (var backend = FakeCuda.backend(); Gpt2 model = new Gpt2(backend, cfg, B, T); TensorArena host = TensorArena.host()) {
            model.initWeights(1);
            var tokens = host.allocate(DType.I32, B * T);
            var targets = host.allocate(DType.I32, B * T);
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
            for (int i = 0; i < 200; i++) step.run(); // class loading, lazy state, JIT
            long tid = Thread.currentThread().threadId();
            long before = mx.getThreadAllocatedBytes(tid);
            for (int i = 0; i < 20; i++) step.run();
            long bytes = mx.getThreadAllocatedBytes(tid) - before;
            System.out.println("cuda (stand-in driver): heap bytes per training step: " + bytes / 20);
            // measured 2,880 bytes (B=2, L=2): the attention products take per-sequence offsets into qkv/att,
            // and cuBLAS wants each as a MemorySegment (one small object per operand); matmuls pass the
            // tensors' own segments and launches reuse one argument buffer, so nothing else allocates
            assertThat(bytes / 20).as("heap bytes per training step").isLessThan(16 * 1024);
        }
    }
}
