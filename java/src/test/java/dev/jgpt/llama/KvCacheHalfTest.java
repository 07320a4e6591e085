package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.memory.Tensor;
import dev.jgpt.testing.JgptProcess;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * KV caches of IEEE halves (libjgpt ABI 14, the default for bf16 / q8 / GGUF weights): the same decode as a float32
 * cache but for the keys' and values' rounding, in the one-token step, the prefill and the batched step alike, and
 * with the AVX-512 and the portable attention kernels alike (and prefill's bf16 products against its float32 ones).
 */
class KvCacheHalfTest {

    /** head size 16 (the AVX-512 kernel's smallest), grouped-query (4 heads over 2), a prompt longer than one 4-position block */
    static final LlamaConfig SHAPE = LlamaConfig.llama2c(64, 192, 2, 4, 2, 300, 64, false);

    static float[] copy(Tensor t, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = t.getFloat(i);
        return a;
    }

    /** max |a - b| over max |a|: the rounding of halves (11 significant bits) moves logits by about 1e-3 of their scale */
    static double relative(float[] a, float[] b) {
        double d = 0, m = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
            m = Math.max(m, Math.abs(a[i]));
        }
        return d / m;
    }

    @Test
    void halvesFollowTheFloatCacheWithinTheirRounding() {
        assumeThat(NativeLibraries.status().available()).isTrue();
        try (Arena arena = Arena.ofShared()) {
            LlamaWeights w = RandomLlama.create(SHAPE, 3, arena);
            try (LlamaInference full = new LlamaInference(w, DecodeDType.F32, 32, 1, false, null);
                 LlamaInference half = new LlamaInference(w, DecodeDType.F32, 32, 2, true, null);
                 LlamaInference stepped = new LlamaInference(w, DecodeDType.F32, 32, 1, true, null)) {
                assertThat(full.kvCacheHalf()).isFalse();
                assertThat(half.kvCacheHalf()).isTrue();
                assertThat(half.cacheBytesPerSequence() * 2).isEqualTo(full.cacheBytesPerSequence());
                int V = SHAPE.vocabSize();
                int[] prompt = {5, 17, 42, 99, 7, 123, 250, 3, 61};
                float[] a = copy(full.prefill(prompt), V), b = copy(half.prefill(prompt), V);
                float[] c = null;
                for (int t : prompt) c = copy(stepped.step(t), V);
                assertThat(relative(a, b)).as("prefill into halves").isBetween(0.0, 5e-3);
                assertThat(relative(b, c)).as("prefill and one-token steps write the same halves").isLessThan(1e-4);
                double worst = 0;
                int token = LlamaInferenceTest.argmax(a);
                for (int i = 0; i < 40; i++) {
                    a = copy(full.step(token), V);
                    b = copy(half.step(token), V);
                    c = copy(stepped.step(token), V);
                    worst = Math.max(worst, relative(a, b));
                    assertThat(relative(b, c)).isLessThan(1e-4);
                    token = LlamaInferenceTest.argmax(a);
                }
                assertThat(worst).as("50 positions over halves").isBetween(1e-7, 5e-3);
            }
        }
    }

    @Test
    void theBatchedStepOverHalvesEqualsTheOneSequenceStep() {
        assumeThat(NativeLibraries.status().available()).isTrue();
        try (Arena arena = Arena.ofShared()) {
            LlamaWeights w = RandomLlama.create(SHAPE, 4, arena);
            try (LlamaInference a = new LlamaInference(w, DecodeDType.Q8, 32, 1, null);
                 LlamaInference b = new LlamaInference(w, DecodeDType.Q8, 32, 1, null);
                 LlamaInference shared = new LlamaInference(w, DecodeDType.Q8, 32, 1, null);
                 LlamaBatchDecoder batch = new LlamaBatchDecoder(shared, 2)) {
                assertThat(a.kvCacheHalf()).as("q8 weights: halves by default").isTrue();
                int V = SHAPE.vocabSize();
                float[][] want = {copy(a.prefill(new int[] {9, 8, 7, 6, 5}), V), copy(b.prefill(new int[] {1, 2, 3}), V)};
                assertThat(copy(batch.prefill(0, new int[] {9, 8, 7, 6, 5}), V)).containsExactly(want[0]);
                assertThat(copy(batch.prefill(1, new int[] {1, 2, 3}), V)).containsExactly(want[1]);
                for (int t = 0; t < 10; t++) {
                    int[] toks = {LlamaInferenceTest.argmax(want[0]), LlamaInferenceTest.argmax(want[1])};
                    want[0] = copy(a.step(toks[0]), V);
                    want[1] = copy(b.step(toks[1]), V);
                    Tensor got = batch.step(new int[] {0, 1}, toks, 2);
                    for (int r = 0; r < 2; r++) {
                        float[] row = new float[V];
                        for (int i = 0; i < V; i++) row[i] = got.getFloat((long) r * V + i);
                        assertThat(row).as("step " + t + ", sequence " + r).containsExactly(want[r]);
                    }
                }
            }
        }
    }

    /**
     * The portable attention over halves (machines without AVX-512) decodes what the AVX-512 kernel decodes (f32 weights
     * with JGPT_KV_CACHE=f16, so both paths prefill through the same sgemm; random weights at llama2.c's init scale give
     * logits far apart: the greedy text does not hang on the sums' order). And a GGUF file decoded in place, whose
     * prefill multiplies bf16 tiles by bf16 prompt rows with AVX512-BF16 and float32 ones through sgemm on the portable
     * path, picks the same first tokens.
     */
    @Test
    void portableAndAvx512HalvesGiveTheSameText(@TempDir Path dir) throws Exception {
        assumeThat(NativeLibraries.status().available()).isTrue();
        Llama2cTokenizer tok = dev.jgpt.testing.TinyRuns.asciiLlamaTokenizer();
        Path model = dir.resolve("m.bin");
        tok.write(dir.resolve("tokenizer.bin"));
        RandomLlama.writeCheckpoint(model, LlamaConfig.llama2c(64, 192, 2, 4, 2, tok.vocabSize(), 64, false), 5);
        String[] args = {"generate", "--model", model.toString(), "--dtype", "f32", "--prompt", "the quick brown fox",
                "--max-tokens", "40", "--temperature", "0", "--threads", "1"};
        var avx = JgptProcess.run(null, Map.of("JGPT_DECODE_KERNELS", "avx512", "JGPT_KV_CACHE", "f16"), args);
        var portable = JgptProcess.run(null, Map.of("JGPT_DECODE_KERNELS", "portable", "JGPT_KV_CACHE", "f16"), args);
        assertThat(avx.stdout()).as(avx.stderr()).isNotBlank();
        assertThat(portable.stdout()).isEqualTo(avx.stdout());
        Path gguf = dir.resolve("m.gguf");
        try (Arena a = Arena.ofShared()) {
            LlamaGguf.write(gguf, Llama2cCheckpoint.open(model, a), tok, "m", dev.jgpt.io.GgmlType.Q8_0);
        }
        String[] inPlace = {"generate", "--model", gguf.toString(), "--dtype", "gguf", "--prompt",
                "the quick brown fox jumps over the lazy dog", "--max-tokens", "4", "--temperature", "0", "--threads", "2"};
        var avxGguf = JgptProcess.run(null, Map.of("JGPT_DECODE_KERNELS", "avx512"), inPlace);
        var portableGguf = JgptProcess.run(null, Map.of("JGPT_DECODE_KERNELS", "portable"), inPlace);
        assertThat(avxGguf.stdout()).as(avxGguf.stderr()).isNotBlank();
        assertThat(portableGguf.stdout()).isEqualTo(avxGguf.stdout());
    }
}
