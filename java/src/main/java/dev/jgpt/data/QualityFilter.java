package dev.jgpt.data;

import java.util.HashMap;
import java.util.Map;

/**
 * Heuristic quality filters applied to normalised text, in this order (a document is counted
 * under the first it fails): bad encoding, too short, mostly non-letters, too repetitive.
 * Thresholds are in {@link Config}; docs/data.md explains each.
 */
public final class QualityFilter {

    public enum Reason {
        BAD_ENCODING("bad_encoding"),
        TOO_SHORT("too_short"),
        MOSTLY_NON_LETTERS("mostly_non_letters"),
        TOO_REPETITIVE("too_repetitive");

        public final String key;

        Reason(String key) {
            this.key = key;
        }
    }

    /**
     * @param minChars            fewer characters than this (after normalisation): too short
     * @param minLetterFraction   letters / non-space characters below this: mostly non-letters
     * @param maxDupLineFraction  characters in lines that occur more than once (ignoring blank and
     *                            very short lines), above this fraction of all line characters: too repetitive
     * @param maxTopBigramFraction characters covered by the most frequent word bigram, above this
     *                            fraction of all word characters (documents of 50+ words): too repetitive
     * @param maxReplacementFraction U+FFFD or mojibake pairs (such as "Ã©") per character, above this: bad encoding
     */
    public record Config(int minChars, double minLetterFraction, double maxDupLineFraction,
                         double maxTopBigramFraction, double maxReplacementFraction) {
        public static final Config DEFAULT = new Config(100, 0.5, 0.3, 0.2, 0.001);
    }

    private final Config cfg;

    public QualityFilter(Config cfg) {
        this.cfg = cfg;
    }

    /** Why the document fails, or null when it passes. {@code text} null means it was not valid UTF-8. */
    public Reason check(String text) {
        if (text == null || badEncoding(text)) return Reason.BAD_ENCODING;
        if (text.codePointCount(0, text.length()) < cfg.minChars()) return Reason.TOO_SHORT;
        if (letterFraction(text) < cfg.minLetterFraction()) return Reason.MOSTLY_NON_LETTERS;
        if (dupLineFraction(text) > cfg.maxDupLineFraction() || topBigramFraction(text) > cfg.maxTopBigramFraction()) {
            return Reason.TOO_REPETITIVE;
        }
        return null;
    }

    boolean badEncoding(String text) {
        long bad = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\uFFFD') bad++;
            // UTF-8 read as Latin-1/cp1252: a lead byte Ã or Â followed by a continuation-range char
            else if ((c == 'Ã' || c == 'Â') && i + 1 < text.length() && text.charAt(i + 1) >= 0x80 && text.charAt(i + 1) <= 0xBF) bad++;
        }
        return bad > cfg.maxReplacementFraction() * text.length();
    }

    static double letterFraction(String text) {
        long letters = 0, visible = 0;
        for (int i = 0; i < text.length(); ) {
            int c = text.codePointAt(i);
            i += Character.charCount(c);
            if (Character.isWhitespace(c)) continue;
            visible++;
            if (Character.isLetter(c)) letters++;
        }
        return visible == 0 ? 0 : (double) letters / visible;
    }

    static double dupLineFraction(String text) {
        Map<String, Integer> counts = new HashMap<>();
        String[] lines = text.split("\n");
        long total = 0;
        for (String l : lines) {
            if (l.length() < 10) continue; // blank lines, "* * *", chapter numbers repeat legitimately
            counts.merge(l, 1, Integer::sum);
            total += l.length();
        }
        if (total == 0) return 0;
        long dup = 0;
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            if (e.getValue() > 1) dup += (long) e.getKey().length() * e.getValue();
        }
        return (double) dup / total;
    }

    static double topBigramFraction(String text) {
        String[] words = text.toLowerCase(java.util.Locale.ROOT).split("\\s+");
        if (words.length < 50) return 0;
        Map<String, Integer> counts = new HashMap<>();
        long chars = 0;
        for (int i = 0; i < words.length; i++) {
            chars += words[i].length();
            if (i + 1 < words.length) counts.merge(words[i] + ' ' + words[i + 1], 1, Integer::sum);
        }
        long top = 0;
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            top = Math.max(top, (long) (e.getKey().length() - 1) * e.getValue());
        }
        return chars == 0 ? 0 : (double) top / chars;
    }
}
