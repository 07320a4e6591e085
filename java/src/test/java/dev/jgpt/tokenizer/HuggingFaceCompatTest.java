package dev.jgpt.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Hugging Face tokenizers (the real Rust library, through DJL) loads our tokenizer.json and gives
 * exactly our ids; and we give exactly its ids for a tokenizer.json written the way it writes them.
 */
class HuggingFaceCompatTest {

    static final Path CORPORA = Path.of("../../shared/corpora");
    /** Generated text that hits every branch of the pre-split (scripts, emoji, contractions, whitespace). */
    static List<String> texts;
    /** A few MB of real text when ../shared is there: Moby-Dick and 40 speeches, one document each. */
    static List<String> corpus;

    @BeforeAll
    static void texts() throws IOException {
        texts = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < 300; i++) texts.add(TextGen.text(r, r.nextInt(0, 200)));
        for (int i = 0; i < 200; i++) texts.add(TextGen.codePoints(r, r.nextInt(0, 300)));
        corpus = new ArrayList<>();
        if (Files.isDirectory(CORPORA)) {
            corpus.add(Files.readString(CORPORA.resolve("moby-dick.txt")));
            try (var files = Files.list(CORPORA.resolve("sotu"))) {
                files.sorted().limit(40).forEach(f -> {
                    try {
                        corpus.add(Files.readString(f));
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
            }
        }
    }

    static List<String> trainingTexts() {
        SplittableRandom r = new SplittableRandom(11);
        List<String> t = new ArrayList<>();
        for (int i = 0; i < 400; i++) t.add(TextGen.text(r, 100));
        t.add("The quick brown fox jumps over the lazy dog. ".repeat(50));
        t.add("It's what we're doing: we'll see, I'm sure they'd say.\n\n".repeat(30));
        return t;
    }

    static HuggingFaceTokenizer hf(Path json) throws IOException {
        return HuggingFaceTokenizer.builder().optTokenizerPath(json).optAddSpecialTokens(false)
                .optTruncation(false).optPadding(false).build();
    }

    static void assertSameIds(BpeTokenizer ours, HuggingFaceTokenizer theirs, List<String> inputs) {
        for (String s : inputs) {
            long[] hf = theirs.encode(s).getIds();
            int[] ids = ours.encode(s);
            if (!Arrays.equals(Arrays.stream(hf).mapToInt(x -> (int) x).toArray(), ids)) {
                assertThat(ours.describe(ids)).as("pieces for '%s'", s.length() > 200 ? s.substring(0, 200) + "..." : s)
                        .isEqualTo(ours.describe(Arrays.stream(hf).mapToInt(x -> (int) x).toArray()));
                assertThat(ids).isEqualTo(Arrays.stream(hf).mapToInt(x -> (int) x).toArray());
            }
        }
    }

    @ParameterizedTest
    @EnumSource(SplitPattern.class)
    void huggingFaceLoadsOurFileAndAgrees(SplitPattern pattern, @TempDir Path dir) throws IOException {
        BpeTokenizer ours = new BpeTrainer(1200).pattern(pattern).trainOnTexts(trainingTexts());
        ours.save(dir);
        try (HuggingFaceTokenizer theirs = hf(dir.resolve("tokenizer.json"))) {
            assertSameIds(ours, theirs, texts);
            assertSameIds(ours, theirs, corpus);
            // and the file it read back is the file we read back
            assertSameIds(BpeTokenizer.load(dir.resolve("tokenizer.json")), theirs, texts.subList(0, 50));
        }
    }

    @Test
    void weAgreeWithAHuggingFaceStyleFile(@TempDir Path dir) throws IOException {
        // GPT-2's layout as Hugging Face writes it: <|endoftext|> last, in both vocab and added_tokens,
        // merges as [a, b] pairs, a ByteLevel post-processor, add_prefix_space false.
        BpeTokenizer base = new BpeTrainer(900).specialTokens(List.of()).trainOnTexts(trainingTexts());
        StringBuilder vocab = new StringBuilder();
        for (int id = 0; id < base.vocabSize(); id++) {
            vocab.append(id == 0 ? "" : ",").append(quote(base.tokenString(id))).append(":").append(id);
        }
        int eot = base.vocabSize();
        vocab.append(",\"<|endoftext|>\":").append(eot);
        StringBuilder merges = new StringBuilder();
        for (int r = 0; r < base.mergeCount(); r++) {
            String[] m = base.merge(r);
            merges.append(r == 0 ? "" : ",").append("[").append(quote(m[0])).append(",").append(quote(m[1])).append("]");
        }
        String json = """
                {"version":"1.0","truncation":null,"padding":null,
                 "added_tokens":[{"id":%d,"content":"<|endoftext|>","single_word":false,"lstrip":false,"rstrip":false,"normalized":true,"special":true}],
                 "normalizer":null,
                 "pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true},
                 "post_processor":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":false,"use_regex":true},
                 "decoder":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true},
                 "model":{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":"","end_of_word_suffix":"",
                          "fuse_unk":false,"byte_fallback":false,"ignore_merges":false,"vocab":{%s},"merges":[%s]}}
                """.formatted(eot, vocab, merges);
        Path file = dir.resolve("tokenizer.json");
        Files.writeString(file, json);
        BpeTokenizer ours = BpeTokenizer.load(file);
        try (HuggingFaceTokenizer theirs = hf(file)) {
            assertSameIds(ours, theirs, texts);
        }
        assertThat(ours.specialTokenId("<|endoftext|>")).hasValue(eot);
    }

    @ParameterizedTest
    @EnumSource(SplitPattern.class)
    void addPrefixSpaceAndIgnoreMergesLikeHuggingFace(SplitPattern pattern, @TempDir Path dir) throws IOException {
        BpeTokenizer base = new BpeTrainer(700).pattern(pattern).trainOnTexts(trainingTexts());
        base.save(dir);
        Path file = dir.resolve("tokenizer.json");
        String json = Files.readString(file)
                .replace("\"add_prefix_space\" : false", "\"add_prefix_space\" : true")
                .replace("\"ignore_merges\" : false", "\"ignore_merges\" : true");
        assertThat(json).contains("\"ignore_merges\" : true");
        Files.writeString(file, json);
        BpeTokenizer ours = BpeTokenizer.load(file);
        try (HuggingFaceTokenizer theirs = hf(file)) {
            assertSameIds(ours, theirs, texts.subList(0, 200));
        }
    }

    @Test
    void weAgreeWithAFileHuggingFaceWrote(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("tokenizer.json");
        try (var in = HuggingFaceCompatTest.class.getResourceAsStream("hf-written-gpt2-style.json")) {
            Files.copy(in, file);
        }
        BpeTokenizer ours = BpeTokenizer.load(file);
        assertThat(ours.specialTokenId("<|endoftext|>")).isPresent();
        try (HuggingFaceTokenizer theirs = hf(file)) {
            assertSameIds(ours, theirs, texts);
            assertSameIds(ours, theirs, corpus.isEmpty() ? List.of() : corpus.subList(0, Math.min(5, corpus.size())));
        }
    }

    @Test
    void anyOtherSplitRegexRunsThroughJavaRegexAndAgrees(@TempDir Path dir) throws IOException {
        // a regex that is neither GPT-2's nor GPT-4's, and leaves gaps (Isolated: gaps are pieces too)
        BpeTokenizer base = new BpeTrainer(700).pattern(SplitPattern.GPT4).trainOnTexts(trainingTexts());
        base.save(dir);
        Path file = dir.resolve("tokenizer.json");
        String custom = "\\\\p{L}+| ?\\\\p{N}";
        String json = Files.readString(file).replace(
                SplitPattern.GPT4.regex().replace("\\", "\\\\"), custom);
        assertThat(json).contains(custom);
        Files.writeString(file, json);
        BpeTokenizer ours = BpeTokenizer.load(file);
        assertThat(ours.splitPattern()).isNull();
        try (HuggingFaceTokenizer theirs = hf(file)) {
            assertSameIds(ours, theirs, texts.subList(0, 200));
        }
    }

    @Test
    void decodeAgrees(@TempDir Path dir) throws IOException {
        BpeTokenizer ours = new BpeTrainer(800).trainOnTexts(trainingTexts());
        ours.save(dir);
        try (HuggingFaceTokenizer theirs = hf(dir.resolve("tokenizer.json"))) {
            for (String s : texts.subList(0, 100)) {
                int[] ids = ours.encode(s);
                long[] l = Arrays.stream(ids).asLongStream().toArray();
                assertThat(theirs.decode(l, false)).isEqualTo(ours.decode(ids)).isEqualTo(s);
            }
        }
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') sb.append('\\').append(c);
            else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        return sb.append('"').toString();
    }
}
