package dev.jgpt.llama;

import dev.jgpt.backend.Backend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Random;
import dev.jgpt.testing.TrainSteps;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link LlamaTrainModel} on one backend: gradients, agreement with inference, overfitting, export. */
abstract class LlamaTrainContractTest {

    protected abstract Backend newBackend();

    private Backend backend;

    @BeforeEach
    void open() { backend = newBackend(); }

    @AfterEach
    void close() { backend.close(); }

    /** 2 layers, dim 8, 2 query heads sharing 1 kv head (GQA), separate or shared classifier. */
    private static LlamaConfig tiny(boolean shared) {
        return LlamaConfig.llama2c(8, 12, 2, 2, 1, 11, 8, shared);
    }

    private static void randomize(LlamaTrainModel model, long seed) {
        Random r = new Random(seed);
        Tensor p = model.parameters();
        for (long i = 0; i < p.numel(); i++) p.setFloat(i, (float) (r.nextGaussian() * 0.3));
        // RMSNorm weights near 1 (the rms_att, rms_ffn, rms_final slices)
        LlamaConfig c = model.config();
        long[] sz = LlamaWeights.sizes(c);
        long off = 0;
        for (int i = 0; i < sz.length; i++) {
            if (i == 1 || i == 6 || i == 10) for (long j = 0; j < sz[i]; j++) p.setFloat(off + j, (float) (1 + 0.2 * r.nextGaussian()));
            off += sz[i];
        }
    }

    @Test
    void gradientsMatchDoublePrecisionFiniteDifferences() {
        for (boolean shared : new boolean[] {false, true}) {
            LlamaConfig c = tiny(shared);
            int B = 2, T = 5;
            int[] tokens = {1, 4, 7, 2, 9, 3, 3, 0, 10, 5};
            int[] targets = {4, 7, -1, 9, 3, 3, 0, 10, -1, 6};
            try (LlamaTrainModel model = new LlamaTrainModel(backend, c, B, T)) {
                randomize(model, 42);
                model.zeroGrad();
                float loss = model.forwardBackward(tokens, targets, B, T);
                double[] p = new double[(int) model.parameterCount()];
                for (int i = 0; i < p.length; i++) p[i] = model.parameters().getFloat(i);
                double exact = DoubleLlama.loss(c, p, tokens, targets, B, T);
                assertThat((double) loss).isCloseTo(exact, org.assertj.core.data.Offset.offset(1e-5 * Math.max(1, exact)));

                long[] sz = LlamaWeights.sizes(c);
                int views = shared ? 11 : 12;
                Random r = new Random(7);
                double worst = 0;
                long off = 0;
                for (int v = 0; v < views; v++) {
                    long size = v < 11 ? sz[v] : (long) c.vocabSize() * c.dim();
                    for (int s = 0; s < 8; s++) {
                        int i = (int) (off + r.nextInt((int) size));
                        double h = 1e-4, keep = p[i];
                        p[i] = keep + h;
                        double up = DoubleLlama.loss(c, p, tokens, targets, B, T);
                        p[i] = keep - h;
                        double down = DoubleLlama.loss(c, p, tokens, targets, B, T);
                        p[i] = keep;
                        double numeric = (up - down) / (2 * h);
                        double analytic = model.gradients().getFloat(i);
                        double rel = Math.abs(analytic - numeric) / (Math.abs(numeric) + 1e-3);
                        worst = Math.max(worst, rel);
                        assertThat(rel).as("view %d element %d (shared %s): analytic %s numeric %s", v, i, shared,
                                analytic, numeric).isLessThan(1e-3);
                    }
                    off += size;
                }
                System.out.printf("llama gradient check on %s (shared %s): worst relative error %.2e%n",
                        backend.name(), shared, worst);
                // forward alone gives the same loss as forwardBackward
                assertThat(model.forward(tokens, targets, B, T)).isEqualTo(loss);
                try (TensorArena host = TensorArena.host()) {
                    Tensor tk = host.allocate(DType.I32, B * T), tg = host.allocate(DType.I32, B * T);
                    for (int i = 0; i < B * T; i++) {
                        tk.setInt(i, tokens[i]);
                        tg.setInt(i, targets[i]);
                    }
                    assertThat(model.forward(tk, tg, B, T)).as("host tensor overload").isEqualTo(loss);
                }
            }
        }
    }

    @Test
    void badTokensGiveOneClearError() {
        LlamaConfig c = tiny(false);
        try (LlamaTrainModel model = new LlamaTrainModel(backend, c, 1, 4)) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> model.forward(new int[] {1, 2, 11, 3}, null, 1, 4))
                    .isInstanceOf(dev.jgpt.JgptException.class)
                    .hasMessage("token 11 at position 2 (sequence 0, index 2) is outside the vocabulary [0, 11)");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> model.forward(new int[] {1, 2, 3, 4, 5}, null, 1, 5))
                    .isInstanceOf(dev.jgpt.JgptException.class).hasMessageContaining("exceeds the model's 1 x 4");
            model.zeroGrad();
            assertThat(model.forwardBackward(new int[] {1, 2, 3, 4}, new int[] {-1, -1, -1, -1}, 1, 4)).isZero();
            assertThat(model.gradNorm()).as("no gradient when every target is ignored").isZero();
        }
    }

    @Test
    void forwardLogitsEqualReferenceLlamaDecode() {
        LlamaConfig c = LlamaConfig.llama2c(16, 24, 2, 4, 2, 19, 12, false);
        int T = 7;
        int[] tokens = {1, 5, 18, 3, 3, 11, 0};
        try (LlamaTrainModel model = new LlamaTrainModel(backend, c, 1, T);
             TensorArena host = TensorArena.host()) {
            randomize(model, 3);
            model.forward(tokens, null, 1, T);
            Tensor logits = host.allocate(DType.F32, T, c.vocabSize());
            model.logits(logits);
            try (ReferenceLlama ref = new ReferenceLlama(model.weights())) {
                for (int t = 0; t < T; t++) {
                    float[] expected = ref.step(tokens[t]).toFloatArray();
                    for (int j = 0; j < c.vocabSize(); j++) {
                        float got = logits.getFloat((long) t * c.vocabSize() + j);
                        assertThat(Math.abs(got - expected[j])).as("position %d logit %d", t, j)
                                .isLessThan(1e-4f * (1 + Math.abs(expected[j])));
                    }
                }
            }
        }
    }

    @Test
    void tinyModelOverfitsOneBatch() {
        LlamaConfig c = LlamaConfig.llama2c(32, 64, 2, 4, 2, 32, 16, false);
        int B = 2, T = 16;
        Random r = new Random(1);
        int[] seq = new int[B * T + 1];
        for (int i = 0; i < seq.length; i++) seq[i] = r.nextInt(c.vocabSize());
        int[] tokens = java.util.Arrays.copyOf(seq, B * T), targets = java.util.Arrays.copyOfRange(seq, 1, B * T + 1);
        try (LlamaTrainModel model = new LlamaTrainModel(backend, c, B, T)) {
            model.initWeights(5);
            float first = Float.NaN, loss = Float.NaN;
            int steps = 0;
            while (steps < 300) {
                model.zeroGrad();
                loss = model.forwardBackward(tokens, targets, B, T);
                if (steps == 0) first = loss;
                if (loss < 0.1f) break;
                TrainSteps.clipAndAdamw(model, 1e-2f, 0.0f);
                steps++;
            }
            System.out.printf("llama overfit on %s: loss %.3f -> %.4f in %d steps%n", backend.name(), first, loss, steps);
            assertThat(first).isGreaterThan(3f);
            assertThat(loss).isLessThan(0.1f);
        }
    }

    @Test
    void exportedCheckpointDecodesLikeTheTrainedModel(@TempDir Path dir) {
        LlamaConfig c = LlamaConfig.llama2c(16, 24, 2, 4, 1, 19, 12, true);
        Path file = dir.resolve("trained.bin");
        int[] tokens = {1, 2, 3, 4, 5};
        try (LlamaTrainModel model = new LlamaTrainModel(backend, c, 1, 8)) {
            model.initWeights(9);
            model.zeroGrad();
            model.forwardBackward(tokens, new int[] {2, 3, 4, 5, 6}, 1, 5);
            model.adamwStep(1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, 1f);
            model.writeLlama2c(file);
            try (Arena arena = Arena.ofConfined();
                 ReferenceLlama trained = new ReferenceLlama(model.weights())) {
                LlamaWeights read = Llama2cCheckpoint.open(file, arena);
                assertThat(read.config()).isEqualTo(c);
                try (ReferenceLlama loaded = new ReferenceLlama(read)) {
                    for (int t : tokens) {
                        assertThat(loaded.step(t).toFloatArray()).containsExactly(trained.step(t).toFloatArray());
                    }
                }
            }
        }
    }

    /**
     * The whole path: train a tiny Llama until it has memorised one sequence, export it as a llama2.c
     * checkpoint, load that with the fast native {@link LlamaInference} and decode greedily: it must
     * give the memorised continuation and the same tokens as {@link ReferenceLlama} on the trained weights.
     */
    @Test
    void trainedAndExportedModelRecitesItsTrainingSequence(@TempDir Path dir) {
        org.assertj.core.api.Assumptions.assumeThat(dev.jgpt.backend.cpu.NativeLibraries.status().available())
                .as("libjgpt needed for LlamaInference").isTrue();
        LlamaConfig c = LlamaConfig.llama2c(32, 64, 2, 4, 2, 32, 16, false);
        int T = 16;
        Random r = new Random(11);
        int[] seq = new int[T + 1];
        for (int i = 0; i < seq.length; i++) seq[i] = r.nextInt(c.vocabSize());
        int[] tokens = java.util.Arrays.copyOf(seq, T), targets = java.util.Arrays.copyOfRange(seq, 1, T + 1);
        Path file = dir.resolve("recite.bin");
        int[] reference;
        try (LlamaTrainModel model = new LlamaTrainModel(backend, c, 1, T)) {
            model.initWeights(2);
            float loss = Float.NaN;
            for (int step = 0; step < 400; step++) {
                model.zeroGrad();
                loss = model.forwardBackward(tokens, targets, 1, T);
                if (loss < 0.02f) break;
                TrainSteps.clipAndAdamw(model, 1e-2f, 0.0f);
            }
            assertThat(loss).isLessThan(0.02f);
            model.writeLlama2c(file);
            try (ReferenceLlama ref = new ReferenceLlama(model.weights())) {
                reference = LlamaInferenceTest.greedy(ref, new int[] {seq[0]}, T - 1, null);
            }
        }
        int[] expected = java.util.Arrays.copyOfRange(seq, 1, T);  // prompt + 15 steps fill seq_len 16
        assertThat(reference).as("reference greedy continuation").containsExactly(expected);
        try (LlamaInference fast = LlamaModels.openLlama2c(file, DecodeDType.F32, 32, 1)) {
            assertThat(LlamaInferenceTest.greedy(fast, new int[] {seq[0]}, T - 1, null)).as("exported, native decode")
                    .containsExactly(expected);
        }
    }
}
