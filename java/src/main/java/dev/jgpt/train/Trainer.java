package dev.jgpt.train;

import dev.jgpt.JgptException;
import dev.jgpt.backend.Backend;
import dev.jgpt.data.TokenShards;
import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.generate.BudgetPolicy;
import dev.jgpt.generate.CausalLm;
import dev.jgpt.generate.GenerationConfig;
import dev.jgpt.generate.Generator;
import dev.jgpt.io.AtomicFiles;
import dev.jgpt.io.Json;
import dev.jgpt.llama.DecodeDType;
import dev.jgpt.llama.LlamaInference;
import dev.jgpt.llama.LlamaOpsInference;
import dev.jgpt.llama.LlamaTrainModel;
import dev.jgpt.llama.ReferenceLlama;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.MemoryUsage;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.model.Gpt2;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.model.GptConfig;
import dev.jgpt.tokenizer.Tokenizer;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * One training phase (pretraining on token shards, or supervised chat fine-tuning): the loop of
 * llm.c's {@code train_gpt2.c} with gradient accumulation, global-norm clipping, warm-up + cosine
 * learning rate, periodic evaluation (loss, perplexity, bits per byte, fixed-seed samples),
 * metrics, checkpoints and a clean stop on request (Ctrl-C) that saves first.
 *
 * <p>Repeatability: weights come from the seed, batches from (seed, step) (shards) or a seeded
 * per-epoch order (chat), and a checkpoint holds everything that changes (weights, AdamW moments and
 * step, data cursor, schedule length), so a resumed run computes the same losses bit for bit on the
 * same backend and thread count.
 */
public final class Trainer {

    /** What a phase reached. */
    public record Outcome(Path dir, int steps, int totalSteps, boolean stopped, Evaluator.Result lastEval,
                          double tokensPerSecond, double seconds, double lastLoss) {}

    /** Where one phase reads its batches from. */
    public interface Source {
        void nextBatch(int B, int T, Tensor inputs, Tensor targets);

        ObjectNode state();

        void restore(JsonNode state);

        /** A fresh pass of evaluation batches, or null when there is nothing to evaluate on. */
        Evaluator.Batches evalBatches(int B, int T);
    }

    /** Shards from {@code jgpt data pack}: random training windows, the validation split in file order. */
    public static Source shards(TokenShards train, TokenShards val) {
        return new Source() {
            public void nextBatch(int B, int T, Tensor in, Tensor tg) {
                train.nextBatch(B, T, in, tg);
            }

            public ObjectNode state() {
                TokenShards.State s = train.state();
                ObjectNode o = Json.object();
                o.put("seed", s.seed());
                o.put("step", s.step());
                o.put("eval_shard", s.evalShard());
                o.put("eval_pos", s.evalPos());
                return o;
            }

            public void restore(JsonNode n) {
                train.restore(new TokenShards.State(n.path("seed").asLong(), n.path("step").asLong(),
                        n.path("eval_shard").asInt(), n.path("eval_pos").asLong()));
            }

            public Evaluator.Batches evalBatches(int B, int T) {
                if (val == null) return null;
                val.resetEval();
                return (in, tg) -> val.nextEvalBatch(B, T, in, tg);
            }
        };
    }

    /** Chat JSONL for fine-tuning, with optional held-out chats for evaluation. */
    public static Source chats(SftData train, SftData val) {
        return new Source() {
            public void nextBatch(int B, int T, Tensor in, Tensor tg) {
                train.nextBatch(B, T, in, tg);
            }

            public ObjectNode state() {
                SftData.State s = train.state();
                ObjectNode o = Json.object();
                o.put("epoch", s.epoch());
                o.put("index", s.index());
                o.put("offset", s.offset());
                return o;
            }

            public void restore(JsonNode n) {
                train.restore(new SftData.State(n.path("epoch").asInt(), n.path("index").asInt(), n.path("offset").asInt()));
            }

            public Evaluator.Batches evalBatches(int B, int T) {
                return val == null ? null : val.evalBatches(B, T);
            }
        };
    }

    /**
     * The settings of one phase, resolved from the config. {@code samplePromptIds}: the samples' prompt as ids (a chat
     * prompt in the model's format); null: {@code samplePrompt} encoded.
     */
    public record Phase(String name, Path dir, int batchSize, int seqLen, int accumulation, int maxSteps,
                        double maxMinutes, double lr, int warmup, String samplePrompt, int[] samplePromptIds) {
        public Phase(String name, Path dir, int batchSize, int seqLen, int accumulation, int maxSteps,
                     double maxMinutes, double lr, int warmup, String samplePrompt) {
            this(name, dir, batchSize, seqLen, accumulation, maxSteps, maxMinutes, lr, warmup, samplePrompt, null);
        }
    }

    private final TrainConfig cfg;
    private final TrainableModel model;
    private final Tokenizer tokenizer;
    private final List<Path> runFiles;
    private final PrintStream log;
    private final MachinePeak peak;
    private volatile boolean stopRequested;
    /** The loop's clock (nanoseconds): System.nanoTime, or a simulated one in tests of the time budget. */
    private LongSupplier clock = System::nanoTime;

    /** {@code runFiles}: what every checkpoint carries a copy of (the run's tokenizer, its chat_format.json); null: nothing. */
    public Trainer(TrainConfig cfg, TrainableModel model, Tokenizer tokenizer, List<Path> runFiles, PrintStream log) {
        this.cfg = cfg;
        this.model = model;
        this.tokenizer = tokenizer;
        this.runFiles = runFiles == null ? List.of() : List.copyOf(runFiles);
        this.log = log;
        this.peak = MachinePeak.detect();
    }

    /** Runs the loop on {@code nanoTime} instead of the system clock (tests simulate a machine's speed with it). */
    Trainer withClock(LongSupplier nanoTime) {
        this.clock = nanoTime;
        return this;
    }

    /** Asks the loop to save a checkpoint and stop after the current step (safe from any thread). */
    public void requestStop() {
        stopRequested = true;
    }

    /**
     * Runs a phase from {@code resume} (a checkpoint's state.json, already loaded into the model) or
     * from step 0.
     */
    public Outcome run(Phase ph, Source source, JsonNode resume) {
        Backend ops = model.backend();
        int B = ph.batchSize(), T = ph.seqLen();
        int step = 0, total = ph.maxSteps();
        long tokens = 0;
        double priorSeconds = 0;
        LrSchedule sched = new LrSchedule(ph.lr(), ph.warmup(), total, cfg.min_lr_ratio);
        if (resume != null) {
            step = resume.path("step").asInt();
            sched = resumedSchedule(ph.lr(), ph.warmup(), cfg.min_lr_ratio, ph.maxSteps(), resume);
            total = sched.total();
            tokens = resume.path("tokens").asLong();
            priorSeconds = resume.path("elapsed_s").asDouble();
            source.restore(resume.path("data"));
        }
        int firstStep = step;
        // a time budget: the schedule's length follows the measured speed all along (TimeBudget's javadoc says why)
        TimeBudget budget = ph.maxMinutes() > 0 ? new TimeBudget(ph.maxMinutes() * 60, priorSeconds, ph.maxSteps()) : null;
        Integer eot = tokenizer.specialTokenId("<|endoftext|>").isPresent()
                ? tokenizer.specialTokenId("<|endoftext|>").getAsInt() : null;
        Evaluator evaluator = new Evaluator(tokenizer);
        long tokensPerStep = (long) B * T * ph.accumulation();
        double flopsPerToken = MachinePeak.trainFlopsPerToken(model.parameterCount(), model.frozenParameterCount(), model.layers(),
                model.channels(), T);
        double peakFlops = peak.gflops(ops.threads()) * 1e9;

        try (TensorArena host = TensorArena.host();
             Metrics metrics = Metrics.open(ph.dir().resolve("metrics.jsonl"), ph.name(), (long) step);
             CausalLm sampler = cfg.samples > 0 ? samplerFor(model) : null) {
            Tensor in = host.allocate(DType.I32, (long) B * T);
            Tensor tg = host.allocate(DType.I32, (long) B * T);
            log.printf("%s: %s, %,d parameters, batch %d x %d x %d = %,d tokens/step, %d steps%s, device %s (%d threads)%n",
                    ph.name(), model.describe(), model.parameterCount(), ph.accumulation(), B, T, tokensPerStep, total,
                    budget == null ? "" : String.format(" at most, fitted to the %.1f min budget as the speed is measured", ph.maxMinutes()),
                    ops.name(), ops.threads());
            if (step > 0) log.printf("%s: resumed at step %d%n", ph.name(), step);
            long phaseStart = clock.getAsLong();
            long stepMark = phaseStart; // when the previous step's evaluation and saving ended
            long windowStart = phaseStart, windowTokens = 0;
            long timedNanos = 0, timedTokens = 0, overheadNanos = 0;
            int lastSaved = step, lastEval = -1;
            Evaluator.Result lastResult = null;
            float loss = Float.NaN;
            boolean stopped = false;
            while (step < total) {
                long t0 = clock.getAsLong();
                double lr = sched.at(step);
                long loopNanos = 0; // data loading and bookkeeping: what the loop adds to the bare step
                model.zeroGrad();
                double lossSum = 0;
                for (int micro = 0; micro < ph.accumulation(); micro++) {
                    long d0 = clock.getAsLong();
                    source.nextBatch(B, T, in, tg);
                    loopNanos += clock.getAsLong() - d0;
                    lossSum += model.forwardBackward(in, tg, B, T);
                }
                loss = (float) (lossSum / ph.accumulation());
                double norm = model.gradNorm() / ph.accumulation();
                double clip = cfg.grad_clip > 0 && norm > cfg.grad_clip ? cfg.grad_clip / norm : 1.0;
                model.adamwStep((float) lr, (float) cfg.beta1, (float) cfg.beta2, (float) cfg.eps,
                        (float) cfg.weight_decay, (float) (clip / ph.accumulation()));
                ops.synchronize();
                long dt = clock.getAsLong() - t0;
                long b0 = clock.getAsLong();
                step++;
                tokens += tokensPerStep;
                windowTokens += tokensPerStep;
                if (step > 1 || resume != null) { // the first step pays for JIT and page faults
                    timedNanos += dt;
                    timedTokens += tokensPerStep;
                }
                if (!Float.isFinite(loss)) {
                    throw new JgptException(ph.name() + ": the loss became " + loss + " at step " + step
                            + "; lower 'lr' (now " + ph.lr() + ") or check the data");
                }
                long now = clock.getAsLong();
                double elapsed = (now - phaseStart) / 1e9;
                if (budget != null) {
                    budget.stepTook((now - stepMark) / 1e9, step - firstStep > 1); // a process's first step pays for JIT
                    TimeBudget.Refit r = budget.refit(step, total, elapsed);
                    if (r != null) {
                        logRefit(ph, r, step, elapsed);
                        if (r.total() > step) sched = sched.retarget(step, r.total());
                        total = r.total();
                    }
                }
                double tokPerSec = timedNanos > 0 ? timedTokens / (timedNanos / 1e9) : tokensPerStep / (dt / 1e9);
                if (step % cfg.log_every == 0 || step == total || step == 1) {
                    double windowSec = (clock.getAsLong() - windowStart) / 1e9;
                    double winTps = windowTokens / windowSec;
                    double mfu = peakFlops > 0 ? flopsPerToken * winTps / peakFlops : 0;
                    double recent = budget != null ? budget.secondsPerStep() : Double.NaN; // the speed the schedule is fitted to
                    double eta = recent > 0 ? (total - step) * recent : (total - step) * tokensPerStep / Math.max(1, tokPerSec);
                    log.printf("%s step %d/%d | loss %.4f | lr %.2e | norm %.2f | %s tok/s | MFU %.1f%% | ETA %s%n",
                            ph.name(), step, total, loss, lr, norm, human(winTps), 100 * mfu, duration(eta));
                    ObjectNode m = Json.object();
                    m.put("kind", "train");
                    m.put("phase", ph.name());
                    m.put("step", step);
                    m.put("loss", loss);
                    m.put("lr", lr);
                    m.put("grad_norm", norm);
                    m.put("tokens", tokens);
                    m.put("tokens_per_s", Math.round(winTps));
                    m.put("mfu", mfu);
                    m.put("elapsed_s", priorSeconds + elapsed);
                    metrics.write(m);
                    windowStart = clock.getAsLong();
                    windowTokens = 0;
                }
                loopNanos += clock.getAsLong() - b0;
                if (step > 1 || resume != null) overheadNanos += loopNanos;
                boolean budgetOver = ph.maxMinutes() > 0 && priorSeconds + elapsed > ph.maxMinutes() * 60;
                if (budgetOver && step < total) {
                    log.printf("%s: time budget of %.1f min reached at step %d%n", ph.name(), ph.maxMinutes(), step);
                    total = step;
                }
                stopped = stopRequested && step < total;
                boolean last = step == total || stopped;
                if ((cfg.eval_every > 0 && step % cfg.eval_every == 0) || (last && !stopped)) {
                    long e0 = clock.getAsLong();
                    lastResult = evaluate(ph, source, evaluator, metrics, step, B, T, in, tg, sampler);
                    lastEval = step;
                    if (budget != null) budget.evalTook((clock.getAsLong() - e0) / 1e9);
                }
                if ((cfg.checkpoint_every > 0 && step % cfg.checkpoint_every == 0) || last) {
                    long s0 = clock.getAsLong();
                    ObjectNode st = Json.object();
                    st.put("format", "jgpt-train-state");
                    st.put("phase", ph.name());
                    st.put("step", step);
                    st.put("total_steps", total);
                    if (!sched.unanchored() && sched.total() == total) { // a refitted schedule's decay (resumedSchedule)
                        st.put("lr_anchor_step", sched.anchorStep());
                        st.put("lr_anchor_progress", sched.anchorProgress());
                    }
                    st.put("max_steps", ph.maxSteps());
                    st.put("tokens", tokens);
                    st.put("elapsed_s", priorSeconds + (clock.getAsLong() - phaseStart) / 1e9);
                    st.put("loss", loss);
                    st.put("seed", cfg.seed);
                    if (lastResult != null && lastEval == step) {
                        st.put("val_loss", lastResult.loss());
                        st.put("val_bpb", lastResult.bitsPerByte());
                    }
                    st.set("data", source.state());
                    Path saved = Checkpoints.save(ph.dir(), model, step, st, runFiles, eot, cfg.keep_checkpoints);
                    log.printf("%s: saved %s%n", ph.name(), saved);
                    lastSaved = step;
                    if (budget != null) budget.saveTook((clock.getAsLong() - s0) / 1e9);
                }
                stepMark = clock.getAsLong();
                if (stopped) {
                    log.printf("%s: stopped at step %d; continue with: jgpt train --resume %s%n", ph.name(), step, root(ph));
                    break;
                }
            }
            double seconds = priorSeconds + (clock.getAsLong() - phaseStart) / 1e9;
            double tps = timedNanos > 0 ? timedTokens / (timedNanos / 1e9) : 0;
            if (timedNanos > 0) {
                log.printf("%s: %,.0f tokens/s over %d timed steps; the loop (data, metrics, logging) took %.2f%% on top of the model's step%n",
                        ph.name(), tps, step - (resume != null ? resume.path("step").asInt() : 1), 100.0 * overheadNanos / timedNanos);
            }
            if (budget != null) {
                log.printf("%s: %.1f s of the %.1f min budget used (%.1f%%), %d steps, final learning rate %.2e%n", ph.name(),
                        seconds, ph.maxMinutes(), 100 * seconds / budget.budgetSeconds(), step, step > 0 ? sched.at(step - 1) : 0.0);
            }
            log.printf("%s: memory: %s%n", ph.name(), MemoryUsage.now(model, sampler).summary());
            return new Outcome(ph.dir(), step, total, stopped, lastResult, tps, seconds, loss);
        }
    }

    /**
     * The schedule length of a resumed phase: the saved one (fixed by a time budget, or max_steps),
     * unless max_steps was changed on the command line since, which extends or shortens the run.
     */
    public static int resumedTotal(int maxSteps, JsonNode state) {
        int saved = state.path("total_steps").asInt(maxSteps);
        return state.path("max_steps").asInt(maxSteps) != maxSteps ? maxSteps : saved;
    }

    /**
     * The learning-rate schedule of a resumed phase: the saved length ({@link #resumedTotal}) and, when a
     * time budget refitted it, the saved decay anchor, so the rate continues where it was. A max_steps
     * changed on the command line gives a plain schedule of that length, as before.
     */
    public static LrSchedule resumedSchedule(double lr, int warmup, double minRatio, int maxSteps, JsonNode state) {
        int total = resumedTotal(maxSteps, state);
        boolean sameLength = state.path("max_steps").asInt(maxSteps) == maxSteps;
        if (sameLength && state.has("lr_anchor_step")) {
            return new LrSchedule(lr, warmup, total, minRatio, state.path("lr_anchor_step").asInt(),
                    state.path("lr_anchor_progress").asDouble());
        }
        return new LrSchedule(lr, warmup, total, minRatio);
    }

    private void logRefit(Phase ph, TimeBudget.Refit r, int step, double elapsed) {
        if (r.total() == step) {
            log.printf("%s: %.0f s of the %.1f min budget left at step %d, less than one step (%.0f ms): the schedule ends here%n",
                    ph.name(), r.secondsLeft(), ph.maxMinutes(), step, 1000 * r.secondsPerStep());
        } else if (Double.isNaN(r.previousSecondsPerStep())) {
            log.printf("%s: %.0f ms/step measured over the first %.0f s: the schedule is %,d steps (was %,d) to fill the %.1f min budget"
                            + " (%.0f s left, %.1f s kept for the final evaluation and save); refitted as the speed changes%n",
                    ph.name(), 1000 * r.secondsPerStep(),
                    elapsed, r.total(), r.was(), ph.maxMinutes(), r.secondsLeft(), r.reserve());
        } else {
            log.printf("%s: step %d: %.0f ms/step now (%.0f at the last fit), %.0f s of the %.1f min budget left: the schedule is"
                            + " %,d steps (was %,d), the decay left spread over them%n", ph.name(),
                    step, 1000 * r.secondsPerStep(), 1000 * r.previousSecondsPerStep(), r.secondsLeft(), ph.maxMinutes(),
                    r.total(), r.was());
        }
    }

    private Path root(Phase ph) {
        return ph.name().equals("sft") && cfg.data != null ? ph.dir().getParent() : ph.dir();
    }

    private Evaluator.Result evaluate(Phase ph, Source source, Evaluator evaluator, Metrics metrics, int step,
                                      int B, int T, Tensor in, Tensor tg, CausalLm sampler) {
        long t0 = System.nanoTime();
        Evaluator.Batches batches = source.evalBatches(B, T);
        Evaluator.Result r = batches == null ? null : evaluator.run(model, batches, B, T, in, tg, cfg.eval_batches);
        ObjectNode m = Json.object();
        m.put("kind", "eval");
        m.put("phase", ph.name());
        m.put("step", step);
        if (r != null && r.tokens() > 0) {
            m.put("val_loss", r.loss());
            m.put("val_ppl", r.perplexity());
            m.put("val_bpb", r.bitsPerByte());
            m.put("val_tokens", r.tokens());
            log.printf("%s eval @ %d | val loss %.4f | ppl %.2f | %.4f bits/byte | %,d tokens | %.1f s%n", ph.name(), step,
                    r.loss(), r.perplexity(), r.bitsPerByte(), r.tokens(), (System.nanoTime() - t0) / 1e9);
        }
        if (sampler != null) {
            var arr = m.putArray("samples");
            int[] prompt = ph.samplePromptIds() != null ? ph.samplePromptIds()
                    : ph.samplePrompt() == null || ph.samplePrompt().isEmpty() ? new int[0] : tokenizer.encode(ph.samplePrompt());
            Generator gen = new Generator();
            for (int i = 0; i < cfg.samples; i++) {
                GenerationConfig gc = new GenerationConfig(Math.max(1, cfg.sample_tokens), 0.8, 40, 0.95, 1.0,
                        List.of(), cfg.seed + i, BudgetPolicy.TRUNCATE_LEFT);
                String text = gen.generate(sampler, tokenizer, prompt, gc, dev.jgpt.generate.TokenListener.NONE).text();
                arr.add(text);
                log.printf("  sample %d: %s%n", i + 1, oneLine(ph.samplePrompt() + text));
            }
        }
        MemoryUsage.Rss rss = MemoryUsage.readRss();
        if (rss.known()) {  // the process's peak resident set so far (evaluation included), and now (docs/formats.md)
            m.put("peak_rss_bytes", rss.peakBytes());
            m.put("rss_bytes", rss.bytes());
        }
        metrics.write(m);
        return r;
    }

    /**
     * A KV-cached decoder over the model's live weights for the fixed-seed samples, built once per
     * phase: GPT-2 through {@link Gpt2Inference} on the training backend; Llama trained on a device (cuda)
     * through {@link LlamaOpsInference} over the device parameters in place; Llama on the host through libjgpt's
     * {@link LlamaInference} in f32 (it reads the float32 weights where they lie, so every evaluation
     * sees the current step's weights), or the plain-Java {@link ReferenceLlama} when libjgpt is not built.
     * (A host-side decoder over a device model's mirror would see the weights of the mirror's last refresh.)
     */
    static CausalLm samplerFor(TrainableModel model) {
        return switch (model) {
            case Gpt2 g -> Gpt2Inference.of(g);
            case LlamaTrainModel l when l.lora() != null -> new dev.jgpt.llama.TrainModelLm(l); // decoders read plain weights
            case LlamaTrainModel l when l.onDevice() -> LlamaOpsInference.over(l);
            case LlamaTrainModel l when NativeLibraries.status().available() ->
                    new LlamaInference(l.weights(), DecodeDType.F32, 32, l.backend().threads(), null);
            case LlamaTrainModel l -> new ReferenceLlama(l.weights());
            default -> null;
        };
    }

    static String oneLine(String s) {
        String t = s.replace("\n", "\\n");
        return t.length() > 200 ? t.substring(0, 200) + "…" : t;
    }

    static String human(double x) {
        if (x >= 1e6) return String.format("%.2fM", x / 1e6);
        if (x >= 1e3) return String.format("%.1fk", x / 1e3);
        return String.format("%.0f", x);
    }

    static String duration(double s) {
        if (!Double.isFinite(s)) return "?";
        long t = Math.round(s);
        if (t >= 3600) return String.format("%dh%02dm", t / 3600, t % 3600 / 60);
        if (t >= 60) return String.format("%dm%02ds", t / 60, t % 60);
        return t + "s";
    }

    /** Writes the resolved config beside the run (so --resume uses exactly these settings). */
    public static void saveConfig(Path run, TrainConfig cfg) {
        try {
            Files.createDirectories(run);
        } catch (java.io.IOException e) {
            throw new JgptException("cannot create " + run + ": " + AtomicFiles.describe(e), e);
        }
        AtomicFiles.write(run.resolve("config.yaml"), cfg.toYaml().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
