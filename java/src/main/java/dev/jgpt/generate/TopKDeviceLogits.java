package dev.jgpt.generate;

import dev.jgpt.backend.DeviceTopK;
import dev.jgpt.memory.Tensor;

/**
 * The {@link DeviceLogits} of a model over a backend's ops whose next-token logits lie in a tensor of a
 * {@link DeviceTopK} backend (the cuda backend): the model advances its sequence without the host copy,
 * and the top k are read where the logits are. Shared by {@code Gpt2Inference} and
 * {@code LlamaOpsInference}, which give it their sequence as a {@link Sequence}.
 */
public final class TopKDeviceLogits implements DeviceLogits {

    /** What the model gives: its forward passes without the copy, and whether/where its logits are. */
    public interface Sequence {
        /** Runs the tokens through the model, leaving the last position's logits in the device tensor. */
        void advance(int[] tokens);

        /** Runs one token through the model, leaving its logits in the device tensor. */
        void advance(int token);

        /** Whether the device tensor holds the logits of the sequence so far. */
        boolean hasLogits();

        /** The logits copied to host memory (V floats), counted as a copy by the model. */
        Tensor logitsToHost();
    }

    private final DeviceTopK topK;
    private final Tensor logits;
    private final int vocab;
    private final Sequence seq;

    /** @param logits the device tensor of at least {@code vocab} floats that {@code seq} leaves its logits in */
    public TopKDeviceLogits(DeviceTopK topK, Tensor logits, int vocab, Sequence seq) {
        this.topK = topK;
        this.logits = logits;
        this.vocab = vocab;
        this.seq = seq;
    }

    @Override
    public int maxCandidates() {
        return topK.maxTopK();
    }

    @Override
    public void prefillOnDevice(int[] tokens) {
        seq.advance(tokens);
    }

    @Override
    public void stepOnDevice(int token) {
        seq.advance(token);
    }

    @Override
    public void topCandidates(int n, int k, int[] ids, float[] vals) {
        if (n < 1 || n > vocab) throw new IllegalArgumentException("n: must be in [1, " + vocab + "] but was " + n);
        requireLogits();
        topK.topK(logits, n, k, ids, vals);
    }

    @Override
    public Tensor hostLogits() {
        requireLogits();
        return seq.logitsToHost();
    }

    private void requireLogits() {
        if (!seq.hasLogits()) throw new IllegalStateException("no logits yet: prefill first");
    }
}
