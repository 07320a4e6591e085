package dev.jgpt.chat;

import dev.jgpt.JgptException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The built-in chat styles, by name. */
public final class Styles {
    private static final Map<String, Style> STYLES = new LinkedHashMap<>();

    static {
        add(new Style("balanced", "balanced answers", "You are a helpful assistant.", 0.8, 40, 0.95, 1.1));
        add(new Style("concise", "short, direct answers",
                "You are a helpful assistant. Answer in as few words as possible.", 0.5, 20, 0.9, 1.15));
        add(new Style("friendly", "warm and chatty",
                "You are a warm, friendly assistant. Be encouraging and conversational.", 0.9, 50, 0.95, 1.1));
        add(new Style("formal", "polite and precise",
                "You are a formal, professional assistant. Answer politely and precisely.", 0.6, 30, 0.9, 1.1));
        add(new Style("creative", "playful, surprising text",
                "You are an imaginative assistant. Be creative.", 1.1, 0, 0.98, 1.05));
        add(new Style("precise", "greedy decoding, always the most likely token",
                "You are a helpful assistant. Be accurate.", 0.0, 0, 1.0, 1.0));
    }

    private Styles() {}

    private static void add(Style s) {
        STYLES.put(s.name(), s);
    }

    public static List<Style> all() {
        return List.copyOf(STYLES.values());
    }

    public static Style get(String name) {
        Style s = STYLES.get(name.trim().toLowerCase(java.util.Locale.ROOT));
        if (s == null) {
            throw new JgptException("unknown style '" + name + "'; styles: " + String.join(", ", STYLES.keySet()));
        }
        return s;
    }
}
