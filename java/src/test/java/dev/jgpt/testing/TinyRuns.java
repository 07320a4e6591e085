package dev.jgpt.testing;

import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.io.Json;
import dev.jgpt.llama.Llama2cTokenizer;
import dev.jgpt.model.Gpt2;
import dev.jgpt.model.GptConfig;
import dev.jgpt.tokenizer.BpeTrainer;
import dev.jgpt.train.Checkpoints;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Tiny GPT-2 runs on disk for tests: a BPE tokenizer trained on one text, random weights (seed 3), one checkpoint;
 * and the byte-level llama2.c vocabulary the tiny Llama tests share.
 */
public final class TinyRuns {
    private TinyRuns() {}

    /**
     * Writes the run into {@code run} and returns it. {@code withEot}: the checkpoint names the tokenizer's
     * {@code <|endoftext|>} as end of text (generation may stop early); otherwise it has none.
     */
    public static Path gpt2(Path run, GptConfig cfg, String text, boolean withEot) {
        try {
            Files.createDirectories(run);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        var tok = new BpeTrainer(cfg.vocabSize()).threads(1).trainOnTexts(List.of(text));
        Path tokFile = run.resolve("tokenizer.json");
        tok.saveTokenizerJson(tokFile);
        int eot = withEot ? tok.specialTokenId("<|endoftext|>").getAsInt() : -1;
        try (var backend = new ReferenceBackend(); var model = new Gpt2(backend, cfg, 1, 4)) {
            model.initWeights(3);
            Checkpoints.save(run, model, 1, Json.object().put("step", 1), java.util.List.of(tokFile), eot, 3);
        }
        return run;
    }

    /** A byte-level llama2.c vocabulary: 3 specials, 256 byte pieces, then a space and the letters b..z as pieces (285 ids). */
    public static Llama2cTokenizer asciiLlamaTokenizer() {
        int V = 3 + 256 + 26;
        byte[][] pieces = new byte[V][];
        float[] scores = new float[V];
        pieces[0] = "<unk>".getBytes(StandardCharsets.US_ASCII);
        pieces[1] = "\n<s>\n".getBytes(StandardCharsets.US_ASCII);
        pieces[2] = "\n</s>\n".getBytes(StandardCharsets.US_ASCII);
        for (int b = 0; b < 256; b++) pieces[3 + b] = String.format("<0x%02X>", b).getBytes(StandardCharsets.US_ASCII);
        pieces[259] = " ".getBytes(StandardCharsets.US_ASCII);
        for (int i = 1; i < 26; i++) pieces[259 + i] = String.valueOf((char) ('a' + i)).getBytes(StandardCharsets.US_ASCII);
        return new Llama2cTokenizer(pieces, scores);
    }

    /** The tiny llama2.c model the import tests share: 2 layers, dim 32, GQA, over {@link #asciiLlamaTokenizer}. */
    public static final dev.jgpt.llama.LlamaConfig TINY_LLAMA2C = dev.jgpt.llama.LlamaConfig.llama2c(32, 64, 2, 2, 1, 285, 64, false);

    /** Writes {@code tiny.bin} (random weights, seed 7) and llama2.c's {@code tokenizer.bin} beside it into dir; returns the model. */
    public static Path tinyLlama2c(Path dir) {
        Path bin = dir.resolve("tiny.bin");
        asciiLlamaTokenizer().write(dir.resolve("tokenizer.bin"));
        dev.jgpt.llama.RandomLlama.writeCheckpoint(bin, TINY_LLAMA2C, 7);
        return bin;
    }

    /** A chat JSONL of {@code n} copies of one exchange: what the fine-tuning tests teach. */
    public static Path repeatedChat(Path file, String question, String answer, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append("{\"messages\":[{\"role\":\"user\",\"content\":\"").append(question)
                    .append("\"},{\"role\":\"assistant\",\"content\":\"").append(answer).append("\"}]}\n");
        }
        try {
            Files.writeString(file, sb);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }
}
