package dev.jgpt.generate;

import dev.jgpt.tokenizer.Tokenizer;

/**
 * A model ready to generate: the network with its KV cache and the tokenizer it was trained with.
 * Closing it frees the model's memory.
 *
 * @param name what to call it in output (the run directory's name, a model id)
 */
public record LoadedModel(String name, CausalLm model, Tokenizer tokenizer) implements AutoCloseable {
    @Override
    public void close() {
        model.close();
    }
}
