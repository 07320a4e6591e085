package dev.jgpt.generate;

/**
 * Receives a generation as it happens. {@link #onToken} is called once per sampled token (not for
 * an end token); {@link #onText} whenever text becomes final. Text is released in whole UTF-8
 * characters and never contains any part of a stop sequence, so a token may release no text (it is
 * held back while it could still start a stop sequence or is half a character) and a later token
 * may release several tokens' worth. The concatenation of all {@code onText} calls is exactly
 * {@link GenerationResult#text()}.
 */
public interface TokenListener {

    /** Final text, never empty. */
    void onText(String text);

    /** A sampled token id, before its text is matched against stop sequences (-1 from a remote backend, whose ids are unknown). */
    default void onToken(int tokenId) {}

    /** A listener that ignores everything. */
    TokenListener NONE = text -> {};
}
