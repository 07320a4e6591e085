package dev.jgpt.llama;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.CudaTestSupport;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@link LlamaTrainContractTest} on a real GPU: Llama training on the cuda backend, its gradients against double
 * precision finite differences, overfitting, export, and LoRA (gradients of the adapters against finite differences
 * of the merged model, adapters alone fitting a batch, the merged checkpoint and the adapters round-tripping).
 * Skipped with the reason where CUDA is not usable; run by bench/gpu-check.sh and gpu-quick.sh.
 */
class CudaLlamaTrainTest extends LlamaTrainContractTest {
    @BeforeAll
    static void requireGpu() {
        CudaTestSupport.requireGpu();
    }

    @Override
    protected Backend newBackend() {
        return CudaBackend.open();
    }
}
