package dev.jgpt.generate;

import java.util.Locale;

/** Why generation ended; {@link #toString()} is the lowercase name used in JSON and the OpenAI API. */
public enum FinishReason {
    /** A stop sequence appeared; the text is cut just before it. */
    STOP,
    /** The max-new-tokens budget ran out. */
    LENGTH,
    /** The model produced an end token ({@code <|endoftext|>} or {@code <|end|>}). */
    EOS;

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
