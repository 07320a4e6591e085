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

    /**
     * The whole conversation as the model is trained on it: the ids {@link #prompt} would give for it, with the loss
     * mask true on every assistant reply and the markup that ends it (what supervised fine-tuning teaches), false on
     * everything else. For every assistant turn, the ids before its reply are the {@link #prompt} of the messages
     * before it, so the model learns to continue exactly what chat later shows it.
     */
    RenderedChat render(List<ChatMessage> conversation);

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
