package dev.jgpt.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.JgptException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class GeneratorTest {
    private final ByteTokenizer tok = ByteTokenizer.withChatTokens(); // 256 endoftext, 260 end
    private final GenerationConfig greedy = GenerationConfig.DEFAULTS.withTemperature(0).withMaxNewTokens(50);
    private final Generator gen = new Generator();

    private static final class Recorder implements TokenListener {
        final List<String> texts = new ArrayList<>();
        final List<Integer> tokens = new ArrayList<>();
        @Override public void onText(String text) { texts.add(text); }
        @Override public void onToken(int id) { tokens.add(id); }
    }

    @Test
    void prefillsOnceThenStepsOncePerTokenAndStopsAtEos() {
        try (FakeLm lm = FakeLm.scriptedText(261, 64, "hello", 256)) {
            Recorder rec = new Recorder();
            GenerationResult r = gen.generate(lm, tok, tok.encode("say:"), greedy, rec);
            assertThat(r.text()).isEqualTo("hello");
            assertThat(r.finishReason()).isEqualTo(FinishReason.EOS);
            assertThat(r.tokenIds()).containsExactly('h', 'e', 'l', 'l', 'o');
            assertThat(r.promptTokens()).isEqualTo(4);
            assertThat(lm.prefills).isEqualTo(1);
            assertThat(lm.lastPrefillLength).isEqualTo(4);
            assertThat(lm.steps).isEqualTo(5);
            assertThat(rec.tokens).hasSize(5);
            assertThat(String.join("", rec.texts)).isEqualTo("hello");
            assertThat(r.timeToFirstTokenMillis()).isGreaterThanOrEqualTo(0);
        }
    }

    @Test
    void endTokenAlsoEnds() {
        try (FakeLm lm = FakeLm.scriptedText(261, 64, "ok", 260)) {
            GenerationResult r = gen.generate(lm, tok, tok.encode("q"), greedy, TokenListener.NONE);
            assertThat(r.text()).isEqualTo("ok");
            assertThat(r.finishReason()).isEqualTo(FinishReason.EOS);
        }
    }

    @Test
    void lengthLimitSkipsTheUselessLastForwardPass() {
        try (FakeLm lm = FakeLm.scriptedText(261, 64, "abcdefgh", 256)) {
            GenerationResult r = gen.generate(lm, tok, tok.encode("q"), greedy.withMaxNewTokens(3), TokenListener.NONE);
            assertThat(r.text()).isEqualTo("abc");
            assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(lm.steps).isEqualTo(2);
        }
    }

    @Test
    void stopSequenceSpanningTokensCutsTheTextAndStreamNeverShowsHalfOfIt() {
        try (FakeLm lm = FakeLm.scriptedText(261, 64, "one two\nUser: three", 256)) {
            Recorder rec = new Recorder();
            GenerationResult r = gen.generate(lm, tok, tok.encode("q"),
                    greedy.withStopSequences(List.of("\nUser:")), rec);
            assertThat(r.text()).isEqualTo("one two");
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(String.join("", rec.texts)).isEqualTo("one two");
            assertThat(rec.texts).noneMatch(t -> t.contains("\n"));
            assertThat(r.tokenIds()).hasSize("one two\nUser:".length());
        }
    }

    @Test
    void multiByteOutputStreamsWholeCharacters() {
        try (FakeLm lm = FakeLm.scriptedText(261, 64, "añ€", 256)) {
            Recorder rec = new Recorder();
            GenerationResult r = gen.generate(lm, tok, tok.encode("q"), greedy, rec);
            assertThat(r.text()).isEqualTo("añ€");
            assertThat(rec.texts).containsExactly("a", "ñ", "€");
        }
    }

    @Test
    void budgetErrorNamesTheLengths() {
        try (FakeLm lm = FakeLm.scriptedText(261, 16, "x", 256)) {
            assertThatThrownBy(() -> gen.generate(lm, tok, tok.encode("0123456789"), greedy.withMaxNewTokens(8),
                    TokenListener.NONE))
                    .isInstanceOf(JgptException.class)
                    .hasMessageContaining("10 tokens").hasMessageContaining("8 new tokens").hasMessageContaining("16");
            assertThat(lm.prefills).isZero();
        }
    }

    @Test
    void truncateLeftKeepsTheNewestPromptTokens() {
        try (FakeLm lm = FakeLm.scriptedText(261, 16, "abcdefghijklmnop", 256)) {
            GenerationConfig c = greedy.withMaxNewTokens(8).withBudgetPolicy(BudgetPolicy.TRUNCATE_LEFT);
            GenerationResult r = gen.generate(lm, tok, tok.encode("0123456789"), c, TokenListener.NONE);
            assertThat(r.promptTokens()).isEqualTo(8);
            assertThat(r.truncatedTokens()).isEqualTo(2);
            assertThat(r.text()).isEqualTo("abcdefgh");
            assertThat(lm.position()).isLessThanOrEqualTo(16);
        }
        assertThat(Generator.fitToContext(new int[] {1, 2, 3, 4, 5},
                greedy.withMaxNewTokens(2).withBudgetPolicy(BudgetPolicy.TRUNCATE_LEFT), 5)).containsExactly(3, 4, 5);
        assertThatThrownBy(() -> Generator.fitToContext(new int[] {1},
                greedy.withMaxNewTokens(5).withBudgetPolicy(BudgetPolicy.TRUNCATE_LEFT), 5))
                .isInstanceOf(JgptException.class).hasMessageContaining("context of 5");
    }

    @Test
    void wholeContextIsUsableAndNeverExceeded() {
        try (FakeLm lm = FakeLm.scriptedText(261, 12, "abcdefghijklmnop", 256)) {
            GenerationResult r = gen.generate(lm, tok, tok.encode("0123"), greedy.withMaxNewTokens(8), TokenListener.NONE);
            assertThat(r.text()).isEqualTo("abcdefgh");
            assertThat(lm.position()).isEqualTo(11); // the last token is never fed back
        }
    }

    @Test
    void emptyPromptStartsFromEndOfText() {
        try (FakeLm lm = FakeLm.scriptedText(261, 12, "hi", 256)) {
            GenerationResult r = gen.generate(lm, tok, new int[0], greedy.withMaxNewTokens(8), TokenListener.NONE);
            assertThat(r.text()).isEqualTo("hi");
            assertThat(r.promptTokens()).isEqualTo(1);
        }
    }

    @Test
    void seededSamplingReproduces() {
        float[][] table = new float[261][261];
        java.util.Random rnd = new java.util.Random(5);
        for (float[] row : table) for (int j = 'a'; j <= 'z'; j++) row[j] = (float) rnd.nextGaussian();
        for (float[] row : table) for (int j = 0; j < 261; j++) if (j < 'a' || j > 'z') row[j] = -30f;
        GenerationConfig c = GenerationConfig.DEFAULTS.withTemperature(1.0).withSeed(99L).withMaxNewTokens(40);
        try (FakeLm lm = FakeLm.bigram(table, 64)) {
            String a = gen.generate(lm, tok, tok.encode("x"), c, TokenListener.NONE).text();
            String b = gen.generate(lm, tok, tok.encode("x"), c, TokenListener.NONE).text();
            String d = gen.generate(lm, tok, tok.encode("x"), c.withSeed(100L), TokenListener.NONE).text();
            assertThat(a).hasSize(40).isEqualTo(b).isNotEqualTo(d);
        }
    }

    @Test
    void tokenizerLargerThanModelIsRefused() {
        try (FakeLm lm = FakeLm.scriptedText(100, 12, "hi", 0)) {
            assertThatThrownBy(() -> gen.generate(lm, tok, tok.encode("x"), greedy, TokenListener.NONE))
                    .isInstanceOf(JgptException.class).hasMessageContaining("261");
        }
    }
}
