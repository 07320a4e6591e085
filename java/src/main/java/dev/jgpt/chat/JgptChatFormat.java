package dev.jgpt.chat;

import dev.jgpt.tokenizer.Tokenizer;
import java.util.List;

/** jgpt's own chat format ({@link ChatTemplate}) as a {@link ChatFormat}: what models trained by jgpt speak. */
public final class JgptChatFormat implements ChatFormat {
    public static final String NAME = "jgpt";
    private final Tokenizer tokenizer;

    /** @throws dev.jgpt.JgptException naming the chat special tokens the tokenizer lacks */
    public JgptChatFormat(Tokenizer tokenizer) {
        ChatTemplate.Ids.of(tokenizer);
        this.tokenizer = tokenizer;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public int[] prompt(List<ChatMessage> conversation) {
        return ChatTemplate.renderPrompt(conversation, tokenizer);
    }

    @Override
    public RenderedChat render(List<ChatMessage> conversation) {
        return ChatTemplate.render(conversation, tokenizer);
    }

    @Override
    public int messageTokens(ChatMessage message) {
        return ChatTemplate.messageTokens(message, tokenizer);
    }

    @Override
    public int promptOverhead() {
        return 1; // the open <|assistant|>
    }

    /** A model that opens a new turn instead of closing its own ({@code <|user|>} without {@code <|end|>}) is done too. */
    @Override
    public List<String> turnStops() {
        return List.of(ChatTemplate.USER, ChatTemplate.ASSISTANT, ChatTemplate.SYSTEM);
    }
}
