package dev.jgpt.generate;

import dev.jgpt.train.LoadedModels;

import java.nio.file.Path;

/**
 * Loads a training run directory, a checkpoint, an exported/imported model directory or the demo's
 * output directory for generation (see {@link dev.jgpt.train.ModelDirs} for how the path is
 * resolved) on the best available device ({@code JGPT_DEVICE} overrides, {@code JGPT_THREADS} sets
 * threads).
 */
public final class RunDirectoryLoader {
    private RunDirectoryLoader() {}

    public static LoadedModel load(Path run) {
        String device = System.getenv().getOrDefault("JGPT_DEVICE", "auto");
        int threads = 0;
        try {
            threads = Integer.parseInt(System.getenv().getOrDefault("JGPT_THREADS", "0"));
        } catch (NumberFormatException ignored) {
            // all cores
        }
        return LoadedModels.open(run, device, threads);
    }
}
