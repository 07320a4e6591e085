package dev.jgpt.cli;

import dev.jgpt.tokenizer.BpeTrainer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class DataCommandTest {
    @TempDir Path dir;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
    private PrintStream oldOut, oldErr;

    @BeforeEach
    void capture() {
        oldOut = System.out;
        oldErr = System.err;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restore() {
        System.setOut(oldOut);
        System.setErr(oldErr);
    }

    private static String text(long seed) {
        String[] w = "the a whale sea ship captain sailed over long waves and storms at night".split(" ");
        Random r = new Random(seed);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 300; i++) sb.append(w[r.nextInt(w.length)]).append(i % 15 == 14 ? ".\n" : " ");
        return sb.toString();
    }

    @Test
    void prepareAndPackPrintOneJsonObject() throws Exception {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            texts.add(text(i));
            Files.createDirectories(dir.resolve("in"));
            Files.writeString(dir.resolve("in/d" + i + ".txt"), texts.get(i));
        }
        new BpeTrainer(300).threads(1).trainOnTexts(texts).save(dir.resolve("tok"));

        int rc = Main.run("data", "prepare", dir.resolve("in").toString(), "-o", dir.resolve("prep").toString(), "--json", "--val-fraction", "0.25");
        assertThat(rc).as(err.toString()).isZero();
        assertThat(out.toString().strip()).startsWith("{").endsWith("}").contains("\"documents_out\" : 8");
        out.reset();

        rc = Main.run("data", "pack", dir.resolve("prep").toString(), "--tokenizer", dir.resolve("tok/tokenizer.json").toString(),
                "-o", dir.resolve("shards").toString(), "--json");
        assertThat(rc).as(err.toString()).isZero();
        assertThat(out.toString().strip()).startsWith("{").endsWith("}").contains("\"tokens_per_second\"");
        assertThat(dir.resolve("shards/manifest.json")).exists();
    }

    @Test
    void badInputIsOneLineAndExitCodeOne() {
        int rc = Main.run("data", "prepare", dir.resolve("nope.txt").toString(), "-o", dir.resolve("p").toString());
        assertThat(rc).isEqualTo(1);
        assertThat(err.toString().strip()).startsWith("jgpt: ").contains("nope.txt").doesNotContain("\n").doesNotContain("Exception");
        err.reset();
        rc = Main.run("data", "pack", dir.toString(), "--tokenizer", dir.resolve("t.json").toString(), "-o", dir.resolve("s").toString());
        assertThat(rc).isEqualTo(1);
        assertThat(err.toString().strip()).contains("t.json").doesNotContain("\n");
        err.reset();
        rc = Main.run("data", "fetch", "no-such-preset", "-o", dir.toString());
        assertThat(rc).isEqualTo(1);
        assertThat(err.toString()).contains("moby-dick");
    }
}
