package dev.jgpt.train;

import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.data.TokenShards;
import dev.jgpt.memory.Tensor;
import dev.jgpt.model.Gpt2;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

/**
 * The real training loop under a time budget, on a simulated clock: every micro-batch "takes" 100 ms
 * until half the budget is gone, then 200 ms (the machine got busy), and every evaluation batch 20 ms.
 * The run must end within its budget with the cosine finished, the log must say why the schedule
 * changed, and a run stopped halfway and resumed must carry its learning rate on without a jump.
 */
class TrainerTimeBudgetTest {
    @TempDir
    Path dir;

    static final double MINUTES = 0.5; // 30 simulated seconds: ~70-150 steps
    static final long MS = 1_000_000L;

    /** The simulated machine: time passes only when the loop reads batches. */
    final AtomicLong now = new AtomicLong(1_000_000_000L);
    final long start = now.get();

    Trainer.Outcome train(Path run, Path data, int stopAfterStep, boolean resume, ByteArrayOutputStream log) {
        TrainConfig c = TrainerResumeTest.config();
        c.samples = 0;
        c.eval_every = 0;
        c.log_every = 1;
        c.min_lr_ratio = 0.1;
        Trainer.Phase ph = new Trainer.Phase("pretrain", run, 2, 16, 2, 1_000_000, MINUTES, c.lr, c.warmup_steps, "");
        try (ReferenceBackend be = new ReferenceBackend();
             Gpt2 model = new Gpt2(be, TrainerResumeTest.MODEL, 2, 16);
             TokenShards train = TokenShards.open(data, "train", c.seed);
             TokenShards val = TokenShards.open(data, "val", c.seed)) {
            JsonNode state = TrainerResumeTest.resumeOrInit(run, model, resume, c.seed);
            Trainer t = new Trainer(c, model, TrainerResumeTest.TOK, null, new PrintStream(log, true, StandardCharsets.UTF_8))
                    .withClock(now::get);
            Trainer.Source src = Trainer.shards(train, val);
            int[] batches = {0};
            Trainer.Source simulated = new Trainer.Source() {
                public void nextBatch(int B, int T, Tensor in, Tensor tg) {
                    src.nextBatch(B, T, in, tg);
                    boolean busy = now.get() - start > MINUTES * 60e9 / 2;
                    now.addAndGet((busy ? 200 : 100) * MS);
                    if (++batches[0] == 2 * stopAfterStep) t.requestStop(); // 2 micro-batches per step
                }
                public tools.jackson.databind.node.ObjectNode state() { return src.state(); }
                public void restore(JsonNode s) { src.restore(s); }
                public Evaluator.Batches evalBatches(int B, int T) {
                    Evaluator.Batches b = src.evalBatches(B, T);
                    return (in, tg) -> {
                        now.addAndGet(20 * MS);
                        return b.next(in, tg);
                    };
                }
            };
            return t.run(ph, simulated, state);
        }
    }

    static List<Double> lrs(Path metrics) {
        return Metrics.read(metrics).stream().filter(n -> n.path("kind").asString().equals("train"))
                .map(n -> n.path("lr").asDouble()).toList();
    }

    static void assertFinishedWithinBudget(Trainer.Outcome o, List<Double> lrs, double lr) {
        double budget = MINUTES * 60;
        assertThat(o.seconds() / budget).as("share of the budget used").isBetween(0.95, 1.03);
        assertThat(o.steps()).isEqualTo(o.totalSteps());
        assertThat(lrs).hasSize(o.steps());
        assertThat(lrs.getLast()).as("final learning rate").isCloseTo(lr * 0.1, offset(1e-12));
        for (int i = 3; i < lrs.size(); i++) { // warm-up is 2 steps
            double change = lrs.get(i - 1) - lrs.get(i);
            assertThat(change).as("lr change into step %d", i + 1).isGreaterThanOrEqualTo(-1e-15)
                    .isLessThan(2.5 * Math.max(lrs.get(i - 2) - lrs.get(i - 1), lr * 0.9 * 2.0 / lrs.size()));
        }
    }

    @Test
    void aMachineThatSlowsDownHalfwayStillFinishesTheScheduleInItsBudget() {
        Path data = TrainerResumeTest.shards(dir);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Trainer.Outcome o = train(dir.resolve("run"), data, -1, false, log);
        String text = log.toString(StandardCharsets.UTF_8);
        if (System.getenv("JGPT_TEST_VERBOSE") != null) System.err.println(text);
        assertFinishedWithinBudget(o, lrs(dir.resolve("run/metrics.jsonl")), TrainerResumeTest.config().lr);
        assertThat(text).contains("ms/step measured over the first").contains("ms/step now (200 at the last fit)").contains("of the 0.5 min budget used");
    }

    @Test
    void aStoppedBudgetRunResumesWithItsScheduleAndBudget() {
        Path data = TrainerResumeTest.shards(dir);
        Path run = dir.resolve("run");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Trainer.Outcome first = train(run, data, 90, false, log);
        assertThat(first.stopped()).isTrue();
        JsonNode saved = Checkpoints.readState(Checkpoints.latest(run).orElseThrow());
        assertThat(saved.has("lr_anchor_step")).as("the refitted schedule is saved").isTrue();
        assertThat(saved.path("total_steps").asInt()).isLessThan(1_000_000);

        Trainer.Outcome second = train(run, data, -1, true, log);
        assertThat(second.stopped()).isFalse();
        List<Double> lrs = lrs(run.resolve("metrics.jsonl"));
        assertFinishedWithinBudget(second, lrs, TrainerResumeTest.config().lr);
        double before = lrs.get(89), after = lrs.get(90); // steps 90 and 91
        assertThat(after).as("lr of the first resumed step").isLessThanOrEqualTo(before)
                .isGreaterThan(before - 2.5 * (lrs.get(88) - before));
    }
}
