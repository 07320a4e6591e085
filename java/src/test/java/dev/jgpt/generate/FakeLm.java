package dev.jgpt.generate;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;

/**
 * Test models. {@link #scripted} makes greedy decoding emit a fixed token sequence; {@link #bigram}
 * gives next-token logits from the last token only. Both keep the CausalLm contract: a context
 * limit, positions, one reused logits tensor.
 */
public abstract class FakeLm implements CausalLm {
    private final TensorArena arena = TensorArena.host();
    protected final Tensor logits;
    private final int vocab;
    private final int context;
    private int position;
    public int prefills;
    public int steps;
    public int lastPrefillLength;

    protected FakeLm(int vocab, int context) {
        this.vocab = vocab;
        this.context = context;
        this.logits = arena.allocate(DType.F32, vocab);
    }

    /** Writes the logits for the token after {@code lastToken}. */
    protected abstract void fill(int lastToken);

    @Override public int vocabSize() { return vocab; }
    @Override public int contextLength() { return context; }
    @Override public int position() { return position; }

    @Override
    public void reset() {
        position = 0;
        onReset();
    }

    protected void onReset() {}

    @Override
    public Tensor prefill(int[] tokens) {
        if (position + tokens.length > context) {
            throw new IllegalArgumentException("prefill past the context: " + (position + tokens.length) + " > " + context);
        }
        prefills++;
        lastPrefillLength = tokens.length;
        position += tokens.length;
        fill(tokens[tokens.length - 1]);
        return logits;
    }

    @Override
    public Tensor step(int token) {
        if (position + 1 > context) throw new IllegalArgumentException("step past the context " + context);
        steps++;
        position++;
        fill(token);
        return logits;
    }

    @Override
    public void close() {
        arena.close();
    }

    /** Greedy decoding yields {@code script} in order, then {@code after} forever. */
    public static FakeLm scripted(int vocab, int context, int[] script, int after) {
        return new FakeLm(vocab, context) {
            int next;

            @Override
            protected void onReset() {
                next = 0;
            }

            @Override
            protected void fill(int lastToken) {
                logits.fill(0f);
                int t = next < script.length ? script[next] : after;
                next++;
                logits.setFloat(t, 10f);
            }
        };
    }

    /** Greedy decoding yields the UTF-8 bytes of {@code text} (byte tokenizer ids), then {@code after}. */
    public static FakeLm scriptedText(int vocab, int context, String text, int after) {
        byte[] b = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int[] script = new int[b.length];
        for (int i = 0; i < b.length; i++) script[i] = b[i] & 0xff;
        return scripted(vocab, context, script, after);
    }

    /** Logits = table[lastToken]: a tiny bigram model. */
    public static FakeLm bigram(float[][] table, int context) {
        return new FakeLm(table.length, context) {
            @Override
            protected void fill(int lastToken) {
                logits.copyFrom(table[lastToken]);
            }
        };
    }
}
