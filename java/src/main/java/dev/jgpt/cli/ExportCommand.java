package dev.jgpt.cli;

import dev.jgpt.JgptException;
import dev.jgpt.io.AtomicFiles;
import dev.jgpt.io.GgmlType;
import dev.jgpt.io.Gpt2Files;
import dev.jgpt.io.ModelExport;
import dev.jgpt.io.TokenizerJson;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.model.GptConfig;
import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.train.Checkpoints;
import dev.jgpt.train.LoadedModels;
import dev.jgpt.train.ModelDirs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import dev.jgpt.llama.Llama2cCheckpoint;
import dev.jgpt.llama.Llama2cExport;
import dev.jgpt.llama.LlamaGguf;
import dev.jgpt.llama.LlamaWeights;

/** {@code jgpt export}: a trained model as Hugging Face safetensors, GGUF (llama.cpp) or llm.c's .bin. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Write a model in another program's format (see docs/formats.md):",
                "  safetensors  a directory transformers loads as GPT2LMHeadModel (+ tokenizer.json)",
                "  gguf         one file for llama.cpp (architecture gpt2 or llama, tokenizer inside)",
                "  llmc         llm.c's gpt2_124M.bin layout (+ PATH_tokenizer.bin)",
                "  llama2c      llama2.c's model.bin + tokenizer.bin beside it (runs trained with arch: llama only)"})
public final class ExportCommand implements Runnable {
    @Option(names = "--model", required = true, paramLabel = "RUN", description = "Run, checkpoint or model directory.")
    Path model;

    @Option(names = "--format", required = true, description = "safetensors, gguf, llmc (GPT-2 runs); gguf or llama2c (Llama runs).")
    String format;

    @Option(names = "--dtype", defaultValue = "f32", paramLabel = "T",
            description = "Tensor type of the GGUF matrices (GPT-2 or Llama runs): f32, bf16 or q8 (llama.cpp's Q8_0) (default ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "PATH", description = "Output directory (safetensors) or file.")
    Path out;

    @Override
    public void run() {
        Path dir = ModelDirs.resolve(model);
        boolean llama = Files.isRegularFile(dir.resolve(Checkpoints.LLAMA_WEIGHTS));
        if (llama) {
            if (!format.equals("llama2c") && !format.equals("gguf")) {
                throw new JgptException("--format " + format + ": " + dir + " is a Llama model; it exports as --format llama2c or gguf");
            }
            if (format.equals("llama2c") && !dtype.equals("f32")) {
                throw new JgptException("--dtype " + dtype + ": llama2c checkpoints are float32 (bf16 and q8 are for --format gguf)");
            }
            try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
                // mapped and validated, then written atomically (temp, fsync, rename)
                LlamaWeights weights = Llama2cCheckpoint.open(dir.resolve(Checkpoints.LLAMA_WEIGHTS), arena);
                if (format.equals("llama2c") && !Llama2cCheckpoint.hasLlama2cConstants(weights.config())) {
                    throw new JgptException("--format llama2c: " + dir + " uses RoPE theta " + weights.config().ropeTheta()
                            + " and RMSNorm epsilon " + weights.config().normEps() + ", which run.c cannot be told (it assumes 10000"
                            + " and 1e-5); export it as --format gguf");
                }
                Path tokFile = ModelDirs.tokenizer(dir);
                if (tokFile.getFileName().toString().equals(Checkpoints.SPM_TOKENIZER)) {
                    exportSentencepiece(dir, weights, tokFile);
                } else if (format.equals("gguf")) {
                    LlamaGguf.write(out, weights, TokenizerJson.read(ModelDirs.tokenizer(dir)), dir.getFileName().toString(),
                            ggmlType(), taughtTemplate(dir));
                } else {
                    // the vocabulary renumbered to run.c's id conventions, and tokenizer.bin beside (Llama2cExport)
                    Llama2cExport.write(out, weights, BpeTokenizer.load(ModelDirs.tokenizer(dir)));
                }
            }
            System.err.println("exported " + dir + " as " + format + " to " + out + (format.equals("llama2c")
                    ? " (+ " + out.toAbsolutePath().resolveSibling(Llama2cExport.TOKENIZER_FILE) + ")" : ""));
            return;
        }
        if (!dtype.equals("f32") && !format.equals("gguf")) {
            throw new JgptException("--dtype " + dtype + ": only GGUF exports come in bf16 or q8; --format " + format + " is f32");
        }
        if (format.equals("llama2c")) {
            throw new JgptException("--format llama2c: " + dir + " is a GPT-2 model; llama2c needs a run trained with 'arch: llama'");
        }
        GptConfig c = Checkpoints.config(dir);
        Path tokFile = ModelDirs.tokenizer(dir);
        try (TensorArena arena = TensorArena.host()) {
            Tensor params = LoadedModels.readParams(dir, c, arena);
            BpeTokenizer tok = BpeTokenizer.load(tokFile);
            var eotId = tok.specialTokenId("<|endoftext|>");
            Integer eot = eotId.isPresent() ? eotId.getAsInt() : null;
            switch (format) {
                case "safetensors" -> {
                    Gpt2Files.write(out, c, params, eot, Map.of());
                    copy(tokFile, out.resolve("tokenizer.json"));
                }
                case "gguf" -> ModelExport.writeGguf(out, c, params, TokenizerJson.read(tokFile),
                        dir.toAbsolutePath().normalize().getFileName().toString(), ggmlType());
                case "llmc" -> {
                    ModelExport.writeLlmc(out, c, params);
                    String n = out.getFileName().toString();
                    Path tokOut = out.resolveSibling((n.endsWith(".bin") ? n.substring(0, n.length() - 4) : n) + "_tokenizer.bin");
                    ModelExport.writeLlmcTokenizer(tokOut, tok, eot == null ? 0 : eot);
                }
                default -> throw new JgptException("--format: unknown '" + format + "', expected safetensors, gguf, llmc or llama2c");
            }
        }
        System.err.println("exported " + dir + " as " + format + " to " + out);
    }

    /**
     * A run fine-tuned from an imported model: its sentencepiece vocabulary already has llama2.c's ids, so the llama2c
     * export is the checkpoint and tokenizer.bin as they are; the GGUF export carries the vocabulary and the taught
     * template ({@link #taughtTemplate}).
     */
    private void exportSentencepiece(Path dir, LlamaWeights weights, Path tokFile) {
        dev.jgpt.llama.Llama2cTokenizer tok = dev.jgpt.llama.Llama2cTokenizer.read(tokFile, weights.config().vocabSize());
        if (format.equals("llama2c")) {
            try {
                Files.createDirectories(out.toAbsolutePath().getParent());
            } catch (java.io.IOException e) {
                throw new JgptException("cannot create " + out.toAbsolutePath().getParent() + ": " + e.getMessage(), e);
            }
            Llama2cCheckpoint.write(out, weights);
            tok.write(out.toAbsolutePath().resolveSibling(Llama2cExport.TOKENIZER_FILE));
            return;
        }
        LlamaGguf.write(out, weights, tok, dir.getFileName().toString(), ggmlType(), taughtTemplate(dir));
    }

    /**
     * The chat template a GGUF export carries for a run fine-tuned from an imported model: the imported file's own when
     * it writes the format the run was taught; else none, said once on stderr (llama.cpp is then told the format by name).
     */
    private static String taughtTemplate(Path dir) {
        dev.jgpt.chat.ChatSource chat = ModelDirs.chatSource(dir);
        if (chat == null) return null;
        String template = chat.template();
        if (template != null && dev.jgpt.chat.ChatMarkup.detect(template).map(m -> m.id().equals(chat.format())).orElse(false)) {
            return template;
        }
        System.err.println("note: the model was taught the " + chat.format() + " chat format, which the GGUF file does not carry "
                + "as a template; tell llama.cpp with --chat-template " + chat.format());
        return null;
    }

    static void copy(Path from, Path to) {
        try {
            AtomicFiles.write(to, Files.readAllBytes(from));
        } catch (IOException e) {
            throw new JgptException("cannot read " + from + ": " + AtomicFiles.describe(e), e);
        }
    }

    private GgmlType ggmlType() {
        return switch (dtype) {
            case "f32" -> GgmlType.F32;
            case "bf16" -> GgmlType.BF16;
            case "q8", "q8_0" -> GgmlType.Q8_0;
            default -> throw new JgptException("--dtype: '" + dtype + "' is not one of f32, bf16, q8");
        };
    }
}
