package dev.jgpt.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.JgptException;
import java.util.List;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Test;

class ConversationMemoryTest {
    /** Each message costs its length + 2 (like the chat template with a byte tokenizer). */
    private final ToIntFunction<ChatMessage> cost = m -> m.content().length() + 2;

    @Test
    void keepsEverythingThatFits() {
        ConversationMemory m = new ConversationMemory("sys");
        m.addUser("aa");
        m.addAssistant("bb");
        m.addUser("cc");
        assertThat(m.window(100, cost)).containsExactly(
                ChatMessage.system("sys"), ChatMessage.user("aa"), ChatMessage.assistant("bb"), ChatMessage.user("cc"));
        assertThat(m.lastDropped()).isZero();
    }

    @Test
    void dropsOldestFirstAndNeverStartsWithAReply() {
        ConversationMemory m = new ConversationMemory("");
        m.addUser("u1");
        m.addAssistant("a1");
        m.addUser("u2");
        m.addAssistant("a2");
        m.addUser("u3");
        // each costs 4: a budget of 13 fits u3, a2, u2 → a1 would be 16
        assertThat(m.window(13, cost)).containsExactly(
                ChatMessage.user("u2"), ChatMessage.assistant("a2"), ChatMessage.user("u3"));
        assertThat(m.lastDropped()).isEqualTo(2);
        // 17 would fit a1 too, but a window must not open with a reply
        assertThat(m.window(17, cost)).containsExactly(
                ChatMessage.user("u2"), ChatMessage.assistant("a2"), ChatMessage.user("u3"));
        assertThat(m.turns()).hasSize(5); // the transcript keeps everything
    }

    @Test
    void pinnedFactsStayWhenTurnsAreDropped() {
        ConversationMemory m = new ConversationMemory("S");
        m.remember("my name is Ada");
        for (int i = 0; i < 20; i++) {
            m.addUser("question " + i);
            m.addAssistant("answer " + i);
        }
        m.addUser("what is my name?");
        List<ChatMessage> w = m.window(60, cost);
        assertThat(w.getFirst()).isEqualTo(ChatMessage.system("S\nFacts to remember:\n- my name is Ada"));
        assertThat(w.getLast()).isEqualTo(ChatMessage.user("what is my name?"));
        assertThat(w.stream().mapToInt(cost).sum()).isLessThanOrEqualTo(60);
        m.reset();
        assertThat(m.turns()).isEmpty();
        assertThat(m.facts()).containsExactly("my name is Ada");
    }

    @Test
    void newestMessageTooLongIsAClearError() {
        ConversationMemory m = new ConversationMemory("");
        m.addUser("x".repeat(50));
        assertThatThrownBy(() -> m.window(20, cost)).isInstanceOf(JgptException.class)
                .hasMessageContaining("52 tokens").hasMessageContaining("20");
        ConversationMemory big = new ConversationMemory("y".repeat(30));
        big.addUser("hi");
        assertThatThrownBy(() -> big.window(20, cost)).isInstanceOf(JgptException.class)
                .hasMessageContaining("system prompt");
    }
}
