package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.generate.ByteTokenizer;
import dev.jgpt.generate.DeviceLogits;
import dev.jgpt.generate.GenerationConfig;
import dev.jgpt.generate.Generator;
import dev.jgpt.generate.TokenListener;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * CUDA graphs for single-sequence decode ({@link DecodeGraph}, {@code BackendLm}'s step graph): a GPT-2 sequence
 * decoding with its step captured once and replayed per token gives the same logits and tokens as the op-by-op
 * (eager) cuda path, across a reset and a second prompt, and the reference backend's greedy tokens; a replayed token
 * is one graph launch; a capture that synchronises fails cleanly and the sequence decodes op by op. Run on the
 * stand-in driver ({@link FakeDriverCudaDecodeGraphTest}, which also counts the host's driver calls) and on a GPU
 * ({@link CudaDecodeGraphTest}).
 */
abstract class DecodeGraphContract extends CudaReferenceFixture {
    /** V 264 (past 261 ids, as llm.c pads), context 48, 2 layers, 2 heads, C 32. */
    static final GptConfig CFG = new GptConfig(264, 48, 2, 2, 32);
    static final int STEPS = 24;
    static final int[] PROMPT_A = {5, 17, 99, 3, 200}, PROMPT_B = {42, 7, 1};

    /** Graphs and executable graphs alive in the driver, or -1 where that cannot be counted (a GPU). */
    protected long liveGraphs() {
        return -1;
    }

    /** Captures the stand-in saw invalidated, or -1 where that cannot be counted (a GPU). */
    protected long invalidatedCaptures() {
        return -1;
    }

    /** Host copies of the random weights, their device copy. */
    protected Tensor hostParams, devParams;

    protected void weights(long seed) {
        hostParams = host.allocate(DType.F32, ParameterLayout.of(CFG).size());
        Random r = new Random(seed);
        for (long i = 0; i < hostParams.numel(); i++) hostParams.setFloat(i, (float) (0.3 * r.nextGaussian()));
        devParams = up(hostParams);
    }

    /** Greedy decode of {@code steps} tokens after {@code prompt}: every pass's logits (host copies) and the tokens. */
    record Decoded(List<float[]> logits, int[] tokens) {}

    static Decoded greedy(Gpt2Inference lm, int[] prompt, int steps) {
        List<float[]> logits = new ArrayList<>();
        int[] tokens = new int[steps];
        Tensor l = lm.prefill(prompt);
        for (int s = 0; s < steps; s++) {
            float[] row = new float[CFG.vocabSize()];
            for (int i = 0; i < row.length; i++) row[i] = l.getFloat(i);
            logits.add(row);
            tokens[s] = argmax(row);
            l = lm.step(tokens[s]);
        }
        return new Decoded(logits, tokens);
    }

    static int argmax(float[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
        return best;
    }

    /**
     * The graph runs the eager path's kernels with the same arguments (only the position comes from memory), so the
     * stand-in must give the same bits; on a GPU 1e-6 leaves room for a cuBLAS algorithm chosen differently.
     */
    double logitBound() {
        return liveGraphs() >= 0 ? 0 : 1e-6;
    }

    void assertSameLogits(Decoded expected, Decoded actual, String what) {
        assertThat(actual.tokens()).as("tokens, %s", what).containsExactly(expected.tokens());
        double max = 0;
        for (int p = 0; p < expected.logits().size(); p++) {
            float[] e = expected.logits().get(p), a = actual.logits().get(p);
            for (int i = 0; i < e.length; i++) {
                assertThat(Float.isFinite(a[i])).as("finite logit %d of pass %d, %s", i, p, what).isTrue();
                max = Math.max(max, Math.abs(e[i] - a[i]));
            }
        }
        assertThat(max).as("largest logit difference, %s", what).isLessThanOrEqualTo(logitBound());
    }

    @Test
    void graphStepsGiveTheEagerLogitsAndTheReferenceTokensAcrossAReset() {
        weights(11);
        long graphsBefore = liveGraphs();
        Decoded eagerA, eagerB;
        cuda.setGraphs(false);
        try (Gpt2Inference eager = new Gpt2Inference(cuda, CFG, devParams)) {
            eagerA = greedy(eager, PROMPT_A, STEPS);
            eager.reset();
            eagerB = greedy(eager, PROMPT_B, STEPS);
            assertThat(eager.graphSteps()).as("graphs off: no replay").isZero();
        }
        Decoded refA, refB;
        try (Gpt2Inference onRef = new Gpt2Inference(ref, CFG, hostParams)) {
            refA = greedy(onRef, PROMPT_A, STEPS);
            onRef.reset();
            refB = greedy(onRef, PROMPT_B, STEPS);
        }
        cuda.setGraphs(true);
        long captures = cuda.graphCaptures();
        try (Gpt2Inference graphed = new Gpt2Inference(cuda, CFG, devParams)) {
            Decoded a = greedy(graphed, PROMPT_A, STEPS);
            // the first step runs eagerly (warm-up), the second is captured and replayed, and so on
            assertThat(graphed.graphSteps()).as("replayed steps, first prompt").isEqualTo(STEPS - 1);
            assertThat(graphed.hasStepGraph()).isTrue();
            graphed.reset();
            Decoded b = greedy(graphed, PROMPT_B, STEPS);
            assertThat(graphed.graphSteps()).as("a reset keeps the graph: every step replays").isEqualTo(2L * STEPS - 1);
            assertThat(cuda.graphCaptures() - captures).as("one capture for the sequence").isEqualTo(1);
            assertSameLogits(eagerA, a, "graph vs eager, first prompt");
            assertSameLogits(eagerB, b, "graph vs eager, second prompt after reset");
            assertThat(a.tokens()).as("graph vs reference greedy tokens, first prompt").containsExactly(refA.tokens());
            assertThat(b.tokens()).as("graph vs reference greedy tokens, second prompt").containsExactly(refB.tokens());
            if (graphsBefore >= 0) assertThat(liveGraphs()).as("one executable graph while the sequence lives").isEqualTo(graphsBefore + 1);
        }
        if (graphsBefore >= 0) assertThat(liveGraphs()).as("close destroys the graph").isEqualTo(graphsBefore);
    }

    @Test
    void bf16GraphStepsGiveTheEagerLogits() {
        cuda.setMath(GemmMath.BF16);
        weights(5);
        Decoded eager;
        cuda.setGraphs(false);
        try (Gpt2Inference lm = new Gpt2Inference(cuda, CFG, devParams)) {
            eager = greedy(lm, PROMPT_A, STEPS);
        }
        cuda.setGraphs(true);
        try (Gpt2Inference lm = new Gpt2Inference(cuda, CFG, devParams)) {
            Decoded graphed = greedy(lm, PROMPT_A, STEPS);
            assertThat(lm.graphSteps()).isEqualTo(STEPS - 1);
            assertSameLogits(eager, graphed, "bf16, graph vs eager");
            // a product on a larger operand grows a bf16 operand slot (the old one is freed): the graph converted into
            // it, so it is not replayed; the next step runs op by op, the one after captures anew
            Tensor big = dev.allocate(DType.F32, 1024, 1024), w = dev.allocate(DType.F32, 8, 1024), out = dev.allocate(DType.F32, 1024, 8);
            cuda.zero(big);
            cuda.zero(w);
            cuda.matmulForward(out, big, w, null, 1024, 1024, 8);
            long before = cuda.graphCaptures();
            lm.reset();
            Decoded again = greedy(lm, PROMPT_A, STEPS);
            assertThat(cuda.graphCaptures() - before).as("captured anew after the slot moved").isEqualTo(1);
            assertThat(lm.graphSteps()).as("the first step after the move op by op, then replays").isEqualTo(2L * (STEPS - 1));
            assertSameLogits(eager, again, "bf16, graph after a slot moved vs eager");
            // a change of precision makes the graph stale: the next step runs op by op, the one after captures anew
            cuda.setMath(GemmMath.FP32);
            long captures = cuda.graphCaptures();
            Tensor l = lm.step(1);
            assertThat(lm.graphSteps()).as("the stale graph is not replayed").isEqualTo(2L * STEPS - 2);
            assertThat(Float.isFinite(l.getFloat(0))).isTrue();
            lm.step(2);
            assertThat(cuda.graphCaptures() - captures).as("captured again under fp32").isEqualTo(1);
            assertThat(lm.graphSteps()).isEqualTo(2L * STEPS - 1);
        }
    }

    @Test
    void aTokenSampledOnTheDeviceIsOneGraphLaunchAndOneUpload() {
        weights(3);
        int k = 6;
        Map<String, Long> graphed = profileDeviceSteps(true, k), eager = profileDeviceSteps(false, k);
        System.out.println("DecodeGraph profile calls over " + k + " tokens (L=" + CFG.layers() + "): graphs " + graphed
                + "; eager " + eager);
        String graphRow = "graph: Gpt2Inference step";
        assertThat(graphed).as("per token: the step upload, one graph launch, the top-k's two kernels").containsOnlyKeys(
                "memcpy HtoD", graphRow, "topk_partial", "topk_merge");
        assertThat(graphed.get(graphRow)).isEqualTo(k);
        assertThat(graphed.get("memcpy HtoD")).isEqualTo(k);
        assertThat(graphed.get("topk_partial")).isEqualTo(k);
        assertThat(graphed.get("topk_merge")).isEqualTo(k);
        long eagerCalls = eager.values().stream().mapToLong(Long::longValue).sum();
        assertThat(eager).doesNotContainKey(graphRow);
        assertThat(eagerCalls).as("op by op: a dozen calls per layer and token").isGreaterThan(10L * CFG.layers() * k);
    }

    /**
     * Prefills {@link #PROMPT_A} and steps twice with the top {@code id.length} candidates (the warm-up, then the
     * capture), so the next {@code stepTopCandidates} of that k replays the step's graph; id/val hold the last ones.
     */
    static DeviceLogits primedTopKGraph(Gpt2Inference lm, int[] id, float[] val) {
        DeviceLogits d = lm.deviceLogits();
        int k = id.length, V = lm.config().vocabSize();
        d.prefillOnDevice(PROMPT_A);
        d.topCandidates(V, k, id, val);
        for (int s = 0; s < 2; s++) d.stepTopCandidates(id[0], V, k, id, val);
        return d;
    }

    /**
     * With the sampler's k known at the step ({@code DeviceLogits.stepTopCandidates}, what {@code Generator} calls),
     * the top-k joins the step's graph: a token is the upload and one graph launch on the timeline, nothing else.
     */
    @Test
    void aTokenSteppedWithItsTopKIsOneUploadAndOneGraphLaunch() {
        weights(3);
        int k = 6;
        cuda.setGraphs(true);
        try (Gpt2Inference lm = new Gpt2Inference(cuda, CFG, devParams)) {
            int[] id = new int[5];
            float[] val = new float[5];
            DeviceLogits d = primedTopKGraph(lm, id, val);
            KernelTimeline t = cuda.timeline();
            t.reset();
            t.beginStep();
            for (int s = 0; s < k; s++) d.stepTopCandidates(id[0], CFG.vocabSize(), 5, id, val);
            t.endStep();
            Map<String, Long> calls = new TreeMap<>();
            for (KernelTimeline.Row r : t.profile().rows()) calls.put(r.name(), r.calls());
            t.reset();
            String graphRow = "graph: Gpt2Inference step";
            assertThat(calls).as("per token: the step upload and one graph launch (the top-k inside)")
                    .containsOnlyKeys("memcpy HtoD", graphRow);
            assertThat(calls.get(graphRow)).isEqualTo(k);
            assertThat(calls.get("memcpy HtoD")).isEqualTo(k);
            assertThat(lm.graphSteps()).isEqualTo(k + 1);
        }
    }

    /**
     * {@code Generator} on cuda samples through the step graph with its top-k inside: greedy and seeded top-k / top-p
     * give exactly the tokens of graphs off (op by op, the top-k launched separately), and the reference backend's.
     */
    @Test
    void generatorTokensThroughTheTopKGraphAreTheEagerOnes() {
        weights(21);
        ByteTokenizer tok = ByteTokenizer.withChatTokens();
        List<GenerationConfig> configs = List.of(
                GenerationConfig.DEFAULTS.withTemperature(0).withMaxNewTokens(16),
                GenerationConfig.DEFAULTS.withTopK(5).withTopP(1.0).withTemperature(0.9).withSeed(3L)
                        .withMaxNewTokens(16),
                GenerationConfig.DEFAULTS.withSeed(11L).withMaxNewTokens(16), // top-k 40 + top-p 0.95
                GenerationConfig.DEFAULTS.withTopK(CudaBackend.TOPK_MAX).withSeed(7L).withMaxNewTokens(16));
        Generator gen = new Generator();
        for (GenerationConfig config : configs) {
            int[][] got = new int[3][];
            for (int world = 0; world < 3; world++) {
                cuda.setGraphs(world == 1);
                try (Gpt2Inference lm = world == 2 ? new Gpt2Inference(ref, CFG, hostParams) : new Gpt2Inference(cuda, CFG, devParams)) {
                    got[world] = gen.generate(lm, tok, PROMPT_A, config, TokenListener.NONE).tokenIds();
                    if (world == 1) {
                        assertThat(gen.lastDeviceCandidates()).as("sampled from device candidates").isPositive();
                        assertThat(lm.graphSteps()).as("tokens replayed from the graph, %s", config).isGreaterThan(got[1].length / 2);
                    }
                }
            }
            assertThat(got[1]).as("graph + top-k vs op by op, %s", config).containsExactly(got[0]);
            if (config.temperature() == 0) assertThat(got[1]).as("graph vs reference, greedy").containsExactly(got[2]);
        }
    }

    /** The kernel timeline's calls per name over k device-sampled greedy tokens (after two untimed ones). */
    Map<String, Long> profileDeviceSteps(boolean graphs, int k) {
        cuda.setGraphs(graphs);
        try (Gpt2Inference lm = new Gpt2Inference(cuda, CFG, devParams)) {
            DeviceLogits d = lm.deviceLogits();
            int[] id = new int[1];
            float[] val = new float[1];
            d.prefillOnDevice(PROMPT_A);
            for (int s = 0; s < 2; s++) { // warm-up and capture
                d.topCandidates(CFG.vocabSize(), 1, id, val);
                d.stepOnDevice(id[0]);
            }
            KernelTimeline t = cuda.timeline();
            t.reset();
            t.beginStep();
            for (int s = 0; s < k; s++) {
                d.topCandidates(CFG.vocabSize(), 1, id, val);
                d.stepOnDevice(id[0]);
            }
            t.endStep();
            Map<String, Long> calls = new TreeMap<>();
            for (KernelTimeline.Row r : t.profile().rows()) calls.put(r.name(), r.calls());
            t.reset();
            assertThat(lm.graphSteps()).isEqualTo(graphs ? k + 1 : 0);
            return calls;
        }
    }

    @Test
    void aCaptureThatSynchronisesFailsCleanlyAndTheSequenceDecodesOpByOp() {
        weights(7);
        Decoded eager;
        cuda.setGraphs(false);
        try (Gpt2Inference lm = new Gpt2Inference(cuda, CFG, devParams)) {
            eager = greedy(lm, PROMPT_A, STEPS);
        }
        cuda.setGraphs(true);
        long invalidated = invalidatedCaptures();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream original = System.err;
        Decoded fallback;
        try (Gpt2Inference lm = new Gpt2Inference(cuda, CFG, devParams)) {
            cuda.synchronizeInNextCapture();
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            try {
                fallback = greedy(lm, PROMPT_A, STEPS);
            } finally {
                System.setErr(original);
            }
            assertThat(lm.hasStepGraph()).isFalse();
            assertThat(lm.graphSteps()).isZero();
        }
        String[] lines = err.toString(StandardCharsets.UTF_8).lines().filter(s -> !s.isBlank()).toArray(String[]::new);
        assertThat(lines).as("one message for the failed capture").hasSize(1);
        assertThat(lines[0]).contains("CUDA graph failed").contains("cuStreamSynchronize").contains("op by op");
        if (invalidated >= 0) {
            assertThat(lines[0]).contains("CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED");
            assertThat(invalidatedCaptures() - invalidated).as("the stand-in invalidated one capture").isEqualTo(1);
        }
        assertSameLogits(eager, fallback, "after a failed capture vs eager");
        // the stream works after the failed capture, and the next sequence captures normally
        try (Gpt2Inference lm = new Gpt2Inference(cuda, CFG, devParams)) {
            Decoded again = greedy(lm, PROMPT_A, STEPS);
            assertThat(lm.graphSteps()).isEqualTo(STEPS - 1);
            assertSameLogits(eager, again, "a fresh sequence after a failed capture");
        }
    }

    /** Llama (grouped-query attention, RoPE at the position read from device memory): graph vs eager, across a reset. */
    @Test
    void llamaGraphStepsGiveTheEagerLogits() {
        LlamaConfig gqa = LlamaConfig.llama2c(24, 40, 2, 4, 2, 37, 40, false);
        try (Arena a = Arena.ofConfined()) {
            LlamaWeights w = RandomLlama.create(gqa, 21, a);
            List<float[]> eager = new ArrayList<>(), graphed = new ArrayList<>();
            int[] eagerIds, graphIds;
            cuda.setGraphs(false);
            try (LlamaOpsInference lm = new LlamaOpsInference(cuda, w, null)) {
                eagerIds = llamaGreedy(lm, eager);
                assertThat(lm.graphSteps()).isZero();
            }
            cuda.setGraphs(true);
            try (LlamaOpsInference lm = new LlamaOpsInference(cuda, w, null)) {
                graphIds = llamaGreedy(lm, graphed);
                assertThat(lm.graphSteps()).as("every step after the first of the first prompt replays").isEqualTo(2L * 12 - 1);
            }
            assertThat(graphIds).containsExactly(eagerIds);
            double max = 0;
            for (int p = 0; p < eager.size(); p++) {
                for (int i = 0; i < eager.get(p).length; i++) max = Math.max(max, Math.abs(eager.get(p)[i] - graphed.get(p)[i]));
            }
            // RoPE runs in rope_rotate_rows here and rope_rotate op by op: the same arithmetic, 1e-5 left on a GPU for contraction
            assertThat(max).as("largest logit difference, Llama graph vs eager").isLessThanOrEqualTo(liveGraphs() >= 0 ? 0 : 1e-5);
        }
    }

    /** Two prompts (a reset between) of 12 greedy steps each: every pass's logits, the ids. */
    private static int[] llamaGreedy(LlamaOpsInference lm, List<float[]> logits) {
        int[] ids = new int[24];
        int n = 0;
        for (int[] prompt : new int[][] {{1, 5, 20, 3, 11}, {7, 2, 19}}) {
            lm.reset();
            float[] l = lm.prefill(prompt).toFloatArray();
            for (int s = 0; s < 12; s++) {
                logits.add(l);
                ids[n] = argmax(l);
                l = lm.step(ids[n++]).toFloatArray();
            }
            logits.add(l);
        }
        return ids;
    }

    @Test
    void aDriverWithoutGraphCallsIsSaidOnceAndDecodesOpByOp() {
        weights(9);
        Decoded eager;
        cuda.setGraphs(false);
        try (Gpt2Inference lm = new Gpt2Inference(cuda, CFG, devParams)) {
            eager = greedy(lm, PROMPT_A, STEPS);
        }
        cuda.setGraphs(true);
        cuda.driverWithoutGraphsForTests();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream original = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            for (int seq = 0; seq < 2; seq++) {
                try (Gpt2Inference lm = new Gpt2Inference(cuda, CFG, devParams)) {
                    assertSameLogits(eager, greedy(lm, PROMPT_A, STEPS), "without graph calls, sequence " + seq);
                    assertThat(lm.graphSteps()).isZero();
                }
            }
        } finally {
            System.setErr(original);
        }
        String[] lines = err.toString(StandardCharsets.UTF_8).lines().filter(s -> !s.isBlank()).toArray(String[]::new);
        assertThat(lines).as("said once for the backend, not per sequence").hasSize(1);
        assertThat(lines[0]).contains("CUDA graphs unavailable").contains("cuStreamBeginCapture_v2");
        assertThat(cuda.graphsEnabled()).isFalse();
    }

    @Test
    void aCapturedRegionRunsOnlyWhenTheGraphIsLaunched() {
        Tensor h = host.allocate(DType.F32, 8);
        for (int i = 0; i < 8; i++) h.setFloat(i, 1f + i);
        Tensor d = up(h);
        Tensor back = host.allocate(DType.F32, 8);
        try (var g = cuda.capture(() -> cuda.zero(d), "zero")) {
            assertThat(g).isNotNull();
            cuda.copy(back, d);
            assertThat(back.getFloat(3)).as("recorded, not run").isEqualTo(4f);
            assertThat(g.launch()).isTrue();
            cuda.copy(back, d);
            for (int i = 0; i < 8; i++) assertThat(back.getFloat(i)).as("run by the launch").isZero();
            cuda.copy(d, h);
            assertThat(g.launch()).isTrue();
            cuda.copy(back, d);
            assertThat(back.getFloat(7)).as("replayed").isZero();
        }
    }
}
