package dev.jgpt.serve;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.generate.ByteTokenizer;
import dev.jgpt.generate.GenerationConfig;
import dev.jgpt.generate.Generator;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.generate.TokenListener;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.model.GptConfig;
import dev.jgpt.model.ParameterLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The server's batched GPT-2 steps on a cuda backend (a subclass says which): when every
 * sequence in a step samples from its row's largest logits (greedy, top-k ≤ 64, with or without top-p), the
 * step reads k candidates per row picked on the device ({@code topk_partial}/{@code topk_merge} over all rows
 * at once) instead of copying the (n, V) logits back, and each client still gets exactly the text that
 * {@link Generator} gives it alone; a step with one sequence that needs the full logits (a repetition
 * penalty) copies them, with the same texts.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
abstract class BatchSamplingContract {
    private final ByteTokenizer tok = ByteTokenizer.withChatTokens();
    /** The model's rows are padded past the tokenizer's 261 ids, as llm.c pads GPT-2's. */
    private final GptConfig cfg = new GptConfig(264, 64, 2, 2, 32);

    /** A fresh cuda backend (closed by the test). */
    protected abstract CudaBackend newBackend();

    /** CUDA graph launches so far, or -1 where they cannot be counted (a GPU). */
    protected long graphLaunches() {
        return -1;
    }

    @Test
    void batchedStepsSampleFromDeviceCandidatesAndGiveEachClientItsTextAlone() throws Exception {
        List<GenerationConfig> candidates = List.of(
                GenerationConfig.DEFAULTS.withTemperature(0).withMaxNewTokens(14),
                GenerationConfig.DEFAULTS.withTopK(5).withTopP(1.0).withTemperature(0.9).withSeed(3L).withMaxNewTokens(12),
                GenerationConfig.DEFAULTS.withSeed(11L).withMaxNewTokens(10),                   // top-k 40 + top-p 0.95
                GenerationConfig.DEFAULTS.withTopK(CudaBackend.TOPK_MAX).withSeed(7L).withMaxNewTokens(10));
        List<GenerationConfig> mixed = new ArrayList<>(candidates);
        mixed.add(GenerationConfig.DEFAULTS.withRepetitionPenalty(1.3).withSeed(5L).withMaxNewTokens(10));
        try (CudaBackend cuda = newBackend(); TensorArena arena = cuda.newArena(); TensorArena host = TensorArena.host()) {
            Tensor params = arena.allocate(DType.F32, ParameterLayout.of(cfg).size());
            Tensor h = host.allocate(DType.F32, params.numel());
            Random r = new Random(11);
            for (long i = 0; i < h.numel(); i++) h.setFloat(i, (float) (0.3 * r.nextGaussian()));
            cuda.copy(params, h);
            Gpt2Inference alone = new Gpt2Inference(cuda, cfg, params);
            List<String> expected = new ArrayList<>();
            Generator gen = new Generator();
            for (int i = 0; i < mixed.size(); i++) {
                expected.add(gen.generate(alone, tok, prompt(i), mixed.get(i), TokenListener.NONE).text());
            }
            alone.close();

            Gpt2Inference primary = new Gpt2Inference(cuda, cfg, params);
            try (ServedModel served = new ServedModel("m", new LoadedModel("m", primary, tok), null, mixed.size(), 16)) {
                // all candidate settings: every batched step reads candidates only
                long launches = graphLaunches();
                List<String> got = runTogether(served, candidates);
                if (launches >= 0) {
                    assertThat(graphLaunches() - launches).as("batched steps replayed from graphs (on by default)").isPositive();
                }
                assertThat(got).as("batched on the device vs alone").isEqualTo(expected.subList(0, candidates.size()));
                assertThat(served.meanBatch()).as("some step advanced several sequences").isGreaterThan(1.0);
                long rows = served.deviceSampledRows();
                assertThat(rows).as("rows sampled from device candidates").isPositive();

                // one sequence with a repetition penalty: its steps copy the full logits, the texts stay the same
                List<String> got2 = runTogether(served, mixed);
                assertThat(got2).as("batched with a full-logits sequence vs alone").isEqualTo(expected);
            }
        }
    }

    /** Submits every config's job at once (the scheduler batches those that overlap) and collects the texts. */
    private List<String> runTogether(ServedModel served, List<GenerationConfig> configs) throws Exception {
        List<DecodeJob> jobs = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        for (int i = 0; i < configs.size(); i++) {
            DecodeJob job = new DecodeJob(prompt(i), configs.get(i), deadline);
            jobs.add(job);
            served.submit(job);
        }
        List<String> texts = new ArrayList<>();
        for (DecodeJob job : jobs) {
            StringBuilder text = new StringBuilder();
            for (DecodeJob.Event e = job.next(); ; e = job.next()) {
                if (e instanceof DecodeJob.Text t) text.append(t.text());
                else if (e instanceof DecodeJob.Failed f) throw new AssertionError("job failed", f.error());
                else break;
            }
            texts.add(text.toString());
        }
        return texts;
    }

    private int[] prompt(int i) {
        return tok.encode("Hello " + "abcdefgh".substring(0, 1 + i));
    }
}
