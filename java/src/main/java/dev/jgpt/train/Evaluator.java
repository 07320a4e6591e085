package dev.jgpt.train;

import dev.jgpt.memory.Tensor;
import dev.jgpt.tokenizer.Tokenizer;

/**
 * Loss, perplexity and bits per byte over evaluation batches. Bits per byte is tokenizer-independent:
 * total nats / ln 2 / the UTF-8 bytes of the predicted tokens. Special tokens ({@code <|endoftext|>},
 * chat markers) count zero bytes while their loss still counts, so the figure is, if anything,
 * pessimistic.
 */
public final class Evaluator {

    public record Result(double loss, double perplexity, double bitsPerByte, long tokens, long bytes) {}

    /** A source of evaluation batches: fills inputs/targets and returns false when the pass is over. */
    @FunctionalInterface
    public interface Batches {
        boolean next(Tensor inputs, Tensor targets);
    }

    private final int[] byteLength;

    public Evaluator(Tokenizer tokenizer) {
        this.byteLength = byteLengths(tokenizer);
    }

    /** UTF-8 bytes per token id, zero for special tokens. */
    public static int[] byteLengths(Tokenizer tokenizer) {
        int[] len = new int[tokenizer.vocabSize()];
        for (int i = 0; i < len.length; i++) len[i] = tokenizer.tokenBytes(i).length;
        for (String s : dev.jgpt.chat.ChatTemplate.SPECIAL_TOKENS) {
            tokenizer.specialTokenId(s).ifPresent(id -> {
                if (id < len.length) len[id] = 0;
            });
        }
        return len;
    }

    /** Runs up to {@code maxBatches} batches (0: until the source ends). */
    public Result run(TrainableModel model, Batches batches, int B, int T, Tensor inputs, Tensor targets, long maxBatches) {
        double nats = 0;
        long tokens = 0, bytes = 0;
        for (long b = 0; maxBatches == 0 || b < maxBatches; b++) {
            if (!batches.next(inputs, targets)) break;
            int valid = 0;
            for (int i = 0; i < B * T; i++) {
                int t = targets.getInt(i);
                if (t >= 0) {
                    valid++;
                    bytes += byteLength[t];
                }
            }
            float loss = model.forward(inputs, targets, B, T);
            nats += (double) loss * valid;
            tokens += valid;
        }
        double mean = tokens == 0 ? Double.NaN : nats / tokens;
        double bpb = bytes == 0 ? Double.NaN : nats / Math.log(2) / bytes;
        return new Result(mean, Math.exp(mean), bpb, tokens, bytes);
    }
}
