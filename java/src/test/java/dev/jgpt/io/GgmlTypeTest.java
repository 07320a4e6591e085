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

    /** ggml's kvalues_iq4nl, written out here so that a wrong table in GgmlType fails (ggml's own check: llamacpp-check). */
    private static final int[] LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    @Test
    void iq4NlBlocksIndexSixteenLevels() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment b = arena.allocate(18);
            b.set(ValueLayout.JAVA_SHORT_UNALIGNED, 0, Float.floatToFloat16(0.5f));
            for (int j = 0; j < 16; j++) b.set(ValueLayout.JAVA_BYTE, 2 + j, (byte) (j | (15 - j) << 4)); // low j, high 15 - j
            MemorySegment y = arena.allocate(32 * 4L);
            GgmlType.IQ4_NL.decode(b, 0, 32, y, 0);
            for (int j = 0; j < 16; j++) {
                assertThat(y.getAtIndex(ValueLayout.JAVA_FLOAT, j)).isEqualTo(0.5f * LEVELS[j]);
                assertThat(y.getAtIndex(ValueLayout.JAVA_FLOAT, j + 16)).isEqualTo(0.5f * LEVELS[15 - j]);
            }
        }
    }

    @Test
    void iq4XsSubBlocksTakeSixBitScalesFromTwoPlaces() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment b = arena.allocate(136);
            b.set(ValueLayout.JAVA_SHORT_UNALIGNED, 0, Float.floatToFloat16(0.25f));
            int[] ls = {0, 63, 32, 33, 17, 48, 5, 40}; // sub-block scales, 6 bits; the weight is d (ls - 32)
            int high = 0;
            for (int ib = 0; ib < 8; ib++) high |= (ls[ib] >>> 4) << (2 * ib);
            b.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2, (short) high);
            for (int i = 0; i < 4; i++) b.set(ValueLayout.JAVA_BYTE, 4 + i, (byte) ((ls[2 * i] & 15) | (ls[2 * i + 1] & 15) << 4));
            for (int i = 0; i < 128; i++) b.set(ValueLayout.JAVA_BYTE, 8 + i, (byte) (i % 16 | ((i * 7) % 16) << 4));
            MemorySegment y = arena.allocate(256 * 4L);
            GgmlType.IQ4_XS.decode(b, 0, 256, y, 0);
            for (int ib = 0; ib < 8; ib++) {
                float dl = 0.25f * (ls[ib] - 32);
                for (int j = 0; j < 16; j++) {
                    int i = 16 * ib + j;
                    assertThat(y.getAtIndex(ValueLayout.JAVA_FLOAT, 32L * ib + j)).as("sub-block %d weight %d", ib, j).isEqualTo(dl * LEVELS[i % 16]);
                    assertThat(y.getAtIndex(ValueLayout.JAVA_FLOAT, 32L * ib + 16 + j)).isEqualTo(dl * LEVELS[(i * 7) % 16]);
                }
            }
            assertThat(GgmlType.byId(23)).isEqualTo(GgmlType.IQ4_XS);
            assertThat(GgmlType.byId(20)).isEqualTo(GgmlType.IQ4_NL);
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
