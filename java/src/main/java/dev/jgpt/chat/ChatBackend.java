package dev.jgpt.chat;

import dev.jgpt.generate.GenerationConfig;
import dev.jgpt.generate.TokenListener;
import java.util.List;

/**
 * Something that answers a conversation: the local model ({@link LocalChatBackend}) or an
 * OpenAI-compatible endpoint ({@link OpenAiChatBackend}). The REPL and (later) the HTTP server
 * talk only to this.
 */
public interface ChatBackend extends AutoCloseable {

    /** What to call the model in output. */
    String name();

    /** Tokens available to prompt + reply. */
    int contextLength();

    /** Tokens {@code message} takes in a prompt (role markers included); an estimate for remote models. */
    int countTokens(ChatMessage message);

    /** Tokens a prompt needs besides its messages (the open assistant marker). */
    default int promptOverhead() {
        return 1;
    }

    /**
     * Generates the assistant's next message for {@code conversation} (which ends with a user
     * message), streaming its text to {@code listener} as it is produced.
     */
    ChatReply reply(List<ChatMessage> conversation, GenerationConfig config, TokenListener listener);

    @Override
    default void close() {}
}
