package dev.jgpt.llama;

import dev.jgpt.testing.Properties;
import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.BpeTrainer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The llama2.c export of a run's byte-level BPE ({@link Llama2cExport}): the exported
 * {@code tokenizer.bin}, read back by {@link Llama2cTokenizer} (run.c's algorithm), decodes every id
 * to our token's bytes, round-trips ASCII and UTF-8 text, and the renumbered model computes the
 * same function.
 */
class Llama2cExportTest {
    static final String TEXT = ("The whale, the whale! Call me Ishmael; 42 years ago, never mind how long precisely.\n"
            + "Naïve café owners said: «très bien» — 日本語のテキスト. ").repeat(20);

    static BpeTokenizer tok;
    static int[] order;
    static Llama2cTokenizer exported;

    @BeforeAll
    static void export(@TempDir Path dir) {
        tok = new BpeTrainer(400).specialTokens(BpeTokenizer.DEFAULT_SPECIAL_TOKENS).trainOnTexts(List.of(TEXT));
        order = Llama2cExport.vocabularyOrder(tok);
        Path file = dir.resolve("tokenizer.bin");
        Llama2cExport.tokenizer(tok, order).write(file);
        exported = Llama2cTokenizer.read(file, tok.vocabSize());
    }

    @Test
    void idsFollowRunCsConventions() {
        assertThat(order).doesNotHaveDuplicates().hasSize(tok.vocabSize());
        assertThat(order[Llama2cTokenizer.BOS]).isEqualTo(tok.specialTokenId("<|endoftext|>").getAsInt());
        assertThat(order[Llama2cTokenizer.EOS]).isEqualTo(tok.specialTokenId("<|end|>").getAsInt());
        for (int b = 0; b < 256; b++) {
            assertThat(tok.tokenBytes(order[3 + b])).as("byte 0x%02X at id %d", b, 3 + b).containsExactly((byte) b);
        }
        assertThat(new String(exported.piece(1), StandardCharsets.UTF_8)).isEqualTo("<|endoftext|>");
        assertThat(new String(exported.piece(3), StandardCharsets.UTF_8)).isEqualTo("<0x00>"); // run.c keeps C strings
    }

    @Test
    void everyIdDecodesToOurTokensBytes() {
        for (int i = 0; i < tok.vocabSize(); i++) {
            byte[] ours = tok.tokenBytes(order[i]);
            if (i == Llama2cTokenizer.BOS || i == Llama2cTokenizer.EOS) {
                assertThat(exported.tokenBytes(i)).isEmpty(); // control tokens print nothing
                assertThat(exported.piece(i)).isEqualTo(ours);
            } else {
                assertThat(exported.tokenBytes(i)).as("id %d (our %d)", i, order[i]).isEqualTo(ours);
            }
        }
    }

    @Test
    void scoresFollowTheMergeOrderAndSpecialTokensAreNeverMergedTo() {
        int[] exportedOf = Llama2cExport.toExported(new int[] {256, 257, 300}, order); // BpeTrainer: id 256 + r is merge r
        assertThat(exported.score(exportedOf[0])).isEqualTo(-1f);
        assertThat(exported.score(exportedOf[1])).isEqualTo(-2f);
        assertThat(exported.score(exportedOf[2])).isEqualTo(-45f);
        assertThat(exported.score(3 + 'a')).isZero();
        int user = Llama2cExport.toExported(new int[] {tok.specialTokenId("<|user|>").getAsInt()}, order)[0];
        assertThat(exported.score(user)).isEqualTo(-1e10f);
        assertThat(exported.encode("<|user|>hi", false, false)).doesNotContain(user);
    }

    @Test
    void asciiAndUtf8TextRoundTrip() {
        for (String s : List.of("", "a", "The whale", " leading and trailing  ", "Naïve café", "日本語", "€ and 😀 are not tokens",
                "tabs\tand\nnewlines\n")) {
            assertThat(exported.decode(exported.encode(s, true, false))).as(s).isEqualTo(s);
        }
        Properties.forAll(300, r -> {
            StringBuilder sb = new StringBuilder();
            int n = Properties.size(r, 40);
            for (int i = 0; i < n; i++) {
                int cp = switch (r.nextInt(4)) {
                    case 0 -> 32 + r.nextInt(95);                    // printable ASCII
                    case 1 -> "\t\n ".charAt(r.nextInt(3));
                    case 2 -> 0xA0 + r.nextInt(0x700);               // Latin-1 .. Cyrillic, 2 bytes
                    default -> r.nextBoolean() ? 0x3040 + r.nextInt(0x100) : 0x1F600 + r.nextInt(0x50); // 3 and 4 bytes
                };
                sb.appendCodePoint(cp);
            }
            String s = sb.toString();
            assertThat(exported.decode(exported.encode(s, true, false))).as(s).isEqualTo(s);
        });
    }

    @Test
    void runCsEncodingGivesTheSameBytesAndMostlyTheSameTokensAsOurs() {
        // run.c adds a dummy-prefix space and has no pre-split: compare with our encoding of " " + text
        int same = 0, lines = 0;
        for (String line : TEXT.substring(0, TEXT.length() / 20).split("\n")) {
            int[] runc = exported.encode(line, false, false);
            int[] ours = Llama2cExport.toExported(tok.encodeOrdinary(" " + line), order);
            assertThat(exported.decodeBytes(runc)).isEqualTo(exported.decodeBytes(ours));
            lines++;
            if (java.util.Arrays.equals(runc, ours)) same++;
        }
        System.out.printf("run.c-style encoding equals jgpt's BPE on %d of %d lines%n", same, lines);
        assertThat(same).isPositive();
    }

    /**
     * On real English (the shared Moby-Dick corpus, when present) run.c's encoder, fed the exported
     * tokenizer, splits lines exactly as jgpt's BPE does almost always: no pre-split and merging by
     * the result's score rarely matter. Inverted or shuffled scores would drop this far below.
     */
    @Test
    void runCsEncodingAgreesWithOursOnEnglishText() throws Exception {
        Path moby = Path.of("../../shared/corpora/moby-dick.txt");
        if (!java.nio.file.Files.isRegularFile(moby)) moby = Path.of("/work/shared/corpora/moby-dick.txt");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isRegularFile(moby), "no shared corpus");
        String book = java.nio.file.Files.readString(moby);
        String head = book.substring(0, 200_000);
        BpeTokenizer bpe = new BpeTrainer(1024).specialTokens(BpeTokenizer.DEFAULT_SPECIAL_TOKENS).trainOnTexts(List.of(head));
        int[] ord = Llama2cExport.vocabularyOrder(bpe);
        Llama2cTokenizer runc = Llama2cExport.tokenizer(bpe, ord);
        int same = 0, lines = 0;
        for (String line : book.substring(200_000, 260_000).split("\n")) {
            if (line.isBlank()) continue;
            int[] r = runc.encode(line, false, false);
            int[] o = Llama2cExport.toExported(bpe.encodeOrdinary(" " + line), ord);
            assertThat(runc.decodeBytes(r)).isEqualTo(runc.decodeBytes(o));
            lines++;
            if (java.util.Arrays.equals(r, o)) same++;
        }
        System.out.printf("run.c-style encoding equals jgpt's BPE on %d of %d unseen Moby-Dick lines%n", same, lines);
        assertThat(lines).isGreaterThan(500);
        assertThat((double) same / lines).isGreaterThan(0.95);
    }

    @Test
    void renumberedModelComputesTheSameFunction() {
        LlamaConfig c = LlamaConfig.llama2c(16, 32, 1, 2, 1, tok.vocabSize(), 8, false);
        try (Arena arena = Arena.ofConfined()) {
            LlamaWeights w = RandomLlama.create(c, 5, arena);
            LlamaWeights p = Llama2cExport.permuted(w, order, arena);
            ReferenceLlama a = new ReferenceLlama(w), b = new ReferenceLlama(p);
            int[] ours = tok.encodeOrdinary("Call me Ishmael.");
            int[] theirs = Llama2cExport.toExported(ours, order);
            for (int t = 0; t < ours.length; t++) {
                a.step(ours[t]);
                b.step(theirs[t]);
                for (int v = 0; v < tok.vocabSize(); v++) {
                    assertThat(b.lastLogits()[v]).isEqualTo(a.lastLogits()[order[v]]);
                }
            }
            MemorySegment e = p.tokenEmbedding();
            assertThat(e.getAtIndex(ValueLayout.JAVA_FLOAT, (long) Llama2cTokenizer.BOS * 16))
                    .isEqualTo(w.tokenEmbedding().getAtIndex(ValueLayout.JAVA_FLOAT, (long) order[1] * 16));
        }
    }
}
