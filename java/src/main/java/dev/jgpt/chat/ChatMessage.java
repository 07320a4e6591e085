package dev.jgpt.chat;

import dev.jgpt.JgptException;
import java.util.Objects;

/**
 * One turn of a conversation. The role is one of {@code system}, {@code user}, {@code assistant}
 * (the roles {@link ChatTemplate} has special tokens for); anything else is rejected up front so a
 * typo in a data file or an API request fails with its name instead of training on garbage.
 */
public record ChatMessage(String role, String content) {

    public static final String SYSTEM = "system";
    public static final String USER = "user";
    public static final String ASSISTANT = "assistant";

    public ChatMessage {
        Objects.requireNonNull(content, "content");
        if (role == null) throw new JgptException("chat message without a role (expected system, user or assistant)");
        if (!role.equals(SYSTEM) && !role.equals(USER) && !role.equals(ASSISTANT)) {
            throw new JgptException("unknown chat role '" + role + "' (expected system, user or assistant)");
        }
    }

    public static ChatMessage system(String content) { return new ChatMessage(SYSTEM, content); }
    public static ChatMessage user(String content) { return new ChatMessage(USER, content); }
    public static ChatMessage assistant(String content) { return new ChatMessage(ASSISTANT, content); }
}
