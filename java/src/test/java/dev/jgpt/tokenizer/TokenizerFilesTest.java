package dev.jgpt.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.JgptException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TokenizerFilesTest {

    static BpeTokenizer trained(SplitPattern p) {
        return new BpeTrainer(600).pattern(p).specialTokens(List.of("<|endoftext|>", "<|user|>", "[MINE]"))
                .trainOnTexts(BpeTrainerTest.corpus(8, 100, 80));
    }

    @ParameterizedTest
    @EnumSource(SplitPattern.class)
    void saveLoadSaveIsIdentical(SplitPattern p, @TempDir Path dir) throws IOException {
        BpeTokenizer t = trained(p);
        t.save(dir.resolve("a"));
        BpeTokenizer back = BpeTokenizer.load(dir.resolve("a/tokenizer.json"));
        back.save(dir.resolve("b"));
        for (String f : new String[] {"tokenizer.json", "vocab.json", "merges.txt"}) {
            assertThat(Files.readString(dir.resolve("b").resolve(f))).as(f).isEqualTo(Files.readString(dir.resolve("a").resolve(f)));
        }
        assertThat(back.splitPattern()).isEqualTo(p);
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 100; i++) {
            String s = TextGen.text(r, 50);
            assertThat(back.encode(s)).isEqualTo(t.encode(s));
        }
        assertThat(back.specialTokenId("[MINE]")).isEqualTo(t.specialTokenId("[MINE]"));
        assertThat(back.vocabSize()).isEqualTo(t.vocabSize());
    }

    @Test
    void vocabAndMergesGiveTheSameIds(@TempDir Path dir) {
        BpeTokenizer t = trained(SplitPattern.GPT2);
        t.save(dir);
        BpeTokenizer classic = BpeTokenizer.loadVocabMerges(dir.resolve("vocab.json"), dir.resolve("merges.txt"),
                SplitPattern.GPT2, List.of("<|endoftext|>", "<|user|>", "[MINE]"));
        SplittableRandom r = new SplittableRandom(2);
        for (int i = 0; i < 100; i++) {
            String s = TextGen.text(r, 50);
            assertThat(classic.encode(s)).isEqualTo(t.encode(s));
        }
    }

    @Test
    void fileNamesTheFormat(@TempDir Path dir) throws IOException {
        trained(SplitPattern.GPT4).save(dir);
        String json = Files.readString(dir.resolve("tokenizer.json"));
        assertThat(json).contains("\"type\" : \"BPE\"", "\"type\" : \"ByteLevel\"", "\"type\" : \"Split\"", "\"added_tokens\"",
                "\"Regex\" : ");
        assertThat(Files.readString(dir.resolve("merges.txt"))).startsWith("#version: 0.2\n");
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted().toList())
                    .containsExactly("merges.txt", "tokenizer.json", "vocab.json"); // no temp files left
        }
    }

    static void assertBad(Path dir, String json, String... messageParts) throws IOException {
        Path f = dir.resolve("tokenizer.json");
        Files.writeString(f, json);
        assertThatThrownBy(() -> BpeTokenizer.load(f)).isInstanceOf(JgptException.class)
                .hasMessageContaining(f.toString()).hasMessageContainingAll(messageParts);
    }

    @Test
    void badFilesAreClearErrors(@TempDir Path dir) throws IOException {
        assertBad(dir, "{\"model\": ", "malformed JSON");
        assertBad(dir, "[]", "not a JSON object");
        assertBad(dir, "{}", "field 'model'", "missing");
        assertBad(dir, "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}", "field 'model.type'", "WordPiece");
        assertBad(dir, "{\"model\":{\"vocab\":{}}}", "field 'model.type'", "missing");
        assertBad(dir, "{\"model\":{\"type\":\"BPE\",\"merges\":[]}}", "field 'model.vocab'");
        assertBad(dir, "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0}}}", "field 'model.merges'");
        assertBad(dir, "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":\"x\"},\"merges\":[]}}", "model.vocab.a");
        assertBad(dir, "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a b\"]}}", "model.merges[0]", "'ab'");
        assertBad(dir, "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"a q\"]}}", "model.merges[0]", "'q'");
        assertBad(dir, "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}", "field 'pre_tokenizer'");
        assertBad(dir, "{\"pre_tokenizer\":{\"type\":\"Whitespace\"},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}",
                "pre_tokenizer.type", "Whitespace");
        assertBad(dir, "{\"normalizer\":{\"type\":\"NFC\"},\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}",
                "field 'normalizer'");
        assertBad(dir, "{\"added_tokens\":[{\"id\":1}],\"pre_tokenizer\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}",
                "added_tokens[0].content");
        assertThatThrownBy(() -> BpeTokenizer.load(dir.resolve("nope.json"))).isInstanceOf(JgptException.class)
                .hasMessageContaining("nope.json: no such file");
    }

    @Test
    void badMergesTxtNamesTheLine(@TempDir Path dir) throws IOException {
        trained(SplitPattern.GPT2).save(dir);
        String first = Files.readAllLines(dir.resolve("merges.txt")).get(1);
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n" + first + "\nnot-a-pair\n");
        assertThatThrownBy(() -> BpeTokenizer.loadVocabMerges(dir.resolve("vocab.json"), dir.resolve("merges.txt"), SplitPattern.GPT2, List.of()))
                .isInstanceOf(JgptException.class).hasMessageContaining("merges.txt: line 3");
    }
}
