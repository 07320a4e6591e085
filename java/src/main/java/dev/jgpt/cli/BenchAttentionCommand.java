package dev.jgpt.cli;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.Backends;
import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.KernelTimeline;
import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code jgpt bench attention}: the contract's causal attention ({@code attentionForward} + {@code attentionBackward}, or
 * with {@code --kv-heads} Llama's {@code gqaAttentionForward} + {@code gqaAttentionBackward}) timed alone at a model's
 * shape, for each implementation a backend has, side by side: on cuda the unfused path (GPT-2's cuBLAS products with
 * (B, NH, T, T) matrices, or kernels/llama.cu's rows), the fused kernels (tensor cores in bf16 mode) and, in bf16 mode,
 * the CUDA-core fused kernels forced; on cpu libjgpt's kernels against the plain-Java reference. Each row gives
 * milliseconds forward and backward, the causal TFLOP/s (FlashAttention's count: forward 4·B·NH·hs·T(T+1)/2, backward
 * 2.5× that), the attention state's device bytes, the speed-up over the baseline measured in the same run (cuda: the
 * unfused path; cpu: the reference) and how far its out and its gradients are from the baseline's. The tensors are of
 * the types the models give these ops: activations and their gradients in the backend's activation type (bf16 in
 * cuda's bf16 mode), att and datt in its attention state type.
 */
@Command(name = "attention", mixinStandardHelpOptions = true,
        description = "Time causal attention forward + backward per implementation (cuda: cublas, fused, fused-wmma, fused-cudacore;"
                + " cpu: libjgpt vs the Java reference) at a model's shape, with speed-ups and differences.")
public final class BenchAttentionCommand implements Runnable {

    @Option(names = "--batch", defaultValue = "8", description = "Sequences (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--seq", split = ",", defaultValue = "1024",
            description = "Sequence length(s), comma-separated: one row per length and implementation (default ${DEFAULT-VALUE}).")
    int[] seqs;

    @Option(names = "--channels", defaultValue = "768", description = "Model width C (default ${DEFAULT-VALUE}, GPT-2 124M's).")
    int channels;

    @Option(names = "--heads", defaultValue = "12", description = "Heads NH; head size C/NH (default ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--kv-heads", description = "Time Llama's grouped-query attention (gqaAttentionForward/Backward: separate q,"
            + " k, v; this many kv heads, dividing the heads) instead of GPT-2's packed qkv; on cuda the unfused path is then"
            + " kernels/llama.cu's (\"rows\").")
    Integer kvHeads;

    @Mixin
    BenchBackendOptions options;

    @Option(names = "--precision", paramLabel = "fp32|tf32|bf16",
            description = "cuda only: bf16 stores q, k, v and out (and the cuBLAS path's probabilities) as bf16 and runs the"
                    + " fused path on tensor cores. Default fp32.")
    String precision;

    @Option(names = "--paths", split = ",", paramLabel = "cublas|rows|fused|fused-wmma|fused-cudacore",
            description = "cuda only: the implementations to time, the first one the baseline (default cublas (rows with"
                    + " --kv-heads),fused, plus fused-wmma and fused-cudacore in bf16 mode).")
    List<String> paths;

    @Option(names = "--reps", defaultValue = "10", description = "Timed forward + backward pairs per row (default ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--warmup", defaultValue = "2", description = "Untimed pairs first (default ${DEFAULT-VALUE}).")
    int warmup;

    /** One implementation at one length: medians, and the host copies of out and the gradients for the comparison. */
    /** One implementation at one length: wall-clock medians, and on cuda the GPU's own time (events; NaN elsewhere). */
    private record Row(String path, int T, double fwdMs, double bwdMs, double fwdGpuMs, double bwdGpuMs, long stateBytes,
                       float[] out, float[] grads) {}

    /** One attention op pair set up on a backend's tensors: what to run and what to compare. */
    private record Case(Runnable forward, Runnable backward, Tensor out, Tensor[] grads, long stateBytes) {}

    @Override
    public void run() {
        if (batch < 1 || channels < 1 || heads < 1 || channels % heads != 0) {
            throw new IllegalArgumentException("--batch, --channels, --heads: positive, and the heads must divide the channels"
                    + " (got B " + batch + ", C " + channels + ", NH " + heads + ")");
        }
        for (int T : seqs) if (T < 1) throw new IllegalArgumentException("--seq: every length must be >= 1 but one was " + T);
        if (reps < 1 || warmup < 0) throw new IllegalArgumentException("--reps >= 1 and --warmup >= 0");
        if (kvHeads != null && (kvHeads < 1 || heads % kvHeads != 0)) {
            throw new IllegalArgumentException("--kv-heads: must divide --heads " + heads + " but was " + kvHeads);
        }
        int hs = channels / heads;
        try (Backend b = options.open()) {
            Backends.applyPrecision(b, precision, "--precision");
            List<String> implementations = implementations(b);
            List<Map<String, Object>> rows = new ArrayList<>();
            for (int T : seqs) {
                System.err.printf("jgpt: attention B=%d T=%d C=%d NH=%d%s (head size %d) on %s: %s ...%n", batch, T, channels,
                        heads, kvHeads == null ? "" : " NKV=" + kvHeads, hs, b.name(), String.join(", ", implementations));
                List<Row> measured = new ArrayList<>();
                for (String path : implementations) {
                    Backend on = path.equals("reference") ? new ReferenceBackend() : b;
                    try {
                        measured.add(measure(on, path, T));
                    } finally {
                        if (on != b) on.close();
                    }
                }
                Row base = measured.getFirst();
                for (Row r : measured) rows.add(describe(r, base, hs));
            }
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("command", "bench attention");
            out.put("backend", b.name());
            out.put("threads", b.threads());
            if (b instanceof CudaBackend cuda) out.put("precision", cuda.math().label());
            out.put("batch", batch);
            out.put("channels", channels);
            out.put("heads", heads);
            if (kvHeads != null) out.put("kvHeads", kvHeads);
            out.put("baseline", implementations.getFirst());
            out.put("rows", rows);
            out.put("loadAverage", BenchSupport.loadAverage());
            if (options.json) {
                System.out.println(BenchSupport.JSON.writeValueAsString(out));
                return;
            }
            System.out.printf("attention on %s, B %d, C %d, NH %d%s; baseline %s, measured in the same run%n", b.name(), batch,
                    channels, heads, kvHeads == null ? "" : ", NKV " + kvHeads, implementations.getFirst());
            System.out.println("| T | implementation | forward ms | backward ms | causal GFLOP/s | state MiB | vs baseline | max rel diff out / gradients |");
            System.out.println("| --- | --- | --- | --- | --- | --- | --- | --- |");
            for (Map<String, Object> r : rows) {
                System.out.printf("| %s | %s | %.3f | %.3f | %.1f | %.1f | %.2fx | %.1e / %.1e |%n", r.get("seq"), r.get("path"),
                        r.get("forwardMs"), r.get("backwardMs"), 1e3 * (double) r.get("causalTflops"), (long) r.get("stateBytes") / 1048576.0,
                        r.get("speedup"), r.get("maxRelDiffOut"), r.get("maxRelDiffGradients"));
            }
        }
    }

    /** What to time on this backend, the baseline first. */
    private List<String> implementations(Backend b) {
        if (b instanceof CudaBackend cuda) {
            String unfused = unfusedPath();
            if (paths != null && !paths.isEmpty()) {
                for (String p : paths) {
                    if (!p.equals(unfused) && !p.equals("fused") && !p.equals("fused-wmma") && !p.equals("fused-cudacore")) {
                        throw new dev.jgpt.JgptException("--paths: " + unfused + ", fused, fused-wmma or fused-cudacore, not '" + p + "'");
                    }
                }
                return paths;
            }
            return cuda.tensorCoreAttention(channels / heads) ? List.of(unfused, "fused", "fused-wmma", "fused-cudacore")
                    : List.of(unfused, "fused");
        }
        if (paths != null && !paths.isEmpty()) throw new dev.jgpt.JgptException("--paths: cuda only (" + b.name() + " has one attention)");
        return b.name().equals("reference") ? List.of("reference") : List.of("reference", b.name());
    }

    /** cuda's unfused path: cuBLAS products for GPT-2's attention, kernels/llama.cu's rows for grouped-query attention. */
    private String unfusedPath() {
        return kvHeads == null ? "cublas" : "rows";
    }

    /** Forward and backward of one implementation at length T: warm-up pairs, then {@link #reps} timed pairs. */
    private Row measure(Backend b, String path, int T) {
        if (b instanceof CudaBackend cuda) {
            cuda.setFusedAttention(!path.equals(unfusedPath()));
            cuda.setCudaCoreAttention(path.equals("fused-cudacore"));
            cuda.setWmmaAttention(path.equals("fused-wmma"));
        }
        try (TensorArena arena = b.newArena(); TensorArena host = TensorArena.host()) {
            Case c = kvHeads == null ? packed(b, arena, host, T) : grouped(b, arena, host, T);
            // the plain-Java reference is a baseline, not a contender: at most two pairs, no warm-up (minutes at T 1024)
            boolean slow = b instanceof ReferenceBackend;
            int reps = slow ? Math.min(this.reps, 2) : this.reps, warmup = slow ? 0 : this.warmup;
            for (int i = 0; i < warmup; i++) {
                c.forward().run();
                c.backward().run();
            }
            double[] fwd = new double[reps], bwd = new double[reps];
            for (int i = 0; i < reps; i++) {
                for (Tensor g : c.grads()) b.zero(g); // backward accumulates: each pair starts from zero, so the last compares
                b.synchronize();
                long t0 = System.nanoTime();
                c.forward().run();
                b.synchronize();
                long t1 = System.nanoTime();
                c.backward().run();
                b.synchronize();
                fwd[i] = (t1 - t0) / 1e6;
                bwd[i] = (System.nanoTime() - t1) / 1e6;
            }
            double[] gpu = b instanceof CudaBackend cuda ? eventTimed(cuda, c, reps) : new double[] {Double.NaN, Double.NaN};
            List<float[]> grads = new ArrayList<>();
            for (Tensor g : c.grads()) grads.add(toHost(b, host, g));
            return new Row(label(b, path, T), T, BenchSupport.median(fwd), BenchSupport.median(bwd), gpu[0], gpu[1],
                    c.stateBytes(), toHost(b, host, c.out()), concat(grads));
        }
    }

    /**
     * The forward's and the backward's GPU time, mean of {@code reps}, from CUDA events around every launch and product
     * ({@link KernelTimeline}): the wall clock above also carries each call's launches and synchronisation, tens of µs
     * that short calls notice (on an H100, session 20, a T 1024 forward read 0.305 ms by the clock, 0.114 ms by events
     * inside a training step). Each backward starts from zeroed gradients, so the last still compares as one pair.
     */
    private static double[] eventTimed(CudaBackend cuda, Case c, int reps) {
        KernelTimeline t = cuda.timeline();
        t.reset();
        for (int i = 0; i < reps; i++) {
            t.beginStep();
            c.forward().run();
            t.endStep();
        }
        double fwd = t.profile().gpuMs() / reps;
        t.reset();
        for (int i = 0; i < reps; i++) {
            for (Tensor g : c.grads()) cuda.zero(g);
            t.beginStep();
            c.backward().run();
            t.endStep();
        }
        double bwd = t.profile().gpuMs() / reps;
        t.reset();
        return new double[] {fwd, bwd};
    }

    /**
     * GPT-2's attention: packed qkv, out, dout and dqkv in the backend's activation type (bf16 in cuda's bf16 mode, as the
     * model keeps them), att and datt in its attention state type.
     */
    private Case packed(Backend b, TensorArena arena, TensorArena host, int T) {
        int B = batch, C = channels, NH = heads;
        DType act = b.activationDType(), state = b.attentionStateDType(B, T, C, NH);
        Tensor qkv = arena.allocate(act, (long) B * T * 3 * C), out = arena.allocate(act, (long) B * T * C);
        Tensor att = arena.allocate(state, b.attentionStateFloats(B, T, C, NH));
        Tensor datt = arena.allocate(state, b.attentionScratchFloats(B, T, C, NH));
        Tensor dqkv = arena.allocate(act, (long) B * T * 3 * C), dout = arena.allocate(act, (long) B * T * C);
        b.copy(qkv, random(host, act, qkv.numel(), 1));
        b.copy(dout, random(host, act, dout.numel(), 2));
        return new Case(() -> b.attentionForward(out, att, qkv, B, T, C, NH),
                () -> b.attentionBackward(dqkv, datt, dout, qkv, att, out, B, T, C, NH),
                out, new Tensor[] {dqkv}, att.byteSize() + datt.byteSize());
    }

    /** Llama's grouped-query attention: q, k, v, out and their gradients in the activation type, att and datt F32. */
    private Case grouped(Backend b, TensorArena arena, TensorArena host, int T) {
        int B = batch, NH = heads, NKV = kvHeads, hs = channels / heads;
        long bt = (long) B * T;
        DType act = b.activationDType();
        Tensor q = arena.allocate(act, bt * NH * hs), k = arena.allocate(act, bt * NKV * hs), v = arena.allocate(act, bt * NKV * hs);
        Tensor out = arena.allocate(act, bt * NH * hs), dout = arena.allocate(act, bt * NH * hs);
        Tensor dq = arena.allocate(act, bt * NH * hs), dk = arena.allocate(act, bt * NKV * hs), dv = arena.allocate(act, bt * NKV * hs);
        Tensor att = arena.allocate(DType.F32, b.gqaAttentionStateFloats(B, T, NH, NKV, hs));
        Tensor datt = arena.allocate(DType.F32, b.gqaAttentionScratchFloats(B, T, NH, NKV, hs));
        b.copy(q, random(host, act, q.numel(), 1));
        b.copy(k, random(host, act, k.numel(), 3));
        b.copy(v, random(host, act, v.numel(), 4));
        b.copy(dout, random(host, act, dout.numel(), 2));
        return new Case(() -> b.gqaAttentionForward(out, att, q, k, v, B, T, NH, NKV, hs),
                () -> b.gqaAttentionBackward(dq, dk, dv, datt, dout, q, k, v, att, out, B, T, NH, NKV, hs),
                out, new Tensor[] {dq, dk, dv}, att.byteSize() + datt.byteSize());
    }

    /** The implementation that ran: "fused" says which kernels, and a fused request at T <= head size says which ran. */
    private String label(Backend b, String path, int T) {
        if (!(b instanceof CudaBackend cuda) || path.equals(unfusedPath())) return path;
        int hs = channels / heads;
        boolean unfused = kvHeads == null ? cuda.attentionKeepsProbabilities(batch, T, channels, heads)
                : cuda.gqaAttentionKeepsProbabilities(batch, T, heads, kvHeads, hs);
        if (unfused) return path + " (ran " + unfusedPath() + ": T <= head size)";
        return path.equals("fused") ? cuda.attentionLabel(hs) : path;
    }

    private static float[] concat(List<float[]> parts) {
        int n = 0;
        for (float[] p : parts) n += p.length;
        float[] all = new float[n];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }

    private Map<String, Object> describe(Row r, Row base, int hs) {
        double fwdFlops = 4.0 * batch * heads * hs * ((double) r.T() * (r.T() + 1) / 2), bwdFlops = 2.5 * fwdFlops;
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seq", r.T());
        m.put("path", r.path());
        m.put("forwardMs", BenchSupport.round(r.fwdMs(), 4));
        m.put("backwardMs", BenchSupport.round(r.bwdMs(), 4));
        m.put("causalTflops", BenchSupport.round((fwdFlops + bwdFlops) / ((r.fwdMs() + r.bwdMs()) / 1e3) / 1e12, 6));
        if (Double.isFinite(r.fwdGpuMs())) { // cuda: the GPU's own time (events), beside the wall clock
            m.put("forwardGpuMs", BenchSupport.round(r.fwdGpuMs(), 4));
            m.put("backwardGpuMs", BenchSupport.round(r.bwdGpuMs(), 4));
            m.put("causalTflopsGpu", BenchSupport.round((fwdFlops + bwdFlops) / ((r.fwdGpuMs() + r.bwdGpuMs()) / 1e3) / 1e12, 6));
        }
        m.put("stateBytes", r.stateBytes());
        m.put("speedup", BenchSupport.round((base.fwdMs() + base.bwdMs()) / (r.fwdMs() + r.bwdMs()), 3));
        m.put("maxRelDiffOut", maxRelDiff(base.out(), r.out()));
        m.put("maxRelDiffGradients", maxRelDiff(base.grads(), r.grads()));
        return m;
    }

    /** max |a - b| over max |a|: how far an implementation's result is from the baseline's. */
    static double maxRelDiff(float[] a, float[] b) {
        double diff = 0, max = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs((double) a[i] - b[i]));
            max = Math.max(max, Math.abs(a[i]));
        }
        return diff / Math.max(max, 1e-30);
    }

    private static Tensor random(TensorArena host, DType type, long n, long seed) {
        Tensor t = host.allocate(type, n);
        Random r = new Random(seed);
        for (long i = 0; i < n; i++) t.setFloat(i, (float) r.nextGaussian());
        return t;
    }

    private static float[] toHost(Backend b, TensorArena host, Tensor t) {
        Tensor h = host.allocate(t.dtype(), t.numel());
        b.copy(h, t);
        return h.toFloatArray();
    }
}
