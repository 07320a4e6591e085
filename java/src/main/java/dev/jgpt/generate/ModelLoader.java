package dev.jgpt.generate;

import java.nio.file.Path;

/**
 * Turns the {@code --model RUN} argument of {@code jgpt generate} / {@code jgpt chat} into a
 * {@link LoadedModel}. The commands take a loader so tests can hand them a fake model; the real
 * one is {@link RunDirectoryLoader}.
 */
@FunctionalInterface
public interface ModelLoader {

    /** @throws dev.jgpt.JgptException naming the path when it is not a loadable model */
    LoadedModel load(Path run);

    /** The loader the command line uses. */
    static ModelLoader standard() {
        return RunDirectoryLoader::load;
    }
}
