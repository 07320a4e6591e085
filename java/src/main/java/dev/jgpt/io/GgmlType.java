package dev.jgpt.io;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The ggml tensor types jgpt reads from GGUF files, with their decoders to float32, and the three
 * it writes (F32, BF16, Q8_0), with their encoders. The block layouts are ggml's (ggml-common.h):
 * <ul>
 *   <li>Q8_0: a float16 scale d = max|x| / 127, then 32 int8 q = round(x / d): x = q d (34 bytes a block);</li>
 *   <li>Q4_0 / Q4_1: d (and a minimum m), then 16 bytes of nibbles — weights j and j+16 share byte j:
 *       x = (q - 8) d, or x = q d + m;</li>
 *   <li>Q5_0 / Q5_1: as Q4 with a fifth bit per weight in a 32-bit mask (bit j for weight j);</li>
 *   <li>Q2_K: 256 weights of 2 bits in 16 sub-blocks, each with a 4-bit scale and a 4-bit minimum:
 *       x = d sc q - dmin m;</li>
 *   <li>Q3_K: 256 weights of 3 bits (low 2 in {@code qs}, the third, inverted, in {@code hmask}) in 16 sub-blocks
 *       with 6-bit scales packed into 12 bytes: x = d (sc - 32) q, q in -4..3;</li>
 *   <li>Q4_K / Q5_K: super-blocks of 256 in 8 sub-blocks of 32, each with a 6-bit scale and a 6-bit
 *       minimum packed into 12 bytes, scaled by the super-block's float16 d and dmin: x = d sc q - dmin m;</li>
 *   <li>Q6_K: 256 weights of 6 bits (low 4 in {@code ql}, high 2 in {@code qh}) in 16 sub-blocks with int8
 *       scales, one float16 d: x = d sc (q - 32).</li>
 *   <li>IQ4_NL: as Q4_0, but each nibble indexes ggml's 16 non-uniform levels ({@code kvalues_iq4nl}, -127..113):
 *       x = d kv[q];</li>
 *   <li>IQ4_XS: 256 weights of IQ4_NL nibbles in 8 sub-blocks of 32, each with a 6-bit scale (low 4 bits in
 *       {@code scales_l}, high 2 in the 16-bit {@code scales_h}) on the super-block's float16 d: x = d (ls - 32) kv[q].</li>
 * </ul>
 * Decoding computes in the order ggml's reference {@code dequantize_row_*} does (float products, no fused
 * multiply-add), so it gives ggml's floats bit for bit ({@code bench/llamacpp/GgmlDequantCheck.java} checks
 * that against llama.cpp's own library).
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q4_1(3, 32, 20),
    Q5_0(6, 32, 22),
    Q5_1(7, 32, 24),
    Q8_0(8, 32, 34),
    Q2_K(10, 256, 84),
    Q3_K(11, 256, 110),
    Q4_K(12, 256, 144),
    Q5_K(13, 256, 176),
    Q6_K(14, 256, 210),
    IQ4_NL(20, 32, 18),
    IQ4_XS(23, 256, 136),
    BF16(30, 1, 2);

    /** ggml's type id in the tensor info. */
    public final int id;
    /** Weights per block and bytes per block. */
    public final int blockSize, blockBytes;

    GgmlType(int id, int blockSize, int blockBytes) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** The type with ggml id {@code id}, or null when jgpt cannot read it. */
    public static GgmlType byId(long id) {
        for (GgmlType t : values()) if (t.id == id) return t;
        return null;
    }

    /** ggml's name for a type id jgpt cannot read (for error messages), else "type N". */
    public static String nameOf(long id) {
        GgmlType t = byId(id);
        if (t != null) return t.name();
        String[] names = {"F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1", "Q8_0", "Q8_1", "Q2_K", "Q3_K",
            "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS",
            "I8", "I16", "I32", "I64", "F64", "IQ1_M", "BF16", "Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8", "TQ1_0", "TQ2_0",
            "IQ4_NL_4_4", "IQ4_NL_4_8", "IQ4_NL_8_8", "MXFP4"};
        return id >= 0 && id < names.length ? names[(int) id] : "type " + id;
    }

    /** llama.cpp's {@code general.file_type} (llama_ftype) of a file whose matrices jgpt writes in this type. */
    public int fileType() {
        return switch (this) {
            case F32 -> 0;   // ALL_F32
            case BF16 -> 32; // MOSTLY_BF16
            case Q8_0 -> 7;  // MOSTLY_Q8_0
            default -> throw new UnsupportedOperationException("jgpt writes F32, BF16 and Q8_0, not " + this);
        };
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
        if (this != Q8_0) throw new UnsupportedOperationException("jgpt writes F32, BF16 and Q8_0, not " + this);
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

    /**
     * Decodes weights {@code [first, first + n)} of a tensor stored as this type in {@code src} (both multiples of
     * the block size) into float32 {@code dst} from float index {@code dstIndex}.
     */
    public void decode(MemorySegment src, long first, long n, MemorySegment dst, long dstIndex) {
        if (first % blockSize != 0 || n % blockSize != 0) {
            throw new IllegalArgumentException(this + " decodes whole blocks of " + blockSize + ", not [" + first + ", +" + n + ")");
        }
        long at = first / blockSize * blockBytes;
        switch (this) {
            case F32 -> MemorySegment.copy(src, at, dst, dstIndex * 4, n * 4);
            case F16 -> {
                for (long i = 0; i < n; i++) dst.setAtIndex(F, dstIndex + i, Float.float16ToFloat(src.get(S, at + 2 * i)));
            }
            case BF16 -> {
                for (long i = 0; i < n; i++) dst.setAtIndex(F, dstIndex + i, Float.intBitsToFloat((src.get(S, at + 2 * i) & 0xFFFF) << 16));
            }
            default -> {
                for (long b = 0; b < n / blockSize; b++) {
                    decodeBlock(src, at + b * blockBytes, dst, dstIndex + b * blockSize);
                }
            }
        }
    }

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** ggml's kvalues_iq4nl: the 16 levels an IQ4 nibble stands for (denser near zero, where weights crowd). */
    private static final int[] IQ4_LEVELS = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    private static final ValueLayout.OfShort S = ValueLayout.JAVA_SHORT_UNALIGNED;

    /** One block at byte {@code at} of {@code s} into {@code y} from float index {@code o}. */
    private void decodeBlock(MemorySegment s, long at, MemorySegment y, long o) {
        switch (this) {
            case Q8_0 -> {
                float d = half(s, at);
                for (int j = 0; j < 32; j++) y.setAtIndex(F, o + j, s.get(ValueLayout.JAVA_BYTE, at + 2 + j) * d);
            }
            case Q4_0 -> {
                float d = half(s, at);
                for (int j = 0; j < 16; j++) {
                    int q = u8(s, at + 2 + j);
                    y.setAtIndex(F, o + j, ((q & 0xF) - 8) * d);
                    y.setAtIndex(F, o + j + 16, ((q >>> 4) - 8) * d);
                }
            }
            case Q4_1 -> {
                float d = half(s, at), m = half(s, at + 2);
                for (int j = 0; j < 16; j++) {
                    int q = u8(s, at + 4 + j);
                    y.setAtIndex(F, o + j, (q & 0xF) * d + m);
                    y.setAtIndex(F, o + j + 16, (q >>> 4) * d + m);
                }
            }
            case Q5_0 -> {
                float d = half(s, at);
                int qh = s.get(ValueLayout.JAVA_INT_UNALIGNED, at + 2);
                for (int j = 0; j < 16; j++) {
                    int q = u8(s, at + 6 + j);
                    int h0 = ((qh >>> j) << 4) & 0x10, h1 = (qh >>> (j + 12)) & 0x10;
                    y.setAtIndex(F, o + j, (((q & 0xF) | h0) - 16) * d);
                    y.setAtIndex(F, o + j + 16, (((q >>> 4) | h1) - 16) * d);
                }
            }
            case Q5_1 -> {
                float d = half(s, at), m = half(s, at + 2);
                int qh = s.get(ValueLayout.JAVA_INT_UNALIGNED, at + 4);
                for (int j = 0; j < 16; j++) {
                    int q = u8(s, at + 8 + j);
                    int h0 = ((qh >>> j) << 4) & 0x10, h1 = (qh >>> (j + 12)) & 0x10;
                    y.setAtIndex(F, o + j, ((q & 0xF) | h0) * d + m);
                    y.setAtIndex(F, o + j + 16, ((q >>> 4) | h1) * d + m);
                }
            }
            case Q2_K -> {
                // scales[16] (low nibble scale, high nibble minimum), qs[64], d, dmin
                float d = half(s, at + 80), dmin = half(s, at + 82);
                long qs = at + 16;
                int is = 0;
                long yo = o;
                for (int n = 0; n < 2; n++, qs += 32) {
                    for (int j = 0, shift = 0; j < 4; j++, shift += 2) {
                        for (int half = 0; half < 2; half++) {
                            int sc = u8(s, at + is++);
                            float dl = d * (sc & 0xF), ml = dmin * (sc >>> 4);
                            for (int l = 0; l < 16; l++) y.setAtIndex(F, yo++, dl * ((u8(s, qs + 16 * half + l) >>> shift) & 3) - ml);
                        }
                    }
                }
            }
            case Q3_K -> {
                // hmask[32], qs[64], scales[12], d
                long hm = at, qs = at + 32;
                float d = half(s, at + 108);
                int[] sc = q3Scales(s, at + 96);
                int is = 0;
                long yo = o;
                for (int n = 0; n < 2; n++, qs += 32) {
                    for (int j = 0, shift = 0; j < 4; j++, shift += 2) {
                        int m = 1 << (4 * n + j);
                        for (int half = 0; half < 2; half++) {
                            float dl = d * (sc[is++] - 32);
                            for (int l = 0; l < 16; l++) {
                                int i = 16 * half + l;
                                int q = ((u8(s, qs + i) >>> shift) & 3) - ((u8(s, hm + i) & m) != 0 ? 0 : 4);
                                y.setAtIndex(F, yo++, dl * q);
                            }
                        }
                    }
                }
            }
            case Q4_K, Q5_K -> {
                // d, dmin, scales[12], (Q5_K: qh[32]), qs[128]
                float d = half(s, at), dmin = half(s, at + 2);
                long scales = at + 4, qh = at + 16, qs = this == Q4_K ? at + 16 : at + 48;
                int[] sm = new int[2];
                for (int j = 0, is = 0; j < 4; j++, is += 2) {
                    scaleMin(s, scales, is, sm);
                    float d1 = d * sm[0], m1 = dmin * sm[1];
                    scaleMin(s, scales, is + 1, sm);
                    float d2 = d * sm[0], m2 = dmin * sm[1];
                    int u1 = 1 << (2 * j), u2 = 2 << (2 * j);
                    for (int l = 0; l < 32; l++) {
                        int q = u8(s, qs + 32L * j + l);
                        int hi1 = 0, hi2 = 0;
                        if (this == Q5_K) {
                            int h = u8(s, qh + l);
                            hi1 = (h & u1) != 0 ? 16 : 0;
                            hi2 = (h & u2) != 0 ? 16 : 0;
                        }
                        y.setAtIndex(F, o + 64L * j + l, d1 * ((q & 0xF) + hi1) - m1);
                        y.setAtIndex(F, o + 64L * j + 32 + l, d2 * ((q >>> 4) + hi2) - m2);
                    }
                }
            }
            case Q6_K -> {
                // ql[128], qh[64], scales[16] (int8), d
                long ql = at, qh = at + 128, sc = at + 192;
                float d = half(s, at + 208);
                for (int n = 0; n < 2; n++) {
                    long l0 = ql + 64L * n, h0 = qh + 32L * n, s0 = sc + 8L * n, y0 = o + 128L * n;
                    for (int l = 0; l < 32; l++) {
                        int is = l / 16, a = u8(s, l0 + l), b = u8(s, l0 + l + 32), h = u8(s, h0 + l);
                        int q1 = ((a & 0xF) | ((h & 3) << 4)) - 32;
                        int q2 = ((b & 0xF) | (((h >>> 2) & 3) << 4)) - 32;
                        int q3 = ((a >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
                        int q4 = ((b >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
                        y.setAtIndex(F, y0 + l, d * s.get(ValueLayout.JAVA_BYTE, s0 + is) * q1);
                        y.setAtIndex(F, y0 + l + 32, d * s.get(ValueLayout.JAVA_BYTE, s0 + is + 2) * q2);
                        y.setAtIndex(F, y0 + l + 64, d * s.get(ValueLayout.JAVA_BYTE, s0 + is + 4) * q3);
                        y.setAtIndex(F, y0 + l + 96, d * s.get(ValueLayout.JAVA_BYTE, s0 + is + 6) * q4);
                    }
                }
            }
            case IQ4_NL -> {
                // d, qs[16]: weights j and j + 16 share byte j, as in Q4_0
                float d = half(s, at);
                for (int j = 0; j < 16; j++) {
                    int q = u8(s, at + 2 + j);
                    y.setAtIndex(F, o + j, d * IQ4_LEVELS[q & 0xF]);
                    y.setAtIndex(F, o + j + 16, d * IQ4_LEVELS[q >>> 4]);
                }
            }
            case IQ4_XS -> {
                // d, scales_h (16 bits: 2 per sub-block), scales_l[4] (a nibble per sub-block), qs[128]
                float d = half(s, at);
                int scalesH = s.get(S, at + 2) & 0xFFFF;
                for (int ib = 0; ib < 8; ib++) {
                    int ls = ((u8(s, at + 4 + ib / 2) >>> (4 * (ib % 2))) & 0xF) | (((scalesH >>> (2 * ib)) & 3) << 4);
                    float dl = d * (ls - 32);
                    long qs = at + 8 + 16L * ib, yo = o + 32L * ib;
                    for (int j = 0; j < 16; j++) {
                        int q = u8(s, qs + j);
                        y.setAtIndex(F, yo + j, dl * IQ4_LEVELS[q & 0xF]);
                        y.setAtIndex(F, yo + j + 16, dl * IQ4_LEVELS[q >>> 4]);
                    }
                }
            }
            default -> throw new IllegalStateException(this + " has no block decoder");
        }
    }

    /** Q3_K's 16 6-bit scales from their 12 packed bytes (low 4 bits in bytes 0..7, high 2 bits in bytes 8..11). */
    private static int[] q3Scales(MemorySegment s, long at) {
        int a0 = s.get(ValueLayout.JAVA_INT_UNALIGNED, at), a1 = s.get(ValueLayout.JAVA_INT_UNALIGNED, at + 4);
        int tmp = s.get(ValueLayout.JAVA_INT_UNALIGNED, at + 8);
        int k1 = 0x03030303, k2 = 0x0f0f0f0f;
        int[] aux = {(a0 & k2) | (((tmp) & k1) << 4), (a1 & k2) | (((tmp >>> 2) & k1) << 4),
            ((a0 >>> 4) & k2) | (((tmp >>> 4) & k1) << 4), ((a1 >>> 4) & k2) | (((tmp >>> 6) & k1) << 4)};
        int[] sc = new int[16];
        for (int i = 0; i < 16; i++) sc[i] = (byte) (aux[i / 4] >>> (8 * (i % 4))); // int8, as ggml reads them
        return sc;
    }

    /** Sub-block j's 6-bit scale and minimum from the K-quants' 12 packed bytes (ggml's get_scale_min_k4). */
    private static void scaleMin(MemorySegment s, long q, int j, int[] out) {
        if (j < 4) {
            out[0] = u8(s, q + j) & 63;
            out[1] = u8(s, q + j + 4) & 63;
        } else {
            out[0] = (u8(s, q + j + 4) & 0xF) | ((u8(s, q + j - 4) >>> 6) << 4);
            out[1] = (u8(s, q + j + 4) >>> 4) | ((u8(s, q + j) >>> 6) << 4);
        }
    }

    private static float half(MemorySegment s, long at) {
        return Float.float16ToFloat(s.get(S, at));
    }

    private static int u8(MemorySegment s, long at) {
        return s.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
    }

    /** float32 to bfloat16, round to nearest even (NaN stays NaN): {@link dev.jgpt.memory.DType#toBf16(float)}. */
    static short bf16(float x) {
        return dev.jgpt.memory.DType.toBf16(x);
    }
}
