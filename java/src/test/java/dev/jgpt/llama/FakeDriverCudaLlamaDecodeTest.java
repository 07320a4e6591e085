package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.FakeCuda;
import dev.jgpt.backend.cuda.KernelTimeline;
import dev.jgpt.generate.ByteTokenizer;
import dev.jgpt.generate.GenerationConfig;
import dev.jgpt.generate.GenerationResult;
import dev.jgpt.generate.Generator;
import dev.jgpt.generate.TokenListener;
import java.lang.foreign.Arena;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link LlamaOpsInference} on the cuda backend over the stand-in driver ({@link FakeCuda}: the real
 * kernels/*.cu, gqa_attention_decode included, emulated on the CPU): the oracle's greedy ids and logits
 * (the contract), generation that picks each token from the device's top-k candidates without copying the
 * V logits to the host, and decode steps that make no device allocation. Not a GPU: no speed here.
 */
class FakeDriverCudaLlamaDecodeTest extends LlamaOpsContract {
    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Override
    protected Backend newBackend() {
        return FakeCuda.backend();
    }

    /** Vocabulary past the tokenizer's 261 ids, grouped-query attention. */
    private static final LlamaConfig CHAT = LlamaConfig.llama2c(24, 40, 2, 4, 2, 264, 40, false);

    @Test
    void deviceTopKGivesTheOracleTokensWithoutCopyingTheLogits() {
        ByteTokenizer tok = ByteTokenizer.withChatTokens();
        int[] prompt = tok.encode("Hi there");
        List<GenerationConfig> configs = List.of(GenerationConfig.DEFAULTS.withTemperature(0).withMaxNewTokens(8),
                GenerationConfig.DEFAULTS.withTopK(5).withTopP(1.0).withTemperature(0.9).withSeed(3L).withMaxNewTokens(6));
        Generator gen = new Generator();
        try (Arena a = Arena.ofConfined()) {
            LlamaWeights w = RandomLlama.create(CHAT, 5, a);
            // the special ids (256..) get zero logits, so the random model writes text rather than stopping at once
            w.wcls().asSlice(256L * CHAT.dim() * 4).fill((byte) 0);
            CudaBackend cuda = FakeCuda.backend();
            try (ReferenceLlama ref = new ReferenceLlama(w); LlamaOpsInference m = new LlamaOpsInference(cuda, w, cuda)) {
                assertThat(m.deviceLogits()).isNotNull();
                for (GenerationConfig c : configs) {
                    int[] expected = gen.generate(ref, tok, prompt, c, TokenListener.NONE).tokenIds();
                    long copies = m.logitCopiesToHost();
                    GenerationResult res = gen.generate(m, tok, prompt, c, TokenListener.NONE);
                    assertThat(gen.lastDeviceCandidates()).as("candidates read per token, %s", c).isEqualTo(c.greedy() ? 1 : c.topK());
                    assertThat(m.logitCopiesToHost() - copies).as("logit copies to the host, %s", c).isZero();
                    assertThat(res.tokenIds()).as("cuda device sampling vs the oracle, %s", c).containsExactly(expected);
                    assertThat(expected.length).isGreaterThan(2);
                }
            }
        }
    }

    /**
     * Kernel launches, counted by the cuda backend's {@link KernelTimeline}: a chat turn that continues the
     * sequence launches gqa_attention_decode once per layer for all its rows (row by row: TURN.length per layer).
     */
    @Test
    void aContinuedPrefillLaunchesTheAttentionKernelOncePerLayer() {
        try (Arena a = Arena.ofConfined()) {
            CudaBackend cuda = FakeCuda.backend();
            try (LlamaOpsInference m = new LlamaOpsInference(cuda, RandomLlama.create(GQA, 9, a), cuda)) {
                m.prefill(PROMPT);
                KernelTimeline timeline = cuda.timeline();
                timeline.beginStep();
                m.prefill(TURN);
                timeline.endStep();
                long launches = timeline.profile().rows().stream().filter(r -> r.name().equals("gqa_attention_decode"))
                        .mapToLong(KernelTimeline.Row::calls).sum();
                assertThat(launches).as("gqa_attention_decode launches for a %d-token turn", TURN.length).isEqualTo(GQA.layers());
            }
        }
    }

    /** No device memory per token, and little heap (launch arguments reuse one buffer; every view is made once). */
    @Test
    void decodeStepsMakeNoDeviceAllocation() {
        try (Arena a = Arena.ofConfined()) {
            CudaBackend cuda = FakeCuda.backend();
            try (LlamaOpsInference m = new LlamaOpsInference(cuda, RandomLlama.create(GQA, 9, a), cuda)) {
                int[] ids = new int[3];
                float[] vals = new float[3];
                for (int round = 0; round < 12; round++) { // class loading, lazy state, JIT
                    m.reset();
                    m.prefill(PROMPT);
                    for (int i = 0; i < 4; i++) m.step(i + 1);
                    for (int i = 0; i < 4; i++) {
                        m.deviceLogits().stepOnDevice(i);
                        m.deviceLogits().topCandidates(GQA.vocabSize(), 3, ids, vals);
                    }
                }
                m.reset();
                m.prefill(PROMPT);
                long before = FakeCuda.deviceAllocations(), heap = dev.jgpt.model.AllocationProbe.threadAllocatedBytes();
                assertThat(before).as("the model's device memory was counted").isPositive();
                for (int i = 0; i < 5; i++) m.step(i);
                for (int i = 0; i < 5; i++) {
                    m.deviceLogits().stepOnDevice(i);
                    m.deviceLogits().topCandidates(GQA.vocabSize(), 3, ids, vals);
                }
                long bytes = dev.jgpt.model.AllocationProbe.threadAllocatedBytes() - heap;
                assertThat(FakeCuda.deviceAllocations() - before).as("cuMemAlloc calls in 10 decode steps").isZero();
                System.out.println("llama decode on cuda (stand-in driver): heap bytes per step: " + bytes / 10);
                // measured 53 to 5,113 bytes (L=2, as far as the JIT got): cuBLAS takes each operand as a MemorySegment (one small object per
                // operand of the 15 products a step makes); views, launches and the top-k result buffers are reused
                assertThat(bytes / 10).as("heap bytes per decode step").isLessThan(16 * 1024);
            }
        }
    }
}
