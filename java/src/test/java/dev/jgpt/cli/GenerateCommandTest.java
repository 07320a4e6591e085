package dev.jgpt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.generate.ByteTokenizer;
import dev.jgpt.generate.FakeLm;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.generate.ModelLoader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class GenerateCommandTest {
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();
    private Path loadedPath;

    private int run(ModelLoader loader, String... args) {
        CommandLine cli = new CommandLine(new GenerateCommand(loader));
        cli.setExecutionExceptionHandler(new UserErrorHandler());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    private ModelLoader scripted(String text, int context) {
        return path -> {
            loadedPath = path;
            return new LoadedModel("fake", FakeLm.scriptedText(261, context, text, 256), ByteTokenizer.withChatTokens());
        };
    }

    /** A bigram model over 'a'..'h' so sampling settings change the output. */
    private ModelLoader bigram() {
        float[][] table = new float[261][261];
        java.util.Random r = new java.util.Random(3);
        for (float[] row : table) {
            java.util.Arrays.fill(row, -40f);
            for (int j = 'a'; j <= 'h'; j++) row[j] = (float) (2 * r.nextGaussian());
        }
        return path -> new LoadedModel("bigram", FakeLm.bigram(table, 128), ByteTokenizer.withChatTokens());
    }

    @Test
    void streamsTheTextToStdoutAndFiguresToStderr() {
        int code = run(scripted("Hello world. Bye", 64), "--model", "runs/x", "--prompt", "Say:", "--temperature", "0",
                "--stop", ".");
        assertThat(code).isZero();
        assertThat(loadedPath).isEqualTo(Path.of("runs/x"));
        assertThat(out.toString()).isEqualTo("Hello world\n");
        assertThat(err.toString()).contains("finish stop");
    }

    @Test
    void jsonPrintsOneObject() throws Exception {
        int code = run(scripted("abc", 64), "--model", "m", "--prompt", "q", "--temperature", "0", "--json");
        assertThat(code).isZero();
        JsonNode doc = JsonMapper.builder().build().readTree(out.toString());
        assertThat(doc.path("text").asString()).isEqualTo("abc");
        assertThat(doc.path("finish_reason").asString()).isEqualTo("eos");
        assertThat(doc.path("generated_tokens").asInt()).isEqualTo(3);
        assertThat(doc.path("prompt_tokens").asInt()).isEqualTo(1);
        // the process's memory beside the speed (a fake model owns no off-heap memory)
        if (java.nio.file.Files.isReadable(Path.of("/proc/self/status"))) {
            assertThat(doc.path("rss_bytes").asLong()).isPositive();
            assertThat(doc.path("peak_rss_bytes").asLong()).isGreaterThanOrEqualTo(doc.path("rss_bytes").asLong());
        }
        assertThat(doc.path("off_heap_bytes").asLong()).isZero();
        assertThat(out.toString().strip().lines().count()).isEqualTo(1);
    }

    @Test
    void defaultMaxTokensFitsASmallContext() {
        int code = run(scripted("x".repeat(100), 16), "--model", "m", "--prompt", "0123", "--temperature", "0");
        assertThat(code).isZero();
        assertThat(out.toString()).isEqualTo("x".repeat(12) + "\n");
        assertThat(err.toString()).contains("finish length");
    }

    @Test
    void budgetErrorsAreOneLineAndTruncateLeftWorks() {
        int code = run(scripted("x", 16), "--model", "m", "--prompt", "0123456789", "--max-tokens", "10");
        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).startsWith("jgpt: prompt of 10 tokens + 10 new tokens exceeds the model's context of 16");
        err.getBuffer().setLength(0);
        code = run(scripted("xyz", 16), "--model", "m", "--prompt", "0123456789", "--max-tokens", "10",
                "--overflow", "truncate-left", "--temperature", "0");
        assertThat(code).isZero();
        assertThat(err.toString()).contains("prompt truncated by 4 tokens");
    }

    @Test
    void badControlIsOneClearLine() {
        int code = run(scripted("x", 16), "--model", "m", "--top-p", "1.5");
        assertThat(code).isEqualTo(1);
        assertThat(err.toString().strip()).isEqualTo("jgpt: top-p must be in (0, 1] (got 1.5); 1 turns it off");
    }

    @Test
    void gridPrintsATableWithMetrics() {
        int code = run(bigram(), "--model", "m", "--prompt", "a", "--grid", "--max-tokens", "30",
                "--temperatures", "0,1.5", "--top-ks", "0,2", "--top-ps", "1.0");
        assertThat(code).isZero();
        String[] lines = out.toString().split("\n");
        assertThat(lines).hasSize(2 + 4);
        assertThat(lines[0]).contains("dist-n = unique n-grams").contains("16 before");
        assertThat(lines[1]).contains("temp").contains("dist-2").contains("rep");
        assertThat(lines[2]).startsWith(" 0.00     0  1.00     30");
        assertThat(lines[5]).startsWith(" 1.50     2  1.00     30");
        // greedy on a bigram model loops: low distinct-2, high repetition
        String[] greedy = lines[2].trim().split("\\s+");
        assertThat(Double.parseDouble(greedy[6])).isGreaterThan(0.8);
        assertThat(err.toString()).contains("grid 4/4");
    }

    @Test
    void gridJsonHasOneRowPerCell() throws Exception {
        int code = run(bigram(), "--model", "m", "--prompt", "a", "--grid", "--json", "--max-tokens", "20",
                "--temperatures", "0.5", "--top-ks", "0,3", "--top-ps", "1.0,0.5");
        assertThat(code).isZero();
        JsonNode doc = JsonMapper.builder().build().readTree(out.toString());
        assertThat(doc.path("rows").size()).isEqualTo(4);
        assertThat(doc.path("seed").asLong()).isEqualTo(GenerateCommand.GRID_SEED);
        JsonNode row = doc.path("rows").get(1);
        assertThat(row.path("topK").asInt()).isZero();
        assertThat(row.path("topP").asDouble()).isEqualTo(0.5);
        assertThat(row.path("distinct2").isNumber()).isTrue();
    }

    @Test
    void chatFlagUsesTheTemplate() {
        dev.jgpt.chat.EchoLm echo = new dev.jgpt.chat.EchoLm(64);
        ModelLoader loader = path -> new LoadedModel("echo", echo, ByteTokenizer.withChatTokens());
        int code = run(loader, "--model", "m", "--prompt", "hey", "--chat", "--temperature", "0");
        assertThat(code).isZero();
        assertThat(out.toString()).isEqualTo("you said: hey\n");
        assertThat(echo.lastPrompt).hasSize(6); // <|user|> h e y <|end|> <|assistant|>
    }

    @Test
    void unloadableModelIsNamed() {
        CommandLine cli = new CommandLine(new GenerateCommand());
        cli.setExecutionExceptionHandler(new UserErrorHandler());
        cli.setErr(new PrintWriter(err, true));
        assertThat(cli.execute("--model", "/nonexistent/run")).isEqualTo(1);
        assertThat(err.toString()).contains("/nonexistent/run");
    }
}
