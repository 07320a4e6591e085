package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.jgpt.JgptException;
import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.io.GgmlType;
import dev.jgpt.io.GgufFile;
import dev.jgpt.io.GgufWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --dtype gguf}: a GGUF file's own blocks multiplied in place, layers of different types as in llama.cpp's
 * Q4_K_M. Against the same file decoded to float32 (the same weight values, {@link GgmlType#decode}): prefill, which
 * multiplies tiles dequantised from the blocks (only its classifier product quantises x), agrees within 1% of the
 * logits' spread; decoding steps, whose integer products quantise x to int8 per block of 32, within 1%
 * (median; closer than q8, which rounds the weights too), and pick the same token.
 */
public class GgufInPlaceTest {
    @TempDir
    static Path dir;
    static Path file;
    public static final LlamaConfig C = LlamaConfig.llama2c(256, 512, 2, 4, 2, 285, 64, false); // the ascii tokenizer's 285 ids

    @BeforeAll
    static void write() {
        assumeThat(NativeLibraries.status().available()).as(NativeLibraries.status().reason()).isTrue();
        file = dir.resolve("mix.gguf");
        write(file, C, 7, false);
    }

    /**
     * A Q4_K_M-like file of random blocks: a Q4_K embedding and matrices, attn_v and ffn_down Q6_K in layer 1 only, the classifier Q6_K,
     * attn_output Q5_K in layer 1, attn_k Q8_0 then Q4_0, ffn_up F16; with {@code odd} the older block types too: layer 0's
     * attn_output Q4_1, layer 1's attn_k Q5_0 and ffn_up Q5_1 (llama.cpp's fallbacks where rows are not whole 256-weight
     * super-blocks, as in SmolLM's Q4_K_M files), and the IQ4 types: layer 0's ffn_up IQ4_NL, layer 1's ffn_gate IQ4_XS.
     */
    public static void write(Path file, LlamaConfig c, long seed, boolean odd) {
        SplittableRandom r = new SplittableRandom(seed);
        int d = c.dim(), h = c.hiddenDim(), kv = c.kvDim(), V = c.vocabSize();
        try (Arena a = Arena.ofConfined()) {
            GgufWriter g = new GgufWriter().putString("general.architecture", "llama").putUInt32("llama.context_length", c.seqLen())
                    .putUInt32("llama.embedding_length", d).putUInt32("llama.block_count", c.layers())
                    .putUInt32("llama.feed_forward_length", h).putUInt32("llama.attention.head_count", c.heads())
                    .putUInt32("llama.attention.head_count_kv", c.kvHeads()).putUInt32("llama.rope.dimension_count", c.headSize())
                    .putFloat32("llama.rope.freq_base", 10000f).putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f)
                    .putUInt32("llama.vocab_size", V);
            if (V == 285) { // with llama2.c's byte-level test vocabulary inside, as llama.cpp's "llama" tokenizer model
                Llama2cTokenizer t = dev.jgpt.testing.TinyRuns.asciiLlamaTokenizer();
                java.util.List<String> pieces = new java.util.ArrayList<>();
                int[] types = new int[V];
                for (int i = 0; i < V; i++) {
                    pieces.add(new String(t.piece(i), java.nio.charset.StandardCharsets.UTF_8).replace(' ', '\u2581'));
                    types[i] = i == 0 ? 2 : i <= 2 ? 3 : i <= 258 ? 6 : 1;
                }
                g.putString("tokenizer.ggml.model", "llama").putStringArray("tokenizer.ggml.tokens", pieces)
                        .putFloat32Array("tokenizer.ggml.scores", new float[V]).putInt32Array("tokenizer.ggml.token_type", types)
                        .putUInt32("tokenizer.ggml.bos_token_id", 1).putUInt32("tokenizer.ggml.eos_token_id", 2);
            }
            // the embedding in Q4_K, as in llama.cpp's Q4_K_M files: its rows are looked up in the blocks too
            g.addTensor("token_embd.weight", GgmlType.Q4_K, GgmlMatvecTest.randomBlocks(GgmlType.Q4_K, V, d, r, a), d, V);
            for (int l = 0; l < c.layers(); l++) {
                String b = "blk." + l + ".";
                GgmlType mixed = l == 1 ? GgmlType.Q6_K : GgmlType.Q4_K;
                g.addTensor(b + "attn_norm.weight", floats(a, r, d, 0.1, 1.0), d);
                g.addTensor(b + "attn_q.weight", GgmlType.Q4_K, GgmlMatvecTest.randomBlocks(GgmlType.Q4_K, d, d, r, a), d, d);
                GgmlType wk = l == 0 ? GgmlType.Q8_0 : odd ? GgmlType.Q5_0 : GgmlType.Q4_0;
                g.addTensor(b + "attn_k.weight", wk, GgmlMatvecTest.randomBlocks(wk, kv, d, r, a), d, kv);
                g.addTensor(b + "attn_v.weight", mixed, GgmlMatvecTest.randomBlocks(mixed, kv, d, r, a), d, kv);
                GgmlType wo = odd && l == 0 ? GgmlType.Q4_1 : l == 1 ? GgmlType.Q5_K : GgmlType.Q4_K;
                g.addTensor(b + "attn_output.weight", wo, GgmlMatvecTest.randomBlocks(wo, d, d, r, a), d, d);
                g.addTensor(b + "ffn_norm.weight", floats(a, r, d, 0.1, 1.0), d);
                GgmlType gate = odd && l == 1 ? GgmlType.IQ4_XS : GgmlType.Q4_K;
                g.addTensor(b + "ffn_gate.weight", gate, GgmlMatvecTest.randomBlocks(gate, h, d, r, a), d, h);
                GgmlType up = odd && l == 1 ? GgmlType.Q5_1 : odd ? GgmlType.IQ4_NL : GgmlType.F16;
                g.addTensor(b + "ffn_up.weight", up, GgmlMatvecTest.randomBlocks(up, h, d, r, a), d, h);
                g.addTensor(b + "ffn_down.weight", mixed, GgmlMatvecTest.randomBlocks(mixed, d, h, r, a), h, d);
            }
            g.addTensor("output_norm.weight", floats(a, r, d, 0.1, 1.0), d);
            g.addTensor("output.weight", GgmlType.Q6_K, GgmlMatvecTest.randomBlocks(GgmlType.Q6_K, V, d, r, a), d, V);
            g.write(file);
        }
    }

    static MemorySegment floats(Arena a, SplittableRandom r, long n, double sd) {
        return floats(a, r, n, sd, 0);
    }

    static MemorySegment floats(Arena a, SplittableRandom r, long n, double sd, double mean) {
        MemorySegment s = a.allocate(4 * n);
        for (long i = 0; i < n; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (mean + sd * r.nextGaussian()));
        return s;
    }

    static MemorySegment randomBytes(Arena a, SplittableRandom r, long n) {
        MemorySegment s = a.allocate(n);
        for (long i = 0; i < n; i++) s.set(ValueLayout.JAVA_BYTE, i, (byte) r.nextInt(256));
        return s;
    }

    @Test
    void inPlaceBlocksDecodeAsTheirFloat32Values() {
        int[] prompt = {5, 17, 280, 3, 99, 150, 42, 7, 260, 1};
        try (LlamaInference blocks = LlamaModels.openGguf(file, DecodeDType.GGUF, 32, 2, 0);
             LlamaInference q8 = LlamaModels.openGguf(file, DecodeDType.Q8, 32, 2, 0);
             LlamaInference f32 = LlamaModels.openGguf(file, DecodeDType.F32, 32, 2, 0)) {
            assertThat(blocks.offHeapBytes().get("weightsConverted")).as("nothing converted").isZero();
            assertThat(blocks.plan().getAtIndex(ValueLayout.JAVA_LONG, dev.jgpt.bindings.Jgpt.JGPT_LLAMA_EMB_TYPE))
                    .as("the embedding looked up in its Q4_K blocks").isEqualTo(GgmlType.Q4_K.id);
            float[] a = blocks.prefill(prompt).toFloatArray(), q = q8.prefill(prompt).toFloatArray(), b = f32.prefill(prompt).toFloatArray();
            // the layers multiply tiles dequantised from the blocks (the float32 values); the classifier of the last row is
            // decode's product, with x quantised
            assertThat(maxDiff(a, b)).as("prefill").isLessThan(0.01 * spread(b));
            // random weights make a chaotic model: an error of x's rounding can grow for a step (to ~17% of the logits'
            // spread once here, q8 alike); the median step stays within 1%, the mean closer than q8's (which also rounds
            // the weights), and the same tokens are picked
            double q8Err = 0;
            int same = 0, steps = 12;
            double[] blocksErr = new double[steps];
            for (int i = 0; i < steps; i++) {
                int next = argmax(b);
                a = blocks.step(next).toFloatArray();
                q = q8.step(next).toFloatArray();
                b = f32.step(next).toFloatArray();
                blocksErr[i] = maxDiff(a, b) / spread(b);
                q8Err += maxDiff(q, b) / spread(b);
                if (argmax(a) == argmax(b)) same++;
            }
            java.util.Arrays.sort(blocksErr);
            assertThat(blocksErr[steps / 2]).as("median").isLessThan(0.01);
            assertThat(java.util.Arrays.stream(blocksErr).average().orElseThrow()).as("mean").isLessThan(q8Err / steps);
            assertThat(same).isGreaterThanOrEqualTo(steps - 1);
        }
    }

    @Test
    void decodingFromTheBlocksAllocatesNothingPerToken() {
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        try (LlamaInference f = LlamaModels.openGguf(file, DecodeDType.GGUF, 32, 2, 0)) {
            f.prefill(new int[] {1, 2, 3});
            for (int i = 0; i < 5; i++) f.step(i); // warm up
            long before = mx.getThreadAllocatedBytes(tid);
            for (int i = 0; i < 30; i++) f.step(i);
            assertThat((mx.getThreadAllocatedBytes(tid) - before) / 30).as("heap bytes per token").isLessThan(64);
        }
    }

    @Test
    void olderBlockTypesAreMultipliedInPlaceToo() throws Exception {
        Path odd = dir.resolve("odd.gguf");
        write(odd, C, 8, true);
        try (Arena a = Arena.ofConfined()) {
            assertThat(LlamaGgufImport.defaultDType(GgufFile.open(file, a))).isEqualTo(DecodeDType.GGUF);
            assertThat(LlamaGgufImport.defaultDType(GgufFile.open(odd, a))).as("Q4_1, Q5_0, Q5_1, IQ4_NL, IQ4_XS in place").isEqualTo(DecodeDType.GGUF);
        }
        int[] prompt = {5, 17, 280, 3, 99, 150};
        try (LlamaInference blocks = LlamaModels.openGguf(odd, DecodeDType.GGUF, 32, 2, 0);
             LlamaInference f32 = LlamaModels.openGguf(odd, DecodeDType.F32, 32, 2, 0)) {
            assertThat(blocks.offHeapBytes().get("weightsConverted")).as("nothing converted").isZero();
            float[] a = blocks.prefill(prompt).toFloatArray(), b = f32.prefill(prompt).toFloatArray();
            assertThat(maxDiff(a, b)).as("prefill").isLessThan(0.01 * spread(b));
            int next = argmax(b);
            a = blocks.step(next).toFloatArray();
            b = f32.step(next).toFloatArray();
            assertThat(maxDiff(a, b)).as("a decoded step").isLessThan(0.05 * spread(b));
        }
        Path bin = dir.resolve("tiny.bin");
        RandomLlama.writeCheckpoint(bin, LlamaConfig.llama2c(64, 128, 1, 4, 2, 300, 32, false), 3);
        assertThatThrownBy(() -> LlamaModels.openLlama2c(bin, DecodeDType.GGUF, 32, 1)).isInstanceOf(JgptException.class)
                .hasMessageContaining("--dtype gguf decodes a GGUF file's own blocks, and this model is not a GGUF file");
    }

    static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    static double spread(float[] a) {
        double lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE;
        for (float v : a) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        return hi - lo;
    }

    static int argmax(float[] a) {
        int b = 0;
        for (int i = 1; i < a.length; i++) if (a[i] > a[b]) b = i;
        return b;
    }
}
