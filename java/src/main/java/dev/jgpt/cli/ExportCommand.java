package dev.jgpt.cli;

import dev.jgpt.JgptException;
import dev.jgpt.io.AtomicFiles;
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

/** {@code jgpt export}: a trained model as Hugging Face safetensors, GGUF (llama.cpp) or llm.c's .bin. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Write a model in another program's format (see docs/formats.md):",
                "  safetensors  a directory transformers loads as GPT2LMHeadModel (+ tokenizer.json)",
                "  gguf         one file for llama.cpp (architecture gpt2, tokenizer inside)",
                "  llmc         llm.c's gpt2_124M.bin layout (+ PATH_tokenizer.bin)",
                "  llama2c      llama2.c's model.bin + tokenizer.bin beside it (runs trained with arch: llama only)"})
public final class ExportCommand implements Runnable {
    @Option(names = "--model", required = true, paramLabel = "RUN", description = "Run, checkpoint or model directory.")
    Path model;

    @Option(names = "--format", required = true, description = "safetensors, gguf, llmc (GPT-2 runs) or llama2c (Llama runs).")
    String format;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "PATH", description = "Output directory (safetensors) or file.")
    Path out;

    @Override
    public void run() {
        Path dir = ModelDirs.resolve(model);
        boolean llama = Files.isRegularFile(dir.resolve(Checkpoints.LLAMA_WEIGHTS));
        if (llama) {
            if (!format.equals("llama2c")) {
                throw new JgptException("--format " + format + ": " + dir + " is a Llama model; it exports as --format llama2c only");
            }
            try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
                // mapped and validated; written with the vocabulary renumbered to run.c's conventions, and tokenizer.bin beside
                Llama2cExport.write(out, Llama2cCheckpoint.open(dir.resolve(Checkpoints.LLAMA_WEIGHTS), arena),
                        BpeTokenizer.load(ModelDirs.tokenizer(dir)));
            }
            System.err.println("exported " + dir + " as llama2c to " + out + " (+ "
                    + out.toAbsolutePath().resolveSibling(Llama2cExport.TOKENIZER_FILE) + ")");
            return;
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
                        dir.toAbsolutePath().normalize().getFileName().toString());
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

    static void copy(Path from, Path to) {
        try {
            AtomicFiles.write(to, Files.readAllBytes(from));
        } catch (IOException e) {
            throw new JgptException("cannot read " + from + ": " + AtomicFiles.describe(e), e);
        }
    }
}
