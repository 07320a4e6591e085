package dev.jgpt.chat;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.generate.ByteTokenizer;
import dev.jgpt.generate.FakeLm;
import dev.jgpt.generate.FinishReason;
import dev.jgpt.generate.GenerationConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LocalChatBackendTest {
    private final ByteTokenizer tok = ByteTokenizer.withChatTokens();
    private final GenerationConfig greedy = GenerationConfig.DEFAULTS.withTemperature(0).withMaxNewTokens(30);

    private static int[] concat(int[]... parts) {
        return java.util.Arrays.stream(parts).flatMapToInt(java.util.Arrays::stream).toArray();
    }

    @Test
    void answerEndsAtEndToken() {
        int[] script = concat(tok.encodeOrdinary("fine"), new int[] {260}, tok.encodeOrdinary("junk"));
        try (FakeLm lm = FakeLm.scripted(tok.vocabSize(), 64, script, 256)) {
            ChatReply r = new LocalChatBackend("m", lm, tok).reply(List.of(ChatMessage.user("hi")), greedy, t -> {});
            assertThat(r.text()).isEqualTo("fine");
            assertThat(r.finishReason()).isEqualTo(FinishReason.EOS);
            assertThat(r.promptTokens()).isEqualTo(5); // <|user|> h i <|end|> <|assistant|>
        }
    }

    @Test
    void answerAlsoEndsWhenTheModelOpensANewTurn() {
        int[] script = concat(tok.encodeOrdinary("sure"), new int[] {258}, tok.encodeOrdinary("I also ask"));
        try (FakeLm lm = FakeLm.scripted(tok.vocabSize(), 64, script, 256)) {
            List<String> streamed = new ArrayList<>();
            ChatReply r = new LocalChatBackend("m", lm, tok).reply(List.of(ChatMessage.user("hi")),
                    greedy.withStopSequences(List.of("zzz")), streamed::add);
            assertThat(r.text()).isEqualTo("sure");
            assertThat(String.join("", streamed)).isEqualTo("sure");
        }
        assertThat(new JgptChatFormat(tok).withTurnStops(greedy.withStopSequences(List.of("zzz"))).stopSequences())
                .containsExactly("zzz", "<|user|>", "<|assistant|>", "<|system|>");
    }
}
