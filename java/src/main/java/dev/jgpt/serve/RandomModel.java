package dev.jgpt.serve;

import dev.jgpt.backend.Backend;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.model.Gpt2;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.model.GptConfig;
import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.BpeTrainer;
import java.util.List;

/**
 * A GPT-2 with random weights and a byte-level tokenizer with the chat tokens: what load tests and
 * browser tests serve when the point is the server, not the text (it babbles). The cost per token is
 * that of a trained model of the same shape.
 */
public final class RandomModel implements AutoCloseable {
    private final Backend backend;
    private final Gpt2 net;
    private final LoadedModel loaded;

    /**
     * @param config the model's shape
     * @param tokenizerVocab size of the tokenizer: 261 is bytes + the 5 special tokens; larger adds
     *     merges learnt from a few sentences
     */
    public RandomModel(String name, Backend backend, GptConfig config, int tokenizerVocab, long seed) {
        this.backend = backend;
        BpeTokenizer tok = new BpeTrainer(tokenizerVocab).threads(1).specialTokens(BpeTokenizer.DEFAULT_SPECIAL_TOKENS)
                .trainOnTexts(List.of("the quick brown fox jumps over the lazy dog. hello there, how are you today?",
                        "a small model says hello to the world and the world says hello back."));
        this.net = new Gpt2(backend, config.withContextLength(config.contextLength()), 1, 1);
        net.initWeights(seed);
        this.loaded = new LoadedModel(name, Gpt2Inference.of(net), tok);
    }

    /** A named preset ({@code tiny}, {@code small}, ...) at vocabulary 4096 on {@code backend} (which it then owns). */
    public static RandomModel preset(String name, String preset, Backend backend, long seed) {
        return new RandomModel(name, backend, GptConfig.preset(preset), 261, seed);
    }

    public LoadedModel loaded() {
        return loaded;
    }

    /** Adds this model to {@code registry}; the registry then owns it. */
    public ServedModel serveIn(ModelRegistry registry) {
        return registry.add(loaded.name(), loaded, this);
    }

    @Override
    public void close() {
        net.close();
        backend.close();
    }
}
