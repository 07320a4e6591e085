package dev.jgpt.chat;

import dev.jgpt.generate.CausalLm;
import dev.jgpt.generate.GenerationConfig;
import dev.jgpt.generate.GenerationResult;
import dev.jgpt.generate.Generator;
import dev.jgpt.generate.TokenListener;
import dev.jgpt.tokenizer.Tokenizer;
import java.util.List;

/**
 * Chat with a local model: renders the conversation in the model's {@link ChatFormat}, ending in an open
 * assistant turn, and generates until the model closes the turn (jgpt's {@code <|end|>}, ChatML's
 * {@code <|im_end|>} ...) or opens another.
 */
public final class LocalChatBackend implements ChatBackend {
    private final String name;
    private final CausalLm model;
    private final Tokenizer tokenizer;
    private final ChatFormat format;
    private final Generator generator = new Generator();

    /** jgpt's own format: checks now that the tokenizer has the chat special tokens, so a bad model fails at start-up. */
    public LocalChatBackend(String name, CausalLm model, Tokenizer tokenizer) {
        this(name, model, tokenizer, new JgptChatFormat(tokenizer));
    }

    public LocalChatBackend(String name, CausalLm model, Tokenizer tokenizer, ChatFormat format) {
        this.name = name;
        this.model = model;
        this.tokenizer = tokenizer;
        this.format = format;
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
        return format.messageTokens(message);
    }

    @Override
    public int promptOverhead() {
        return format.promptOverhead();
    }

    @Override
    public ChatReply reply(List<ChatMessage> conversation, GenerationConfig config, TokenListener listener) {
        int[] prompt = format.prompt(conversation);
        GenerationResult r = generator.generate(model, tokenizer, prompt, format.withTurnStops(config), listener);
        return new ChatReply(r.text(), r.finishReason(), r.promptTokens(), r.generatedTokens(), r.tokensPerSecond());
    }

    @Override
    public void close() {
        model.close();
    }
}
