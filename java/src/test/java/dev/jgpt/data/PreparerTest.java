package dev.jgpt.data;

import dev.jgpt.JgptException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.zip.GZIPOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PreparerTest {
    @TempDir Path dir;

    private static final String[] WORDS = ("the whale ship sea captain ahab ocean voyage harpoon crew boat deck storm wind "
            + "sail white great long night day island harbour sailor cabin mast rope water wave fish").split(" ");

    /** A distinct paragraph of natural-looking words (random order, so near-duplicates only arise on purpose). */
    static String prose(long seed, int words) {
        Random r = new Random(seed);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < words; i++) {
            if (i > 0) sb.append(i % 12 == 0 ? ".\n" : " ");
            sb.append(WORDS[r.nextInt(WORDS.length)]);
        }
        return sb.append('.').toString();
    }

    private Path write(String name, String text) throws IOException {
        Path p = dir.resolve("in").resolve(name);
        Files.createDirectories(p.getParent());
        Files.writeString(p, text);
        return p;
    }

    private static Preparer.Config cfg(double valFraction) {
        Preparer.Config d = Preparer.Config.defaults();
        return new Preparer.Config(d.quality(), true, true, 0.8, 5, 128, valFraction, 7, 2);
    }

    @Test
    void filtersDeduplicatesSplitsAndReports() throws IOException {
        List<Path> inputs = new ArrayList<>();
        for (int i = 0; i < 20; i++) inputs.add(write("doc" + i + ".txt", prose(i, 300)));
        write("exact.txt", prose(3, 300));                         // exact duplicate of doc3
        String near = prose(5, 300);
        write("near.md", near.substring(0, near.length() - 30) + " storm wind sail harbour.");  // near-dup of doc5
        write("short.txt", "Too short.");
        write("symbols.txt", "#$%^&*()_+=-{}[]|\\:;<>,.?/~` ".repeat(10));
        write("repeat.txt", "This very same line repeats again and again.\n".repeat(30));
        Files.write(dir.resolve("in/latin1.txt"), ("Caf\u00e9 " + prose(99, 100)).getBytes(StandardCharsets.ISO_8859_1));
        write("chat.jsonl", "{\"messages\":[{\"role\":\"user\",\"content\":\"" + prose(50, 40).replace("\n", "\\n") + "\"},"
                + "{\"role\":\"assistant\",\"content\":\"" + prose(51, 40).replace("\n", "\\n") + "\"}]}\n\n{\"text\":\"" + prose(52, 60).replace("\n", "\\n") + "\"}\n");
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(gz)) {
            z.write(prose(60, 200).getBytes(StandardCharsets.UTF_8));
        }
        Files.write(dir.resolve("in/packed.txt.gz"), gz.toByteArray());

        Path out = dir.resolve("out");
        PrepareReport r = new Preparer(cfg(0.2), Progress.NONE).run(List.of(dir.resolve("in")), out);

        assertThat(r.documentsIn()).isEqualTo(20 + 2 + 4 + 2 + 1);
        assertThat(stage(r, "too_short")).isEqualTo(1);
        assertThat(stage(r, "mostly_non_letters")).isEqualTo(1);
        assertThat(stage(r, "too_repetitive")).isEqualTo(1);
        assertThat(stage(r, "bad_encoding")).isEqualTo(1);
        assertThat(r.exactDuplicates()).isEqualTo(1);
        assertThat(r.nearDuplicates()).isEqualTo(1);
        assertThat(r.documentsOut()).isEqualTo(20 + 2 + 1);
        assertThat(r.train().documents() + r.val().documents()).isEqualTo(r.documentsOut());
        assertThat(r.val().documents()).isPositive();
        assertThat(r.inputs()).hasSize(29 - 2 + 1); // chat.jsonl holds two documents
        assertThat(Files.readString(out.resolve("report.json"))).contains("\"near_duplicate\"");

        Set<String> trainSources = sources(out.resolve("train")), valSources = sources(out.resolve("val"));
        assertThat(trainSources).doesNotContainAnyElementsOf(valSources);
        assertThat(Files.readString(out.resolve("train/part-00000.jsonl")) + Files.readString(out.resolve("val/part-00000.jsonl")))
                .contains("User: ").contains("Assistant: ");

        // stable: a second run with another input added keeps every earlier assignment
        write("extra.txt", prose(1000, 300));
        new Preparer(cfg(0.2), Progress.NONE).run(List.of(dir.resolve("in")), out);
        assertThat(sources(out.resolve("val"))).containsAll(valSources);
        assertThat(sources(out.resolve("train"))).containsAll(trainSources);

        // and does not depend on the path the files are named by
        Path moved = dir.resolve("elsewhere/deeper");
        Files.createDirectories(moved);
        try (var s = Files.list(dir.resolve("in"))) {
            for (Path p : s.toList()) Files.copy(p, moved.resolve(p.getFileName()));
        }
        new Preparer(cfg(0.2), Progress.NONE).run(List.of(moved), dir.resolve("out2"));
        assertThat(names(sources(dir.resolve("out2/val")))).isEqualTo(names(sources(out.resolve("val"))));
    }

    private static Set<String> names(Set<String> sources) {
        Set<String> out = new HashSet<>();
        for (String s : sources) out.add(Path.of(s).getFileName().toString());
        return out;
    }

    @Test
    void outputInsideTheInputDirectoryIsNotReadBack() throws IOException {
        write("a.txt", prose(1, 200));
        write("b.txt", prose(2, 200));
        write(".downloads/pg1.txt", prose(3, 200));   // fetch's raw downloads are not inputs
        Path out = dir.resolve("in/prepared");
        new Preparer(cfg(0.5), Progress.NONE).run(List.of(dir.resolve("in")), out);
        PrepareReport again = new Preparer(cfg(0.5), Progress.NONE).run(List.of(dir.resolve("in")), out);
        assertThat(again.documentsIn()).isEqualTo(2);
    }

    @Test
    void emptyValidationGetsOneDocument() throws IOException {
        write("a.txt", prose(1, 200));
        write("b.txt", prose(2, 200));
        PrepareReport r = new Preparer(cfg(0.0001), Progress.NONE).run(List.of(dir.resolve("in")), dir.resolve("out"));
        assertThat(r.val().documents()).isEqualTo(1);
        assertThat(r.train().documents()).isEqualTo(1);
        assertThat(r.notes()).anyMatch(n -> n.contains("moved one document"));
        assertThat(sources(dir.resolve("out/train"))).doesNotContainAnyElementsOf(sources(dir.resolve("out/val")));
    }

    @Test
    void badInputsGiveOneErrorAndKeepEarlierOutput() throws IOException {
        write("a.txt", prose(1, 200));
        write("b.txt", prose(2, 200));
        Path out = dir.resolve("out");
        new Preparer(cfg(0.5), Progress.NONE).run(List.of(dir.resolve("in")), out);
        String before = Files.readString(out.resolve("report.json"));

        Path bad = write("bad.jsonl", "{\"text\":\"fine line of text\"}\n{\"text\": oops}\n");
        assertThatThrownBy(() -> new Preparer(cfg(0.5), Progress.NONE).run(List.of(dir.resolve("in")), out))
                .isInstanceOf(JgptException.class).hasMessageContaining("bad.jsonl:2").hasMessageContaining("invalid JSON");
        Files.writeString(bad, "{\"content\":\"x\"}\n");
        assertThatThrownBy(() -> new Preparer(cfg(0.5), Progress.NONE).run(List.of(bad), out))
                .isInstanceOf(JgptException.class).hasMessageContaining("bad.jsonl:1").hasMessageContaining("\"text\"");
        Files.delete(bad);

        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(gz)) {
            z.write(prose(3, 2000).getBytes(StandardCharsets.UTF_8));
        }
        byte[] cut = Arrays.copyOf(gz.toByteArray(), gz.size() / 2);
        Path trunc = dir.resolve("in/cut.txt.gz");
        Files.write(trunc, cut);
        assertThatThrownBy(() -> new Preparer(cfg(0.5), Progress.NONE).run(List.of(dir.resolve("in")), out))
                .isInstanceOf(JgptException.class).hasMessageContaining("cut.txt.gz").hasMessageContaining("gzip");
        Files.delete(trunc);

        assertThatThrownBy(() -> new Preparer(cfg(0.5), Progress.NONE).run(List.of(dir.resolve("missing.txt")), out))
                .isInstanceOf(JgptException.class).hasMessageContaining("missing.txt");

        assertThat(Files.readString(out.resolve("report.json"))).isEqualTo(before);
        assertThat(sources(out.resolve("train")).size() + sources(out.resolve("val")).size()).isEqualTo(2);
        assertThat(Files.exists(out.resolve(".prepare-tmp"))).isFalse();
    }

    @Test
    void normalizerCleansWhitespaceAndControls() {
        assertThat(TextNormalizer.normalize("\uFEFF  Cafe\u0301\r\nline\u00a0\u00a0two\t\tend  \r\n\n\n\nnext\u0007 \n"))
                .isEqualTo("Caf\u00e9\nline two end\n\nnext");
        assertThat(TextNormalizer.normalize("a\rb")).isEqualTo("a\nb");
    }

    @Test
    void minhashEstimatesJaccard() {
        MinHash mh = new MinHash(128, 3, 1);
        String a = prose(1, 400);
        assertThat(MinHash.similarity(mh.signature(a), mh.signature(a))).isEqualTo(1.0);
        assertThat(MinHash.similarity(mh.signature(a), mh.signature(prose(2, 400)))).isLessThan(0.2);
        int[] br = NearDuplicateIndex.bandsAndRows(128, 0.8);
        assertThat(br[0] * br[1]).isLessThanOrEqualTo(128);
    }

    static long stage(PrepareReport r, String name) {
        return r.stages().stream().filter(s -> s.stage().equals(name)).findFirst().orElseThrow().removed();
    }

    static Set<String> sources(Path splitDir) throws IOException {
        Set<String> out = new HashSet<>();
        if (!Files.isDirectory(splitDir)) return out;
        try (var s = Files.list(splitDir)) {
            for (Path p : s.toList()) {
                for (String line : Files.readAllLines(p)) {
                    out.add(ShardManifest.JSON.readTree(line).get("source").asString());
                }
            }
        }
        return out;
    }
}
