package dev.jgpt.generate;

import dev.jgpt.memory.Tensor;

/**
 * Any {@link CausalLm} made to look like a model whose logits live on a device: {@link #deviceLogits()}
 * advances the inner model and keeps its logits "on the device" ({@link KernelTopK} picks the candidates);
 * counts every full-logit read ({@link #prefill}, {@link #step}, {@link DeviceLogits#hostLogits()}).
 */
final class DeviceLm implements CausalLm {
    private final CausalLm inner;
    private final int maxCandidates;
    private Tensor deviceLogits;
    int fullLogitReads;
    int candidateReads;

    DeviceLm(CausalLm inner, int maxCandidates) {
        this.inner = inner;
        this.maxCandidates = maxCandidates;
    }

    @Override public int vocabSize() { return inner.vocabSize(); }
    @Override public int contextLength() { return inner.contextLength(); }
    @Override public void reset() { inner.reset(); deviceLogits = null; }
    @Override public int position() { return inner.position(); }

    @Override
    public Tensor prefill(int[] tokens) {
        fullLogitReads++;
        return inner.prefill(tokens);
    }

    @Override
    public Tensor step(int token) {
        fullLogitReads++;
        return inner.step(token);
    }

    @Override
    public DeviceLogits deviceLogits() {
        return new DeviceLogits() {
            @Override public int maxCandidates() { return maxCandidates; }
            @Override public void prefillOnDevice(int[] tokens) { deviceLogits = inner.prefill(tokens); }
            @Override public void stepOnDevice(int token) { deviceLogits = inner.step(token); }

            @Override
            public void topCandidates(int n, int k, int[] ids, float[] logits) {
                if (k < 1 || k > maxCandidates || k > n) throw new IllegalArgumentException("k " + k);
                candidateReads++;
                float[] all = new float[n];
                for (int i = 0; i < n; i++) all[i] = deviceLogits.getFloat(i);
                KernelTopK.topK(all, n, k, ids, logits);
            }

            @Override
            public Tensor hostLogits() {
                fullLogitReads++;
                return deviceLogits;
            }
        };
    }

    @Override
    public void close() {
        inner.close();
    }
}
