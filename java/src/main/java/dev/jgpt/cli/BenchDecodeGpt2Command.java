package dev.jgpt.cli;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.Backends;
import dev.jgpt.memory.Tensor;
import dev.jgpt.model.Gpt2;
import dev.jgpt.backend.cpu.CpuBackend;
import dev.jgpt.backend.DeviceTopK;
import dev.jgpt.generate.BackendLm;
import dev.jgpt.generate.CausalLm;
import dev.jgpt.generate.DeviceLogits;
import dev.jgpt.llama.DecodeDType;
import dev.jgpt.model.Gpt2Decoder;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.model.GptConfig;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code jgpt bench decode-gpt2}: greedy decoding speed of a GPT-2 preset with random weights on any
 * backend (cuda included): time to first token for a prompt, then tokens/s of single-token steps. Each
 * token is picked as greedy generation picks it: where the logits live on a device that can pick the
 * largest there ({@link CausalLm#deviceLogits()}, cuda), only the top-1 (id, logit) comes back; otherwise
 * the V logits are copied to the host and the argmax taken there ({@code --sampling host} forces that,
 * to compare). On the cpu backend
 * it times libjgpt's native {@link Gpt2Decoder} (what {@code jgpt generate} uses there) in
 * {@code --dtype}; {@code --engine ops} (and every other backend) times the KV-cached
 * {@link Gpt2Inference} on the Backend ops (what the server's batched path uses). {@code --model RUN}
 * times a trained run's weights instead of random ones.
 */
@Command(name = "decode-gpt2", mixinStandardHelpOptions = true,
        description = "Time GPT-2 greedy decoding (KV cache) of a preset with random weights on a backend.")
public final class BenchDecodeGpt2Command implements Runnable {

    @Option(names = "--preset", defaultValue = "gpt2", description = "Model preset: tiny, small, base, gpt2 (default ${DEFAULT-VALUE}).")
    String preset;

    @Mixin
    BenchBackendOptions options;

    @Option(names = "--precision", paramLabel = "fp32|tf32|bf16", description = "cuda only: how matrix products compute (default fp32).")
    String precision;

    @Option(names = "--dtype", defaultValue = "f32", paramLabel = "D",
            description = "Native decoder weights: f32, bf16, q8 (default ${DEFAULT-VALUE}; cpu backend only).")
    String dtype;

    @Option(names = "--group-size", defaultValue = "32", paramLabel = "G", description = "q8 group size, 32 or 64 (default ${DEFAULT-VALUE}).")
    int groupSize;

    @Option(names = "--engine", paramLabel = "native|ops",
            description = "native: libjgpt's one-call-per-token decoder (default on cpu); ops: Gpt2Inference on the Backend ops (default elsewhere).")
    String engine;

    @Option(names = "--model", paramLabel = "RUN", description = "Time this GPT-2 run's weights (its config replaces --preset).")
    java.nio.file.Path model;

    @Option(names = "--prompt-tokens", defaultValue = "64", description = "Prompt length (default ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--tokens", defaultValue = "128", description = "Tokens decoded per run (default ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--runs", defaultValue = "3", description = "Timed runs after one warm-up; the median is reported (default ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--profile", description = "cuda only: also time every kernel, cuBLAS product and copy of the decode steps"
            + " (CUDA events; per token, prefill excluded) and print GPU busy vs wall time.")
    boolean profile;

    @Option(names = "--sampling", defaultValue = "auto", paramLabel = "auto|host",
            description = "auto: the greedy token from the device's top-1 where the logits live on a device (cuda), else host argmax; "
                    + "host: always copy the logits to the host and take the argmax there (default ${DEFAULT-VALUE}).")
    String sampling;

    @Option(names = "--batch", defaultValue = "1", paramLabel = "B",
            description = "Sequences decoded together, as jgpt serve batches them (ops engine): each step advances all B by one "
                    + "token (one batched product per weight) and picks B greedy tokens (device top-1 per row on cuda); tokens/s "
                    + "counts all B (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--graphs", defaultValue = "auto", paramLabel = "auto|on|off",
            description = "cuda: on: capture the decode step (with --batch, one per batch size) into a CUDA graph once and replay it per"
                    + " token; off: launch "
                    + "every kernel and product per token; auto: JGPT_CUDA_GRAPHS (default on), but off with --profile so that its "
                    + "rows name the kernels (default ${DEFAULT-VALUE}).")
    String graphs;

    @Override
    public void run() {
        GptConfig cfg = model != null ? dev.jgpt.train.Checkpoints.config(dev.jgpt.train.ModelDirs.resolve(model)) : GptConfig.preset(preset);
        String what = model != null ? model.getFileName().toString() : preset;
        if (promptTokens < 1 || tokens < 1 || runs < 1) throw new IllegalArgumentException("--prompt-tokens, --tokens and --runs must be >= 1");
        if (promptTokens + tokens > cfg.contextLength()) {
            throw new dev.jgpt.JgptException("--prompt-tokens + --tokens = " + (promptTokens + tokens) + " exceeds the context length "
                    + cfg.contextLength() + " of " + what);
        }
        DecodeDType dt = DecodeDType.parse(dtype);
        Backend ops = options.open();
        boolean nativeEngine = engine == null ? ops instanceof CpuBackend : switch (engine) {
            case "native" -> true;
            case "ops" -> false;
            default -> throw new dev.jgpt.JgptException("--engine: '" + engine + "' is not one of native, ops");
        };
        if (nativeEngine && !(ops instanceof CpuBackend)) {
            ops.close();
            throw new dev.jgpt.JgptException("--engine native runs on the cpu backend only (not " + ops.name() + ")");
        }
        if (!nativeEngine && dt != DecodeDType.F32) {
            ops.close();
            throw new dev.jgpt.JgptException("--dtype " + dt + " needs the native engine on the cpu backend");
        }
        if (!sampling.equals("auto") && !sampling.equals("host")) {
            ops.close();
            throw new dev.jgpt.JgptException("--sampling: '" + sampling + "' is not one of auto, host");
        }
        if (batch < 1 || batch > Gpt2Inference.PREFILL_CHUNK) {
            ops.close();
            throw new dev.jgpt.JgptException("--batch: must be in [1, " + Gpt2Inference.PREFILL_CHUNK + "] but was " + batch);
        }
        if (batch > 1 && nativeEngine) {
            ops.close();
            throw new dev.jgpt.JgptException("--batch " + batch + " times the ops engine's batched step: add --engine ops (on cpu, the"
                    + " server's native batched decoder is timed by bench/serve-vs-baseline.sh)");
        }
        if (profile && !(ops instanceof dev.jgpt.backend.cuda.CudaBackend)) {
            ops.close();
            throw new dev.jgpt.JgptException("--profile times kernels on the cuda backend only (not " + ops.name() + ")");
        }
        if (!graphs.equals("auto") && !graphs.equals("on") && !graphs.equals("off")) {
            ops.close();
            throw new dev.jgpt.JgptException("--graphs: '" + graphs + "' is not one of auto, on, off");
        }
        if (ops instanceof dev.jgpt.backend.StepGraphs g) {
            if (!graphs.equals("auto") || profile) g.setGraphs(graphs.equals("on"));
        } else if (graphs.equals("on")) {
            ops.close();
            throw new dev.jgpt.JgptException("--graphs on: CUDA graphs need the cuda backend (not " + ops.name() + ")");
        }
        // per decode step (one token): the warm-up run grows the event pool, then the totals are reset
        dev.jgpt.backend.cuda.KernelTimeline kernels = profile ? ((dev.jgpt.backend.cuda.CudaBackend) ops).timeline() : null;
        try (ops; Gpt2 weights = new Gpt2(ops, cfg, 1, 1);
             CausalLm lm = decoder(nativeEngine, weights, cfg, dt, ops)) {
            DeviceLogits device = sampling.equals("auto") ? lm.deviceLogits() : null;
            Greedy greedy = batch > 1 ? new Batched((BackendLm) lm, batch, device != null, cfg.vocabSize())
                    : device != null ? new OnDevice(lm, device, cfg.vocabSize()) : new OnHost(lm, cfg.vocabSize());
            Random r = new Random(3);
            int[] prompt = new int[promptTokens];
            for (int i = 0; i < promptTokens; i++) prompt[i] = r.nextInt(cfg.vocabSize());
            String eng = nativeEngine ? "native " + dt : "ops";
            System.err.printf("jgpt: decode-gpt2 %s (%,d params) on %s (%s, %s): %s%d prompt + %d tokens, 1 warm-up + %d runs ...%n",
                    what, cfg.parameterCount(), ops.name(), eng, device != null ? "device top-1" : "host argmax",
                    batch > 1 ? batch + " sequences of " : "", promptTokens, tokens, runs);
            double[] ttft = new double[runs], tps = new double[runs], tpc = new double[runs];
            java.util.List<Integer> firstTokens = new java.util.ArrayList<>();
            for (int run = -1; run < runs; run++) {
                greedy.reset();
                long t0 = System.nanoTime();
                int next = greedy.prefill(prompt);
                long t1 = System.nanoTime(), c1 = BenchSupport.processCpuNanos();
                if (run < 0) firstTokens.add(next);   // the greedy continuation, to compare engines and dtypes
                if (kernels != null && run == 0) kernels.reset();
                for (int i = 0; i < tokens; i++) {
                    if (kernels != null) kernels.beginStep();
                    next = greedy.step(next);
                    if (kernels != null) kernels.endStep();
                    if (run < 0 && firstTokens.size() < 16) firstTokens.add(next);
                }
                long t2 = System.nanoTime(), c2 = BenchSupport.processCpuNanos();
                if (run < 0) continue;
                ttft[run] = (t1 - t0) / 1e6;
                tps[run] = (double) batch * tokens / ((t2 - t1) / 1e9);
                tpc[run] = (double) batch * tokens / Math.max(1e-9, (c2 - c1) / 1e9);
                System.err.printf("jgpt:   run %d: first token %.1f ms, %.1f tokens/s%n", run + 1, ttft[run], tps[run]);
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("command", "bench decode-gpt2");
            out.put("backend", ops.name());
            if (ops instanceof dev.jgpt.backend.cuda.CudaBackend cuda) out.put("precision", cuda.math().label());
            out.put("threads", ops.threads());
            out.put("engine", nativeEngine ? "native" : "ops");
            out.put("dtype", nativeEngine ? dt.toString() : "f32");
            out.put("sampling", device != null ? "device top-1" : "host argmax");
            // whether the timed steps replayed a captured CUDA graph (single sequence or batched, on cuda)
            long graphSteps = lm instanceof BackendLm b ? b.graphSteps() + b.batchGraphSteps() : 0;
            out.put("graphs", graphSteps > 0 ? "on" : "off");
            out.put("graphSteps", graphSteps);
            if (nativeEngine && dt == DecodeDType.Q8) out.put("groupSize", groupSize);
            if (model != null) out.put("model", model.toString());
            else out.put("preset", preset);
            out.put("parameters", cfg.parameterCount());
            out.put("batch", batch);
            out.put("promptTokens", promptTokens);
            out.put("tokens", tokens);
            out.put("runs", runs);
            out.put("timeToFirstTokenMs", BenchSupport.round(BenchSupport.median(ttft), 2));
            out.put("tokensPerSecond", BenchSupport.round(BenchSupport.median(tps), 1));
            // tokens per second of process CPU time (all threads): with --threads 1, what one quiet core does
            out.put("tokensPerCpuSecond", BenchSupport.round(BenchSupport.median(tpc), 1));
            out.put("loadAverage", BenchSupport.loadAverage());
            out.put("firstGreedyTokens", firstTokens);
            var memory = BenchSupport.putMemory(out, weights, lm);
            greedy.close();
            var gpuProfile = KernelProfileReport.put(out, kernels); // per token
            if (options.json) {
                System.out.println(BenchSupport.JSON.writeValueAsString(out));
            } else {
                System.out.printf("decode-gpt2 %s on %s (%s%s%s): first token after %.1f ms (%d-token prompt%s), %.1f tokens/s (load %s)%n",
                        what, ops.name(), eng, batch > 1 ? ", batch " + batch : "", graphSteps > 0 ? ", CUDA graph" : "",
                        out.get("timeToFirstTokenMs"), promptTokens,
                        batch > 1 ? "s, all " + batch : "", out.get("tokensPerSecond"), out.get("loadAverage"));
                System.out.println("memory: " + memory.summary());
                if (gpuProfile != null) KernelProfileReport.print(gpuProfile, "token");
            }
        }
    }

    /** The weights are filled (the run's, or a random init) before the decoder converts them to its dtype. */
    private CausalLm decoder(boolean nativeEngine, Gpt2 weights, GptConfig cfg, DecodeDType dt, Backend ops) {
        Backends.applyPrecision(ops, precision, "--precision");
        if (model != null) {
            dev.jgpt.io.Gpt2Files.readWeights(dev.jgpt.train.ModelDirs.resolve(model).resolve(dev.jgpt.io.Gpt2Files.WEIGHTS), cfg,
                    weights.params().flat());
        } else {
            weights.initWeights(1);
        }
        return nativeEngine ? new Gpt2Decoder(cfg, weights.params().flat(), dt, groupSize, ops.threads(), null)
                : Gpt2Inference.of(weights);
    }

    /** How the bench picks each greedy token (of the first sequence, where several decode together). */
    private interface Greedy extends AutoCloseable {
        void reset();

        int prefill(int[] prompt);

        int step(int token);

        @Override
        default void close() {}
    }

    /** The V logits copied to the host, argmax there. */
    private record OnHost(CausalLm lm, int V) implements Greedy {
        public void reset() { lm.reset(); }
        public int prefill(int[] prompt) { return argmax(lm.prefill(prompt), V); }
        public int step(int token) { return argmax(lm.step(token), V); }
    }

    /**
     * B sequences ({@code lm} and B-1 {@link BackendLm#newSequence()}s over its weights) prefilled with the
     * prompt (its first token varied per sequence), then advanced together by {@link BackendLm#stepBatch}; each
     * row's greedy token from the device's top-1 ({@link DeviceTopK#topKRows}, one call for all rows) or from
     * the (B, V) logits copied to the host. Reports the first sequence's tokens.
     */
    private static final class Batched implements Greedy {
        private final BackendLm[] seqs;
        private final DeviceTopK topK;
        private final int V;
        private final int[] next, ids, first;
        private final float[] vals;

        Batched(BackendLm lm, int B, boolean onDevice, int V) {
            this.seqs = new BackendLm[B];
            this.topK = onDevice ? (DeviceTopK) lm.backend() : null;
            this.V = V;
            this.next = new int[B];
            this.ids = new int[B];
            this.vals = new float[B];
            this.first = new int[1];
            seqs[0] = lm;
            for (int i = 1; i < B; i++) seqs[i] = lm.newSequence();
        }

        public void reset() {
            for (BackendLm s : seqs) s.reset();
        }

        public int prefill(int[] prompt) {
            for (int i = 0; i < seqs.length; i++) {
                int keep = prompt[0];
                prompt[0] = (keep + i) % V;
                next[i] = argmax(seqs[i].prefill(prompt), V);
                prompt[0] = keep;
            }
            return next[0];
        }

        public int step(int token) {
            next[0] = token;
            int B = seqs.length;
            if (topK != null) {
                seqs[0].stepBatchCandidates(seqs, next, B, V, 1, ids, vals); // on cuda with graphs: one replay per step
                System.arraycopy(ids, 0, next, 0, B);
            } else {
                Tensor rows = seqs[0].stepBatch(seqs, next, B);
                for (int i = 0; i < B; i++) next[i] = argmax(rows.view((long) i * V, V), V);
            }
            return next[0];
        }

        @Override
        public void close() {
            for (int i = 1; i < seqs.length; i++) seqs[i].close();
        }
    }

    /** The logits stay on the device; only the top-1 (id, logit) comes back. */
    private record OnDevice(CausalLm lm, DeviceLogits device, int V, int[] id, float[] logit) implements Greedy {
        OnDevice(CausalLm lm, DeviceLogits device, int V) {
            this(lm, device, V, new int[1], new float[1]);
        }

        public void reset() {
            lm.reset();
        }

        public int prefill(int[] prompt) {
            device.prefillOnDevice(prompt);
            return top();
        }

        public int step(int token) {
            device.stepTopCandidates(token, V, 1, id, logit); // on cuda with graphs: the top-1 inside the step's graph
            return id[0];
        }

        private int top() {
            device.topCandidates(V, 1, id, logit);
            return id[0];
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
