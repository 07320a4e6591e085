package dev.jgpt.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private final TensorArena arena = TensorArena.host();

    @AfterEach
    void close() {
        arena.close();
    }

    private Tensor logits(float... v) {
        Tensor t = arena.allocate(DType.F32, v.length);
        t.copyFrom(v);
        return t;
    }

    /** Logits whose softmax is exactly the given probabilities. */
    private Tensor probs(double... p) {
        float[] v = new float[p.length];
        for (int i = 0; i < p.length; i++) v[i] = (float) Math.log(p[i]);
        return logits(v);
    }

    private int[] histogram(Sampler s, Tensor l, int draws) {
        int[] h = new int[(int) l.numel()];
        for (int i = 0; i < draws; i++) h[s.sample(l)]++;
        return h;
    }

    private static GenerationConfig cfg() {
        return GenerationConfig.DEFAULTS.withTopK(0).withTopP(1.0).withTemperature(1.0).withSeed(42L);
    }

    @Test
    void greedyPicksFirstMaximum() {
        Sampler s = new Sampler(4);
        s.reset(cfg().withTemperature(0));
        assertThat(s.sample(logits(1, 3, 3, 2))).isEqualTo(1);
        assertThat(s.sample(logits(Float.NaN, -1, -2, Float.NaN))).isEqualTo(1);
    }

    @Test
    void temperatureOneFollowsTheSoftmax() {
        Sampler s = new Sampler(4);
        s.reset(cfg());
        int[] h = histogram(s, probs(0.5, 0.3, 0.15, 0.05), 40_000);
        assertThat(h[0] / 40_000.0).isCloseTo(0.5, within(0.015));
        assertThat(h[1] / 40_000.0).isCloseTo(0.3, within(0.015));
        assertThat(h[2] / 40_000.0).isCloseTo(0.15, within(0.015));
        assertThat(h[3] / 40_000.0).isCloseTo(0.05, within(0.01));
    }

    @Test
    void lowTemperatureSharpens() {
        Sampler s = new Sampler(2);
        s.reset(cfg().withTemperature(0.5));
        // p ∝ (0.6, 0.4)^2 = (0.36, 0.16) → 0.692
        int[] h = histogram(s, probs(0.6, 0.4), 20_000);
        assertThat(h[0] / 20_000.0).isCloseTo(0.36 / 0.52, within(0.015));
    }

    @Test
    void topKKeepsOnlyTheKMostLikely() {
        Sampler s = new Sampler(5);
        s.reset(cfg().withTopK(2));
        int[] h = histogram(s, probs(0.1, 0.4, 0.05, 0.3, 0.15), 20_000);
        assertThat(h[0] + h[2] + h[4]).isZero();
        assertThat(h[1] / 20_000.0).isCloseTo(0.4 / 0.7, within(0.015));
    }

    @Test
    void topPKeepsTheNucleus() {
        Sampler s = new Sampler(4);
        s.reset(cfg().withTopP(0.7)); // 0.5 < 0.7 <= 0.5 + 0.3
        int[] h = histogram(s, probs(0.5, 0.3, 0.15, 0.05), 20_000);
        assertThat(h[2] + h[3]).isZero();
        assertThat(h[0] / 20_000.0).isCloseTo(0.5 / 0.8, within(0.015));
        s.reset(cfg().withTopP(0.45));
        assertThat(histogram(s, probs(0.5, 0.3, 0.15, 0.05), 1000)[0]).isEqualTo(1000);
    }

    @Test
    void topKThenTopPCombine() {
        Sampler s = new Sampler(6);
        s.reset(cfg().withTopK(3).withTopP(0.6)); // top-3 = .3,.25,.2 → renormalised .4,.33,.27: nucleus of 0.6 is two
        int[] h = histogram(s, probs(0.3, 0.05, 0.25, 0.1, 0.2, 0.1), 10_000);
        assertThat(h[0] + h[2]).isEqualTo(10_000);
    }

    @Test
    void sameSeedSameTokensDifferentSeedDifferent() {
        Tensor l = probs(0.25, 0.25, 0.25, 0.25);
        Sampler a = new Sampler(4), b = new Sampler(4);
        a.reset(cfg().withSeed(7L));
        b.reset(cfg().withSeed(7L));
        int[] ha = new int[50], hb = new int[50];
        for (int i = 0; i < 50; i++) { ha[i] = a.sample(l); hb[i] = b.sample(l); }
        assertThat(ha).isEqualTo(hb);
        b.reset(cfg().withSeed(8L));
        for (int i = 0; i < 50; i++) hb[i] = b.sample(l);
        assertThat(ha).isNotEqualTo(hb);
    }

    @Test
    void repetitionPenaltyDemotesSeenTokens() {
        Sampler s = new Sampler(3);
        s.reset(cfg().withTemperature(0).withRepetitionPenalty(2.0));
        Tensor l = logits(3f, 2f, -1f);
        assertThat(s.sample(l)).isEqualTo(0);
        s.observe(0); // 3 / 2 = 1.5 < 2
        assertThat(s.sample(l)).isEqualTo(1);
        s.observe(1); // 2 / 2 = 1 < 1.5
        assertThat(s.sample(l)).isEqualTo(0);
        s.reset(cfg().withTemperature(0).withRepetitionPenalty(2.0));
        assertThat(s.sample(l)).isEqualTo(0); // reset forgets
    }

    @Test
    void readsOnlyTheTokenizerVocabularyOfPaddedLogits() {
        Sampler s = new Sampler(3);
        s.reset(cfg().withTemperature(0));
        assertThat(s.sample(logits(1, 2, 0, 99))).isEqualTo(1);
    }
}
