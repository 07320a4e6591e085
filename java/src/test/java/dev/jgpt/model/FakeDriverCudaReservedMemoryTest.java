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
}
