package dev.jgpt.train;

import dev.jgpt.JgptException;
import dev.jgpt.chat.ChatSource;
import dev.jgpt.io.GgufFile;
import dev.jgpt.llama.HfLlamaImport;
import dev.jgpt.llama.Llama2cCheckpoint;
import dev.jgpt.llama.Llama2cTokenizer;
import dev.jgpt.llama.LlamaConfig;
import dev.jgpt.llama.LlamaGgufImport;
import dev.jgpt.llama.LlamaModels;
import dev.jgpt.llama.LlamaTrainModel;
import dev.jgpt.llama.LlamaWeights;
import dev.jgpt.tokenizer.Tokenizer;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A Llama model made elsewhere, as the starting point of a fine-tuning run ({@code init}): a llama2.c checkpoint with
 * its {@code tokenizer.bin}, a llama.cpp GGUF file, or a Hugging Face LlamaForCausalLM directory. It gives the run its
 * shape, its vocabulary, what its file says about chatting and, once the model is built, its weights in float32 (a
 * quantized GGUF file is dequantized).
 *
 * <p>A RoPE base or RMSNorm epsilon other than llama2.c's travels with the run's llama2.c checkpoints in the JSON file
 * beside each ({@link Llama2cCheckpoint#constantsFile}). The vocabulary is kept in the run as a sentencepiece
 * {@code tokenizer.bin} or, for a GGUF file's byte-level BPE (SmolLM, Llama 3), as a Hugging Face {@code tokenizer.json}.
 */
public record ImportedLlama(Path source, LlamaConfig config, Tokenizer tokenizer, ChatSource chat) {

    /** Whether {@code init} names a model file or directory of another program rather than a jgpt run. */
    public static boolean isImport(Path init) {
        return LlamaModels.isGgufFile(init) || LlamaModels.isLlama2cFile(init) || HfLlamaImport.isLlamaConfig(init);
    }

    /**
     * Reads the shape, tokenizer and chat facts of {@code init} (weights later, by {@link #loadInto}).
     * {@code tokenizerFile}: llama2.c's {@code tokenizer.bin} (default: beside a {@code .bin} checkpoint) or a
     * Hugging Face {@code tokenizer.json}, instead of a GGUF file's or an HF directory's own.
     */
    public static ImportedLlama open(Path init, Path tokenizerFile) {
        if (tokenizerFile != null && !Files.isRegularFile(tokenizerFile)) {
            throw new JgptException("tokenizer: " + tokenizerFile + ": no such file");
        }
        if (LlamaModels.isGgufFile(init)) {
            try (Arena mapped = Arena.ofConfined()) {
                GgufFile g = GgufFile.open(init, mapped);
                LlamaConfig c = LlamaGgufImport.readConfig(g, 0);
                Tokenizer own = tokenizerFile == null ? LlamaGgufImport.tokenizer(g, c.vocabSize())
                        : HfLlamaImport.tokenizer(tokenizerFile, c.vocabSize());
                ChatSource chat = LlamaGgufImport.chatSource(g);
                return new ImportedLlama(init, c, own, tokenizerFile == null ? chat : ChatSource.LLAMA2C.withTemplate(chat.template()));
            }
        } else if (Files.isDirectory(init)) {
            LlamaConfig c = HfLlamaImport.readConfig(init);
            Path tok = tokenizerFile != null ? tokenizerFile : init.resolve("tokenizer.json");
            if (!Files.isRegularFile(tok)) throw new JgptException("init " + init + ": no tokenizer.json in it (give one with 'tokenizer')");
            return new ImportedLlama(init, c, HfLlamaImport.tokenizer(tok, c.vocabSize()), HfLlamaImport.chatSource(init));
        }
        LlamaConfig c;
        try (Arena a = Arena.ofConfined()) {
            c = Llama2cCheckpoint.open(init, a).config();
        }
        Path tok = tokenizerFile != null ? tokenizerFile : init.toAbsolutePath().resolveSibling("tokenizer.bin");
        if (!Files.isRegularFile(tok)) {
            throw new JgptException("init " + init + ": no tokenizer.bin beside it (give llama2.c's tokenizer with 'tokenizer')");
        }
        return new ImportedLlama(init, c, Llama2cTokenizer.read(tok, c.vocabSize()), ChatSource.LLAMA2C);
    }

    /**
     * The tokenizer a path names, for packing the shards a run will train on: jgpt's or a Hugging Face
     * {@code tokenizer.json} (byte-level BPE, or a Llama's sentencepiece BPE), llama2.c's {@code tokenizer.bin}, a GGUF
     * file's vocabulary, or a directory holding {@code tokenizer.json} or {@code tokenizer.bin}.
     */
    public static Tokenizer tokenizerFor(Path p) {
        if (Files.isDirectory(p)) {
            for (String name : new String[] {Checkpoints.TOKENIZER, Checkpoints.SPM_TOKENIZER}) {
                if (Files.isRegularFile(p.resolve(name))) return tokenizerFor(p.resolve(name));
            }
            throw new JgptException(p + ": no tokenizer.json or tokenizer.bin in it");
        }
        if (!Files.isRegularFile(p)) throw new JgptException(p + ": no such tokenizer file");
        if (LlamaModels.isGgufFile(p)) {
            try (Arena mapped = Arena.ofConfined()) {
                GgufFile g = GgufFile.open(p, mapped);
                return LlamaGgufImport.tokenizer(g, LlamaGgufImport.readConfig(g, 0).vocabSize());
            }
        }
        return HfLlamaImport.tokenizer(p);
    }

    /**
     * Writes the vocabulary into the run directory {@code run}, as {@code tokenizer.bin} (sentencepiece, llama2.c's
     * format) or {@code tokenizer.json} (byte-level BPE, Hugging Face's format), and returns the file.
     */
    public Path writeTokenizer(Path run) {
        if (tokenizer instanceof Llama2cTokenizer spm) {
            Path f = run.resolve(Checkpoints.SPM_TOKENIZER);
            spm.write(f);
            return f;
        }
        if (tokenizer instanceof dev.jgpt.tokenizer.BpeTokenizer bpe) {
            Path f = run.resolve(Checkpoints.TOKENIZER);
            bpe.saveTokenizerJson(f);
            return f;
        }
        throw new JgptException("init " + source + ": its tokenizer (" + tokenizer.getClass().getSimpleName() + ") cannot be kept in a run");
    }

    /**
     * Copies the weights (float32, quantized ones dequantized) into {@code model}, built with {@link #config}: a GGUF
     * file's or HF directory's matrices one at a time ({@link LlamaParts#copyInto}), so the load needs the model plus
     * one matrix, not a second float32 copy of it.
     */
    public void loadInto(LlamaTrainModel model) {
        try (Arena small = Arena.ofShared(); Arena mapped = Arena.ofShared()) {
            if (LlamaModels.isGgufFile(source)) {
                LlamaGgufImport.stream(GgufFile.open(source, mapped), small, 0).copyInto(model.weights());
            } else if (Files.isDirectory(source)) {
                HfLlamaImport.stream(source, small, mapped, 0).copyInto(model.weights());
            } else {
                model.weights().copyFrom(Llama2cCheckpoint.open(source, mapped));
            }
        }
    }
}
