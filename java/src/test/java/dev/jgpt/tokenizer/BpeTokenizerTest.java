package dev.jgpt.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.JgptException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Lossless round trips, special tokens, pathological inputs. */
class BpeTokenizerTest {

    static final BpeTokenizer GPT2 = train(SplitPattern.GPT2);
    static final BpeTokenizer GPT4 = train(SplitPattern.GPT4);

    static BpeTokenizer train(SplitPattern p) {
        SplittableRandom r = new SplittableRandom(3);
        List<String> docs = new ArrayList<>();
        for (int i = 0; i < 200; i++) docs.add(TextGen.text(r, 80));
        docs.add("aaaaaaaaaaaaaaaa bbbbbbbb        \n\n\n\n 1111111111 ".repeat(20));
        return new BpeTrainer(1000).pattern(p).trainOnTexts(docs);
    }

    @Provide
    Arbitrary<String> unicodeStrings() {
        Arbitrary<Integer> cp = Arbitraries.oneOf(
                Arbitraries.integers().between(0, 0x7F),
                Arbitraries.integers().between(0x80, 0xFFFF),
                Arbitraries.integers().between(0x10000, 0x10FFFF),
                Arbitraries.of(0x20, 0x0A, 0x0D, 0x09, 0x00, 0x301, 0x200D, 0x1F600, 0x4E2D, 0x3000, 0xA0, 0x27));
        return cp.filter(c -> c < 0xD800 || c > 0xDFFF).list().ofMaxSize(200)
                .map(l -> l.stream().collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString());
    }

    @Property(tries = 400)
    void decodeOfEncodeIsTheString(@ForAll("unicodeStrings") String s) {
        for (BpeTokenizer t : List.of(GPT2, GPT4)) {
            assertThat(t.decode(t.encode(s))).isEqualTo(s);
            assertThat(t.decode(t.encodeOrdinary(s))).isEqualTo(s);
            assertThat(t.decodeBytes(t.encode(s))).isEqualTo(s.getBytes(StandardCharsets.UTF_8));
        }
    }

    @Property(tries = 300)
    void mixedTextRoundTrips(@ForAll long seed) {
        String s = TextGen.text(new SplittableRandom(seed), 100);
        for (BpeTokenizer t : List.of(GPT2, GPT4)) assertThat(t.decode(t.encode(s))).isEqualTo(s);
    }

    @Property(tries = 400)
    void anyBytesRoundTrip(@ForAll @Size(max = 300) byte[] bytes) {
        for (BpeTokenizer t : List.of(GPT2, GPT4)) assertThat(t.decodeBytes(t.encodeBytes(bytes))).isEqualTo(bytes);
    }

    @Test
    void invalidUtf8RoundTrips() {
        byte[][] cases = {{(byte) 0xFF}, {(byte) 0xC0, (byte) 0x80}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
                {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}, {'a', (byte) 0xE2, (byte) 0x82}, {(byte) 0x80, ' ', 'x'}};
        for (byte[] b : cases) assertThat(GPT2.decodeBytes(GPT2.encodeBytes(b))).isEqualTo(b);
    }

    @ParameterizedTest
    @EnumSource(SplitPattern.class)
    void veryLongRunsRoundTrip(SplitPattern p) {
        BpeTokenizer t = p == SplitPattern.GPT2 ? GPT2 : GPT4;
        for (String c : new String[] {"a", " ", "\n", "1", "!", "日", "😀", "\u0000", "ab "}) {
            String s = c.repeat((1 << 20) / c.length());
            int[] ids = t.encode(s);
            assertThat(t.decode(ids)).isEqualTo(s);
            if (c.equals("a") || c.equals(" ")) assertThat(ids.length).isLessThan(s.length() / 2); // merges did happen
        }
    }

    @Test
    void specialTokensAreNeverSplitOrMerged() {
        int eot = GPT2.specialTokenId("<|endoftext|>").orElseThrow();
        int user = GPT2.specialTokenId("<|user|>").orElseThrow();
        int[] ids = GPT2.encode("<|user|>hi<|endoftext|><|endoftext|>x<|end|>");
        assertThat(ids[0]).isEqualTo(user);
        assertThat(IntStream.of(ids).filter(i -> i == eot).count()).isEqualTo(2);
        assertThat(GPT2.decode(ids)).isEqualTo("<|user|>hi<|endoftext|><|endoftext|>x<|end|>");
        assertThat(GPT2.tokenBytes(eot)).isEqualTo("<|endoftext|>".getBytes(StandardCharsets.UTF_8));
        // ordinary encoding treats them as text
        int[] plain = GPT2.encodeOrdinary("<|endoftext|>");
        assertThat(plain).doesNotContain(eot);
        assertThat(GPT2.decode(plain)).isEqualTo("<|endoftext|>");
        assertThat(GPT2.specialTokenId("<|nope|>")).isEmpty();
    }

    @Test
    void userDefinedSpecialTokensAndLongestMatch() {
        BpeTokenizer t = new BpeTrainer(400).specialTokens(List.of("<|a|>", "<|a|>b", "[X]"))
                .trainOnTexts(List.of("hello world <|a|>b [X] hello"));
        int ab = t.specialTokenId("<|a|>b").orElseThrow();
        int x = t.specialTokenId("[X]").orElseThrow();
        assertThat(t.encode("<|a|>b")).containsExactly(ab);
        assertThat(t.encode("q[X]")).endsWith(x);
        assertThat(t.vocabSize()).isEqualTo(x + 1);
    }

    @Test
    void knownTokenization() {
        BpeTokenizer t = new BpeTrainer(256 + 3 + 5).trainOnTexts(List.of("ab ab ab ab abc abc"));
        // pieces: "ab" once, " ab" 3 times, " abc" twice; merges: (a,b) 6, (Ġ,ab) 5, (Ġab,c) 2
        assertThat(t.merge(0)).containsExactly("a", "b");
        assertThat(t.merge(1)).containsExactly("Ġ", "ab");
        assertThat(t.merge(2)).containsExactly("Ġab", "c");
        assertThat(t.describe(t.encode("ab abc abcab"))).isEqualTo("ab Ġabc Ġabc ab");
    }

    @Test
    void emojiCjkCombiningNul() {
        for (String s : new String[] {"👨‍👩‍👧 family", "東京都の天気", "e\u0301\u0301\u0301", "a\u0000b\u0000", "🇩🇪🇫🇷",
                "\uFEFFbom", "tab\tsep\r\n"}) {
            for (BpeTokenizer t : List.of(GPT2, GPT4)) assertThat(t.decode(t.encode(s))).isEqualTo(s);
        }
    }

    @Test
    void encodingIsThreadSafe() {
        List<String> texts = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < 400; i++) texts.add(TextGen.text(r, 60));
        List<int[]> sequential = texts.stream().map(GPT4::encode).toList();
        List<int[]> parallel = texts.parallelStream().map(GPT4::encode).toList();
        for (int i = 0; i < texts.size(); i++) assertThat(parallel.get(i)).isEqualTo(sequential.get(i));
    }

    @Test
    void badIdsAreClearErrors() {
        assertThatThrownBy(() -> GPT2.decode(new int[] {GPT2.vocabSize()})).isInstanceOf(JgptException.class)
                .hasMessageContaining("token id " + GPT2.vocabSize());
        assertThatThrownBy(() -> GPT2.tokenBytes(-1)).isInstanceOf(JgptException.class);
    }

    @Test
    void cachedAndUncachedAgree() {
        SplittableRandom r = new SplittableRandom(9);
        String s = TextGen.text(r, 3000);
        int[] first = GPT2.encode(s);
        int[] second = GPT2.encode(s); // now mostly from the cache
        assertThat(second).isEqualTo(first);
        assertThat(Arrays.stream(first).allMatch(id -> id >= 0 && id < GPT2.vocabSize())).isTrue();
    }
}
