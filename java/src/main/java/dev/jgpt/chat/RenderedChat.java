package dev.jgpt.chat;

/**
 * A conversation as token ids, with the training loss mask: {@code lossMask[i]} is true when the
 * model should be trained to predict {@code ids[i]} (assistant content and its closing
 * {@code <|end|>}), false for prompts, role markers and system/user text.
 *
 * <p>For next-token training with inputs {@code ids[0..n-1)} and targets {@code ids[1..n)}, the
 * target at position {@code t} is {@code ids[t+1]} and its weight is {@code lossMask[t+1]}.
 */
public record RenderedChat(int[] ids, boolean[] lossMask) {
    public RenderedChat {
        if (ids.length != lossMask.length) {
            throw new IllegalArgumentException(ids.length + " ids but " + lossMask.length + " mask entries");
        }
    }

    public int length() {
        return ids.length;
    }

    /** How many tokens the loss is computed on. */
    public int maskedCount() {
        int n = 0;
        for (boolean b : lossMask) if (b) n++;
        return n;
    }
}
