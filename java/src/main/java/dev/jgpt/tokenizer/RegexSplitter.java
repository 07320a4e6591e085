package dev.jgpt.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A pre-split by any regex, for {@code tokenizer.json} files whose {@code Split} pattern is neither
 * GPT-2's nor GPT-4's: every match is a piece and so is every stretch between matches (Hugging
 * Face's {@code Isolated} behaviour). Slower than the scanners (java.util.regex may backtrack), but
 * exact for the regexes both engines read alike. Also the "no split" case (pattern null): the whole
 * segment is one piece.
 */
final class RegexSplitter implements Splitter {
    private final Pattern pattern;

    RegexSplitter(String regex) {
        this.pattern = regex == null ? null : Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
    }

    @Override
    public void split(byte[] text, int from, int to, IntList ends) {
        if (from == to) return;
        if (pattern == null) {
            ends.add(to);
            return;
        }
        String s = new String(text, from, to - from, StandardCharsets.UTF_8);
        // byte offset of each char index, so piece ends can be given in bytes
        int[] byteAt = new int[s.length() + 1];
        int b = from;
        for (int i = 0; i < s.length(); i++) {
            byteAt[i] = b;
            char c = s.charAt(i);
            if (c < 0x80) b += 1;
            else if (c < 0x800) b += 2;
            else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                byteAt[++i] = b; // never a piece boundary
                b += 4;
            } else b += 3;
        }
        byteAt[s.length()] = to;
        Matcher m = pattern.matcher(s);
        int last = 0;
        while (m.find()) {
            if (m.end() == m.start()) continue;
            if (m.start() > last) ends.add(byteAt[m.start()]);
            ends.add(byteAt[m.end()]);
            last = m.end();
        }
        if (last < s.length()) ends.add(to);
    }
}
