package dev.jgpt.demo;

import dev.jgpt.chat.ChatBackend;
import dev.jgpt.chat.ChatMessage;
import dev.jgpt.chat.ChatReply;
import dev.jgpt.chat.ChatTemplate;
import dev.jgpt.generate.CausalLm;
import dev.jgpt.generate.GenerationConfig;
import dev.jgpt.generate.GenerationResult;
import dev.jgpt.generate.Generator;
import dev.jgpt.generate.TokenListener;
import dev.jgpt.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The demo's chat: a question {@code What does "X" mean?} gets its answer started with the words the
 * fine-tuning answers start with, {@code "X" means}, and the model writes the rest (the definition).
 * A 4M model trained for minutes has not learned to copy a word from the question reliably (it tends
 * to restate a word it was fine-tuned on, then define that one), so the demo writes the word for it;
 * what comes after is the model's. Any other message is answered as {@code jgpt chat} would.
 */
public final class DefinitionChat implements ChatBackend {
    private static final Pattern QUESTION = Pattern.compile("(?i)^\\s*what\\s+does\\s+[\"“']?([A-Za-z][A-Za-z '-]*?)[\"”']?\\s+mean\\s*\\??\\s*$");

    private final String name;
    private final CausalLm model;
    private final Tokenizer tokenizer;
    private final Generator generator = new Generator();

    public DefinitionChat(String name, CausalLm model, Tokenizer tokenizer) {
        ChatTemplate.Ids.of(tokenizer);
        this.name = name;
        this.model = model;
        this.tokenizer = tokenizer;
    }

    /** The word a "What does X mean?" question asks about (lowercased), or null for any other text. */
    static String askedWord(String question) {
        Matcher m = QUESTION.matcher(question);
        return m.matches() ? m.group(1).strip().toLowerCase(Locale.ROOT) : null;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public int contextLength() {
        return model.contextLength();
    }

    @Override
    public int countTokens(ChatMessage message) {
        return ChatTemplate.messageTokens(message, tokenizer);
    }

    @Override
    public ChatReply reply(List<ChatMessage> conversation, GenerationConfig config, TokenListener listener) {
        ChatMessage last = conversation.getLast();
        String word = last.role().equals("user") ? askedWord(last.content()) : null;
        String start = word == null ? "" : DefinitionQa.answerPrefix(word);
        int[] prompt = ChatTemplate.renderPrompt(conversation, tokenizer);
        if (!start.isEmpty()) {
            int[] head = tokenizer.encodeOrdinary(start);
            prompt = Arrays.copyOf(prompt, prompt.length + head.length);
            System.arraycopy(head, 0, prompt, prompt.length - head.length, head.length);
            listener.onText(start);
        }
        List<String> stops = new ArrayList<>(config.stopSequences());
        for (String marker : List.of(ChatTemplate.USER, ChatTemplate.ASSISTANT, ChatTemplate.SYSTEM)) {
            if (!stops.contains(marker)) stops.add(marker);
        }
        GenerationResult r = generator.generate(model, tokenizer, prompt, config.withStopSequences(stops), listener);
        return new ChatReply(start + r.text(), r.finishReason(), r.promptTokens(), r.generatedTokens(), r.tokensPerSecond());
    }

    @Override
    public void close() {
        model.close();
    }
}
