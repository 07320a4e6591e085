package dev.jgpt.llama;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.FakeCuda;
import org.junit.jupiter.api.BeforeAll;

/**
 * The Llama training contract (finite differences, agreement with decoding, overfitting, export) on the cuda
 * backend in fused-attention mode over the stand-in driver: grouped-query attention runs the flash-style
 * kernels (kernels/attention.cu, attention_backward_fused.cu) inside real training steps, with the model's
 * smaller att/datt buffers. The gradient, decoding and overfitting tests' sequences (5, 7, 16 tokens) are longer
 * than their head sizes (4, 4, 8), so the fused path is the one that runs there.
 */
class FakeDriverCudaFusedAttentionLlamaTrainTest extends LlamaTrainContractTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    protected Backend newBackend() {
        CudaBackend cuda = FakeCuda.backend();
        cuda.setFusedAttention(true);
        return cuda;
    }
}
