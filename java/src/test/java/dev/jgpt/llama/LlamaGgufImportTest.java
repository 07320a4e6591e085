package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.JgptException;
import dev.jgpt.io.GgmlType;
import dev.jgpt.io.GgufFile;
import dev.jgpt.io.TokenizerJson;
import dev.jgpt.memory.DType;
import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.BpeTrainer;
import dev.jgpt.tokenizer.Tokenizer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * GGUF files of the llama architecture read back into the weights and tokenizers they were written from: our own
 * exports (F32 bit for bit, BF16 and Q8_0 as their encodings round), a sentencepiece vocabulary as llama.cpp's
 * converter lays it out, and every way a file can be cut short or corrupted refused with a GGUF error.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LlamaGgufImportTest {
    @TempDir
    Path dir;
    BpeTokenizer bpe;
    Path tokJson;
    LlamaConfig config;

    @BeforeAll
    void tokenizer(@TempDir Path tmp) {
        String text = "Call me Ishmael. Some years ago, never mind how long precisely, having little money in my purse. ".repeat(20);
        bpe = new BpeTrainer(300).specialTokens(BpeTokenizer.DEFAULT_SPECIAL_TOKENS).trainOnTexts(List.of(text));
        tokJson = tmp.resolve("tokenizer.json");
        bpe.saveTokenizerJson(tokJson);
        config = new LlamaConfig(64, 96, 2, 4, 2, bpe.vocabSize(), 32, false, 10000.0, 1e-5);
    }

    private static MemorySegment[] tensors(LlamaWeights w) {
        return new MemorySegment[] {w.tokenEmbedding(), w.rmsAtt(), w.wq(), w.wk(), w.wv(), w.wo(), w.rmsFfn(), w.w1(), w.w2(),
            w.w3(), w.rmsFinal(), w.wcls()};
    }

    @Test
    void anF32ExportReadsBackBitForBitWithItsConfigAndTokenizer() {
        Path file = dir.resolve("f32.gguf");
        try (Arena a = Arena.ofShared()) {
            LlamaWeights w = RandomLlama.create(config, 5, a);
            LlamaGguf.write(file, w, TokenizerJson.read(tokJson), "tiny", GgmlType.F32);
            GgufFile g = GgufFile.open(file, a);
            assertThat(g.version()).isEqualTo(3);
            LlamaWeights back = LlamaGgufImport.load(g, a, 0);
            // the GGUF keeps the RMSNorm epsilon as a float32
            assertThat(back.config()).isEqualTo(new LlamaConfig(64, 96, 2, 4, 2, bpe.vocabSize(), 32, false, 10000.0, (double) 1e-5f));
            MemorySegment[] x = tensors(w), y = tensors(back);
            for (int i = 0; i < x.length; i++) assertThat(y[i].mismatch(x[i])).as("tensor %d", i).isEqualTo(-1);
            assertThat(LlamaGgufImport.load(g, a, 8).config().seqLen()).isEqualTo(8);

            Tokenizer t = LlamaGgufImport.tokenizer(g, back.config().vocabSize());
            String s = "Call me Ishmael, never mind <|endoftext|> how long — ½ café.";
            assertThat(t.encode(s)).containsExactly(bpe.encode(s));
            assertThat(t.decode(t.encode(s))).isEqualTo(s);
            assertThat(t.specialTokenId("<|endoftext|>")).isEqualTo(bpe.specialTokenId("<|endoftext|>"));
        }
    }

    @Test
    void bf16AndQ8ExportsDecodeToTheirRoundedWeights() {
        try (Arena a = Arena.ofShared()) {
            LlamaWeights w = RandomLlama.create(config, 6, a);
            Path bf = dir.resolve("bf16.gguf"), q8 = dir.resolve("q8.gguf");
            LlamaGguf.write(bf, w, TokenizerJson.read(tokJson), "tiny", GgmlType.BF16);
            LlamaGguf.write(q8, w, TokenizerJson.read(tokJson), "tiny", GgmlType.Q8_0);
            LlamaWeights b = LlamaGgufImport.load(GgufFile.open(bf, a), a, 0);
            LlamaWeights q = LlamaGgufImport.load(GgufFile.open(q8, a), a, 0);
            // without --dtype: a file of quantized matrices decodes as q8, a bf16 one as f32 (its values exactly)
            assertThat(LlamaGgufImport.decodeDType(GgufFile.open(q8, a))).isEqualTo(DecodeDType.Q8);
            assertThat(LlamaGgufImport.decodeDType(GgufFile.open(bf, a))).isEqualTo(DecodeDType.F32);
            MemorySegment[] x = tensors(w), yb = tensors(b), yq = tensors(q);
            for (int i = 0; i < x.length; i++) {
                boolean norm = i == 1 || i == 6 || i == 10; // RMSNorm weights stay F32
                long n = x[i].byteSize() / 4;
                for (long j = 0; j < n; j++) {
                    float o = x[i].getAtIndex(ValueLayout.JAVA_FLOAT, j);
                    float bf16 = DType.fromBf16(DType.toBf16(o));
                    assertThat(yb[i].getAtIndex(ValueLayout.JAVA_FLOAT, j)).as("bf16 tensor %d [%d]", i, j).isEqualTo(norm ? o : bf16);
                }
                for (long blk = 0; blk < n / 32; blk++) {
                    float max = 0;
                    for (int j = 0; j < 32; j++) max = Math.max(max, Math.abs(x[i].getAtIndex(ValueLayout.JAVA_FLOAT, blk * 32 + j)));
                    for (int j = 0; j < 32; j++) {
                        float o = x[i].getAtIndex(ValueLayout.JAVA_FLOAT, blk * 32 + j), got = yq[i].getAtIndex(ValueLayout.JAVA_FLOAT, blk * 32 + j);
                        if (norm) assertThat(got).isEqualTo(o);
                        else assertThat((double) Math.abs(got - o)).as("q8 tensor %d [%d]", i, blk * 32 + j).isLessThanOrEqualTo(max / 127 * 0.51 + max * 1e-3);
                    }
                }
            }
        }
    }

    @Test
    void aSentencepieceVocabularyReadsAsLlama2csTokenizer() {
        Llama2cTokenizer spm = dev.jgpt.testing.TinyRuns.asciiLlamaTokenizer();
        LlamaConfig c = LlamaConfig.llama2c(32, 64, 1, 2, 2, spm.vocabSize(), 16, true);
        Path file = dir.resolve("spm.gguf");
        try (Arena a = Arena.ofShared()) {
            LlamaWeights w = RandomLlama.create(c, 8, a);
            LlamaGguf.write(file, w, spm, "spm", GgmlType.F32);
            GgufFile g = GgufFile.open(file, a);
            assertThat(g.strings("tokenizer.ggml.tokens")[259]).isEqualTo("\u2581");
            Tokenizer t = LlamaGgufImport.tokenizer(g, c.vocabSize());
            assertThat(t).isInstanceOf(Llama2cTokenizer.class);
            for (String s : new String[] {"hi there", "a b  c\nd", "é½", ""}) {
                assertThat(t.encode(s)).as(s).containsExactly(spm.encode(s));
                assertThat(t.decode(t.encode(s))).isEqualTo(spm.decode(spm.encode(s)));
            }
            // written with output.weight (the shared classifier again): read as a separate classifier of the same values
            LlamaWeights back = LlamaGgufImport.load(g, a, 0);
            assertThat(back.wcls().mismatch(w.tokenEmbedding())).isEqualTo(-1);
        }
    }

    /**
     * With bf16 or q8 an imported model releases its float32 matrices once converted and prefills from tiles decoded
     * from the converted ones: on weights the conversion keeps exactly (bf16 values; q8's own dequantised values), the
     * prompt's logits equal those of a decoder that kept float32 (up to sgemm's tiling), and only the embedding and
     * the norms stay as float32.
     */
    /**
     * A Llama 3-style vocabulary (byte-level BPE, llama-bpe split, {@code <|begin_of_text|>} / {@code <|eot_id|>} as BOS /
     * EOS, add_bos on) with Llama 3's chat template: generation starts from the BOS and stops at the EOS (jgpt's names
     * answer with them), and chat prompts are Llama 3's headers, special tokens by id, after the BOS.
     */
    @Test
    void aLlama3StyleVocabularyStartsAndStopsAtItsOwnTokensAndChatsInItsFormat() {
        List<String> specials = List.of("<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>");
        BpeTokenizer trained = new BpeTrainer(400).specialTokens(specials)
                .trainOnTexts(List.of("the user asks and the assistant answers briefly ".repeat(40)));
        Path tj = dir.resolve("l3-tokenizer.json");
        trained.saveTokenizerJson(tj);
        TokenizerJson t = TokenizerJson.read(tj);
        int[] types = new int[t.size()];
        for (int i = 0; i < types.length; i++) types[i] = t.special()[i] ? 3 : 1;
        int bos = t.idOf("<|begin_of_text|>"), eot = t.idOf("<|eot_id|>");
        Path file = dir.resolve("l3.gguf");
        new dev.jgpt.io.GgufWriter().putString("general.architecture", "llama").putString("tokenizer.ggml.model", "gpt2")
                .putString("tokenizer.ggml.pre", "llama-bpe").putStringArray("tokenizer.ggml.tokens", List.of(t.tokens()))
                .putInt32Array("tokenizer.ggml.token_type", types).putStringArray("tokenizer.ggml.merges", t.merges())
                .putUInt32("tokenizer.ggml.bos_token_id", bos).putUInt32("tokenizer.ggml.eos_token_id", eot)
                .putBool("tokenizer.ggml.add_bos_token", true)
                .putString("tokenizer.chat_template", "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + "
                        + "message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}")
                .write(file);
        try (Arena a = Arena.ofConfined()) {
            GgufFile g = GgufFile.open(file, a);
            Tokenizer tok = LlamaGgufImport.tokenizer(g, t.size());
            assertThat(tok.specialTokenId("<|endoftext|>")).as("where an empty prompt starts").hasValue(bos);
            assertThat(tok.specialTokenId("<|end|>")).as("where generation stops").hasValue(eot);
            assertThat(tok.encodeOrdinary("<|endoftext|>")).as("an alias is a name, not text to match").doesNotContain(bos);
            var format = dev.jgpt.chat.ChatFormats.of(tok, LlamaGgufImport.chatSource(g), null);
            assertThat(format.name()).isEqualTo("llama3");
            int[] ids = format.prompt(List.of(dev.jgpt.chat.ChatMessage.user(" the user asks ")));
            assertThat(ids[0]).isEqualTo(bos);
            assertThat(tok.decode(ids)).isEqualTo("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nthe user asks<|eot_id|>"
                    + "<|start_header_id|>assistant<|end_header_id|>\n\n");
            assertThat(java.util.Arrays.stream(ids).filter(i -> i == t.idOf("<|start_header_id|>")).count()).isEqualTo(2);
        }
    }

    @Test
    void aBf16OrQ8ImportKeepsOneCopyAndPrefillsFromIt() {
        dev.jgpt.backend.cpu.NativeLibraries.status();
        org.assertj.core.api.Assumptions.assumeThat(dev.jgpt.backend.cpu.NativeLibraries.status().available()).isTrue();
        LlamaConfig c = new LlamaConfig(64, 160, 2, 4, 2, bpe.vocabSize(), 64, false, 10000.0, 1e-5); // 160: a partial tile
        int[] prompt = bpe.encode("Call me Ishmael. Some years ago, never mind how long precisely");
        for (DecodeDType dt : new DecodeDType[] {DecodeDType.BF16, DecodeDType.Q8}) {
            Path file = dir.resolve("exact-" + dt + ".gguf");
            try (Arena a = Arena.ofShared()) {
                LlamaWeights w = RandomLlama.create(c, 12, a);
                for (MemorySegment m : new MemorySegment[] {w.wq(), w.wk(), w.wv(), w.wo(), w.w1(), w.w2(), w.w3(), w.wcls()}) {
                    exactIn(dt, m, a);
                }
                LlamaGguf.write(file, w, TokenizerJson.read(tokJson), "exact", GgmlType.F32);
                float[] kept, released;
                long keptBytes, releasedBytes;
                try (LlamaInference k = new LlamaInference(LlamaGgufImport.load(GgufFile.open(file, a), a, 0), dt, 32, 1, null)) {
                    kept = k.prefill(prompt).toFloatArray();
                    keptBytes = k.offHeapBytes().getOrDefault("weights", -1L);
                }
                try (LlamaInference r = LlamaModels.openGguf(file, dt, 32, 1, 0)) {
                    released = r.prefill(prompt).toFloatArray();
                    releasedBytes = r.offHeapBytes().get("weights");
                }
                float max = 0;
                for (float v : kept) max = Math.max(max, Math.abs(v));
                // the same weight values; the released model's tiles multiply the prompt rows rounded to bf16 where the
                // CPU has AVX512-BF16 (prefill_bf16.c: 8 significant bits; up to 2.6e-3 of the largest logit through this
                // random network's two layers), else float32 ones (within 1e-4)
                for (int i = 0; i < kept.length; i++) {
                    assertThat((double) Math.abs(released[i] - kept[i])).as("%s logit %d", dt, i).isLessThanOrEqualTo(1e-2 * max);
                }
                long d = c.dim(), L = c.layers();
                assertThat(keptBytes).isEqualTo(-1L); // no owner: not reported
                assertThat(releasedBytes).as("%s: float32 left", dt).isEqualTo(4 * ((long) c.vocabSize() * d + 2 * L * d + d));
            }
        }
    }

    /** Rounds {@code m} (float32) to values the conversion to {@code dt} keeps exactly. */
    private static void exactIn(DecodeDType dt, MemorySegment m, Arena a) {
        long n = m.byteSize() / 4;
        if (dt == DecodeDType.BF16) {
            for (long i = 0; i < n; i++) m.setAtIndex(ValueLayout.JAVA_FLOAT, i, DType.fromBf16(DType.toBf16(m.getAtIndex(ValueLayout.JAVA_FLOAT, i))));
            return;
        }
        MemorySegment q = a.allocate(n), s = a.allocate(4 * n / 32);
        dev.jgpt.bindings.Jgpt.jgpt_convert_q8(q, s, m, n, 32);
        for (long i = 0; i < n; i++) {
            m.setAtIndex(ValueLayout.JAVA_FLOAT, i, q.get(ValueLayout.JAVA_BYTE, i) * s.getAtIndex(ValueLayout.JAVA_FLOAT, i / 32));
        }
    }

    @Test
    void everyTruncationAndCorruptionIsAGgufError() throws Exception {
        LlamaConfig c = new LlamaConfig(32, 64, 1, 2, 1, bpe.vocabSize(), 16, false, 10000.0, 1e-5);
        Path good = dir.resolve("good.gguf");
        try (Arena a = Arena.ofShared()) {
            LlamaGguf.write(good, RandomLlama.create(c, 9, a), TokenizerJson.read(tokJson), "tiny", GgmlType.Q8_0);
        }
        byte[] bytes = Files.readAllBytes(good);
        Path bad = dir.resolve("bad.gguf");
        // every cut of the header and metadata, and a spread of cuts through the tensor data
        int headerEnd;
        try (Arena a = Arena.ofConfined()) {
            headerEnd = (int) (bytes.length - GgufFile.open(good, a).tensors().values().stream()
                    .mapToLong(t -> t.data().byteSize()).sum());
        }
        for (int cut = 0; cut < bytes.length; cut += cut < headerEnd ? 1 : 97) {
            Files.write(bad, java.util.Arrays.copyOf(bytes, cut));
            final int at = cut;
            assertThatThrownBy(() -> readAll(bad)).as("cut at %d of %d", at, bytes.length)
                    .isInstanceOf(JgptException.class).hasMessageContaining("GGUF " + bad);
        }
        // random bytes flipped in the header and metadata: read, or refused with a GGUF error, never anything else
        SplittableRandom r = new SplittableRandom(1);
        int refused = 0;
        for (int trial = 0; trial < 400; trial++) {
            byte[] b = bytes.clone();
            for (int k = 0; k < 1 + r.nextInt(3); k++) b[r.nextInt(Math.min(headerEnd, 4096))] = (byte) r.nextInt(256);
            Files.write(bad, b);
            try {
                readAll(bad);
            } catch (JgptException e) {
                assertThat(e.getMessage()).contains("GGUF " + bad);
                refused++;
            }
        }
        assertThat(refused).isGreaterThan(50);
    }

    private static void readAll(Path file) {
        try (Arena a = Arena.ofShared()) {
            GgufFile g = GgufFile.open(file, a);
            LlamaWeights w = LlamaGgufImport.load(g, a, 0);
            LlamaGgufImport.tokenizer(g, w.config().vocabSize());
        }
    }

    @Test
    void whatJgptCannotRunIsRefusedByName() throws Exception {
        Path file = dir.resolve("m.gguf");
        try (Arena a = Arena.ofShared()) {
            LlamaGguf.write(file, RandomLlama.create(config, 3, a), TokenizerJson.read(tokJson), "tiny", GgmlType.F32);
        }
        byte[] b = Files.readAllBytes(file);
        // the architecture: "llama" -> "lla_a"
        Path other = dir.resolve("other.gguf");
        Files.write(other, replace(b, "llama", "lla_a", 1));
        assertThatThrownBy(() -> readAll(other)).hasMessageContaining("architecture lla_a is not supported (llama only)");
        // the first tensor's type id (F32 = 0) patched to IQ2_XXS (16: its codebook grids are not read)
        Path q2 = dir.resolve("iq2xxs.gguf");
        byte[] p = b.clone();
        try (Arena a = Arena.ofConfined()) {
            GgufFile g = GgufFile.open(file, a);
            String first = g.tensors().keySet().iterator().next();
            int at = indexOf(p, ("token_embd.weight").getBytes()) + first.length() + 4 + 2 * 8;
            p[at] = 16;
        }
        Files.write(q2, p);
        assertThatThrownBy(() -> readAll(q2)).isInstanceOf(JgptException.class)
                .hasMessageContaining("token_embd.weight").hasMessageContaining("IQ2_XXS, a type jgpt cannot read");
        assertThatThrownBy(() -> readAll(dir.resolve("missing.gguf"))).hasMessageContaining("no such file");
        Path notGguf = dir.resolve("x.gguf");
        Files.writeString(notGguf, "GGML is not GGUF");
        assertThatThrownBy(() -> readAll(notGguf)).hasMessageContaining("not a GGUF file");
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found");
    }

    /** {@code hay} with the {@code nth} (1-based) occurrence of {@code from} replaced by {@code to} (same length). */
    private static byte[] replace(byte[] hay, String from, String to, int nth) {
        byte[] f = from.getBytes(), t = to.getBytes(), out = hay.clone();
        int seen = 0;
        for (int i = 0; i + f.length <= out.length; i++) {
            if (java.util.Arrays.equals(out, i, i + f.length, f, 0, f.length) && ++seen == nth) {
                System.arraycopy(t, 0, out, i, t.length);
                return out;
            }
        }
        throw new AssertionError(from + " not found");
    }
}
