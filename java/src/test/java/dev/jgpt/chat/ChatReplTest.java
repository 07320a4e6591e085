package dev.jgpt.chat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.generate.ByteTokenizer;
import dev.jgpt.generate.GenerationConfig;
import java.io.BufferedReader;
import java.io.PrintWriter;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class ChatReplTest {
    private final StringWriter out = new StringWriter();
    private final StringWriter info = new StringWriter();
    private final GenerationConfig config = GenerationConfig.DEFAULTS.withTemperature(0).withMaxNewTokens(40);

    private ChatRepl repl(EchoLm lm) {
        LocalChatBackend backend = new LocalChatBackend("echo", lm, ByteTokenizer.withChatTokens());
        return new ChatRepl(backend, new ConversationMemory(""), config, new PrintWriter(out), new PrintWriter(info));
    }

    private static BufferedReader lines(String... l) {
        return new BufferedReader(new StringReader(String.join("\n", l) + "\n"));
    }

    @Test
    void pipeModeAnswersOneLinePerTurnAndRendersTheWholeConversation() throws Exception {
        try (EchoLm lm = new EchoLm(512)) {
            ChatRepl r = repl(lm);
            r.runPiped(lines("hello", "", "how are you"));
            assertThat(out.toString()).isEqualTo("you said: hello\nyou said: how are you\n");
            assertThat(lm.lastPromptText()).isEqualTo(
                    "<|user|>hello<|end|><|assistant|>you said: hello<|end|><|user|>how are you<|end|><|assistant|>");
        }
    }

    @Test
    void commandsChangeSettingsStyleSystemPromptAndMemory() throws Exception {
        try (EchoLm lm = new EchoLm(512)) {
            ChatRepl r = repl(lm);
            r.runPiped(lines("/set temperature 0.7", "/set top_k 3", "/style concise", "/system Be brief.",
                    "/remember the sky is green", "hi", "/reset", "again", "/bogus", "/set temperature -1", "//slash"));
            assertThat(r.config().topK()).isEqualTo(Styles.get("concise").topK()); // the style came after /set
            assertThat(r.config().temperature()).isEqualTo(Styles.get("concise").temperature());
            assertThat(out.toString()).isEqualTo("you said: hi\nyou said: again\nyou said: /slash\n");
            assertThat(lm.lastPromptText()).isEqualTo("<|system|>Be brief.\nFacts to remember:\n- the sky is green<|end|>"
                    + "<|user|>again<|end|><|assistant|>you said: again<|end|><|user|>/slash<|end|><|assistant|>");
            assertThat(info.toString())
                    .contains("unknown command /bogus")
                    .contains("error: temperature must be");
        }
    }

    @Test
    void quitStopsReading() throws Exception {
        try (EchoLm lm = new EchoLm(512)) {
            repl(lm).runPiped(lines("a", "/quit", "b"));
            assertThat(out.toString()).isEqualTo("you said: a\n");
        }
    }

    @Test
    void longChatsDropTheOldestTurnsButKeepAnswering() throws Exception {
        try (EchoLm lm = new EchoLm(96)) { // budget = 96 - 40 - 1 = 55 tokens of messages
            ChatRepl r = repl(lm);
            r.runPiped(lines("first message", "second message", "third message", "fourth"));
            assertThat(out.toString()).endsWith("you said: fourth\n");
            assertThat(lm.lastPromptText()).doesNotContain("first message").endsWith("<|user|>fourth<|end|><|assistant|>");
            assertThat(lm.lastPrompt.length).isLessThanOrEqualTo(96 - 40);
            assertThat(info.toString()).contains("no longer fit");
            assertThat(r.memory().turns()).hasSize(8);
        }
    }

    @Test
    void tooLongMessageIsReportedAndForgotten() throws Exception {
        try (EchoLm lm = new EchoLm(64)) {
            ChatRepl r = repl(lm);
            r.runPiped(lines("x".repeat(100), "ok"));
            assertThat(info.toString()).contains("error: your message takes 102 tokens");
            assertThat(out.toString()).isEqualTo("you said: ok\n");
            assertThat(r.memory().turns()).hasSize(2);
        }
    }

    @Test
    void saveWritesTheTranscriptAsJson(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("chat.json");
        try (EchoLm lm = new EchoLm(512)) {
            repl(lm).runPiped(lines("/remember fact one", "hello", "/save " + file));
        }
        JsonNode doc = JsonMapper.builder().build().readTree(Files.readString(file));
        assertThat(doc.path("model").asString()).isEqualTo("echo");
        assertThat(doc.path("facts").get(0).asString()).isEqualTo("fact one");
        assertThat(doc.path("messages").get(1).path("role").asString()).isEqualTo("assistant");
        assertThat(doc.path("messages").get(1).path("content").asString()).isEqualTo("you said: hello");
        assertThat(doc.path("settings").path("temperature").asDouble()).isEqualTo(0.0);
        assertThat(info.toString()).contains("saved 2 message(s)");
    }

    @Test
    void helpListsTheCommands() throws Exception {
        try (EchoLm lm = new EchoLm(512)) {
            repl(lm).runPiped(lines("/help", "/style"));
            assertThat(info.toString()).contains("/remember").contains("/save").contains("concise").contains("formal");
            assertThat(out.toString()).isEmpty();
        }
    }
}
