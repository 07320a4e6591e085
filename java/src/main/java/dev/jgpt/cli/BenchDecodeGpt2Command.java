package dev.jgpt.cli;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.Backends;
import dev.jgpt.memory.Tensor;
import dev.jgpt.model.Gpt2;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.model.GptConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jgpt bench decode-gpt2}: greedy decoding speed of a GPT-2 preset with random weights on any
 * backend (cuda included), through the KV-cached {@link Gpt2Inference} that {@code jgpt generate} and the
 * server use: time to first token for a prompt, then tokens/s of single-token steps (each step brings the
 * logits to the host and takes the argmax there, as sampling does).
 */
@Command(name = "decode-gpt2", mixinStandardHelpOptions = true,
        description = "Time GPT-2 greedy decoding (KV cache) of a preset with random weights on a backend.")
public final class BenchDecodeGpt2Command implements Runnable {

    @Option(names = "--preset", defaultValue = "gpt2", description = "Model preset: tiny, small, base, gpt2 (default ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = "--backend", defaultValue = "cpu", description = "auto, cpu, cuda or reference (default ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--threads", description = "Threads for the backend (default: all cores).")
    Integer threads;

    @Option(names = "--precision", paramLabel = "fp32|tf32|bf16", description = "cuda only: how matrix products compute (default fp32).")
    String precision;

    @Option(names = "--prompt-tokens", defaultValue = "64", description = "Prompt length (default ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--tokens", defaultValue = "128", description = "Tokens decoded per run (default ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--runs", defaultValue = "3", description = "Timed runs after one warm-up; the median is reported (default ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--json", description = "Print one JSON object on stdout.")
    boolean json;

    @Override
    public void run() {
        GptConfig cfg = GptConfig.preset(preset);
        if (promptTokens < 1 || tokens < 1 || runs < 1) throw new IllegalArgumentException("--prompt-tokens, --tokens and --runs must be >= 1");
        if (promptTokens + tokens > cfg.contextLength()) {
            throw new dev.jgpt.JgptException("--prompt-tokens + --tokens = " + (promptTokens + tokens) + " exceeds the context length "
                    + cfg.contextLength() + " of preset " + preset);
        }
        Backend ops = BenchSupport.backend(backend, threads);
        try (ops; Gpt2 model = new Gpt2(ops, cfg, 1, 1); Gpt2Inference lm = Gpt2Inference.of(model)) {
            Backends.applyPrecision(ops, precision, "--precision");
            model.initWeights(1);
            Random r = new Random(3);
            int[] prompt = new int[promptTokens];
            for (int i = 0; i < promptTokens; i++) prompt[i] = r.nextInt(cfg.vocabSize());
            System.err.printf("jgpt: decode-gpt2 %s (%,d params) on %s: %d prompt + %d tokens, 1 warm-up + %d runs ...%n",
                    preset, cfg.parameterCount(), ops.name(), promptTokens, tokens, runs);
            double[] ttft = new double[runs], tps = new double[runs];
            for (int run = -1; run < runs; run++) {
                lm.reset();
                long t0 = System.nanoTime();
                int next = argmax(lm.prefill(prompt), cfg.vocabSize());
                long t1 = System.nanoTime();
                for (int i = 0; i < tokens; i++) next = argmax(lm.step(next), cfg.vocabSize());
                long t2 = System.nanoTime();
                if (run < 0) continue;
                ttft[run] = (t1 - t0) / 1e6;
                tps[run] = tokens / ((t2 - t1) / 1e9);
                System.err.printf("jgpt:   run %d: first token %.1f ms, %.1f tokens/s%n", run + 1, ttft[run], tps[run]);
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("command", "bench decode-gpt2");
            out.put("backend", ops.name());
            if (ops instanceof dev.jgpt.backend.cuda.CudaBackend cuda) out.put("precision", cuda.math().label());
            out.put("threads", ops.threads());
            out.put("preset", preset);
            out.put("parameters", cfg.parameterCount());
            out.put("promptTokens", promptTokens);
            out.put("tokens", tokens);
            out.put("runs", runs);
            out.put("timeToFirstTokenMs", BenchSupport.round(BenchSupport.median(ttft), 2));
            out.put("tokensPerSecond", BenchSupport.round(BenchSupport.median(tps), 1));
            var memory = BenchSupport.putMemory(out, model, lm);
            if (json) {
                System.out.println(BenchSupport.JSON.writeValueAsString(out));
            } else {
                System.out.printf("decode-gpt2 %s on %s: first token after %.1f ms (%d-token prompt), %.1f tokens/s%n",
                        preset, ops.name(), out.get("timeToFirstTokenMs"), promptTokens, out.get("tokensPerSecond"));
                System.out.println("memory: " + memory.summary());
            }
        }
    }

    private static int argmax(Tensor logits, int V) {
        int best = 0;
        float bv = logits.getFloat(0);
        for (int i = 1; i < V; i++) {
            float v = logits.getFloat(i);
            if (v > bv) {
                bv = v;
                best = i;
            }
        }
        return best;
    }
}
