package dev.jgpt.train;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.Backends;
import dev.jgpt.generate.CausalLm;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.io.Gpt2Files;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.model.GptConfig;
import dev.jgpt.model.ParameterLayout;
import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.Tokenizer;

import java.nio.file.Path;

/**
 * Opens a model for generation: resolves the path ({@link ModelDirs}), reads config.json, the
 * weights and tokenizer.json, and builds a KV-cached {@link Gpt2Inference} on the chosen device. The
 * returned model owns its backend, weights and cache; closing it frees them all.
 */
public final class LoadedModels {
    private LoadedModels() {}

    /** Host weights of a model directory: the flat parameter buffer in our layout (owned by {@code arena}). */
    public static Tensor readParams(Path modelDir, GptConfig c, TensorArena arena) {
        Tensor flat = arena.allocate(DType.F32, ParameterLayout.of(c).size());
        Gpt2Files.readWeights(modelDir.resolve(Gpt2Files.WEIGHTS), c, flat);
        return flat;
    }

    /**
     * A bare KV-cached model, its tokenizer, and what owns its weights: the parameter arena and the
     * backend. More sessions may be opened over {@link Gpt2Inference#params()} (the server does);
     * {@link #closeWeights()} goes last, after every session over them is closed.
     */
    public record Gpt2Model(Gpt2Inference inference, Tokenizer tokenizer, TensorArena params, Backend backend) {
        public void closeWeights() {
            params.close();
            backend.close();
        }
    }

    /**
     * Reads the model at {@code path} (resolved by {@link ModelDirs}) onto {@code device}, whose
     * backend gets {@code threads} kernel threads. On failure nothing is left open.
     */
    public static Gpt2Model openGpt2(Path path, String device, int threads) {
        Path dir = ModelDirs.resolve(path);
        GptConfig c = Checkpoints.config(dir);
        Tokenizer tok = BpeTokenizer.load(ModelDirs.tokenizer(dir));
        Backend backend = Backends.select(device).backend();
        TensorArena params = null;
        try {
            backend.setThreads(threads);
            params = backend.newArena();
            Tensor flat = params.allocate(DType.F32, ParameterLayout.of(c).size());
            if (flat.isHost()) {
                Gpt2Files.readWeights(dir.resolve(Gpt2Files.WEIGHTS), c, flat);
            } else {
                try (TensorArena staging = TensorArena.host()) {
                    backend.copy(flat, readParams(dir, c, staging));
                }
            }
            return new Gpt2Model(new Gpt2Inference(backend, c, flat), tok, params, backend);
        } catch (RuntimeException e) {
            if (params != null) params.close();
            backend.close();
            throw e;
        }
    }

    /** {@link #openGpt2} as one {@link CausalLm} that frees the weights and backend when closed; threads <= 0: one per core. */
    public static LoadedModel open(Path path, String device, int threads) {
        Path dir = ModelDirs.resolve(path);
        if (java.nio.file.Files.isRegularFile(dir.resolve(Checkpoints.LLAMA_WEIGHTS))) {
            // a Llama run (arch: llama): its llama2.c checkpoint decodes on libjgpt's native Llama path, in f32
            Tokenizer tok = BpeTokenizer.load(ModelDirs.tokenizer(dir));
            CausalLm lm = dev.jgpt.llama.LlamaModels.openLlama2c(dir.resolve(Checkpoints.LLAMA_WEIGHTS),
                    dev.jgpt.llama.DecodeDType.F32, 32, threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
            return new LoadedModel(path.toAbsolutePath().normalize().getFileName().toString(), lm, tok);
        }
        Gpt2Model g = openGpt2(path, device, threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
        Gpt2Inference inf = g.inference();
        CausalLm lm = new CausalLm() {
            public int vocabSize() { return inf.vocabSize(); }
            public int contextLength() { return inf.contextLength(); }
            public void reset() { inf.reset(); }
            public int position() { return inf.position(); }
            public Tensor prefill(int[] tokens) { return inf.prefill(tokens); }
            public Tensor step(int token) { return inf.step(token); }
            public void close() {
                inf.close();
                g.closeWeights();
            }
        };
        String name = path.toAbsolutePath().normalize().getFileName().toString();
        return new LoadedModel(name, lm, g.tokenizer());
    }
}
