package dev.jgpt.chat;

import dev.jgpt.JgptException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * What the assistant remembers: a system prompt, pinned facts ({@code /remember}) and the turns so
 * far. {@link #window} picks what goes into the next prompt: the system prompt and the facts
 * always, then as many of the most recent turns as the token budget allows, dropping the oldest
 * first. The full transcript is kept (for {@code /save}); only the prompt is trimmed.
 */
public final class ConversationMemory {
    private String systemPrompt;
    private final List<String> facts = new ArrayList<>();
    private final List<ChatMessage> turns = new ArrayList<>();
    private int lastDropped;

    public ConversationMemory(String systemPrompt) {
        this.systemPrompt = systemPrompt == null ? "" : systemPrompt;
    }

    public String systemPrompt() { return systemPrompt; }
    public void setSystemPrompt(String s) { systemPrompt = s == null ? "" : s; }
    public List<String> facts() { return List.copyOf(facts); }
    public List<ChatMessage> turns() { return List.copyOf(turns); }

    public void remember(String fact) {
        if (fact.isBlank()) throw new JgptException("nothing to remember: /remember TEXT");
        facts.add(fact.strip());
    }

    public void forgetFacts() { facts.clear(); }

    /** Forgets the turns; the system prompt and pinned facts stay. */
    public void reset() {
        turns.clear();
        lastDropped = 0;
    }

    public void addUser(String content) { turns.add(ChatMessage.user(content)); }
    public void addAssistant(String content) { turns.add(ChatMessage.assistant(content)); }

    /** Removes the last turn (a user message whose reply failed). */
    public void dropLast() {
        if (!turns.isEmpty()) turns.removeLast();
    }

    /** Turns left out of the last {@link #window} for lack of room. */
    public int lastDropped() {
        return lastDropped;
    }

    /** The system message the model sees (prompt + pinned facts), or null when both are empty. */
    public ChatMessage systemMessage() {
        StringBuilder s = new StringBuilder(systemPrompt);
        if (!facts.isEmpty()) {
            if (!s.isEmpty()) s.append('\n');
            s.append("Facts to remember:");
            for (String f : facts) s.append("\n- ").append(f);
        }
        return s.isEmpty() ? null : ChatMessage.system(s.toString());
    }

    /**
     * The messages for the next prompt within {@code budget} tokens, as {@code counter} counts them.
     * The window never starts with an assistant turn (a reply without its question).
     *
     * @throws JgptException when the system prompt and facts, or the newest message, do not fit
     */
    public List<ChatMessage> window(int budget, ToIntFunction<ChatMessage> counter) {
        ChatMessage system = systemMessage();
        int used = system == null ? 0 : counter.applyAsInt(system);
        if (used > budget) {
            throw new JgptException("the system prompt and remembered facts take " + used + " tokens but only " + budget
                    + " fit beside the reply; shorten them (/system, /forget) or lower max_tokens");
        }
        int first = turns.size();
        while (first > 0) {
            int cost = counter.applyAsInt(turns.get(first - 1));
            if (used + cost > budget) break;
            used += cost;
            first--;
        }
        if (first == turns.size() && !turns.isEmpty()) {
            throw new JgptException("your message takes " + counter.applyAsInt(turns.getLast()) + " tokens but only "
                    + budget + " fit beside the system prompt and the reply; shorten it or lower max_tokens");
        }
        while (first < turns.size() && turns.get(first).role().equals(ChatMessage.ASSISTANT)) first++;
        lastDropped = first;
        List<ChatMessage> out = new ArrayList<>(turns.size() - first + 1);
        if (system != null) out.add(system);
        out.addAll(turns.subList(first, turns.size()));
        return out;
    }
}
