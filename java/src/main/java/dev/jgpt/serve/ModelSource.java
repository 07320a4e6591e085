package dev.jgpt.serve;

import dev.jgpt.generate.LoadedModel;
import dev.jgpt.generate.ModelLoader;
import dev.jgpt.llama.DecodeDType;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.train.LoadedModels;
import dev.jgpt.train.ModelDirs;
import java.nio.file.Path;

/**
 * Opens a model for serving. Unlike {@link ModelLoader} it hands back the bare
 * {@link Gpt2Inference} plus what owns its weights and backend, so the server can open more
 * sessions over the same weights and the attention view can read them.
 */
@FunctionalInterface
public interface ModelSource {

    /** A model and what to close after it (its weights' arena and backend), or null. */
    record Opened(LoadedModel model, AutoCloseable owner) {}

    /** @throws dev.jgpt.JgptException naming the path when it is not a loadable model */
    Opened open(Path path);

    /** Any {@link ModelLoader}: works, with one session per model unless it returns a {@code Gpt2Inference}. */
    static ModelSource of(ModelLoader loader) {
        return p -> new Opened(loader.load(p), null);
    }

    /**
     * Run directories (GPT-2 or Llama), checkpoints, model directories and the demo's output (resolved like
     * {@code jgpt generate} does, {@link ModelDirs}) on {@code device} with {@code threads} kernel
     * threads per call.
     */
    static ModelSource gpt2(String device, int threads) {
        return path -> {
            if (ModelDirs.holdsLlama(path)) { // a run trained with arch: llama: libjgpt's f32 decoder, one session
                LoadedModel l = LoadedModels.openLlama(path, DecodeDType.F32, 32,
                        threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
                return new Opened(new LoadedModel(ModelRegistry.nameOf(path), l.model(), l.tokenizer()), null);
            }
            LoadedModels.Gpt2Model g = LoadedModels.openGpt2(path, device, threads);
            LoadedModel m = new LoadedModel(ModelRegistry.nameOf(path), g.inference(), g.tokenizer());
            return new Opened(m, g::closeWeights);
        };
    }
}
