package dev.jgpt.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** Zeroed memory that enters the RSS only where it is written (the KV cache's allocation). */
class LazyZeroMemoryTest {

    @Test
    void isZeroedWritableAndFreedWithItsArena() {
        MemorySegment s;
        try (Arena arena = Arena.ofShared()) {
            s = LazyZeroMemory.allocate(3 * 4096 + 10, arena);
            assertThat(s.byteSize()).isEqualTo(3 * 4096 + 10);
            assertThat(s.address() % 64).isZero();
            for (long i = 0; i < s.byteSize(); i += 511) assertThat(s.get(ValueLayout.JAVA_BYTE, i)).isZero();
            s.set(ValueLayout.JAVA_FLOAT, 4096, 2.5f);
            assertThat(s.get(ValueLayout.JAVA_FLOAT, 4096)).isEqualTo(2.5f);
        }
        assertThat(s.scope().isAlive()).isFalse();
    }

    @Test
    void onlyTheWrittenPagesCountInTheRss() {
        assumeThat(LazyZeroMemory.lazy()).as("Linux with native access").isTrue();
        try (Arena arena = Arena.ofShared()) {
            long before = MemoryUsage.readRss().bytes();
            MemorySegment s = LazyZeroMemory.allocate(256L << 20, arena); // 256 MiB reserved
            s.asSlice(0, 1 << 20).fill((byte) 1);                          // 1 MiB written
            long grew = MemoryUsage.readRss().bytes() - before;
            // an eagerly zeroed buffer would add 256 MiB; allow the JVM's own allocations meanwhile
            assertThat(grew).isLessThan(64L << 20);
        }
    }

    @Test
    void refusesAnEmptyAllocation() {
        try (Arena arena = Arena.ofConfined()) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> LazyZeroMemory.allocate(0, arena))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
