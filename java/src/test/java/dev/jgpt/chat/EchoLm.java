package dev.jgpt.chat;

import dev.jgpt.generate.ByteTokenizer;
import dev.jgpt.generate.FakeLm;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A fake chat model for the byte tokenizer: it answers "you said: X" (X = the last user message
 * of the prompt) and closes its turn with {@code <|end|>}. Keeps the last prompt for assertions.
 */
public final class EchoLm extends FakeLm {
    static final int USER = 258, END = 260;
    public int[] lastPrompt = new int[0];
    private byte[] script = new byte[0];
    private int next;

    public EchoLm(int context) {
        super(ByteTokenizer.withChatTokens().vocabSize(), context);
    }

    @Override
    public dev.jgpt.memory.Tensor prefill(int[] tokens) {
        lastPrompt = tokens.clone();
        int start = -1;
        for (int i = 0; i < tokens.length; i++) if (tokens[i] == USER) start = i + 1;
        int end = start;
        while (end < tokens.length && tokens[end] != END) end++;
        byte[] content = new byte[Math.max(0, end - start)];
        for (int i = 0; i < content.length; i++) content[i] = (byte) tokens[start + i];
        String said = new String(content, StandardCharsets.UTF_8);
        script = ("you said: " + said).getBytes(StandardCharsets.UTF_8);
        next = 0;
        return super.prefill(tokens);
    }

    @Override
    protected void fill(int lastToken) {
        logits.fill(0f);
        logits.setFloat(next < script.length ? script[next] & 0xff : END, 10f);
        next++;
    }

    public String lastPromptText() {
        return ByteTokenizer.withChatTokens().decode(Arrays.copyOf(lastPrompt, lastPrompt.length));
    }
}
