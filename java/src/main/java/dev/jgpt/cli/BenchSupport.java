package dev.jgpt.cli;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.Backends;
import dev.jgpt.memory.MemoryUsage;
import java.util.Arrays;
import java.util.Map;
import tools.jackson.databind.json.JsonMapper;

/** Small helpers shared by the bench commands. */
final class BenchSupport {
    private BenchSupport() {}

    static final JsonMapper JSON = JsonMapper.builder().build();

    /** The backend for {@code --backend} (alias {@code --device}), with the reasons for any fallback logged to stderr. */
    static Backend backend(String name, Integer threads) {
        Backends.Selection s = Backends.select(name, "--backend/--device");
        if (!s.notUsed().isEmpty()) System.err.println("jgpt: using " + s.summary());
        if (threads != null) s.backend().setThreads(threads);
        return s.backend();
    }

    /** CPU time used by this process so far (all threads), or -1 when the JVM cannot tell. */
    static long processCpuNanos() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    /** The 1-, 5- and 15-minute load averages ("" where unknown): figures from a busy machine say so. */
    static String loadAverage() {
        try {
            String[] f = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (java.io.IOException | RuntimeException e) {
            return "";
        }
    }

    /**
     * Adds the process's memory now to a bench result ({@link MemoryUsage#jsonFields}: {@code peakRssBytes},
     * {@code rssBytes}, {@code heapUsedBytes}, {@code offHeapBytes}, {@code offHeap}) with the off-heap
     * breakdown of {@code owners}; returns the snapshot for the human line ({@link MemoryUsage#summary}).
     */
    static MemoryUsage putMemory(Map<String, Object> out, Object... owners) {
        MemoryUsage m = MemoryUsage.now(owners);
        out.putAll(m.jsonFields());
        return m;
    }

    static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    }

    static double round(double x, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(x * f) / f;
    }
}
