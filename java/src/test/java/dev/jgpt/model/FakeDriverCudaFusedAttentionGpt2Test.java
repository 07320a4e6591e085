package dev.jgpt.model;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.FakeCuda;
import org.junit.jupiter.api.BeforeAll;

/**
 * The model contract (finite differences, overfitting, inference) on the cuda backend in fused-attention
 * mode, over the stand-in driver: the fused forward and backward, taking the place of the att matrix inside
 * a real training step, still give the true gradient. The tests' sequences are longer than the head size,
 * so the fused path is the one that runs.
 */
class FakeDriverCudaFusedAttentionGpt2Test extends Gpt2ContractTest {
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
