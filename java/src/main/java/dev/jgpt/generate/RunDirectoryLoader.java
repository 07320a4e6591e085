package dev.jgpt.generate;

import dev.jgpt.JgptException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Loads a training run directory (or an exported model) for generation.
 *
 * <p>SEAM for the training/checkpoint code: read the checkpoint format written by {@code jgpt train}
 * (config + weights + tokenizer), build the inference model ({@code Gpt2Inference}) on the chosen
 * backend and return it with its tokenizer. Until then this names the path and says it is not
 * supported yet.
 */
public final class RunDirectoryLoader {
    private RunDirectoryLoader() {}

    public static LoadedModel load(Path run) {
        if (!Files.exists(run)) throw new JgptException("model " + run + ": no such file or directory");
        throw new JgptException("model " + run + ": loading trained models for generation is not supported yet");
    }
}
