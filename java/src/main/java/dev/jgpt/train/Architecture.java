package dev.jgpt.train;

import dev.jgpt.JgptException;
import dev.jgpt.backend.Backend;
import dev.jgpt.llama.LlamaConfig;
import dev.jgpt.llama.LlamaTrainModel;
import dev.jgpt.memory.Tensor;
import dev.jgpt.model.Gpt2;
import dev.jgpt.model.GptConfig;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What differs between GPT-2 and Llama when a run (or {@code jgpt eval}) builds, starts, resumes and
 * hands on its model: the shape, the model class and how a checkpoint loads. Everything else (the
 * loop, data, checkpoints' optimizer state, evaluation) is shared through {@link TrainableModel}.
 */
public sealed interface Architecture {

    /** The config key {@code arch} this is. */
    String name();

    int vocabSize();

    /** The model's context: the longest training window. */
    int context();

    /** A model with batch buffers for (B, T), weights not yet set. The caller closes it. */
    TrainableModel create(Backend backend, int B, int T);

    /** Loads a checkpoint's (or model directory's) weights, with {@code optimizer} also AdamW's state. */
    void load(Path dir, TrainableModel model, boolean optimizer);

    /** Seeded random init. */
    void initWeights(TrainableModel model, long seed);

    /** The flat parameter buffer (for copying the weights from one model to another of the same shape). */
    Tensor parameters(TrainableModel model);

    record Gpt2Arch(GptConfig config) implements Architecture {
        public String name() { return "gpt2"; }
        public int vocabSize() { return config.vocabSize(); }
        public int context() { return config.contextLength(); }
        public TrainableModel create(Backend backend, int B, int T) { return new Gpt2(backend, config, B, T); }
        public void load(Path dir, TrainableModel model, boolean optimizer) { Checkpoints.load(dir, (Gpt2) model, optimizer); }
        public void initWeights(TrainableModel model, long seed) { ((Gpt2) model).initWeights(seed); }
        public Tensor parameters(TrainableModel model) { return ((Gpt2) model).params().flat(); }
    }

    record LlamaArch(LlamaConfig config) implements Architecture {
        public String name() { return "llama"; }
        public int vocabSize() { return config.vocabSize(); }
        public int context() { return config.seqLen(); }
        public TrainableModel create(Backend backend, int B, int T) { return new LlamaTrainModel(backend, config, B, T); }
        public void load(Path dir, TrainableModel model, boolean optimizer) {
            Checkpoints.loadLlama(dir, (LlamaTrainModel) model, optimizer);
        }
        public void initWeights(TrainableModel model, long seed) { ((LlamaTrainModel) model).initWeights(seed); }
        public Tensor parameters(TrainableModel model) { return ((LlamaTrainModel) model).parameters(); }
    }

    /** Whether a model directory (from {@link ModelDirs#resolve}) holds a Llama run's checkpoint. */
    static boolean isLlama(Path modelDir) {
        return Files.isRegularFile(modelDir.resolve(Checkpoints.LLAMA_WEIGHTS));
    }

    /** The architecture and shape stored in a model directory (a checkpoint, an export, a run's final model). */
    static Architecture of(Path modelDir) {
        return isLlama(modelDir) ? new LlamaArch(Checkpoints.llamaConfig(modelDir)) : new Gpt2Arch(Checkpoints.config(modelDir));
    }

    /** Refuses a model whose vocabulary is not the tokenizer's (the run's tokenizer.json must fit its weights). */
    default void requireVocabulary(int tokenizerVocab) {
        if (vocabSize() != tokenizerVocab) {
            throw new JgptException("the model's vocabulary (" + vocabSize() + ") differs from the tokenizer's ("
                    + tokenizerVocab + ")");
        }
    }
}
