package dev.jgpt.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class TextMetricsTest {
    @Test
    void distinctN() {
        assertThat(TextMetrics.distinctN(new int[] {1, 2, 3, 4}, 2)).isEqualTo(1.0);
        assertThat(TextMetrics.distinctN(new int[] {1, 2, 1, 2, 1}, 2)).isEqualTo(0.5); // 12 21 12 21
        assertThat(TextMetrics.distinctN(new int[] {7, 7, 7, 7}, 3)).isEqualTo(0.5); // 777 777
        assertThat(TextMetrics.distinctN(new int[] {1}, 2)).isNaN();
    }

    @Test
    void repetitionRateWithinWindow() {
        assertThat(TextMetrics.repetitionRate(new int[] {1, 2, 3})).isZero();
        assertThat(TextMetrics.repetitionRate(new int[] {1, 1, 1, 1})).isCloseTo(0.75, within(1e-12));
        assertThat(TextMetrics.repetitionRate(new int[] {1, 2, 3, 1}, 2)).isZero(); // 1 is 3 back, outside a window of 2
        assertThat(TextMetrics.repetitionRate(new int[] {1, 2, 3, 1}, 3)).isEqualTo(0.25);
        assertThat(TextMetrics.repetitionRate(new int[0])).isNaN();
    }
}
