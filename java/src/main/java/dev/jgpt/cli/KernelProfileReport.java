package dev.jgpt.cli;

import dev.jgpt.backend.cuda.KernelTimeline;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The cuda backend's per-kernel profile ({@link KernelTimeline}) as bench output: JSON rows in the shape
 * {@code TimingBackend}'s profile has ({@code op, msPerStep, share, callsPerStep}, plus {@code kind} and, for
 * products, {@code tflops}), a summary of GPU busy time against wall time, and the same as a text table.
 */
final class KernelProfileReport {
    private KernelProfileReport() {}

    /**
     * The timeline's profile (null when there is none) into the bench JSON: {@code profile} ({@link #rows}) and
     * {@code profileGpu} ({@link #summary}). Returns it, for {@link #print}.
     */
    static KernelTimeline.Profile put(Map<String, Object> out, KernelTimeline kernels) {
        if (kernels == null) return null;
        KernelTimeline.Profile p = kernels.profile();
        out.put("profile", rows(p));
        out.put("profileGpu", summary(p));
        return p;
    }

    /** One row per kernel / product / copy name, largest GPU time first; share is of the GPU time. */
    static List<Map<String, Object>> rows(KernelTimeline.Profile p) {
        List<Map<String, Object>> rows = new ArrayList<>();
        int steps = Math.max(1, p.steps());
        for (KernelTimeline.Row r : p.rows()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("op", r.name());
            row.put("kind", r.kind().name().toLowerCase(java.util.Locale.ROOT));
            row.put("msPerStep", BenchSupport.round(r.ms() / steps, 3));
            row.put("share", p.gpuMs() > 0 ? BenchSupport.round(r.ms() / p.gpuMs(), 4) : 0.0);
            // whole calls when every step made the same calls (the usual case); else the mean
            row.put("callsPerStep", r.calls() % steps == 0 ? (Object) (r.calls() / steps) : (Object) BenchSupport.round((double) r.calls() / steps, 2));
            double tflops = r.tflops();
            if (!Double.isNaN(tflops)) row.put("tflops", BenchSupport.round(tflops, 3));
            rows.add(row);
        }
        return rows;
    }

    /** {@code source, steps, gpuBusyMsPerStep, wallMsPerStep, busyShare} (a step: a training step, or a decoded token). */
    static Map<String, Object> summary(KernelTimeline.Profile p) {
        int steps = Math.max(1, p.steps());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("source", "cuda events around every kernel, cuBLAS call and copy on the stream");
        m.put("steps", p.steps());
        m.put("gpuBusyMsPerStep", BenchSupport.round(p.gpuMs() / steps, 3));
        m.put("wallMsPerStep", BenchSupport.round(p.wallMs() / steps, 3));
        m.put("busyShare", Double.isNaN(p.busyShare()) ? null : BenchSupport.round(p.busyShare(), 4));
        return m;
    }

    /** The table for people: one line per name, then GPU busy vs wall. */
    static void print(KernelTimeline.Profile p, String unit) {
        int steps = Math.max(1, p.steps());
        System.out.printf("GPU timeline (CUDA events, %d %ss): GPU busy %.3f ms of %.3f ms wall per %s (%.1f%%);"
                        + " the rest is launch overhead, host work and waits%n",
                p.steps(), unit, p.gpuMs() / steps, p.wallMs() / steps, unit, 100 * p.busyShare());
        System.out.printf("  %-34s %-6s %10s %6s %8s %8s%n", "kernel / product / copy", "kind", "ms/" + unit, "share", "calls", "TFLOP/s");
        for (KernelTimeline.Row r : p.rows()) {
            double tflops = r.tflops();
            System.out.printf("  %-34s %-6s %10.3f %5.1f%% %8s %8s%n", r.name(), r.kind().name().toLowerCase(java.util.Locale.ROOT),
                    r.ms() / steps, p.gpuMs() > 0 ? 100 * r.ms() / p.gpuMs() : 0.0,
                    r.calls() % steps == 0 ? Long.toString(r.calls() / steps) : String.format("%.2f", (double) r.calls() / steps),
                    Double.isNaN(tflops) ? "" : String.format("%.2f", tflops));
        }
    }
}
