package dev.jgpt.serve;

import dev.jgpt.generate.BatchDecoder;
import dev.jgpt.memory.Tensor;
import dev.jgpt.model.Gpt2Inference;

/**
 * GPT-2 as a {@link BatchDecoder}: one {@link Gpt2Inference} per slot, all over the same flat weights,
 * stepped together by the first one's {@link Gpt2Inference#stepBatch}.
 */
final class Gpt2BatchDecoder implements BatchDecoder {
    private final Gpt2Inference[] sessions;
    private final Gpt2Inference leader;
    private final Gpt2Inference[] seqs;

    /** @param sessions one per slot, sharing weights and backend; closed by their owner, not here */
    Gpt2BatchDecoder(Gpt2Inference[] sessions) {
        this.leader = sessions[0];
        this.sessions = java.util.Arrays.copyOf(sessions, Math.min(sessions.length, leader.maxBatch()));
        this.seqs = new Gpt2Inference[this.sessions.length];
    }

    @Override public int maxBatch() { return sessions.length; }
    @Override public int vocabSize() { return leader.vocabSize(); }
    @Override public int contextLength() { return leader.contextLength(); }
    @Override public int position(int slot) { return sessions[slot].position(); }
    @Override public void reset(int slot) { sessions[slot].reset(); }
    @Override public Tensor prefill(int slot, int[] tokens) { return sessions[slot].prefill(tokens); }

    @Override
    public Tensor step(int[] slots, int[] tokens, int n) {
        for (int i = 0; i < n; i++) seqs[i] = sessions[slots[i]];
        return leader.stepBatch(seqs, tokens, n);
    }

    @Override
    public void bindThread() {
        leader.backend().setThreads(leader.backend().threads()); // OpenMP's thread count is per thread
    }

    @Override
    public void close() {}
}
