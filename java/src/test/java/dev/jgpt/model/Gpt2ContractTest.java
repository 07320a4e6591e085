package dev.jgpt.model;

import dev.jgpt.backend.Backend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Random;
import dev.jgpt.testing.TrainSteps;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * What every backend must do with the whole model: exact gradients, learning, and inference that
 * agrees with training's forward. Subclasses name the backend ({@link ReferenceGpt2Test}; a cpu or
 * cuda subclass is one method).
 */
abstract class Gpt2ContractTest {

    protected abstract Backend newBackend();

    private Backend backend;
    private TensorArena host;

    @BeforeEach
    void open() {
        backend = newBackend();
        host = TensorArena.host();
    }

    @AfterEach
    void close() {
        host.close();
        backend.close();
    }

    /** Random parameters larger than GPT-2's init, so every path (attention, layernorm scale) matters. */
    static double[] randomParams(ParameterLayout layout, long seed) {
        Random rnd = new Random(seed);
        double[] w = new double[(int) layout.size()];
        for (ParameterLayout.View v : layout.views()) {
            String n = v.name();
            for (long i = v.offset(); i < v.offset() + v.numel(); i++) {
                double z = rnd.nextGaussian();
                w[(int) i] = n.startsWith("ln") && n.endsWith("w") ? 1 + 0.2 * z
                        : n.endsWith("b") ? 0.2 * z
                        : n.startsWith("w") ? 0.5 * z
                        : 0.3 * z;
            }
        }
        for (int i = 0; i < w.length; i++) w[i] = (float) w[i]; // representable exactly in F32
        return w;
    }

    private void load(Tensor dst, double[] w) {
        Tensor h = host.allocate(DType.F32, w.length);
        for (int i = 0; i < w.length; i++) h.setFloat(i, (float) w[i]);
        backend.copy(dst, h);
    }

    private float[] read(Tensor src) {
        Tensor h = host.allocate(DType.F32, src.numel());
        backend.copy(h, src);
        return h.toFloatArray();
    }

    /**
     * The worst relative error allowed between the backend's gradients and finite differences of the double-precision
     * model. F32 storage of every activation leaves ~1e-6 on the reference backend (3e-6 measured); 1e-4 leaves room
     * for float accumulation in sgemm-based backends yet catches any wrong term (a missing or mis-scaled contribution
     * is an O(1) relative error).
     */
    protected Backend backend() {
        return backend;
    }

    protected double gradientTolerance() {
        return 1e-4;
    }

    @Test
    void gradientsMatchDoublePrecisionFiniteDifferences() {
        checkGradientsAgainstFiniteDifferences(gradientTolerance());
    }

    /** Every parameter tensor's gradient at 12 random positions against central differences of {@link DoubleGpt2}. */
    protected void checkGradientsAgainstFiniteDifferences(double tolerance) {
        GptConfig cfg = new GptConfig(13, 8, 2, 2, 8);
        int B = 2, T = 6;
        Random rnd = new Random(7);
        int[] tokens = new int[B * T], targets = new int[B * T];
        for (int i = 0; i < B * T; i++) {
            tokens[i] = rnd.nextInt(cfg.vocabSize());
            targets[i] = i % 5 == 3 ? -1 : rnd.nextInt(cfg.vocabSize()); // some ignored positions
        }
        DoubleGpt2 judge = new DoubleGpt2(cfg);
        ParameterLayout layout = ParameterLayout.of(cfg);
        double[] w = randomParams(layout, 11);
        // buffers sized larger than the batch: ops must index (B,T) activations, not (maxB,maxT) ones
        try (Gpt2 model = new Gpt2(backend, cfg, B + 1, cfg.contextLength())) {
            load(model.params().flat(), w);
            model.zeroGrad();
            float loss = model.forward(tokens, targets, B, T);
            model.backward();
            assertThat((double) loss).isCloseTo(judge.loss(w, tokens, targets, B, T), within(1e-5));
            float[] grads = read(model.grads().flat());

            // forwardBackward accumulates the same gradient (computing the logits once)
            model.zeroGrad();
            float loss2 = model.forwardBackward(tokens, targets, B, T);
            assertThat(loss2).isEqualTo(loss);
            assertThat(read(model.grads().flat())).containsExactly(grads, within(1e-6f));

            double h = 1e-4, worst = 0;
            String worstAt = "";
            for (ParameterLayout.View v : layout.views()) {
                for (int s = 0; s < 12; s++) {
                    int i = (int) (v.offset() + rnd.nextLong(v.numel()));
                    double orig = w[i];
                    w[i] = orig + h;
                    double up = judge.loss(w, tokens, targets, B, T);
                    w[i] = orig - h;
                    double down = judge.loss(w, tokens, targets, B, T);
                    w[i] = orig;
                    double numeric = (up - down) / (2 * h);
                    double err = Math.abs(grads[i] - numeric) / (Math.abs(numeric) + 1e-3);
                    if (err > worst) {
                        worst = err;
                        worstAt = v.name() + "[" + (i - v.offset()) + "]: analytic " + grads[i] + " numeric " + numeric;
                    }
                }
            }
            System.out.println("gradient check: worst relative error " + worst + " at " + worstAt);
            assertThat(worst).as(worstAt).isLessThan(tolerance);
        }
    }

    @Test
    void tinyModelOverfitsOneBatch() {
        GptConfig cfg = GptConfig.preset("tiny", 64);
        int B = 2, T = 16;
        Random rnd = new Random(5);
        int[] tokens = new int[B * T], targets = new int[B * T];
        for (int i = 0; i < B * T; i++) tokens[i] = rnd.nextInt(cfg.vocabSize());
        for (int i = 0; i < B * T; i++) targets[i] = (i + 1) % T == 0 ? rnd.nextInt(cfg.vocabSize()) : tokens[i + 1];
        try (Gpt2 model = new Gpt2(backend, cfg, B, T)) {
            model.initWeights(42);
            float first = Float.NaN, loss = Float.NaN;
            int step = 0;
            long t0 = System.nanoTime();
            for (; step < 300; step++) {
                model.zeroGrad();
                loss = model.forwardBackward(tokens, targets, B, T);
                if (step == 0) first = loss;
                if (loss < 0.1f) break;
                TrainSteps.clipAndAdamw(model, 3e-3f, 0.0f);
            }
            System.out.printf("overfit on %s: loss %.3f -> %.4f after %d steps, %.1f ms/step%n", backend.name(), first,
                    loss, step, (System.nanoTime() - t0) / 1e6 / Math.max(1, step));
            assertThat((double) first).isCloseTo(Math.log(cfg.vocabSize()), within(0.5));
            assertThat(loss).isLessThan(0.1f);
        }
    }

    @Test
    void inferenceLogitsEqualTheFullForwardAtEveryPosition() {
        GptConfig cfg = new GptConfig(13, 12, 2, 2, 8);
        int T = 10;
        Random rnd = new Random(9);
        int[] tokens = new int[T];
        for (int i = 0; i < T; i++) tokens[i] = rnd.nextInt(cfg.vocabSize());
        try (Gpt2 model = new Gpt2(backend, cfg, 1, T)) {
            load(model.params().flat(), randomParams(model.layout(), 3));
            float[][] expected = fullLogits(model, tokens);
            try (Gpt2Inference lm = Gpt2Inference.of(model)) {
                // prefill then single steps
                assertRow(lm.prefill(java.util.Arrays.copyOf(tokens, 4)), expected[3], 3);
                for (int t = 4; t < T; t++) assertRow(lm.step(tokens[t]), expected[t], t);
                assertThat(lm.position()).isEqualTo(T);
                // a prefill that continues a cached sequence (offset > 0), then a step
                lm.reset();
                assertRow(lm.prefill(java.util.Arrays.copyOfRange(tokens, 0, 3)), expected[2], 2);
                assertRow(lm.prefill(java.util.Arrays.copyOfRange(tokens, 3, 7)), expected[6], 6);
                assertRow(lm.step(tokens[7]), expected[7], 7);
                // stepping from an empty cache
                lm.reset();
                for (int t = 0; t < T; t++) assertRow(lm.step(tokens[t]), expected[t], t);
            }
        }
    }

    /**
     * A prefill attends once per layer for all its rows (gqaAttentionDecode with NKV = NH), at position 0 and when it
     * continues the sequence; row by row it was one call per token and layer. A step uses attentionDecode, once
     * per layer. Counted by a {@link dev.jgpt.backend.TimingBackend} over the backend; the logits still equal
     * the full forward's.
     */
    @Test
    void prefillMakesOneAttentionCallPerLayer() {
        GptConfig cfg = new GptConfig(13, 12, 2, 2, 8);
        int T = 9, L = cfg.layers();
        Random rnd = new Random(11);
        int[] tokens = new int[T];
        for (int i = 0; i < T; i++) tokens[i] = rnd.nextInt(cfg.vocabSize());
        try (Gpt2 model = new Gpt2(backend, cfg, 1, T)) {
            load(model.params().flat(), randomParams(model.layout(), 5));
            float[][] expected = fullLogits(model, tokens);
            dev.jgpt.backend.TimingBackend ops = new dev.jgpt.backend.TimingBackend(backend);   // closed with backend
            try (Gpt2Inference lm = new Gpt2Inference(ops, cfg, model.params().flat())) {
                assertRow(lm.prefill(java.util.Arrays.copyOf(tokens, 5)), expected[4], 4);
                assertThat(calls(ops, "gqaAttentionDecode")).as("a 5-token prompt").isEqualTo(L);
                assertThat(calls(ops, "attentionDecode")).isZero();
                ops.reset();
                assertRow(lm.prefill(java.util.Arrays.copyOfRange(tokens, 5, 8)), expected[7], 7);
                assertThat(calls(ops, "gqaAttentionDecode")).as("3 tokens that continue the sequence").isEqualTo(L);
                ops.reset();
                assertRow(lm.step(tokens[8]), expected[8], 8);
                assertThat(calls(ops, "gqaAttentionDecodeRows")).as("a step: its k and v written and attended in one op").isEqualTo(L);
                assertThat(calls(ops, "gqaAttentionDecode") + calls(ops, "attentionDecode")).isZero();
                assertThat(calls(ops, "copy")).as("a step: the token id (and on a device the logits to the host)")
                        .isEqualTo(backend instanceof dev.jgpt.backend.cuda.CudaBackend ? 2 : 1);
                assertThat(calls(ops, "matmulForward")).as("a step: q, k and v in one product per layer").isEqualTo(4L * L + 1);
                assertThat(calls(ops, "residualLayernormForward")).as("residual adds fused with the next layernorm")
                        .isEqualTo(2L * L - 1);
            }
        }
    }

    private static long calls(dev.jgpt.backend.TimingBackend ops, String op) {
        long[] t = ops.totals().get(op);
        return t == null ? 0 : t[1];
    }

    @Test
    void prefillLongerThanOneChunkMatchesTheFullForward() {
        int T = Gpt2Inference.PREFILL_CHUNK + 30;
        GptConfig cfg = new GptConfig(11, T + 2, 1, 2, 4);
        Random rnd = new Random(10);
        int[] tokens = new int[T];
        for (int i = 0; i < T; i++) tokens[i] = rnd.nextInt(cfg.vocabSize());
        try (Gpt2 model = new Gpt2(backend, cfg, 1, T)) {
            load(model.params().flat(), randomParams(model.layout(), 4));
            float[][] expected = fullLogits(model, tokens);
            try (Gpt2Inference lm = Gpt2Inference.of(model)) {
                assertRow(lm.prefill(java.util.Arrays.copyOf(tokens, T - 1)), expected[T - 2], T - 2);
                assertRow(lm.step(tokens[T - 1]), expected[T - 1], T - 1);
            }
        }
    }

    private float[][] fullLogits(Gpt2 model, int[] tokens) {
        int T = tokens.length, V = model.config().vocabSize();
        model.forward(tokens, null, 1, T);
        try (TensorArena arena = backend.newArena()) {
            Tensor logits = arena.allocate(DType.F32, T, V);
            model.logits(logits);
            float[] all = read(logits);
            float[][] rows = new float[T][];
            for (int t = 0; t < T; t++) rows[t] = java.util.Arrays.copyOfRange(all, t * V, (t + 1) * V);
            return rows;
        }
    }

    private static void assertRow(Tensor logits, float[] expected, int position) {
        assertThat(logits.isHost()).isTrue();
        assertThat(logits.numel()).isEqualTo(expected.length);
        assertThat(logits.toFloatArray()).as("logits at position %d", position).containsExactly(expected, within(1e-4f));
    }
}
