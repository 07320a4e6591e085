package dev.jgpt.cli;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code jgpt bench gemm}: GFLOP/s of the backend's {@code matmulForward} on square N×N×N products
 * (out = A @ B^T, 2N^3 flops), plus the plain-Java reference loop on a small size as a baseline.
 */
@Command(name = "gemm", mixinStandardHelpOptions = true,
        description = "GFLOP/s of a square matrix product (out = A @ B^T) on a backend, and the speed-up over the Java reference loop.")
public final class BenchGemmCommand implements Runnable {

    @Option(names = "--size", defaultValue = "1024", description = "N of the N×N×N product (default ${DEFAULT-VALUE}).")
    int size;

    @Mixin
    BenchBackendOptions options;

    @Option(names = "--seconds", defaultValue = "2", description = "Measure for about this long (default ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--baseline-size", defaultValue = "256",
            description = "N for the Java reference loop baseline, 0 to skip (default ${DEFAULT-VALUE}).")
    int baselineSize;

    @Override
    public void run() {
        if (size < 1) throw new IllegalArgumentException("--size: must be >= 1 but was " + size);
        try (Backend b = options.open()) {
            System.err.printf("jgpt: gemm %d³ on %s, %d threads ...%n", size, b.name(), b.threads());
            long cpu0 = BenchSupport.processCpuNanos();
            double[] times = time(b, size, seconds, 3);
            double cpuSeconds = (BenchSupport.processCpuNanos() - cpu0) / 1e9;
            double med = BenchSupport.median(times), best = java.util.Arrays.stream(times).min().orElseThrow();
            double flops = 2.0 * size * size * size;
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("command", "bench gemm");
            out.put("backend", b.name());
            out.put("threads", b.threads());
            out.put("size", size);
            out.put("reps", times.length);
            out.put("msMedian", BenchSupport.round(med * 1e3, 3));
            out.put("gflopsMedian", BenchSupport.round(flops / med / 1e9, 2));
            out.put("gflopsBest", BenchSupport.round(flops / best / 1e9, 2));
            // process CPU time per product (includes warmup and setup, so a lower bound of the speed):
            // on a shared machine, with --threads 1, what a quiet core gives
            out.put("gflopsPerCpuSecond", BenchSupport.round(flops * times.length / cpuSeconds / 1e9, 2));
            out.put("loadAverage", BenchSupport.loadAverage());
            if (baselineSize > 0 && !b.name().equals("reference")) {
                int n = Math.min(size, baselineSize);
                System.err.printf("jgpt: baseline: Java reference loop at %d³ ...%n", n);
                double nf = 2.0 * n * n * n;
                double refT = BenchSupport.median(time(new ReferenceBackend(), n, 0.5, 1));
                double ownT = BenchSupport.median(time(b, n, 0.5, 3));
                Map<String, Object> base = new LinkedHashMap<>();
                base.put("size", n);
                base.put("referenceGflops", BenchSupport.round(nf / refT / 1e9, 3));
                base.put("backendGflops", BenchSupport.round(nf / ownT / 1e9, 2));
                base.put("speedup", BenchSupport.round(refT / ownT, 1));
                out.put("baseline", base);
            }
            // A, B, C on the backend plus the host matrix they were filled from (freed by now: the peak counts them)
            var memory = BenchSupport.putMemory(out, (dev.jgpt.memory.MemoryAccounted) () -> Map.of("matrices", 16L * size * size));
            if (options.json) {
                System.out.println(BenchSupport.JSON.writeValueAsString(out));
            } else {
                System.out.printf("gemm %d³ on %s (%d threads): %.1f GFLOP/s median, %.1f best, %.3f ms median over %d reps%n",
                        size, b.name(), b.threads(), out.get("gflopsMedian"), out.get("gflopsBest"), out.get("msMedian"), times.length);
                if (out.get("baseline") instanceof Map<?, ?> base) {
                    System.out.printf("baseline at %s³: Java reference loop %s GFLOP/s, %s %s GFLOP/s: %sx%n",
                            base.get("size"), base.get("referenceGflops"), b.name(), base.get("backendGflops"), base.get("speedup"));
                }
                System.out.println("memory: " + memory.summary());
            }
        }
    }

    /** Seconds per product: {@code warmup} untimed runs, then at least 3 timed runs and about {@code seconds} of them. */
    static double[] time(Backend b, int n, double seconds, int warmup) {
        try (TensorArena arena = b.newArena(); TensorArena host = TensorArena.host()) {
            Tensor a = arena.allocate(DType.F32, n, n), w = arena.allocate(DType.F32, n, n), out = arena.allocate(DType.F32, n, n);
            Tensor h = host.allocate(DType.F32, n, n);
            Random r = new Random(1);
            for (long i = 0; i < h.numel(); i++) h.setFloat(i, (float) r.nextGaussian());
            b.copy(a, h);
            b.copy(w, h);
            for (int i = 0; i < warmup; i++) b.matmulForward(out, a, w, null, n, n, n);
            b.synchronize();
            double[] times = new double[16];
            int reps = 0;
            long begin = System.nanoTime();
            while (reps < 3 || (System.nanoTime() - begin < seconds * 1e9 && reps < 1000)) {
                long t0 = System.nanoTime();
                b.matmulForward(out, a, w, null, n, n, n);
                b.synchronize();
                if (reps == times.length) times = java.util.Arrays.copyOf(times, reps * 2);
                times[reps++] = (System.nanoTime() - t0) * 1e-9;
            }
            return java.util.Arrays.copyOf(times, reps);
        }
    }
}
