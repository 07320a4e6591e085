package dev.jgpt.chat;

import dev.jgpt.generate.FinishReason;

/**
 * One assistant reply from a {@link ChatBackend}.
 *
 * @param promptTokens tokens of the prompt as the backend counted them (0 if unknown)
 * @param completionTokens tokens generated (for a remote endpoint: streamed chunks, when it reports no usage)
 * @param tokensPerSecond decode speed, 0 if unknown
 */
public record ChatReply(String text, FinishReason finishReason, int promptTokens, int completionTokens,
        double tokensPerSecond) {}
