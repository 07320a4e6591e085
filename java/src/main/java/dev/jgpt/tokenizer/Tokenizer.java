package dev.jgpt.tokenizer;

import java.util.OptionalInt;

/**
 * Text <-> token ids. Implemented by the byte-level BPE tokenizer and llama2.c's sentencepiece-style one
 * ({@code dev.jgpt.llama.Llama2cTokenizer}). Decoding is lossless at the byte level: {@code decodeBytes(encode(s))}
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

    /**
     * The ids of one document of pretraining text, with no start or end token (token shards put their own separator
     * before each document): {@link #encodeOrdinary} unless that adds one.
     */
    default int[] encodeDocument(String text) {
        return encodeOrdinary(text);
    }

    /**
     * Whether a document cut after a newline that follows a non-space and precedes a letter encodes, piece by piece, to
     * the ids of the whole (byte-level BPE: its pre-tokenizer never joins across such a point; sentencepiece: no, a
     * dummy-prefix space starts every encoding). The packer encodes long documents in such pieces, in parallel.
     */
    default boolean encodesPiecesAlike() {
        return false;
    }

    /**
     * SHA-256 (hex) of what every id stands for, id by id (its length, then its bytes): two tokenizers with the same
     * value give every id the same text, so shards packed with one train a model of the other.
     */
    static String vocabularySha256(Tokenizer t) {
        try {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            byte[] len = new byte[4];
            for (int id = 0; id < t.vocabSize(); id++) {
                byte[] b = t.tokenBytes(id);
                for (int k = 0; k < 4; k++) len[k] = (byte) (b.length >>> (8 * k));
                md.update(len);
                md.update(b);
            }
            return java.util.HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
