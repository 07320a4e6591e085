package dev.jgpt.io;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The ggml tensor types jgpt writes into GGUF files, with their encoders. Q8_0 is ggml's block of 32
 * weights: one float16 scale d = max|x| / 127, then 32 int8 q = round(x / d) (34 bytes per block);
 * BF16 is the top half of each float32, rounded to nearest even.
 */
public enum GgmlType {
    F32(0, 1, 4),
    BF16(30, 1, 2),
    Q8_0(8, 32, 34);

    /** ggml's type id in the tensor info. */
    public final int id;
    /** Weights per block and bytes per block. */
    public final int blockSize, blockBytes;

    GgmlType(int id, int blockSize, int blockBytes) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** Bytes of {@code n} weights (n a multiple of the block size). */
    public long bytes(long n) {
        if (n % blockSize != 0) throw new IllegalArgumentException(this + " needs a multiple of " + blockSize + " weights, not " + n);
        return n / blockSize * blockBytes;
    }

    /** {@code f32} (float32 weights, little-endian) encoded as this type, in memory owned by {@code arena}. */
    public MemorySegment encode(MemorySegment f32, Arena arena) {
        long n = f32.byteSize() / 4;
        if (this == F32) return f32;
        MemorySegment out = arena.allocate(bytes(n), 4);
        if (this == BF16) {
            dev.jgpt.memory.DType.toBf16(f32, out, n);
            return out;
        }
        for (long blk = 0; blk < n / 32; blk++) {
            float max = 0;
            for (int j = 0; j < 32; j++) max = Math.max(max, Math.abs(f32.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, blk * 32 + j)));
            float d = max / 127f;
            short dHalf = Float.floatToFloat16(d);
            float inv = d == 0 ? 0 : 1f / d;
            long at = blk * 34;
            out.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, dHalf);
            for (int j = 0; j < 32; j++) {
                out.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) Math.round(f32.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, blk * 32 + j) * inv));
            }
        }
        return out;
    }

    /** float32 to bfloat16, round to nearest even (NaN stays NaN): {@link dev.jgpt.memory.DType#toBf16(float)}. */
    static short bf16(float x) {
        return dev.jgpt.memory.DType.toBf16(x);
    }
}
