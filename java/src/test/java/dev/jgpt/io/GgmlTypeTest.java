package dev.jgpt.io;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GgmlTypeTest {

    @Test
    void bf16RoundsToNearestEven() {
        assertThat(GgmlType.bf16(1f)).isEqualTo((short) 0x3F80);
        assertThat(GgmlType.bf16(-2f)).isEqualTo((short) 0xC000);
        // 1 + 2^-8 lies halfway between two bf16 values: ties go to the even mantissa (1.0)
        assertThat(GgmlType.bf16(1f + 0x1p-8f)).isEqualTo((short) 0x3F80);
        // 1 + 3 * 2^-8 is halfway too: the even neighbour is above
        assertThat(GgmlType.bf16(1f + 3 * 0x1p-8f)).isEqualTo((short) 0x3F82);
        assertThat(Float.isNaN(Float.intBitsToFloat(GgmlType.bf16(Float.NaN) << 16))).isTrue();
    }

    @Test
    void q8BlocksHoldAHalfScaleAndRoundedInt8s() {
        Random r = new Random(3);
        try (Arena arena = Arena.ofConfined()) {
            int n = 96;
            MemorySegment f = arena.allocate(4L * n, 4);
            for (int i = 0; i < n; i++) f.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            f.setAtIndex(ValueLayout.JAVA_FLOAT, 40, -7.5f); // block 1's largest magnitude, negative
            for (int i = 64; i < 96; i++) f.setAtIndex(ValueLayout.JAVA_FLOAT, i, 0f); // an all-zero block
            MemorySegment q = GgmlType.Q8_0.encode(f, arena);
            assertThat(q.byteSize()).isEqualTo(3 * 34);
            for (int blk = 0; blk < 3; blk++) {
                float d = Float.float16ToFloat(q.get(ValueLayout.JAVA_SHORT_UNALIGNED, blk * 34L));
                for (int j = 0; j < 32; j++) {
                    float x = f.getAtIndex(ValueLayout.JAVA_FLOAT, blk * 32L + j);
                    byte v = q.get(ValueLayout.JAVA_BYTE, blk * 34L + 2 + j);
                    assertThat((double) Math.abs(v * d - x)).isLessThanOrEqualTo(d * 0.5 + 1e-3 * Math.abs(x) + 1e-7);
                }
            }
            assertThat(q.get(ValueLayout.JAVA_BYTE, 34 + 2 + 8)).isEqualTo((byte) -127);
            assertThat(Float.float16ToFloat(q.get(ValueLayout.JAVA_SHORT_UNALIGNED, 68))).isZero();
        }
    }

    @Test
    void q8NeedsWholeBlocks() {
        try (Arena arena = Arena.ofConfined()) {
            assertThatThrownBy(() -> GgmlType.Q8_0.encode(arena.allocate(4 * 33, 4), arena))
                    .hasMessageContaining("multiple of 32");
        }
    }
}
