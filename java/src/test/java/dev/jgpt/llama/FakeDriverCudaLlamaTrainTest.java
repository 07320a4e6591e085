package dev.jgpt.llama;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.cuda.FakeCuda;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@link LlamaTrainModel} on the cuda backend over the stand-in driver (no GPU): parameters, activations
 * and gradients live in "device" memory reached only through the backend, the host mirrors of
 * {@code parameters()}/{@code weights()}/{@code gradients()} stay in step, and the result is the same
 * gradients, logits, overfitting and export as on the reference. The CUDA kernels themselves are C
 * emulations here (java/src/test/c/fake_cuda.c).
 */
class FakeDriverCudaLlamaTrainTest extends LlamaTrainContractTest {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    protected Backend newBackend() {
        return FakeCuda.backend();
    }
}
