package dev.jgpt.generate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.model.GptConfig;
import dev.jgpt.model.ParameterLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The generator driving the real GPT-2 inference model (reference backend, random weights). */
class Gpt2GenerationTest {
    private final ByteTokenizer tok = ByteTokenizer.withChatTokens();

    @Test
    void kvCacheGenerationEqualsRecomputingTheWholeSequenceEachStep() {
        GptConfig cfg = new GptConfig(tok.vocabSize(), 32, 2, 2, 16);
        try (ReferenceBackend backend = new ReferenceBackend(); TensorArena arena = backend.newArena()) {
            Tensor params = arena.allocate(DType.F32, ParameterLayout.of(cfg).size());
            Random r = new Random(11);
            for (long i = 0; i < params.numel(); i++) params.setFloat(i, (float) (0.3 * r.nextGaussian()));
            try (Gpt2Inference lm = new Gpt2Inference(backend, cfg, params)) {
                int[] prompt = tok.encode("Hello");
                GenerationConfig greedy = GenerationConfig.DEFAULTS.withTemperature(0).withMaxNewTokens(20);
                GenerationResult res = new Generator().generate(lm, tok, prompt, greedy, TokenListener.NONE);

                // oracle: no cache reuse, the whole sequence prefilled again for every token
                List<Integer> seq = new ArrayList<>();
                for (int t : prompt) seq.add(t);
                List<Integer> expected = new ArrayList<>();
                Sampler argmax = new Sampler(tok.vocabSize());
                argmax.reset(greedy);
                for (int i = 0; i < 20; i++) {
                    lm.reset();
                    int next = argmax.sample(lm.prefill(seq.stream().mapToInt(Integer::intValue).toArray()));
                    if (next == 256 || next == 260) break;
                    expected.add(next);
                    seq.add(next);
                }
                assertThat(res.tokenIds()).containsExactly(expected.stream().mapToInt(Integer::intValue).toArray());
                assertThat(expected).hasSizeGreaterThan(3);
                assertThat(lm.position()).isLessThanOrEqualTo(cfg.contextLength());

                GenerationConfig sampled = GenerationConfig.DEFAULTS.withSeed(5L).withMaxNewTokens(25);
                int[] a = new Generator().generate(lm, tok, prompt, sampled, TokenListener.NONE).tokenIds();
                int[] b = new Generator().generate(lm, tok, prompt, sampled, TokenListener.NONE).tokenIds();
                assertThat(a).isEqualTo(b);

                // the whole context: 5 prompt tokens + 27 new = 32
                GenerationResult full = new Generator().generate(lm, tok, prompt,
                        GenerationConfig.DEFAULTS.withSeed(1L).withMaxNewTokens(27).withTopK(0).withTopP(1.0), TokenListener.NONE);
                assertThat(full.promptTokens() + full.generatedTokens()).isLessThanOrEqualTo(32);
            }
        }
    }
}
