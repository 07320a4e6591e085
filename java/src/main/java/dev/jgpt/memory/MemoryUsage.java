package dev.jgpt.memory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What the process holds in memory at one moment, reported beside speed figures: the peak and current
 * resident set size from {@code /proc/self/status} ({@code VmHWM}, {@code VmRSS}; Linux only, otherwise
 * {@link #UNKNOWN}), the Java heap in use, and jgpt's own off-heap allocations by purpose where the code
 * knows them ({@link MemoryAccounted}).
 *
 * <p>The RSS counts every page the process has touched: the JVM itself (code, metaspace, JIT, heap), the
 * native libraries, our arenas, and the pages of memory-mapped files once read. So RSS minus the
 * off-heap breakdown is the runtime's own share; {@code jgpt info} shows it for a process that did nothing.
 */
public final class MemoryUsage {
    /** A figure the platform cannot give (no {@code /proc/self/status}). */
    public static final long UNKNOWN = -1;

    private static final Path PROC_STATUS = Path.of("/proc/self/status");

    /** Peak and current resident set size in bytes, each {@link #UNKNOWN} when not found. */
    public record Rss(long peakBytes, long bytes) {
        public boolean known() { return peakBytes != UNKNOWN && bytes != UNKNOWN; }
    }

    private final Rss rss;
    private final long heapUsedBytes;
    private final Map<String, Long> offHeap;

    private MemoryUsage(Rss rss, long heapUsedBytes, Map<String, Long> offHeap) {
        this.rss = rss;
        this.heapUsedBytes = heapUsedBytes;
        this.offHeap = Collections.unmodifiableMap(offHeap);
    }

    /**
     * Now, with the off-heap breakdowns of {@code owners} merged in order (the same name twice is summed;
     * owners that are not {@link MemoryAccounted}, or null, add nothing).
     */
    public static MemoryUsage now(Object... owners) {
        Map<String, Long> merged = new LinkedHashMap<>();
        for (Object o : owners) {
            if (o instanceof MemoryAccounted a) a.offHeapBytes().forEach((k, v) -> merged.merge(k, v, Long::sum));
        }
        return of(readRss(), merged);
    }

    /** A snapshot of the given figures (the heap is read now); for tests and callers with their own breakdown. */
    public static MemoryUsage of(Rss rss, Map<String, Long> offHeap) {
        Runtime rt = Runtime.getRuntime();
        return new MemoryUsage(rss, rt.totalMemory() - rt.freeMemory(), new LinkedHashMap<>(offHeap));
    }

    /** This process's RSS from {@code /proc/self/status}, or unknown figures where there is none. */
    public static Rss readRss() {
        try {
            return parseStatus(Files.readString(PROC_STATUS));
        } catch (IOException | RuntimeException e) {
            return new Rss(UNKNOWN, UNKNOWN);
        }
    }

    /**
     * {@code VmHWM} and {@code VmRSS} of a {@code /proc/PID/status} text ("VmRSS:\t  123456 kB"; the
     * kernel always writes kB, meaning KiB). A missing or malformed line gives {@link #UNKNOWN} for it.
     */
    public static Rss parseStatus(String status) {
        long peak = UNKNOWN, current = UNKNOWN;
        for (String line : status.split("\n")) {
            if (line.startsWith("VmHWM:")) peak = kib(line);
            else if (line.startsWith("VmRSS:")) current = kib(line);
        }
        return new Rss(peak, current);
    }

    private static long kib(String line) {
        String[] f = line.substring(line.indexOf(':') + 1).trim().split("\\s+");
        if (f.length != 2 || !f[1].equalsIgnoreCase("kB")) return UNKNOWN;
        try {
            long v = Long.parseLong(f[0]);
            return v < 0 ? UNKNOWN : Math.multiplyExact(v, 1024L);
        } catch (NumberFormatException | ArithmeticException e) {
            return UNKNOWN;
        }
    }

    public Rss rss() { return rss; }
    /** The highest RSS of the process so far ({@code VmHWM}), or {@link #UNKNOWN}. */
    public long peakRssBytes() { return rss.peakBytes(); }
    /** The RSS now ({@code VmRSS}), or {@link #UNKNOWN}. */
    public long rssBytes() { return rss.bytes(); }
    /** Java heap in use (total minus free): live objects plus garbage not yet collected. */
    public long heapUsedBytes() { return heapUsedBytes; }
    /** jgpt's off-heap allocations by purpose (may be empty). */
    public Map<String, Long> offHeap() { return offHeap; }
    public long offHeapTotalBytes() { return offHeap.values().stream().mapToLong(Long::longValue).sum(); }

    /**
     * The figures for a bench command's JSON, camelCase: {@code peakRssBytes}, {@code rssBytes} (null when
     * unknown), {@code heapUsedBytes}, {@code offHeapBytes} (the breakdown's total) and {@code offHeap} (the
     * breakdown).
     */
    public Map<String, Object> jsonFields() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("peakRssBytes", orNull(peakRssBytes()));
        m.put("rssBytes", orNull(rssBytes()));
        m.put("heapUsedBytes", heapUsedBytes);
        m.put("offHeapBytes", offHeapTotalBytes());
        m.put("offHeap", new LinkedHashMap<>(offHeap));
        return m;
    }

    /** {@link #jsonFields()} in snake_case ({@code peak_rss_bytes}, ..., {@code off_heap.kv_cache}) for snake_case documents. */
    public Map<String, Object> snakeJsonFields() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("peak_rss_bytes", orNull(peakRssBytes()));
        m.put("rss_bytes", orNull(rssBytes()));
        m.put("heap_used_bytes", heapUsedBytes);
        m.put("off_heap_bytes", offHeapTotalBytes());
        Map<String, Long> parts = new LinkedHashMap<>();
        offHeap.forEach((k, v) -> parts.put(snake(k), v));
        m.put("off_heap", parts);
        return m;
    }

    /** One line for people: "peak RSS 512.3 MiB (now 480.1 MiB), heap 12.0 MiB; off-heap 400.0 MiB: params 16.3 MiB, ...". */
    public String summary() {
        StringBuilder b = new StringBuilder();
        if (rss.known()) {
            b.append("peak RSS ").append(mib(peakRssBytes())).append(" (now ").append(mib(rssBytes())).append(")");
        } else {
            b.append("RSS unknown (no /proc/self/status)");
        }
        b.append(", heap ").append(mib(heapUsedBytes));
        if (!offHeap.isEmpty()) {
            b.append("; off-heap ").append(mib(offHeapTotalBytes())).append(':');
            String sep = " ";
            for (Map.Entry<String, Long> e : offHeap.entrySet()) {
                b.append(sep).append(e.getKey()).append(' ').append(mib(e.getValue()));
                sep = ", ";
            }
        }
        return b.toString();
    }

    /** Bytes as MiB with one decimal ("12.3 MiB"), or "unknown". */
    public static String mib(long bytes) {
        return bytes == UNKNOWN ? "unknown" : String.format(Locale.ROOT, "%.1f MiB", bytes / (1024.0 * 1024.0));
    }

    /** camelCase to snake_case: {@code kvCache} -> {@code kv_cache}. */
    static String snake(String camel) {
        StringBuilder b = new StringBuilder(camel.length() + 4);
        for (int i = 0; i < camel.length(); i++) {
            char c = camel.charAt(i);
            if (Character.isUpperCase(c)) b.append('_').append(Character.toLowerCase(c));
            else b.append(c);
        }
        return b.toString();
    }

    private static Long orNull(long v) {
        return v == UNKNOWN ? null : v;
    }

    @Override
    public String toString() {
        return summary();
    }
}
