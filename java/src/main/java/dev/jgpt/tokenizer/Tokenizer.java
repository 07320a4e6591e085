package dev.jgpt.tokenizer;

import java.util.OptionalInt;

/**
 * Text <-> token ids. Implemented by the byte-level BPE tokenizer (and later llama2.c's
 * sentencepiece-style one). Decoding is lossless at the byte level: {@code decodeBytes(encode(s))}
 * equals the UTF-8 bytes of {@code s} for every string.
 */
public interface Tokenizer {

    /** Ids for the text; special-token strings in the text are matched as special tokens. */
    int[] encode(String text);

    /** Ids for the text with special-token strings treated as ordinary text (for untrusted input). */
    int[] encodeOrdinary(String text);

    /** The exact bytes of the tokens (special tokens as their literal text). */
    byte[] decodeBytes(int[] ids);

    /** The bytes of one token: what streaming decoders and stop-sequence matching need. */
    byte[] tokenBytes(int id);

    /** {@code decodeBytes} as UTF-8, with malformed sequences replaced by U+FFFD. */
    default String decode(int[] ids) {
        return new String(decodeBytes(ids), java.nio.charset.StandardCharsets.UTF_8);
    }

    int vocabSize();

    /** The id of a special token such as {@code <|endoftext|>}, if this tokenizer has it. */
    OptionalInt specialTokenId(String token);
}
