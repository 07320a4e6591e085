package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.JgptException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** run.c's encoding on a small sentencepiece-style vocabulary, worked out by hand. */
class Llama2cTokenizerTest {
    @TempDir
    Path dir;

    static final List<String> PIECES = new ArrayList<>();
    static final List<Float> SCORES = new ArrayList<>();

    static {
        add("<unk>", 0);
        add("\n<s>\n", 0);
        add("\n</s>\n", 0);
        for (int b = 0; b < 256; b++) add(String.format("<0x%02X>", b), 0);
        add(" ", -100);
        add("h", -101);
        add("e", -102);
        add("l", -103);
        add("o", -104);
        add("é", -105);
        add(" h", -5);
        add("he", -3);
        add("ll", -2);
        add("llo", -4);
        add(" he", -1);
    }

    static void add(String piece, float score) {
        PIECES.add(piece);
        SCORES.add(score);
    }

    static Llama2cTokenizer tokenizer() {
        byte[][] p = new byte[PIECES.size()][];
        float[] s = new float[PIECES.size()];
        for (int i = 0; i < p.length; i++) {
            p[i] = PIECES.get(i).getBytes(StandardCharsets.UTF_8);
            s[i] = SCORES.get(i);
        }
        return new Llama2cTokenizer(p, s);
    }

    static int id(String piece) {
        int i = PIECES.indexOf(piece);
        if (i < 0) throw new AssertionError(piece);
        return i;
    }

    @Test
    void mergesTheBestScoringPairFirst() {
        // [" ", h, e, l, l, o] -> ll (-2) -> he (-3) -> " he" (-1) -> llo (-4)
        assertThat(tokenizer().encode("hello", true, false)).containsExactly(1, id(" he"), id("llo"));
        assertThat(tokenizer().encode("hello", false, true)).containsExactly(id(" he"), id("llo"), 2);
    }

    @Test
    void tiesGoToTheLeftmostPair() {
        assertThat(tokenizer().encode("lll", false, false)).containsExactly(id(" "), id("ll"), id("l"));
    }

    @Test
    void unknownCharactersFallBackToBytePieces() {
        // 'é' is a piece; '!' and the 3 bytes of '€' are not: <0xXX> = byte + 3
        assertThat(tokenizer().encode("é!€", false, false))
                .containsExactly(id(" "), id("é"), 0x21 + 3, 0xE2 + 3, 0x82 + 3, 0xAC + 3);
    }

    @Test
    void emptyTextIsJustBos() {
        assertThat(tokenizer().encode("", true, false)).containsExactly(1);
        assertThat(tokenizer().encode("")).containsExactly(1);
    }

    @Test
    void decodeIsLosslessAndDropsTheDummyPrefix() {
        Llama2cTokenizer t = tokenizer();
        Random r = new Random(5);
        String alphabet = "helo é!€\n😀";
        for (int i = 0; i < 300; i++) {
            StringBuilder sb = new StringBuilder();
            int n = r.nextInt(12);
            for (int k = 0; k < n; k++) sb.appendCodePoint(alphabet.codePointAt(alphabet.offsetByCodePoints(0, r.nextInt(alphabet.codePointCount(0, alphabet.length())))));
            String s = sb.toString();
            assertThat(t.decode(t.encode(s))).as("round trip of '%s'", s).isEqualTo(s);
        }
        assertThat(t.tokenBytes(0x41 + 3)).containsExactly('A');
        assertThat(t.tokenBytes(1)).isEmpty();
        assertThat(t.specialTokenId("</s>")).hasValue(2);
    }

    @Test
    void convertsAHuggingFaceLlamaTokenizerJson() throws Exception {
        StringBuilder vocab = new StringBuilder("\"<unk>\":0,\"<s>\":1,\"</s>\":2");
        for (int b = 0; b < 256; b++) vocab.append(String.format(",\"<0x%02X>\":%d", b, 3 + b));
        String[] rest = {"\u2581", "h", "e", "l", "o", "ll", "he", "\u2581he", "llo", "\u2581h"};
        for (int i = 0; i < rest.length; i++) vocab.append(",\"").append(rest[i]).append("\":").append(259 + i);
        String json = "{\"added_tokens\":[],\"model\":{\"type\":\"BPE\",\"byte_fallback\":true,\"vocab\":{" + vocab
                + "},\"merges\":[\"l l\",\"h e\",\"\u2581 he\",\"ll o\",\"\u2581 h\"]}}";
        Path f = dir.resolve("tokenizer.json");
        Files.writeString(f, json);
        Llama2cTokenizer t = Llama2cTokenizer.fromHuggingFace(f, 259 + rest.length);
        // ll (rank 1) -> he (2) -> " he" (3) -> llo (4), as sentencepiece's BPE would
        assertThat(t.encode("hello", true, false)).containsExactly(1, 259 + 7, 259 + 8);
        assertThat(t.decode(t.encode("hello héllo!"))).isEqualTo("hello héllo!");
        assertThat(t.score(259 + 5)).isEqualTo(-1f);
    }

    @Test
    void readsWhatItWrites() throws Exception {
        Path f = dir.resolve("tokenizer.bin");
        tokenizer().write(f);
        Llama2cTokenizer back = Llama2cTokenizer.read(f, PIECES.size());
        assertThat(back.encode("hello", true, false)).containsExactly(1, id(" he"), id("llo"));
        assertThat(back.score(id("ll"))).isEqualTo(-2f);
        assertThatThrownBy(() -> Llama2cTokenizer.read(f, PIECES.size() + 1))
                .isInstanceOf(JgptException.class).hasMessageContaining(f.toString()).hasMessageContaining("ends early");
        assertThatThrownBy(() -> Llama2cTokenizer.read(f, PIECES.size() - 1))
                .isInstanceOf(JgptException.class).hasMessageContaining("bytes left");
        Files.write(f, new byte[] {1, 2});
        assertThatThrownBy(() -> Llama2cTokenizer.read(f, 10)).isInstanceOf(JgptException.class).hasMessageContaining(f.toString());
    }

    /** run.c's encode as it is written there (every pair rescanned each round): the oracle for the queue-based merges. */
    static int[] runCEncode(Llama2cTokenizer t, String text) {
        java.util.Map<String, Integer> ids = new java.util.HashMap<>();
        for (int i = 0; i < t.vocabSize(); i++) ids.putIfAbsent(new String(t.piece(i), StandardCharsets.ISO_8859_1), i);
        byte[] s = text.getBytes(StandardCharsets.UTF_8);
        List<Integer> tokens = new ArrayList<>();
        tokens.add(Llama2cTokenizer.BOS);
        if (s.length > 0) tokens.add(ids.get(" "));
        int i = 0;
        while (i < s.length) {
            int j = i + 1;
            while (j < s.length && (s[j] & 0xC0) == 0x80 && j - i < 4) j++;
            Integer id = ids.get(new String(s, i, j - i, StandardCharsets.ISO_8859_1));
            if (id != null) tokens.add(id);
            else for (int k = i; k < j; k++) tokens.add((s[k] & 0xFF) + 3);
            i = j;
        }
        while (true) {
            float best = -1e10f;
            int bestId = -1, bestIdx = -1;
            for (int k = 1; k < tokens.size() - 1; k++) {
                Integer id = ids.get(new String(t.piece(tokens.get(k)), StandardCharsets.ISO_8859_1)
                        + new String(t.piece(tokens.get(k + 1)), StandardCharsets.ISO_8859_1));
                if (id != null && t.score(id) > best) {
                    best = t.score(id);
                    bestId = id;
                    bestIdx = k;
                }
            }
            if (bestIdx < 0) break;
            tokens.set(bestIdx, bestId);
            tokens.remove(bestIdx + 1);
        }
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * The merges come from a priority queue, not run.c's rescans: on random vocabularies full of chains and tied scores,
     * and random texts over their alphabet (with bytes outside it), every encoding equals run.c's.
     */
    @Test
    void queuedMergesGiveRunCsIdsOnRandomVocabulariesAndTexts() {
        Random r = new Random(17);
        String alphabet = "ab cdeé\n";
        for (int vocab = 0; vocab < 20; vocab++) {
            java.util.LinkedHashMap<String, Float> pieces = new java.util.LinkedHashMap<>();
            pieces.put("<unk>", 0f);
            pieces.put("\n<s>\n", 0f);
            pieces.put("\n</s>\n", 0f);
            for (int b = 0; b < 256; b++) pieces.put(String.format("<0x%02X>", b), 0f);
            for (char ch : alphabet.toCharArray()) pieces.putIfAbsent(String.valueOf(ch), (float) -r.nextInt(5));
            for (int k = 0; k < 60; k++) { // pieces of length 2..6; scores from a few values, so ties are common
                StringBuilder p = new StringBuilder();
                int len = 2 + r.nextInt(5);
                for (int c = 0; c < len; c++) p.append(alphabet.charAt(r.nextInt(alphabet.length() - 1)));
                pieces.putIfAbsent(p.toString(), (float) -r.nextInt(8));
            }
            byte[][] pb = new byte[pieces.size()][];
            float[] sc = new float[pieces.size()];
            int i = 0;
            for (var e : pieces.entrySet()) {
                pb[i] = e.getKey().getBytes(StandardCharsets.UTF_8);
                sc[i++] = e.getValue();
            }
            Llama2cTokenizer t = new Llama2cTokenizer(pb, sc);
            for (int text = 0; text < 50; text++) {
                StringBuilder sb = new StringBuilder();
                int len = r.nextInt(120);
                for (int c = 0; c < len; c++) sb.append(r.nextInt(30) == 0 ? 'Z' : alphabet.charAt(r.nextInt(alphabet.length())));
                String s = sb.toString();
                assertThat(t.encode(s, true, false)).as("vocabulary %d, text '%s'", vocab, s).containsExactly(runCEncode(t, s));
            }
        }
    }
}
