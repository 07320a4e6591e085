package dev.jgpt.chat;

import dev.jgpt.generate.GenerationConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * How a conversation becomes the token ids a chat model was trained on: jgpt's own format
 * ({@link JgptChatFormat}) or a foreign model's ({@link MarkupChatFormat}: ChatML, Llama 2, Llama 3, Zephyr ...).
 * One instance is bound to one tokenizer. {@link ChatFormats#of} picks the format of a loaded model.
 */
public interface ChatFormat {

    /** The format's name, as {@code --chat-format} spells it. */
    String name();

    /** The conversation followed by an open assistant turn: the prompt whose continuation is the next reply. */
    int[] prompt(List<ChatMessage> conversation);

    /** Tokens one message adds to a rendered conversation (markers included; may overestimate, never under). */
    int messageTokens(ChatMessage message);

    /** Tokens a prompt takes besides its messages (the open assistant turn, a leading BOS). */
    int promptOverhead();

    /**
     * Texts that end a reply when the model writes them: the format's end of turn and the markers that open a
     * new turn (special tokens decode to their literal text, so the byte-level stop matcher sees them).
     */
    List<String> turnStops();

    /** {@code config} with {@link #turnStops} added to its stop sequences. */
    default GenerationConfig withTurnStops(GenerationConfig config) {
        List<String> stops = new ArrayList<>(config.stopSequences());
        for (String s : turnStops()) if (!stops.contains(s)) stops.add(s);
        return config.withStopSequences(stops);
    }
}
