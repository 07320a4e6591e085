package dev.jgpt.data;

import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.BpeTrainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/** Packing with the real byte-level BPE tokenizer: chunked encoding of big documents changes nothing. */
class PackWithBpeTest {
    @TempDir Path dir;

    private BpeTokenizer tokenizer() {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 50; i++) texts.add(PreparerTest.prose(i, 200));
        return new BpeTrainer(400).threads(1).trainOnTexts(texts);
    }

    /** Text like a book: paragraphs, indented and blank lines, numbers, punctuation after newlines. */
    static String book(int paragraphs) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < paragraphs; i++) {
            sb.append(i % 7 == 0 ? "CHAPTER " + i + ".\n\n" : "");
            sb.append(PreparerTest.prose(i, 60)).append(i % 3 == 0 ? "\n\n" : "\n");
            if (i % 11 == 0) sb.append("  \"Quoted,\" said he.\n");
            if (i % 13 == 0) sb.append("\n\n\n   indented line\n");
        }
        return sb.toString();
    }

    @Test
    void chunkedEncodingEqualsWholeEncoding() throws IOException {
        BpeTokenizer tok = tokenizer();
        List<String> texts = new ArrayList<>(List.of(book(3000)));
        Path moby = Path.of("../../shared/corpora/moby-dick.txt");
        if (!Files.exists(moby)) moby = Path.of("/work/shared/corpora/moby-dick.txt");
        if (Files.exists(moby)) texts.add(Files.readString(moby)); // when present; the product never needs it
        for (String text : texts) {
            List<String> chunks = Packer.chunks(text);
            assertThat(chunks.size()).isGreaterThan(1);
            int[] whole = tok.encodeOrdinary(text);
            int[] pieces = chunks.stream().flatMapToInt(c -> IntStream.of(tok.encodeOrdinary(c))).toArray();
            assertThat(pieces).isEqualTo(whole);
        }
    }

    @Test
    void packsWithATokenizerJsonAndDecodesBack() throws IOException {
        BpeTokenizer trained = tokenizer();
        trained.save(dir.resolve("tok"));
        Path tokFile = dir.resolve("tok/tokenizer.json");
        BpeTokenizer tok = BpeTokenizer.load(tokFile);
        Path in = dir.resolve("in");
        Files.createDirectories(in);
        Files.writeString(in.resolve("big.txt"), book(2500));
        for (int i = 0; i < 6; i++) Files.writeString(in.resolve("d" + i + ".txt"), PreparerTest.prose(100 + i, 300));
        Preparer.Config d = Preparer.Config.defaults();
        new Preparer(new Preparer.Config(d.quality(), true, true, 0.8, 5, 64, 0.3, 3, 2), Progress.NONE).run(List.of(in), dir.resolve("prep"));
        new Packer(tok, tokFile, new Packer.Config(1_000_000, 2), Progress.NONE).run(dir.resolve("prep"), dir.resolve("shards"));

        ShardManifest m = ShardManifest.read(dir.resolve("shards/manifest.json"));
        assertThat(m.tokenizer().sha256()).isEqualTo(AtomicFiles.sha256(tokFile));
        assertThat(m.tokenizer().eotId()).isEqualTo(tok.specialTokenId("<|endoftext|>").getAsInt());
        for (String split : List.of("train", "val")) {
            StringBuilder expected = new StringBuilder();
            for (Path part : Packer.partFiles(dir.resolve("prep"), split)) {
                for (String line : Files.readAllLines(part)) {
                    expected.append("<|endoftext|>").append(ShardManifest.JSON.readTree(line).get("text").asString());
                }
            }
            try (TokenShards s = TokenShards.open(dir.resolve("shards"), split, 0)) {
                int[] ids = new int[(int) s.tokenCount()];
                for (int i = 0; i < ids.length; i++) ids[i] = s.token(0, i);
                assertThat(new String(tok.decodeBytes(ids), StandardCharsets.UTF_8)).isEqualTo(expected.toString());
            }
        }
    }
}
