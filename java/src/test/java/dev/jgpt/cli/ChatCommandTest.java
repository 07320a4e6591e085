package dev.jgpt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.chat.EchoLm;
import dev.jgpt.generate.ByteTokenizer;
import dev.jgpt.generate.FakeLm;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.generate.ModelLoader;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ChatCommandTest {
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();
    private EchoLm lm;

    private int run(String stdin, String... args) {
        ModelLoader loader = path -> new LoadedModel("echo", lm = new EchoLm(256), ByteTokenizer.withChatTokens());
        return run(loader, stdin, args);
    }

    private int run(ModelLoader loader, String stdin, String... args) {
        CommandLine cli = new CommandLine(new ChatCommand(loader,
                new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8))));
        cli.setExecutionExceptionHandler(new UserErrorHandler());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    @Test
    void pipedStdinGivesOneAnswerPerLine() {
        int code = run("hi there\nsecond\n", "--model", "m", "--temperature", "0");
        assertThat(code).isZero();
        assertThat(out.toString()).isEqualTo("you said: hi there\nyou said: second\n");
    }

    @Test
    void styleAndSystemPromptReachThePrompt() {
        int code = run("/settings\nq\n", "--model", "m", "--style", "formal", "--system", "Be terse.", "--top-k", "7");
        assertThat(code).isZero();
        assertThat(lm.lastPromptText()).startsWith("<|system|>Be terse.<|end|><|user|>q");
        assertThat(err.toString()).contains("top_k 7").contains("temperature 0.6");
    }

    @Test
    void unknownStyleIsOneLine() {
        int code = run("", "--model", "m", "--style", "pirate");
        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).startsWith("jgpt: unknown style 'pirate'; styles: balanced, concise");
    }

    @Test
    void modelWithoutChatTokensIsRefusedClearly() {
        ModelLoader loader = path -> new LoadedModel("plain", FakeLm.scriptedText(257, 64, "x", 256),
                new ByteTokenizer(List.of("<|endoftext|>")));
        int code = run(loader, "hi\n", "--model", "runs/plain");
        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).startsWith("jgpt: model runs/plain: the tokenizer lacks the chat special token(s)");
    }

    @Test
    void needsAModelOrARemote() {
        int code = run("", "--temperature", "0");
        assertThat(code).isNotZero();
        assertThat(err.toString()).contains("--model").contains("--remote");
    }

    @Test
    void remoteBackendThroughTheCommand() throws Exception {
        var server = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/v1/chat/completions", ex -> {
            ex.getRequestBody().readAllBytes();
            ex.getResponseHeaders().set("Content-Type", "text/event-stream");
            ex.sendResponseHeaders(200, 0);
            try (var os = ex.getResponseBody()) {
                os.write(("data: {\"choices\":[{\"delta\":{\"content\":\"remote hi\"}}]}\n\n"
                        + "data: [DONE]\n\n").getBytes(StandardCharsets.UTF_8));
            }
        });
        server.start();
        try {
            int code = run("hello\n", "--remote", "http://127.0.0.1:" + server.getAddress().getPort() + "/v1",
                    "--remote-model", "m");
            assertThat(code).isZero();
            assertThat(out.toString()).isEqualTo("remote hi\n");
        } finally {
            server.stop(0);
        }
    }
}
