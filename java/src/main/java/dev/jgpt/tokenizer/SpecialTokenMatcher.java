package dev.jgpt.tokenizer;

import java.util.List;

/**
 * Finds special-token strings in text: the leftmost occurrence, and of those starting there the
 * longest (as Hugging Face's added-vocabulary matcher does). Each token's next occurrence is cached
 * while one text is scanned, so a text costs one {@code indexOf} pass per token.
 */
final class SpecialTokenMatcher {
    private final String[] tokens;
    private final int[] ids;

    SpecialTokenMatcher(List<String> tokens, List<Integer> ids) {
        this.tokens = tokens.toArray(String[]::new);
        this.ids = ids.stream().mapToInt(Integer::intValue).toArray();
    }

    boolean isEmpty() {
        return tokens.length == 0;
    }

    /** Cursor over one text. */
    final class Scan {
        private final String text;
        private final int[] next; // next occurrence at or after the last query, -1 when none left
        int start;  // of the match found by find()
        int length;
        int id;

        Scan(String text) {
            this.text = text;
            next = new int[tokens.length];
            for (int t = 0; t < tokens.length; t++) next[t] = tokens[t].isEmpty() ? -1 : text.indexOf(tokens[t]);
        }

        /** Finds the leftmost-longest special token starting at or after from; false when none. */
        boolean find(int from) {
            int best = -1;
            for (int t = 0; t < tokens.length; t++) {
                if (next[t] >= 0 && next[t] < from) next[t] = text.indexOf(tokens[t], from);
                int at = next[t];
                if (at < 0) continue;
                if (best < 0 || at < start || (at == start && tokens[t].length() > length)) {
                    best = t;
                    start = at;
                    length = tokens[t].length();
                }
            }
            if (best < 0) return false;
            id = ids[best];
            return true;
        }
    }

    Scan scan(String text) {
        return new Scan(text);
    }
}
