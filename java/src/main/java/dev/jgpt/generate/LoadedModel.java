package dev.jgpt.generate;

import dev.jgpt.chat.ChatFormat;
import dev.jgpt.chat.ChatFormats;
import dev.jgpt.chat.ChatSource;
import dev.jgpt.tokenizer.Tokenizer;

/**
 * A model ready to generate: the network with its KV cache, the tokenizer it was trained with and what its file
 * says about chatting with it. Closing it frees the model's memory.
 *
 * @param name what to call it in output (the run directory's name, a model id)
 * @param chat the chat template, BOS and special tokens of an imported model (GGUF, Hugging Face, llama2.c);
 *     null for a jgpt run, which speaks jgpt's own chat format
 */
public record LoadedModel(String name, CausalLm model, Tokenizer tokenizer, ChatSource chat) implements AutoCloseable {

    /** A jgpt run's model (jgpt's own chat format). */
    public LoadedModel(String name, CausalLm model, Tokenizer tokenizer) {
        this(name, model, tokenizer, null);
    }

    /**
     * The chat format: {@code override} (a {@code --chat-format} name) when given, else the one the model's
     * template writes, else jgpt's own ({@link ChatFormats#of}).
     */
    public ChatFormat chatFormat(String override) {
        return ChatFormats.of(tokenizer, chat, override);
    }

    @Override
    public void close() {
        model.close();
    }
}
