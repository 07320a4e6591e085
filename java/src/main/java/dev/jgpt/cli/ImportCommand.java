package dev.jgpt.cli;

import dev.jgpt.JgptException;
import dev.jgpt.io.Gpt2Files;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.model.GptConfig;
import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.SplitPattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code jgpt import}: reads a GPT-2 in Hugging Face's safetensors form (ours, or a checkpoint a user
 * already has: names with or without {@code transformer.}, F32/F16/BF16) and writes a model
 * directory jgpt generates and fine-tunes from.
 */
@Command(name = "import", mixinStandardHelpOptions = true,
        description = "Read a Hugging Face GPT-2 (config.json + model.safetensors [+ tokenizer.json or vocab.json/merges.txt]) into a jgpt model directory.")
public final class ImportCommand implements Runnable {
    @Option(names = "--from", required = true, paramLabel = "DIR", description = "Directory with config.json and model.safetensors.")
    Path from;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR", description = "The model directory to write.")
    Path out;

    @Option(names = "--context", paramLabel = "T", description = "Use a shorter context than the checkpoint's (smaller KV cache).")
    Integer context;

    @Override
    public void run() {
        Path dir = Files.isRegularFile(from) ? from.toAbsolutePath().getParent() : from;
        GptConfig c = Gpt2Files.readConfig(dir.resolve(Gpt2Files.CONFIG));
        if (context != null) {
            if (context < 1 || context > c.contextLength()) {
                throw new JgptException("--context " + context + " must be in [1, " + c.contextLength() + "]");
            }
            c = c.withContextLength(context);
        }
        Path weights = Files.isRegularFile(from) ? from : dir.resolve(Gpt2Files.WEIGHTS);
        BpeTokenizer tok;
        if (Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            tok = BpeTokenizer.load(dir.resolve("tokenizer.json"));
        } else if (Files.isRegularFile(dir.resolve("vocab.json")) && Files.isRegularFile(dir.resolve("merges.txt"))) {
            tok = BpeTokenizer.loadVocabMerges(dir.resolve("vocab.json"), dir.resolve("merges.txt"), SplitPattern.GPT2,
                    List.of("<|endoftext|>"));
        } else {
            throw new JgptException(dir + ": no tokenizer.json (or vocab.json + merges.txt) beside the weights");
        }
        if (tok.vocabSize() > c.vocabSize()) {
            throw new JgptException(dir + ": the tokenizer has " + tok.vocabSize() + " tokens but the model only " + c.vocabSize());
        }
        try (TensorArena arena = TensorArena.host()) {
            Tensor params = arena.allocate(dev.jgpt.memory.DType.F32, dev.jgpt.model.ParameterLayout.of(c).size());
            Gpt2Files.readWeights(weights, c, params);
            Integer eot = tok.specialTokenId("<|endoftext|>").isPresent() ? tok.specialTokenId("<|endoftext|>").getAsInt() : null;
            Gpt2Files.write(out, c, params, eot, Map.of());
            tok.saveTokenizerJson(out.resolve("tokenizer.json"));
        }
        System.err.println("imported " + weights + " (" + c + ") to " + out);
    }
}
