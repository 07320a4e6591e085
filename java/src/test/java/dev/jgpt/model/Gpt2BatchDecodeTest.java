package dev.jgpt.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.memory.Tensor;
import org.junit.jupiter.api.Test;

/** {@link Gpt2Inference#stepBatch}: several sequences in one step give each sequence's own {@code step} logits. */
class Gpt2BatchDecodeTest {
    static final GptConfig C = new GptConfig(50, 24, 2, 2, 16);

    @Test
    void batchedStepEqualsSingleSteps() {
        try (var backend = new ReferenceBackend(); Gpt2 model = new Gpt2(backend, C, 1, 1)) {
            model.initWeights(11);
            int[][] prompts = {{1, 2, 3}, {7}, {4, 4, 9, 12, 30}};
            int n = prompts.length;
            Gpt2Inference[] batched = new Gpt2Inference[n], single = new Gpt2Inference[n];
            try {
                int[] next = new int[n];
                for (int i = 0; i < n; i++) {
                    batched[i] = Gpt2Inference.of(model);
                    single[i] = Gpt2Inference.of(model);
                    batched[i].prefill(prompts[i]);
                    next[i] = argmax(single[i].prefill(prompts[i]).toFloatArray());
                }
                Gpt2Inference leader = Gpt2Inference.of(model); // its buffers only; it holds no sequence
                try {
                    for (int step = 0; step < 6; step++) {
                        Tensor rows = leader.stepBatch(batched, next, n);
                        for (int i = 0; i < n; i++) {
                            float[] want = single[i].step(next[i]).toFloatArray();
                            for (int v = 0; v < C.vocabSize(); v++) {
                                assertThat(rows.getFloat((long) i * C.vocabSize() + v)).as("seq %d step %d token %d", i, step, v)
                                        .isCloseTo(want[v], org.assertj.core.data.Offset.offset(1e-5f));
                            }
                            assertThat(batched[i].position()).isEqualTo(single[i].position());
                            next[i] = argmax(want);
                        }
                    }
                    // a batch of fewer rows, led by one of its own sequences
                    Tensor one = batched[2].stepBatch(new Gpt2Inference[] {batched[2]}, new int[] {next[2]}, 1);
                    float[] want = single[2].step(next[2]).toFloatArray();
                    for (int v = 0; v < C.vocabSize(); v++) assertThat(one.getFloat(v)).isCloseTo(want[v], org.assertj.core.data.Offset.offset(1e-5f));
                } finally {
                    leader.close();
                }
            } finally {
                for (int i = 0; i < n; i++) {
                    if (batched[i] != null) batched[i].close();
                    if (single[i] != null) single[i].close();
                }
            }
        }
    }

    /**
     * A batched step's attention is one {@code gqaAttentionDecodeRows} call per layer for all sequences (cache
     * writes included: on cuda one launch instead of two copies and an attention per sequence); the only copy
     * is the step's token ids.
     */
    @Test
    void aBatchedStepMakesOneAttentionCallPerLayer() {
        try (var backend = new ReferenceBackend(); Gpt2 model = new Gpt2(backend, C, 1, 1)) {
            model.initWeights(5);
            dev.jgpt.backend.TimingBackend ops = new dev.jgpt.backend.TimingBackend(backend);
            Gpt2Inference[] seqs = new Gpt2Inference[3];
            try {
                for (int i = 0; i < seqs.length; i++) {
                    seqs[i] = new Gpt2Inference(ops, C, model.params().flat());
                    seqs[i].prefill(new int[] {1 + i, 2, 3 + i});
                }
                ops.reset();
                seqs[0].stepBatch(seqs, new int[] {4, 5, 6}, seqs.length);
                assertThat(ops.totals().get("gqaAttentionDecodeRows")[1]).isEqualTo(C.layers());
                assertThat(ops.totals()).doesNotContainKeys("attentionDecode", "gqaAttentionDecode");
                assertThat(ops.totals().get("copy")[1]).as("the token ids only").isEqualTo(1);
            } finally {
                for (Gpt2Inference s : seqs) if (s != null) s.close();
            }
        }
    }

    @Test
    void refusesSequencesOverOtherWeights() {
        try (var backend = new ReferenceBackend(); Gpt2 a = new Gpt2(backend, C, 1, 1); Gpt2 b = new Gpt2(backend, C, 1, 1);
             Gpt2Inference ia = Gpt2Inference.of(a); Gpt2Inference ib = Gpt2Inference.of(b)) {
            ib.prefill(new int[] {1});
            assertThatThrownBy(() -> ia.stepBatch(new Gpt2Inference[] {ib}, new int[] {2}, 1))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("weights");
        }
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }
}
