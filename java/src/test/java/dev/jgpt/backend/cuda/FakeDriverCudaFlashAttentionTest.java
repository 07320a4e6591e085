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

    /** JGPT_CUDA_ATTENTION / -Djgpt.cuda.attention: auto (default), cublas, fused, fused-wmma, fused-cudacore; anything else is one clear error. */
    @Test
    void attentionModeSetting() {
        String before = System.getProperty("jgpt.cuda.attention");
        try {
            System.clearProperty("jgpt.cuda.attention");
            if (System.getenv("JGPT_CUDA_ATTENTION") == null) assertThat(CudaBackend.attentionConfigured()).isEqualTo("auto");
            System.setProperty("jgpt.cuda.attention", "Auto");
            assertThat(CudaBackend.attentionConfigured()).isEqualTo("auto");
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
                    .hasMessageContaining("expected auto, cublas, fused, fused-wmma or fused-cudacore");
        } finally {
            if (before == null) System.clearProperty("jgpt.cuda.attention");
            else System.setProperty("jgpt.cuda.attention", before);
        }
    }

    /**
     * auto (the default): fused only where the tensor-core kernels run (bf16 mode, head size <= 64), so att keeps
     * probabilities for larger heads and in fp32 mode, where the CUDA-core fused kernels measured slower than cuBLAS.
     */
    @Test
    void autoAttentionIsFusedOnlyOnTensorCores() {
        try (CudaBackend bf16 = FakeCuda.backend(GemmMath.BF16); CudaBackend fp32 = FakeCuda.backend(GemmMath.FP32)) {
            bf16.setAutoAttention();
            fp32.setAutoAttention();
            // GPT-2's heads (C 768, NH 12: 64) at T 1024: fused on tensor cores in bf16, cuBLAS in fp32
            assertThat(bf16.attentionKeepsProbabilities(1, 1024, 768, 12)).isFalse();
            assertThat(bf16.attentionLabel(64)).isEqualTo("fused-tc");
            assertThat(bf16.attentionStateFloats(2, 1024, 768, 12)).isLessThan(2L * 12 * 1024 * 1024);
            assertThat(fp32.attentionKeepsProbabilities(1, 1024, 768, 12)).isTrue();
            assertThat(fp32.attentionLabel(64)).isEqualTo("cublas");
            assertThat(fp32.gqaAttentionLabel(64)).isEqualTo("rows");
            // head size 128 (C 256, NH 2): no tensor-core kernel, so the unfused path in bf16 too
            assertThat(bf16.attentionKeepsProbabilities(1, 300, 256, 2)).isTrue();
            assertThat(bf16.attentionLabel(128)).isEqualTo("cublas");
            assertThat(bf16.gqaAttentionKeepsProbabilities(1, 300, 4, 2, 128)).isTrue();
            assertThat(bf16.gqaAttentionKeepsProbabilities(1, 300, 4, 2, 64)).isFalse();
            // short batches (T <= head size) keep the cuBLAS path as in fused mode
            assertThat(bf16.attentionKeepsProbabilities(1, 64, 768, 12)).isTrue();
            // an explicit setting replaces auto
            bf16.setFusedAttention(false);
            assertThat(bf16.attentionKeepsProbabilities(1, 1024, 768, 12)).isTrue();
            fp32.setFusedAttention(true);
            assertThat(fp32.attentionLabel(64)).isEqualTo("fused-cudacore");
        }
    }
}
