package dev.jgpt.tokenizer;

import static dev.jgpt.tokenizer.CharClass.LETTER;
import static dev.jgpt.tokenizer.CharClass.NUMBER;
import static dev.jgpt.tokenizer.CharClass.OTHER;
import static dev.jgpt.tokenizer.CharClass.SPACE;

/**
 * The two standard pre-split patterns, each implemented by a hand-written scanner that gives exactly
 * the pieces the regex gives (proved against {@code java.util.regex} in the tests) in one forward
 * pass, without backtracking: a megabyte of one character splits in linear time.
 *
 * <p>The scanners read UTF-8 bytes; an invalid byte counts as one "other" character
 * ({@code [^\s\p{L}\p{N}]}).
 */
public enum SplitPattern implements Splitter {

    /** GPT-2's pattern (also what Hugging Face's {@code ByteLevel} pre-tokenizer uses). */
    GPT2("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+") {
        @Override
        int pieceEnd(byte[] b, int i, int end) {
            int p = CharClass.decode(b, i, end);
            int c = CharClass.cp(p);
            int n = i + CharClass.len(p);
            if (c == '\'' && n < end) {
                int c1 = b[n];
                if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return n + 1;
                if (n + 1 < end) {
                    int c2 = b[n + 1];
                    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return n + 2;
                }
            }
            int cls = CharClass.classOf(c);
            if (c == ' ' && n < end) {
                int next = CharClass.classOf(CharClass.cp(CharClass.decode(b, n, end)));
                if (next != SPACE) return runEnd(b, n, end, next);
            }
            if (cls != SPACE) return runEnd(b, i, end, cls);
            return whitespaceEnd(b, i, end);
        }
    },

    /**
     * The GPT-4 ({@code cl100k_base}) pattern: contractions case-insensitive, letters may take one
     * leading non-letter, numbers in groups of at most three, newlines kept with the run before them.
     */
    GPT4("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
            + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+") {
        @Override
        int pieceEnd(byte[] b, int i, int end) {
            int p = CharClass.decode(b, i, end);
            int c = CharClass.cp(p);
            int n = i + CharClass.len(p);
            if (c == '\'' && n < end) {
                int c1 = b[n] | 0x20; // ASCII lower case (harmless for the bytes compared below)
                if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return n + 1;
                // U+017F LATIN SMALL LETTER LONG S case-folds to 's'
                if (n + 1 < end && b[n] == (byte) 0xC5 && b[n + 1] == (byte) 0xBF) return n + 2;
                if (n + 1 < end) {
                    int c2 = b[n + 1] | 0x20;
                    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) {
                        return n + 2;
                    }
                }
            }
            int cls = CharClass.classOf(c);
            if (cls == LETTER) return runEnd(b, i, end, LETTER);
            if (cls != NUMBER && c != '\r' && c != '\n' && n < end
                    && CharClass.classOf(CharClass.cp(CharClass.decode(b, n, end))) == LETTER) {
                return runEnd(b, n, end, LETTER);
            }
            if (cls == NUMBER) {
                int j = n;
                for (int k = 1; k < 3 && j < end; k++) {
                    int q = CharClass.decode(b, j, end);
                    if (CharClass.classOf(CharClass.cp(q)) != NUMBER) break;
                    j += CharClass.len(q);
                }
                return j;
            }
            int from = -1;
            if (cls == OTHER) {
                from = i;
            } else if (c == ' ' && n < end && CharClass.classOf(CharClass.cp(CharClass.decode(b, n, end))) == OTHER) {
                from = n;
            }
            if (from >= 0) {
                int j = runEnd(b, from, end, OTHER);
                while (j < end && (b[j] == '\r' || b[j] == '\n')) j++;
                return j;
            }
            // whitespace: through the last newline of the run, else as GPT-2
            int j = i;
            int lastStart = i;
            int afterNewline = -1;
            while (j < end) {
                int q = CharClass.decode(b, j, end);
                int qc = CharClass.cp(q);
                if (CharClass.classOf(qc) != SPACE) break;
                lastStart = j;
                j += CharClass.len(q);
                if (qc == '\r' || qc == '\n') afterNewline = j;
            }
            if (afterNewline >= 0) return afterNewline;
            if (j == end) return j;
            return lastStart > i ? lastStart : j;
        }
    };

    private final String regex;

    SplitPattern(String regex) {
        this.regex = regex;
    }

    /** The regex this scanner implements, as Hugging Face's {@code Split} pre-tokenizer would take it. */
    public String regex() {
        return regex;
    }

    /** The end of the piece that starts at {@code i < end}. */
    abstract int pieceEnd(byte[] b, int i, int end);

    @Override
    public void split(byte[] text, int from, int to, IntList ends) {
        int i = from;
        while (i < to) {
            i = pieceEnd(text, i, to);
            ends.add(i);
        }
    }

    /** The end of the run of characters of class {@code cls} that starts at i. */
    static int runEnd(byte[] b, int i, int end, int cls) {
        while (i < end) {
            int b0 = b[i];
            if (b0 >= 0) { // ASCII fast path
                if (CharClass.classOf(b0) != cls) break;
                i++;
                continue;
            }
            int q = CharClass.decode(b, i, end);
            if (CharClass.classOf(CharClass.cp(q)) != cls) break;
            i += CharClass.len(q);
        }
        return i;
    }

    /** {@code \s+(?!\S)|\s+} at a whitespace character i: the run, less its last char when a non-space follows. */
    static int whitespaceEnd(byte[] b, int i, int end) {
        int j = i;
        int lastStart = i;
        while (j < end) {
            int q = CharClass.decode(b, j, end);
            if (CharClass.classOf(CharClass.cp(q)) != SPACE) break;
            lastStart = j;
            j += CharClass.len(q);
        }
        if (j == end) return j;
        return lastStart > i ? lastStart : j;
    }

    /** Finds a scanner by its name ({@code gpt2}, {@code gpt4}, also {@code cl100k}). */
    public static SplitPattern byName(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "gpt2" -> GPT2;
            case "gpt4", "cl100k", "cl100k_base" -> GPT4;
            default -> throw new dev.jgpt.JgptException("unknown pre-split pattern '" + name + "' (use gpt2 or gpt4)");
        };
    }

    /** The scanner for a regex string found in a tokenizer file, or null when it is neither pattern. */
    static SplitPattern byRegex(String regex) {
        for (SplitPattern p : values()) if (p.regex.equals(regex)) return p;
        // the possessive form tiktoken ships for cl100k_base matches the same pieces
        if (regex.equals("'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*"
                + "|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+")) {
            return GPT4;
        }
        return null;
    }
}
