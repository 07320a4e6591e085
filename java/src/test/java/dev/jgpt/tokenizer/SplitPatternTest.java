package dev.jgpt.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The hand-written scanners give exactly the pieces java.util.regex gives for the same patterns. */
class SplitPatternTest {

    static List<String> regexPieces(SplitPattern p, String text) {
        Matcher m = Pattern.compile(p.regex(), Pattern.UNICODE_CHARACTER_CLASS).matcher(text);
        List<String> out = new ArrayList<>();
        int last = 0;
        while (m.find()) {
            assertThat(m.start()).as("regex leaves a gap").isEqualTo(last);
            out.add(m.group());
            last = m.end();
        }
        assertThat(last).isEqualTo(text.length());
        return out;
    }

    static List<String> scannerPieces(SplitPattern p, String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        IntList ends = new IntList(16);
        p.split(b, 0, b.length, ends);
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < ends.size(); i++) {
            out.add(new String(b, start, ends.get(i) - start, StandardCharsets.UTF_8));
            start = ends.get(i);
        }
        return out;
    }

    @ParameterizedTest
    @EnumSource(SplitPattern.class)
    void knownCases(SplitPattern p) {
        for (String s : new String[] {"", "Hello world", "  hello", "a  b", "x\n\n\n y", "don't I'LL we're",
                "123456 1,000,000", "(hello) [world]!!\n\n", "\t\tx", "   ", "a   ", "\r\n\r\n  \n a",
                "'ſ 'S", "日本語のテキスト", "e\u0301t\u00e9", "😀😀 😀", " \u00A0x", "\u3000\u3000日"}) {
            assertThat(scannerPieces(p, s)).as("%s on '%s'", p, s).isEqualTo(regexPieces(p, s));
        }
    }

    @Test
    void gpt2Examples() {
        assertThat(scannerPieces(SplitPattern.GPT2, "Hello, world! It's 2024.  ok\n"))
                .containsExactly("Hello", ",", " world", "!", " It", "'s", " 2024", ".", " ", " ok", "\n");
    }

    @Test
    void gpt4Examples() {
        assertThat(scannerPieces(SplitPattern.GPT4, "Hello, world! IT'S 2024.  ok\n\n"))
                .containsExactly("Hello", ",", " world", "!", " IT", "'S", " ", "202", "4", ".", " ", " ok", "\n\n");
    }

    @Property(tries = 300)
    void sameAsRegexOnMixedText(@ForAll long seed, @ForAll @IntRange(min = 0, max = 60) int atoms) {
        String s = TextGen.text(new SplittableRandom(seed), atoms);
        for (SplitPattern p : SplitPattern.values()) {
            assertThat(scannerPieces(p, s)).as("%s on '%s'", p, s).isEqualTo(regexPieces(p, s));
        }
    }

    @Property(tries = 300)
    void sameAsRegexOnRandomCodePoints(@ForAll long seed, @ForAll @IntRange(min = 0, max = 80) int n) {
        String s = TextGen.codePoints(new SplittableRandom(seed), n);
        for (SplitPattern p : SplitPattern.values()) {
            assertThat(scannerPieces(p, s)).as("%s", p).isEqualTo(regexPieces(p, s));
        }
    }

    @Property(tries = 200)
    void coversInvalidUtf8Completely(@ForAll byte[] bytes) {
        for (SplitPattern p : SplitPattern.values()) {
            IntList ends = new IntList(4);
            p.split(bytes, 0, bytes.length, ends);
            int last = 0;
            for (int i = 0; i < ends.size(); i++) {
                assertThat(ends.get(i)).isGreaterThan(last);
                last = ends.get(i);
            }
            assertThat(last).isEqualTo(bytes.length);
        }
    }

    @Test
    void everyWhiteSpaceCodePointAgreesWithTheRegexClass() {
        Pattern s = Pattern.compile("\\s", Pattern.UNICODE_CHARACTER_CLASS);
        for (int cp = 0; cp < 0x110000; cp++) {
            if (cp >= 0xD800 && cp <= 0xDFFF) continue;
            boolean regex = s.matcher(Character.toString(cp)).matches();
            assertThat(CharClass.isWhiteSpace(cp)).as("U+%04X", cp).isEqualTo(regex);
        }
    }

    @Test
    void megabyteRunsSplitQuickly() {
        for (String c : new String[] {"a", " ", "\n", "1", "!", "日"}) {
            byte[] b = c.repeat(1 << 20).getBytes(StandardCharsets.UTF_8);
            for (SplitPattern p : SplitPattern.values()) {
                IntList ends = new IntList(4);
                p.split(b, 0, b.length, ends);
                assertThat(ends.get(ends.size() - 1)).isEqualTo(b.length);
            }
        }
    }
}
