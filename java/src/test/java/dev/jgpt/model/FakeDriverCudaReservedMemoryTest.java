package dev.jgpt.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.DeviceArena;
import dev.jgpt.backend.cuda.FakeCuda;
import dev.jgpt.memory.TensorArena;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A model on the cuda backend reserves from the driver what it allocates, plus at most one chunk of small tensors per
 * arena ({@link DeviceArena}): the stand-in driver keeps a gauge of the device bytes allocated and not yet freed.
 * Before, one bump chunk grew by doubling and every chunk's tail stayed unused when the next large tensor did not fit:
 * at this shape the four parameter-sized buffers (27 MB each) took chunks of 64 and 128 MiB, 201 MB for 108 MB.
 */
class FakeDriverCudaReservedMemoryTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Test
    void aTrainingModelReservesWhatItAllocates() {
        GptConfig cfg = new GptConfig(20000, 64, 2, 4, 256); // 6.8M parameters: 27 MB per parameter-sized buffer
        int B = 2, T = 64;
        try (CudaBackend cuda = FakeCuda.backend(); TensorArena host = TensorArena.host()) {
            try (Gpt2 warm = new Gpt2(cuda, cfg, B, T)) { // the backend's own buffers (sums, pinned results) first
                warm.initWeights(1);
                AllocationProbe.trainingStep(warm, host, B, T).run();
            }
            long before = FakeCuda.count(FakeCuda.Counter.DEVICE_BYTES);
            try (Gpt2 model = new Gpt2(cuda, cfg, B, T)) {
                model.initWeights(2);
                AllocationProbe.trainingStep(model, host, B, T).run(); // allocates the AdamW moments
                long reserved = FakeCuda.count(FakeCuda.Counter.DEVICE_BYTES) - before;
                Map<String, Long> used = model.offHeapBytes();
                long allocated = used.values().stream().mapToLong(Long::longValue).sum();
                System.out.printf("GPT-2 %s, B %d, T %d on cuda: %,d bytes allocated (%s), %,d reserved from the driver%n",
                        cfg, B, T, allocated, used, reserved);
                assertThat(used.get("optimizer")).as("the AdamW moments are allocated").isPositive();
                assertThat(reserved).as("device bytes the model reserved").isGreaterThanOrEqualTo(allocated)
                        // the activations' small tensors (layernorm statistics, losses, ids) share one chunk; the
                        // parameter arena has none
                        .isLessThanOrEqualTo(allocated + DeviceArena.DEFAULT_CHUNK);
                assertThat(cuda.deviceMemoryInUse()).as("cuMemGetInfo's used bytes: the stand-in's gauge")
                        .isEqualTo(FakeCuda.count(FakeCuda.Counter.DEVICE_BYTES));
            }
            assertThat(FakeCuda.count(FakeCuda.Counter.DEVICE_BYTES)).as("closing the model frees all of it").isEqualTo(before);
        }
    }
}
