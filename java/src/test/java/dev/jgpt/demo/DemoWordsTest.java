package dev.jgpt.demo;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The demo's word choice and its pretraining glossary: which words, which definitions, who is held out. */
class DemoWordsTest {
    @TempDir
    Path dir;

    /** A WordNet directory: {lemma, pos, tagged senses, gloss} rows; data.POS offsets computed here. */
    static Path wordnet(Path dir, String[][] rows) throws Exception {
        Path wn = dir.resolve("wn");
        Files.createDirectories(wn);
        for (String pos : List.of("noun", "verb", "adj", "adv")) {
            StringBuilder data = new StringBuilder("  1 licence header\n"), index = new StringBuilder("  1 licence header\n");
            for (String[] r : rows) {
                if (!r[1].equals(pos)) continue;
                String off = String.format("%08d", data.toString().getBytes(StandardCharsets.UTF_8).length);
                data.append(off).append(" 05 ").append(pos.charAt(0)).append(" 01 ").append(r[0]).append(" 0 000 | ").append(r[3]).append("  \n");
                index.append(r[0]).append(' ').append(pos.charAt(0)).append(" 1 0 1 ").append(r[2]).append(' ').append(off).append("  \n");
            }
            Files.writeString(wn.resolve("data." + pos), data);
            Files.writeString(wn.resolve("index." + pos), index);
        }
        Files.writeString(wn.resolve("noun.exc"), "men man\n");
        return wn;
    }

    @Test
    void keepsWordsMainlyUsedAsNounsWithTheirShortFirstClause() throws Exception {
        Path wn = wordnet(dir, new String[][] {
                {"whale", "noun", "1", "a very large person; impressive in size or qualities; \"a whale of a man\""},
                {"whale", "verb", "0", "hunt for whales"},
                {"are", "noun", "0", "a unit of surface area equal to 100 square meters"},          // never tagged as a noun
                {"still", "noun", "1", "a static photograph"},
                {"still", "adj", "4", "not in physical motion"},                                    // mostly an adjective
                {"ship", "noun", "1", "a vessel that carries passengers or freight"},
                {"ships", "noun", "1", "a plural that has its own entry here"},                      // plural of a kept noun
                {"man", "noun", "5", "an adult person who is male"},
                {"men", "noun", "1", "the force of workers available"},                             // noun.exc form of man
                {"god", "noun", "3", "the supernatural being conceived as the perfect and omnipotent and omniscient originator and ruler"},
                {"x", "noun", "5", "too short a lemma"}});
        Map<String, WordNet.Sense> senses = WordNet.nounSenses(wn, 12);
        assertThat(senses.keySet()).containsExactlyInAnyOrder("whale", "ship", "man");
        assertThat(senses.get("whale").definition()).isEqualTo("a very large person");
        assertThat(DefinitionQa.answer("whale", senses.get("whale").definition())).isEqualTo("\"whale\" means a very large person.");
        assertThat(DefinitionQa.definitionOf("whale", "\"whale\" means a very large person.")).isEqualTo("a very large person");
    }

    @Test
    void picksTheMostFrequentCorpusWordsAndHoldsOutASeededDisjointPart() {
        Map<String, WordNet.Sense> senses = new java.util.LinkedHashMap<>();
        for (String w : List.of("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa")) {
            senses.put(w, new WordNet.Sense(w, 'n', "the letter called " + w));
        }
        // frequencies: kappa 10, iota 9, ..., alpha 1 (below minCount 2, so out)
        StringBuilder corpus = new StringBuilder();
        List<String> order = new ArrayList<>(senses.keySet());
        for (int i = 0; i < order.size(); i++) corpus.append((order.get(i) + " ").repeat(i + 1)).append("The ");
        List<DefinitionQa.Pair> all = DefinitionQa.build(senses, corpus.toString(), 2, 6);
        assertThat(all).extracting(DefinitionQa.Pair::word).containsExactly("kappa", "iota", "theta", "eta", "zeta", "epsilon");

        List<DefinitionQa.Pair>[] split = DefinitionQa.holdOut(all, 2, 7);
        assertThat(split[0]).hasSize(2);
        assertThat(split[1]).hasSize(4);
        Set<DefinitionQa.Pair> both = new HashSet<>(split[0]);
        both.retainAll(split[1]);
        assertThat(both).isEmpty();
        assertThat(DefinitionQa.holdOut(all, 2, 7)[0]).isEqualTo(split[0]); // seeded
        // each part keeps the frequency order, so the report's samples are the most frequent words
        assertThat(all).containsSubsequence(split[0]).containsSubsequence(split[1]);
    }

    @Test
    void theGlossaryHoldsEveryWordInEveryCopyInDocumentsOfBoundedLength() {
        List<DefinitionQa.Pair> pairs = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            String w = "word" + (char) ('a' + i);
            pairs.add(new DefinitionQa.Pair(w, "a thing numbered " + i));
        }
        assertThat(DefinitionQa.glossaryLine(pairs.get(2))).isEqualTo("wordc: a thing numbered 2.");
        List<String> docs = DefinitionQa.glossary(pairs, 3, 3, 1);
        assertThat(docs).hasSize(3 * 3); // 7 lines per copy in documents of 3, 3, 1 lines
        String all = String.join("", docs);
        for (DefinitionQa.Pair p : pairs) {
            assertThat(all.split(java.util.regex.Pattern.quote(DefinitionQa.glossaryLine(p) + "\n"), -1)).hasSize(3 + 1);
        }
        for (String d : docs) assertThat(d.lines().count()).isBetween(1L, 3L);
        assertThat(DefinitionQa.glossary(pairs, 0, 3, 1)).isEmpty();
    }

    @Test
    void theDemoChatRecognisesDefinitionQuestions() {
        assertThat(DefinitionChat.askedWord("What does \"whale\" mean?")).isEqualTo("whale");
        assertThat(DefinitionChat.askedWord("what does Whale mean")).isEqualTo("whale");
        assertThat(DefinitionChat.askedWord("  What does 'sperm whale' mean? ")).isEqualTo("sperm whale");
        assertThat(DefinitionChat.askedWord("Who is Ahab?")).isNull();
        assertThat(DefinitionChat.askedWord("What does \"whale\" mean? And ship?")).isNull();
    }

    @Test
    void wilsonIntervalContainsTheEstimateAndNarrowsWithMoreQuestions() {
        double[] small = DefinitionQa.wilson95(0.4, 50), large = DefinitionQa.wilson95(0.4, 500);
        assertThat(small[0]).isLessThan(0.4);
        assertThat(small[1]).isGreaterThan(0.4);
        assertThat(small[0]).isCloseTo(0.276, org.assertj.core.data.Offset.offset(0.002));
        assertThat(small[1]).isCloseTo(0.538, org.assertj.core.data.Offset.offset(0.002));
        assertThat(large[1] - large[0]).isLessThan(small[1] - small[0]);
        assertThat(DefinitionQa.wilson95(0, 10)[0]).isZero();
    }
}
