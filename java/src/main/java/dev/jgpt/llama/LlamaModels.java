package dev.jgpt.llama;

import dev.jgpt.backend.Backend;
import dev.jgpt.io.GgufFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/** Opening a Llama-family model file for inference. */
public final class LlamaModels {
    private LlamaModels() {}

    /** Maps a llama2.c checkpoint and builds the fast inference on it; closing it unmaps the file. */
    public static LlamaInference openLlama2c(Path file, DecodeDType dtype, int groupSize, int threads) {
        Arena mapped = Arena.ofShared();
        try {
            LlamaWeights w = Llama2cCheckpoint.open(file, mapped);
            return new LlamaInference(w, dtype, groupSize, threads, mapped);
        } catch (RuntimeException e) {
            mapped.close();
            throw e;
        }
    }

    /**
     * {@link #openLlama2c(Path, DecodeDType, int, int)} with LoRA adapters ({@link LoraFile}, a PEFT directory) merged
     * into the matrices as they are copied out of the mapping and converted: the model holds merged copies, never the
     * mapped file. {@code lora} null: the plain model.
     */
    public static LlamaInference openLlama2c(Path file, DecodeDType dtype, int groupSize, int threads, Path lora) {
        if (lora == null) return openLlama2c(file, dtype, groupSize, threads);
        Arena weights = Arena.ofShared();
        try (Arena mapped = Arena.ofShared()) {
            LlamaWeights w = Llama2cCheckpoint.open(file, mapped);
            return LlamaParts.of(w, weights).withAdapters(LoraFile.read(lora, w.config())).inference(dtype, groupSize, threads, weights);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /** {@link #openHuggingFace(Path, DecodeDType, int, int, int)} with LoRA adapters merged as each matrix converts. */
    public static LlamaInference openHuggingFace(Path dir, DecodeDType dtype, int groupSize, int threads, int maxSeq, Path lora) {
        if (lora == null) return openHuggingFace(dir, dtype, groupSize, threads, maxSeq);
        Arena weights = Arena.ofShared();
        try (Arena mapped = Arena.ofShared()) {
            LlamaParts p = HfLlamaImport.stream(dir, weights, mapped, maxSeq);
            return p.withAdapters(LoraFile.read(lora, p.config())).inference(dtype, groupSize, threads, weights);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /**
     * {@link #openGguf(Path, DecodeDType, int, int, int)} with LoRA adapters merged as each matrix is decoded and
     * converted: not with {@code gguf} (the file's blocks in place cannot take them).
     */
    public static LlamaInference openGguf(Path file, DecodeDType dtype, int groupSize, int threads, int maxSeq, Path lora) {
        if (lora == null) return openGguf(file, dtype, groupSize, threads, maxSeq);
        if (dtype == DecodeDType.GGUF) {
            throw new dev.jgpt.JgptException("--lora: adapters merge into converted weights, not a GGUF file's blocks in place; "
                    + "use --dtype q8, bf16 or f32");
        }
        Arena weights = Arena.ofShared();
        try (Arena mapped = Arena.ofShared()) {
            LlamaParts p = LlamaGgufImport.stream(GgufFile.open(file, mapped), weights, maxSeq);
            return p.withAdapters(LoraFile.read(lora, p.config())).inference(dtype, groupSize, threads, weights);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /**
     * Imports a Hugging Face LlamaForCausalLM directory (context capped at maxSeq if &gt; 0): with f32 its weights copied
     * to float32 off-heap; with bf16 or q8 each matrix copied, converted and released in turn ({@link LlamaParts}).
     */
    public static LlamaInference openHuggingFace(Path dir, DecodeDType dtype, int groupSize, int threads, int maxSeq) {
        Arena weights = Arena.ofShared();
        try (Arena mapped = Arena.ofShared()) {
            return HfLlamaImport.stream(dir, weights, mapped, maxSeq).inference(dtype, groupSize, threads, weights);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /**
     * Maps a llama2.c checkpoint and copies its weights into {@code backend}'s memory for {@link LlamaOpsInference}
     * (the mapping is closed once copied): the matrices as q8 in groups of {@code groupSize} for {@code dtype} q8, else
     * as the backend's products read them ({@link Backend#decodeWeightDType}). The backend becomes the model's: closed
     * with it, or at once on failure.
     */
    public static LlamaOpsInference openLlama2c(Path file, Backend backend, DecodeDType dtype, int groupSize) {
        try (Arena mapped = Arena.ofShared()) {
            return opsInference(backend, Llama2cCheckpoint.open(file, mapped), dtype, groupSize);
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
    }

    /** {@link #openHuggingFace(Path, DecodeDType, int, int, int)} through {@link LlamaOpsInference} on {@code backend} (owned, as above). */
    public static LlamaOpsInference openHuggingFace(Path dir, Backend backend, DecodeDType dtype, int groupSize, int maxSeq) {
        try (Arena weights = Arena.ofShared()) {
            return opsInference(backend, HfLlamaImport.load(dir, weights, maxSeq), dtype, groupSize);
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
    }

    /**
     * Reads a llama.cpp GGUF file of the llama architecture ({@link LlamaGgufImport}): its tensors decoded to float32
     * off-heap (the mapping is closed once decoded) for f32; with bf16 or q8 each matrix decoded, converted and released
     * in turn ({@link LlamaParts}); context capped at maxSeq if &gt; 0.
     */
    public static LlamaInference openGguf(Path file, DecodeDType dtype, int groupSize, int threads, int maxSeq) {
        if (dtype == DecodeDType.GGUF) { // the file's blocks in place: the mapping stays open as long as the model
            Arena weights = Arena.ofShared(), mapped = Arena.ofShared();
            try {
                GgufFile g = GgufFile.open(file, mapped);
                // the embedding's rows too are read from the file's blocks where libjgpt decodes its type (a float32 copy
                // of a 32000 x 4096 table would be 0.5 GB beside a 3.8 GB Q4_K_M file)
                GgufFile.Tensor te = g.tensors().get("token_embd.weight"); // present (readConfig), its shape checked by stream
                boolean inPlace = te != null && LlamaGgufImport.IN_PLACE.contains(te.type()) && te.type() != dev.jgpt.io.GgmlType.F32;
                LlamaParts p = LlamaGgufImport.stream(g, weights, maxSeq, !inPlace);
                LlamaInference.Blocks blocks = LlamaGgufImport.blocks(g, p.config());
                MemorySegment emb = inPlace ? te.data() : p.emb();
                int embType = inPlace ? te.type().id : 0;
                return LlamaInference.fromBlocks(p.config(), emb, embType, p.rmsAtt(), p.rmsFfn(), p.rmsFinal(), blocks, threads, () -> {
                    weights.close();
                    mapped.close();
                });
            } catch (RuntimeException e) {
                weights.close();
                mapped.close();
                throw e;
            }
        }
        Arena weights = Arena.ofShared();
        try (Arena mapped = Arena.ofShared()) {
            return LlamaGgufImport.stream(GgufFile.open(file, mapped), weights, maxSeq).inference(dtype, groupSize, threads, weights);
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /** {@link #openGguf(Path, DecodeDType, int, int, int)} through {@link LlamaOpsInference} on {@code backend} (owned, as above). */
    public static LlamaOpsInference openGguf(Path file, Backend backend, DecodeDType dtype, int groupSize, int maxSeq) {
        try (Arena weights = Arena.ofShared(); Arena mapped = Arena.ofShared()) {
            return opsInference(backend, LlamaGgufImport.load(GgufFile.open(file, mapped), weights, maxSeq), dtype, groupSize);
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
    }

    /**
     * The tokenizer a GGUF file carries ({@link LlamaGgufImport#tokenizer}), for the vocabulary its metadata gives: read
     * before the weights, so that a file whose tokenizer jgpt cannot use is refused before its tensors are decoded.
     */
    public static dev.jgpt.tokenizer.Tokenizer ggufTokenizer(Path file) {
        try (Arena mapped = Arena.ofConfined()) {
            GgufFile g = GgufFile.open(file, mapped);
            return LlamaGgufImport.tokenizer(g, LlamaGgufImport.readConfig(g, 0).vocabSize());
        }
    }

    /**
     * What a GGUF file says about chatting ({@link LlamaGgufImport#chatSource}); with {@code ownTokenizer} false (a
     * llama2.c or Hugging Face sentencepiece tokenizer given instead) only its chat template, with llama2.c's BOS and EOS.
     */
    public static dev.jgpt.chat.ChatSource ggufChatSource(Path file, boolean ownTokenizer) {
        try (Arena mapped = Arena.ofConfined()) {
            GgufFile g = GgufFile.open(file, mapped);
            dev.jgpt.chat.ChatSource own = LlamaGgufImport.chatSource(g);
            return ownTokenizer ? own : dev.jgpt.chat.ChatSource.LLAMA2C.withTemplate(own.template());
        }
    }

    private static LlamaOpsInference opsInference(Backend backend, LlamaWeights w, DecodeDType dtype, int groupSize) {
        return dtype == DecodeDType.Q8
                ? new LlamaOpsInference(backend, w, dev.jgpt.memory.DType.I8, groupSize, backend)
                : new LlamaOpsInference(backend, w, backend);
    }

    /**
     * The dtype a GGUF file decodes in on {@code device} when none is asked for: {@link LlamaGgufImport#defaultDType} on
     * the cpu ({@code auto} too: quantized models decode there), q8 instead of its own blocks on a backend's ops.
     */
    public static DecodeDType ggufDecodeDType(Path file, String device) {
        DecodeDType dt;
        try (Arena mapped = Arena.ofConfined()) {
            dt = LlamaGgufImport.defaultDType(GgufFile.open(file, mapped));
        }
        String d = device == null ? "auto" : device.strip().toLowerCase(java.util.Locale.ROOT);
        return dt == DecodeDType.GGUF && !d.equals("cpu") && !d.equals("auto") ? DecodeDType.Q8 : dt;
    }

    /** Whether a path is a GGUF file (by its magic, whatever its name). */
    public static boolean isGgufFile(Path p) {
        return GgufFile.isGguf(p);
    }

    /** Whether a path looks like a llama2.c checkpoint rather than a jgpt run directory. */
    public static boolean isLlama2cFile(Path p) {
        return p.getFileName() != null && p.getFileName().toString().endsWith(".bin") && java.nio.file.Files.isRegularFile(p);
    }
}
