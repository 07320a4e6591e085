package dev.jgpt.chat;

import dev.jgpt.generate.GenerationConfig;

/** A chat style: a system prompt plus the sampling settings that suit it. */
public record Style(String name, String description, String systemPrompt, double temperature, int topK,
        double topP, double repetitionPenalty) {

    /** {@code base} with this style's sampling settings (max tokens, stops, seed, budget stay). */
    public GenerationConfig apply(GenerationConfig base) {
        return base.withTemperature(temperature).withTopK(topK).withTopP(topP).withRepetitionPenalty(repetitionPenalty);
    }
}
