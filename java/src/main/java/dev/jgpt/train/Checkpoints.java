package dev.jgpt.train;

import dev.jgpt.JgptException;
import dev.jgpt.io.AtomicFiles;
import dev.jgpt.io.CheckpointDir;
import dev.jgpt.io.Gpt2Files;
import dev.jgpt.io.Json;
import dev.jgpt.io.NamedTensor;
import dev.jgpt.io.Safetensors;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.llama.Llama2cCheckpoint;
import dev.jgpt.llama.LlamaConfig;
import dev.jgpt.llama.LlamaTrainModel;
import dev.jgpt.llama.LlamaWeights;
import dev.jgpt.model.Gpt2;
import dev.jgpt.model.GptConfig;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Checkpoints of a run: {@code RUN/checkpoints/step-NNNNNNN/} holding
 * <ul>
 *   <li>{@code model.safetensors} + {@code config.json}: the weights with Hugging Face GPT-2 names
 *       (the directory loads in {@code transformers} as it is), and {@code tokenizer.json} (a run fine-tuned from an
 *       imported model: {@code tokenizer.bin} and {@code chat_format.json});</li>
 *       A Llama run has {@code model.bin} instead: a llama2.c checkpoint ({@code Llama2cCheckpoint});</li>
 *   <li>{@code optimizer.safetensors}: AdamW's moments {@code m} and {@code v} (flat, our layout);</li>
 *   <li>{@code state.json}: step, schedule length, data-reader and RNG state, token count;</li>
 *   <li>{@code checkpoint.json}: size and SHA-256 of every file ({@link CheckpointDir}).</li>
 * </ul>
 * Saved atomically as a whole; the last {@code keep} are kept.
 */
public final class Checkpoints {
    public static final String DIR = "checkpoints";
    public static final String OPTIMIZER = "optimizer.safetensors";
    public static final String STATE = "state.json";
    /** A Llama run's weights: a llama2.c checkpoint (instead of model.safetensors + config.json). */
    public static final String LLAMA_WEIGHTS = "model.bin";
    public static final String TOKENIZER = "tokenizer.json";
    /** The tokenizer of a run fine-tuned from an imported model: its sentencepiece vocabulary as llama2.c's tokenizer.bin. */
    public static final String SPM_TOKENIZER = "tokenizer.bin";

    private Checkpoints() {}

    public static Path dirFor(Path run, int step) {
        return run.resolve(DIR).resolve(String.format("step-%07d", step));
    }

    /**
     * Writes a checkpoint of {@code model} with {@code state} and copies of {@code runFiles} (the run's tokenizer, and
     * its chat_format.json when it has one), and removes all but the newest {@code keep}.
     */
    public static Path save(Path run, TrainableModel model, int step, ObjectNode state, List<Path> runFiles, Integer eotId, int keep) {
        Path fin = dirFor(run, step);
        Path tmp = CheckpointDir.begin(fin);
        try (TensorArena staging = TensorArena.host()) {
            switch (model) {
                case Gpt2 g -> Gpt2Files.write(tmp, g.config(), host(g, g.params().flat(), staging), eotId,
                        Map.of("jgpt.step", Integer.toString(step)));
                case LlamaTrainModel l -> {
                    l.writeLlama2c(tmp.resolve(LLAMA_WEIGHTS)); // atomic (temp, fsync, rename); LoRA: merged
                    if (l.lora() != null) l.lora().writePeft(tmp);
                }
                default -> throw new IllegalArgumentException("no checkpoint format for " + model.getClass());
            }
            if (model.optimizerM() != null) {
                Tensor m = host(model, model.optimizerM(), staging);
                Tensor v = host(model, model.optimizerV(), staging);
                Safetensors.write(tmp.resolve(OPTIMIZER), List.of(
                        new NamedTensor("m", DType.F32, new long[] {m.numel()}, m.data().asSlice(0, m.byteSize())),
                        new NamedTensor("v", DType.F32, new long[] {v.numel()}, v.data().asSlice(0, v.byteSize()))),
                        Map.of("adam_step", Integer.toString(model.optimizerStep())));
            }
            for (Path f : runFiles) AtomicFiles.write(tmp.resolve(f.getFileName().toString()), Files.readAllBytes(f));
            AtomicFiles.write(tmp.resolve(STATE), Json.PRETTY.writeValueAsBytes(state));
        } catch (IOException e) {
            try {
                AtomicFiles.deleteTree(tmp);
            } catch (IOException ignored) {
                // the first failure is the one to report
            }
            throw new JgptException("could not write checkpoint " + fin + ": " + AtomicFiles.describe(e), e);
        } catch (RuntimeException e) {
            try {
                AtomicFiles.deleteTree(tmp);
            } catch (IOException ignored) {
                // the first failure is the one to report
            }
            throw e;
        }
        CheckpointDir.commit(tmp, fin);
        prune(run, keep);
        return fin;
    }

    private static Tensor host(TrainableModel model, Tensor t, TensorArena staging) {
        if (t.isHost()) return t;
        Tensor h = staging.allocate(DType.F32, t.numel());
        model.backend().copy(h, t);
        return h;
    }

    /** Committed checkpoints of a run, oldest first (temp leftovers of killed saves are skipped). */
    public static List<Path> list(Path run) {
        Path dir = run.resolve(DIR);
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches("step-\\d+"))
                    .filter(CheckpointDir::isCommitted)
                    .sorted(Comparator.comparing(p -> p.getFileName().toString()))
                    .toList();
        } catch (IOException e) {
            throw new JgptException("cannot list " + dir + ": " + AtomicFiles.describe(e), e);
        }
    }

    public static Optional<Path> latest(Path run) {
        List<Path> l = list(run);
        return l.isEmpty() ? Optional.empty() : Optional.of(l.getLast());
    }

    private static void prune(Path run, int keep) {
        List<Path> all = new ArrayList<>(list(run));
        while (all.size() > keep) {
            try {
                AtomicFiles.deleteTree(all.removeFirst());
            } catch (IOException e) {
                return; // an old checkpoint left behind is harmless
            }
        }
        CheckpointDir.removeLeftovers(run.resolve(DIR));
    }

    /** Verifies checksums and reads state.json. */
    public static JsonNode readState(Path ckpt) {
        CheckpointDir.verify(ckpt);
        Path f = ckpt.resolve(STATE);
        try {
            return Json.MAPPER.readTree(Files.readString(f));
        } catch (IOException e) {
            throw new JgptException("cannot read " + f + ": " + AtomicFiles.describe(e), e);
        } catch (JacksonException e) {
            throw new JgptException(f + ": corrupt (" + e.getOriginalMessage() + ")");
        }
    }

    /** The model shape stored in a checkpoint or model directory. */
    public static GptConfig config(Path dir) {
        return Gpt2Files.readConfig(dir.resolve(Gpt2Files.CONFIG));
    }

    /** The shape of a Llama run's checkpoint (the header of its {@code model.bin}). */
    public static LlamaConfig llamaConfig(Path dir) {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            return Llama2cCheckpoint.open(dir.resolve(LLAMA_WEIGHTS), arena).config();
        }
    }

    /** Loads weights (and, with {@code optimizer}, AdamW moments and step) into {@code model}. */
    public static void load(Path dir, Gpt2 model, boolean optimizer) {
        GptConfig c = config(dir);
        GptConfig m = model.config();
        if (c.vocabSize() != m.vocabSize() || c.layers() != m.layers() || c.heads() != m.heads()
                || c.channels() != m.channels() || c.contextLength() < m.contextLength()) {
            throw new JgptException(dir + ": the checkpoint's model (" + c + ") does not match this run's (" + m + ")");
        }
        try (TensorArena staging = TensorArena.host()) {
            Tensor params = model.params().flat();
            Tensor h = params.isHost() ? params : staging.allocate(DType.F32, params.numel());
            Gpt2Files.readWeights(dir.resolve(Gpt2Files.WEIGHTS), m, h);
            if (h != params) model.backend().copy(params, h);
            if (optimizer) loadOptimizer(dir, model, params.numel(), staging);
        }
    }

    /** Loads a Llama run's checkpoint ({@code model.bin}, and with {@code optimizer} the AdamW state) into {@code model}. */
    public static void loadLlama(Path dir, LlamaTrainModel model, boolean optimizer) {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined();
             TensorArena staging = TensorArena.host()) {
            LlamaWeights w = Llama2cCheckpoint.open(dir.resolve(LLAMA_WEIGHTS), arena);
            LlamaConfig c = w.config(), m = model.config();
            if (c.dim() != m.dim() || c.hiddenDim() != m.hiddenDim() || c.layers() != m.layers() || c.heads() != m.heads()
                    || c.kvHeads() != m.kvHeads() || c.vocabSize() != m.vocabSize() || c.seqLen() != m.seqLen()
                    || c.sharedClassifier() != m.sharedClassifier()) {
                throw new JgptException(dir + ": the checkpoint's model (" + c + ") does not match this run's (" + m + ")");
            }
            model.weights().copyFrom(w);
            if (optimizer) loadOptimizer(dir, model, model.parameterCount(), staging);
        }
    }

    /**
     * Resumes a LoRA run's adapters and their AdamW state from checkpoint {@code dir} into {@code model}, whose frozen
     * weights are already loaded from {@code init}. The checkpoint's merged model.bin holds the frozen tensors LoRA
     * never touches (embedding, classifier, RMSNorm weights) bit for bit: they must be init's, or init has changed.
     */
    public static void loadLora(Path dir, LlamaTrainModel model, Path init) {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined();
             TensorArena staging = TensorArena.host()) {
            LlamaWeights saved = Llama2cCheckpoint.open(dir.resolve(LLAMA_WEIGHTS), arena), now = model.weights();
            java.lang.foreign.MemorySegment[][] pairs = {{saved.tokenEmbedding(), now.tokenEmbedding()},
                    {saved.rmsAtt(), now.rmsAtt()}, {saved.rmsFfn(), now.rmsFfn()}, {saved.rmsFinal(), now.rmsFinal()},
                    {saved.wcls(), now.wcls()}};
            for (var p : pairs) {
                if (p[0].byteSize() != p[1].byteSize() || p[0].mismatch(p[1]) != -1) {
                    throw new JgptException(dir + ": its frozen weights are not those of init " + init
                            + " (the model this LoRA run fine-tunes has changed since it started)");
                }
            }
            model.lora().readPeft(dir);
            loadOptimizer(dir, model, model.parameterCount(), staging);
        }
    }

    private static void loadOptimizer(Path dir, TrainableModel model, long n, TensorArena staging) {
        Path opt = dir.resolve(OPTIMIZER);
        if (!Files.exists(opt)) return; // saved before the first step
        try (Safetensors.Reader r = Safetensors.open(opt)) {
            model.allocateOptimizerState();
            copyIn(model, r.require("m", DType.F32, n), model.optimizerM(), staging);
            copyIn(model, r.require("v", DType.F32, n), model.optimizerV(), staging);
            String s = r.metadata().get("adam_step");
            try {
                model.setOptimizerStep(Integer.parseInt(s));
            } catch (NumberFormatException e) {
                throw new JgptException(opt + ": metadata adam_step is missing or not a number");
            }
        }
    }

    private static void copyIn(TrainableModel model, NamedTensor src, Tensor dst, TensorArena staging) {
        if (dst.isHost()) {
            java.lang.foreign.MemorySegment.copy(src.data(), 0, dst.data(), 0, dst.byteSize());
        } else {
            Tensor h = staging.allocate(DType.F32, dst.numel());
            java.lang.foreign.MemorySegment.copy(src.data(), 0, h.data(), 0, h.byteSize());
            model.backend().copy(dst, h);
        }
    }
}
