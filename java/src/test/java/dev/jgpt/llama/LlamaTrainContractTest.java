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
        int[][] batch = randomBatch(c, B, T, 1);
        int[] tokens = batch[0], targets = batch[1];
        try (LlamaTrainModel model = new LlamaTrainModel(backend, c, B, T)) {
            model.initWeights(5);
            Fit f = fit(model, tokens, targets, B, T, 0.1f, 300);
            System.out.printf("llama overfit on %s: loss %.3f -> %.4f in %d steps%n", backend.name(), f.first, f.last, f.steps);
            assertThat(f.first).isGreaterThan(3f);
            assertThat(f.last).isLessThan(0.1f);
        }
    }

    /** B x T random tokens and, as targets, the same sequence shifted by one. */
    private static int[][] randomBatch(LlamaConfig c, int B, int T, long seed) {
        Random r = new Random(seed);
        int[] seq = new int[B * T + 1];
        for (int i = 0; i < seq.length; i++) seq[i] = r.nextInt(c.vocabSize());
        return new int[][] {java.util.Arrays.copyOf(seq, B * T), java.util.Arrays.copyOfRange(seq, 1, B * T + 1)};
    }

    /** The first and last loss and the steps taken by AdamW (lr 1e-2) on one batch until the loss is below {@code stop}. */
    private record Fit(float first, float last, int steps) {}

    private static Fit fit(LlamaTrainModel model, int[] tokens, int[] targets, int B, int T, float stop, int maxSteps) {
        float first = Float.NaN, loss = Float.NaN;
        int steps = 0;
        while (steps < maxSteps) {
            model.zeroGrad();
            loss = model.forwardBackward(tokens, targets, B, T);
            if (steps == 0) first = loss;
            if (loss < stop) break;
            TrainSteps.clipAndAdamw(model, 1e-2f, 0.0f);
            steps++;
        }
        return new Fit(first, loss, steps);
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
        // JUnit's assumption, not AssertJ's (whose proxies need byte-buddy, which the GPU bundle leaves out)
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.jgpt.backend.cpu.NativeLibraries.status().available(),
                "libjgpt needed for LlamaInference");
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
    // ---- LoRA: frozen weights, trained low-rank adapters ---------------------------------------

    /** The weights the adapted model computes with, in double: W + scale B A for every adapted matrix. */
    private static double[] merged(LlamaConfig c, LoraSpec spec, double[] base, double[] adapters) {
        double[] w = base.clone();
        long[] sz = LlamaWeights.sizes(c);
        int r = spec.rank();
        double s = spec.scale();
        int k = 0;
        for (int l = 0; l < c.layers(); l++) {
            for (LoraSpec.Target t : spec.ordered()) {
                int in = t.in(c), out = t.out(c), fi = t.fileIndex;
                long off = 0;
                for (int i = 0; i < fi; i++) off += sz[i];
                off += (long) l * out * in;
                int a = k, b = k + r * in;
                for (int o = 0; o < out; o++) {
                    for (int x = 0; x < in; x++) {
                        double sum = 0;
                        for (int j = 0; j < r; j++) sum += adapters[b + o * r + j] * adapters[a + j * in + x];
                        w[(int) off + o * in + x] += s * sum;
                    }
                }
                k = b + out * r;
            }
        }
        return w;
    }

    private static double[] doubles(Tensor t) {
        double[] out = new double[(int) t.numel()];
        for (int i = 0; i < out.length; i++) out[i] = t.getFloat(i);
        return out;
    }

    /** Random adapters (B non-zero, so every gradient is non-zero), written to the backend. */
    private static void randomizeAdapters(LoraAdapters lora, long seed) {
        Random r = new Random(seed);
        Tensor h = lora.host();
        for (long i = 0; i < h.numel(); i++) h.setFloat(i, (float) (r.nextGaussian() * 0.3));
        lora.upload(h);
    }

    @Test
    void loraGradientsMatchFiniteDifferencesOfTheMergedModel() {
        int B = 2, T = 5;
        int[] tokens = {1, 4, 7, 2, 9, 3, 3, 0, 10, 5};
        int[] targets = {4, 7, -1, 9, 3, 3, 0, 10, -1, 6};
        for (LoraSpec spec : new LoraSpec[] {new LoraSpec(2, 3.0, LoraSpec.ALL),
                new LoraSpec(3, 1.0, LoraSpec.parseTargets("q_proj,v_proj,down_proj"))}) {
            LlamaConfig c = tiny(spec.targets().size() == 7);
            try (LlamaTrainModel model = new LlamaTrainModel(backend, c, B, T, spec)) {
                randomize(model, 42);
                randomizeAdapters(model.lora(), 3);
                double[] base = doubles(model.parameters()), ad = doubles(model.lora().host());
                assertThat(model.parameterCount()).as("trainable: the adapters").isEqualTo(spec.parameterCount(c))
                        .isEqualTo(ad.length);
                assertThat(model.frozenParameterCount()).isEqualTo(base.length);
                model.zeroGrad();
                float loss = model.forwardBackward(tokens, targets, B, T);
                double exact = DoubleLlama.loss(c, merged(c, spec, base, ad), tokens, targets, B, T);
                assertThat((double) loss).as("loss of the merged model").isCloseTo(exact,
                        org.assertj.core.data.Offset.offset(1e-5 * Math.max(1, exact)));
                Tensor grads = model.gradients();
                assertThat(grads.numel()).isEqualTo(ad.length);
                Random r = new Random(7);
                double worst = 0;
                for (int s = 0; s < 48; s++) {
                    int i = r.nextInt(ad.length);
                    double h = 1e-4, keep = ad[i];
                    ad[i] = keep + h;
                    double up = DoubleLlama.loss(c, merged(c, spec, base, ad), tokens, targets, B, T);
                    ad[i] = keep - h;
                    double down = DoubleLlama.loss(c, merged(c, spec, base, ad), tokens, targets, B, T);
                    ad[i] = keep;
                    double numeric = (up - down) / (2 * h), analytic = grads.getFloat(i);
                    double rel = Math.abs(analytic - numeric) / (Math.abs(numeric) + 1e-3);
                    worst = Math.max(worst, rel);
                    assertThat(rel).as("%s adapter element %d: analytic %s numeric %s", spec, i, analytic, numeric)
                            .isLessThan(1e-3);
                }
                System.out.printf("llama LoRA gradient check on %s (%s): worst relative error %.2e%n", backend.name(), spec, worst);

                // a step moves the adapters only; the model holds no gradient or moments of its weights
                float[] frozen = model.parameters().toFloatArray(), before = model.lora().host().toFloatArray();
                model.adamwStep(1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, 1f);
                assertThat(model.parameters().toFloatArray()).as("frozen weights").containsExactly(frozen);
                assertThat(model.lora().host().toFloatArray()).as("adapters").isNotEqualTo(before);
                assertThat(model.offHeapBytes().get("grads")).isEqualTo(4L * ad.length);
                assertThat(model.offHeapBytes().get("optimizer")).isEqualTo(8L * ad.length);
            }
        }
    }

    @Test
    void loraAdaptersAloneFitABatch() {
        LlamaConfig c = LlamaConfig.llama2c(32, 64, 2, 4, 2, 32, 16, false);
        int B = 2, T = 16;
        int[][] batch = randomBatch(c, B, T, 1);
        int[] tokens = batch[0], targets = batch[1];
        try (LlamaTrainModel model = new LlamaTrainModel(backend, c, B, T, new LoraSpec(8, 16, LoraSpec.ALL))) {
            randomize(model, 5); // a frozen classifier of init's N(0, 0.02) could not give any logit more than ~0.7
            model.lora().initWeights(6);
            float[] frozen = model.parameters().toFloatArray();
            Fit f = fit(model, tokens, targets, B, T, 0.2f, 400);
            System.out.printf("llama LoRA fit on %s: loss %.3f -> %.4f in %d steps%n", backend.name(), f.first, f.last, f.steps);
            assertThat(f.first).as("B starts at zero: the base model's loss").isGreaterThan(3f);
            assertThat(f.last).isLessThan(0.2f);
            assertThat(model.parameters().toFloatArray()).as("frozen weights").containsExactly(frozen);
        }
    }

    @Test
    void loraCheckpointIsTheMergedModelAndTheAdaptersRoundTrip(@TempDir Path dir) throws java.io.IOException {
        LlamaConfig c = LlamaConfig.llama2c(16, 24, 2, 4, 2, 19, 12, false);
        LoraSpec spec = new LoraSpec(4, 8, LoraSpec.ALL);
        int T = 6;
        int[] tokens = {1, 5, 18, 3, 3, 11}, targets = {5, 18, 3, 3, 11, 0};
        Path file = dir.resolve("merged.bin");
        try (LlamaTrainModel model = new LlamaTrainModel(backend, c, 1, T, spec);
             LlamaTrainModel again = new LlamaTrainModel(backend, c, 1, T, spec);
             TensorArena host = TensorArena.host()) {
            randomize(model, 3);
            model.lora().initWeights(4);
            for (int s = 0; s < 3; s++) {
                model.zeroGrad();
                model.forwardBackward(tokens, targets, 1, T);
                model.adamwStep(1e-2f, 0.9f, 0.95f, 1e-8f, 0f, 1f);
            }
            float loss = model.forward(tokens, targets, 1, T);
            Tensor logits = host.allocate(DType.F32, T, c.vocabSize());
            model.logits(logits);
            model.writeLlama2c(file);
            try (Arena arena = Arena.ofConfined();
                 ReferenceLlama merged = new ReferenceLlama(Llama2cCheckpoint.open(file, arena));
                 TrainModelLm sampler = new TrainModelLm(model)) {
                for (int t = 0; t < T; t++) {
                    float[] expected = merged.step(tokens[t]).toFloatArray();
                    // the samples' generator: the training forward over the sequence so far, adapters applied
                    float[] recomputed = (t == 0 ? sampler.prefill(new int[] {tokens[0]}) : sampler.step(tokens[t])).toFloatArray();
                    for (int j = 0; j < c.vocabSize(); j++) {
                        float got = logits.getFloat((long) t * c.vocabSize() + j);
                        assertThat(Math.abs(got - expected[j])).as("position %d logit %d", t, j)
                                .isLessThan(1e-4f * (1 + Math.abs(expected[j])));
                        assertThat(Math.abs(recomputed[j] - expected[j])).as("sampler: position %d logit %d", t, j)
                                .isLessThan(1e-4f * (1 + Math.abs(expected[j])));
                    }
                }
                assertThat(sampler.position()).isEqualTo(T);
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> sampler.step(1)).isInstanceOf(IllegalArgumentException.class);
            }
            model.forward(tokens, targets, 1, T); // the sampler's forwards overwrote the activations

            model.lora().writePeft(dir);
            again.parameters().copyFrom(model.parameters().toFloatArray());
            again.lora().readPeft(dir);
            assertThat(again.lora().host().toFloatArray()).containsExactly(model.lora().host().toFloatArray());
            assertThat(again.forward(tokens, targets, 1, T)).isEqualTo(loss);

            // PEFT's file: Hugging Face names and shapes; q's B rows in rotate-half order (row h*hs + j*hs/2 + i
            // holds llama2.c's row h*hs + 2i + j), o's B as it is
            try (dev.jgpt.io.Safetensors.Reader rd = dev.jgpt.io.Safetensors.open(dir.resolve(LoraAdapters.WEIGHTS))) {
                assertThat(rd.entries()).hasSize(2 * 7 * c.layers());
                var qa = rd.require("base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight", DType.F32, 4, 16);
                var qb = rd.require("base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight", DType.F32, 16, 4);
                var ob = rd.require("base_model.model.model.layers.0.self_attn.o_proj.lora_B.weight", DType.F32, 16, 4);
                rd.require("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight", DType.F32, 4, 24);
                rd.require("base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight", DType.F32, 8, 4);
                float[] ad = model.lora().host().toFloatArray();
                long perLayer = spec.parameterCount(c) / c.layers();
                // layer 1 starts after layer 0's adapters; within a layer: q, k, v, o, gate, up, down, each A then B
                int q1 = (int) perLayer, q1b = q1 + 4 * 16, o0b = (4 * 16 + 16 * 4) + 2 * (4 * 16 + 8 * 4) + 4 * 16;
                int hs = c.headSize();
                for (int x = 0; x < 4 * 16; x++) assertThat(qa.data().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, x)).isEqualTo(ad[q1 + x]);
                for (int h = 0; h < c.heads(); h++) {
                    for (int i = 0; i < hs / 2; i++) {
                        for (int j = 0; j < 2; j++) {
                            int hfRow = h * hs + j * hs / 2 + i, ownRow = h * hs + 2 * i + j;
                            for (int k = 0; k < 4; k++) {
                                assertThat(qb.data().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, hfRow * 4L + k))
                                        .isEqualTo(ad[q1b + ownRow * 4 + k]);
                            }
                        }
                    }
                }
                for (int x = 0; x < 16 * 4; x++) assertThat(ob.data().getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, x)).isEqualTo(ad[o0b + x]);
            }
            var config = dev.jgpt.io.Json.MAPPER.readTree(java.nio.file.Files.readString(dir.resolve(LoraAdapters.CONFIG)));
            assertThat(config.path("peft_type").asString()).isEqualTo("LORA");
            assertThat(config.path("r").asInt()).isEqualTo(4);
            assertThat(config.path("lora_alpha").asDouble()).isEqualTo(8.0);
            assertThat(config.path("target_modules").size()).isEqualTo(7);
        }
    }

    /**
     * Attention's probabilities recomputed before each layer's backward (one shared buffer instead of one per layer,
     * what a long window of an imported model gets): the same losses and gradients, bit for bit, and less memory.
     */
    @Test
    void recomputedAttentionGivesTheSameGradients() {
        LlamaConfig c = LlamaConfig.llama2c(16, 24, 3, 4, 2, 19, 12, false);
        int B = 2, T = 6;
        int[] tokens = {1, 5, 18, 3, 3, 11, 0, 2, 4, 6, 8, 10}, targets = {5, 18, 3, 3, 11, 0, 2, 4, -1, 8, 10, 12};
        for (LoraSpec lora : new LoraSpec[] {null, new LoraSpec(2, 4, LoraSpec.ALL)}) {
            try (LlamaTrainModel kept = new LlamaTrainModel(backend, c, B, T, lora, null, false);
                 LlamaTrainModel recomputed = new LlamaTrainModel(backend, c, B, T, lora, null, true)) {
                randomize(kept, 8);
                recomputed.parameters().copyFrom(kept.parameters().toFloatArray());
                if (lora != null) {
                    randomizeAdapters(kept.lora(), 9);
                    randomizeAdapters(recomputed.lora(), 9);
                }
                for (int step = 0; step < 2; step++) {
                    kept.zeroGrad();
                    recomputed.zeroGrad();
                    assertThat(recomputed.forwardBackward(tokens, targets, B, T)).isEqualTo(kept.forwardBackward(tokens, targets, B, T));
                    assertThat(recomputed.gradients().toFloatArray()).as("step %d, LoRA %s", step, lora)
                            .containsExactly(kept.gradients().toFloatArray());
                    kept.adamwStep(1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, 1f);
                    recomputed.adamwStep(1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, 1f);
                }
                assertThat(recomputed.offHeapBytes().get("activations")).isLessThan(kept.offHeapBytes().get("activations"));
            }
        }
    }
}
