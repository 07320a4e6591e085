package dev.jgpt.cli;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.Backends;
import java.util.Arrays;
import tools.jackson.databind.json.JsonMapper;

/** Small helpers shared by the bench commands. */
final class BenchSupport {
    private BenchSupport() {}

    static final JsonMapper JSON = JsonMapper.builder().build();

    /** The backend for {@code --backend}, with the reasons for any fallback logged to stderr. */
    static Backend backend(String name, Integer threads) {
        Backends.Selection s = Backends.select(name, "--backend");
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
