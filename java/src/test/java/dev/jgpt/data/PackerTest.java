package dev.jgpt.data;

import dev.jgpt.JgptException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PackerTest {
    @TempDir Path dir;

    private Path prepared(int docs) throws IOException {
        List<Path> inputs = new ArrayList<>();
        for (int i = 0; i < docs; i++) {
            Path p = dir.resolve("in/doc" + i + ".txt");
            Files.createDirectories(p.getParent());
            Files.writeString(p, PreparerTest.prose(i, 100 + 37 * i));
            inputs.add(p);
        }
        Path out = dir.resolve("prepared");
        Preparer.Config d = Preparer.Config.defaults();
        new Preparer(new Preparer.Config(d.quality(), true, true, 0.8, 5, 64, 0.25, 1, 2), Progress.NONE).run(inputs, out);
        return out;
    }

    private Path tokenizerFile() throws IOException {
        Path f = dir.resolve("tokenizer.json");
        Files.writeString(f, "{\"test\": true}");
        return f;
    }

    @Test
    void packsDocumentsSeparatedByEotAndReadsThemBack() throws IOException {
        Path prep = prepared(12);
        Path shards = dir.resolve("shards");
        ByteTokenizer tok = new ByteTokenizer(257);
        Packer.PackReport r = new Packer(tok, tokenizerFile(), new Packer.Config(3000, 2), Progress.NONE).run(prep, shards);

        ShardManifest m = ShardManifest.read(shards.resolve("manifest.json"));
        assertThat(m.tokenizer().vocabSize()).isEqualTo(257);
        assertThat(m.tokenizer().eotId()).isEqualTo(256);
        assertThat(m.tokenizer().sha256()).isEqualTo(AtomicFiles.sha256(tokenizerFile()));
        assertThat(m.shardVersion()).isEqualTo(1);
        assertThat(m.sources()).isNotEmpty().allMatch(s -> s.sha256().length() == 64);
        assertThat(m.preparedFrom()).hasSize(12);
        ShardManifest.Split train = m.splits().get("train");
        assertThat(train.shards().size()).isGreaterThan(1); // 3000-token shards
        assertThat(train.shards()).allMatch(s -> s.tokens() <= 3000);
        assertThat(r.tokens()).isEqualTo(train.tokens() + m.splits().get("val").tokens());

        // the token stream decodes back to EOT + doc for each prepared document, in order
        for (String split : List.of("train", "val")) {
            StringBuilder expected = new StringBuilder();
            for (Path part : Packer.partFiles(prep, split)) {
                for (String line : Files.readAllLines(part)) {
                    expected.append("<|endoftext|>").append(ShardManifest.JSON.readTree(line).get("text").asString());
                }
            }
            try (TokenShards s = TokenShards.open(shards, split, 0)) {
                assertThat(s.tokenCount()).isEqualTo(m.splits().get(split).tokens());
                java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
                for (int i = 0; i < s.shardCount(); i++) {
                    for (long t = 0; t < s.shardTokens(i); t++) bytes.writeBytes(tok.tokenBytes(s.token(i, t)));
                }
                assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo(expected.toString());
            }
        }

        // same bytes with one thread; a smaller second pack removes shards the new manifest does not list
        Path one = dir.resolve("one");
        new Packer(tok, tokenizerFile(), new Packer.Config(3000, 1), Progress.NONE).run(prep, one);
        for (ShardManifest.Shard s : train.shards()) {
            assertThat(Files.readAllBytes(one.resolve(s.file()))).isEqualTo(Files.readAllBytes(shards.resolve(s.file())));
        }
        new Packer(tok, tokenizerFile(), new Packer.Config(1_000_000, 2), Progress.NONE).run(prep, shards);
        assertThat(Files.list(shards).map(p -> p.getFileName().toString()).sorted().toList())
                .containsExactly("manifest.json", "train_000000.bin", "val_000000.bin");
    }

    @Test
    void largeVocabularyWritesUint32Shards() throws IOException {
        Path prep = prepared(4);
        Path shards = dir.resolve("shards");
        new Packer(new ByteTokenizer(70_000), tokenizerFile(), new Packer.Config(1_000_000, 2), Progress.NONE).run(prep, shards);
        assertThat(ShardManifest.read(shards.resolve("manifest.json")).shardVersion()).isEqualTo(2);
        try (TokenShards s = TokenShards.open(shards, "train", 0)) {
            assertThat(s.token(0, 0)).isEqualTo(69_999);
        }
    }

    @Test
    void chunksCutOnlyAtSafeLineBreaks() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < 5 * Packer.CHUNK_CHARS; i++) sb.append("line ").append(i).append(" of text\nNext ");
        String text = sb.toString();
        List<String> chunks = Packer.chunks(text);
        assertThat(chunks.size()).isGreaterThan(3);
        assertThat(String.join("", chunks)).isEqualTo(text);
        for (int i = 0; i < chunks.size() - 1; i++) {
            assertThat(chunks.get(i)).endsWith("text\n");
            assertThat(chunks.get(i + 1)).startsWith("Next");
        }
    }

    @Test
    void badPreparedDirectoryIsOneError() throws IOException {
        Files.createDirectories(dir.resolve("empty"));
        assertThatThrownBy(() -> new Packer(new ByteTokenizer(257), tokenizerFile(), Packer.Config.defaults(), Progress.NONE)
                .run(dir.resolve("empty"), dir.resolve("s"))).isInstanceOf(JgptException.class)
                .hasMessageContaining("not a prepared directory");
        Path prep = prepared(3);
        Path s = dir.resolve("s");
        new Packer(new ByteTokenizer(257), tokenizerFile(), Packer.Config.defaults(), Progress.NONE).run(prep, s);
        String manifest = Files.readString(s.resolve("manifest.json"));
        byte[] shard = Files.readAllBytes(s.resolve("train_000000.bin"));

        Files.writeString(prep.resolve("train/part-00000.jsonl"), "{\"text\":\"ok\"}\nnot json\n");
        assertThatThrownBy(() -> new Packer(new ByteTokenizer(257), tokenizerFile(), Packer.Config.defaults(), Progress.NONE)
                .run(prep, s)).isInstanceOf(JgptException.class)
                .hasMessageContaining("part-00000.jsonl:2");
        // the earlier pack is untouched and nothing temporary is left
        assertThat(Files.readString(s.resolve("manifest.json"))).isEqualTo(manifest);
        assertThat(Files.readAllBytes(s.resolve("train_000000.bin"))).isEqualTo(shard);
        assertThat(Files.exists(s.resolve(".pack-tmp"))).isFalse();
    }
}
