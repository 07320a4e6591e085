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
        GenerationResult r = generator.generate(model, tokenizer, prompt, config, listener);
        return new ChatReply(r.text(), r.finishReason(), r.promptTokens(), r.generatedTokens(), r.tokensPerSecond());
    }

    @Override
    public void close() {
        model.close();
    }
}
