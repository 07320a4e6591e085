package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.JgptException;
import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.bindings.Jgpt;
import dev.jgpt.memory.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** {@link LlamaBackendWeights}' conversions: q8 as libjgpt makes it, and one clear error for a group that does not fit. */
class LlamaBackendWeightsTest {

    /** The same int8 weights and scales as {@code jgpt_convert_q8}, so that cpu and device decoders read one model. */
    @Test
    void q8IsLibjgptsQuantisation() {
        Assumptions.assumeTrue(NativeLibraries.status().available(), "libjgpt");
        int n = 64 * 97;
        Random rnd = new Random(4);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment src = a.allocate(4L * n, 64);
            for (int i = 0; i < n; i++) {
                // gaussians, exact halves of a step (ties round away from zero), zeros, and an all-zero group
                float v = i % 13 == 0 ? (i % 26 == 0 ? 0.5f : -1.5f) * (i % 7) : (float) rnd.nextGaussian();
                src.setAtIndex(ValueLayout.JAVA_FLOAT, i, i >= 64 * 5 && i < 64 * 6 ? 0f : v);
            }
            for (int group : new int[] {32, 64}) {
                MemorySegment ours = a.allocate(n), oursScales = a.allocate(4L * n / group, 4);
                MemorySegment theirs = a.allocate(n), theirScales = a.allocate(4L * n / group, 4);
                LlamaBackendWeights.quantizeQ8(src, ours, oursScales, n, group);
                Jgpt.jgpt_convert_q8(theirs, theirScales, src, n, group);
                assertThat(ours.toArray(ValueLayout.JAVA_BYTE)).as("int8 weights, groups of " + group)
                        .containsExactly(theirs.toArray(ValueLayout.JAVA_BYTE));
                assertThat(oursScales.toArray(ValueLayout.JAVA_FLOAT)).as("scales, groups of " + group)
                        .containsExactly(theirScales.toArray(ValueLayout.JAVA_FLOAT));
            }
        }
    }

    /** The parallel conversion (slices on the fork-join pool, a short last one) writes what one thread's does. */
    @Test
    void slicedConversionIsTheSequentialOne() {
        long n = (1L << 16) * 3 + 64 * 5; // three whole slices and a short one, whole groups of 32 and 64
        Random rnd = new Random(9);
        for (Arena a : new Arena[] {Arena.ofShared(), Arena.ofConfined()}) { // confined: converted on this thread
            try (a) {
                MemorySegment src = a.allocate(4L * n, 64);
                for (long i = 0; i < n; i++) src.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextGaussian() * (1 + i % 5));
                MemorySegment bf16 = a.allocate(2L * n, 2), bf16One = a.allocate(2L * n, 2);
                LlamaBackendWeights.convert(src, bf16, null, n, 0);
                DType.toBf16(src, bf16One, n);
                assertThat(bf16.mismatch(bf16One)).as("bf16").isEqualTo(-1);
                for (int group : new int[] {32, 64}) {
                    MemorySegment q = a.allocate(n), scales = a.allocate(4L * n / group, 4);
                    MemorySegment qOne = a.allocate(n), scalesOne = a.allocate(4L * n / group, 4);
                    LlamaBackendWeights.convert(src, q, scales, n, group);
                    LlamaBackendWeights.quantizeQ8(src, qOne, scalesOne, n, group);
                    assertThat(q.mismatch(qOne)).as("int8 weights, groups of " + group).isEqualTo(-1);
                    assertThat(scales.mismatch(scalesOne)).as("scales, groups of " + group).isEqualTo(-1);
                }
            }
        }
    }

    @Test
    void aGroupThatDoesNotFitIsOneClearError() {
        try (Arena a = Arena.ofConfined(); ReferenceBackend r = new ReferenceBackend()) {
            LlamaWeights w = RandomLlama.create(LlamaConfig.llama2c(48, 96, 1, 2, 2, 11, 8, true), 3, a);
            assertThatThrownBy(() -> new LlamaOpsInference(r, w, DType.I8, 32, null)).isInstanceOf(JgptException.class)
                    .hasMessageContaining("groups of 32").hasMessageContaining("dim (48)");
            assertThatThrownBy(() -> new LlamaOpsInference(r, w, DType.BF16, 0, null)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("BF16 on reference");
        }
    }
}
