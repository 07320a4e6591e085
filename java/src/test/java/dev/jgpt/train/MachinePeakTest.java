package dev.jgpt.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.jgpt.backend.cpu.NativeLibraries;
import org.junit.jupiter.api.Test;

/** MFU's denominator: one core's FMA peak measured by libjgpt where it is built (no speed is asserted, only its sense). */
class MachinePeakTest {

    @Test
    void thePeakIsMeasuredWhereLibjgptIsBuilt() {
        assumeThat(NativeLibraries.status().available()).as("libjgpt built").isTrue();
        double g = dev.jgpt.bindings.Jgpt.jgpt_peak_fma_gflops(5);
        assertThat(g).as("a finite, positive GFLOP/s").isPositive().isLessThan(1e5);
        MachinePeak p = MachinePeak.detect();
        if (System.getenv("JGPT_PEAK_GFLOPS") == null) assertThat(p.how()).startsWith("measured ");
        assertThat(p.gflops(2)).isEqualTo(2 * p.gflopsPerCore());
        assertThat(MachinePeak.detect()).as("measured once per process").isSameAs(p);
    }
}
