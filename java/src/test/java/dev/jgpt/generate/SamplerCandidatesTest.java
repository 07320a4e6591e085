package dev.jgpt.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.testing.Properties;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link Sampler#sampleCandidates} (the k largest logits, as a device picks them) gives the same tokens as
 * {@link Sampler#sample} on the full logits, with the same seed: ties, -0/+0, -inf, NaN and +inf included.
 */
class SamplerCandidatesTest {
    private static final int MAX = 64; // CudaBackend.TOPK_MAX

    @Test
    void candidatesGiveTheFullLogitTokenForEverySettingThatQualifies() {
        int[] fellBack = {0};
        try (TensorArena arena = TensorArena.host()) {
            Properties.forAll(400, r -> {
                int n = 2 + r.nextInt(r.nextBoolean() ? 10 : 300);  // the sampler's vocabulary
                int padded = n + r.nextInt(3);                        // the model may pad its output
                GenerationConfig cfg = qualifyingConfig(r, n);
                Sampler full = new Sampler(n), cand = new Sampler(n);
                full.reset(cfg);
                cand.reset(cfg);
                int k = cand.candidatesNeeded(MAX);
                assertThat(k).isEqualTo(cfg.greedy() ? 1 : cfg.topK());
                int[] idx = new int[k];
                float[] val = new float[k];
                Tensor t = arena.allocate(DType.F32, padded);
                for (int draw = 0; draw < 6; draw++) {
                    float[] logits = logits(r, padded, n);
                    t.copyFrom(logits);
                    int expected = full.sample(t);
                    KernelTopK.topK(logits, n, k, idx, val);
                    if (r.nextInt(4) == 0) shuffle(r, idx, val, k); // any order
                    int got = cand.sampleCandidates(idx, val, k);
                    if (got < 0) {
                        fellBack[0]++;
                        float top = Float.NEGATIVE_INFINITY;
                        for (int j = 0; j < k; j++) top = Math.max(top, val[j]);
                        assertThat(Float.isFinite(top)).as("fell back with a finite maximum").isFalse();
                        got = cand.sample(t);
                    }
                    assertThat(got).as("draw %d, %s, n %d, logits %s", draw, cfg, n, java.util.Arrays.toString(logits)).isEqualTo(expected);
                }
            });
        }
        assertThat(fellBack[0]).as("cases with a non-finite maximum").isPositive();
    }

    @Test
    void settingsThatNeedTheFullDistributionAskForNoCandidates() {
        Sampler s = new Sampler(100);
        GenerationConfig base = GenerationConfig.DEFAULTS.withSeed(1L);
        s.reset(base.withTopK(40).withTopP(0.9));
        assertThat(s.candidatesNeeded(MAX)).isEqualTo(40);
        s.reset(base.withTemperature(0).withTopK(0).withTopP(0.5));
        assertThat(s.candidatesNeeded(MAX)).isEqualTo(1);
        s.reset(base.withTopK(40).withRepetitionPenalty(1.1));
        assertThat(s.candidatesNeeded(MAX)).isZero();
        s.reset(base.withTemperature(0).withRepetitionPenalty(1.1));
        assertThat(s.candidatesNeeded(MAX)).isZero();
        s.reset(base.withTopK(0).withTopP(0.9));
        assertThat(s.candidatesNeeded(MAX)).isZero();
        s.reset(base.withTopK(0).withTopP(1.0));
        assertThat(s.candidatesNeeded(MAX)).isZero();
        s.reset(base.withTopK(65));
        assertThat(s.candidatesNeeded(MAX)).isZero();
        assertThat(s.candidatesNeeded(65)).isEqualTo(65);
        s.reset(base.withTopK(100)); // k = vocabulary: the sampler reads every logit
        assertThat(s.candidatesNeeded(1000)).isZero();
        assertThatThrownBy(() -> s.sampleCandidates(new int[100], new float[100], 100)).isInstanceOf(IllegalStateException.class);
        s.reset(base.withTopK(3));
        assertThatThrownBy(() -> s.sampleCandidates(new int[4], new float[4], 4)).hasMessageContaining("k:");
        assertThatThrownBy(() -> s.sampleCandidates(new int[] {0, 1, 100}, new float[3], 3)).hasMessageContaining("100");
    }

    @Test
    void equalLogitsTieToTheLowerIdEvenAcrossSignedZeros() {
        try (TensorArena arena = TensorArena.host()) {
            Tensor t = arena.allocate(DType.F32, 4);
            t.copyFrom(new float[] {-5f, -0.0f, 0.0f, -5f});
            Sampler s = new Sampler(4);
            // top-1 at a very low temperature: only the candidate matters; -0 (id 1) and +0 (id 2) tie, id 1 first
            s.reset(GenerationConfig.DEFAULTS.withTopK(1).withTopP(1.0).withTemperature(0.01).withSeed(3L));
            assertThat(s.sample(t)).isEqualTo(1);
            s.reset(GenerationConfig.DEFAULTS.withTemperature(0));
            assertThat(s.sample(t)).isEqualTo(1);
        }
    }

    /** Greedy, or top-k below the vocabulary and the device's limit, with or without top-p; never a penalty. */
    private static GenerationConfig qualifyingConfig(SplittableRandom r, int n) {
        GenerationConfig c = GenerationConfig.DEFAULTS.withSeed(r.nextLong()).withRepetitionPenalty(1.0);
        if (r.nextInt(4) == 0) return c.withTemperature(0).withTopK(r.nextInt(3)).withTopP(r.nextBoolean() ? 1.0 : 0.5);
        int k = 1 + r.nextInt(Math.min(MAX, n - 1));
        double p = r.nextBoolean() ? 1.0 : 0.05 + 0.95 * r.nextDouble();
        double temp = r.nextInt(5) == 0 ? 1.0 : 0.05 + 3 * r.nextDouble();
        return c.withTopK(k).withTopP(p).withTemperature(temp);
    }

    /** Smooth values, or few distinct ones (ties, -0 and +0), sometimes with -inf, NaN or +inf. */
    private static float[] logits(SplittableRandom r, int padded, int n) {
        float[] v = new float[padded];
        int kind = r.nextInt(6);
        float[] few = {-2f, -1f, -0.0f, 0.0f, 1f};
        for (int i = 0; i < padded; i++) {
            v[i] = switch (kind) {
                case 0, 1 -> (float) (r.nextGaussian() * (1 + 4 * r.nextDouble()));
                case 2, 3 -> few[r.nextInt(few.length)];
                default -> switch (r.nextInt(8)) {
                    case 0 -> Float.NEGATIVE_INFINITY;
                    case 1 -> Float.NaN;
                    case 2 -> kind == 5 && r.nextInt(20) == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
                    default -> kind == 5 ? Float.NEGATIVE_INFINITY : (float) r.nextGaussian();
                };
            };
        }
        boolean allNaN = true;
        for (int i = 0; i < n; i++) allNaN &= Float.isNaN(v[i]);
        if (allNaN) v[r.nextInt(n)] = Float.NEGATIVE_INFINITY; // the sampler refuses an all-NaN row on either path
        return v;
    }

    private static void shuffle(SplittableRandom r, int[] idx, float[] val, int k) {
        for (int i = k - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int ti = idx[i]; idx[i] = idx[j]; idx[j] = ti;
            float tv = val[i]; val[i] = val[j]; val[j] = tv;
        }
    }
}
