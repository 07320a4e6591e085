package dev.jgpt.generate;

import dev.jgpt.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

/** A test tokenizer: one id per byte (0..255), then the given special tokens at 256, 257, ... */
public final class ByteTokenizer implements Tokenizer {
    private final List<String> specials;

    public ByteTokenizer(List<String> specials) {
        this.specials = List.copyOf(specials);
    }

    /** With jgpt's chat special tokens: 256 endoftext, 257 system, 258 user, 259 assistant, 260 end. */
    public static ByteTokenizer withChatTokens() {
        return new ByteTokenizer(dev.jgpt.chat.ChatTemplate.SPECIAL_TOKENS);
    }

    @Override
    public int[] encode(String text) {
        List<Integer> out = new ArrayList<>();
        int i = 0;
        outer:
        while (i < text.length()) {
            for (int s = 0; s < specials.size(); s++) {
                if (text.startsWith(specials.get(s), i)) {
                    out.add(256 + s);
                    i += specials.get(s).length();
                    continue outer;
                }
            }
            int next = text.length();
            for (String sp : specials) {
                int at = text.indexOf(sp, i);
                if (at >= 0 && at < next) next = at;
            }
            for (int b : encodeOrdinary(text.substring(i, next))) out.add(b);
            i = next;
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public int[] encodeOrdinary(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) ids[i] = bytes[i] & 0xff;
        return ids;
    }

    @Override
    public byte[] decodeBytes(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int id : ids) out.writeBytes(tokenBytes(id));
        return out.toByteArray();
    }

    @Override
    public byte[] tokenBytes(int id) {
        if (id < 256) return new byte[] {(byte) id};
        return specials.get(id - 256).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() {
        return 256 + specials.size();
    }

    @Override
    public OptionalInt specialTokenId(String token) {
        int i = specials.indexOf(token);
        return i < 0 ? OptionalInt.empty() : OptionalInt.of(256 + i);
    }

    @Override
    public String toString() {
        return "ByteTokenizer" + Arrays.toString(specials.toArray());
    }
}
