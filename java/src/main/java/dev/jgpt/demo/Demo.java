package dev.jgpt.demo;

import dev.jgpt.JgptException;
import dev.jgpt.backend.Backend;
import dev.jgpt.backend.Backends;
import dev.jgpt.chat.ChatMessage;
import dev.jgpt.chat.ChatTemplate;
import dev.jgpt.data.Fetcher;
import dev.jgpt.data.Packer;
import dev.jgpt.data.Preparer;
import dev.jgpt.data.Progress;
import dev.jgpt.data.ShardManifest;
import dev.jgpt.data.TokenShards;
import dev.jgpt.generate.BudgetPolicy;
import dev.jgpt.generate.GenerationConfig;
import dev.jgpt.generate.Generator;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.generate.TokenListener;
import dev.jgpt.io.AtomicFiles;
import dev.jgpt.io.Json;
import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.BpeTrainer;
import dev.jgpt.tokenizer.Tokenizer;
import dev.jgpt.train.Architecture;
import dev.jgpt.train.Checkpoints;
import dev.jgpt.train.LoadedModels;
import dev.jgpt.train.Metrics;
import dev.jgpt.train.ModelDirs;
import dev.jgpt.train.TrainConfig;
import dev.jgpt.train.TrainableModel;
import dev.jgpt.train.TrainRun;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code jgpt demo}: the whole product in one command. Stages, each skipped when its output exists
 * (so a second run, or a run after Ctrl-C, picks up where the last one stopped):
 * <ol>
 *   <li>corpus: Moby-Dick (the {@code moby-dick} fetch preset), cut into chapters as documents;</li>
 *   <li>prepare: normalise, filter, de-duplicate, split train/validation by document;</li>
 *   <li>words: WordNet definitions of the corpus's most frequent nouns, as a glossary added to the
 *       pretraining text and as "What does X mean?" chats, with held-out words left out of the chats;</li>
 *   <li>tokenizer: byte-level BPE trained on the training split, with the chat special tokens;</li>
 *   <li>pack: token shards;</li>
 *   <li>pretrain: the {@code small} model for a bounded time;</li>
 *   <li>fine-tune: chat SFT, loss on answers only;</li>
 *   <li>report: validation bits per byte against {@code xz -9} on the same bytes, held-out
 *       accuracy, speed, in {@code summary.json};</li>
 *   <li>chat: interactive on a terminal; otherwise one answer line per question line.</li>
 * </ol>
 */
public final class Demo {

    /** Every knob of the demo; {@link #defaults()} is what {@code jgpt demo} runs. */
    /** Fine-tuning steps unless --sft-max-steps says otherwise; --sft-minutes caps their time. */
    public static final int DEFAULT_SFT_STEPS = 100;

    public record Options(Path out, double trainMinutes, double sftMinutes, String preset, int vocabSize, int seqLen,
                          int batchSize, Integer maxSteps, Integer sftMaxSteps, Path corpus, Path wordnet, String device,
                          int threads, long seed, int words, int heldOut, double glossaryShare, double sftLr,
                          int accuracyQuestions, String arch) {
        public static Options defaults() {
            return new Options(Path.of("runs/demo"), 5, 1, "small", 4096, 128, 8, null, null, null, null, "auto",
                    Runtime.getRuntime().availableProcessors(), 1337, DEFAULT_WORDS, DEFAULT_HELD_OUT, DEFAULT_GLOSSARY_SHARE,
                    DEFAULT_SFT_LR, 100, "gpt2");
        }
    }

    /** How many of the corpus's most frequent nouns the demo teaches (glossary + chat set). */
    public static final int DEFAULT_WORDS = 200;
    /** How many of them are held out of fine-tuning (they stay in the pretraining glossary). */
    public static final int DEFAULT_HELD_OUT = 60;
    /** The glossary's share of the pretraining text (characters), reached by repeating it. */
    public static final double DEFAULT_GLOSSARY_SHARE = 0.5;
    /**
     * Fine-tuning's peak learning rate. A minute of fine-tuning is ~30 epochs of the 140 chats; the
     * harder it trains, the more it overwrites what pretraining stored: from the same pretrained model,
     * held-out accuracy was 67% at 1e-3, 92% at 3e-4, 95% at 1e-4 (100 steps), 78% at 3e-4 for 200
     * steps (docs/PERFORMANCE.md). 1e-4 still learns the answer form (98% on fine-tuned words).
     */
    public static final double DEFAULT_SFT_LR = 1e-4;
    /** Definitions longer than this many words are skipped: short answers are what a 4M model can learn. */
    static final int MAX_DEFINITION_WORDS = 12;
    /** The glossary's file among the prepared training split's parts. */
    static final String GLOSSARY_FILE = "glossary.jsonl";

    private final Options o;
    private final PrintStream log;

    public Demo(Options o, PrintStream log) {
        this.o = o;
        this.log = log;
    }

    private Path p(String name) {
        return o.out().resolve(name);
    }

    private void stage(int n, String what) {
        log.printf("%n== demo %d/9: %s%n", n, what);
    }

    private void skip(String why) {
        log.println("demo: skipped, " + why);
    }

    /** Runs stages 1-8 and returns the summary (also written to {@code OUT/summary.json}). */
    public ObjectNode build() {
        Path text = corpus();
        Path docs = chapters(text);
        Path prepared = prepare(docs);
        List<DefinitionQa.Pair>[] qa = words(prepared);
        Path tokFile = tokenizer(prepared);
        Path shards = pack(prepared, tokFile);
        JsonNode pre = pretrain(shards, tokFile);
        finetune(tokFile);
        return report(shards, tokFile, pre, qa[0], qa[1]);
    }

    // ---- 1. corpus --------------------------------------------------------------------------------

    private Path corpus() {
        stage(1, "corpus");
        if (o.corpus() != null) {
            if (!Files.isRegularFile(o.corpus())) throw new JgptException("--corpus " + o.corpus() + ": no such file");
            log.println("demo: using " + o.corpus());
            return o.corpus();
        }
        Fetcher.Result r = new Fetcher(Progress.stderr()).fetch("moby-dick", p("corpus"), null, null);
        return p("corpus").resolve("moby-dick.txt").toFile().exists() ? p("corpus").resolve("moby-dick.txt")
                : o.out().resolve(r.files().getFirst());
    }

    /** Chapters as documents (so whole chapters go to validation), else ~8 KB runs of paragraphs. */
    private Path chapters(Path text) {
        Path dir = p("docs");
        if (Files.isRegularFile(dir.resolve(".done"))) {
            skip(dir + " exists");
            return dir;
        }
        String all = read(text);
        List<String> parts = new ArrayList<>();
        String[] byChapter = all.split("(?m)^(?=CHAPTER \\d+)");
        if (byChapter.length >= 10) {
            for (String c : byChapter) parts.add(c);
        } else {
            StringBuilder cur = new StringBuilder();
            for (String para : all.split("\n\\s*\n")) {
                cur.append(para).append("\n\n");
                if (cur.length() > 8000) {
                    parts.add(cur.toString());
                    cur.setLength(0);
                }
            }
            if (!cur.isEmpty()) parts.add(cur.toString());
        }
        try {
            Files.createDirectories(dir);
            for (int i = 0; i < parts.size(); i++) {
                AtomicFiles.write(dir.resolve(String.format("doc-%04d.txt", i)), parts.get(i).getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new JgptException("cannot write " + dir + ": " + e.getMessage(), e);
        }
        AtomicFiles.write(dir.resolve(".done"), new byte[0]);
        log.printf("demo: %s cut into %d documents%n", text.getFileName(), parts.size());
        return dir;
    }

    // ---- 2-4. prepare, tokenizer, pack --------------------------------------------------------

    private Path prepare(Path docs) {
        stage(2, "prepare (normalise, filter, de-duplicate, split)");
        Path dir = p("prepared");
        if (Files.isRegularFile(dir.resolve("report.json"))) {
            skip(dir + " exists");
            return dir;
        }
        Preparer.Config d = Preparer.Config.defaults();
        Preparer.Config c = new Preparer.Config(d.quality(), d.exactDedup(), d.nearDedup(), d.nearThreshold(),
                d.shingleWords(), d.minhashPerms(), 0.05, o.seed(), o.threads());
        var r = new Preparer(c, Progress.stderr()).run(List.of(docs), dir);
        log.printf("demo: %d documents: %d train, %d validation%n", r.documentsOut(), r.train().documents(), r.val().documents());
        return dir;
    }

    /** The text of every document of a prepared split (JSONL lines {"text": ...}), the glossary included. */
    static List<String> texts(Path prepared, String split) {
        return texts(prepared, split, true);
    }

    static List<String> texts(Path prepared, String split, boolean withGlossary) {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(prepared.resolve(split))) {
            for (Path f : s.filter(f -> f.toString().endsWith(".jsonl"))
                    .filter(f -> withGlossary || !f.getFileName().toString().equals(GLOSSARY_FILE)).sorted().toList()) {
                for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                    if (!line.isBlank()) out.add(Json.MAPPER.readTree(line).path("text").asString());
                }
            }
        } catch (IOException e) {
            throw new JgptException("cannot read " + prepared + ": " + e.getMessage(), e);
        }
        return out;
    }

    private Path tokenizer(Path prepared) {
        stage(4, "tokenizer (byte-level BPE, " + o.vocabSize() + " tokens)");
        Path file = p("tokenizer").resolve("tokenizer.json");
        if (Files.isRegularFile(file)) {
            skip(file + " exists");
            return file;
        }
        long t0 = System.nanoTime();
        BpeTokenizer t = new BpeTrainer(o.vocabSize()).specialTokens(BpeTokenizer.DEFAULT_SPECIAL_TOKENS)
                .threads(o.threads()).trainOnTexts(texts(prepared, "train"));
        t.save(p("tokenizer"));
        log.printf("demo: %d tokens trained in %.1f s%n", t.vocabSize(), (System.nanoTime() - t0) / 1e9);
        return file;
    }

    private Path pack(Path prepared, Path tokFile) {
        stage(5, "pack token shards");
        Path dir = p("shards");
        if (Files.isRegularFile(dir.resolve(ShardManifest.FILE_NAME))) {
            skip(dir + " exists");
            return dir;
        }
        var r = new Packer(BpeTokenizer.load(tokFile), tokFile, new Packer.Config(100_000_000L, o.threads()),
                Progress.stderr()).run(prepared, dir);
        log.printf("demo: %,d tokens packed%n", r.tokens());
        return dir;
    }

    // ---- 5. pretrain -----------------------------------------------------------------------------

    private TrainConfig common(Path tokFile) {
        TrainConfig c = new TrainConfig();
        c.tokenizer = tokFile.toString();
        c.preset = o.preset();
        c.arch = o.arch();
        c.seq_len = o.seqLen();
        c.batch_size = o.batchSize();
        c.sft_batch_size = o.batchSize();
        c.device = o.device();
        c.threads = o.threads();
        c.seed = o.seed();
        c.eval_every = 0;
        c.samples = 1;
        c.sample_tokens = 32;
        c.log_every = 10;
        c.keep_checkpoints = 2;
        c.checkpoint_every = 200;
        return c;
    }

    /** The pretraining run's final state.json. */
    private JsonNode pretrain(Path shards, Path tokFile) {
        stage(6, String.format("pretrain the %s model for %.1f min", o.preset(), o.trainMinutes()));
        Path run = p("pretrain");
        JsonNode done = finished(run);
        if (done != null) {
            skip(run + " is complete (step " + done.path("step").asInt() + ")");
            return done;
        }
        TrainConfig c = common(tokFile);
        c.data = shards.toString();
        c.out = run.toString();
        c.max_minutes = o.trainMinutes();
        c.max_steps = o.maxSteps() != null ? o.maxSteps() : 1_000_000;
        c.lr = 1e-3;   // 2e-3 diverged after ~20 steps of 1,024-token batches (docs/training.md)
        c.warmup_steps = 10;
        c.min_lr_ratio = 0.1;
        c.validate("demo");
        boolean resume = !Checkpoints.list(run).isEmpty();
        if (resume) log.println("demo: continuing the interrupted pretraining in " + run);
        TrainRun tr = new TrainRun(c, BpeTokenizer::load, log);
        TrainRun.Result r = tr.runStoppable(resume);
        if (r.stopped()) throw new Interrupted();
        return finished(run);
    }

    /** state.json of a run's newest checkpoint when the run reached its last step, else null. */
    private static JsonNode finished(Path run) {
        var latest = Checkpoints.latest(run);
        if (latest.isEmpty()) return null;
        JsonNode s = Checkpoints.readState(latest.get());
        return s.path("step").asInt() >= s.path("total_steps").asInt(Integer.MAX_VALUE) ? s : null;
    }

    /** Ctrl-C during training: the trainer saved a checkpoint; a new {@code jgpt demo} continues. */
    public static final class Interrupted extends RuntimeException {
        Interrupted() {
            super("interrupted", null, false, false);
        }
    }

    // ---- 6-7. chat set, fine-tune ---------------------------------------------------------------

    /**
     * The words the chat model is taught: the corpus's most frequent nouns with a short WordNet
     * definition. All of them go into the pretraining text as a glossary ({@code word: definition.}
     * lines, repeated up to {@link Options#glossaryShare()} of the training text); all but the held-out
     * ones become "What does "X" mean?" chats for fine-tuning. Held-out words are in pretraining and
     * never in fine-tuning, so the held-out accuracy measures whether the chat model retrieves what it
     * read in pretraining, not what it was drilled on.
     */
    @SuppressWarnings("unchecked")
    private List<DefinitionQa.Pair>[] words(Path prepared) {
        stage(3, "words: WordNet definitions as a pretraining glossary and a chat set");
        Path dir = p("chat-data");
        Path train = dir.resolve("train.jsonl"), held = dir.resolve("heldout.jsonl");
        Path glossary = prepared.resolve("train").resolve(GLOSSARY_FILE);
        if (!Files.isRegularFile(train) || !Files.isRegularFile(held) || !Files.isRegularFile(glossary)) {
            if (!Files.isRegularFile(glossary) && Files.isRegularFile(p("shards").resolve(ShardManifest.FILE_NAME))) {
                throw new JgptException(o.out() + " was made by an older jgpt demo (its pretraining text has no glossary); "
                        + "remove it or pass --out NEW_DIR");
            }
            if (o.glossaryShare() < 0 || o.glossaryShare() > 0.9) throw new JgptException("--glossary-share must be between 0 and 0.9, not " + o.glossaryShare());
            if (o.heldOut() < DefinitionQa.CHOICES) throw new JgptException("--held-out must be at least " + DefinitionQa.CHOICES + ", not " + o.heldOut());
            Path wn = WordNet.locate(o.wordnet(), p("wordnet"), log);
            Map<String, WordNet.Sense> senses = WordNet.nounSenses(wn, MAX_DEFINITION_WORDS);
            List<String> corpus = texts(prepared, "train", false);
            List<DefinitionQa.Pair> all = DefinitionQa.build(senses, String.join("\n", corpus), 2, o.words());
            if (all.size() < 2 * DefinitionQa.CHOICES) {
                throw new JgptException("only " + all.size() + " corpus words have WordNet definitions; too few for a chat set");
            }
            int nHeld = Math.max(DefinitionQa.CHOICES, Math.min(o.heldOut(), all.size() / 3));
            List<DefinitionQa.Pair>[] split = DefinitionQa.holdOut(all, nHeld, o.seed());
            DefinitionQa.writeJsonl(held, split[0]);
            DefinitionQa.writeJsonl(train, split[1]);
            long corpusChars = corpus.stream().mapToLong(String::length).sum();
            long onceChars = all.stream().mapToLong(q -> DefinitionQa.glossaryLine(q).length() + 1).sum();
            double share = o.glossaryShare();
            int copies = share <= 0 ? 0 : (int) Math.max(1, Math.round(share / (1 - share) * corpusChars / onceChars));
            writeDocuments(glossary, DefinitionQa.glossary(all, copies, 50, o.seed()));
            log.printf("demo: %d words with WordNet definitions (%s): %d to fine-tune on, %d held out; "
                    + "the glossary (%d copies, %,d characters) joins the %,d characters of pretraining text%n",
                    all.size(), wn, split[1].size(), split[0].size(), copies, copies * onceChars, corpusChars);
        } else {
            skip(dir + " exists");
        }
        return new List[] {readPairs(train), readPairs(held)};
    }

    /** Documents as a prepared split's JSONL part ({"text": ...} per line), written atomically. */
    private static void writeDocuments(Path file, List<String> docs) {
        StringBuilder sb = new StringBuilder();
        for (String d : docs) sb.append(Json.MAPPER.writeValueAsString(Json.object().put("text", d))).append('\n');
        AtomicFiles.write(file, sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    static List<DefinitionQa.Pair> readPairs(Path jsonl) {
        List<DefinitionQa.Pair> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(jsonl, StandardCharsets.UTF_8)) {
                if (line.isBlank()) continue;
                JsonNode m = Json.MAPPER.readTree(line).path("messages");
                String q = m.get(0).path("content").asString(), a = m.get(1).path("content").asString();
                String w = q.replaceAll("^What does \"(.*)\" mean\\?$", "$1");
                out.add(new DefinitionQa.Pair(w, DefinitionQa.definitionOf(w, a)));
            }
        } catch (IOException e) {
            throw new JgptException("cannot read " + jsonl + ": " + e.getMessage(), e);
        }
        return out;
    }

    private void finetune(Path tokFile) {
        stage(7, String.format("fine-tune for chat for %.1f min", o.sftMinutes()));
        Path run = p("chat");
        if (finished(run) != null) {
            skip(run + " is complete");
            return;
        }
        TrainConfig c = common(tokFile);
        c.init = p("pretrain").toString();
        c.sft = p("chat-data").resolve("train.jsonl").toString();
        c.sft_val = p("chat-data").resolve("heldout.jsonl").toString();
        c.out = run.toString();
        c.sft_max_minutes = o.sftMinutes();
        // 100 steps (~20 epochs of the 140 chats), the budget only as a cap: every measured run with 100 steps at
        // 1e-4 answered held-out words well (90% exact in the recorded run); one that used its whole minute
        // (381 steps) wrote WordNet's definition for 37% - longer fine-tuning overwrites the pretrained glosses
        c.sft_max_steps = o.sftMaxSteps() != null ? o.sftMaxSteps() : DEFAULT_SFT_STEPS;
        c.sft_lr = o.sftLr();
        c.sft_warmup_steps = 10;
        c.validate("demo");
        boolean resume = !Checkpoints.list(run).isEmpty();
        TrainRun.Result r = new TrainRun(c, BpeTokenizer::load, log).runStoppable(resume);
        if (r.stopped()) throw new Interrupted();
    }

    // ---- 8. report -------------------------------------------------------------------------------

    private ObjectNode report(Path shards, Path tokFile, JsonNode pre, List<DefinitionQa.Pair> train,
                              List<DefinitionQa.Pair> held) {
        stage(8, "report");
        Path summaryFile = p("summary.json");
        if (Files.isRegularFile(summaryFile)) {
            try {
                JsonNode old = Json.MAPPER.readTree(Files.readString(summaryFile));
                if (old.isObject() && old.path("chat_model").asString("").equals(ModelDirs.resolve(p("chat")).toString())
                        && old.path("pretrain_steps").asInt() == pre.path("step").asInt()) {
                    skip(summaryFile + " is up to date");
                    printSummary((ObjectNode) old);
                    return (ObjectNode) old;
                }
            } catch (IOException | RuntimeException e) {
                // unreadable: compute it again
            }
        }
        Tokenizer tok = BpeTokenizer.load(tokFile);
        ObjectNode s = Json.object();
        double valBpb = pre.path("val_bpb").asDouble(Double.NaN);
        s.put("val_bpb", valBpb);
        s.put("val_loss", pre.path("val_loss").asDouble(Double.NaN));
        byte[] valText = validationBytes(shards, tok);
        double xz = xzBitsPerByte(valText);
        s.put("xz_bpb", xz);
        s.put("val_bytes", valText.length);
        Path chatDir = ModelDirs.resolve(p("chat"));
        Architecture arch = Architecture.of(chatDir); // the architecture the run was trained with (gpt2 or llama)
        int qaSeq = Math.min(96, arch.context());
        try (Backend be = Backends.select(o.device()).backend();
             TrainableModel m = arch.create(be, 1, qaSeq)) {
            be.setThreads(o.threads());
            arch.load(chatDir, m, false);
            s.put("model", arch instanceof Architecture.Gpt2Arch g ? g.config().toString() : m.describe());
            s.put("parameters", m.parameterCount());
            int n = o.accuracyQuestions();
            accuracy(s, "sft_heldout", DefinitionQa.accuracy(m, qaSeq, tok, held, held, n, o.seed()), Math.min(n, held.size()));
            accuracy(s, "sft_train", DefinitionQa.accuracy(m, qaSeq, tok, train, train, n, o.seed()), Math.min(n, train.size()));
            s.put("sft_chance_accuracy", 1.0 / DefinitionQa.CHOICES);
        }
        Path preDir = ModelDirs.resolve(p("pretrain"));
        try (Backend be = Backends.select(o.device()).backend();
             TrainableModel m = Architecture.of(preDir).create(be, 1, qaSeq)) {
            be.setThreads(o.threads());
            Architecture.of(preDir).load(preDir, m, false);
            accuracy(s, "pretrain_glossary_heldout",
                    DefinitionQa.glossaryAccuracy(m, qaSeq, tok, held, held, o.accuracyQuestions(), o.seed()),
                    Math.min(o.accuracyQuestions(), held.size()));
        }
        s.put("words", train.size() + held.size());
        var samples = s.putArray("samples");
        try (LoadedModel lm = LoadedModels.open(p("chat"), o.device(), o.threads())) {
            // a harder test than the multiple choice: the greedy answer must write WordNet's definition word for word
            List<DefinitionQa.Pair> asked = held.subList(0, Math.min(o.accuracyQuestions(), held.size()));
            int exact = 0;
            for (var w : asked) {
                if (DefinitionQa.definitionOf(w.word(), answer(lm, w.question())).equals(w.definition())) exact++;
            }
            accuracy(s, "sft_heldout_greedy_exact", asked.isEmpty() ? Double.NaN : (double) exact / asked.size(), asked.size());
            for (var w : sampleWords(train, held)) {
                samples.addObject().put("word", w.word()).put("held_out", held.contains(w))
                        .put("answer", answer(lm, w.question())).put("wordnet", w.definition());
            }
        }
        s.put("train_tokens_per_s", meanTokensPerSecond(p("pretrain").resolve("metrics.jsonl")));
        s.put("pretrain_steps", pre.path("step").asInt());
        s.put("pretrain_tokens", pre.path("tokens").asLong());
        s.put("pretrain_seconds", pre.path("elapsed_s").asDouble());
        s.put("vocab_size", tok.vocabSize());
        s.put("threads", o.threads());
        s.put("chat_model", chatDir.toString());
        AtomicFiles.write(p("summary.json"), Json.PRETTY.writeValueAsBytes(s));
        printSummary(s);
        log.println("demo: wrote " + p("summary.json"));
        return s;
    }

    private static void accuracy(ObjectNode s, String key, double accuracy, int questions) {
        s.put(key + "_accuracy", accuracy);
        s.put(key + "_questions", questions);
        double[] ci = DefinitionQa.wilson95(accuracy, questions);
        s.putArray(key + "_accuracy_ci95").add(ci[0]).add(ci[1]);
    }

    /** The words whose greedy answers the report shows: the most frequent held-out and trained ones. */
    static List<DefinitionQa.Pair> sampleWords(List<DefinitionQa.Pair> train, List<DefinitionQa.Pair> held) {
        List<DefinitionQa.Pair> out = new ArrayList<>(held.subList(0, Math.min(4, held.size())));
        out.addAll(train.subList(0, Math.min(2, train.size())));
        return out;
    }

    private void printSummary(ObjectNode s) {
        JsonNode h = s.path("sft_heldout_accuracy_ci95"), t = s.path("sft_train_accuracy_ci95");
        log.printf("demo: validation %.3f bits/byte (xz -9: %.3f) | %,.0f tokens/s%n", s.path("val_bpb").asDouble(),
                s.path("xz_bpb").asDouble(), s.path("train_tokens_per_s").asDouble());
        log.printf("demo: multiple choice among %d definitions (chance %.0f%%): held-out words %.0f%% (95%% CI %.0f-%.0f%%, %d questions), "
                        + "fine-tuned words %.0f%% (%.0f-%.0f%%, %d questions)%n", DefinitionQa.CHOICES, 100.0 / DefinitionQa.CHOICES,
                100 * s.path("sft_heldout_accuracy").asDouble(), 100 * h.path(0).asDouble(), 100 * h.path(1).asDouble(),
                s.path("sft_heldout_questions").asInt(), 100 * s.path("sft_train_accuracy").asDouble(), 100 * t.path(0).asDouble(),
                100 * t.path(1).asDouble(), s.path("sft_train_questions").asInt());
        JsonNode x = s.path("sft_heldout_greedy_exact_accuracy_ci95");
        log.printf("demo: greedy answers that write the held-out word's definition exactly: %.0f%% (%.0f-%.0f%%, %d questions)%n",
                100 * s.path("sft_heldout_greedy_exact_accuracy").asDouble(), 100 * x.path(0).asDouble(), 100 * x.path(1).asDouble(),
                s.path("sft_heldout_greedy_exact_questions").asInt());
        JsonNode g = s.path("pretrain_glossary_heldout_accuracy_ci95");
        log.printf("demo: the pretrained model, asked the same of held-out words in the glossary's form (\"word: ...\"): %.0f%% (%.0f-%.0f%%)%n",
                100 * s.path("pretrain_glossary_heldout_accuracy").asDouble(), 100 * g.path(0).asDouble(), 100 * g.path(1).asDouble());
        log.println("demo: greedy answers (held out: never asked in fine-tuning, the definition was only in the pretraining glossary)");
        for (JsonNode a : s.path("samples")) {
            log.printf("  %s%s%n    model:   %s%n    WordNet: %s%n", DefinitionQa.question(a.path("word").asString()),
                    a.path("held_out").asBoolean() ? "  (held out)" : "  (fine-tuned)", a.path("answer").asString(),
                    a.path("wordnet").asString());
        }
    }

    /** The exact bytes the validation loss was measured on: the val shards decoded, special tokens dropped. */
    static byte[] validationBytes(Path shards, Tokenizer tok) {
        int[] len = dev.jgpt.train.Evaluator.byteLengths(tok);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TokenShards val = TokenShards.open(shards, "val", 0)) {
            for (int s = 0; s < val.shardCount(); s++) {
                for (long i = 0; i < val.shardTokens(s); i++) {
                    int id = val.token(s, i);
                    if (len[id] > 0) out.writeBytes(tok.tokenBytes(id));
                }
            }
        }
        return out.toByteArray();
    }

    /** {@code xz -9} on the bytes: compressed bits per input byte (NaN when xz is missing). */
    static double xzBitsPerByte(byte[] data) {
        if (data.length == 0) return Double.NaN;
        try {
            Process p = new ProcessBuilder("xz", "-9", "-c", "-T1").redirectError(ProcessBuilder.Redirect.DISCARD).start();
            Thread writer = Thread.ofVirtual().start(() -> {
                try (OutputStream os = p.getOutputStream()) {
                    os.write(data);
                } catch (IOException ignored) {
                    // xz died: reported by its exit code
                }
            });
            long n;
            try (InputStream is = p.getInputStream()) {
                n = is.transferTo(OutputStream.nullOutputStream());
            }
            writer.join();
            if (p.waitFor() != 0) return Double.NaN;
            return n * 8.0 / data.length;
        } catch (IOException e) {
            return Double.NaN;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Double.NaN;
        }
    }

    /**
     * Tokens per second over the timed steps (all but the first): every step trains the same number
     * of tokens, so this is the harmonic mean of the per-step rates (= total tokens / total step
     * time); an arithmetic mean would let a few fast steps hide the slow ones.
     */
    static double meanTokensPerSecond(Path metrics) {
        if (!Files.isRegularFile(metrics)) return Double.NaN;
        double secondsPerToken = 0;
        int n = 0;
        for (JsonNode m : Metrics.read(metrics)) {
            if (m.path("kind").asString().equals("train") && m.path("step").asInt() > 1) {
                secondsPerToken += 1.0 / m.path("tokens_per_s").asDouble();
                n++;
            }
        }
        return n == 0 ? Double.NaN : n / secondsPerToken;
    }

    // ---- 9. chat ---------------------------------------------------------------------------------

    /** One line per question in, one answer line out (greedy, single turn). */
    public void answerLines(java.io.BufferedReader in, PrintStream out) throws IOException {
        try (LoadedModel m = LoadedModels.open(p("chat"), o.device(), o.threads())) {
            for (String line; (line = in.readLine()) != null; ) {
                if (line.isBlank()) continue;
                out.println(answer(m, line.strip()));
                out.flush();
            }
        }
    }

    /** The greedy single-turn answer on one line, through {@link DefinitionChat} (a mild repetition penalty keeps it from looping). */
    static String answer(LoadedModel m, String question) {
        GenerationConfig gc = new GenerationConfig(48, 0, 0, 1.0, ANSWER_REPETITION_PENALTY, List.of(), 1337L, BudgetPolicy.TRUNCATE_LEFT);
        String a = new DefinitionChat(m.name(), m.model(), m.tokenizer()).reply(List.of(ChatMessage.user(question)), gc, TokenListener.NONE).text();
        return a.replace('\n', ' ').strip();
    }

    static final double ANSWER_REPETITION_PENALTY = 1.1;

    public Path chatModel() {
        return p("chat");
    }

    static String read(Path f) {
        try {
            return Files.readString(f, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new JgptException("cannot read " + f + ": " + e.getMessage(), e);
        }
    }
}
