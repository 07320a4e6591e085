package dev.jgpt.cli;

import dev.jgpt.JgptException;
import dev.jgpt.backend.Backend;
import dev.jgpt.backend.cpu.CpuInfo;
import dev.jgpt.generate.CausalLm;
import dev.jgpt.llama.DecodeDType;
import dev.jgpt.llama.LlamaConfig;
import dev.jgpt.llama.LlamaInference;
import dev.jgpt.llama.LlamaOpsInference;
import dev.jgpt.train.LoadedModels;
import dev.jgpt.llama.RandomLlama;
import dev.jgpt.memory.Tensor;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code jgpt bench decode}: tokens per second of greedy decoding of a Llama-family checkpoint (as
 * llama2.c's run.c measures it: one token at a time, argmax included), and the time to first token
 * of a prompt through the sgemm prefill against feeding the same prompt token by token. On the cpu
 * (default) libjgpt's {@link LlamaInference} runs; {@code --backend cuda|reference} times
 * {@link LlamaOpsInference} on that backend's ops (f32 or q8, bf16 too on cuda; on cuda each token picked by the device's top-1).
 */
@Command(name = "decode", mixinStandardHelpOptions = true,
        description = "Decode speed (tokens/s) and time to first token of a Llama checkpoint.")
public final class BenchDecodeCommand implements Runnable {

    @Option(names = "--model", description = "A llama2.c checkpoint (.bin) or a llama.cpp GGUF file of the llama architecture.")
    Path model;

    @Option(names = "--random", description = "Instead of --model: random weights of a preset shape (stories15M, stories42M, stories110M), cached in the temp directory.")
    String random;

    @Option(names = {"--backend", "--device"}, defaultValue = "cpu",
            description = "cpu: libjgpt's native decoder (default); cuda or reference: the backend's ops in f32; auto: cuda where a GPU works, else cpu.")
    String backend;

    @Option(names = "--dtype", defaultValue = "f32", description = "Weights for decoding: f32, bf16, q8 (default ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--group-size", defaultValue = "32", description = "q8 group size, 32 or 64 (default ${DEFAULT-VALUE}).")
    int groupSize;

    @Option(names = "--threads", description = "Threads (default: all cores).")
    Integer threads;

    @Option(names = "--tokens", defaultValue = "256", description = "Tokens decoded per run (default ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--runs", defaultValue = "3", description = "Timed runs; the median is reported (default ${DEFAULT-VALUE}).")
    int runs;

    @Option(names = "--prompt-tokens", defaultValue = "256", description = "Prompt length for the time to first token (default ${DEFAULT-VALUE}; 0 skips it).")
    int promptTokens;

    @Option(names = "--json", description = "Print one JSON object on stdout.")
    boolean json;

    @Override
    public void run() {
        if ((model == null) == (random == null)) throw new JgptException("give exactly one of --model FILE or --random PRESET");
        if (tokens < 1 || runs < 1) throw new JgptException("--tokens and --runs must be >= 1");
        DecodeDType dt = DecodeDType.parse(dtype);
        int nThreads = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        Path file = model;
        if (random != null) {
            LlamaConfig.preset(random); // validates the name
            System.err.println("jgpt: random " + random + " checkpoint (written once to the temp directory) ...");
            file = RandomLlama.cachedCheckpoint(random, 1);
        }
        long t0 = System.nanoTime();
        try (CausalLm lm = LoadedModels.llamaFileDecoder(file, backend, dt, groupSize, nThreads, "--backend/--device")) {
            Backend ops = lm instanceof LlamaOpsInference on ? on.backend() : null; // null: libjgpt's decoder on the cpu
            double loadMs = (System.nanoTime() - t0) / 1e6;
            LlamaConfig c = lm instanceof LlamaInference li ? li.config() : ((LlamaOpsInference) lm).config();
            String where = ops == null ? "cpu" : ops.name();
            int n = Math.min(tokens, c.seqLen());
            System.err.printf("jgpt: decode %s (%,d params, dim %d, %d layers) %s on %s: %d tokens x %d runs%n",
                    file.getFileName(), c.parameterCount(), c.dim(), c.layers(), dt,
                    ops == null ? nThreads + " threads" : where + " (the backend's ops)", n, runs);
            decodeRun(lm, Math.min(n, 16)); // warm-up: page in the mapped weights, wake the threads
            int[] first = firstTokens.clone(); // greedy tokens from BOS: compare with bench/c/llama_baseline --print
            double[] tps = new double[runs], cpuTps = new double[runs];
            var mx = java.lang.management.ManagementFactory.getThreadMXBean();
            for (int r = 0; r < runs; r++) {
                long cpu0 = mx.getCurrentThreadCpuTime();
                double s = decodeRun(lm, n);
                double cpu = (mx.getCurrentThreadCpuTime() - cpu0) / 1e9;
                tps[r] = n / s;
                cpuTps[r] = n / cpu;
                System.err.printf("jgpt:   run %d: %.1f tok/s%n", r + 1, tps[r]);
            }
            double median = BenchSupport.median(tps);

            Map<String, Object> out = new LinkedHashMap<>();
            out.put("command", "bench decode");
            out.put("model", random != null ? "random " + random : file.toString());
            out.put("backend", where);
            out.put("engine", ops == null ? "native" : "ops");
            out.put("sampling", lm.deviceLogits() != null ? "device top-1" : "host argmax");
            out.put("dtype", dt.toString());
            if (dt == DecodeDType.Q8) out.put("groupSize", groupSize);
            out.put("threads", nThreads);
            out.put("cpu", CpuInfo.cpu());
            out.put("parameters", c.parameterCount());
            out.put("dim", c.dim());
            out.put("hiddenDim", c.hiddenDim());
            out.put("layers", c.layers());
            out.put("heads", c.heads());
            out.put("kvHeads", c.kvHeads());
            out.put("vocab", c.vocabSize());
            out.put("tokens", n);
            out.put("runs", runs);
            out.put("tokensPerSecond", BenchSupport.round(median, 1));
            out.put("tokensPerSecondRuns", java.util.Arrays.stream(tps).map(x -> BenchSupport.round(x, 1)).boxed().toList());
            if (nThreads == 1) {
                // on a shared machine: tokens per second of this thread's own CPU time (the decode runs
                // on the calling thread when single-threaded), much less disturbed by other processes
                out.put("tokensPerCpuSecond", BenchSupport.round(BenchSupport.median(cpuTps), 1));
            }
            // weights read per token: every matrix incl. the classifier; of the embedding only one row
            double bytes = dt.bytesPerWeight(groupSize)
                    * (c.parameterCount() - (c.sharedClassifier() ? 0 : (long) c.vocabSize() * c.dim()));
            out.put("weightGBPerSecond", BenchSupport.round(bytes * median / 1e9, 2));
            out.put("loadMs", BenchSupport.round(loadMs, 1));
            out.put("firstGreedyTokens", java.util.Arrays.stream(first).limit(Math.min(n, 16)).boxed().toList());
            int p = Math.min(promptTokens, c.seqLen());
            if (p > 0) {
                int[] prompt = new int[p];
                SplittableRandom rnd = new SplittableRandom(3);
                for (int i = 0; i < p; i++) prompt[i] = rnd.nextInt(c.vocabSize());
                lm.reset();
                afterPrefill(lm, prompt); // warm-up
                double prefillMs = Double.MAX_VALUE, stepMs = Double.MAX_VALUE;
                for (int r = 0; r < Math.max(1, runs); r++) {
                    lm.reset();
                    long a = System.nanoTime();
                    afterPrefill(lm, prompt);
                    prefillMs = Math.min(prefillMs, (System.nanoTime() - a) / 1e6);
                }
                lm.reset();
                long a = System.nanoTime();
                for (int i = 0; i < p - 1; i++) {
                    if (lm.deviceLogits() != null) lm.deviceLogits().stepOnDevice(prompt[i]);
                    else lm.step(prompt[i]);
                }
                next(lm, prompt[p - 1]);
                stepMs = (System.nanoTime() - a) / 1e6;
                out.put("promptTokens", p);
                out.put("timeToFirstTokenMs", BenchSupport.round(prefillMs, 1));
                out.put("timeToFirstTokenTokenByTokenMs", BenchSupport.round(stepMs, 1));
                out.put("prefillTokensPerSecond", BenchSupport.round(p / (prefillMs / 1e3), 1));
            }
            var memory = BenchSupport.putMemory(out, lm);
            if (json) {
                System.out.println(BenchSupport.JSON.writeValueAsString(out));
            } else {
                System.out.printf("decode %s %s, %s: %.1f tok/s (runs %s)%n", out.get("model"), dt,
                        ops == null ? nThreads + " threads" : where, median, out.get("tokensPerSecondRuns"));
                if (p > 0) {
                    System.out.printf("time to first token, %d-token prompt: %.1f ms with %s prefill, %.1f ms token by token%n",
                            p, out.get("timeToFirstTokenMs"), ops == null ? "sgemm" : "batched", out.get("timeToFirstTokenTokenByTokenMs"));
                }
                System.out.println("memory: " + memory.summary());
            }
        }
    }

    private static final int[] firstTokens = new int[16];

    /** Greedy decoding of n tokens from BOS (token 1); returns seconds. */
    private static double decodeRun(CausalLm lm, int n) {
        lm.reset();
        long a = System.nanoTime();
        int token = 1;
        for (int i = 0; i < n; i++) {
            token = next(lm, token);
            if (i < firstTokens.length) firstTokens[i] = token;
        }
        return (System.nanoTime() - a) / 1e9;
    }

    private static final int[] topId = new int[1];
    private static final float[] topVal = new float[1];

    /**
     * The greedy token after {@code token}: on a device backend with top-k the id is picked there (one (id, logit)
     * pair comes back, which also waits for the step), else the argmax of the host logits.
     */
    private static int next(CausalLm lm, int token) {
        var dl = lm.deviceLogits();
        if (dl == null) return argmax(lm.step(token));
        dl.stepOnDevice(token);
        dl.topCandidates(lm.vocabSize(), 1, topId, topVal);
        return topId[0];
    }

    /** The greedy token after a prompt, as {@link #next}. */
    private static int afterPrefill(CausalLm lm, int[] prompt) {
        var dl = lm.deviceLogits();
        if (dl == null) return argmax(lm.prefill(prompt));
        dl.prefillOnDevice(prompt);
        dl.topCandidates(lm.vocabSize(), 1, topId, topVal);
        return topId[0];
    }

    /** Reused by argmax: the logits are copied out in one bulk copy, then scanned as an array. */
    private static float[] scratch = new float[0];

    private static int argmax(Tensor logits) {
        int V = (int) logits.numel();
        if (scratch.length != V) scratch = new float[V];
        java.lang.foreign.MemorySegment.copy(logits.data(), java.lang.foreign.ValueLayout.JAVA_FLOAT, 0, scratch, 0, V);
        float[] a = scratch;
        int best = 0;
        float bv = a[0];
        for (int i = 1; i < V; i++) {
            if (a[i] > bv) {
                bv = a[i];
                best = i;
            }
        }
        return best;
    }
}
