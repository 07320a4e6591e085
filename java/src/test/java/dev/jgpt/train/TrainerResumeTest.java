package dev.jgpt.train;

import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.data.ShardWriter;
import dev.jgpt.data.TokenShards;
import dev.jgpt.generate.ByteTokenizer;
import dev.jgpt.memory.Tensor;
import dev.jgpt.model.Gpt2;
import dev.jgpt.model.GptConfig;
import dev.jgpt.tokenizer.Tokenizer;
import tools.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** N steps straight == k steps, a checkpoint, a fresh process-like restart and N-k more: loss by loss, bit for bit. */
class TrainerResumeTest {
    @TempDir
    Path dir;

    static final Tokenizer TOK = ByteTokenizer.withChatTokens();
    static final GptConfig MODEL = new GptConfig(TOK.vocabSize(), 16, 2, 2, 16);
    static final PrintStream QUIET = new PrintStream(java.io.OutputStream.nullOutputStream());

    static Path shards(Path dir) {
        String text = "the quick brown fox jumps over the lazy dog. a stitch in time saves nine. ".repeat(40);
        try (ShardWriter w = new ShardWriter(dir.resolve("train_000000.bin"), TOK.vocabSize())) {
            w.write(TOK.encode(text));
            w.commit();
        }
        try (ShardWriter w = new ShardWriter(dir.resolve("val_000000.bin"), TOK.vocabSize())) {
            w.write(TOK.encode(text.substring(0, 300)));
            w.commit();
        }
        return dir;
    }

    static TrainConfig config() {
        TrainConfig c = new TrainConfig();
        c.data = "unused";
        c.seed = 7;
        c.lr = 3e-3;
        c.warmup_steps = 2;
        c.log_every = 1;
        c.eval_every = 3;
        c.eval_batches = 2;
        c.samples = 1;
        c.sample_tokens = 4;
        c.checkpoint_every = 0;
        return c;
    }

    static List<Float> losses(Path metrics) {
        List<Float> out = new ArrayList<>();
        for (JsonNode n : Metrics.read(metrics)) {
            if (n.path("kind").asString().equals("train")) out.add(n.path("loss").floatValue());
        }
        return out;
    }

    private Trainer.Outcome train(Path run, Path data, int stopAfter, boolean resume) {
        return train(run, data, stopAfter, resume, "reference");
    }

    private Trainer.Outcome train(Path run, Path data, int stopAfter, boolean resume, String device) {
        TrainConfig c = config();
        Trainer.Phase ph = new Trainer.Phase("pretrain", run, 2, 16, 2, 6, 0, c.lr, c.warmup_steps, "");
        try (dev.jgpt.backend.Backend be = device.equals("reference") ? new ReferenceBackend()
                : dev.jgpt.backend.Backends.select(device).backend();
             Gpt2 model = new Gpt2(be, MODEL, 2, 16);
             TokenShards train = TokenShards.open(data, "train", c.seed);
             TokenShards val = TokenShards.open(data, "val", c.seed)) {
            JsonNode state = resumeOrInit(run, model, resume, c.seed);
            Trainer t = new Trainer(c, model, TOK, null, QUIET);
            Trainer.Source src = Trainer.shards(train, val);
            int[] batches = {0};
            Trainer.Source counting = new Trainer.Source() {
                public void nextBatch(int B, int T, Tensor in, Tensor tg) {
                    src.nextBatch(B, T, in, tg);
                    if (++batches[0] == 2 * stopAfter) t.requestStop(); // 2 micro-batches per step
                }
                public tools.jackson.databind.node.ObjectNode state() { return src.state(); }
                public void restore(JsonNode s) { src.restore(s); }
                public Evaluator.Batches evalBatches(int B, int T) { return src.evalBatches(B, T); }
            };
            return t.run(ph, counting, state);
        }
    }

    @Test
    void resumedRunComputesTheSameLossesBitForBit() {
        resumeIsBitExact("reference");
    }

    @Test
    void resumedRunIsBitExactOnTheCpuBackendToo() {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.jgpt.backend.cpu.CpuBackend.unavailableReason() == null,
                "cpu backend not built (-DskipNative)");
        resumeIsBitExact("cpu");
    }

    private void resumeIsBitExact(String device) {
        Path data = shards(dir);
        Path straight = dir.resolve("straight-" + device), split = dir.resolve("split-" + device);
        Trainer.Outcome a = train(straight, data, -1, false, device);
        assertThat(a.steps()).isEqualTo(6);
        Trainer.Outcome b1 = train(split, data, 3, false, device);
        assertThat(b1.stopped()).isTrue();
        assertThat(b1.steps()).isEqualTo(3);
        Trainer.Outcome b2 = train(split, data, -1, true, device);
        assertThat(b2.steps()).isEqualTo(6);

        List<Float> la = losses(straight.resolve("metrics.jsonl"));
        List<Float> lb = losses(split.resolve("metrics.jsonl"));
        assertThat(la).hasSize(6);
        assertThat(lb).hasSize(6);
        for (int i = 0; i < 6; i++) {
            assertThat(Float.floatToRawIntBits(lb.get(i))).as("loss at step %d", i + 1)
                    .isEqualTo(Float.floatToRawIntBits(la.get(i)));
        }
        assertThat(la.get(5)).isLessThan(la.get(0)); // it learns
        assertThat(a.lastEval().bitsPerByte()).isEqualTo(b2.lastEval().bitsPerByte());
        assertThat(Checkpoints.list(split)).hasSize(2); // step 3 (on stop) and step 6 (the end)
    }

    @Test
    void metricsAreOneJsonObjectPerLine() throws Exception {
        Path data = shards(dir);
        Path run = dir.resolve("run");
        train(run, data, -1, false);
        List<String> lines = Files.readAllLines(run.resolve("metrics.jsonl"), StandardCharsets.UTF_8);
        assertThat(lines).allSatisfy(l -> assertThat(l).startsWith("{").endsWith("}"));
        List<JsonNode> evals = Metrics.read(run.resolve("metrics.jsonl")).stream()
                .filter(n -> n.path("kind").asString().equals("eval")).toList();
        assertThat(evals).hasSize(2);
        assertThat(evals.get(1).path("val_bpb").asDouble()).isPositive();
        assertThat(evals.get(1).path("samples").size()).isEqualTo(1);
    }

    /** The latest checkpoint's state after loading it (weights and optimizer) into model, or null after a fresh init. */
    static JsonNode resumeOrInit(Path run, Gpt2 model, boolean resume, long seed) {
        if (!resume) {
            model.initWeights(seed);
            return null;
        }
        Path ckpt = Checkpoints.latest(run).orElseThrow();
        Checkpoints.load(ckpt, model, true);
        return Checkpoints.readState(ckpt);
    }
}
