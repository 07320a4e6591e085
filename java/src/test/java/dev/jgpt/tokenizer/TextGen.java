package dev.jgpt.tokenizer;

import java.util.SplittableRandom;

/** Random text that hits every branch of the pre-split patterns: mixed scripts, spaces, newlines, contractions. */
final class TextGen {
    private TextGen() {}

    private static final String[] ATOMS = {
            " ", " ", " ", "  ", "\n", "\n\n", "\r\n", "\t", "\u00A0", "\u3000", "\u2028", "\u0085", "\u000B",
            "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "'Re", "'\u017F", "'", "''",
            "a", "the", "The", "hello", "World", "x", "é", "ß", "naïve", "e\u0301", "\u0301", "Ω", "ж", "добрый",
            "日本語", "中文", "한국어", "ひらがな", "عربى", "עברית", "ไทย", "देवनागरी",
            "0", "1", "42", "1234567", "٣", "Ⅻ", "½", "²", "१२३",
            ".", ",", "!", "?", "...", "-", "--", "(", ")", "\"", "<", ">", "|", "$", "%", "&", "#", "@", "*",
            "😀", "👍🏽", "👨‍👩‍👧", "🇩🇪", "\u200D", "\uFE0F", "\u0000", "\u0001", "\u007F", "\u00AD", "\uFEFF",
            "𝔘𝔫𝔦", "𐍈", "\uD835\uDFCE", "<|endoftext|>", "<|user|>", "<|end", "|>",
    };

    static String text(SplittableRandom r, int atoms) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < atoms; i++) sb.append(ATOMS[r.nextInt(ATOMS.length)]);
        return sb.toString();
    }

    /** Any code point (no lone surrogates), biased towards ASCII and whitespace. */
    static String codePoints(SplittableRandom r, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            int kind = r.nextInt(10);
            int cp;
            if (kind < 4) cp = r.nextInt(0x20, 0x7F);
            else if (kind < 6) cp = " \n\r\t\u00A0\u2003".charAt(r.nextInt(6));
            else if (kind < 8) cp = r.nextInt(0x80, 0x3000);
            else {
                do cp = r.nextInt(0, 0x110000); while (cp >= 0xD800 && cp <= 0xDFFF);
            }
            sb.appendCodePoint(cp);
        }
        return sb.toString();
    }
}
