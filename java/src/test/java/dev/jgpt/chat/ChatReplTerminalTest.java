package dev.jgpt.chat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.generate.ByteTokenizer;
import dev.jgpt.generate.GenerationConfig;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jline.terminal.Terminal;
import org.jline.terminal.impl.DumbTerminal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JLine front end on a stream-backed dumb terminal: line editing is JLine's, the wiring is ours. */
class ChatReplTerminalTest {
    @Test
    void readsTurnsAndContinuationLinesAndWritesHistory(@TempDir Path dir) throws Exception {
        String input = "hello\r/settings\r/set temperature 0\rtwo \\\rlines\r/quit\r";
        ByteArrayOutputStream screen = new ByteArrayOutputStream();
        Path history = dir.resolve("history");
        try (EchoLm lm = new EchoLm(512);
                Terminal t = new DumbTerminal(new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)), screen)) {
            LocalChatBackend backend = new LocalChatBackend("echo", lm, ByteTokenizer.withChatTokens());
            Style concise = Styles.get("concise");
            ConversationMemory memory = new ConversationMemory(concise.systemPrompt());
            ChatRepl.runInteractive(t, backend, memory, GenerationConfig.DEFAULTS.withTemperature(0).withMaxNewTokens(40),
                    concise.name(), history);
            assertThat(memory.turns()).containsExactly(
                    ChatMessage.user("hello"), ChatMessage.assistant("you said: hello"),
                    ChatMessage.user("two \nlines"), ChatMessage.assistant("you said: two \nlines"));
            assertThat(lm.lastPromptText()).startsWith("<|system|>" + Styles.get("concise").systemPrompt());
        }
        String shown = screen.toString(StandardCharsets.UTF_8);
        assertThat(shown).contains("Chatting with echo").contains("you said: hello").contains("style concise");
        assertThat(Files.readString(history)).contains("hello").contains("/set temperature 0");
    }
}
