package dev.jgpt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the tokenizer subcommands through Main, with stdin and stdout redirected. */
class TokenizerCommandTest {

    record Result(int code, String out, String err) {}

    static Result run(String stdin, String... args) {
        InputStream oldIn = System.in;
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            TokenizerCommand.stdoutOverride = System.out;
            int code = Main.run(args);
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            TokenizerCommand.stdoutOverride = null;
            System.setIn(oldIn);
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void trainEncodeDecodeInspect(@TempDir Path dir) throws IOException {
        Path corpus = dir.resolve("corpus.txt");
        Files.writeString(corpus, "The cat sat on the mat. It's the cat's hat.\n".repeat(50));
        Path tok = dir.resolve("tok");
        Result train = run("", "tokenizer", "train", corpus.toString(), "--vocab-size", "300", "--special", "[X]", "-o", tok.toString(), "--json");
        assertThat(train.code()).as(train.err()).isZero();
        assertThat(train.out().strip()).startsWith("{").endsWith("}").contains("\"vocab_size\":").contains("\"merges\":");
        assertThat(tok.resolve("tokenizer.json")).exists();

        String input = "the cat\n<|user|>hi [X]\n\nünïcödé 😀\n";
        Result enc = run(input, "tokenizer", "encode", "--tokenizer", tok.resolve("tokenizer.json").toString());
        assertThat(enc.code()).as(enc.err()).isZero();
        String[] lines = enc.out().split("\n", -1);
        assertThat(lines).hasSize(5);
        assertThat(lines[2]).isEmpty();
        assertThat(lines[0]).matches("[0-9]+( [0-9]+)*");

        Result dec = run(enc.out(), "tokenizer", "decode", "--tokenizer", tok.toString());
        assertThat(dec.code()).as(dec.err()).isZero();
        assertThat(dec.out()).isEqualTo(input);

        Result inspect = run("", "tokenizer", "inspect", "--tokenizer", tok.toString(), "--color", "never", "the cat");
        assertThat(inspect.code()).isZero();
        assertThat(inspect.out()).contains("the|␣cat").contains("tokens");

        Result json = run("", "tokenizer", "inspect", "--tokenizer", tok.toString(), "--json", "the cat");
        assertThat(json.out().strip()).startsWith("{\"text\":\"the cat\"");
    }

    @Test
    void crlfIsALineBreakAndALoneCrIsText(@TempDir Path dir) throws IOException {
        Path corpus = dir.resolve("c.txt");
        Files.writeString(corpus, "one two three\n");
        run("", "tokenizer", "train", corpus.toString(), "--vocab-size", "280", "-o", dir.toString());
        Result enc = run("a\r\nb\rc\n", "tokenizer", "encode", "--tokenizer", dir.toString());
        assertThat(enc.out().split("\n")).hasSize(2);
        Result dec = run(enc.out(), "tokenizer", "decode", "--tokenizer", dir.toString());
        assertThat(dec.out()).isEqualTo("a\nb\rc\n");
    }

    @Test
    void errorsAreOneLine(@TempDir Path dir) throws IOException {
        Path bad = dir.resolve("tokenizer.json");
        Files.writeString(bad, "{ nope");
        Result r = run("x\n", "tokenizer", "encode", "--tokenizer", bad.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).startsWith("jgpt: " + bad).contains("malformed JSON");
        assertThat(r.err().strip().lines().count()).isEqualTo(1);

        Result missing = run("", "tokenizer", "train", dir.resolve("none.txt").toString(), "--vocab-size", "300", "-o", dir.toString());
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).contains("none.txt");
    }

    @Test
    void decodeRejectsBadIds(@TempDir Path dir) throws IOException {
        Path corpus = dir.resolve("c.txt");
        Files.writeString(corpus, "abc abc abc");
        run("", "tokenizer", "train", corpus.toString(), "--vocab-size", "270", "-o", dir.toString());
        Result r = run("1 2\n99999\n", "tokenizer", "decode", "--tokenizer", dir.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("line 2").contains("99999");
    }

    static {
        // keep the real stdout reachable for debugging
        new FileOutputStream(FileDescriptor.out);
    }
}
