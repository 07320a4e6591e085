package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.generate.CausalLm;
import dev.jgpt.memory.Tensor;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The fast decode against the plain-Java reference on random-weight checkpoints written in llama2.c's
 * format and read back memory-mapped: f32 must produce exactly the reference's greedy tokens (and
 * logits within float rounding), with prefill and token-by-token, on 1 and 2 threads, with and
 * without grouped-query attention and a separate classifier.
 */
class LlamaInferenceTest {
    @TempDir
    static Path dir;

    @BeforeAll
    static void needsNative() {
        assumeThat(NativeLibraries.status().available()).as(NativeLibraries.status().reason()).isTrue();
    }

    static LlamaConfig shape(int kvHeads, boolean shared) {
        return LlamaConfig.llama2c(64, 192, 2, 4, kvHeads, 300, 48, shared);
    }

    static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
        return best;
    }

    /** Greedy continuation of the prompt; logits of every step are appended to {@code trace}. */
    static int[] greedy(CausalLm lm, int[] prompt, int n, float[][] trace) {
        lm.reset();
        Tensor logits = lm.prefill(prompt);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            float[] l = logits.toFloatArray();
            if (trace != null) trace[i] = l;
            out[i] = argmax(l);
            logits = lm.step(out[i]);
        }
        return out;
    }

    @ParameterizedTest(name = "kvHeads={0} shared={1} threads={2}")
    @CsvSource({"4,true,1", "2,false,2", "1,true,2"})
    void f32GreedyTokensEqualTheReference(int kvHeads, boolean shared, int threads) {
        LlamaConfig cfg = shape(kvHeads, shared);
        Path file = dir.resolve("m" + kvHeads + shared + ".bin");
        RandomLlama.writeCheckpoint(file, cfg, 42);
        int[] prompt = {1, 17, 250, 3, 99, 42, 7};
        int n = 30;
        try (Arena a = Arena.ofShared()) {
            LlamaWeights w = Llama2cCheckpoint.open(file, a);
            assertThat(w.config()).isEqualTo(cfg);
            float[][] refTrace = new float[n][], fastTrace = new float[n][];
            int[] ref, fast, stepwise;
            try (ReferenceLlama r = new ReferenceLlama(w)) {
                ref = greedy(r, prompt, n, refTrace);
            }
            try (LlamaInference f = new LlamaInference(w, DecodeDType.F32, 32, threads, null)) {
                fast = greedy(f, prompt, n, fastTrace);
                // the same through step() only (no sgemm prefill)
                f.reset();
                for (int t : prompt) f.step(t);
                assertThat(f.position()).isEqualTo(prompt.length);
                stepwise = greedy(new StepOnly(f), prompt, n, null);
            }
            assertThat(fast).as("fast f32 greedy tokens").containsExactly(ref);
            assertThat(stepwise).as("token-by-token greedy tokens").containsExactly(ref);
            for (int i = 0; i < n; i++) {
                for (int v = 0; v < cfg.vocabSize(); v++) {
                    assertThat(fastTrace[i][v]).as("logit %d at step %d", v, i)
                            .isCloseTo(refTrace[i][v], org.assertj.core.data.Offset.offset(2e-4f * (1 + Math.abs(refTrace[i][v]))));
                }
            }
            // a tied random model mostly predicts its input token again; the untied one must wander
            if (!shared) assertThat(Arrays.stream(ref).distinct().count()).as("distinct greedy tokens").isGreaterThan(3);
        }
    }

    @org.junit.jupiter.api.Test
    void decodingAllocatesNothingPerToken() {
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        try (Arena a = Arena.ofShared()) {
            LlamaWeights w = RandomLlama.create(shape(2, false), 5, a);
            for (DecodeDType dt : new DecodeDType[] {DecodeDType.F32, DecodeDType.BF16, DecodeDType.Q8}) { // gguf: GgufInPlaceTest
                try (LlamaInference f = new LlamaInference(w, dt, 32, 2, null)) {
                    f.prefill(new int[] {1, 2, 3});
                    for (int i = 0; i < 5; i++) f.step(i); // warm up
                    long before = mx.getThreadAllocatedBytes(tid);
                    for (int i = 0; i < 30; i++) f.step(i);
                    long bytes = mx.getThreadAllocatedBytes(tid) - before;
                    assertThat(bytes / 30).as(dt + ": heap bytes per token").isLessThan(64);
                }
            }
        }
    }

    /** Feeds the prompt one token at a time through step(). */
    record StepOnly(CausalLm lm) implements CausalLm {
        public int vocabSize() { return lm.vocabSize(); }
        public int contextLength() { return lm.contextLength(); }
        public void reset() { lm.reset(); }
        public int position() { return lm.position(); }
        public Tensor prefill(int[] tokens) {
            Tensor t = null;
            for (int x : tokens) t = lm.step(x);
            return t;
        }
        public Tensor step(int token) { return lm.step(token); }
    }

    /** The breakdown names the mapped float32 weights, the bf16 / q8 copies, the caches and the scratch, with their exact sizes. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"F32", "BF16", "Q8"})
    void reportsItsMemoryByPurpose(DecodeDType dtype) {
        LlamaConfig cfg = shape(2, false);
        Path file = dir.resolve("mem" + dtype + ".bin");
        RandomLlama.writeCheckpoint(file, cfg, 5);
        long d = cfg.dim(), h = cfg.hiddenDim(), kv = cfg.kvDim(), L = cfg.layers(), V = cfg.vocabSize();
        long matrices = L * (2 * d * d + 2 * kv * d + 3 * h * d) + V * d; // what decode reads in the dtype (+ the classifier)
        long converted = switch (dtype) {
            case F32 -> 0;
            case BF16 -> 2 * matrices;
            case Q8 -> matrices + 4 * (matrices / 32);
            case GGUF -> throw new AssertionError("a llama2.c file has no ggml blocks");
        };
        int[] prompt = {1, 17, 250, 3};
        int[] before;
        try (LlamaInference f = LlamaModels.openLlama2c(file, dtype, 32, 1)) {
            java.util.Map<String, Long> b = f.offHeapBytes();
            assertThat(b.get("weightsMapped")).isEqualTo(4 * cfg.parameterCount());
            assertThat(b.get("weightsConverted")).isEqualTo(converted);
            int element = dtype == DecodeDType.F32 ? 4 : 2; // bf16 and q8 weights: a cache of halves
            assertThat(b.get("kvCache")).isEqualTo(2 * element * L * cfg.seqLen() * kv);
            assertThat(b.get("scratch")).isPositive();
            before = greedy(f, prompt, 12, null);
            // and again: after the converted weights' float32 sources were dropped from memory, prefill
            // (float32 sgemm) reads them back from the file and gives the same tokens
            assertThat(greedy(f, prompt, 12, null)).containsExactly(before);
        }
        try (Arena a = Arena.ofShared(); LlamaInference f = new LlamaInference(Llama2cCheckpoint.open(file, a), dtype, 32, 1, null)) {
            assertThat(f.offHeapBytes()).as("borrowed weights are their owner's to count").doesNotContainKeys("weightsMapped", "weights");
            assertThat(greedy(f, prompt, 12, null)).containsExactly(before);
        }
    }

    /** Converting in chunks (each chunk's float32 source dropped after it) gives exactly the one-piece conversion. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"BF16", "Q8"})
    void chunkedConversionEqualsTheWholeConversion(DecodeDType dtype) {
        LlamaConfig cfg = shape(2, false);
        Path file = dir.resolve("chunk" + dtype + ".bin");
        RandomLlama.writeCheckpoint(file, cfg, 9);
        int[] prompt = {1, 5, 77};
        float[][] whole = new float[8][], chunked = new float[8][];
        long saved = LlamaInference.convertChunk;
        try (LlamaInference f = LlamaModels.openLlama2c(file, dtype, 32, 1)) {
            greedy(f, prompt, 8, whole);
            LlamaInference.convertChunk = 64 * 3; // several chunks per matrix, a tail shorter than a chunk
            try (LlamaInference g = LlamaModels.openLlama2c(file, dtype, 32, 1)) {
                greedy(g, prompt, 8, chunked);
            }
        } finally {
            LlamaInference.convertChunk = saved;
        }
        for (int i = 0; i < 8; i++) assertThat(chunked[i]).as("logits of step " + i).containsExactly(whole[i]);
    }
}
