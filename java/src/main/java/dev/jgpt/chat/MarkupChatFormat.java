package dev.jgpt.chat;

import dev.jgpt.llama.Llama2cTokenizer;
import dev.jgpt.tokenizer.Tokenizer;
import java.util.List;
import java.util.Map;

/**
 * A foreign model's chat format ({@link ChatMarkup}) bound to its tokenizer. Encoding follows llama.cpp's: the
 * tokenizer's BOS first, then the rendered text. With a byte-level BPE tokenizer the markup is encoded with special
 * tokens matched and the message content as ordinary text (a user cannot forge {@code <|im_end|>}); a sentencepiece
 * vocabulary is encoded in runs between the special tokens found in the markup, each run with sentencepiece's
 * leading space (as llama.cpp does after a special token); there the content joins the markup around it.
 */
public final class MarkupChatFormat implements ChatFormat {
    private final ChatMarkup markup;
    private final Tokenizer tokenizer;
    private final ChatSource source;
    private final int overhead;

    public MarkupChatFormat(ChatMarkup markup, Tokenizer tokenizer, ChatSource source) {
        this.markup = markup;
        this.tokenizer = tokenizer;
        this.source = source;
        this.overhead = encode(markup.render(List.of(), true, source.eos())).length;
    }

    @Override
    public String name() {
        return markup.id();
    }

    public ChatMarkup markup() {
        return markup;
    }

    @Override
    public int[] prompt(List<ChatMessage> conversation) {
        return encode(markup.render(conversation, true, source.eos()));
    }

    /**
     * The closed conversation encoded at once, as {@link #prompt} encodes; an assistant reply's mask runs from where the
     * prompt of the messages before it stops agreeing with those ids (its end, unless a sentencepiece merge crosses
     * it) to the end of the conversation closed after the reply (its turn-ending markup included).
     */
    @Override
    public RenderedChat render(List<ChatMessage> conversation) {
        int[] ids = encode(markup.render(conversation, false, source.eos()));
        boolean[] mask = new boolean[ids.length];
        for (int k = 0; k < conversation.size(); k++) {
            if (!conversation.get(k).role().equals(ChatMessage.ASSISTANT)) continue;
            int from = agreeing(prompt(conversation.subList(0, k)), ids);
            int to = agreeing(encode(markup.render(conversation.subList(0, k + 1), false, source.eos())), ids);
            for (int i = from; i < to; i++) mask[i] = true;
        }
        return new RenderedChat(ids, mask);
    }

    /** How many leading ids {@code a} and {@code b} share. */
    private static int agreeing(int[] a, int[] b) {
        int n = 0;
        while (n < a.length && n < b.length && a[n] == b[n]) n++;
        return n;
    }

    @Override
    public int messageTokens(ChatMessage message) {
        return encode(markup.render(List.of(message), false, source.eos())).length;
    }

    @Override
    public int promptOverhead() {
        return overhead;
    }

    @Override
    public List<String> turnStops() {
        return markup.stops(source.eos());
    }

    /** The spans as ids: BOS (when the tokenizer adds one), then each span as described above. */
    int[] encode(List<ChatMarkup.Span> spans) {
        Ids out = new Ids();
        if (source.bos() >= 0) out.add(source.bos());
        if (tokenizer instanceof Llama2cTokenizer spm) {
            encodeSentencepiece(spans, spm, out);
        } else {
            for (ChatMarkup.Span s : spans) {
                if (!s.text().isEmpty()) out.add(s.content() ? tokenizer.encodeOrdinary(s.text()) : tokenizer.encode(s.text()));
            }
        }
        return out.toArray();
    }

    private void encodeSentencepiece(List<ChatMarkup.Span> spans, Llama2cTokenizer spm, Ids out) {
        StringBuilder run = new StringBuilder();
        for (ChatMarkup.Span s : spans) {
            if (s.content()) {
                run.append(s.text());
                continue;
            }
            String t = s.text();
            int i = 0;
            while (i < t.length()) {
                Map.Entry<String, Integer> special = specialAt(t, i);
                if (special == null) {
                    run.append(t.charAt(i++));
                } else {
                    flush(run, spm, out);
                    out.add(special.getValue());
                    i += special.getKey().length();
                }
            }
        }
        flush(run, spm, out);
    }

    /** The longest special token starting at {@code i} of {@code t}, or null. */
    private Map.Entry<String, Integer> specialAt(String t, int i) {
        Map.Entry<String, Integer> best = null;
        for (Map.Entry<String, Integer> e : source.specials().entrySet()) {
            if (t.startsWith(e.getKey(), i) && (best == null || e.getKey().length() > best.getKey().length())) best = e;
        }
        return best;
    }

    private static void flush(StringBuilder run, Llama2cTokenizer spm, Ids out) {
        if (!run.isEmpty()) out.add(spm.encode(run.toString(), false, false));
        run.setLength(0);
    }

    private static final class Ids {
        private int[] a = new int[64];
        private int n;

        void add(int id) {
            if (n == a.length) a = java.util.Arrays.copyOf(a, 2 * n);
            a[n++] = id;
        }

        void add(int[] ids) {
            for (int id : ids) add(id);
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}
