package dev.jgpt.llama;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.CudaTestSupport;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@link LlamaOpsInference} on a real GPU against {@link ReferenceLlama} (the contract of {@link LlamaOpsContract}:
 * same greedy ids, logits within 1e-4). Skipped with the reason where CUDA is not usable; run by
 * {@code bench/gpu-check.sh}. {@link FakeDriverCudaLlamaDecodeTest} runs the same on the stand-in driver in CI.
 */
class CudaLlamaDecodeTest extends LlamaOpsContract {
    @BeforeAll
    static void requireGpu() {
        CudaTestSupport.requireGpu();
    }

    @Override
    protected Backend newBackend() {
        return CudaBackend.open();
    }
}
