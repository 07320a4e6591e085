package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link FlashAttentionContractTest} on the stand-in driver: the real kernels/attention_flash_tc.cu under the
 * host emulation, whose mma.h (cuda_host/) multiplies WMMA fragments with a lane layout unlike the GPU's and
 * checks the wmma rules (whole warps, 32-byte aligned pointers, ldm multiples).
 */
class FakeDriverCudaFlashAttentionTest extends FlashAttentionContractTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    CudaBackend open() {
        return FakeCuda.backend(GemmMath.BF16);
    }

    /** JGPT_CUDA_ATTENTION / -Djgpt.cuda.attention: cublas (default), fused, fused-wmma, fused-cudacore; anything else is one clear error. */
    @Test
    void attentionModeSetting() {
        String before = System.getProperty("jgpt.cuda.attention");
        try {
            System.setProperty("jgpt.cuda.attention", "fused-cudacore");
            assertThat(CudaBackend.attentionConfigured()).isEqualTo("fused-cudacore");
            System.setProperty("jgpt.cuda.attention", "FUSED-WMMA");
            assertThat(CudaBackend.attentionConfigured()).isEqualTo("fused-wmma");
            System.setProperty("jgpt.cuda.attention", " Fused ");
            assertThat(CudaBackend.attentionConfigured()).isEqualTo("fused");
            System.setProperty("jgpt.cuda.attention", "cublas");
            assertThat(CudaBackend.attentionConfigured()).isEqualTo("cublas");
            System.setProperty("jgpt.cuda.attention", "flash");
            assertThatThrownBy(CudaBackend::attentionConfigured).isInstanceOf(dev.jgpt.JgptException.class)
                    .hasMessageContaining("expected cublas, fused, fused-wmma or fused-cudacore");
        } finally {
            if (before == null) System.clearProperty("jgpt.cuda.attention");
            else System.setProperty("jgpt.cuda.attention", before);
        }
    }
}
