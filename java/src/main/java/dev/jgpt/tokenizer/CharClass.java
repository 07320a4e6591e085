package dev.jgpt.tokenizer;

/**
 * Decodes one UTF-8 character and classifies it the way the pre-split regexes see it: {@code \p{L}},
 * {@code \p{N}}, {@code \s} (Unicode White_Space, which is what Oniguruma, Rust's regex and Java's
 * {@code UNICODE_CHARACTER_CLASS} mean by {@code \s}) or anything else.
 *
 * <p>{@link #decode} returns the code point and its byte length packed in one int (no allocation on
 * the hot path). A byte that does not start a valid UTF-8 sequence (stray continuation, overlong
 * form, surrogate, beyond U+10FFFF, cut short) counts as one character of class {@link #OTHER} of
 * length 1, so invalid input still splits completely and round-trips byte for byte.
 */
final class CharClass {
    private CharClass() {}

    static final int OTHER = 0;
    static final int LETTER = 1;
    static final int NUMBER = 2;
    static final int SPACE = 3;

    /** Code point reported for an invalid byte; it is none of letter, number, space. */
    static final int INVALID = 0x1FFFFF;

    /** Classes of the BMP, computed once (64 KiB). */
    private static final byte[] BMP = new byte[0x10000];

    static {
        for (int c = 0; c < 0x10000; c++) BMP[c] = (byte) classify(c);
    }

    private static int classify(int cp) {
        if (isWhiteSpace(cp)) return SPACE;
        switch (Character.getType(cp)) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                 Character.MODIFIER_LETTER, Character.OTHER_LETTER -> {
                return LETTER;
            }
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> {
                return NUMBER;
            }
            default -> {
                return OTHER;
            }
        }
    }

    /** Unicode's White_Space property (the same 25 code points as {@code \s} in Unicode mode). */
    static boolean isWhiteSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F
                || cp == 0x205F || cp == 0x3000;
    }

    static int classOf(int cp) {
        if (cp < 0x10000) return BMP[cp];
        return cp == INVALID ? OTHER : classify(cp);
    }

    static int cp(int packed) {
        return packed >>> 3;
    }

    static int len(int packed) {
        return packed & 7;
    }

    /** The character starting at {@code b[i]} ({@code i < end}), packed as {@code cp << 3 | length}. */
    static int decode(byte[] b, int i, int end) {
        int b0 = b[i];
        if (b0 >= 0) return (b0 << 3) | 1;
        b0 &= 0xFF;
        if (b0 < 0xC2) return (INVALID << 3) | 1; // continuation byte or overlong 2-byte lead
        if (b0 < 0xE0) {
            if (i + 1 < end && cont(b[i + 1])) return ((((b0 & 0x1F) << 6) | (b[i + 1] & 0x3F)) << 3) | 2;
            return (INVALID << 3) | 1;
        }
        if (b0 < 0xF0) {
            if (i + 2 < end && cont(b[i + 1]) && cont(b[i + 2])) {
                int cp = ((b0 & 0x0F) << 12) | ((b[i + 1] & 0x3F) << 6) | (b[i + 2] & 0x3F);
                if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) return (cp << 3) | 3;
            }
            return (INVALID << 3) | 1;
        }
        if (b0 < 0xF5) {
            if (i + 3 < end && cont(b[i + 1]) && cont(b[i + 2]) && cont(b[i + 3])) {
                int cp = ((b0 & 0x07) << 18) | ((b[i + 1] & 0x3F) << 12) | ((b[i + 2] & 0x3F) << 6)
                        | (b[i + 3] & 0x3F);
                if (cp >= 0x10000 && cp <= 0x10FFFF) return (cp << 3) | 4;
            }
        }
        return (INVALID << 3) | 1;
    }

    private static boolean cont(byte x) {
        return (x & 0xC0) == 0x80;
    }
}
