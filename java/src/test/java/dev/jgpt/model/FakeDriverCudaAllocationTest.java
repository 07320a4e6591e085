package dev.jgpt.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.cuda.FakeCuda;
import dev.jgpt.memory.TensorArena;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A training step and a decode step on the cuda backend allocate (almost) nothing on the Java heap:
 * launches reuse one argument buffer, messages are built only on failure. And no device memory: after the
 * first steps, a step makes no cuMemAlloc call (the stand-in counts them). Runs over the stand-in driver,
 * whose C code allocates no Java memory, so what is measured is the backend's Java side.
 */
class FakeDriverCudaAllocationTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Test
    void trainingAndDecodeStepsAllocateLittleHeap() {
        GptConfig cfg = new GptConfig(17, 8, 2, 2, 8);
        int B = 2, T = 4;
        try (var backend = FakeCuda.backend(); Gpt2 model = new Gpt2(backend, cfg, B, T); TensorArena host = TensorArena.host()) {
            model.initWeights(1);
            Runnable step = AllocationProbe.trainingStep(model, host, B, T);
            for (int i = 0; i < 200; i++) step.run(); // class loading, lazy state, JIT
            long before = AllocationProbe.threadAllocatedBytes(), deviceBefore = FakeCuda.deviceAllocations();
            for (int i = 0; i < 20; i++) step.run();
            long bytes = AllocationProbe.threadAllocatedBytes() - before;
            assertThat(deviceBefore).as("the model's device memory was counted").isPositive();
            assertThat(FakeCuda.deviceAllocations() - deviceBefore).as("cuMemAlloc calls in 20 training steps").isZero();
            System.out.println("cuda (stand-in driver): heap bytes per training step: " + bytes / 20);
            // measured 2,880 bytes (B=2, L=2): the attention products take per-sequence offsets into qkv/att,
            // and cuBLAS wants each as a MemorySegment (one small object per operand); matmuls pass the
            // tensors' own segments and launches reuse one argument buffer, so nothing else allocates
            assertThat(bytes / 20).as("heap bytes per training step").isLessThan(16 * 1024);
        }
    }

    /** bf16 mode and fused attention: the operand buffers are reused, so a step allocates as little as in fp32. */
    @Test
    void bf16AndFusedAttentionStepsAllocateLittleHeap() {
        GptConfig cfg = new GptConfig(17, 8, 2, 2, 8);
        int B = 2, T = 6; // T > head size 4: the fused path runs
        for (boolean fused : new boolean[] {false, true}) {
            var backend = FakeCuda.backend(dev.jgpt.backend.cuda.GemmMath.BF16);
            backend.setFusedAttention(fused); // before the model, which then sizes att and datt for the fused path
            try (backend; Gpt2 model = new Gpt2(backend, cfg, B, T); TensorArena host = TensorArena.host()) {
                model.initWeights(1);
                Runnable step = AllocationProbe.trainingStep(model, host, B, T);
                for (int i = 0; i < 200; i++) step.run();
                long before = AllocationProbe.threadAllocatedBytes(), deviceBefore = FakeCuda.deviceAllocations();
                for (int i = 0; i < 20; i++) step.run();
                long bytes = AllocationProbe.threadAllocatedBytes() - before;
                assertThat(FakeCuda.deviceAllocations() - deviceBefore).as("cuMemAlloc calls in 20 bf16 steps").isZero();
                System.out.println("cuda bf16" + (fused ? " fused attention" : "") + " (stand-in driver): heap bytes per training step: " + bytes / 20);
                assertThat(bytes / 20).as("heap bytes per bf16 training step").isLessThan(16 * 1024);
            }
        }
    }
}
