package dev.jgpt.cli;

import dev.jgpt.generate.GenerationConfig;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The generation controls as command-line options, shared by {@code generate} and {@code chat}.
 * Options not given leave the base config (defaults, or a chat style) as it is.
 */
public final class GenerationOptions {
    @Option(names = "--max-tokens", paramLabel = "N",
            description = "Most new tokens to generate (default 128, and at most what fits the context).")
    Integer maxTokens;

    @Option(names = "--temperature", paramLabel = "T", description = "Sampling temperature, >= 0; 0 = greedy (default 0.8).")
    Double temperature;

    @Option(names = "--top-k", paramLabel = "K", description = "Sample among the K most likely tokens; 0 = off (default 40).")
    Integer topK;

    @Option(names = "--top-p", paramLabel = "P", description = "Nucleus sampling mass in (0, 1]; 1 = off (default 0.95).")
    Double topP;

    @Option(names = "--repetition-penalty", paramLabel = "R",
            description = "Penalty > 0 for tokens already in the sequence; 1 = off (default 1.0).")
    Double repetitionPenalty;

    @Option(names = "--stop", paramLabel = "TEXT",
            description = "Stop before this text (repeatable; \\n is a newline).")
    List<String> stop;

    @Option(names = "--seed", paramLabel = "S", description = "Random seed, for reproducible sampling.")
    Long seed;

    @Option(names = "--overflow", paramLabel = "POLICY",
            description = "When prompt + max tokens exceed the context: truncate-left or error (default error).")
    String overflow;

    /** True when --max-tokens was given (commands then keep it as is instead of fitting it to the context). */
    boolean maxTokensGiven() {
        return maxTokens != null;
    }

    GenerationConfig apply(GenerationConfig base) {
        GenerationConfig c = base;
        if (maxTokens != null) c = c.withMaxNewTokens(maxTokens);
        if (temperature != null) c = c.withTemperature(temperature);
        if (topK != null) c = c.withTopK(topK);
        if (topP != null) c = c.withTopP(topP);
        if (repetitionPenalty != null) c = c.withRepetitionPenalty(repetitionPenalty);
        if (stop != null) {
            List<String> s = new ArrayList<>();
            for (String t : stop) s.add(GenerationConfig.unescape(t));
            c = c.withStopSequences(s);
        }
        if (seed != null) c = c.withSeed(seed);
        if (overflow != null) c = c.withBudgetPolicy(GenerationConfig.parsePolicy(overflow));
        return c;
    }
}
