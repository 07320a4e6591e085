package dev.jgpt.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Reading the RSS from /proc/self/status and reporting it with jgpt's own off-heap breakdown. */
class MemoryUsageTest {

    /** A real /proc/PID/status of a JVM, shortened (tabs and padding as the kernel writes them). */
    static final String STATUS = """
            Name:\tjava
            Umask:\t0022
            State:\tS (sleeping)
            Tgid:\t4242
            Pid:\t4242
            VmPeak:\t 9134512 kB
            VmSize:\t 9068976 kB
            VmLck:\t       0 kB
            VmHWM:\t  524288 kB
            VmRSS:\t  131072 kB
            RssAnon:\t  100000 kB
            RssFile:\t   31072 kB
            VmSwap:\t       0 kB
            Threads:\t27
            """;

    @Test
    void parsesPeakAndCurrentRssInKibibytes() {
        MemoryUsage.Rss rss = MemoryUsage.parseStatus(STATUS);
        assertThat(rss.peakBytes()).isEqualTo(524288L * 1024);
        assertThat(rss.bytes()).isEqualTo(131072L * 1024);
        assertThat(rss.known()).isTrue();
    }

    @Test
    void missingOrMalformedLinesAreUnknownNotZero() {
        // VmPeak must not be taken for VmHWM; a kernel thread's status has no Vm lines at all
        assertThat(MemoryUsage.parseStatus("Name:\tkthreadd\nVmPeak:\t 100 kB\n"))
                .isEqualTo(new MemoryUsage.Rss(MemoryUsage.UNKNOWN, MemoryUsage.UNKNOWN));
        MemoryUsage.Rss bad = MemoryUsage.parseStatus("VmHWM:\t  12x kB\nVmRSS:\t 7 MB\n");
        assertThat(bad.peakBytes()).isEqualTo(MemoryUsage.UNKNOWN);
        assertThat(bad.bytes()).isEqualTo(MemoryUsage.UNKNOWN);
        assertThat(bad.known()).isFalse();
        assertThat(MemoryUsage.parseStatus("VmHWM:\t-5 kB\nVmRSS:\t 8 kB")).isEqualTo(new MemoryUsage.Rss(MemoryUsage.UNKNOWN, 8192));
    }

    @Test
    void unknownRssIsNullInJsonAndSaidInTheSummary() {
        MemoryUsage m = MemoryUsage.of(new MemoryUsage.Rss(MemoryUsage.UNKNOWN, MemoryUsage.UNKNOWN), Map.of());
        assertThat(m.jsonFields()).containsEntry("peakRssBytes", null).containsEntry("rssBytes", null);
        assertThat(m.summary()).startsWith("RSS unknown");
    }

    @Test
    void onLinuxThePeakIsAtLeastTheCurrentRssAndBothArePositive() {
        assumeThat(Files.isReadable(Path.of("/proc/self/status"))).as("Linux /proc").isTrue();
        MemoryUsage m = MemoryUsage.now();
        assertThat(m.rssBytes()).isPositive();
        assertThat(m.peakRssBytes()).isGreaterThanOrEqualTo(m.rssBytes());
        // a JVM with a heap and a JIT is more than 8 MiB and (for these tests) less than 64 GiB
        assertThat(m.rssBytes()).isBetween(8L << 20, 64L << 30);
        assertThat(m.heapUsedBytes()).isPositive();
    }

    @Test
    void touchingOffHeapMemoryRaisesTheRss() {
        assumeThat(Files.isReadable(Path.of("/proc/self/status"))).as("Linux /proc").isTrue();
        // other threads may free memory meanwhile (a collector returning heap after an earlier test: the CI machine once saw
        // 27 of the 64 MiB), so ask for most of it, not all, in the best of three tries; untouched pages never count
        long most = 0;
        for (int attempt = 0; attempt < 3 && most <= 48L << 20; attempt++) {
            try (TensorArena arena = TensorArena.host()) {
                long before = MemoryUsage.readRss().bytes();
                Tensor t = arena.allocate(DType.F32, 16L << 20); // 64 MiB, zero-filled by the arena: every page touched
                t.fill(1f);
                long after = MemoryUsage.readRss().bytes();
                most = Math.max(most, after - before);
                assertThat(MemoryUsage.readRss().peakBytes()).isGreaterThanOrEqualTo(after);
            }
        }
        assertThat(most).isGreaterThan(48L << 20);
    }

    @Test
    void mergesTheBreakdownsOfSeveralOwnersInOrder() {
        MemoryAccounted model = () -> ordered("params", 400L, "grads", 400L);
        MemoryAccounted session = () -> ordered("kvCache", 64L, "scratch", 8L);
        MemoryAccounted more = () -> ordered("scratch", 2L);
        MemoryUsage m = MemoryUsage.now(model, "not an owner", null, session, more);
        assertThat(m.offHeap()).containsExactly(Map.entry("params", 400L), Map.entry("grads", 400L),
                Map.entry("kvCache", 64L), Map.entry("scratch", 10L));
        assertThat(m.offHeapTotalBytes()).isEqualTo(874);
        assertThat(m.jsonFields()).containsKeys("peakRssBytes", "rssBytes", "heapUsedBytes", "offHeapBytes", "offHeap")
                .containsEntry("offHeapBytes", 874L);
        Map<String, Object> snake = m.snakeJsonFields();
        assertThat(snake).containsKeys("peak_rss_bytes", "rss_bytes", "heap_used_bytes", "off_heap_bytes");
        assertThat(new java.util.ArrayList<Object>(((Map<?, ?>) snake.get("off_heap")).keySet())).containsExactly("params", "grads", "kv_cache", "scratch");
        assertThat(m.summary()).contains("off-heap 0.0 MiB: params 0.0 MiB, grads 0.0 MiB, kvCache 0.0 MiB, scratch 0.0 MiB");
    }

    @Test
    void formatsMebibytes() {
        assertThat(MemoryUsage.mib(3L << 20)).isEqualTo("3.0 MiB");
        assertThat(MemoryUsage.mib(1536L * 1024)).isEqualTo("1.5 MiB");
        assertThat(MemoryUsage.mib(MemoryUsage.UNKNOWN)).isEqualTo("unknown");
        assertThat(MemoryUsage.snake("weightsConverted")).isEqualTo("weights_converted");
    }

    private static Map<String, Long> ordered(Object... kv) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], (Long) kv[i + 1]);
        return m;
    }
}
