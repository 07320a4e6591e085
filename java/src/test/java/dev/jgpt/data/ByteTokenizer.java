package dev.jgpt.data;

import dev.jgpt.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.OptionalInt;

/** Test tokenizer: one id per UTF-8 byte, {@code <|endoftext|>} = 256 (or {@code vocab - 1} for a large vocabulary). */
final class ByteTokenizer implements Tokenizer {
    private final int vocab;

    ByteTokenizer(int vocab) {
        this.vocab = vocab;
    }

    @Override public int[] encode(String text) { return encodeOrdinary(text); }

    @Override public int[] encodeOrdinary(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) out[i] = b[i] & 0xff;
        return out;
    }

    @Override public byte[] decodeBytes(int[] ids) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (int id : ids) out.writeBytes(tokenBytes(id));
        return out.toByteArray();
    }

    @Override public byte[] tokenBytes(int id) {
        return id == vocab - 1 ? "<|endoftext|>".getBytes(StandardCharsets.UTF_8) : new byte[] {(byte) id};
    }

    @Override public int vocabSize() { return vocab; }

    @Override public OptionalInt specialTokenId(String token) {
        return "<|endoftext|>".equals(token) ? OptionalInt.of(vocab - 1) : OptionalInt.empty();
    }
}
