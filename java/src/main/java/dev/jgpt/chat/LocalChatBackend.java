package dev.jgpt.chat;

import dev.jgpt.generate.CausalLm;
import dev.jgpt.generate.GenerationConfig;
import dev.jgpt.generate.GenerationResult;
import dev.jgpt.generate.Generator;
import dev.jgpt.generate.TokenListener;
import dev.jgpt.tokenizer.Tokenizer;
import java.util.List;

/**
 * Chat with a local model: renders the conversation with {@link ChatTemplate}, ending in an open
 * {@code <|assistant|>}, and generates until the model closes the turn with {@code <|end|>}.
 */
public final class LocalChatBackend implements ChatBackend {
    private final String name;
    private final CausalLm model;
    private final Tokenizer tokenizer;
    private final Generator generator = new Generator();

    /** Checks now that the tokenizer has the chat special tokens, so a bad model fails at start-up. */
    public LocalChatBackend(String name, CausalLm model, Tokenizer tokenizer) {
        ChatTemplate.Ids.of(tokenizer);
        this.name = name;
        this.model = model;
        this.tokenizer = tokenizer;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int contextLength() {
        return model.contextLength();
    }

    @Override
    public int countTokens(ChatMessage message) {
        return ChatTemplate.messageTokens(message, tokenizer);
    }

    @Override
    public ChatReply reply(List<ChatMessage> conversation, GenerationConfig config, TokenListener listener) {
        int[] prompt = ChatTemplate.renderPrompt(conversation, tokenizer);
        GenerationResult r = generator.generate(model, tokenizer, prompt, withTurnStops(config), listener);
        return new ChatReply(r.text(), r.finishReason(), r.promptTokens(), r.generatedTokens(), r.tokensPerSecond());
    }

    /**
     * A model that opens a new turn instead of closing its own ({@code <|user|>} without
     * {@code <|end|>}) has finished its answer too: role markers are added as stop sequences (special
     * tokens decode to their literal text, so the byte-level stop matcher sees them).
     */
    static GenerationConfig withTurnStops(GenerationConfig config) {
        List<String> stops = new java.util.ArrayList<>(config.stopSequences());
        for (String marker : List.of(ChatTemplate.USER, ChatTemplate.ASSISTANT, ChatTemplate.SYSTEM)) {
            if (!stops.contains(marker)) stops.add(marker);
        }
        return config.withStopSequences(stops);
    }

    @Override
    public void close() {
        model.close();
    }
}
