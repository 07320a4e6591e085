package dev.jgpt.train;

import dev.jgpt.JgptException;
import dev.jgpt.backend.Backend;
import dev.jgpt.backend.Backends;
import dev.jgpt.generate.CausalLm;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.io.Gpt2Files;
import dev.jgpt.llama.DecodeDType;
import dev.jgpt.llama.LlamaInference;
import dev.jgpt.llama.LlamaModels;
import dev.jgpt.llama.LlamaOpsInference;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.backend.cpu.CpuBackend;
import dev.jgpt.model.Gpt2Decoder;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.model.GptConfig;
import dev.jgpt.model.ParameterLayout;
import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.Tokenizer;

import java.nio.file.Path;

/**
 * Opens a model for generation: resolves the path ({@link ModelDirs}), reads config.json, the
 * weights and tokenizer.json, and builds a KV-cached model: libjgpt's {@link Gpt2Decoder} on the
 * cpu backend, {@link Gpt2Inference} on the others (Llama runs: libjgpt's {@link LlamaInference} on the cpu,
 * {@link LlamaOpsInference} on the others, see {@link #llamaBackend}). The
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

    /**
     * A Llama run (arch: llama) for generation: its newest checkpoint's {@code model.bin} (or its
     * {@code sft/} chat model) mapped and decoded by libjgpt's {@link LlamaInference} in {@code dtype}
     * with {@code threads} threads, and the run's own tokenizer and chat format (jgpt's, or for a run fine-tuned from an
     * imported model the one it was taught: {@link ModelDirs#chatSource}).
     */
    public static LoadedModel openLlama(Path path, DecodeDType dtype, int groupSize, int threads) {
        return openLlama(path, "cpu", dtype, groupSize, threads);
    }

    /**
     * {@link #openLlama(Path, DecodeDType, int, int)} on {@code device} as {@link #llamaBackend} picks it:
     * libjgpt's {@link LlamaInference} on the cpu, {@link LlamaOpsInference} (f32, q8, or bf16 on cuda: {@link #llamaOpsDecodeIn}) on cuda or reference.
     */
    public static LoadedModel openLlama(Path path, String device, DecodeDType dtype, int groupSize, int threads) {
        return openLlama(path, device, dtype, groupSize, threads, null);
    }

    /** {@link #openLlama(Path, String, DecodeDType, int, int)} with LoRA adapters ({@code lora}, a PEFT directory) merged. */
    public static LoadedModel openLlama(Path path, String device, DecodeDType dtype, int groupSize, int threads, Path lora) {
        Path dir = ModelDirs.resolve(path);
        if (!Architecture.isLlama(dir)) throw new JgptException("model " + path + ": not a Llama run (no model.bin in " + dir + ")");
        return openLlama(path, dir, device, dtype, groupSize, threads, lora);
    }

    private static LoadedModel openLlama(Path path, Path dir, String device, DecodeDType dtype, int groupSize, int threads, Path lora) {
        Tokenizer tok = ModelDirs.loadTokenizer(ModelDirs.tokenizer(dir));
        dev.jgpt.chat.ChatSource chat = ModelDirs.chatSource(dir);
        Path weights = dir.resolve(Checkpoints.LLAMA_WEIGHTS);
        CausalLm lm = llama2cDecoder(weights, device, dtype, groupSize, threads, "--device", lora);
        if (lm.vocabSize() != tok.vocabSize()) {
            lm.close();
            throw new JgptException("model " + dir + ": the model's vocabulary (" + lm.vocabSize() + ") differs from its tokenizer's ("
                    + tok.vocabSize() + ")");
        }
        String name = path.toAbsolutePath().normalize().getFileName().toString();
        String tag = lm instanceof LlamaOpsInference ops
                ? " (" + (dtype == DecodeDType.F32 ? "" : dtype + ", ") + ops.backend().name() + ")"
                : dtype == DecodeDType.F32 ? "" : " (" + dtype + ")";
        return new LoadedModel(name + tag, lm, tok, chat);
    }

    /**
     * Where a Llama model decodes for {@code --device}: null for libjgpt's native decoder ({@link LlamaInference},
     * CPU, any --dtype), else the backend for {@link LlamaOpsInference} (float32, q8, or bf16 on cuda:
     * {@link #llamaOpsDecodeIn}). {@code cpu}: native. {@code cuda}, {@code reference}: that backend (an unusable cuda is an error).
     * {@code auto} (or null) mirrors GPT-2: cuda where a GPU is usable (said once on stderr), else the native
     * decoder; with --dtype bf16 or q8 always the native decoder, the only one that has them.
     */
    public static Backend llamaBackend(String device, DecodeDType dtype, Object model) {
        return llamaBackend(device, dtype, model, "--device");
    }

    /**
     * A llama2.c checkpoint opened where {@link #llamaBackend} puts it for {@code device}: libjgpt's
     * {@link LlamaInference} (cpu, {@code dtype}, {@code threads}) or {@link LlamaOpsInference} on the backend.
     * {@code option} names the command-line flag in errors.
     */
    public static CausalLm llama2cDecoder(Path file, String device, DecodeDType dtype, int groupSize, int threads, String option) {
        return llama2cDecoder(file, device, dtype, groupSize, threads, option, null);
    }

    /** {@link #llama2cDecoder} with LoRA adapters merged ({@code lora}: a PEFT directory, or null); the cpu decoder only. */
    public static CausalLm llama2cDecoder(Path file, String device, DecodeDType dtype, int groupSize, int threads, String option,
                                          Path lora) {
        Backend b = cpuForAdapters(llamaBackend(device, dtype, file, option), device, lora);
        return b == null ? LlamaModels.openLlama2c(file, dtype, groupSize, threads, lora) : LlamaModels.openLlama2c(file, b, dtype, groupSize);
    }

    /** {@link #llama2cDecoder} for a Hugging Face LlamaForCausalLM directory; maxSeq 0: its own context. */
    public static CausalLm hfLlamaDecoder(Path dir, String device, DecodeDType dtype, int groupSize, int threads, int maxSeq) {
        return hfLlamaDecoder(dir, device, dtype, groupSize, threads, maxSeq, null);
    }

    /** {@link #hfLlamaDecoder} with LoRA adapters merged (the cpu decoder only). */
    public static CausalLm hfLlamaDecoder(Path dir, String device, DecodeDType dtype, int groupSize, int threads, int maxSeq, Path lora) {
        Backend b = cpuForAdapters(llamaBackend(device, dtype, dir), device, lora);
        return b == null ? LlamaModels.openHuggingFace(dir, dtype, groupSize, threads, maxSeq, lora)
                : LlamaModels.openHuggingFace(dir, b, dtype, groupSize, maxSeq);
    }

    /** {@link #llama2cDecoder} for a llama.cpp GGUF file (llama architecture); maxSeq 0: its own context. */
    public static CausalLm ggufLlamaDecoder(Path file, String device, DecodeDType dtype, int groupSize, int threads, int maxSeq,
                                            String option) {
        return ggufLlamaDecoder(file, device, dtype, groupSize, threads, maxSeq, option, null);
    }

    /** {@link #ggufLlamaDecoder} with LoRA adapters merged (the cpu decoder, a converted dtype). */
    public static CausalLm ggufLlamaDecoder(Path file, String device, DecodeDType dtype, int groupSize, int threads, int maxSeq,
                                            String option, Path lora) {
        Backend b = cpuForAdapters(llamaBackend(device, dtype, file, option), device, lora);
        return b == null ? LlamaModels.openGguf(file, dtype, groupSize, threads, maxSeq, lora)
                : LlamaModels.openGguf(file, b, dtype, groupSize, maxSeq);
    }

    /**
     * With adapters, the cpu decoder (they are merged for libjgpt's decoder only): {@code auto} takes it instead of a
     * backend, an explicit backend is refused. Without, {@code b} as chosen.
     */
    private static Backend cpuForAdapters(Backend b, String device, Path lora) {
        if (lora == null || b == null) return b;
        String name = b.name();
        b.close();
        if (device == null || device.equals("auto")) return null;
        throw new JgptException("--lora: adapters are merged for the cpu decoder only, not on " + name + " (use --device cpu)");
    }

    /** A Llama model file: a GGUF file ({@link #ggufLlamaDecoder}) or else a llama2.c checkpoint ({@link #llama2cDecoder}). */
    public static CausalLm llamaFileDecoder(Path file, String device, DecodeDType dtype, int groupSize, int threads, String option) {
        return LlamaModels.isGgufFile(file) ? ggufLlamaDecoder(file, device, dtype, groupSize, threads, 0, option)
                : llama2cDecoder(file, device, dtype, groupSize, threads, option);
    }

    /** {@link #llamaBackend(String, DecodeDType, Object)} naming the command-line {@code option} in errors. */
    public static Backend llamaBackend(String device, DecodeDType dtype, Object model, String option) {
        String d = device == null ? "auto" : device.trim().toLowerCase(java.util.Locale.ROOT);
        if (d.equals("cpu") || (d.equals("auto") && dtype != DecodeDType.F32)) return null;
        Backends.Selection sel = Backends.select(d, option);
        Backend b = sel.backend();
        if (b instanceof CpuBackend) {   // auto without a GPU: libjgpt's decoder is the fast cpu path
            b.close();
            return null;
        }
        if (!llamaOpsDecodeIn(b, dtype)) {
            b.close();
            throw new JgptException("--dtype " + dtype + ": " + model + " is a Llama model, which decodes in bf16 only on the cpu "
                    + "and on cuda; on " + b.name() + " it decodes in f32 or q8 (leave --dtype out, or use --device cpu)");
        }
        decodeIn(b, dtype, "--dtype");
        if (d.equals("auto")) System.err.println("jgpt: " + model + " decodes on " + sel.summary() + " in f32 (--device cpu: libjgpt's decoder)");
        return b;
    }

    /**
     * Whether a decoder over the Backend ops on {@code backend} reads its weights in {@code dtype}: f32 anywhere, bf16
     * on cuda (its bf16 mode: every product reads bf16 weights, a Llama decoder's stored as bf16 on the device, a GPT-2
     * model's a bf16 copy kept beside the f32 ones, and rounds its activation operand to bf16), nothing else: q8 and a CPU-side bf16 belong to libjgpt's native decoders.
     */
    public static boolean opsDecodeIn(Backend backend, DecodeDType dtype) {
        return dtype == DecodeDType.F32 || (dtype == DecodeDType.BF16 && backend instanceof dev.jgpt.backend.cuda.CudaBackend);
    }

    /**
     * {@link #opsDecodeIn} for a Llama model ({@link LlamaOpsInference}), which also decodes q8 on any backend's ops:
     * its matrices stored as int8 and scales, multiplied by {@link Backend#matmulQ8Forward} (cuda's kernel; plain Java
     * on the reference).
     */
    public static boolean llamaOpsDecodeIn(Backend backend, DecodeDType dtype) {
        return dtype == DecodeDType.Q8 || opsDecodeIn(backend, dtype);
    }

    /** Puts {@code backend} in the mode {@link #opsDecodeIn} allows for {@code dtype} (bf16 on cuda; nothing for f32). */
    public static void decodeIn(Backend backend, DecodeDType dtype, String option) {
        if (dtype == DecodeDType.BF16) Backends.applyPrecision(backend, "bf16", option);
    }

    /** The name a served or chatted model shows: with the weights' dtype when it is not f32. */
    private static String withDType(String name, DecodeDType dtype) {
        return dtype == DecodeDType.F32 ? name : name + " (" + dtype + ")";
    }

    /** {@link #open(Path, String, int, DecodeDType, int)} in f32. */
    public static LoadedModel open(Path path, String device, int threads) {
        return open(path, device, threads, DecodeDType.F32, 32);
    }

    /**
     * The model at {@code path} as one {@link CausalLm} that frees its weights (and backend) when
     * closed; threads <= 0: one per core. A Llama run decodes where {@link #llamaBackend} says; a GPT-2
     * run on the {@code cpu} backend through libjgpt's {@link Gpt2Decoder} in {@code dtype} (q8 groups
     * of {@code groupSize}), on another backend through the {@link Gpt2Inference} ops (f32, or bf16 on cuda: {@link #opsDecodeIn}).
     */
    public static LoadedModel open(Path path, String device, int threads, DecodeDType dtype, int groupSize) {
        Path dir = ModelDirs.resolve(path);
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        if (Architecture.isLlama(dir)) return openLlama(path, dir, device, dtype, groupSize, n, null);
        String name = path.toAbsolutePath().normalize().getFileName().toString();
        Backend backend = Backends.select(device).backend();
        if (backend instanceof CpuBackend) return openGpt2Native(dir, name, backend, dtype, groupSize, n);
        if (!opsDecodeIn(backend, dtype)) {
            backend.close();
            throw new JgptException("--dtype " + dtype + ": GPT-2 models decode in q8 on the cpu backend only (bf16 there and on cuda),"
                    + " and this one would run on " + backend.name() + " (use --device cpu)");
        }
        backend.close();
        Gpt2Model g = openGpt2(path, device, n);
        decodeIn(g.backend(), dtype, "--dtype");
        Gpt2Inference inf = g.inference();
        final class Gpt2Lm implements CausalLm, dev.jgpt.memory.MemoryAccounted {
            public java.util.Map<String, Long> offHeapBytes() { // the weights it owns, then the session's cache and buffers
                java.util.Map<String, Long> m = new java.util.LinkedHashMap<>();
                m.put("params", g.params().allocatedBytes());
                m.putAll(inf.offHeapBytes());
                return m;
            }
            public int vocabSize() { return inf.vocabSize(); }
            public int contextLength() { return inf.contextLength(); }
            public void reset() { inf.reset(); }
            public int position() { return inf.position(); }
            public Tensor prefill(int[] tokens) { return inf.prefill(tokens); }
            public Tensor step(int token) { return inf.step(token); }
            public dev.jgpt.generate.DeviceLogits deviceLogits() { return inf.deviceLogits(); }
            public void close() {
                inf.close();
                g.closeWeights();
            }
        }
        CausalLm lm = new Gpt2Lm();
        return new LoadedModel(withDType(name, dtype), lm, g.tokenizer());
    }

    /**
     * A GPT-2 run at {@code path} (resolved by {@link ModelDirs}) read into host memory and decoded by
     * libjgpt's {@link Gpt2Decoder} in {@code dtype}; {@code backend} (a cpu one) becomes the model's
     * and is closed with it, or at once on failure. threads <= 0: one per core.
     */
    public static LoadedModel openGpt2Native(Path path, Backend backend, DecodeDType dtype, int groupSize, int threads) {
        String name = path.toAbsolutePath().normalize().getFileName().toString();
        Path dir;
        try {
            dir = ModelDirs.resolve(path);
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
        return openGpt2Native(dir, name, backend, dtype, groupSize, threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
    }

    /** A GPT-2 run's weights read into host memory and decoded by libjgpt (one native call per token). */
    private static LoadedModel openGpt2Native(Path dir, String name, Backend backend, DecodeDType dtype, int groupSize, int threads) {
        TensorArena params = null;
        try {
            GptConfig c = Checkpoints.config(dir);
            Tokenizer tok = BpeTokenizer.load(ModelDirs.tokenizer(dir));
            backend.setThreads(threads);
            params = TensorArena.host();
            Tensor flat = readParams(dir, c, params);
            TensorArena owned = params;
            Gpt2Decoder lm = new Gpt2Decoder(c, flat, dtype, groupSize, threads, () -> {
                owned.close();
                backend.close();
            });
            return new LoadedModel(withDType(name, dtype), lm, tok);
        } catch (RuntimeException e) {
            if (params != null) params.close();
            backend.close();
            throw e;
        }
    }
}
