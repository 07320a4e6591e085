package dev.jgpt.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.FakeCuda;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link ReservedMemoryContract} on the stand-in driver, whose cuMemAlloc/cuMemFree keep a gauge of the live device
 * bytes and whose cuMemGetInfo reports 1 GiB minus it. GPU twin: {@link CudaReservedMemoryTest}.
 */
class FakeDriverCudaReservedMemoryTest extends ReservedMemoryContract {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    CudaBackend open() {
        return FakeCuda.backend();
    }

    @Override
    long granularity() {
        return 0;
    }

    /**
     * A model larger than the device (the stand-in's 4 GiB): one clear error that says what did not fit and what to
     * try (the memory in use, a smaller batch, bf16 mode and fused attention where they are off), and the arenas the
     * constructor had filled are freed.
     */
    @Test
    void aModelTooLargeForTheGpuIsOneClearErrorAndLeavesNothingAllocated() {
        GptConfig cfg = new GptConfig(64, 1024, 2, 2, 8); // narrow, so that little is allocated before the large tensor
        try (CudaBackend cuda = open()) {
            long before = FakeCuda.count(FakeCuda.Counter.DEVICE_BYTES);
            // the (B, NH, T, T) probabilities of 2 layers at B 600: 10 GB
            assertThatThrownBy(() -> new Gpt2(cuda, cfg, 600, 1024))
                    .isInstanceOf(dev.jgpt.backend.cuda.CudaException.class)
                    .hasMessageContaining("out of GPU memory allocating")
                    .hasMessageContaining("GiB of the GPU's memory already in use")
                    .hasMessageContaining("use a smaller batch or model")
                    .hasMessageContaining("--precision bf16")
                    .hasMessageContaining("JGPT_CUDA_ATTENTION=fused");
            assertThat(FakeCuda.count(FakeCuda.Counter.DEVICE_BYTES)).as("the constructor's arenas are freed").isEqualTo(before);
            cuda.setMath(dev.jgpt.backend.cuda.GemmMath.BF16);
            cuda.setFusedAttention(true);
            // the first activation (the embeddings' output, B*T*C floats) is already larger than the device at B 150,000
            assertThatThrownBy(() -> new Gpt2(cuda, cfg, 150_000, 1024)).isInstanceOf(dev.jgpt.backend.cuda.CudaException.class)
                    .hasMessageContaining("use a smaller batch or model")
                    .satisfies(e -> assertThat(e.getMessage()).as("what is already on").doesNotContain("--precision bf16")
                            .doesNotContain("JGPT_CUDA_ATTENTION"));
        }
    }

    @Test
    void cuMemGetInfoFollowsTheGauge() {
        try (CudaBackend cuda = open()) {
            assertThat(cuda.deviceMemoryInUse()).isEqualTo(FakeCuda.count(FakeCuda.Counter.DEVICE_BYTES));
        }
    }

    /**
     * {@code JGPT_CUDA_ARENA_CHUNK} / {@code -Djgpt.cuda.arenaChunk}: 0 gives each tensor its own cuMemAlloc of its
     * rounded size (what bench/stand-in-asan.sh runs with), a size in bytes sets the chunk, anything else is one error.
     */
    @Test
    void theArenaChunkIsConfigurable() {
        String before = System.getProperty("jgpt.cuda.arenaChunk");
        try (CudaBackend cuda = open()) {
            System.setProperty("jgpt.cuda.arenaChunk", "0");
            long calls = FakeCuda.deviceAllocations();
            try (dev.jgpt.backend.cuda.DeviceArena arena = (dev.jgpt.backend.cuda.DeviceArena) cuda.newArena()) {
                arena.allocate(dev.jgpt.memory.DType.F32, 3);
                arena.allocate(dev.jgpt.memory.DType.F32, 100);
                arena.allocate(dev.jgpt.memory.DType.BF16, 200);
                assertThat(FakeCuda.deviceAllocations() - calls).as("one cuMemAlloc per tensor").isEqualTo(3);
                assertThat(arena.reservedBytes()).as("each rounded to 256 bytes").isEqualTo(256 + 512 + 512);
            }
            System.setProperty("jgpt.cuda.arenaChunk", String.valueOf(1 << 20));
            calls = FakeCuda.deviceAllocations();
            try (dev.jgpt.backend.cuda.DeviceArena arena = (dev.jgpt.backend.cuda.DeviceArena) cuda.newArena()) {
                for (int i = 0; i < 10; i++) arena.allocate(dev.jgpt.memory.DType.F32, 1000);
                assertThat(FakeCuda.deviceAllocations() - calls).as("ten small tensors in one 1 MiB chunk").isEqualTo(1);
                assertThat(arena.reservedBytes()).isEqualTo(1 << 20);
            }
            System.setProperty("jgpt.cuda.arenaChunk", "64M");
            assertThatThrownBy(cuda::newArena).isInstanceOf(dev.jgpt.JgptException.class)
                    .hasMessage("JGPT_CUDA_ARENA_CHUNK: '64M' is not a size in bytes (0: a cuMemAlloc per tensor)");
        } finally {
            if (before == null) System.clearProperty("jgpt.cuda.arenaChunk");
            else System.setProperty("jgpt.cuda.arenaChunk", before);
        }
    }
}
