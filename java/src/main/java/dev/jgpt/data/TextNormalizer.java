package dev.jgpt.data;

import java.text.Normalizer;

/**
 * Puts text into the one shape the tokenizer sees: Unicode NFC; {@code \r\n} and lone {@code \r} to
 * {@code \n}; control and format characters dropped (except newline and the zero-width (non-)joiners; tab
 * becomes a space); every
 * run of horizontal whitespace (spaces, tabs, no-break and other Unicode spaces) to one space;
 * spaces at line ends removed; more than two consecutive newlines to two (one blank line keeps
 * paragraphs apart); no leading or trailing whitespace.
 */
public final class TextNormalizer {
    private TextNormalizer() {}

    /** Text made only of characters below U+0300 (Latin, punctuation) is already NFC: nothing can combine. */
    private static boolean belowCombiningMarks(String text) {
        for (int i = 0; i < text.length(); i++) if (text.charAt(i) >= 0x300) return false;
        return true;
    }

    public static String normalize(String text) {
        String s = belowCombiningMarks(text) || Normalizer.isNormalized(text, Normalizer.Form.NFC)
                ? text : Normalizer.normalize(text, Normalizer.Form.NFC);
        StringBuilder out = new StringBuilder(s.length());
        int newlines = 0;       // newlines pending (emitted lazily so trailing ones vanish)
        boolean space = false;  // a space pending
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            i += Character.charCount(c);
            if (c == '\r') {
                if (i < s.length() && s.charAt(i) == '\n') i++;
                c = '\n';
            }
            if (c == '\n' || c == 0x2028 || c == 0x2029 || c == 0x85) {
                newlines++;
                space = false; // drops spaces at the end of a line
                continue;
            }
            if (c == '\t' || Character.isSpaceChar(c) || Character.isWhitespace(c)) {
                space = true;
                continue;
            }
            int type = Character.getType(c);
            boolean joiner = c == 0x200C || c == 0x200D; // needed inside emoji sequences and some scripts
            if (type == Character.CONTROL || (type == Character.FORMAT && !joiner) || type == Character.UNASSIGNED
                    || type == Character.SURROGATE || c == 0xFEFF) {
                continue;
            }
            if (out.length() > 0) {
                if (newlines > 0) out.append(newlines >= 2 ? "\n\n" : "\n");
                else if (space) out.append(' ');
            }
            newlines = 0;
            space = false;
            out.appendCodePoint(c);
        }
        return out.toString();
    }
}
