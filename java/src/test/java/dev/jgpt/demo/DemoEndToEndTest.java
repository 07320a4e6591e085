package dev.jgpt.demo;

import dev.jgpt.cli.Main;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.io.Json;
import dev.jgpt.train.LoadedModels;
import tools.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The whole demo pipeline on a tiny budget: a corpus and a WordNet written here, a tiny model, no network. */
class DemoEndToEndTest {
    @TempDir
    Path dir;

    static final List<String> WORDS = List.of("whale", "ship", "ocean", "captain", "harpoon", "sailor", "storm",
            "anchor", "island", "compass", "lantern", "voyage");

    static Path corpus(Path dir) throws Exception {
        String[] filler = ("the a of and to in was he his that it with as on for all by but from this at one "
                + "great old white sea deck night wind wave long far upon every").split(" ");
        Random r = new Random(3);
        StringBuilder sb = new StringBuilder();
        for (int c = 1; c <= 24; c++) {
            sb.append("CHAPTER ").append(c).append(". The Tale\n\n");
            for (int p = 0; p < 6; p++) {
                for (int s = 0; s < 6; s++) {
                    StringBuilder sent = new StringBuilder();
                    for (int w = 0; w < 12; w++) {
                        String word = r.nextInt(4) == 0 ? WORDS.get(r.nextInt(WORDS.size())) : filler[r.nextInt(filler.length)];
                        sent.append(w == 0 ? Character.toUpperCase(word.charAt(0)) + word.substring(1) : word).append(' ');
                    }
                    sb.append(sent.toString().strip()).append(". ");
                }
                sb.append("\n\n");
            }
        }
        Path f = dir.resolve("corpus.txt");
        Files.writeString(f, sb);
        return f;
    }

    static Path wordnet(Path dir) throws Exception {
        Path wn = dir.resolve("wordnet");
        Files.createDirectories(wn);
        StringBuilder data = new StringBuilder("  1 This software and database is being provided to you\n");
        StringBuilder index = new StringBuilder("  1 This software and database is being provided to you\n");
        for (String w : WORDS) {
            int offset = data.toString().getBytes(StandardCharsets.UTF_8).length;
            String off = String.format("%08d", offset);
            data.append(off).append(" 05 n 01 ").append(w).append(" 0 000 | a thing called ").append(w)
                    .append(" in the old tales of the sea; \"the ").append(w).append(" was there\"  \n");
            index.append(w).append(" n 1 0 1 1 ").append(off).append("  \n"); // one sense, tagged once
        }
        Files.writeString(wn.resolve("data.noun"), data);
        Files.writeString(wn.resolve("index.noun"), index);
        return wn;
    }

    @Test
    void demoRunsEveryStageThenAnswersOneLinePerQuestionAndSkipsDoneStages() throws Exception {
        Path out = dir.resolve("demo");
        String[] args = {"demo", "--out", out.toString(), "--corpus", corpus(dir).toString(), "--wordnet",
                wordnet(dir).toString(), "--preset", "tiny", "--vocab-size", "300", "--seq-len", "32", "--batch-size", "2",
                "--max-steps", "3", "--sft-max-steps", "3", "--train-minutes", "2", "--sft-minutes", "1",
                "--accuracy-questions", "4", "--threads", "1"};
        InputStream in = System.in;
        PrintStream stdout = System.out, stderr = System.err;
        ByteArrayOutputStream answers = new ByteArrayOutputStream(), log = new ByteArrayOutputStream();
        try {
            System.setIn(new ByteArrayInputStream("What does \"whale\" mean?\nhello there\n".getBytes(StandardCharsets.UTF_8)));
            System.setOut(new PrintStream(answers, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
            assertThat(Main.run(args)).as(log.toString()).isZero();
        } finally {
            System.setIn(in);
            System.setOut(stdout);
            System.setErr(stderr);
        }
        assertThat(answers.toString(StandardCharsets.UTF_8).lines().toList()).hasSize(2);
        JsonNode s = Json.MAPPER.readTree(Files.readString(out.resolve("summary.json")));
        for (String k : List.of("val_bpb", "xz_bpb", "sft_heldout_accuracy", "train_tokens_per_s")) {
            assertThat(s.has(k)).as(k).isTrue();
        }
        assertThat(s.path("val_bpb").asDouble()).isPositive();
        assertThat(s.path("xz_bpb").asDouble()).isPositive();
        assertThat(s.path("sft_heldout_accuracy").asDouble()).isBetween(0.0, 1.0);
        assertThat(Files.readAllLines(out.resolve("chat-data/heldout.jsonl"))).hasSize(4);
        // held-out words: in the pretraining glossary (and so in the shards), never in the fine-tuning chats
        List<DefinitionQa.Pair> held = Demo.readPairs(out.resolve("chat-data/heldout.jsonl"));
        List<DefinitionQa.Pair> trained = Demo.readPairs(out.resolve("chat-data/train.jsonl"));
        assertThat(held.size() + trained.size()).isEqualTo(WORDS.size());
        String glossary = String.join("\n", Demo.texts(out.resolve("prepared"), "train"));
        String chats = Files.readString(out.resolve("chat-data/train.jsonl"));
        for (DefinitionQa.Pair h : held) {
            assertThat(glossary).contains(DefinitionQa.glossaryLine(h));
            assertThat(chats).doesNotContain("\\\"" + h.word() + "\\\"").doesNotContain(h.answer());
        }
        for (DefinitionQa.Pair t : trained) assertThat(glossary).contains(DefinitionQa.glossaryLine(t));
        assertThat(s.path("samples").size()).isEqualTo(6);
        assertThat(s.path("sft_heldout_accuracy_ci95").size()).isEqualTo(2);
        assertThat(s.path("sft_heldout_greedy_exact_accuracy").asDouble()).isBetween(0.0, 1.0);
        assertThat(s.path("pretrain_glossary_heldout_accuracy").asDouble()).isBetween(0.0, 1.0);

        // generate/chat --model accept the demo's directory: its chat model
        try (LoadedModel m = LoadedModels.open(out, "reference", 1)) {
            assertThat(m.model().contextLength()).isEqualTo(128);
        }

        // a second run skips every stage whose output exists
        ByteArrayOutputStream log2 = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(log2, true, StandardCharsets.UTF_8));
            String[] again = java.util.Arrays.copyOf(args, args.length + 1);
            again[args.length] = "--no-chat";
            assertThat(Main.run(again)).isZero();
        } finally {
            System.setErr(stderr);
        }
        assertThat(log2.toString()).contains("prepared exists").contains("is complete (step 3)").contains("chat is complete")
                .contains("summary.json is up to date");
    }

    @Test
    void demoWithArchLlamaTrainsAndFineTunesALlamaModel() throws Exception {
        Path out = dir.resolve("demo-llama");
        String[] args = {"demo", "--arch", "llama", "--out", out.toString(), "--corpus", corpus(dir).toString(), "--wordnet",
                wordnet(dir).toString(), "--preset", "tiny", "--vocab-size", "300", "--seq-len", "32", "--batch-size", "2",
                "--max-steps", "3", "--sft-max-steps", "3", "--train-minutes", "2", "--sft-minutes", "1",
                "--accuracy-questions", "4", "--threads", "1", "--device", "reference", "--json"};
        PrintStream stdout = System.out, stderr = System.err;
        ByteArrayOutputStream summary = new ByteArrayOutputStream(), log = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(summary, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
            assertThat(Main.run(args)).as(log.toString()).isZero();
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
        }
        JsonNode s = Json.MAPPER.readTree(summary.toString(StandardCharsets.UTF_8));
        assertThat(s.path("model").asString()).startsWith("llama");
        assertThat(s.path("sft_heldout_accuracy").asDouble()).isBetween(0.0, 1.0);
        assertThat(s.path("val_bpb").asDouble()).isPositive();
        assertThat(log.toString()).contains("  sample 1: ");
        assertThat(dev.jgpt.train.ModelDirs.resolve(out).resolve("model.bin")).isRegularFile(); // the chat model is a Llama checkpoint
    }
}
