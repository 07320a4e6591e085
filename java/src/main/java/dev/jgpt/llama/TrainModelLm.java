package dev.jgpt.llama;

import dev.jgpt.generate.CausalLm;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;

import java.util.Arrays;

/**
 * Generation straight from a {@link LlamaTrainModel}'s forward, for a model no decoder can read: a LoRA run, whose
 * adapters only the training forward applies. No KV cache: every token recomputes the forward over the whole sequence
 * so far (one sequence of at most the model's training window), so a sample of n tokens costs about n^2 / 2 token
 * forwards — fine for the few short samples a training log prints, not for chatting (checkpoints hold merged weights
 * for that). It runs between training steps: the forward overwrites the model's activations, which a step rewrites.
 */
public final class TrainModelLm implements CausalLm {
    private final LlamaTrainModel model;
    private final int[] seq;
    private final TensorArena host = TensorArena.host();
    private final Tensor logits;
    private int n;

    public TrainModelLm(LlamaTrainModel model) {
        this.model = model;
        this.seq = new int[model.maxSequence()];
        this.logits = host.allocate(DType.F32, model.config().vocabSize());
    }

    @Override public int vocabSize() { return model.config().vocabSize(); }
    @Override public int contextLength() { return seq.length; }
    @Override public void reset() { n = 0; }
    @Override public int position() { return n; }

    @Override
    public Tensor prefill(int[] tokens) {
        if (tokens.length == 0) throw new IllegalArgumentException("prefill needs at least one token");
        if (n + tokens.length > seq.length) {
            throw new IllegalArgumentException("position " + n + " + " + tokens.length + " tokens exceeds the window of " + seq.length);
        }
        System.arraycopy(tokens, 0, seq, n, tokens.length);
        n += tokens.length;
        model.forward(Arrays.copyOf(seq, n), null, 1, n);
        model.lastLogits(logits);
        return logits;
    }

    @Override
    public Tensor step(int token) {
        return prefill(new int[] {token});
    }

    @Override
    public void close() {
        host.close();
    }
}
