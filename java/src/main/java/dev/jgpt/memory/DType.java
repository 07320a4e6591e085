package dev.jgpt.memory;

import java.lang.foreign.ValueLayout;

/** Element types a {@link Tensor} can hold. Sizes in bytes; tokens are int32. */
public enum DType {
    F32(4),
    /** bfloat16: the upper 16 bits of an IEEE float32, round-to-nearest-even on conversion. */
    BF16(2),
    I32(4),
    /** int8: a decoder's q8 weight matrices (with float32 scales per group, {@code Backend.matmulQ8Forward}). */
    I8(1);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** The layout used to read one element on the host (BF16 is read as a raw short). */
    public ValueLayout layout() {
        return switch (this) {
            case F32 -> ValueLayout.JAVA_FLOAT;
            case BF16 -> ValueLayout.JAVA_SHORT;
            case I32 -> ValueLayout.JAVA_INT;
            case I8 -> ValueLayout.JAVA_BYTE;
        };
    }

    public static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) ((bits >>> 16) | 0x40); // quiet NaN
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** The first {@code n} float32 values of {@code src} rounded by {@link #toBf16(float)} into {@code dst} (both unaligned). */
    public static void toBf16(java.lang.foreign.MemorySegment src, java.lang.foreign.MemorySegment dst, long n) {
        for (long i = 0; i < n; i++) {
            dst.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, toBf16(src.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i)));
        }
    }

    public static float fromBf16(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }
}
