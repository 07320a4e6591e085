package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.JgptException;
import dev.jgpt.backend.Backend;
import dev.jgpt.backend.TimingBackend;
import dev.jgpt.generate.CausalLm;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link LlamaOpsInference} on one backend (a subclass says which) against the plain-Java oracle
 * {@link ReferenceLlama} on tiny random models, with grouped-query attention (4 query heads over 2 kv heads,
 * a separate classifier) and without (NKV = NH, shared classifier): a 5-token prompt (batched prefill at
 * position 0), greedy steps, a second prefill that continues the sequence (a chat turn: one attention call per
 * layer for its rows over the cache), more steps. Same greedy ids; every logits vector within 1e-4 of the oracle's, relative to its
 * largest magnitude.
 */
abstract class LlamaOpsContract {
    static final LlamaConfig GQA = LlamaConfig.llama2c(24, 40, 2, 4, 2, 37, 24, false);
    static final LlamaConfig MHA = LlamaConfig.llama2c(16, 32, 2, 2, 2, 29, 20, true);
    static final int[] PROMPT = {1, 5, 20, 3, 11}, TURN = {7, 2, 19};
    static final int STEPS = 6, MORE_STEPS = 3;

    /** A fresh backend (closed by the test). */
    protected abstract Backend newBackend();

    /** The logits after each forward pass and the greedy ids fed back. */
    record Trace(List<float[]> logits, List<Integer> ids) {}

    static int argmax(float[] a) {
        int best = 0;
        for (int i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
        return best;
    }

    /** Prompt, STEPS greedy steps, a continuing prefill of TURN, MORE_STEPS greedy steps. */
    static Trace run(CausalLm lm) {
        Trace tr = new Trace(new ArrayList<>(), new ArrayList<>());
        lm.reset();
        float[] l = lm.prefill(PROMPT).toFloatArray();
        tr.logits.add(l);
        for (int i = 0; i < STEPS; i++) l = greedyStep(lm, l, tr);
        l = lm.prefill(TURN).toFloatArray();
        tr.logits.add(l);
        for (int i = 0; i < MORE_STEPS; i++) l = greedyStep(lm, l, tr);
        return tr;
    }

    private static float[] greedyStep(CausalLm lm, float[] logits, Trace tr) {
        int t = argmax(logits);
        tr.ids.add(t);
        float[] l = lm.step(t).toFloatArray();
        tr.logits.add(l);
        return l;
    }

    static void assertSameTrace(String what, Trace expected, Trace actual) {
        assertThat(actual.ids).as(what + ": greedy ids").isEqualTo(expected.ids);
        assertThat(actual.logits).hasSameSizeAs(expected.logits);
        for (int p = 0; p < expected.logits.size(); p++) {
            float[] e = expected.logits.get(p), a = actual.logits.get(p);
            assertThat(a).hasSameSizeAs(e);
            double max = 0, diff = 0;
            for (int i = 0; i < e.length; i++) {
                max = Math.max(max, Math.abs(e[i]));
                diff = Math.max(diff, Math.abs(e[i] - a[i]));
            }
            assertThat(diff / max).as(what + ": relative logit difference after pass " + p).isLessThan(1e-4);
        }
    }

    static Trace reference(LlamaWeights w) {
        try (ReferenceLlama r = new ReferenceLlama(w)) {
            return run(r);
        }
    }

    private void matchesTheOracle(LlamaConfig cfg) {
        try (Arena a = Arena.ofConfined()) {
            LlamaWeights w = RandomLlama.create(cfg, 7, a);
            Trace expected = reference(w);
            Backend b = newBackend();
            try (LlamaOpsInference m = new LlamaOpsInference(b, w, b)) {
                assertSameTrace(m.backend().name(), expected, run(m));
                assertThat(m.position()).isEqualTo(PROMPT.length + STEPS + TURN.length + MORE_STEPS);
                assertSameTrace(m.backend().name() + ", again after reset", expected, run(m));
            }
        }
    }

    /** dim and hidden_dim multiples of both q8 group sizes; grouped-query attention, a separate classifier. */
    static final LlamaConfig Q8 = LlamaConfig.llama2c(64, 128, 2, 4, 2, 37, 64, false);

    /**
     * q8 weights (I8 matrices and scales, {@link Backend#matmulQ8Forward}) on this backend give the reference backend's
     * q8 logits and greedy ids (1e-4), also past a 32-row prompt (cuda: its dequantised product), and stay within 2% of
     * this backend's f32 logits, in the predicted bytes.
     */
    @Test
    void q8DecodingMatchesTheReferenceBackendsQ8AndTracksF32() {
        int[] longPrompt = new int[40];
        for (int i = 0; i < longPrompt.length; i++) longPrompt[i] = (i * 7 + 3) % Q8.vocabSize();
        for (int group : new int[] {32, 64}) {
            try (Arena a = Arena.ofConfined()) {
                LlamaWeights w = RandomLlama.create(Q8, 7, a);
                Trace expected, f32;
                float[] expectedLong;
                try (Backend r = new dev.jgpt.backend.reference.ReferenceBackend();
                     LlamaOpsInference m = new LlamaOpsInference(r, w, dev.jgpt.memory.DType.I8, group, null)) {
                    expected = run(m);
                    m.reset();
                    expectedLong = m.prefill(longPrompt).toFloatArray();
                }
                Backend b = newBackend();
                try (LlamaOpsInference m = new LlamaOpsInference(b, w, b)) {
                    f32 = run(m);
                }
                b = newBackend();
                try (LlamaOpsInference m = new LlamaOpsInference(b, w, dev.jgpt.memory.DType.I8, group, b)) {
                    String what = m.backend().name() + " q8, groups of " + group;
                    Trace q8 = run(m);
                    assertSameTrace(what, expected, q8);
                    m.reset();
                    assertSameTrace(what + ", a 40-token prompt", new Trace(List.of(expectedLong), List.of()),
                            new Trace(List.of(m.prefill(longPrompt).toFloatArray()), List.of()));
                    long d = Q8.dim(), V = Q8.vocabSize(), L = Q8.layers(), kv = Q8.kvDim(), h = Q8.hiddenDim();
                    long matrices = L * (2 * d * d + 2 * kv * d + 3 * h * d) + 2 * V * d; // the classifier and the table too
                    assertThat(m.offHeapBytes().get("weights")).as(what + ": f32 norms, int8 matrices and their scales")
                            .isEqualTo(4 * (2 * L * d + d) + matrices + 4 * matrices / group);
                    // passes fed the same ids so far (pass p follows ids 0..p-1)
                    int same = 0;
                    while (same < q8.ids().size() && q8.ids().get(same).equals(f32.ids().get(same))) same++;
                    double worst = 0;
                    for (int p = 0; p <= same && p < q8.logits().size(); p++) {
                        float[] e = f32.logits().get(p), g = q8.logits().get(p);
                        double max = 0, diff = 0;
                        for (int i = 0; i < e.length; i++) {
                            max = Math.max(max, Math.abs(e[i]));
                            diff = Math.max(diff, Math.abs(e[i] - g[i]));
                        }
                        worst = Math.max(worst, diff / max);
                    }
                    assertThat(worst).as(what + " vs f32: relative logit difference (the same positions fed)").isPositive().isLessThan(2e-2);
                }
            }
        }
    }

    @Test
    void groupedQueryAttentionMatchesTheOracle() {
        matchesTheOracle(GQA);
    }

    @Test
    void multiHeadAttentionMatchesTheOracle() {
        matchesTheOracle(MHA);
    }

    /**
     * Prefill attends once per layer, whatever the prompt's length: a prompt at position 0 through
     * gqaAttentionForward, a chat turn that continues the sequence through one gqaAttentionDecode call for all its
     * rows (row by row it was TURN.length calls per layer), a step through one; and the logits stay the oracle's.
     */
    @Test
    void prefillMakesOneAttentionCallPerLayer() {
        try (Arena a = Arena.ofConfined()) {
            LlamaWeights w = RandomLlama.create(GQA, 5, a);
            int L = GQA.layers();
            float[] expected;
            try (ReferenceLlama r = new ReferenceLlama(w)) {
                r.prefill(PROMPT);
                expected = r.prefill(TURN).toFloatArray();
            }
            Backend b = newBackend();
            TimingBackend ops = new TimingBackend(b);
            try (LlamaOpsInference m = new LlamaOpsInference(ops, w, b)) {
                m.prefill(PROMPT);
                assertThat(calls(ops, "gqaAttentionForward")).as("prompt at position 0").isEqualTo(L);
                assertThat(calls(ops, "gqaAttentionDecode")).as("prompt at position 0").isZero();
                ops.reset();
                float[] got = m.prefill(TURN).toFloatArray();
                assertThat(calls(ops, "gqaAttentionDecode")).as("a turn of %d tokens that continues the sequence", TURN.length)
                        .isEqualTo(L);
                assertThat(calls(ops, "gqaAttentionForward")).isZero();
                assertSameTrace("continued prefill over a TimingBackend", new Trace(List.of(expected), List.of()),
                        new Trace(List.of(got), List.of()));
                ops.reset();
                m.step(3);
                assertThat(calls(ops, "gqaAttentionDecode")).as("one step").isEqualTo(L);
            }
        }
    }

    /**
     * A server's batched step ({@code BackendLm.stepBatch}): three sequences at different positions (prompts
     * of 5, 1 and 3 tokens), each a {@link LlamaOpsInference#newSequence} over the first one's weights, advanced
     * together by a leader that holds no sequence, give every sequence the oracle's logits for its own
     * tokens, GQA and not; a sequence over other weights is refused.
     */
    @Test
    void batchedStepsMatchTheOracleForEverySequence() {
        for (LlamaConfig cfg : List.of(GQA, MHA)) {
            try (Arena a = Arena.ofConfined()) {
                LlamaWeights w = RandomLlama.create(cfg, 9, a);
                int[][] prompts = {PROMPT, {4}, TURN};
                int n = prompts.length;
                Backend b = newBackend();
                try (LlamaOpsInference first = new LlamaOpsInference(b, w, b)) {
                    LlamaOpsInference[] seqs = new LlamaOpsInference[n];
                    ReferenceLlama[] oracle = new ReferenceLlama[n];
                    LlamaOpsInference leader = first.newSequence();
                    try {
                        for (int i = 0; i < n; i++) {
                            seqs[i] = i == 0 ? first : first.newSequence();
                            oracle[i] = new ReferenceLlama(w);
                        }
                        int[] next = assertBatchedStepsMatch(b.name() + " batched", leader, seqs, oracle, prompts, 4);
                        // after batched steps, a sequence goes on alone from where it is
                        assertSameTrace(b.name() + " alone after batched steps", new Trace(List.of(oracle[1].step(next[1]).toFloatArray()), List.of()),
                                new Trace(List.of(seqs[1].step(next[1]).toFloatArray()), List.of()));
                        try (LlamaOpsInference other = new LlamaOpsInference(b, RandomLlama.create(cfg, 10, a), null)) {
                            other.prefill(new int[] {1});
                            assertThatThrownBy(() -> leader.stepBatch(new LlamaOpsInference[] {other}, new int[] {2}, 1))
                                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("weights");
                        }
                    } finally {
                        for (int i = 1; i < n; i++) if (seqs[i] != null) seqs[i].close();
                        for (ReferenceLlama r : oracle) if (r != null) r.close();
                        leader.close();
                    }
                }
            }
        }
    }

    /**
     * Batched steps over q8 weights ({@link LlamaOpsInference#newSequence} shares the int8 matrices and their scales):
     * every sequence's logits those of the same sequence stepped alone over the same weights.
     */
    @Test
    void batchedQ8StepsMatchSequencesSteppedAlone() {
        try (Arena a = Arena.ofConfined()) {
            LlamaWeights w = RandomLlama.create(Q8, 9, a);
            int[][] prompts = {PROMPT, {4}, TURN};
            int n = prompts.length;
            Backend b = newBackend();
            try (LlamaOpsInference first = new LlamaOpsInference(b, w, dev.jgpt.memory.DType.I8, 32, b)) {
                LlamaOpsInference[] seqs = new LlamaOpsInference[n], alone = new LlamaOpsInference[n];
                LlamaOpsInference leader = first.newSequence();
                try {
                    for (int i = 0; i < n; i++) {
                        seqs[i] = i == 0 ? first : first.newSequence();
                        alone[i] = first.newSequence();
                    }
                    assertBatchedStepsMatch(b.name() + " q8 batched", leader, seqs, alone, prompts, 3);
                } finally {
                    for (int i = 0; i < n; i++) {
                        if (i > 0 && seqs[i] != null) seqs[i].close();
                        if (alone[i] != null) alone[i].close();
                    }
                    leader.close();
                }
            }
        }
    }

    /**
     * Prefills {@code seqs[i]} and {@code alone[i]} with {@code prompts[i]}, then {@code steps} batched steps of
     * {@code leader} over all the seqs: each row's logits those of {@code alone[i]} stepped by itself (1e-4), each
     * sequence one position further. Returns the ids the next step would feed (greedy on {@code alone}'s logits).
     */
    static int[] assertBatchedStepsMatch(String what, LlamaOpsInference leader, LlamaOpsInference[] seqs, CausalLm[] alone,
                                         int[][] prompts, int steps) {
        int n = seqs.length, V = leader.vocabSize();
        int[] next = new int[n];
        for (int i = 0; i < n; i++) {
            seqs[i].prefill(prompts[i]);
            next[i] = argmax(alone[i].prefill(prompts[i]).toFloatArray());
        }
        for (int step = 0; step < steps; step++) {
            float[] rows = leader.stepBatch(seqs, next, n).toFloatArray();
            for (int i = 0; i < n; i++) {
                float[] want = alone[i].step(next[i]).toFloatArray();
                float[] got = java.util.Arrays.copyOfRange(rows, i * V, (i + 1) * V);
                assertSameTrace(what + ", sequence " + i + ", step " + step, new Trace(List.of(want), List.of()),
                        new Trace(List.of(got), List.of()));
                assertThat(seqs[i].position()).isEqualTo(prompts[i].length + step + 1);
                next[i] = argmax(want);
            }
        }
        return next;
    }

    static long calls(TimingBackend ops, String op) {
        long[] t = ops.totals().get(op);
        return t == null ? 0 : t[1];
    }

    @Test
    void refusesBadTokensAndAFullContext() {
        try (Arena a = Arena.ofConfined(); Backend b = newBackend();
             LlamaOpsInference m = new LlamaOpsInference(b, RandomLlama.create(MHA, 3, a), null)) {
            assertThatThrownBy(() -> m.prefill(new int[] {1, MHA.vocabSize()})).isInstanceOf(JgptException.class)
                    .hasMessageContaining("outside the vocabulary");
            assertThat(m.position()).as("nothing ran").isZero();
            m.prefill(new int[MHA.seqLen() - 1]);
            m.step(0);
            assertThatThrownBy(() -> m.step(0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("context full");
        }
    }
}
