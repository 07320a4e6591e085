package dev.jgpt.train;

import dev.jgpt.JgptException;
import dev.jgpt.backend.Backend;
import dev.jgpt.backend.Backends;
import dev.jgpt.chat.ChatFormat;
import dev.jgpt.chat.ChatFormats;
import dev.jgpt.chat.ChatMarkup;
import dev.jgpt.chat.ChatMessage;
import dev.jgpt.chat.ChatSource;
import dev.jgpt.chat.ChatSourceFile;
import dev.jgpt.chat.JgptChatFormat;
import dev.jgpt.data.ShardManifest;
import dev.jgpt.data.TokenShards;
import dev.jgpt.io.AtomicFiles;
import dev.jgpt.io.CheckpointDir;
import dev.jgpt.model.GptConfig;
import dev.jgpt.tokenizer.Tokenizer;
import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

/**
 * A whole {@code jgpt train}: resolves the config into a model, data and phases, starts fresh or
 * resumes from the newest checkpoint, runs pretraining and then (when configured) chat
 * fine-tuning. Run directory: {@code config.yaml}, {@code tokenizer.json}, {@code metrics.jsonl},
 * {@code checkpoints/}, and {@code sft/} (its own metrics and checkpoints) for the second phase.
 */
public final class TrainRun {

    public record Result(Path run, Trainer.Outcome pretrain, Trainer.Outcome sft, String device, int threads) {
        public boolean stopped() {
            return (pretrain != null && pretrain.stopped()) || (sft != null && sft.stopped());
        }
    }

    private final TrainConfig cfg;
    private final Function<Path, Tokenizer> tokenizerLoader;
    private final PrintStream log;
    private volatile Trainer current;
    private volatile boolean stopRequested;

    public TrainRun(TrainConfig cfg, Function<Path, Tokenizer> tokenizerLoader, PrintStream log) {
        this.cfg = cfg;
        this.tokenizerLoader = tokenizerLoader;
        this.log = log;
    }

    /** Saves and stops at the next step boundary (Ctrl-C). */
    public void requestStop() {
        stopRequested = true;
        Trainer t = current;
        if (t != null) t.requestStop();
    }

    /** The resolved config of a run directory, for {@code --resume}. */
    public static Path configFile(Path run) {
        return run.resolve("config.yaml");
    }

    /**
     * {@link #run} with SIGINT/SIGTERM (Ctrl-C) turned into save-and-stop: a shutdown hook asks the
     * trainer to stop after the current step and waits (up to 5 minutes) for the checkpoint.
     */
    public Result runStoppable(boolean resume) {
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        Thread hook = new Thread(() -> {
            log.println("\njgpt: stopping: saving a checkpoint first (kill -9 to abandon; the last checkpoint stays loadable)");
            requestStop();
            try {
                done.await(5, java.util.concurrent.TimeUnit.MINUTES);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "jgpt-train-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return run(resume);
        } finally {
            done.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // shutting down already: the hook is running and sees the latch
            }
        }
    }

    public Result run(boolean resume) {
        Path run = Path.of(cfg.out);
        if (!resume && (!Checkpoints.list(run).isEmpty() || !Checkpoints.list(run.resolve("sft")).isEmpty())) {
            throw new JgptException(run + " already holds a training run; continue it with --resume " + run
                    + " or choose another --out");
        }
        Trainer.saveConfig(run, cfg);
        CheckpointDir.removeLeftovers(run.resolve(Checkpoints.DIR));
        List<Path> runFiles = runFiles(run, resume);
        Path tokFile = runFiles.getFirst();
        Tokenizer tok = tokenizerLoader.apply(tokFile);
        if (!resume || runFiles.size() == 1) runFiles = withChatFormat(run, tok, runFiles);
        Backends.Selection sel = Backends.select(cfg.device);
        try (Backend backend = sel.backend()) {
            if (!sel.notUsed().isEmpty()) log.println("device: " + sel.summary());
            Backends.applyPrecision(backend, cfg.precision, "'precision'");
            backend.setThreads(cfg.threads > 0 ? cfg.threads : Runtime.getRuntime().availableProcessors());
            Trainer.Outcome pre = null, sft = null;
            try {
                if (cfg.data != null) {
                    pre = pretrain(run, backend, tok, runFiles, resume);
                    if (pre.stopped() || stopRequested) return new Result(run, pre, null, backend.name(), backend.threads());
                }
                if (cfg.sft != null) {
                    sft = finetune(run, backend, tok, runFiles, resume);
                }
            } finally {
                if (last != null) last.close();
            }
            return new Result(run, pre, sft, backend.name(), backend.threads());
        }
    }

    private ImportedLlama imported;
    private boolean importedChecked;

    /** The model of another program that {@code init} names (read once), or null for a jgpt run or none. */
    private ImportedLlama imported() {
        if (!importedChecked) {
            importedChecked = true;
            if (cfg.init != null && ImportedLlama.isImport(Path.of(cfg.init))) {
                imported = ImportedLlama.open(Path.of(cfg.init), cfg.tokenizer != null ? Path.of(cfg.tokenizer) : null);
            }
        }
        return imported;
    }

    /**
     * The run's tokenizer file (first) and chat_format.json (when it has one), kept in the run directory and copied into
     * every checkpoint: on resume the ones already there; else an imported model's vocabulary written as
     * {@code tokenizer.bin}, or a copy of the tokenizer the data or init came with (and the init run's chat_format.json).
     */
    private List<Path> runFiles(Path run, boolean resume) {
        Path json = run.resolve(Checkpoints.TOKENIZER), bin = run.resolve(Checkpoints.SPM_TOKENIZER), chat = run.resolve(ChatSourceFile.NAME);
        if (resume && (Files.isRegularFile(json) || Files.isRegularFile(bin))) {
            Path tok = Files.isRegularFile(json) ? json : bin;
            return Files.isRegularFile(chat) ? List.of(tok, chat) : List.of(tok);
        }
        try {
            for (Path stale : List.of(json, bin, chat)) Files.deleteIfExists(stale);
            if (imported() != null) return List.of(imported().writeTokenizer(run));
            Path src = tokenizerSource();
            Path tok = src.getFileName().toString().equals(Checkpoints.SPM_TOKENIZER) ? bin : json;
            AtomicFiles.write(tok, Files.readAllBytes(src));
            Path srcChat = src.resolveSibling(ChatSourceFile.NAME);
            if (cfg.data == null && Files.isRegularFile(srcChat)) { // fine-tuning a run that was fine-tuned from an import
                AtomicFiles.write(chat, Files.readAllBytes(srcChat));
                return List.of(tok, chat);
            }
            return List.of(tok);
        } catch (IOException e) {
            throw new JgptException("cannot prepare the tokenizer of " + run + ": " + AtomicFiles.describe(e), e);
        }
    }

    /**
     * Settles the chat format a fresh run teaches, before any training: 'chat_format' when set; else the format an
     * imported model's template writes (one it lacks, or one jgpt does not know, is an error now); else what the init
     * run spoke (jgpt's own unless it had a chat_format.json). Writes chat_format.json when it is not jgpt's own format.
     */
    private List<Path> withChatFormat(Path run, Tokenizer tok, List<Path> runFiles) {
        Path chat = run.resolve(ChatSourceFile.NAME);
        ChatSource source = runFiles.size() > 1 ? ChatSourceFile.read(runFiles.get(1)) : imported() != null ? imported().chat() : null;
        if (cfg.chat_format != null && !cfg.chat_format.isBlank()) {
            ChatFormats.check(cfg.chat_format);
            source = (source != null ? source : ChatFormats.plainSource(tok)).withFormat(cfg.chat_format.strip());
        } else if (source != null && source.format() == null) {
            if (cfg.sft == null && (source.template() == null || ChatMarkup.detect(source.template()).isEmpty())) {
                return List.of(runFiles.getFirst()); // continued pretraining only, no format known: --chat-format when chatting
            }
            if (source.template() == null || source.template().isBlank()) {
                throw new JgptException("init " + cfg.init + " has no chat template; name the format to teach it with --chat-format NAME ("
                        + ChatMarkup.names() + ")");
            }
            source = source.withFormat(ChatFormats.of(tok, source, null).name());
        }
        if (source == null || (source.format().equals(JgptChatFormat.NAME) && imported() == null && runFiles.size() == 1)) {
            return List.of(runFiles.getFirst());
        }
        ChatFormats.of(tok, source, null); // jgpt's own format on a vocabulary without its tokens fails here, not mid-run
        ChatSourceFile.write(chat, source);
        return List.of(runFiles.getFirst(), chat);
    }

    /** The model the last phase trained (pretraining hands it to fine-tuning), and its architecture. */
    private TrainableModel last;
    private Architecture lastArch;

    private Path tokenizerSource() {
        if (cfg.tokenizer != null) {
            Path t = Path.of(cfg.tokenizer);
            if (!Files.isRegularFile(t)) throw new JgptException("tokenizer: " + t + ": no such file");
            return t;
        }
        if (cfg.data != null) {
            Path dir = Path.of(cfg.data);
            Path mf = dir.resolve(ShardManifest.FILE_NAME);
            if (Files.isRegularFile(mf)) {
                ShardManifest m = ShardManifest.read(mf);
                if (m.tokenizer() != null && m.tokenizer().file() != null) {
                    Path up = dir.toAbsolutePath().getParent();
                    for (Path c : new Path[] {dir.resolve(m.tokenizer().file()), up.resolve(m.tokenizer().file()),
                            up.resolve("tokenizer").resolve(m.tokenizer().file())}) {
                        if (Files.isRegularFile(c)) return c;
                    }
                }
            }
            Path beside = dir.resolve(Checkpoints.TOKENIZER);
            if (Files.isRegularFile(beside)) return beside;
            throw new JgptException("data " + dir + ": cannot find the tokenizer the shards were packed with; set 'tokenizer'");
        }
        if (cfg.init != null) return ModelDirs.tokenizer(ModelDirs.resolve(Path.of(cfg.init)));
        throw new JgptException("set 'tokenizer'");
    }

    private GptConfig modelConfig(int vocab) {
        GptConfig p = GptConfig.preset(cfg.preset, vocab);
        try {
            return new GptConfig(vocab, cfg.context != null ? cfg.context : p.contextLength(),
                    cfg.n_layer != null ? cfg.n_layer : p.layers(), cfg.n_head != null ? cfg.n_head : p.heads(),
                    cfg.n_embd != null ? cfg.n_embd : p.channels());
        } catch (JgptException e) {
            throw new JgptException("config: " + e.getMessage());
        }
    }

    private Trainer.Outcome pretrain(Path run, Backend backend, Tokenizer tok, List<Path> runFiles, boolean resume) {
        Path data = Path.of(cfg.data);
        if (!Files.isDirectory(data)) throw new JgptException("data: " + data + ": no such directory (run jgpt data pack first)");
        // the architecture decides the shape, the model class and how a checkpoint loads; the rest is shared
        ImportedLlama imp = imported();
        Path initDir = cfg.init != null && imp == null ? ModelDirs.resolve(Path.of(cfg.init)) : null;
        Architecture arch = imp != null ? new Architecture.LlamaArch(imp.config())
                : initDir != null ? initArchitecture(initDir) : configuredArchitecture(tok.vocabSize());
        arch.requireVocabulary(tok.vocabSize());
        if (imp != null) requireShardsOf(data, tok);
        int context = arch.context();
        int T = cfg.seq_len != null ? cfg.seq_len : context;
        if (cfg.seq_len == null && imp != null && context > IMPORTED_WINDOW) {
            // an imported model's 1,024 or 2,048 positions would make attention's saved probabilities the run's memory
            T = IMPORTED_WINDOW;
            log.printf("pretrain: seq_len %d of the model's %d (--seq-len to choose)%n", T, context);
        }
        if (T > context) {
            throw new JgptException("config: 'seq_len' (" + T + ") is larger than the model's context (" + context + ")");
        }
        int B = cfg.batch_size;
        int accum = accumulation(B, T);
        try (TokenShards train = TokenShards.open(data, "train", cfg.seed);
             TokenShards val = openVal(data)) {
            if (train.windowStarts(T) == 0) {
                throw new JgptException("data " + data + ": every training shard is shorter than one window of seq_len + 1 = "
                        + (T + 1) + " tokens; lower 'seq_len' or add data");
            }
            if (val != null && val.evalBatches(B, T) == 0) {
                throw new JgptException("data " + data + ": the validation split has " + val.tokenCount()
                        + " tokens, fewer than one batch of batch_size x seq_len + 1 = " + ((long) B * T + 1)
                        + "; lower 'batch_size' or 'seq_len'");
            }
            TrainableModel model = newModel(arch, backend, B, T);
            last = model;
            lastArch = arch;
            JsonNode state = null;
            var latest = resume ? Checkpoints.latest(run) : java.util.Optional.<Path>empty();
            if (model instanceof dev.jgpt.llama.LlamaTrainModel l && l.lora() != null) {
                state = loadLora("pretrain", l, latest, null);
            } else if (latest.isPresent()) {
                state = Checkpoints.readState(latest.get());
                arch.load(latest.get(), model, true);
                log.println("pretrain: resuming from " + latest.get());
            } else if (imp != null) {
                imp.loadInto((dev.jgpt.llama.LlamaTrainModel) model);
                log.println("pretrain: weights from " + imp.source());
            } else if (initDir != null) {
                arch.load(initDir, model, false);
                log.println("pretrain: weights from " + initDir);
            } else {
                arch.initWeights(model, cfg.seed);
            }
            if (state != null && state.path("step").asInt() >= Trainer.resumedTotal(cfg.max_steps, state)) {
                log.println("pretrain: already complete at step " + state.path("step").asInt());
                return new Trainer.Outcome(run, state.path("step").asInt(), state.path("total_steps").asInt(), false,
                        null, 0, state.path("elapsed_s").asDouble(), state.path("loss").floatValue());
            }
            Trainer t = new Trainer(cfg, model, tok, runFiles, log);
            current = t;
            if (stopRequested) t.requestStop();
            Trainer.Phase ph = new Trainer.Phase("pretrain", run, B, T, accum, cfg.max_steps, cfg.max_minutes, cfg.lr,
                    cfg.warmup_steps, cfg.sample_prompt);
            return t.run(ph, Trainer.shards(train, val), state);
        }
    }

    /** Training windows of an imported model's continued pretraining unless 'seq_len' says otherwise. */
    static final int IMPORTED_WINDOW = 512;

    /**
     * Refuses shards packed with another vocabulary than the imported model's: ids that mean other text would train
     * it on noise. The manifest's {@code vocab_sha256} says what each id stood for when the shards were packed.
     */
    private static void requireShardsOf(Path data, Tokenizer tok) {
        Path mf = data.resolve(ShardManifest.FILE_NAME);
        ShardManifest.TokenizerInfo packed = Files.isRegularFile(mf) ? ShardManifest.read(mf).tokenizer() : null;
        if (packed == null || packed.vocabSha256() == null || !packed.vocabSha256().equals(Tokenizer.vocabularySha256(tok))) {
            throw new JgptException("data " + data + " was not packed with the vocabulary of init (" + tok.vocabSize()
                    + " tokens)" + (packed == null ? "" : ": its manifest names " + packed.file() + " (" + packed.vocabSize() + " tokens)")
                    + "; pack it with jgpt data pack --tokenizer <the init model or its tokenizer>");
        }
    }

    /** The shape from the config keys (preset, n_layer, ..., and the Llama keys for arch: llama). */
    private Architecture configuredArchitecture(int vocab) {
        return "llama".equals(cfg.arch) ? new Architecture.LlamaArch(llamaConfig(vocab))
                : new Architecture.Gpt2Arch(modelConfig(vocab));
    }

    /**
     * The architecture and shape of an {@code init} model: its weights decide them (the shape keys do
     * not apply). {@code arch: llama} with a GPT-2 init is a contradiction and refused; the default
     * {@code arch: gpt2} follows a Llama init.
     */
    private Architecture initArchitecture(Path initDir) {
        Architecture a = Architecture.of(initDir);
        if ("llama".equals(cfg.arch) && !a.name().equals("llama")) {
            throw new JgptException("config: 'arch: llama' but 'init' " + initDir + " is a GPT-2 model; drop 'arch' or init from a Llama run");
        }
        return a;
    }

    /** The Llama shape from the config: the preset's layers, heads, channels and context, overridden by keys. */
    private dev.jgpt.llama.LlamaConfig llamaConfig(int vocab) {
        GptConfig g = modelConfig(vocab);
        int kv = cfg.kv_heads != null ? cfg.kv_heads : g.heads();
        int hidden = cfg.hidden_dim != null ? cfg.hidden_dim : (2 * 4 * g.channels() / 3 + 31) / 32 * 32; // llama2.c's model.py
        boolean shared = cfg.shared_classifier == null || cfg.shared_classifier;
        if (g.heads() % kv != 0) {
            throw new JgptException("config: 'kv_heads' (" + kv + ") must divide the heads (" + g.heads() + ")");
        }
        try {
            return dev.jgpt.llama.LlamaConfig.llama2c(g.channels(), hidden, g.layers(), g.heads(), kv, vocab,
                    g.contextLength(), shared);
        } catch (JgptException e) {
            throw new JgptException("config: " + e.getMessage());
        }
    }


    private TokenShards openVal(Path data) {
        if (TokenShards.shardFiles(data, "val").isEmpty()) {
            log.println("pretrain: no validation split in " + data + "; evaluation is skipped");
            return null;
        }
        return TokenShards.open(data, "val", cfg.seed);
    }

    private int accumulation(int B, int T) {
        if (cfg.batch_tokens == 0) return 1;
        long per = (long) B * T;
        if (cfg.batch_tokens % per != 0) {
            throw new JgptException("config: 'batch_tokens' (" + cfg.batch_tokens + ") must be a multiple of batch_size x seq_len = "
                    + per);
        }
        return (int) (cfg.batch_tokens / per);
    }

    private Trainer.Outcome finetune(Path run, Backend backend, Tokenizer tok, List<Path> runFiles, boolean resume) {
        Path dir = cfg.data != null ? run.resolve("sft") : run;
        TrainableModel pretrained = last;
        ImportedLlama imp = pretrained == null ? imported() : null;
        Path initDir = pretrained == null && imp == null ? ModelDirs.resolve(Path.of(cfg.init)) : null;
        Architecture arch = pretrained != null ? lastArch : imp != null ? new Architecture.LlamaArch(imp.config()) : initArchitecture(initDir);
        arch.requireVocabulary(tok.vocabSize());
        int B = cfg.sft_batch_size;
        ChatFormat format = ChatFormats.of(tok, runFiles.size() > 1 ? ChatSourceFile.read(runFiles.get(1)) : null, null);
        int pad = tok.specialTokenId(dev.jgpt.chat.ChatTemplate.END_OF_TEXT).orElse(0);
        SftData train = SftData.load(Path.of(cfg.sft), format, cfg.seed, pad);
        SftData val = cfg.sft_val != null ? SftData.load(Path.of(cfg.sft_val), format, cfg.seed, pad) : null;
        if (format instanceof dev.jgpt.chat.MarkupChatFormat) log.println("sft: chat format " + format.name());
        int T = Math.min(cfg.seq_len != null ? cfg.seq_len : arch.context(), arch.context());
        if (cfg.seq_len == null && imported() != null) {
            // an imported model's context (1024, 2048 ...) would make attention's saved probabilities the run's memory;
            // the windows need only hold the longest conversation
            T = Math.min(arch.context(), (train.longestConversation() + 63) / 64 * 64);
            log.printf("sft: seq_len %d (the longest conversation, %d tokens, rounded up to 64; --seq-len to choose)%n", T,
                    train.longestConversation());
        }
        log.printf("sft: %,d conversations, %,d tokens (%,d trained on)%n", train.conversations(), train.totalTokens(),
                train.trainedTokens());
        TrainableModel model = newModel(arch, backend, B, T);
        JsonNode state = null;
        try {
            var latest = resume ? Checkpoints.latest(dir) : java.util.Optional.<Path>empty();
            if (model instanceof dev.jgpt.llama.LlamaTrainModel l && l.lora() != null) {
                state = loadLora("sft", l, latest, pretrained instanceof dev.jgpt.llama.LlamaTrainModel p ? p : null);
            } else if (latest.isPresent()) {
                state = Checkpoints.readState(latest.get());
                arch.load(latest.get(), model, true);
                log.println("sft: resuming from " + latest.get());
            } else if (pretrained != null) {
                backend.copy(arch.parameters(model), arch.parameters(pretrained));
            } else if (imp != null) {
                imp.loadInto((dev.jgpt.llama.LlamaTrainModel) model);
                log.println("sft: weights from " + imp.source());
            } else {
                arch.load(initDir, model, false);
                log.println("sft: weights from " + initDir);
            }
            if (pretrained != null) {
                last = null;
                pretrained.close();
            }
            last = model;
            lastArch = arch;
            if (state != null && state.path("step").asInt() >= Trainer.resumedTotal(cfg.sft_max_steps, state)) {
                log.println("sft: already complete at step " + state.path("step").asInt());
                return new Trainer.Outcome(dir, state.path("step").asInt(), state.path("total_steps").asInt(), false,
                        null, 0, state.path("elapsed_s").asDouble(), state.path("loss").floatValue());
            }
            Trainer t = new Trainer(cfg, model, tok, runFiles, log);
            current = t;
            if (stopRequested) t.requestStop();
            int[] prompt = format.prompt(firstPrompt(Path.of(cfg.sft_val != null ? cfg.sft_val : cfg.sft)));
            Trainer.Phase ph = new Trainer.Phase("sft", dir, B, T, 1, cfg.sft_max_steps, cfg.sft_max_minutes, cfg.sft_lr,
                    cfg.sft_warmup_steps, tok.decode(prompt), prompt);
            return t.run(ph, Trainer.chats(train, val), state);
        } catch (RuntimeException e) {
            if (last != model) model.close();
            throw e;
        }
    }

    /** A model for batches of (B, T), with LoRA adapters when 'lora_rank' asks for them (Llama models only). */
    private TrainableModel newModel(Architecture arch, Backend backend, int B, int T) {
        dev.jgpt.llama.LoraSpec lora = cfg.loraSpec();
        if (lora == null) return arch.create(backend, B, T);
        if (!(arch instanceof Architecture.LlamaArch llama)) {
            throw new JgptException("config: 'lora_rank' adapts Llama models; init " + cfg.init + " is a GPT-2 model (set lora_rank 0)");
        }
        return new dev.jgpt.llama.LlamaTrainModel(backend, llama.config(), B, T, lora, frozenBlocks(llama.config(), backend));
    }

    /**
     * The matrices a LoRA run leaves in its GGUF init's blocks ('lora_base' auto, a quantized GGUF file, the cpu
     * backend), or null: the frozen weights are float32 in the model.
     */
    private dev.jgpt.llama.GgufFrozenMatrices frozenBlocks(dev.jgpt.llama.LlamaConfig c, Backend backend) {
        ImportedLlama imp = imported();
        if (!cfg.lora_base.equals("auto") || imp == null || !dev.jgpt.llama.LlamaModels.isGgufFile(imp.source())
                || !(backend instanceof dev.jgpt.backend.cpu.CpuBackend)) {
            return null;
        }
        return dev.jgpt.llama.GgufFrozenMatrices.openQuantized(imp.source(), c, backend.threads());
    }

    /**
     * A LoRA phase's weights: the frozen ones always from init (a checkpoint holds them merged with the adapters); the
     * adapters and their AdamW state from the newest checkpoint when resuming, else the adapters of the phase before
     * ({@code before}: pretraining, when chats follow it), else fresh ones. Returns the checkpoint's state, or null.
     */
    private JsonNode loadLora(String phase, dev.jgpt.llama.LlamaTrainModel l, java.util.Optional<Path> latest,
                              dev.jgpt.llama.LlamaTrainModel before) {
        if (imported() != null) imported().loadInto(l);
        else Checkpoints.loadLlama(ModelDirs.resolve(Path.of(cfg.init)), l, false);
        l.lora().baseModel(cfg.init);
        if (latest.isPresent()) {
            JsonNode state = Checkpoints.readState(latest.get());
            Checkpoints.loadLora(latest.get(), l, Path.of(cfg.init));
            log.println(phase + ": resuming from " + latest.get() + " (frozen weights from " + cfg.init + ")");
            return state;
        }
        if (before != null && before.lora() != null) {
            l.lora().copyFrom(before.lora());
            log.printf("%s: the adapters pretraining left, weights frozen from %s%n", phase, cfg.init);
        } else {
            l.lora().initWeights(cfg.seed);
            log.printf("%s: weights from %s, frozen; %s%n", phase, cfg.init, l.lora().describe());
        }
        return null;
    }

    /** The first conversation's messages before its first assistant reply (the samples' chat prompt). */
    static List<ChatMessage> firstPrompt(Path jsonl) {
        try (var lines = Files.lines(jsonl)) {
            String first = lines.filter(l -> !l.isBlank()).findFirst().orElse(null);
            if (first == null) return List.of();
            List<ChatMessage> before = new java.util.ArrayList<>();
            for (ChatMessage m : SftData.parseLine(jsonl, 1, first)) {
                if (m.role().equals(ChatMessage.ASSISTANT)) break;
                before.add(m);
            }
            return before;
        } catch (IOException | java.io.UncheckedIOException e) {
            return List.of();
        }
    }
}
