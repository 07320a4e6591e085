package dev.jgpt.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.DeviceArena;
import dev.jgpt.memory.TensorArena;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A model on the cuda backend reserves from the driver what it allocates, plus at most one chunk of small tensors per
 * arena ({@link DeviceArena}), measured as the driver counts it ({@link CudaBackend#deviceMemoryInUse}, cuMemGetInfo).
 * Before, one bump chunk grew by doubling and every chunk's tail stayed unused when the next large tensor did not fit:
 * at this shape the four parameter-sized buffers (27 MB each) took chunks of 64 and 128 MiB, 201 MB for 108 MB.
 * Runs on the stand-in driver ({@link FakeDriverCudaReservedMemoryTest}, whose cuMemGetInfo follows its allocations
 * exactly) and on a GPU ({@link CudaReservedMemoryTest}, where each driver allocation may be rounded up to its
 * allocation granularity, at most {@link #granularity()} more per allocation).
 */
abstract class ReservedMemoryContract {
    abstract CudaBackend open();

    /** The most one driver allocation may reserve beyond what was asked. */
    abstract long granularity();

    @Test
    void aTrainingModelReservesWhatItAllocates() {
        GptConfig cfg = new GptConfig(20000, 64, 2, 4, 256); // 6.8M parameters: 27 MB per parameter-sized buffer
        int B = 2, T = 64;
        try (CudaBackend cuda = open(); TensorArena host = TensorArena.host()) {
            try (Gpt2 warm = new Gpt2(cuda, cfg, B, T)) { // the backend's own buffers (sums, workspaces) first
                warm.initWeights(1);
                AllocationProbe.trainingStep(warm, host, B, T).run();
            }
            cuda.synchronize();
            long before = cuda.deviceMemoryInUse();
            try (Gpt2 model = new Gpt2(cuda, cfg, B, T)) {
                model.initWeights(2);
                AllocationProbe.trainingStep(model, host, B, T).run(); // allocates the AdamW moments
                long reserved = cuda.deviceMemoryInUse() - before;
                Map<String, Long> used = model.offHeapBytes();
                long allocated = used.values().stream().mapToLong(Long::longValue).sum();
                System.out.printf("GPT-2 %s, B %d, T %d on cuda: %,d bytes allocated (%s), %,d reserved from the driver%n",
                        cfg, B, T, allocated, used, reserved);
                assertThat(used.get("optimizer")).as("the AdamW moments are allocated").isPositive();
                // four parameter-sized buffers on their own allocations; the activations' small tensors (layernorm
                // statistics, losses, ids) share one chunk, the parameter arena has none
                assertThat(reserved).as("device bytes the model reserved").isGreaterThanOrEqualTo(allocated)
                        .isLessThanOrEqualTo(allocated + DeviceArena.DEFAULT_CHUNK + 8 * granularity());
            }
            cuda.synchronize();
            assertThat(cuda.deviceMemoryInUse()).as("closing the model frees all of it").isEqualTo(before);
        }
    }
}
