package dev.jgpt.serve;

import dev.jgpt.JgptException;
import dev.jgpt.backend.Backend;
import dev.jgpt.backend.Backends;
import dev.jgpt.backend.cpu.CpuBackend;
import dev.jgpt.chat.ChatSource;
import dev.jgpt.generate.CausalLm;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.generate.ModelLoader;
import dev.jgpt.llama.DecodeDType;
import dev.jgpt.llama.HfLlamaImport;
import dev.jgpt.llama.Llama2cTokenizer;
import dev.jgpt.llama.LlamaModels;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.train.LoadedModels;
import dev.jgpt.train.ModelDirs;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Opens a model for serving. Unlike {@link ModelLoader} it hands back the bare
 * {@link Gpt2Inference} plus what owns its weights and backend, so the server can open more
 * sessions over the same weights and the attention view can read them.
 */
@FunctionalInterface
public interface ModelSource {

    /** A model and what to close after it (its weights' arena and backend), or null. */
    record Opened(LoadedModel model, AutoCloseable owner) {}

    /** @throws dev.jgpt.JgptException naming the path when it is not a loadable model */
    Opened open(Path path);

    /** Any {@link ModelLoader}: works, with one session per model unless it returns a {@code Gpt2Inference}. */
    static ModelSource of(ModelLoader loader) {
        return p -> new Opened(loader.load(p), null);
    }

    /** {@link #standard} with Llama models in f32. */
    static ModelSource gpt2(String device, int threads) {
        return standard(device, threads, DecodeDType.F32, 32);
    }

    /**
     * Run directories (GPT-2 or Llama), checkpoints, model directories and the demo's output (resolved like
     * {@code jgpt generate} does, {@link ModelDirs}) on {@code device} with {@code threads} kernel
     * threads per call; also a llama2.c checkpoint ({@code X.bin}, with {@code tokenizer.bin} beside it), a llama.cpp
     * GGUF file of the llama architecture (with the tokenizer inside it)
     * and a Hugging Face {@code LlamaForCausalLM} directory (with its {@code tokenizer.json}). Llama-family
     * models decode on libjgpt's CPU decoder with weights in {@code given} (null: f32, and for a GGUF file of quantized
     * matrices its own blocks, {@link DecodeDType#GGUF}, or q8 as {@code generate} picks; served batched through
     * {@code LlamaBatchDecoder}), unless {@code device} names cuda or reference: then through
     * {@code LlamaOpsInference} on that backend in f32 or q8 (bf16 too on cuda), batched ({@code auto} keeps the batched CPU
     * decoder); GPT-2 models on the cpu backend too (libjgpt's {@code Gpt2Decoder} in
     * {@code dtype}, served batched through {@code Gpt2NativeBatchDecoder}), on another backend in f32
     * through the {@link Gpt2Inference} ops in f32 or, on cuda, bf16 (q8 is refused for GPT-2 there).
     */
    static ModelSource standard(String device, int threads, DecodeDType given, int groupSize) {
        return standard(device, threads, given, groupSize, null);
    }

    /**
     * {@link #standard(String, int, DecodeDType, int)} with LoRA adapters ({@code lora}: a PEFT directory, or null)
     * merged into every Llama-family model as it loads (the cpu decoder; a quantized GGUF file then decodes as q8).
     */
    static ModelSource standard(String device, int threads, DecodeDType given, int groupSize, Path lora) {
        DecodeDType dtype = given != null ? given : DecodeDType.F32; // null: not given (a GGUF file has its own default)
        int llamaThreads = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        String d = device == null ? "auto" : device.trim().toLowerCase(java.util.Locale.ROOT);
        String llamaDevice = d.equals("auto") ? "cpu" : d; // auto: the batched CPU decoder serves many sequences at once
        return path -> {
            String name = ModelRegistry.nameOf(path);
            if (ModelDirs.holdsLlama(path)) { // a run trained with arch: llama
                LoadedModel l = LoadedModels.openLlama(path, llamaDevice, dtype, groupSize, llamaThreads, lora);
                return new Opened(new LoadedModel(name, l.model(), l.tokenizer(), l.chat()), null);
            }
            if (LlamaModels.isGgufFile(path)) {
                DecodeDType dt = given != null ? given : LlamaModels.ggufDecodeDType(path, llamaDevice);
                if (given == null && lora != null && dt == DecodeDType.GGUF) dt = DecodeDType.Q8; // adapters merge into converted weights
                return new Opened(openGguf(name, path, llamaDevice, dt, groupSize, llamaThreads, lora), null);
            }
            if (LlamaModels.isLlama2cFile(path)) return new Opened(openLlama2c(name, path, llamaDevice, dtype, groupSize, llamaThreads, lora), null);
            if (HfLlamaImport.isLlamaConfig(path)) return new Opened(openHuggingFace(name, path, llamaDevice, dtype, groupSize, llamaThreads, lora), null);
            if (lora != null) throw new JgptException("--lora: " + path + " is a GPT-2 model; adapters are merged into Llama models");
            Backend backend = Backends.select(device).backend();
            if (backend instanceof CpuBackend) { // libjgpt's GPT-2 decoder, served batched through Gpt2NativeBatchDecoder
                LoadedModel l = LoadedModels.openGpt2Native(path, backend, dtype, groupSize, llamaThreads);
                return new Opened(new LoadedModel(name, l.model(), l.tokenizer()), null);
            }
            String other = backend.name();
            boolean allowed = LoadedModels.opsDecodeIn(backend, dtype);
            backend.close();
            if (!allowed) {
                throw new JgptException("--dtype " + dtype + ": " + path + " is a GPT-2 model, which decodes in q8 on the cpu"
                        + " backend only (bf16 there and on cuda), and this one would run on " + other + " (use --device cpu)");
            }
            LoadedModels.Gpt2Model g = LoadedModels.openGpt2(path, device, threads);
            LoadedModels.decodeIn(g.backend(), dtype, "--dtype");
            LoadedModel m = new LoadedModel(name, g.inference(), g.tokenizer());
            return new Opened(m, g::closeWeights);
        };
    }


    private static LoadedModel openLlama2c(String name, Path file, String device, DecodeDType dtype, int groupSize, int threads, Path lora) {
        Path tok = file.toAbsolutePath().resolveSibling("tokenizer.bin");
        if (!Files.isRegularFile(tok)) {
            throw new JgptException("tokenizer " + tok + ": no such file (a llama2.c checkpoint is served with the tokenizer.bin beside it)");
        }
        CausalLm lm = LoadedModels.llama2cDecoder(file, device, dtype, groupSize, threads, "--device", lora);
        try {
            return new LoadedModel(name, lm, Llama2cTokenizer.read(tok, lm.vocabSize()), ChatSource.LLAMA2C);
        } catch (RuntimeException e) {
            lm.close();
            throw e;
        }
    }

    private static LoadedModel openGguf(String name, Path file, String device, DecodeDType dtype, int groupSize, int threads, Path lora) {
        var tokenizer = LlamaModels.ggufTokenizer(file); // refused before the weights are decoded
        ChatSource chat = LlamaModels.ggufChatSource(file, true);
        return new LoadedModel(name, LoadedModels.ggufLlamaDecoder(file, device, dtype, groupSize, threads, 0, "--device", lora), tokenizer, chat);
    }

    private static LoadedModel openHuggingFace(String name, Path dir, String device, DecodeDType dtype, int groupSize, int threads, Path lora) {
        Path tok = dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tok)) throw new JgptException("tokenizer " + tok + ": no such file");
        CausalLm lm = LoadedModels.hfLlamaDecoder(dir, device, dtype, groupSize, threads, 0, lora);
        try {
            return new LoadedModel(name, lm, HfLlamaImport.tokenizer(tok, lm.vocabSize()), HfLlamaImport.chatSource(dir));
        } catch (RuntimeException e) {
            lm.close();
            throw e;
        }
    }
}
