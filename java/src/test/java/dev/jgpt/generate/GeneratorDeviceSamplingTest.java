package dev.jgpt.generate;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The generator's device path ({@link CausalLm#deviceLogits()}): for the settings it qualifies for, the same
 * tokens as the full-logit path without one full read of the logits; for the others, the full path.
 */
class GeneratorDeviceSamplingTest {
    private static final int V = 261, MAX = 64;
    private final ByteTokenizer tok = ByteTokenizer.withChatTokens(); // 256 endoftext, 260 end

    /** A bigram table with ties, never ending on its own (eos and end are unlikely). */
    private static float[][] table(long seed) {
        Random r = new Random(seed);
        float[][] t = new float[V][V];
        for (float[] row : t) {
            for (int j = 0; j < V; j++) row[j] = r.nextInt(10) == 0 ? 1.5f : (float) (2 * r.nextGaussian());
            row[256] = row[260] = -20f;
        }
        return t;
    }

    private static final GenerationConfig BASE = GenerationConfig.DEFAULTS.withMaxNewTokens(40).withSeed(7L);

    @Test
    void qualifyingSettingsReadOnlyCandidatesAndGiveTheSameTokens() {
        float[][] table = table(1);
        List<GenerationConfig> configs = List.of(
                BASE.withTemperature(0),
                BASE.withTemperature(0).withTopK(0).withTopP(0.3),       // greedy ignores the cuts
                BASE.withTopK(5).withTopP(1.0).withTemperature(0.9),
                BASE,                                                    // defaults: top-k 40, top-p 0.95
                BASE.withTopK(MAX).withTopP(0.8).withTemperature(1.7).withSeed(99L));
        for (GenerationConfig cfg : configs) {
            DeviceRun run = sameTokensOnTheDevice(table, cfg);
            assertThat(run.lm.fullLogitReads).as("full logit reads, %s", cfg).isZero();
            assertThat(run.lm.candidateReads).isEqualTo(cfg.maxNewTokens());
            assertThat(run.gen.lastDeviceCandidates()).isEqualTo(cfg.greedy() ? 1 : cfg.topK());
            assertThat(run.expected).hasSize(cfg.maxNewTokens());
        }
    }

    @Test
    void otherSettingsReadTheFullLogits() {
        float[][] table = table(2);
        List<GenerationConfig> configs = List.of(
                BASE.withTemperature(0).withRepetitionPenalty(1.3),
                BASE.withRepetitionPenalty(1.2),
                BASE.withTopK(0).withTopP(0.9),
                BASE.withTopK(0).withTopP(1.0),
                BASE.withTopK(MAX + 1));
        for (GenerationConfig cfg : configs) {
            DeviceRun run = sameTokensOnTheDevice(table, cfg);
            assertThat(run.lm.fullLogitReads).as("one prefill + a step per token but the last, %s", cfg).isEqualTo(cfg.maxNewTokens());
            assertThat(run.lm.candidateReads).isZero();
            assertThat(run.gen.lastDeviceCandidates()).isZero();
        }
    }

    private record DeviceRun(int[] expected, DeviceLm lm, Generator gen) {}

    /** Generates "ab"'s continuation on the host model and on its device twin: the same tokens; returns the twin's counters. */
    private DeviceRun sameTokensOnTheDevice(float[][] table, GenerationConfig cfg) {
        int[] expected = generate(FakeLm.bigram(table, 64), cfg, null);
        Generator gen = new Generator();
        try (DeviceLm lm = new DeviceLm(FakeLm.bigram(table, 64), MAX)) {
            int[] got = gen.generate(lm, tok, tok.encode("ab"), cfg, TokenListener.NONE).tokenIds();
            assertThat(got).as("%s", cfg).containsExactly(expected);
            return new DeviceRun(expected, lm, gen);
        }
    }

    @Test
    void aTokenWhoseLargestLogitIsNotFiniteIsSampledFromTheFullLogits() {
        float[][] table = table(3);
        Arrays.fill(table['b'], Float.NEGATIVE_INFINITY);  // after 'b': nothing finite, the full path picks id 0
        table['c']['b'] = Float.POSITIVE_INFINITY;         // after 'c': an infinite winner
        for (GenerationConfig cfg : List.of(BASE.withTemperature(0), BASE.withTopK(8))) {
            int[] expected = generate(FakeLm.bigram(table, 64), cfg, "ab");
            Generator gen = new Generator();
            try (DeviceLm lm = new DeviceLm(FakeLm.bigram(table, 64), MAX)) {
                int[] got = gen.generate(lm, tok, tok.encode("ab"), cfg.withMaxNewTokens(1), TokenListener.NONE).tokenIds();
                assertThat(got).containsExactly(expected[0]);
                assertThat(lm.fullLogitReads).isEqualTo(1);
                int[] afterC = gen.generate(lm, tok, tok.encode("ac"), cfg.withMaxNewTokens(1), TokenListener.NONE).tokenIds();
                assertThat(afterC).containsExactly(generate(FakeLm.bigram(table, 64), cfg.withMaxNewTokens(1), "ac"));
                assertThat(lm.fullLogitReads).isEqualTo(2);
            }
            assertThat(expected[0]).isZero();
        }
    }

    private int[] generate(CausalLm lm, GenerationConfig cfg, String prompt) {
        try (lm) {
            return new Generator().generate(lm, tok, tok.encode(prompt == null ? "ab" : prompt), cfg, TokenListener.NONE).tokenIds();
        }
    }
}
