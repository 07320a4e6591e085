package dev.jgpt.cli;

import dev.jgpt.backend.Backend;
import picocli.CommandLine.Option;

/** The options the backend benches share (a picocli mixin): which backend, its threads, and one JSON object on stdout. */
final class BenchBackendOptions {
    @Option(names = {"--backend", "--device"}, defaultValue = "cpu", description = "auto, cpu, cuda or reference (default ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--threads", description = "Threads for the backend (default: all cores).")
    Integer threads;

    @Option(names = "--json", description = "Print one JSON object on stdout.")
    boolean json;

    /** The backend asked for, with the reasons for any fallback on stderr ({@link BenchSupport#backend}). */
    Backend open() {
        return BenchSupport.backend(backend, threads);
    }
}
