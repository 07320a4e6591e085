package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.jgpt.JgptException;
import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.bindings.Jgpt;
import dev.jgpt.memory.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import dev.jgpt.testing.Perplexity;

/**
 * bf16 and q8 decoding: the kernels against Java on the converted weights, and the whole model
 * against f32. Stated bounds (docs/llama.md): on the f32 model's own greedy text, perplexity within
 * 1% of f32 for bf16 and 2% for q8, and the same argmax on at least 90% of the positions.
 */
class DecodeDTypeTest {
    @BeforeAll
    static void needsNative() {
        assumeThat(NativeLibraries.status().available()).as(NativeLibraries.status().reason()).isTrue();
    }

    @ParameterizedTest(name = "{0} rows={1} cols={2} group={3}")
    @CsvSource({"bf16,37,96,32", "q8,37,96,32", "q8,18,128,64", "f32,33,100,32", "q8,5,48,16"})
    void matvecEqualsJavaOnTheConvertedWeights(String dtype, int rows, int cols, int group) {
        DecodeDType dt = DecodeDType.parse(dtype);
        try (Arena a = Arena.ofConfined()) {
            SplittableRandom r = new SplittableRandom(rows * 31L + cols);
            MemorySegment w = a.allocate(4L * rows * cols), x = a.allocate(4L * cols), out = a.allocate(4L * rows);
            for (long i = 0; i < (long) rows * cols; i++) w.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            for (int i = 0; i < cols; i++) x.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
            MemorySegment conv = w, scales = MemorySegment.NULL;
            if (dt == DecodeDType.BF16) {
                conv = a.allocate(2L * rows * cols);
                Jgpt.jgpt_convert_bf16(conv, w, (long) rows * cols);
            } else if (dt == DecodeDType.Q8) {
                conv = a.allocate((long) rows * cols);
                scales = a.allocate(4L * rows * cols / group);
                Jgpt.jgpt_convert_q8(conv, scales, w, (long) rows * cols, group);
            }
            Jgpt.jgpt_matvec(out, conv, scales, x, rows, cols, dt.code, group);
            float[] xs = new float[cols];
            for (int i = 0; i < cols; i++) xs[i] = x.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            float[] xr = roundedActivations(dt, xs, group);
            for (int i = 0; i < rows; i++) {
                double expect = 0, expectRounded = 0;
                for (int j = 0; j < cols; j++) {
                    long k = (long) i * cols + j;
                    float wf = w.getAtIndex(ValueLayout.JAVA_FLOAT, k);
                    double wq = switch (dt) {
                        case F32 -> wf;
                        case BF16 -> Float.intBitsToFloat((conv.getAtIndex(ValueLayout.JAVA_SHORT, k) & 0xFFFF) << 16);
                        case Q8 -> conv.get(ValueLayout.JAVA_BYTE, k) * (double) scales.getAtIndex(ValueLayout.JAVA_FLOAT, k / group);
                        case GGUF -> throw new AssertionError("GgmlMatvecTest covers ggml's blocks");
                    };
                    // the conversion itself: bf16 within half an ulp of bf16, q8 within half a step
                    if (dt == DecodeDType.BF16) assertThat(Math.abs(wq - wf)).isLessThanOrEqualTo(Math.abs(wf) / 256 + 1e-30);
                    if (dt == DecodeDType.Q8) {
                        assertThat(Math.abs(wq - wf)).isLessThanOrEqualTo(scales.getAtIndex(ValueLayout.JAVA_FLOAT, k / group) * 0.5001);
                    }
                    expect += wq * xs[j];
                    expectRounded += wq * xr[j];
                }
                // the AVX-512 BF16 / VNNI kernels round x (to bf16, or to int8 per group like runq.c);
                // the others use it as is: the result must match one of the two exactly computed sums
                double got = out.getAtIndex(ValueLayout.JAVA_FLOAT, i), tol = 1e-4 * Math.sqrt(cols) * 4;
                assertThat(Math.min(Math.abs(got - expect), Math.abs(got - expectRounded))).as("row %d: %s vs %s or %s", i, got,
                        expect, expectRounded).isLessThan(tol);
            }
        }
    }

    /** x as the fast kernels see it: bf16 (round to nearest even) or int8 per group times its scale. */
    static float[] roundedActivations(DecodeDType dt, float[] x, int group) {
        float[] r = x.clone();
        if (dt == DecodeDType.BF16) {
            for (int i = 0; i < r.length; i++) {
                int b = Float.floatToRawIntBits(r[i]);
                b = (b + 0x7FFF + ((b >>> 16) & 1)) & 0xFFFF0000;
                r[i] = Float.intBitsToFloat(b);
            }
        } else if (dt == DecodeDType.Q8 && group % 32 == 0) {
            for (int g = 0; g < r.length / group; g++) {
                float amax = 0;
                for (int i = 0; i < group; i++) amax = Math.max(amax, Math.abs(x[g * group + i]));
                float scale = amax / 127f, inv = scale > 0 ? 1f / scale : 0f;
                for (int i = 0; i < group; i++) r[g * group + i] = Math.round(x[g * group + i] * inv) * scale;
            }
        }
        return r;
    }

    @Test
    void bf16RoundsToNearestEven() {
        try (Arena a = Arena.ofConfined()) {
            float[] in = {1.0f, Float.intBitsToFloat(0x3F808000), Float.intBitsToFloat(0x3F818000), Float.intBitsToFloat(0x3F808001), -2.5f};
            int[] expect = {0x3F80, 0x3F80, 0x3F82, 0x3F81, 0xC020};
            MemorySegment src = a.allocateFrom(ValueLayout.JAVA_FLOAT, in), dst = a.allocate(2L * in.length);
            Jgpt.jgpt_convert_bf16(dst, src, in.length);
            for (int i = 0; i < in.length; i++) assertThat(dst.getAtIndex(ValueLayout.JAVA_SHORT, i) & 0xFFFF).as("element %d", i).isEqualTo(expect[i]);
        }
    }

    @Test
    void q8NeedsGroupsThatDivideTheRows() {
        try (Arena a = Arena.ofShared()) {
            LlamaWeights w = RandomLlama.create(LlamaConfig.llama2c(96, 160, 1, 4, 4, 50, 16, true), 1, a);
            assertThatThrownBy(() -> new LlamaInference(w, DecodeDType.Q8, 64, 1, null))
                    .isInstanceOf(JgptException.class).hasMessageContaining("multiples of 64").hasMessageContaining("--group-size 32");
        }
    }

    @Test
    void bf16AndQ8StayCloseToF32() {
        LlamaConfig cfg = LlamaConfig.llama2c(128, 320, 3, 4, 2, 512, 96, false);
        try (Arena a = Arena.ofShared()) {
            LlamaWeights w = RandomLlama.create(cfg, 9, a);
            int n = 80;
            int[] text = new int[n];
            float[][] f32 = run(w, DecodeDType.F32, null, text);     // greedy text of the f32 model
            for (DecodeDType dt : new DecodeDType[] {DecodeDType.BF16, DecodeDType.Q8}) {
                float[][] other = run(w, dt, text, null);
                double pf = Perplexity.of(f32, text), po = Perplexity.of(other, text);
                int agree = 0;
                for (int i = 0; i < n - 1; i++) if (LlamaInferenceTest.argmax(f32[i]) == LlamaInferenceTest.argmax(other[i])) agree++;
                double bound = dt == DecodeDType.BF16 ? 0.01 : 0.02;
                System.err.printf("%s: perplexity %.4f vs f32 %.4f (%.3f%%), argmax agreement %d/%d%n", dt, po, pf,
                        100 * (po / pf - 1), agree, n - 1);
                assertThat(Math.abs(po / pf - 1)).as(dt + " perplexity relative to f32").isLessThan(bound);
                assertThat(agree).as(dt + " argmax agreement").isGreaterThanOrEqualTo((int) Math.ceil(0.9 * (n - 1)));
            }
        }
    }

    /** Logits at every position; with text == null the model decodes greedily and writes its tokens into greedyOut. */
    static float[][] run(LlamaWeights w, DecodeDType dt, int[] text, int[] greedyOut) {
        int n = text != null ? text.length : greedyOut.length;
        float[][] logits = new float[n][];
        try (LlamaInference lm = new LlamaInference(w, dt, 32, 2, null)) {
            int token = 1;
            for (int i = 0; i < n; i++) {
                Tensor l = lm.step(token);
                logits[i] = l.toFloatArray();
                token = text != null ? text[i] : LlamaInferenceTest.argmax(logits[i]);
                if (greedyOut != null) greedyOut[i] = token;
            }
        }
        return logits;
    }
}
