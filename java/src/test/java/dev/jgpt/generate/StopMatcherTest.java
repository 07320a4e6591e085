package dev.jgpt.generate;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StopMatcherTest {

    /** Feeds the text's bytes in the given chunk sizes; returns the released pieces. */
    private static List<String> feed(StopMatcher m, byte[] bytes, int... chunks) {
        List<String> out = new ArrayList<>();
        int at = 0;
        for (int c : chunks) {
            if (m.stopped()) break;
            out.add(m.accept(Arrays.copyOfRange(bytes, at, at + c)));
            at += c;
        }
        out.add(m.flush());
        return out;
    }

    @Test
    void cutsExactlyAtAStopSpanningTokens() {
        StopMatcher m = new StopMatcher(List.of("\nUser:"));
        byte[] b = "Hi there\nUser: more".getBytes(UTF_8);
        List<String> out = feed(m, b, 3, 6, 2, 3, 5);
        assertThat(String.join("", out)).isEqualTo("Hi there");
        assertThat(m.stopped()).isTrue();
        // "Hi " released at once; "there\n" holds the "\n" (could start the stop)
        assertThat(out.get(0)).isEqualTo("Hi ");
        assertThat(out.get(1)).isEqualTo("there");
    }

    @Test
    void releasesHeldTextWhenTheStopDoesNotMaterialise() {
        StopMatcher m = new StopMatcher(List.of("END"));
        byte[] b = "xEN yEND".getBytes(UTF_8);
        List<String> out = feed(m, b, 2, 1, 1, 2, 2);
        assertThat(out.get(0)).isEqualTo("x");
        assertThat(out.get(1)).isEmpty(); // "EN" held
        assertThat(out.get(2)).isEqualTo("EN ");
        assertThat(String.join("", out)).isEqualTo("xEN y");
    }

    @Test
    void stopInsideOneTokenCutsThatToken() {
        StopMatcher m = new StopMatcher(List.of("##"));
        assertThat(m.accept("ab##cd".getBytes(UTF_8))).isEqualTo("ab");
        assertThat(m.stopped()).isTrue();
    }

    @Test
    void earliestOfSeveralStopsWins() {
        StopMatcher m = new StopMatcher(List.of("cd", "b"));
        assertThat(m.accept("abcd".getBytes(UTF_8))).isEqualTo("a");
    }

    @Test
    void multiByteCharactersSplitAcrossTokensAreReleasedWhole() {
        StopMatcher m = new StopMatcher(List.of());
        byte[] b = "é€😀".getBytes(UTF_8); // 2 + 3 + 4 bytes
        List<String> out = feed(m, b, 1, 2, 1, 1, 1, 3);
        assertThat(out).containsExactly("", "é", "", "€", "", "😀", "");
    }

    @Test
    void malformedBytesAreNotHeldForever() {
        StopMatcher m = new StopMatcher(List.of());
        assertThat(m.accept(new byte[] {(byte) 0x80})).isEqualTo("\uFFFD");
        assertThat(m.accept(new byte[] {(byte) 0xE2})).isEmpty();
        assertThat(m.accept(new byte[] {'a'})).isEqualTo("\uFFFDa");
        assertThat(m.accept(new byte[] {(byte) 0xF0, (byte) 0x9F})).isEmpty();
        assertThat(m.flush()).isEqualTo("\uFFFD");
    }

    @Test
    void stopMadeOfMultiByteCharacters() {
        StopMatcher m = new StopMatcher(List.of("¿?"));
        byte[] b = "a¿b¿?c".getBytes(UTF_8);
        List<String> out = feed(m, b, 2, 1, 1, 1, 1, 1, 1);
        assertThat(String.join("", out)).isEqualTo("a¿b");
    }

    @Test
    void randomSplitsAlwaysGiveTheTextBeforeTheFirstStop() {
        Random r = new Random(1234);
        String alphabet = "ab\n:é€😀 ";
        int[] cps = alphabet.codePoints().toArray();
        for (int trial = 0; trial < 3000; trial++) {
            String text = randomText(r, cps, r.nextInt(30));
            List<String> stops = new ArrayList<>();
            for (int s = 0, n = 1 + r.nextInt(3); s < n; s++) stops.add(randomText(r, cps, 1 + r.nextInt(3)));
            byte[] b = text.getBytes(UTF_8);
            List<Integer> chunks = new ArrayList<>();
            for (int left = b.length; left > 0; ) {
                int c = Math.min(left, 1 + r.nextInt(4));
                chunks.add(c);
                left -= c;
            }
            StopMatcher m = new StopMatcher(stops);
            List<String> out = feed(m, b, chunks.stream().mapToInt(Integer::intValue).toArray());
            String expected = expectedCut(text, stops);
            assertThat(String.join("", out)).as("text %s stops %s chunks %s", text, stops, chunks).isEqualTo(expected);
            assertThat(m.stopped()).isEqualTo(expected.length() < text.length() || containsStop(text, stops));
            for (String piece : out) assertThat(piece).doesNotContain("\uFFFD");
        }
    }

    private static boolean containsStop(String text, List<String> stops) {
        return stops.stream().anyMatch(text::contains);
    }

    /** Byte-level reference: the text up to the earliest byte offset where any stop occurs. */
    private static String expectedCut(String text, List<String> stops) {
        byte[] b = text.getBytes(UTF_8);
        int cut = b.length;
        for (String s : stops) {
            byte[] sb = s.getBytes(UTF_8);
            for (int i = 0; i + sb.length <= b.length; i++) {
                if (Arrays.equals(b, i, i + sb.length, sb, 0, sb.length)) {
                    cut = Math.min(cut, i);
                    break;
                }
            }
        }
        return new String(b, 0, cut, UTF_8);
    }

    private static String randomText(Random r, int[] cps, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) sb.appendCodePoint(cps[r.nextInt(cps.length)]);
        return sb.toString();
    }
}
