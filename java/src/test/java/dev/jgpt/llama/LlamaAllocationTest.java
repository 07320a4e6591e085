package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.cpu.CpuBackend;
import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.model.AllocationProbe;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import dev.jgpt.testing.TrainSteps;

/** A Llama training step allocates nothing on the Java heap: per-layer views are made once, in the constructor. */
class LlamaAllocationTest {

    @Test
    void trainingStepAllocatesNoHeapMemoryOnReference() {
        assertNoAllocation(new ReferenceBackend());
    }

    @Test
    void trainingStepAllocatesNoHeapMemoryOnCpu() {
        String why = CpuBackend.unavailableReason();
        Assumptions.assumeTrue(why == null, () -> "skipped: " + why);
        assertNoAllocation(new CpuBackend(2));
    }

    /** The device path (ids staged on the host, copies, kernel launches) over the stand-in CUDA driver. */
    @Test
    void trainingStepAllocatesNoHeapMemoryOnCudaStandIn() {
        dev.jgpt.backend.cuda.FakeCuda.require();
        assertNoAllocation(dev.jgpt.backend.cuda.FakeCuda.backend());
    }

    private static void assertNoAllocation(Backend backend) {
        LlamaConfig c = LlamaConfig.llama2c(8, 16, 2, 2, 1, 17, 8, false);
        int B = 2, T = 4, N = B * T;
        try (backend; LlamaTrainModel model = new LlamaTrainModel(backend, c, B, T); TensorArena host = TensorArena.host()) {
            model.initWeights(1);
            Tensor tokens = host.allocate(DType.I32, N), targets = host.allocate(DType.I32, N);
            for (int i = 0; i < N; i++) {
                tokens.setInt(i, i % c.vocabSize());
                targets.setInt(i, (i + 1) % c.vocabSize());
            }
            Runnable step = () -> {
                model.zeroGrad();
                model.forwardBackward(tokens, targets, B, T);
                TrainSteps.clipAndAdamw(model, 1e-3f, 0.1f);
            };
            // class loading, lazy AdamW state, and enough runs for the JIT to settle; then the quietest of three windows
            long perStep = AllocationProbe.steadyHeapBytesPerRun(step, 200, 20, 3);
            System.out.println("heap bytes allocated per llama training step on " + backend.name() + ": " + perStep);
            assertThat(perStep).as("bytes per step").isLessThan(64);
        }
    }
}
