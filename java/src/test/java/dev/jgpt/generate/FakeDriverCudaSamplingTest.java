package dev.jgpt.generate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.FakeCuda;
import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.model.GptConfig;
import dev.jgpt.model.ParameterLayout;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Generation on the cuda backend over the stand-in driver ({@link FakeCuda}: the real top-k and model
 * kernels, emulated on the CPU): greedy and top-k settings pick each token from the device's k candidates
 * and never copy the V logits to the host, and give the same tokens as the full-logit path on the same
 * backend and as the reference backend; other settings copy the logits and still match.
 */
class FakeDriverCudaSamplingTest {
    private final ByteTokenizer tok = ByteTokenizer.withChatTokens();
    /** The model's output is padded past the tokenizer's 261 ids, as llm.c pads GPT-2's. */
    private final GptConfig cfg = new GptConfig(264, 48, 2, 2, 32);

    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Test
    void deviceCandidatesGiveTheReferenceTokensWithoutCopyingTheLogits() {
        List<GenerationConfig> device = List.of(
                GenerationConfig.DEFAULTS.withTemperature(0).withMaxNewTokens(16),
                GenerationConfig.DEFAULTS.withTopK(5).withTopP(1.0).withTemperature(0.9).withSeed(3L).withMaxNewTokens(12),
                GenerationConfig.DEFAULTS.withSeed(11L).withMaxNewTokens(8));  // top-k 40 + top-p 0.95
        List<GenerationConfig> host = List.of(
                GenerationConfig.DEFAULTS.withTemperature(0).withRepetitionPenalty(1.3).withMaxNewTokens(10),
                GenerationConfig.DEFAULTS.withTopK(0).withTopP(0.9).withSeed(5L).withMaxNewTokens(10),
                GenerationConfig.DEFAULTS.withTopK(CudaBackend.TOPK_MAX + 1).withSeed(5L).withMaxNewTokens(6));
        int[] prompt = tok.encode("Hello");
        try (ReferenceBackend ref = new ReferenceBackend(); TensorArena refArena = ref.newArena();
             CudaBackend cuda = FakeCuda.backend(); TensorArena devArena = cuda.newArena()) {
            Tensor params = refArena.allocate(DType.F32, ParameterLayout.of(cfg).size());
            Random r = new Random(11);
            for (long i = 0; i < params.numel(); i++) params.setFloat(i, (float) (0.3 * r.nextGaussian()));
            Tensor devParams = devArena.allocate(DType.F32, params.numel());
            cuda.copy(devParams, params);
            try (Gpt2Inference onRef = new Gpt2Inference(ref, cfg, params); Gpt2Inference onCuda = new Gpt2Inference(cuda, cfg, devParams)) {
                assertThat(onRef.deviceLogits()).as("host logits need no device path").isNull();
                assertThat(onCuda.deviceLogits()).isNotNull();
                Generator gen = new Generator();
                for (GenerationConfig c : device) {
                    int[] expected = gen.generate(onRef, tok, prompt, c, TokenListener.NONE).tokenIds();
                    int[] fullPath = gen.generate(hostOnly(onCuda), tok, prompt, c, TokenListener.NONE).tokenIds();
                    long copies = onCuda.logitCopiesToHost();
                    GenerationResult res = gen.generate(onCuda, tok, prompt, c, TokenListener.NONE);
                    assertThat(gen.lastDeviceCandidates()).isEqualTo(c.greedy() ? 1 : c.topK());
                    assertThat(onCuda.logitCopiesToHost() - copies).as("logit copies to the host, %s", c).isZero();
                    assertThat(res.tokenIds()).as("device path vs full path on cuda, %s", c).containsExactly(fullPath);
                    assertThat(res.tokenIds()).as("cuda vs reference, %s", c).containsExactly(expected);
                    assertThat(expected.length).isGreaterThan(2);
                }
                for (GenerationConfig c : host) {
                    int[] expected = gen.generate(onRef, tok, prompt, c, TokenListener.NONE).tokenIds();
                    long copies = onCuda.logitCopiesToHost();
                    GenerationResult res = gen.generate(onCuda, tok, prompt, c, TokenListener.NONE);
                    assertThat(gen.lastDeviceCandidates()).isZero();
                    int passes = 1 + (res.finishReason() == FinishReason.LENGTH ? c.maxNewTokens() - 1 : res.generatedTokens());
                    assertThat(onCuda.logitCopiesToHost() - copies).as("one copy per forward pass, %s", c).isEqualTo(passes);
                    assertThat(res.tokenIds()).as("cuda vs reference, %s", c).containsExactly(expected);
                }
            }
        }
    }

    /** The same model without its device path: the generator reads the full logits. */
    private static CausalLm hostOnly(CausalLm lm) {
        return new CausalLm() {
            @Override public int vocabSize() { return lm.vocabSize(); }
            @Override public int contextLength() { return lm.contextLength(); }
            @Override public void reset() { lm.reset(); }
            @Override public int position() { return lm.position(); }
            @Override public Tensor prefill(int[] tokens) { return lm.prefill(tokens); }
            @Override public Tensor step(int token) { return lm.step(token); }
        };
    }
}
