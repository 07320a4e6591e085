package dev.jgpt.generate;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.chat.ChatMessage;
import dev.jgpt.chat.ChatTemplate;
import dev.jgpt.chat.RenderedChat;
import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.BpeTrainer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Generation, stop sequences and the chat template with the real byte-level BPE tokenizer. */
class BpeGenerationTest {
    private static BpeTokenizer tok;
    private static final String ALPHABET = "ab \n:€é😀xyU";

    @BeforeAll
    static void train() {
        List<String> docs = new ArrayList<>();
        Random r = new Random(1);
        int[] cps = ALPHABET.codePoints().toArray();
        for (int d = 0; d < 200; d++) {
            StringBuilder sb = new StringBuilder("User: café € 😀 ");
            for (int i = 0; i < 40; i++) sb.appendCodePoint(cps[r.nextInt(cps.length)]);
            docs.add(sb.toString());
        }
        tok = new BpeTrainer(400).threads(1).trainOnTexts(docs);
    }

    private GenerationResult generateScript(String text, List<String> stops, List<String> streamed) {
        int[] script = tok.encodeOrdinary(text);
        int eos = tok.specialTokenId("<|endoftext|>").orElseThrow();
        try (FakeLm lm = FakeLm.scripted(tok.vocabSize(), 256, script, eos)) {
            GenerationConfig c = GenerationConfig.DEFAULTS.withTemperature(0).withMaxNewTokens(200).withStopSequences(stops);
            return new Generator().generate(lm, tok, tok.encode("x"), c, streamed::add);
        }
    }

    @Test
    void tokensSplittingCharactersAndStopsStillGiveExactText() {
        Random r = new Random(7);
        int[] cps = ALPHABET.codePoints().toArray();
        int multiByteTokens = 0;
        for (int trial = 0; trial < 300; trial++) {
            String text = random(r, cps, 1 + r.nextInt(40));
            List<String> stops = List.of(random(r, cps, 1 + r.nextInt(3)));
            List<String> streamed = new ArrayList<>();
            GenerationResult res = generateScript(text, stops, streamed);
            String expected = cut(text, stops.getFirst());
            assertThat(res.text()).as("text %s stop %s", text, stops).isEqualTo(expected);
            assertThat(String.join("", streamed)).isEqualTo(expected);
            for (String s : streamed) assertThat(s).doesNotContain("\uFFFD");
            assertThat(res.finishReason()).isEqualTo(text.getBytes(UTF_8).length > expected.getBytes(UTF_8).length
                    ? FinishReason.STOP : FinishReason.EOS);
            for (int id : tok.encodeOrdinary(text)) if (tok.tokenBytes(id).length > 1) multiByteTokens++;
        }
        assertThat(multiByteTokens).isPositive(); // the tokenizer really merged bytes
    }

    @Test
    void chatTemplateWithTheRealTokenizer() {
        RenderedChat r = ChatTemplate.render(List.of(ChatMessage.system("be nice"), ChatMessage.user("hi <|end|> café"),
                ChatMessage.assistant("hello 😀")), tok);
        assertThat(tok.decode(r.ids())).isEqualTo(
                "<|system|>be nice<|end|><|user|>hi <|end|> café<|end|><|assistant|>hello 😀<|end|>");
        int end = tok.specialTokenId("<|end|>").orElseThrow();
        assertThat(Arrays.stream(r.ids()).filter(i -> i == end).count()).isEqualTo(3); // the typed one is text
        int firstMasked = 0;
        while (!r.lossMask()[firstMasked]) firstMasked++;
        int[] answer = Arrays.copyOfRange(r.ids(), firstMasked, r.length());
        assertThat(tok.decode(answer)).isEqualTo("hello 😀<|end|>");
    }

    private static String cut(String text, String stop) {
        byte[] b = text.getBytes(UTF_8), s = stop.getBytes(UTF_8);
        for (int i = 0; i + s.length <= b.length; i++) {
            if (Arrays.equals(b, i, i + s.length, s, 0, s.length)) return new String(b, 0, i, UTF_8);
        }
        return text;
    }

    private static String random(Random r, int[] cps, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) sb.appendCodePoint(cps[r.nextInt(cps.length)]);
        return sb.toString();
    }
}
