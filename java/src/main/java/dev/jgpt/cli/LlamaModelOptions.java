package dev.jgpt.cli;

import dev.jgpt.JgptException;
import dev.jgpt.chat.ChatSource;
import dev.jgpt.generate.CausalLm;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.generate.ModelLoader;
import dev.jgpt.llama.DecodeDType;
import dev.jgpt.llama.HfLlamaImport;
import dev.jgpt.llama.Llama2cTokenizer;
import dev.jgpt.llama.LlamaInference;
import dev.jgpt.llama.LlamaModels;
import dev.jgpt.llama.LlamaOpsInference;
import dev.jgpt.train.LoadedModels;
import dev.jgpt.tokenizer.Tokenizer;
import dev.jgpt.train.ModelDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The options of {@code generate} and {@code chat} for Llama-family models: {@code --model
 * stories15M.bin --tokenizer tokenizer.bin --dtype q8}, or {@code --model RUN --dtype q8} for a run
 * trained with {@code arch: llama}. A {@code --model} that is a GGUF file (by its magic) is read as llama.cpp's
 * llama architecture with the tokenizer inside it, a {@code .bin} file (or any other model given
 * with {@code --tokenizer}) as a llama2.c checkpoint, a directory with a {@code config.json}
 * as a Hugging Face LlamaForCausalLM, a Llama run through its checkpoint and its own tokenizer;
 * anything else goes to the command's usual loader. {@code --device} picks the backend: a Llama model decodes
 * on the cpu through libjgpt's native decoder ({@link LlamaInference}, any --dtype), on cuda or reference through
 * the backend's ops ({@link LlamaOpsInference}: f32 or q8, bf16 too on cuda), see {@link LoadedModels#llamaBackend}.
 */
public final class LlamaModelOptions {
    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "llama2.c tokenizer.bin for a llama2.c checkpoint (default: tokenizer.bin beside the model); "
                    + "for a GGUF file, instead of the tokenizer inside it (tokenizer.bin or a Hugging Face tokenizer.json).")
    Path tokenizer;

    @Option(names = "--dtype", paramLabel = "D",
            description = "Weights for decoding: f32, bf16, q8, gguf (default f32; for a GGUF file whose matrices are quantized, gguf: its own blocks multiplied in place, Q2_K to Q6_K, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, IQ4_XS). gguf: GGUF files on the cpu. q8: the cpu decoders, and for Llama models any backend (int8 matrices on the device on cuda); bf16: the cpu decoders, and on cuda its bf16 mode (products read bf16 weights: a Llama model's stored so on the device, a GPT-2 model's a copy beside the f32 ones).")
    String dtype;

    @Option(names = "--group-size", defaultValue = "32", paramLabel = "G", description = "q8 group size, 32 or 64 (default ${DEFAULT-VALUE}).")
    int groupSize;

    @Option(names = "--threads", paramLabel = "N",
            description = "CPU threads of the native decoder, Llama or GPT-2 (default: all cores, or JGPT_THREADS for GPT-2 runs).")
    Integer threads;

    @Option(names = "--device", paramLabel = "D",
            description = "auto, cpu, cuda or reference (default: JGPT_DEVICE, else auto: cuda where a GPU works, "
                    + "else cpu). Llama models on cuda or reference decode in f32 through the backend's ops; on cpu through "
                    + "libjgpt's native decoder (any --dtype).")
    String device;

    @Option(names = "--chat-format", paramLabel = "NAME",
            description = "The chat format for --chat and chat: one of jgpt, chatml, llama2, llama2-sys, llama2-sys-bos, "
                    + "llama2-sys-strip, mistral-v1, mistral-v3, phi3, zephyr, llama3, vicuna, vicuna-orca, openchat "
                    + "(default: the one the model's chat template writes, jgpt's own for jgpt runs).")
    String chatFormat;

    @Option(names = "--lora", paramLabel = "DIR",
            description = "LoRA adapters to merge into a Llama model as it loads: a LoRA run's checkpoint, or a Hugging Face PEFT "
                    + "directory (adapter_config.json + adapter_model.safetensors) for the same base model. The cpu decoder, "
                    + "--dtype f32, bf16 or q8 (a quantized GGUF file then decodes as q8).")
    Path lora;

    @Option(names = "--max-context", paramLabel = "N",
            description = "Cap a Hugging Face or GGUF model's context (and KV cache) at N tokens (default: the model's own).")
    Integer maxContext;

    /**
     * The loader for {@code model}: a Llama run directory (arch: llama) decodes natively in
     * {@code --dtype} with its own tokenizer; a llama2.c file or an HF Llama directory as described
     * above; a GPT-2 run given --dtype or --threads decodes natively on the cpu backend in that dtype;
     * anything else goes to {@code fallback} (which also decodes GPT-2 runs natively on the cpu backend, in f32).
     */
    ModelLoader loaderFor(Path model, ModelLoader fallback) {
        if (model != null && LlamaModels.isGgufFile(model)) return this::loadGguf;
        if (model != null && HfLlamaImport.isHfLlamaDir(model)) return this::loadHuggingFace;
        if (model != null && ModelDirs.holdsLlama(model)) return this::loadLlamaRun;
        if (model == null || !(tokenizer != null || LlamaModels.isLlama2cFile(model))) {
            if (model != null && Files.isDirectory(model) && ((dtype != null && !"f32".equalsIgnoreCase(dtype)) || threads != null || device != null)) {
                return this::loadGpt2Run;
            }
            return fallback;
        }
        return this::loadLlama2c;
    }

    /**
     * A GPT-2 run with --dtype or --threads: on the cpu backend (JGPT_DEVICE, default auto) through
     * libjgpt's native decoder in that dtype; on another backend in f32 only.
     */
    private LoadedModel loadGpt2Run(Path run) {
        DecodeDType dt = dtypeOr(DecodeDType.F32);
        String d = device != null ? device : System.getenv().getOrDefault("JGPT_DEVICE", "auto");
        return LoadedModels.open(run, d, threads != null ? threads : 0, dt, groupSize);
    }

    /** --dtype, or {@code otherwise} when it was not given. */
    private DecodeDType dtypeOr(DecodeDType otherwise) {
        return dtype == null ? otherwise : DecodeDType.parse(dtype);
    }

    /** --device, else JGPT_DEVICE, else auto. */
    private String deviceOrDefault() {
        return device != null ? device : System.getenv().getOrDefault("JGPT_DEVICE", "auto");
    }

    /** "(q8)" for the native decoder, "(f32, cuda)" or "(bf16, cuda)" for the ops decoder on a backend. */
    private static String tag(CausalLm lm, DecodeDType dt) {
        return lm instanceof LlamaOpsInference ops ? " (" + dt + ", " + ops.backend().name() + ")" : " (" + dt + ")";
    }

    /** A run trained with arch: llama: its checkpoint on --device, its BPE tokenizer.json and chat template. */
    private LoadedModel loadLlamaRun(Path run) {
        if (tokenizer != null) {
            throw new JgptException("--tokenizer: " + run + " is a training run; it decodes with its own tokenizer.json");
        }
        int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        return LoadedModels.openLlama(run, deviceOrDefault(), dtypeOr(DecodeDType.F32), groupSize, n, lora);
    }

    /** A Hugging Face LlamaForCausalLM directory; tokenizer: --tokenizer (tokenizer.bin or .json) or the directory's tokenizer.json. */
    private LoadedModel loadHuggingFace(Path dir) {
        DecodeDType dt = dtypeOr(DecodeDType.F32);
        Path tok = tokenizer != null ? tokenizer : dir.resolve("tokenizer.json");
        if (!Files.isRegularFile(tok)) throw new JgptException("tokenizer " + tok + ": no such file (give one with --tokenizer FILE)");
        int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        int maxSeq = maxContext == null ? 0 : maxContext;
        CausalLm lm = LoadedModels.hfLlamaDecoder(dir, deviceOrDefault(), dt, groupSize, n, maxSeq, lora);
        try {
            Tokenizer t = HfLlamaImport.tokenizer(tok, lm.vocabSize());
            return new LoadedModel(dir.getFileName() + tag(lm, dt), lm, t, HfLlamaImport.chatSource(dir));
        } catch (RuntimeException e) {
            lm.close();
            throw e;
        }
    }

    /** A llama.cpp GGUF file (llama architecture); tokenizer: the file's own, or --tokenizer (tokenizer.bin or .json). */
    private LoadedModel loadGguf(Path file) {
        DecodeDType dt = dtype != null ? DecodeDType.parse(dtype) : LlamaModels.ggufDecodeDType(file, deviceOrDefault());
        if (dtype == null && lora != null && dt == DecodeDType.GGUF) dt = DecodeDType.Q8; // adapters merge into converted weights
        if (dtype == null && dt != DecodeDType.F32) {
            System.err.println("jgpt: " + file.getFileName() + " holds quantized matrices: " + (dt == DecodeDType.GGUF
                    ? "decoding from its own blocks in place (--dtype q8, bf16 or f32 to choose otherwise)"
                    : "decoding them as " + dt + " (--dtype f32 or bf16 to choose otherwise)"));
        }
        if (tokenizer != null && !Files.isRegularFile(tokenizer)) throw new JgptException("tokenizer " + tokenizer + ": no such file");
        int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        int maxSeq = maxContext == null ? 0 : maxContext;
        Tokenizer own = tokenizer == null ? LlamaModels.ggufTokenizer(file) : null; // refused before the weights are decoded
        ChatSource chat = LlamaModels.ggufChatSource(file, own != null);
        CausalLm lm = LoadedModels.ggufLlamaDecoder(file, deviceOrDefault(), dt, groupSize, n, maxSeq, "--device", lora);
        try {
            Tokenizer t = own != null ? own
                    : HfLlamaImport.tokenizer(tokenizer, lm.vocabSize());
            return new LoadedModel(file.getFileName() + tag(lm, dt), lm, t, chat);
        } catch (RuntimeException e) {
            lm.close();
            throw e;
        }
    }

    private LoadedModel loadLlama2c(Path model) {
        DecodeDType dt = dtypeOr(DecodeDType.F32);
        if (!Files.isRegularFile(model)) throw new JgptException("checkpoint " + model + ": no such file");
        Path tok = tokenizer != null ? tokenizer : model.toAbsolutePath().resolveSibling("tokenizer.bin");
        if (!Files.isRegularFile(tok)) {
            throw new JgptException("tokenizer " + tok + ": no such file (give the llama2.c tokenizer with --tokenizer FILE)");
        }
        int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        CausalLm lm = LoadedModels.llama2cDecoder(model, deviceOrDefault(), dt, groupSize, n, "--device", lora);
        try {
            Llama2cTokenizer t = Llama2cTokenizer.read(tok, lm.vocabSize());
            return new LoadedModel(model.getFileName() + tag(lm, dt), lm, t, ChatSource.LLAMA2C);
        } catch (RuntimeException e) {
            lm.close();
            throw e;
        }
    }
}
