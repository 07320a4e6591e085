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
     * @param maxTopBigramFraction characters covered by the most frequent word bigram (words: runs of
     *                            letters and digits), above this fraction of all word characters
     *                            (documents of 50+ words): too repetitive
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

    /**
     * Characters covered by the most frequent word bigram over all word characters. Words are the
     * lower-cased runs of letters and digits; bigrams are counted by a 64-bit hash in an
     * open-addressing table (no strings built), so a 1 MB book takes milliseconds.
     */
    static double topBigramFraction(String text) {
        long[] words = MinHash.wordHashes(text);
        if (words.length < 50) return 0;
        int[] lengths = wordLengths(text, words.length);
        int cap = Integer.highestOneBit(words.length * 2 + 2) << 1;
        long[] keys = new long[cap];
        int[] counts = new int[cap];
        long chars = 0, top = 0;
        for (int i = 0; i < words.length; i++) {
            chars += lengths[i];
            if (i + 1 == words.length) break;
            long k = TokenShards.mix(words[i] * 0x9E3779B97F4A7C15L + words[i + 1]);
            if (k == 0) k = 1; // 0 marks an empty slot
            int slot = (int) k & (cap - 1);
            while (keys[slot] != 0 && keys[slot] != k) slot = (slot + 1) & (cap - 1);
            keys[slot] = k;
            long covered = (long) (lengths[i] + lengths[i + 1]) * ++counts[slot];
            if (covered > top) top = covered;
        }
        return chars == 0 ? 0 : (double) top / chars;
    }

    /** Lengths (in chars) of the same words {@link MinHash#wordHashes} finds. */
    private static int[] wordLengths(String text, int n) {
        int[] out = new int[n];
        int w = 0, len = 0;
        for (int i = 0; i < text.length(); ) {
            int c = text.codePointAt(i);
            int cc = Character.charCount(c);
            i += cc;
            if (Character.isLetterOrDigit(c)) {
                len += cc;
            } else if (len > 0) {
                out[w++] = len;
                len = 0;
            }
        }
        if (len > 0) out[w] = len;
        return out;
    }
}
