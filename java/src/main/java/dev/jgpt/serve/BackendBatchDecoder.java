package dev.jgpt.serve;

import dev.jgpt.backend.DeviceTopK;
import dev.jgpt.generate.BatchDecoder;
import dev.jgpt.memory.Tensor;
import dev.jgpt.generate.BackendLm;

/**
 * A model on a backend's ops as a {@link BatchDecoder} (GPT-2's {@code Gpt2Inference}, Llama's
 * {@code LlamaOpsInference}): one {@link BackendLm} sequence per slot, all over the same weights, stepped
 * together by the first one's {@link BackendLm#stepBatch}. On a device backend that picks the
 * largest logits where they are ({@link DeviceTopK}, cuda), {@link #stepCandidates} reads k per row there
 * instead of copying the whole (n, V) logits back.
 */
final class BackendBatchDecoder implements BatchDecoder {
    private final BackendLm[] sessions;
    private final BackendLm leader;
    private final BackendLm[] seqs;
    /** The backend's top-k where the logits live on the device, else null. */
    private final DeviceTopK topK;

    /** @param sessions one per slot, sharing weights and backend; closed by their owner, not here */
    BackendBatchDecoder(BackendLm[] sessions) {
        this.leader = sessions[0];
        this.sessions = java.util.Arrays.copyOf(sessions, Math.min(sessions.length, leader.maxBatch()));
        this.seqs = new BackendLm[this.sessions.length];
        this.topK = leader.deviceLogits() != null && leader.backend() instanceof DeviceTopK t ? t : null;
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
    public int maxCandidates() {
        return topK == null ? 0 : topK.maxTopK();
    }

    @Override
    public void stepCandidates(int[] slots, int[] tokens, int n, int V, int k, int[] ids, float[] logits) {
        if (topK == null) {
            BatchDecoder.super.stepCandidates(slots, tokens, n, V, k, ids, logits);
            return;
        }
        for (int i = 0; i < n; i++) seqs[i] = sessions[slots[i]];
        leader.stepBatchCandidates(seqs, tokens, n, V, k, ids, logits); // on cuda: one graph replay per step
    }

    @Override
    public Tensor candidatesRow(int i) {
        return leader.batchRowToHost(i);
    }

    @Override
    public void bindThread() {
        leader.backend().setThreads(leader.backend().threads()); // OpenMP's thread count is per thread
    }

    @Override
    public void close() {}
}
