package dev.jgpt.chat;

import dev.jgpt.JgptException;
import dev.jgpt.tokenizer.Tokenizer;
import java.util.Optional;

/** Picks the chat format of a model: the one asked for, the one its chat template writes, or jgpt's own. */
public final class ChatFormats {
    private ChatFormats() {}

    /** Whether {@code name} (surrounding spaces aside) is one of {@link #names}. */
    public static boolean isName(String name) {
        String n = name.strip();
        return n.equals(JgptChatFormat.NAME) || ChatMarkup.byName(n).isPresent();
    }

    /** @throws JgptException when {@code name} is not one of {@link #names} */
    public static void check(String name) {
        if (!isName(name)) {
            throw new JgptException("--chat-format: '" + name.strip() + "' is not one of " + names());
        }
    }

    /** Every value {@code --chat-format} takes. */
    public static String names() {
        return JgptChatFormat.NAME + ", " + ChatMarkup.names();
    }

    /**
     * The format for a model with {@code tokenizer}: {@code override} when given (a name from {@link #names}); else the
     * format jgpt taught it ({@code source.format()}); else the format its chat template ({@code source.template()}) writes; else, for a model without a template (null source: a jgpt
     * run), jgpt's own.
     *
     * @throws JgptException for an unknown name, a template jgpt does not recognise (naming its start) or a
     *     tokenizer without jgpt's chat tokens
     */
    public static ChatFormat of(Tokenizer tokenizer, ChatSource source, String override) {
        if (override != null && !override.isBlank()) {
            String name = override.strip();
            if (name.equals(JgptChatFormat.NAME)) return jgpt(tokenizer, source);
            check(name);
            return new MarkupChatFormat(ChatMarkup.byName(name).orElseThrow(), tokenizer, source != null ? source : plainSource(tokenizer));
        }
        if (source != null && source.format() != null) return of(tokenizer, source.withFormat(null), source.format());
        if (source == null || source.template() == null || source.template().isBlank()) return jgpt(tokenizer, source);
        Optional<ChatMarkup> m = ChatMarkup.detect(source.template());
        if (m.isEmpty()) {
            throw new JgptException("the chat template is not one jgpt knows (it begins "
                    + excerpt(source.template()) + "); give the format with --chat-format NAME (" + ChatMarkup.names() + ")");
        }
        return new MarkupChatFormat(m.get(), tokenizer, source);
    }

    /** For a model that says nothing about chatting (a jgpt run): llama2.c's BOS and EOS, or for BPE no BOS and its end of text. */
    public static ChatSource plainSource(Tokenizer tokenizer) {
        if (tokenizer instanceof dev.jgpt.llama.Llama2cTokenizer) return ChatSource.LLAMA2C;
        return new ChatSource(null, -1, tokenizer.specialTokenId(ChatTemplate.END_OF_TEXT).isPresent() ? ChatTemplate.END_OF_TEXT : "</s>",
                java.util.Map.of());
    }

    private static ChatFormat jgpt(Tokenizer tokenizer, ChatSource source) {
        try {
            return new JgptChatFormat(tokenizer);
        } catch (JgptException e) {
            if (source == null) throw e; // a jgpt run: its tokenizer was trained without the chat tokens
            throw new JgptException("no chat template, and " + e.getMessage()
                    + "; a model with a chat format of its own needs --chat-format NAME (" + ChatMarkup.names() + ")");
        }
    }

    /** The template's first 60 characters, on one line, quoted. */
    static String excerpt(String template) {
        String s = template.strip().replaceAll("\\s+", " ");
        return "\"" + (s.length() > 60 ? s.substring(0, 60) + "..." : s) + "\"";
    }
}
