package dev.jgpt.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.JgptException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BpeTrainerTest {

    static List<String> corpus(long seed, int docs, int atoms) {
        SplittableRandom r = new SplittableRandom(seed);
        List<String> out = new ArrayList<>();
        for (int i = 0; i < docs; i++) out.add(TextGen.text(r, atoms));
        return out;
    }

    /**
     * The textbook algorithm: recount every pair of every word after each merge. Same tie-break
     * (highest count, then smallest left id, then smallest right id). The incremental trainer must
     * learn exactly these merges.
     */
    static List<int[]> naiveMerges(List<String> docs, SplitPattern p, int merges) {
        Map<String, Integer> counts = new HashMap<>();
        for (String d : docs) {
            for (String piece : SplitPatternTest.scannerPieces(p, d)) counts.merge(piece, 1, Integer::sum);
        }
        int[] idOfByte = new int[256];
        for (int i = 0; i < 256; i++) idOfByte[ByteLevel.byteWithRank(i)] = i;
        List<List<Integer>> words = new ArrayList<>();
        List<Integer> freq = new ArrayList<>();
        counts.forEach((w, c) -> {
            List<Integer> s = new ArrayList<>();
            for (byte b : w.getBytes(StandardCharsets.UTF_8)) s.add(idOfByte[b & 0xFF]);
            words.add(s);
            freq.add(c);
        });
        List<int[]> out = new ArrayList<>();
        for (int m = 0; m < merges; m++) {
            Map<Long, Long> pc = new HashMap<>();
            for (int w = 0; w < words.size(); w++) {
                List<Integer> s = words.get(w);
                for (int i = 0; i + 1 < s.size(); i++) pc.merge(LongIntMap.pair(s.get(i), s.get(i + 1)), (long) freq.get(w), Long::sum);
            }
            long best = -1;
            long bestCount = 0;
            for (Map.Entry<Long, Long> e : pc.entrySet()) {
                if (e.getValue() > bestCount || (e.getValue() == bestCount && e.getKey() < best)) {
                    best = e.getKey();
                    bestCount = e.getValue();
                }
            }
            if (best < 0) break;
            int l = (int) (best >>> 32);
            int r = (int) best;
            int z = 256 + m;
            out.add(new int[] {l, r});
            for (List<Integer> s : words) {
                for (int i = 0; i + 1 < s.size(); i++) {
                    if (s.get(i) == l && s.get(i + 1) == r) {
                        s.set(i, z);
                        s.remove(i + 1);
                    }
                }
            }
        }
        return out;
    }

    @Property(tries = 25)
    void incrementalEqualsFullRecount(@ForAll long seed, @ForAll @IntRange(min = 1, max = 40) int docs) {
        List<String> texts = corpus(seed, docs, 40);
        for (SplitPattern p : SplitPattern.values()) {
            BpeTokenizer t = new BpeTrainer(256 + 150).pattern(p).specialTokens(List.of()).trainOnTexts(texts);
            List<int[]> expected = naiveMerges(texts, p, 150);
            assertThat(t.mergeCount()).isEqualTo(expected.size());
            String[] vocab = t.modelVocab();
            for (int r = 0; r < expected.size(); r++) {
                assertThat(t.merge(r)).as("merge %d", r)
                        .containsExactly(vocab[expected.get(r)[0]], vocab[expected.get(r)[1]]);
            }
        }
    }

    @Test
    void sameCorpusSameFilesWhateverTheThreads(@TempDir Path dir) throws IOException {
        List<String> texts = corpus(1, 300, 120);
        // one document over the chunk size, so counting really runs in parallel chunks
        texts.add(String.join("\n", corpus(2, 20_000, 30)));
        assertThat(texts.getLast().length()).isGreaterThan(1 << 20);
        new BpeTrainer(2000).threads(1).trainOnTexts(texts).save(dir.resolve("a"));
        new BpeTrainer(2000).threads(2).trainOnTexts(texts).save(dir.resolve("b"));
        new BpeTrainer(2000).threads(2).trainOnTexts(texts).save(dir.resolve("c"));
        for (String f : new String[] {"tokenizer.json", "vocab.json", "merges.txt"}) {
            byte[] a = Files.readAllBytes(dir.resolve("a").resolve(f));
            assertThat(Files.readAllBytes(dir.resolve("b").resolve(f))).as(f).isEqualTo(a);
            assertThat(Files.readAllBytes(dir.resolve("c").resolve(f))).as(f).isEqualTo(a);
        }
    }

    @Test
    void chunkBoundariesAreAlwaysPieceBoundaries() {
        SplittableRandom r = new SplittableRandom(4);
        for (int round = 0; round < 200; round++) {
            byte[] b = TextGen.text(r, 200).getBytes(StandardCharsets.UTF_8);
            for (SplitPattern p : SplitPattern.values()) {
                IntList ends = new IntList(64);
                p.split(b, 0, b.length, ends);
                java.util.Set<Integer> boundaries = new java.util.HashSet<>();
                for (int i = 0; i < ends.size(); i++) boundaries.add(ends.get(i));
                for (int at = 1; at < b.length; at++) {
                    int cut = BpeTrainer.chunkEnd(b, at);
                    if (cut < b.length) assertThat(boundaries).as("%s cut at %d", p, cut).contains(cut);
                }
            }
        }
    }

    @Test
    void vocabularyLayout() {
        BpeTokenizer t = new BpeTrainer(300).trainOnTexts(corpus(3, 50, 50));
        assertThat(t.vocabSize()).isEqualTo(300);
        assertThat(t.mergeCount()).isEqualTo(300 - 256 - 5);
        // ids 0..255: bytes in GPT-2's order ('!' first), then merges, then the special tokens
        assertThat(t.tokenBytes(0)).containsExactly('!');
        assertThat(t.tokenString(188)).isEqualTo("Ā"); // byte 0
        for (int i = 0; i < 5; i++) {
            assertThat(t.specialTokenId(BpeTokenizer.DEFAULT_SPECIAL_TOKENS.get(i))).hasValue(295 + i);
        }
    }

    @Test
    void smallCorpusStopsWhenNothingIsLeftToMerge() {
        BpeTokenizer t = new BpeTrainer(5000).trainOnTexts(List.of("abab"));
        assertThat(t.mergeCount()).isEqualTo(2); // (a,b) then (ab,ab)
        assertThat(t.vocabSize()).isEqualTo(256 + 2 + 5);
    }

    @Test
    void specialTokensInTheCorpusAreNotLearnedFrom() {
        BpeTokenizer t = new BpeTrainer(270).trainOnTexts(List.of("<|endoftext|>".repeat(100) + "xy"));
        assertThat(t.mergeCount()).isEqualTo(1);
        assertThat(t.merge(0)).containsExactly("x", "y");
    }

    @Test
    void badSettingsAreClearErrors(@TempDir Path dir) {
        assertThatThrownBy(() -> new BpeTrainer(100).trainOnTexts(List.of("x"))).isInstanceOf(JgptException.class)
                .hasMessageContaining("vocabulary size 100 is too small");
        assertThatThrownBy(() -> new BpeTrainer(300).train(List.of(dir.resolve("missing.txt"))))
                .isInstanceOf(JgptException.class).hasMessageContaining("missing.txt: no such file");
        assertThatThrownBy(() -> new BpeTrainer(300).specialTokens(List.of("a", "a")).trainOnTexts(List.of("x")))
                .isInstanceOf(JgptException.class).hasMessageContaining("distinct");
    }
}
