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
        Backends.Selection s = Backends.select(name);
        if (!s.notUsed().isEmpty()) System.err.println("jgpt: using " + s.summary());
        if (threads != null) s.backend().setThreads(threads);
        return s.backend();
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
