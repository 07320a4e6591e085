package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.bindings.Jgpt;
import dev.jgpt.io.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * libjgpt's products over ggml's own blocks (JGPT_DECODE_GGML: Q2_K-Q6_K, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, IQ4_XS, F16) against Java's decoders
 * ({@link GgmlType#decode}, bit-exact with ggml's, bench/llamacpp-check.sh) and a double-precision dot product. The
 * kernels quantise x to int8 per block (32 for Q8_0, 256 for the K types, as llama.cpp does), so each row may differ
 * from the exact product by at most the rounding of x: half a step (max|x| of the block / 127) times the sum of |w|
 * over the block, summed over the blocks.
 */
class GgmlMatvecTest {
    @BeforeAll
    static void needsNative() {
        assumeThat(NativeLibraries.status().available()).as(NativeLibraries.status().reason()).isTrue();
    }

    @ParameterizedTest(name = "{0} rows={1} cols={2}")
    @CsvSource({"Q4_K,37,512", "Q6_K,37,512", "Q8_0,37,96", "Q4_K,3,256", "Q6_K,6,768", "Q8_0,9,2048", "F16,13,100",
                "Q5_K,37,512", "Q5_K,5,768", "Q4_0,37,96", "Q4_0,6,2048", "Q3_K,37,512", "Q3_K,5,768", "Q2_K,37,512",
                "Q2_K,6,2048", "Q4_1,37,96", "Q4_1,6,2048", "Q5_0,37,96", "Q5_0,6,2048", "Q5_1,37,96", "Q5_1,6,2048",
                "IQ4_NL,37,96", "IQ4_NL,6,2048", "IQ4_XS,37,512", "IQ4_XS,5,768"})
    void matvecEqualsTheDecodedWeightsTimesX(String typeName, int rows, int cols) {
        GgmlType type = GgmlType.valueOf(typeName);
        try (Arena a = Arena.ofConfined()) {
            SplittableRandom r = new SplittableRandom(rows * 131L + cols);
            MemorySegment w = randomBlocks(type, rows, cols, r, a);
            MemorySegment x = a.allocate(4L * cols), out = a.allocate(4L * rows), wf = a.allocate(4L * rows * cols);
            for (int i = 0; i < cols; i++) x.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (r.nextGaussian() * (i % 7 == 0 ? 4 : 1)));
            type.decode(w, 0, (long) rows * cols, wf, 0);
            Jgpt.jgpt_matvec(out, w, MemorySegment.NULL, x, rows, cols, Jgpt.JGPT_DECODE_GGML, type.id);
            for (int i = 0; i < rows; i++) {
                double exact = 0, bound = 1e-4;
                int xBlock = type.blockSize == 32 ? 32 : 256; // x's int8 blocks: Q8_0's / Q4_0's, or llama.cpp's Q8_K for the K types
                for (int b = 0; b < cols; b += xBlock) {
                    double amax = 0, wsum = 0;
                    for (int j = b; j < Math.min(cols, b + xBlock); j++) {
                        float xj = x.getAtIndex(ValueLayout.JAVA_FLOAT, j), wj = wf.getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * cols + j);
                        exact += (double) wj * xj;
                        amax = Math.max(amax, Math.abs(xj));
                        wsum += Math.abs(wj);
                    }
                    if (type != GgmlType.F16) bound += 0.5 * amax / 127 * wsum * 1.001;
                }
                if (type == GgmlType.F16) bound += 1e-5 * Math.abs(exact);
                assertThat((double) out.getAtIndex(ValueLayout.JAVA_FLOAT, i)).as("%s row %d", type, i).isCloseTo(exact,
                        org.assertj.core.data.Offset.offset(bound));
            }
        }
    }

    /** Random blocks of {@code type}: every bit pattern of the quants and scales is a valid block; the f16 scales are kept finite. */
    static MemorySegment randomBlocks(GgmlType type, int rows, int cols, SplittableRandom r, Arena a) {
        long blocks = (long) rows * cols / type.blockSize;
        MemorySegment w = a.allocate(blocks * type.blockBytes);
        for (long i = 0; i < w.byteSize(); i++) w.set(ValueLayout.JAVA_BYTE, i, (byte) r.nextInt(256));
        for (long k = 0; k < blocks; k++) {
            long at = k * type.blockBytes;
            switch (type) {
                case Q8_0, Q4_0, Q5_0 -> half(w, at, 0.01 + 0.05 * r.nextDouble());
                case IQ4_NL, IQ4_XS -> half(w, at, 0.0005 + 0.002 * r.nextDouble()); // levels up to 127, IQ4_XS's scales up to 32
                case Q4_1, Q5_1 -> {
                    half(w, at, 0.01 + 0.05 * r.nextDouble());
                    half(w, at + 2, r.nextGaussian() * 0.1);
                }
                case Q4_K, Q5_K -> {
                    half(w, at, 0.002 + 0.01 * r.nextDouble());
                    half(w, at + 2, 0.001 + 0.01 * r.nextDouble());
                }
                case Q6_K -> half(w, at + 208, 0.0005 + 0.003 * r.nextDouble());
                case Q3_K -> half(w, at + 108, 0.0005 + 0.003 * r.nextDouble());
                case Q2_K -> {
                    half(w, at + 80, 0.002 + 0.01 * r.nextDouble());
                    half(w, at + 82, 0.001 + 0.01 * r.nextDouble());
                }
                case F16 -> half(w, at, r.nextGaussian());
                default -> throw new IllegalArgumentException(type.toString());
            }
        }
        return w;
    }

    static void half(MemorySegment s, long at, double v) {
        s.set(ValueLayout.JAVA_SHORT_UNALIGNED, at, Float.floatToFloat16((float) v));
    }
}
