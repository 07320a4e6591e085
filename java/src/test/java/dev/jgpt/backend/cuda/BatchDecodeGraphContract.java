package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.generate.BackendLm;
import dev.jgpt.llama.LlamaConfig;
import dev.jgpt.llama.LlamaOpsInference;
import dev.jgpt.llama.LlamaWeights;
import dev.jgpt.llama.RandomLlama;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.model.GptConfig;
import dev.jgpt.model.ParameterLayout;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * CUDA graphs for the server's batched decode step ({@code BackendLm.stepBatchOnDevice} /
 * {@code stepBatchCandidates}: one graph per batch size n and top-k kind, the rows' tokens, positions and cache
 * addresses read from a device row table uploaded once per step). Two worlds over the same weights and prompts step
 * the same sequences through the same schedule (n = 3 and n = 5 in turn, sequences joining and leaving, each at its
 * own position): graphs off (op by op) and on; the logits and the device candidates must be the same, GPT-2 and
 * Llama. Run on the stand-in driver ({@link FakeDriverCudaBatchDecodeGraphTest}, which also counts the host's driver
 * calls per step) and on a GPU ({@link CudaBatchDecodeGraphTest}).
 */
abstract class BatchDecodeGraphContract extends CudaReferenceFixture {
    /** V 264, context 48, 2 layers, 2 heads, C 32. */
    static final GptConfig CFG = new GptConfig(264, 48, 2, 2, 32);
    /** Llama with grouped-query attention: dim 24, hidden 40, 2 layers, 4 heads, 2 kv heads, V 37, context 40. */
    static final LlamaConfig LLAMA = LlamaConfig.llama2c(24, 40, 2, 4, 2, 37, 40, false);
    static final int[][] PROMPTS = {{5, 17, 9, 3, 20}, {2}, {11, 7, 1}, {30, 8, 8, 8, 1, 2, 3}, {4, 4}, {6, 1, 9, 12}};
    /** Which sequences step together: n 3, then 5, then 3 again with others (5 joins), then 5 again. */
    static final int[][] SCHEDULE = {{0, 1, 2}, {0, 1, 2}, {0, 1, 2}, {0, 1, 2, 3, 4}, {0, 1, 2, 3, 4}, {0, 1, 2, 3, 4},
            {1, 3, 5}, {1, 3, 5}, {0, 2, 3, 4, 5}, {5, 4, 3}, {4, 0, 5, 1, 3}};

    /** Graphs and executable graphs alive in the driver, or -1 where that cannot be counted (a GPU). */
    protected long liveGraphs() {
        return -1;
    }

    /** Host driver calls so far [kernels, cuBLAS, copies, graph launches], or null where they cannot be counted (a GPU). */
    protected long[] hostCalls() {
        return null;
    }

    /** The stand-in replays the eager kernels with the same arguments: the same bits; a GPU may pick another cuBLAS algorithm. */
    double bound() {
        return liveGraphs() >= 0 ? 0 : 1e-5;
    }

    /** One world: a sequence per prompt over the same weights, prefilled; sequence 0 leads the batched steps. */
    static BackendLm[] world(Supplier<BackendLm> first) {
        BackendLm[] seqs = new BackendLm[PROMPTS.length];
        seqs[0] = first.get();
        for (int i = 1; i < seqs.length; i++) seqs[i] = seqs[0].newSequence();
        for (int i = 0; i < seqs.length; i++) seqs[i].prefill(PROMPTS[i]);
        return seqs;
    }

    static void close(BackendLm[] seqs) {
        for (int i = seqs.length - 1; i >= 0; i--) if (seqs[i] != null) seqs[i].close();
    }

    Tensor gpt2Params(long seed) {
        Tensor h = host.allocate(DType.F32, ParameterLayout.of(CFG).size());
        Random r = new Random(seed);
        for (long i = 0; i < h.numel(); i++) h.setFloat(i, (float) (0.3 * r.nextGaussian()));
        return up(h);
    }

    @Test
    void gpt2BatchedGraphStepsGiveTheEagerLogitsAsSequencesJoinAndLeave() {
        Tensor params = gpt2Params(5);
        fullLogitSchedule(() -> new Gpt2Inference(cuda, CFG, params), CFG.vocabSize(), "GPT-2");
    }

    @Test
    void llamaBatchedGraphStepsGiveTheEagerLogitsAsSequencesJoinAndLeave() {
        try (Arena a = Arena.ofConfined()) {
            LlamaWeights w = RandomLlama.create(LLAMA, 8, a);
            fullLogitSchedule(() -> new LlamaOpsInference(cuda, w, null), LLAMA.vocabSize(), "Llama");
        }
    }

    /** The schedule in both worlds through stepBatch (full logits to the host): same logits, one graph per n. */
    void fullLogitSchedule(Supplier<BackendLm> first, int V, String what) {
        long graphsBefore = liveGraphs();
        BackendLm[] eager = null, graphed = null;
        try {
            eager = world(first);
            graphed = world(first);
            BackendLm[] e = new BackendLm[5], g = new BackendLm[5];
            int[] next = new int[PROMPTS.length];
            for (int i = 0; i < next.length; i++) next[i] = (3 * i + 1) % V;
            int[] tokens = new int[5];
            long[] replayCalls = null;
            for (int step = 0; step < SCHEDULE.length; step++) {
                int[] rows = SCHEDULE[step];
                int n = rows.length;
                for (int r = 0; r < n; r++) {
                    e[r] = eager[rows[r]];
                    g[r] = graphed[rows[r]];
                    tokens[r] = next[rows[r]];
                }
                cuda.setGraphs(false);
                float[] want = eager[0].stepBatch(e, tokens, n).view(0, (long) n * V).toFloatArray();
                cuda.setGraphs(true);
                long[] before = hostCalls();
                Tensor out = graphed[0].stepBatch(g, tokens, n);
                long[] after = hostCalls();
                if (step == SCHEDULE.length - 1 && before != null) {
                    replayCalls = new long[4];
                    for (int i = 0; i < 4; i++) replayCalls[i] = after[i] - before[i];
                }
                float[] got = out.view(0, (long) n * V).toFloatArray();
                double max = 0;
                for (int i = 0; i < want.length; i++) {
                    assertThat(Float.isFinite(got[i])).as("%s step %d: finite logit %d", what, step, i).isTrue();
                    max = Math.max(max, Math.abs(want[i] - got[i]));
                }
                assertThat(max).as("%s step %d (n %d): graph vs eager logits", what, step, n).isLessThanOrEqualTo(bound());
                for (int r = 0; r < n; r++) {
                    assertThat(graphed[rows[r]].position()).isEqualTo(eager[rows[r]].position());
                    int best = 0;
                    for (int i = 1; i < V; i++) if (want[r * V + i] > want[r * V + best]) best = i;
                    next[rows[r]] = best;
                }
            }
            // n 3: steps 0, 1, 2, 6, 7, 9; n 5: 3, 4, 5, 8, 10; the first of each size runs eagerly (warm-up)
            assertThat(graphed[0].batchGraphCaptures()).as("%s: one capture per batch size", what).isEqualTo(2);
            assertThat(graphed[0].batchGraphsHeld()).isEqualTo(2);
            assertThat(graphed[0].batchGraphSteps()).as("%s: replayed steps", what).isEqualTo(SCHEDULE.length - 2);
            assertThat(eager[0].batchGraphSteps()).as("graphs off").isZero();
            if (graphsBefore >= 0) assertThat(liveGraphs()).isEqualTo(graphsBefore + 2);
            if (replayCalls != null) {
                System.out.printf("stand-in host calls per replayed batched step (%s, n 5, full logits back): %d kernels,"
                        + " %d cuBLAS, %d copies, %d graph launches%n", what, replayCalls[0], replayCalls[1], replayCalls[2],
                        replayCalls[3]);
                assertThat(replayCalls).as("kernels, cuBLAS, copies (the row table up, the logits back), graph launches")
                        .containsExactly(0, 0, 2, 1);
            }
        } finally {
            if (graphed != null) close(graphed);
            if (eager != null) close(eager);
        }
        if (graphsBefore >= 0) assertThat(liveGraphs()).as("closing the leader destroys its graphs").isEqualTo(graphsBefore);
    }

    @Test
    void gpt2BatchedCandidatesThroughGraphsAreTheEagerOnes() {
        Tensor params = gpt2Params(9);
        candidateSchedule(() -> new Gpt2Inference(cuda, CFG, params), 261, "GPT-2");
    }

    @Test
    void llamaBatchedCandidatesThroughGraphsAreTheEagerOnes() {
        try (Arena a = Arena.ofConfined()) {
            LlamaWeights w = RandomLlama.create(LLAMA, 12, a);
            candidateSchedule(() -> new LlamaOpsInference(cuda, w, null), LLAMA.vocabSize(), "Llama");
        }
    }

    /**
     * The schedule in both worlds through stepBatchCandidates, greedy (k 1) and top-5 (the graph holds the top-64 and
     * hands out each row's first 5): the same ids and values; a replayed step is one upload and one graph launch.
     */
    void candidateSchedule(Supplier<BackendLm> first, int V, String what) {
        BackendLm[] eager = null, graphed = null;
        try {
            eager = world(first);
            graphed = world(first);
            BackendLm[] e = new BackendLm[5], g = new BackendLm[5];
            int[] next = new int[PROMPTS.length];
            for (int i = 0; i < next.length; i++) next[i] = (5 * i + 2) % V;
            int[] tokens = new int[5];
            int[] k5ids = new int[5 * 5], eIds = new int[5 * 5], gIds = new int[5 * 5];
            float[] eVals = new float[5 * 5], gVals = new float[5 * 5];
            long[] replayCalls = null;
            for (int k : new int[] {1, 5}) {
                for (int step = 0; step < SCHEDULE.length; step++) {
                    int[] rows = SCHEDULE[step];
                    int n = rows.length;
                    for (int r = 0; r < n; r++) {
                        e[r] = eager[rows[r]];
                        g[r] = graphed[rows[r]];
                        tokens[r] = next[rows[r]];
                    }
                    cuda.setGraphs(false);
                    eager[0].stepBatchCandidates(e, tokens, n, V, k, eIds, eVals);
                    cuda.setGraphs(true);
                    long[] before = hostCalls();
                    graphed[0].stepBatchCandidates(g, tokens, n, V, k, gIds, gVals);
                    long[] after = hostCalls();
                    if (k == 5 && step == SCHEDULE.length - 1 && before != null) {
                        replayCalls = new long[4];
                        for (int i = 0; i < 4; i++) replayCalls[i] = after[i] - before[i];
                    }
                    for (int i = 0; i < n * k; i++) {
                        assertThat(gIds[i]).as("%s k %d step %d: candidate %d id", what, k, step, i).isEqualTo(eIds[i]);
                        assertThat((double) Math.abs(gVals[i] - eVals[i])).as("%s k %d step %d: candidate %d", what, k, step, i)
                                .isLessThanOrEqualTo(bound());
                    }
                    for (int r = 0; r < n; r++) next[rows[r]] = eIds[r * k + (step % k)]; // not always the top one
                }
            }
            assertThat(graphed[0].batchGraphCaptures()).as("%s: greedy and top-k, n 3 and 5", what).isEqualTo(4);
            assertThat(graphed[0].batchGraphSteps()).isEqualTo(2L * (SCHEDULE.length - 2));
            if (replayCalls != null) {
                System.out.printf("stand-in host calls per replayed batched step (%s, n 5, top-5 candidates back): %d kernels,"
                        + " %d cuBLAS, %d copies, %d graph launches%n", what, replayCalls[0], replayCalls[1], replayCalls[2],
                        replayCalls[3]);
                assertThat(replayCalls).as("kernels, cuBLAS, copies (the row table up), graph launches").containsExactly(0, 0, 1, 1);
            }
        } finally {
            if (graphed != null) close(graphed);
            if (eager != null) close(eager);
        }
    }

    /** A batched capture that synchronises: one message, that model's batched steps stay op by op, the same logits. */
    @Test
    void aFailedBatchedCaptureIsSaidOnceAndStepsOpByOp() {
        Tensor params = gpt2Params(13);
        int V = CFG.vocabSize();
        BackendLm[] eager = null, graphed = null;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream original = System.err;
        try {
            eager = world(() -> new Gpt2Inference(cuda, CFG, params));
            graphed = world(() -> new Gpt2Inference(cuda, CFG, params));
            int[] tokens = {1, 2, 3};
            BackendLm[] e = {eager[0], eager[1], eager[2]}, g = {graphed[0], graphed[1], graphed[2]};
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            try {
                for (int step = 0; step < 5; step++) {
                    cuda.setGraphs(false);
                    float[] want = eager[0].stepBatch(e, tokens, 3).view(0, 3L * V).toFloatArray();
                    cuda.setGraphs(true);
                    if (step == 1) cuda.synchronizeInNextCapture();
                    float[] got = graphed[0].stepBatch(g, tokens, 3).view(0, 3L * V).toFloatArray();
                    for (int i = 0; i < want.length; i++) {
                        assertThat((double) Math.abs(want[i] - got[i])).as("step %d logit %d", step, i).isLessThanOrEqualTo(bound());
                    }
                    for (int r = 0; r < 3; r++) tokens[r] = (tokens[r] * 7 + step) % V;
                }
            } finally {
                System.setErr(original);
            }
            assertThat(graphed[0].batchGraphSteps()).isZero();
            assertThat(graphed[0].batchGraphsHeld()).isZero();
        } finally {
            if (graphed != null) close(graphed);
            if (eager != null) close(eager);
        }
        String[] lines = err.toString(StandardCharsets.UTF_8).lines().filter(s -> !s.isBlank()).toArray(String[]::new);
        assertThat(lines).as("one message for the failed capture").hasSize(1);
        assertThat(lines[0]).contains("batched step").contains("CUDA graph failed").contains("cuStreamSynchronize");
    }
}
