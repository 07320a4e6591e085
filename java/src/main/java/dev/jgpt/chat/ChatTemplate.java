package dev.jgpt.chat;

import dev.jgpt.JgptException;
import dev.jgpt.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.List;

/**
 * jgpt's chat format, shared by supervised fine-tuning, generation, chat and the HTTP API:
 *
 * <pre>
 * &lt;|system|&gt;You are helpful.&lt;|end|&gt;&lt;|user|&gt;Hi&lt;|end|&gt;&lt;|assistant|&gt;Hello!&lt;|end|&gt;
 * </pre>
 *
 * Role markers and {@code <|end|>} are single special tokens looked up by id; message content is
 * encoded with {@link Tokenizer#encodeOrdinary}, so text that merely spells {@code <|end|>} stays
 * ordinary bytes and a user can never forge a turn boundary. No newlines or spaces are added
 * around the markers: what the model sees is exactly the content.
 */
public final class ChatTemplate {

    public static final String SYSTEM = "<|system|>";
    public static final String USER = "<|user|>";
    public static final String ASSISTANT = "<|assistant|>";
    public static final String END = "<|end|>";
    public static final String END_OF_TEXT = "<|endoftext|>";

    /** Every special token the chat format needs: a tokenizer for chat models must define all of them. */
    public static final List<String> SPECIAL_TOKENS = List.of(END_OF_TEXT, SYSTEM, USER, ASSISTANT, END);

    private ChatTemplate() {}

    /** The special-token ids of one tokenizer, resolved once. */
    public record Ids(int system, int user, int assistant, int end) {

        /** @throws JgptException naming every special token the tokenizer lacks */
        public static Ids of(Tokenizer tokenizer) {
            StringBuilder missing = new StringBuilder();
            int[] ids = new int[4];
            String[] names = {SYSTEM, USER, ASSISTANT, END};
            for (int i = 0; i < names.length; i++) {
                var id = tokenizer.specialTokenId(names[i]);
                if (id.isPresent()) ids[i] = id.getAsInt();
                else missing.append(missing.isEmpty() ? "" : ", ").append(names[i]);
            }
            if (!missing.isEmpty()) {
                throw new JgptException("the tokenizer lacks the chat special token(s) " + missing
                        + "; chat needs " + String.join(" ", SPECIAL_TOKENS.subList(1, SPECIAL_TOKENS.size()))
                        + " (train the tokenizer with them as special tokens)");
            }
            return new Ids(ids[0], ids[1], ids[2], ids[3]);
        }

        public int roleId(String role) {
            return switch (role) {
                case ChatMessage.SYSTEM -> system;
                case ChatMessage.USER -> user;
                case ChatMessage.ASSISTANT -> assistant;
                default -> throw new JgptException("unknown chat role '" + role + "'");
            };
        }
    }

    /** The whole conversation with its loss mask (true on assistant content and its {@code <|end|>}). */
    public static RenderedChat render(List<ChatMessage> messages, Tokenizer tokenizer) {
        Ids ids = Ids.of(tokenizer);
        Builder b = new Builder();
        for (ChatMessage m : messages) appendMessage(b, m, tokenizer, ids);
        return b.build();
    }

    /**
     * The conversation followed by an open {@code <|assistant|>} marker: the prompt the model
     * continues to produce the next reply (generation stops at its {@code <|end|>}).
     */
    public static int[] renderPrompt(List<ChatMessage> messages, Tokenizer tokenizer) {
        Ids ids = Ids.of(tokenizer);
        Builder b = new Builder();
        for (ChatMessage m : messages) appendMessage(b, m, tokenizer, ids);
        b.add(ids.assistant(), false);
        return b.build().ids();
    }

    /** Tokens one message takes in a rendered conversation (marker + content + end). */
    public static int messageTokens(ChatMessage message, Tokenizer tokenizer) {
        return tokenizer.encodeOrdinary(message.content()).length + 2;
    }

    private static void appendMessage(Builder b, ChatMessage m, Tokenizer tokenizer, Ids ids) {
        boolean trained = m.role().equals(ChatMessage.ASSISTANT);
        b.add(ids.roleId(m.role()), false);
        for (int t : tokenizer.encodeOrdinary(m.content())) b.add(t, trained);
        b.add(ids.end(), trained);
    }

    private static final class Builder {
        private int[] ids = new int[64];
        private boolean[] mask = new boolean[64];
        private int n;

        void add(int id, boolean trained) {
            if (n == ids.length) {
                ids = Arrays.copyOf(ids, n * 2);
                mask = Arrays.copyOf(mask, n * 2);
            }
            ids[n] = id;
            mask[n++] = trained;
        }

        RenderedChat build() {
            return new RenderedChat(Arrays.copyOf(ids, n), Arrays.copyOf(mask, n));
        }
    }
}
