package dev.jgpt.train;

import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.data.ShardManifest;
import dev.jgpt.llama.Llama2cTokenizer;
import dev.jgpt.testing.TinyRuns;
import dev.jgpt.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.jgpt.train.TrainFaultsTest.jgpt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * Continued pretraining of an imported model on text: {@code jgpt data pack --tokenizer tokenizer.bin} packs shards
 * with the import's own sentencepiece vocabulary (BOS before each document, as llama2.c's pretokenizer), and
 * {@code jgpt train --init model.bin --data shards} trains the imported weights on them, then (same run) on chats.
 * Shards of another vocabulary are refused. Tiny random llama2.c model, reference backend.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ContinuedPretrainingTest {
    Path dir, bin, shards, run, chats;
    Llama2cTokenizer tok;
    String trainErr;

    @BeforeAll
    void packAndTrain(@TempDir Path tmp) throws Exception {
        dir = tmp;
        tok = TinyRuns.asciiLlamaTokenizer();
        bin = TinyRuns.tinyLlama2c(dir);
        Path in = Files.createDirectories(dir.resolve("in"));
        String[] words = {"the", "whale", "swims", "deep", "sea", "ship", "sails", "north", "crew", "sings"};
        java.util.Random r = new java.util.Random(3);
        for (int d = 0; d < 8; d++) {
            StringBuilder sb = new StringBuilder();
            for (int s = 0; s < 40; s++) {
                for (int w = 0; w < 6; w++) sb.append(w == 0 ? "" : " ").append(words[r.nextInt(words.length)]);
                sb.append(s % 5 == 4 ? "\n\n" : "\n");
            }
            Files.writeString(in.resolve("doc" + d + ".txt"), sb);
        }
        var prep = jgpt("data", "prepare", in.toString(), "-o", dir.resolve("prep").toString(), "--val-fraction", "0.25");
        assertThat(prep.code()).as(prep.err()).isZero();
        shards = dir.resolve("shards");
        var pack = jgpt("data", "pack", dir.resolve("prep").toString(), "--tokenizer", dir.resolve("tokenizer.bin").toString(),
                "-o", shards.toString(), "--threads", "1");
        assertThat(pack.code()).as(pack.err()).isZero();
        chats = TinyRuns.repeatedChat(dir.resolve("chats.jsonl"), "who sails", "the ship", 8);
        run = dir.resolve("run");
        var t = jgpt("train", "--init", bin.toString(), "--data", shards.toString(), "--sft", chats.toString(),
                "--chat-format", "zephyr", "--out", run.toString(), "--device", "reference", "--threads", "1",
                "--batch-size", "4", "--max-steps", "40", "--lr", "0.01", "--warmup-steps", "0", "--min-lr-ratio", "1",
                "--eval-every", "20", "--checkpoint-every", "20", "--samples", "1", "--sample-tokens", "8", "--log-every", "10",
                "--sft-max-steps", "4", "--sft-batch-size", "2", "--sft-warmup-steps", "0");
        assertThat(t.code()).as(t.err()).isZero();
        trainErr = t.err();
    }

    @Test
    void shardsHoldBosThenEachDocumentAsRunCEncodesIt() throws Exception {
        ShardManifest m = ShardManifest.read(shards.resolve(ShardManifest.FILE_NAME));
        assertThat(m.tokenizer().file()).isEqualTo("tokenizer.bin");
        assertThat(m.tokenizer().eotId()).isEqualTo(Llama2cTokenizer.BOS);
        assertThat(m.tokenizer().vocabSha256()).isEqualTo(Tokenizer.vocabularySha256(tok));
        // the first training document: BOS, then its text encoded without BOS (the dummy-prefix space first)
        Path first = shards.resolve(m.splits().get("train").shards().getFirst().file());
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(first)).order(ByteOrder.LITTLE_ENDIAN);
        b.position(256 * 4); // llm.c's header
        List<Integer> ids = new ArrayList<>();
        while (b.remaining() >= 2) ids.add(b.getShort() & 0xFFFF);
        assertThat(ids.getFirst()).isEqualTo(Llama2cTokenizer.BOS);
        int next = ids.subList(1, ids.size()).indexOf(Llama2cTokenizer.BOS) + 1;
        int[] doc = ids.subList(1, next > 0 ? next : ids.size()).stream().mapToInt(Integer::intValue).toArray();
        String text = dev.jgpt.io.Json.MAPPER.readTree(Files.readAllLines(
                Files.list(dir.resolve("prep/train")).sorted().findFirst().orElseThrow()).getFirst()).get("text").asString();
        assertThat(doc).containsExactly(tok.encode(text, false, false));
    }

    @Test
    void theImportedWeightsLearnTheTextThenTheChats() throws Exception {
        assertThat(trainErr).contains("pretrain: weights from " + bin).contains("sft: chat format zephyr");
        List<Double> losses = new ArrayList<>();
        for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            var n = dev.jgpt.io.Json.MAPPER.readTree(line);
            if (n.has("loss") && !n.path("kind").asString("").equals("eval") && n.path("phase").asString("pretrain").equals("pretrain")) {
                losses.add(n.get("loss").asDouble());
            }
        }
        assertThat(losses.getLast()).as(losses.toString()).isLessThan(losses.getFirst() / 2);
        assertThat(Files.readAllBytes(run.resolve("tokenizer.bin"))).isEqualTo(Files.readAllBytes(dir.resolve("tokenizer.bin")));
        Path ckpt = ModelDirs.resolve(run);
        assertThat(ckpt.toString()).contains("sft");
        var again = jgpt("train", "--resume", run.toString());
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.err()).contains("already complete");
        assumeThat(NativeLibraries.status().available()).isTrue();
        var g = jgpt("generate", "--model", Checkpoints.dirFor(run, 40).toString(), "--prompt", "the whale", "--temperature", "0",
                "--max-tokens", "6", "--threads", "1");
        assertThat(g.code()).as(g.err()).isZero();
        assertThat(g.out().strip()).isNotEmpty();
    }

    @Test
    void shardsOfAnotherVocabularyAreRefused() throws Exception {
        byte[][] pieces = new byte[tok.vocabSize()][];
        float[] scores = new float[tok.vocabSize()];
        for (int i = 0; i < pieces.length; i++) {
            pieces[i] = tok.piece(i);
            scores[i] = tok.score(i);
        }
        pieces[pieces.length - 1] = "q!".getBytes(java.nio.charset.StandardCharsets.US_ASCII); // one id means other text
        Path other = Files.createDirectories(dir.resolve("other")).resolve("tokenizer.bin");
        new Llama2cTokenizer(pieces, scores).write(other);
        Path otherShards = dir.resolve("other-shards");
        var pack = jgpt("data", "pack", dir.resolve("prep").toString(), "--tokenizer", other.getParent().toString(),
                "-o", otherShards.toString());
        assertThat(pack.code()).as(pack.err()).isZero();
        var t = jgpt("train", "--init", bin.toString(), "--data", otherShards.toString(), "--out", dir.resolve("bad").toString(),
                "--device", "reference", "--max-steps", "1");
        assertThat(t.code()).isNotZero();
        assertThat(t.err()).contains("data " + otherShards + " was not packed with the vocabulary of init (285 tokens): its manifest "
                + "names tokenizer.bin (285 tokens); pack it with jgpt data pack --tokenizer <the init model or its tokenizer>")
                .doesNotContain("Exception");
    }

    /** LoRA on text, then on chats with the same adapters: the weights stay frozen, the checkpoints hold them merged. */
    @Test
    void loraTrainsOnTheTextThenTheChatsWithTheSameAdapters() throws Exception {
        Path out = dir.resolve("lora");
        var t = jgpt("train", "--init", bin.toString(), "--data", shards.toString(), "--sft", chats.toString(),
                "--chat-format", "zephyr", "--lora-rank", "4", "--out", out.toString(), "--device", "reference", "--threads", "1",
                "--batch-size", "4", "--max-steps", "20", "--lr", "0.01", "--warmup-steps", "0", "--eval-every", "0",
                "--samples", "0", "--sft-max-steps", "2", "--sft-batch-size", "2", "--sft-warmup-steps", "0");
        assertThat(t.code()).as(t.err()).isZero();
        assertThat(t.err()).contains("pretrain: weights from " + bin + ", frozen; LoRA rank 4, alpha 8")
                .contains("sft: the adapters pretraining left, weights frozen from " + bin);
        Path pre = Checkpoints.dirFor(out, 20), sft = ModelDirs.resolve(out);
        assertThat(pre.resolve(dev.jgpt.llama.LoraAdapters.WEIGHTS)).exists();
        assertThat(sft.resolve(dev.jgpt.llama.LoraAdapters.WEIGHTS)).exists();
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            var init = dev.jgpt.llama.Llama2cCheckpoint.open(bin, a);
            var merged = dev.jgpt.llama.Llama2cCheckpoint.open(sft.resolve(Checkpoints.LLAMA_WEIGHTS), a);
            assertThat(merged.tokenEmbedding().mismatch(init.tokenEmbedding())).as("frozen").isEqualTo(-1);
            assertThat(merged.wq().mismatch(init.wq())).as("merged").isNotEqualTo(-1);
        }
        var again = jgpt("train", "--resume", out.toString());
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.err()).contains("already complete");
    }
}
