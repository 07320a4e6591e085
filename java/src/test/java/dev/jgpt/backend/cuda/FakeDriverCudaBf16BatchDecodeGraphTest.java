package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.llama.LlamaOpsInference;
import dev.jgpt.llama.LlamaWeights;
import dev.jgpt.llama.RandomLlama;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.model.ParameterLayout;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link BatchDecodeGraphContract} in bf16 mode, where GPT-2's and Llama's decode keep q, k, v, the KV cache, the
 * attention output and the other product inputs in bf16 ({@code gqa_attention_decode_rows_bf16},
 * {@code rope_rotate_rows_bf16}): graphs on and off, and the batched steps, give the same bits as in fp32 mode they
 * do. Also: the caches are bf16 and half the fp32 size. GPU twin: the contract's fp32 run ({@link CudaBatchDecodeGraphTest}).
 */
class FakeDriverCudaBf16BatchDecodeGraphTest extends FakeDriverCudaBatchDecodeGraphTest {
    @Override
    void configure(CudaBackend cuda) {
        cuda.setMath(GemmMath.BF16);
    }

    @Test
    void theKvCacheIsBf16() {
        assertThat(cuda.activationDType()).isEqualTo(DType.BF16);
        Random r = new Random(3);
        Tensor flat = dev.allocate(DType.F32, ParameterLayout.of(CFG).size());
        Tensor h = host.allocate(DType.F32, flat.numel());
        for (long i = 0; i < h.numel(); i++) h.setFloat(i, (float) (0.02 * r.nextGaussian()));
        cuda.copy(flat, h);
        try (Gpt2Inference lm = new Gpt2Inference(cuda, CFG, flat)) {
            long cache = 2L * CFG.layers() * CFG.contextLength() * CFG.channels();
            assertThat(lm.offHeapBytes().get("kvCache")).as("GPT-2 K and V caches: 2 bytes per element").isEqualTo(2 * cache);
            lm.prefill(new int[] {1, 2, 3});
            Tensor logits = lm.step(4);
            for (long i = 0; i < logits.numel(); i++) assertThat(Float.isFinite(logits.getFloat(i))).isTrue();
        }
        try (Arena a = Arena.ofConfined()) {
            LlamaWeights w = RandomLlama.create(LLAMA, 5, a);
            try (LlamaOpsInference lm = new LlamaOpsInference(cuda, w, null)) {
                long cache = 2L * LLAMA.layers() * LLAMA.seqLen() * LLAMA.kvDim();
                assertThat(lm.offHeapBytes().get("kvCache")).as("Llama K and V caches: 2 bytes per element").isEqualTo(2 * cache);
            }
        }
    }
}
