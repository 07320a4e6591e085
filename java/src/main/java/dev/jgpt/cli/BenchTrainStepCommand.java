package dev.jgpt.cli;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.TimingBackend;
import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.KernelTimeline;
import dev.jgpt.llama.LlamaConfig;
import dev.jgpt.llama.LlamaTrainModel;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.model.Gpt2;
import dev.jgpt.model.GptConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code jgpt bench train-step}: time of one full training step (zero grads, forward, backward,
 * grad norm, AdamW) of a GPT-2 preset on random tokens: ms/step, tokens/s and model FLOP
 * utilisation against a given peak.
 */
@Command(name = "train-step", mixinStandardHelpOptions = true,
        description = "Time a full GPT-2 (or --arch llama) training step (forward, backward, AdamW) on random tokens.")
public final class BenchTrainStepCommand implements Runnable {

    @Option(names = "--arch", defaultValue = "gpt2",
            description = "gpt2 or llama (the preset's dim, layers, heads and vocabulary as a Llama: RMSNorm, RoPE, SwiGLU, GQA; default ${DEFAULT-VALUE}).")
    String arch;

    @Option(names = "--kv-heads", description = "Llama only: key/value heads (default: the heads; must divide them).")
    Integer kvHeads;

    @Option(names = "--preset", defaultValue = "small", description = "Model preset: tiny, small, base, gpt2 (default ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = "--vocab", description = "Vocabulary size (default: the preset's).")
    Integer vocab;

    @Option(names = "--batch", defaultValue = "16", description = "Sequences per step (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seq", defaultValue = "256", description = "Tokens per sequence (default ${DEFAULT-VALUE}).")
    int seq;

    @Mixin
    BenchBackendOptions options;

    @Option(names = "--steps", defaultValue = "5", description = "Timed steps (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--warmup", defaultValue = "1", description = "Untimed steps first (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--peak-gflops",
            description = "FP32 peak of the cores used, for the MFU figure (default: detected, as jgpt train does; see MachinePeak).")
    Double peakGflops;

    @Option(names = "--profile", description = "Also time where a step goes: on cuda every kernel, cuBLAS product and copy"
            + " (CUDA events, no extra synchronisation) with GPU busy vs wall time; elsewhere every backend operation"
            + " (adds a synchronize per op).")
    boolean profile;

    @Option(names = "--precision", paramLabel = "fp32|tf32|bf16",
            description = "cuda only: how matrix products compute (bf16: bf16 operands, fp32 accumulation and master weights). Default fp32.")
    String precision;

    @Override
    public void run() {
        if (steps < 1) throw new IllegalArgumentException("--steps: must be >= 1 but was " + steps);
        GptConfig cfg = vocab == null ? GptConfig.preset(preset) : GptConfig.preset(preset, vocab);
        if ("llama".equals(arch)) {
            runLlama(cfg);
            return;
        }
        if (!"gpt2".equals(arch)) throw new dev.jgpt.JgptException("--arch: gpt2 or llama, not '" + arch + "'");
        Backend base = options.open();
        try {
            dev.jgpt.backend.Backends.applyPrecision(base, precision, "--precision");
        } catch (RuntimeException e) {
            base.close();
            throw e;
        }
        KernelTimeline kernels = kernelTimeline(base);
        TimingBackend timing = profile && kernels == null ? new TimingBackend(base) : null;
        Backend ops = timing != null ? timing : base;
        int B = batch, T = seq, BT = B * T;
        try (base; Gpt2 model = new Gpt2(ops, cfg, B, T); TensorArena host = TensorArena.host()) {
            model.initWeights(1);
            Tensor tokens = host.allocate(DType.I32, BT), targets = host.allocate(DType.I32, BT);
            fillBatch(tokens, targets, cfg.vocabSize());
            System.err.printf("jgpt: train-step %s (%,d params) B=%d T=%d on %s, %d threads: %d warmup + %d steps ...%n",
                    preset, cfg.parameterCount(), B, T, ops.name(), ops.threads(), warmup, steps);
            Timed run = time(() -> step(model, tokens, targets, B, T), ops, timing, kernels);
            float loss = run.loss();
            double cpuMs = run.cpuMsPerStep(), med = run.medianMs();
            double tokPerSec = BT / (med / 1e3);
            long L = cfg.layers(), C = cfg.channels(), V = cfg.vocabSize();
            // matmul FLOPs per token (fwd+bwd = 3x fwd): 6 * (matmul params) + attention 12*L*C*T (PaLM's count)
            double flopsPerToken = 6.0 * (L * 12 * C * C + V * C) + 12.0 * L * C * T;
            if (peakGflops == null && base instanceof dev.jgpt.backend.cuda.CudaBackend cuda) {
                // the GPU's datasheet peak for this precision (NaN, so no MFU, for GPUs not in the table)
                peakGflops = dev.jgpt.backend.cuda.GpuPeak.ofDevice0(cuda.math()).orElse(Double.NaN);
            }
            if (peakGflops == null) peakGflops = dev.jgpt.train.MachinePeak.detect().gflops(ops.threads());
            double mfu = flopsPerToken * tokPerSec / (peakGflops * 1e9);
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("command", "bench train-step");
            out.put("backend", ops.name());
            out.put("threads", ops.threads());
            if (base instanceof dev.jgpt.backend.cuda.CudaBackend cuda) {
                out.put("precision", cuda.math().label());
                out.put("attention", cuda.attentionLabel(T, cfg.channels() / cfg.heads())); // the path that ran at this T
                out.put("lt", cuda.lt() ? "on" : "off"); // cuBLASLt epilogues (JGPT_CUDA_LT)
                out.put("ltDgelu", cuda.ltDgelu() ? "on" : "off"); // the DGELU epilogue among them (JGPT_CUDA_LT_DGELU)
                out.put("classifierSplit", cuda.classifierSplit() ? "on" : "off"); // JGPT_CUDA_CLASSIFIER_SPLIT
            }
            out.put("activationDType", ops.activationDType().name()); // bf16 activation storage (JGPT_CUDA_BF16_ACTIVATIONS)
            out.put("attentionDType", ops.attentionStateDType(B, T, cfg.channels(), cfg.heads()).name()); // att and datt
            long classifierRows = ops.classifierRows(BT, cfg.vocabSize());
            out.put("classifierChunks", (BT + classifierRows - 1) / classifierRows); // logits chunks per step
            out.put("preset", preset);
            out.put("parameters", cfg.parameterCount());
            out.put("batch", B);
            out.put("seq", T);
            out.put("steps", steps);
            out.put("msPerStepMedian", BenchSupport.round(med, 2));
            out.put("tokensPerSecond", BenchSupport.round(tokPerSec, 1));
            // CPU time of the whole process per step: on a shared machine, with --threads 1, the
            // step time a quiet core would give (wall time there includes waiting for the core)
            out.put("cpuMsPerStep", BenchSupport.round(cpuMs, 2));
            out.put("loadAverage", BenchSupport.loadAverage());
            out.put("gflopsPerStep", BenchSupport.round(flopsPerToken * BT / 1e9, 2));
            out.put("achievedGflops", BenchSupport.round(flopsPerToken * tokPerSec / 1e9, 1));
            out.put("mfu", Double.isNaN(mfu) ? null : BenchSupport.round(mfu, 4));
            out.put("peakGflops", peakGflops.isNaN() ? null : peakGflops);
            out.put("loss", loss);
            putDeviceMemory(out, base);
            var memory = BenchSupport.putMemory(out, model);
            List<Map<String, Object>> breakdown = breakdown(timing, steps);
            if (timing != null) out.put("profile", breakdown);
            var gpuProfile = KernelProfileReport.put(out, kernels);
            if (options.json) {
                System.out.println(BenchSupport.JSON.writeValueAsString(out));
            } else {
                String mfuText = Double.isFinite(mfu) ? String.format("MFU %.1f%% of %.0f GFLOP/s", 100 * mfu, peakGflops)
                        : "MFU n/a (no peak known for this device)";
                System.out.printf("train-step %s B=%d T=%d on %s (%d threads): %.1f ms/step, %.0f tokens/s, %.1f GFLOP/s, %s"
                                + " (process CPU %.1f ms/step, load %s)%n",
                        preset, B, T, ops.name(), ops.threads(), med, tokPerSec, flopsPerToken * tokPerSec / 1e9, mfuText,
                        cpuMs, out.get("loadAverage"));
                System.out.println("memory: " + memory.summary());
                printBreakdown(breakdown);
                if (gpuProfile != null) KernelProfileReport.print(gpuProfile, "step");
            }
        }
    }

    /**
     * The same timing for a {@link LlamaTrainModel} of the preset's shape (hidden = llama2.c's 2/3 of 4 x dim
     * rounded up to 32, separate classifier), so Llama training speed has a number of its own.
     */
    private void runLlama(GptConfig g) {
        int kv = kvHeads != null ? kvHeads : g.heads();
        int hidden = (2 * 4 * g.channels() / 3 + 31) / 32 * 32;
        if (kv < 1 || g.heads() % kv != 0) throw new dev.jgpt.JgptException("--kv-heads: " + kv + " must divide the heads (" + g.heads() + ")");
        LlamaConfig lc = LlamaConfig.llama2c(g.channels(), hidden, g.layers(), g.heads(), kv, g.vocabSize(), seq, false);
        Backend base = options.open();
        KernelTimeline kernels = kernelTimeline(base);
        TimingBackend timing = profile && kernels == null ? new TimingBackend(base) : null;
        Backend ops = timing != null ? timing : base;
        int B = batch, T = seq, BT = B * T;
        try (base; LlamaTrainModel model = new LlamaTrainModel(ops, lc, B, T); TensorArena host = TensorArena.host()) {
            model.initWeights(1);
            Tensor tokens = host.allocate(DType.I32, BT), targets = host.allocate(DType.I32, BT);
            fillBatch(tokens, targets, lc.vocabSize());
            System.err.printf("jgpt: train-step llama %s (%,d params) B=%d T=%d on %s, %d threads: %d warmup + %d steps ...%n",
                    lc, model.parameterCount(), B, T, ops.name(), ops.threads(), warmup, steps);
            Timed run = time(() -> llamaStep(model, tokens, targets, B, T), ops, timing, kernels);
            float loss = run.loss();
            double cpuMs = run.cpuMsPerStep(), med = run.medianMs();
            double tokPerSec = BT / (med / 1e3);
            long L = lc.layers(), C = lc.dim(), V = lc.vocabSize(), KV = lc.kvDim(), H = lc.hiddenDim();
            double flopsPerToken = 6.0 * (L * (2 * C * C + 2 * C * KV + 3 * C * H) + V * C) + 12.0 * L * C * T;
            if (peakGflops == null && base instanceof dev.jgpt.backend.cuda.CudaBackend cuda) {
                peakGflops = dev.jgpt.backend.cuda.GpuPeak.ofDevice0(cuda.math()).orElse(Double.NaN);
            }
            if (peakGflops == null) peakGflops = dev.jgpt.train.MachinePeak.detect().gflops(ops.threads());
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("command", "bench train-step");
            out.put("arch", "llama");
            out.put("backend", ops.name());
            out.put("threads", ops.threads());
            if (base instanceof dev.jgpt.backend.cuda.CudaBackend cuda) {
                out.put("precision", cuda.math().label());
                out.put("attention", cuda.gqaAttentionLabel(T, lc.headSize()));
            }
            out.put("activationDType", ops.activationDType().name()); // bf16 activation storage (JGPT_CUDA_BF16_ACTIVATIONS)
            out.put("preset", preset);
            out.put("parameters", model.parameterCount());
            out.put("kvHeads", kv);
            out.put("hiddenDim", lc.hiddenDim());
            out.put("batch", B);
            out.put("seq", T);
            out.put("steps", steps);
            out.put("msPerStepMedian", BenchSupport.round(med, 2));
            out.put("tokensPerSecond", BenchSupport.round(tokPerSec, 1));
            out.put("cpuMsPerStep", BenchSupport.round(cpuMs, 2));
            out.put("loadAverage", BenchSupport.loadAverage());
            out.put("achievedGflops", BenchSupport.round(flopsPerToken * tokPerSec / 1e9, 1));
            double mfu = flopsPerToken * tokPerSec / (peakGflops * 1e9);
            out.put("mfu", Double.isNaN(mfu) ? null : BenchSupport.round(mfu, 4));
            out.put("peakGflops", peakGflops.isNaN() ? null : peakGflops);
            out.put("loss", loss);
            putDeviceMemory(out, base);
            var memory = BenchSupport.putMemory(out, model);
            List<Map<String, Object>> breakdown = breakdown(timing, steps);
            if (timing != null) out.put("profile", breakdown);
            var gpuProfile = KernelProfileReport.put(out, kernels);
            if (options.json) {
                System.out.println(BenchSupport.JSON.writeValueAsString(out));
            } else {
                System.out.printf("train-step llama %s B=%d T=%d on %s (%d threads): %.1f ms/step, %.0f tokens/s (process CPU %.1f ms/step, load %s)%n",
                        preset, B, T, ops.name(), ops.threads(), med, tokPerSec, cpuMs, out.get("loadAverage"));
                System.out.println("memory: " + memory.summary());
                printBreakdown(breakdown);
                if (gpuProfile != null) KernelProfileReport.print(gpuProfile, "step");
            }
        }
    }

    /** The median step time, the process CPU time per step and the last loss of the timed steps. */
    private record Timed(double medianMs, double cpuMsPerStep, float loss) {}

    /**
     * {@code warmup} untimed steps, then {@code steps} timed ones (synchronised, each printed); the profile counts
     * only those. With a kernel timeline the warm-up steps are recorded too (that grows its event pool) and then
     * forgotten, so the timed steps create no events.
     */
    private Timed time(java.util.function.Supplier<Float> step, Backend ops, TimingBackend timing, KernelTimeline kernels) {
        float loss = 0;
        for (int i = 0; i < warmup; i++) {
            if (kernels != null) kernels.beginStep();
            loss = step.get();
            if (kernels != null) kernels.endStep();
        }
        if (timing != null) timing.reset();
        if (kernels != null) kernels.reset();
        double[] ms = new double[steps];
        long cpu0 = BenchSupport.processCpuNanos();
        for (int i = 0; i < steps; i++) {
            long t0 = System.nanoTime();
            if (kernels != null) kernels.beginStep();
            loss = step.get();
            ops.synchronize();
            ms[i] = (System.nanoTime() - t0) / 1e6;
            if (kernels != null) kernels.endStep();
            System.err.printf("jgpt:   step %d: %.1f ms, loss %.4f%n", i + 1, ms[i], loss);
        }
        return new Timed(BenchSupport.median(ms), (BenchSupport.processCpuNanos() - cpu0) / 1e6 / steps, loss);
    }

    /** With {@code --profile} on the cuda backend: its per-kernel event timeline (else null: TimingBackend does it). */
    private KernelTimeline kernelTimeline(Backend base) {
        return profile && base instanceof CudaBackend cuda ? cuda.timeline() : null;
    }

    /** Random tokens (seed 7) and their next-token targets: the fixed batch every step trains on. */
    /**
     * On cuda: GPU memory in use after the steps ({@code cuMemGetInfo}, the whole device: the context, workspaces and
     * the arenas' reservations, not only what the model allocated, which {@code offHeap} lists).
     */
    private static void putDeviceMemory(Map<String, Object> out, dev.jgpt.backend.Backend base) {
        if (base instanceof dev.jgpt.backend.cuda.CudaBackend cuda) out.put("deviceMemoryUsedBytes", cuda.deviceMemoryInUse());
    }

    private static void fillBatch(Tensor tokens, Tensor targets, int vocab) {
        int n = (int) tokens.numel();
        Random r = new Random(7);
        for (int i = 0; i < n; i++) tokens.setInt(i, r.nextInt(vocab));
        for (int i = 0; i < n; i++) targets.setInt(i, i + 1 < n ? tokens.getInt(i + 1) : 0);
    }

    private static void printBreakdown(List<Map<String, Object>> rows) {
        for (Map<String, Object> row : rows) {
            System.out.printf("  %-26s %8.2f ms/step %5.1f%%  (%s calls)%n", row.get("op"), row.get("msPerStep"),
                    100 * (Double) row.get("share"), row.get("callsPerStep"));
        }
    }

    private static List<Map<String, Object>> breakdown(TimingBackend timing, int steps) {
        List<Map<String, Object>> rows = new ArrayList<>();
        if (timing == null) return rows;
        double total = timing.totals().values().stream().mapToDouble(v -> v[0]).sum();
        timing.totals().entrySet().stream().sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0])).forEach(e -> {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("op", e.getKey());
            row.put("msPerStep", BenchSupport.round(e.getValue()[0] / 1e6 / steps, 2));
            row.put("share", BenchSupport.round(e.getValue()[0] / total, 3));
            row.put("callsPerStep", e.getValue()[1] / steps);
            rows.add(row);
        });
        return rows;
    }

    private static float llamaStep(LlamaTrainModel model, Tensor tokens, Tensor targets, int B, int T) {
        model.zeroGrad();
        float loss = model.forwardBackward(tokens, targets, B, T);
        double norm = model.gradNorm();
        model.adamwStep(3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, norm > 1 ? (float) (1 / norm) : 1f);
        return loss;
    }

    private static float step(Gpt2 model, Tensor tokens, Tensor targets, int B, int T) {
        model.zeroGrad();
        float loss = model.forwardBackward(tokens, targets, B, T);
        double norm = model.gradNorm();
        model.adamwStep(3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, norm > 1 ? (float) (1 / norm) : 1f);
        return loss;
    }
}
