package dev.jgpt.train;

import dev.jgpt.cli.Main;
import dev.jgpt.data.ShardWriter;
import dev.jgpt.io.AtomicFiles;
import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.BpeTrainer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Bad input and faults through the command line: one clear line each, and the last good checkpoint stays loadable. */
class TrainFaultsTest {
    @TempDir
    Path dir;
    Path data, run;

    @BeforeEach
    void setUp() throws Exception {
        String text = "Call me Ishmael. Some years ago, never mind how long precisely, having little money in my purse. ".repeat(30);
        BpeTokenizer tok = new BpeTrainer(300).specialTokens(BpeTokenizer.DEFAULT_SPECIAL_TOKENS).trainOnTexts(List.of(text));
        data = Files.createDirectories(dir.resolve("shards"));
        tok.saveTokenizerJson(data.resolve("tokenizer.json"));
        try (ShardWriter w = new ShardWriter(data.resolve("train_000000.bin"), tok.vocabSize())) {
            w.write(tok.encodeOrdinary(text));
            w.commit();
        }
        try (ShardWriter w = new ShardWriter(data.resolve("val_000000.bin"), tok.vocabSize())) {
            w.write(tok.encodeOrdinary(text.substring(0, 400)));
            w.commit();
        }
        run = dir.resolve("run");
    }

    record Result(int code, String out, String err) {}

    static Result jgpt(String... args) {
        PrintStream out = System.out, err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Result(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    String[] train(String... extra) {
        java.util.LinkedHashMap<String, String> m = new java.util.LinkedHashMap<>();
        String[] base = {"--data", data.toString(), "--out", run.toString(),
                "--device", "reference", "--threads", "1", "--n-layer", "1", "--n-head", "2", "--n-embd", "16",
                "--context", "16", "--batch-size", "2", "--max-steps", "3", "--checkpoint-every", "1", "--samples", "0",
                "--eval-batches", "2", "--warmup-steps", "1"};
        for (int i = 0; i < base.length; i += 2) m.put(base[i], base[i + 1]);
        List<String> flags = new ArrayList<>();
        for (int i = 0; i < extra.length; i++) {
            if (i + 1 < extra.length && !extra[i + 1].startsWith("--")) m.put(extra[i], extra[++i]);
            else flags.add(extra[i]);
        }
        List<String> a = new ArrayList<>(List.of("train"));
        m.forEach((k, v) -> { a.add(k); a.add(v); });
        a.addAll(flags);
        return a.toArray(String[]::new);
    }

    static String lastLine(String s) {
        List<String> l = s.lines().filter(x -> !x.isBlank()).toList();
        return l.isEmpty() ? "" : l.getLast();
    }

    @Test
    void trainsThenRefusesToOverwriteTheRun() {
        Result r = jgpt(train("--json"));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out().strip()).startsWith("{").endsWith("}").contains("\"val_bpb\"");
        assertThat(Checkpoints.list(run)).hasSize(3);
        Result plot = jgpt("plot", run.toString());
        assertThat(plot.code()).as(plot.err()).isZero();
        try {
            byte[] png = Files.readAllBytes(run.resolve("loss.png"));
            assertThat(png[1]).isEqualTo((byte) 'P');
            assertThat(png[2]).isEqualTo((byte) 'N');
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        Result again = jgpt(train());
        assertThat(again.code()).isEqualTo(1);
        assertThat(lastLine(again.err())).contains("already holds a training run").contains("--resume");
    }

    @Test
    void corruptOrTruncatedNewestCheckpointIsOneClearErrorAndTheOlderOneStillLoads() throws Exception {
        assertThat(jgpt(train()).code()).isZero();
        List<Path> ckpts = Checkpoints.list(run);
        Path newest = ckpts.getLast();
        Path weights = newest.resolve("model.safetensors");
        byte[] b = Files.readAllBytes(weights);
        b[b.length - 10] ^= 0x40;
        Files.write(weights, b);
        Result r = jgpt("eval", "--model", run.toString(), "--data", data.toString(), "--device", "reference", "--batch", "1", "--seq", "8");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().lines().count()).isEqualTo(1);
        assertThat(r.err()).contains("model.safetensors: checksum mismatch");

        Files.write(weights, java.util.Arrays.copyOf(b, b.length / 2));
        Result t = jgpt("train", "--resume", run.toString(), "--max-steps", "4");
        assertThat(t.code()).isEqualTo(1);
        assertThat(lastLine(t.err())).contains("truncated or corrupt");

        Path older = ckpts.get(ckpts.size() - 2);
        Result ok = jgpt("eval", "--model", older.toString(), "--data", data.toString(), "--device", "reference",
                "--batch", "1", "--seq", "8", "--json");
        assertThat(ok.code()).as(ok.err()).isZero();
        assertThat(ok.out()).contains("bits_per_byte");
    }

    @Test
    void aSaveKilledMidwayLeavesTheLastGoodCheckpointAndResumeContinues() throws Exception {
        assertThat(jgpt(train("--max-steps", "2")).code()).isZero();
        // what a kill -9 during the step-3 save leaves: a temp directory with half the files
        Path tmp = run.resolve("checkpoints/.tmp-step-0000003");
        Files.createDirectories(tmp);
        Files.write(tmp.resolve("model.safetensors"), new byte[] {1, 2, 3});
        // and a torn temp file of an atomic write
        Files.write(run.resolve("checkpoints/.tmp-state.json-999"), new byte[] {'{'});
        assertThat(Checkpoints.latest(run).orElseThrow().getFileName().toString()).isEqualTo("step-0000002");
        Result r = jgpt("train", "--resume", run.toString(), "--max-steps", "3");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("resuming from").contains("step-0000002");
        assertThat(Checkpoints.latest(run).orElseThrow().getFileName().toString()).isEqualTo("step-0000003");
        assertThat(Files.exists(tmp)).isFalse();
    }

    @Test
    void badConfigsAreOneLineNamingTheKey() throws Exception {
        Path yaml = dir.resolve("bad.yaml");
        Files.writeString(yaml, "data: " + data + "\nlearning_rate: 0.1\n");
        Result r = jgpt("train", "--config", yaml.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err().lines().count()).isEqualTo(1);
        assertThat(r.err()).contains("unknown key 'learning_rate'");

        Result heads = jgpt(train("--n-head", "3"));
        assertThat(heads.code()).isEqualTo(1);
        assertThat(lastLine(heads.err())).contains("'n_head' (3) must divide 'n_embd' (16)");

        Result ctx = jgpt(train("--context", "128", "--seq-len", "128", "--batch-size", "8"));
        assertThat(ctx.code()).isEqualTo(1);
        assertThat(lastLine(ctx.err())).contains("fewer than one batch");

        Result value = jgpt(train("--lr", "-1e-3"));
        assertThat(value.code()).isEqualTo(1);
        assertThat(lastLine(value.err())).contains("'lr'");
    }

    @Test
    void chatFileWithAnUnknownRoleNamesFileAndLine() throws Exception {
        assertThat(jgpt(train()).code()).isZero();
        Path chat = dir.resolve("chat.jsonl");
        Files.writeString(chat, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\"}]}\n"
                + "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"bot\",\"content\":\"hello\"}]}\n");
        Result r = jgpt("train", "--init", run.toString(), "--sft", chat.toString(), "--out", dir.resolve("sft").toString(),
                "--device", "reference", "--sft-max-steps", "2");
        assertThat(r.code()).isEqualTo(1);
        assertThat(lastLine(r.err())).contains(chat + ":2: unknown chat role 'bot'");
    }

    @Test
    void sftOnlyRunTrainsOnAssistantTokensFromAnInitRun() throws Exception {
        assertThat(jgpt(train()).code()).isZero();
        Path chat = dir.resolve("chat.jsonl");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 20; i++) {
            sb.append("{\"messages\":[{\"role\":\"user\",\"content\":\"Call me?\"},{\"role\":\"assistant\",\"content\":\"Ishmael.\"}]}\n");
        }
        Files.writeString(chat, sb);
        Path sft = dir.resolve("sft");
        Result r = jgpt("train", "--init", run.toString(), "--sft", chat.toString(), "--out", sft.toString(),
                "--device", "reference", "--threads", "1", "--sft-max-steps", "2", "--sft-batch-size", "2", "--seq-len", "16",
                "--samples", "0", "--json");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"sft\"");
        assertThat(Checkpoints.list(sft)).isNotEmpty();
        assertThat(ModelDirs.resolve(sft)).isEqualTo(Checkpoints.latest(sft).orElseThrow());
    }

    @Test
    void oneConfigRunsPretrainingThenChatFineTuning() throws Exception {
        Path chat = dir.resolve("chat.jsonl");
        Files.writeString(chat, "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                + "{\"role\":\"user\",\"content\":\"Call me?\"},{\"role\":\"assistant\",\"content\":\"Ishmael.\"}]}\n");
        Path yaml = dir.resolve("two-phase.yaml");
        Files.writeString(yaml, "sft: " + chat + "\nsft_max_steps: 2\nsft_batch_size: 2\n");
        List<String> a = new ArrayList<>(List.of(train()));
        a.addAll(List.of("--config", yaml.toString(), "--json"));
        Result r = jgpt(a.toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"pretrain\"").contains("\"sft\"");
        assertThat(Checkpoints.list(run)).isNotEmpty();
        assertThat(Checkpoints.list(run.resolve("sft"))).isNotEmpty();
        assertThat(ModelDirs.resolve(run).toString()).contains("sft");   // the run's final model is the chat model
        Result again = jgpt("train", "--resume", run.toString(), "--json");
        assertThat(again.code()).as(again.err()).isZero();
        assertThat(again.err()).contains("pretrain: already complete").contains("sft: already complete");
    }

    @Test
    void atomicWriteNeverLeavesATornFile() {
        Path f = dir.resolve("x.json");
        AtomicFiles.write(f, "{}".getBytes());
        assertThat(f).hasContent("{}");
    }
}
