package dev.jgpt.serve;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.Backends;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.generate.ModelLoader;
import dev.jgpt.io.Gpt2Files;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.model.GptConfig;
import dev.jgpt.model.ParameterLayout;
import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.Tokenizer;
import dev.jgpt.train.Checkpoints;
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
     * Run directories, checkpoints, model directories and the demo's output (resolved like
     * {@code jgpt generate} does, {@link ModelDirs}) on {@code device} with {@code threads} kernel
     * threads per call.
     */
    static ModelSource gpt2(String device, int threads) {
        return path -> {
            Path dir = ModelDirs.resolve(path);
            GptConfig c = Checkpoints.config(dir);
            Tokenizer tok = BpeTokenizer.load(ModelDirs.tokenizer(dir));
            Backend backend = Backends.select(device).backend();
            TensorArena params = null;
            try {
                backend.setThreads(threads);
                params = backend.newArena();
                Tensor flat = params.allocate(DType.F32, ParameterLayout.of(c).size());
                if (flat.isHost()) {
                    Gpt2Files.readWeights(dir.resolve(Gpt2Files.WEIGHTS), c, flat);
                } else {
                    try (TensorArena staging = TensorArena.host()) {
                        backend.copy(flat, LoadedModels.readParams(dir, c, staging));
                    }
                }
                TensorArena owned = params;
                LoadedModel m = new LoadedModel(ModelRegistry.nameOf(path), new Gpt2Inference(backend, c, flat), tok);
                return new Opened(m, () -> {
                    owned.close();
                    backend.close();
                });
            } catch (RuntimeException e) {
                if (params != null) params.close();
                backend.close();
                throw e;
            }
        };
    }
}
