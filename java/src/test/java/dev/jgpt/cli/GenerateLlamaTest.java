package dev.jgpt.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.generate.ModelLoader;
import dev.jgpt.llama.Llama2cCheckpoint;
import dev.jgpt.llama.Llama2cTokenizer;
import dev.jgpt.llama.LlamaConfig;
import dev.jgpt.llama.LlamaWeights;
import dev.jgpt.llama.RandomLlama;
import dev.jgpt.llama.ReferenceLlama;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code jgpt generate --model X.bin --tokenizer tokenizer.bin} (and the same weights as a Hugging Face directory and
 * as a GGUF file with the vocabulary inside) on
 * {@code --device cpu} (libjgpt's decoder) and {@code --device reference} (the ops decoder): greedy text equals the
 * reference decode's.
 */
class GenerateLlamaTest {
    @TempDir
    Path dir;

    @Test
    void greedyGenerationOfALlama2cCheckpointMatchesTheReference() {
        assumeThat(NativeLibraries.status().available()).isTrue();
        Llama2cTokenizer tok = asciiTokenizer();
        int V = tok.vocabSize();
        Path model = dir.resolve("tiny.bin"), tokFile = dir.resolve("tok.bin");
        tok.write(tokFile);
        LlamaConfig cfg = LlamaConfig.llama2c(64, 128, 2, 4, 2, V, 64, false);
        RandomLlama.writeCheckpoint(model, cfg, 11);

        int[] prompt = tok.encode("hi there");
        StringBuilder expected = new StringBuilder();
        try (Arena a = Arena.ofShared(); ReferenceLlama ref = new ReferenceLlama(Llama2cCheckpoint.open(model, a))) {
            float[] logits = ref.prefill(prompt).toFloatArray();
            int prev = prompt[prompt.length - 1];
            for (int i = 0; i < 20; i++) {
                int next = argmax(logits);
                if (next == 1) break; // BOS ends the text, as in run.c
                expected.append(new String(tok.tokenBytes(next), StandardCharsets.ISO_8859_1));
                prev = next;
                logits = ref.step(next).toFloatArray();
            }
        }
        // the same weights as a Hugging Face LlamaForCausalLM directory
        Path hf = dir.resolve("hf");
        try (Arena a = Arena.ofShared()) {
            java.nio.file.Files.createDirectory(hf);
            dev.jgpt.llama.HfLlamaImportTest.writeHf(hf, Llama2cCheckpoint.open(model, a), "F32");
            java.nio.file.Files.writeString(hf.resolve("config.json"), "{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64,"
                    + "\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4,\"num_key_value_heads\":2,"
                    + "\"vocab_size\":" + V + ",\"max_position_embeddings\":64,\"rms_norm_eps\":1e-5,\"tie_word_embeddings\":false}");
        } catch (java.io.IOException | RuntimeException e) {
            throw new AssertionError(e);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        // and as a llama.cpp GGUF file with the sentencepiece vocabulary inside it (read without --tokenizer)
        Path gguf = dir.resolve("tiny.gguf");
        try (Arena a = Arena.ofShared()) {
            dev.jgpt.llama.LlamaGguf.write(gguf, Llama2cCheckpoint.open(model, a), tok, "tiny", dev.jgpt.io.GgmlType.F32);
        }
        // cpu: libjgpt's decoder; reference: LlamaOpsInference over the reference backend's ops
        for (String[] src : new String[][] {{model.toString(), "f32", "cpu"}, {hf.toString(), "f32", "cpu"},
                {model.toString(), "f32", "reference"}, {hf.toString(), "f32", "reference"}, {gguf.toString(), "f32", "cpu"},
                {gguf.toString(), "f32", "reference"}}) {
            String dtype = src[1];
            StringWriter out = new StringWriter(), err = new StringWriter();
            ModelLoader none = p -> { throw new AssertionError("the run-directory loader must not be used"); };
            CommandLine cli = new CommandLine(new GenerateCommand(none));
            cli.setExecutionExceptionHandler(new UserErrorHandler());
            cli.setOut(new PrintWriter(out, true));
            cli.setErr(new PrintWriter(err, true));
            java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("--model", src[0], "--dtype", dtype,
                    "--prompt", "hi there", "--temperature", "0", "--max-tokens", "20", "--threads", "2", "--device", src[2]));
            if (!src[0].endsWith(".gguf")) args.addAll(java.util.List.of("--tokenizer", tokFile.toString()));
            int code = cli.execute(args.toArray(String[]::new));
            assertThat(code).as(src[2] + ": " + err).isZero();
            // random weights emit stray bytes that are not UTF-8: compare the ASCII characters, in order
            assertThat(ascii(out.toString().stripTrailing())).as(src[0] + " on " + src[2]).isEqualTo(ascii(expected.toString().stripTrailing()))
                    .hasSizeGreaterThan(5);
        }
    }

    /**
     * {@code generate --chat} on a GGUF file whose chat template is TinyLlama's (Zephyr) writes the same prompt, so the
     * same greedy reply, as the llama2.c file of the same weights given {@code --chat-format zephyr}; a llama2.c file
     * without it has no chat format to use, and says so.
     */
    @Test
    void chatFollowsTheTemplateInAGgufFileOrTheFormatAskedFor() {
        assumeThat(NativeLibraries.status().available()).isTrue();
        Llama2cTokenizer tok = asciiTokenizer();
        Path model = dir.resolve("tiny.bin"), gguf = dir.resolve("chat.gguf");
        tok.write(dir.resolve("tokenizer.bin"));
        RandomLlama.writeCheckpoint(model, LlamaConfig.llama2c(64, 128, 2, 4, 2, tok.vocabSize(), 64, false), 5);
        try (Arena a = Arena.ofShared()) {
            dev.jgpt.llama.LlamaGguf.write(gguf, Llama2cCheckpoint.open(model, a), tok, "tiny", dev.jgpt.io.GgmlType.F32,
                    dev.jgpt.chat.ChatTemplates.TINYLLAMA);
        }
        String[] common = {"--chat", "--prompt", "hi there", "--temperature", "0", "--max-tokens", "12", "--threads", "1"};
        String fromGguf = generate(cat(new String[] {"--model", gguf.toString()}, common));
        String fromBin = generate(cat(new String[] {"--model", model.toString(), "--chat-format", "zephyr"}, common));
        assertThat(fromGguf).isEqualTo(fromBin);
        assertThat(ascii(fromGguf).strip()).as("a reply").isNotEmpty();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new GenerateCommand(p -> { throw new AssertionError(); }));
        cli.setExecutionExceptionHandler(new UserErrorHandler());
        cli.setErr(new PrintWriter(err, true));
        assertThat(cli.execute(cat(new String[] {"--model", model.toString()}, common))).isNotZero();
        assertThat(err.toString()).contains("--chat: model " + model + ": no chat template, and the tokenizer lacks the chat special token(s)")
                .contains("--chat-format NAME (chatml, llama2").doesNotContain("\tat ");
    }

    private static String generate(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cli = new CommandLine(new GenerateCommand(p -> { throw new AssertionError("not a jgpt run"); }));
        cli.setExecutionExceptionHandler(new UserErrorHandler());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        assertThat(cli.execute(args)).as(err.toString()).isZero();
        return out.toString();
    }

    private static String[] cat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** The byte-level llama2.c vocabulary of the tiny Llama tests (285 ids). */
    static Llama2cTokenizer asciiTokenizer() {
        return dev.jgpt.testing.TinyRuns.asciiLlamaTokenizer();
    }

    static String ascii(String s) {
        return s.chars().filter(c -> c < 128).collect(StringBuilder::new, StringBuilder::appendCodePoint, StringBuilder::append).toString();
    }

    static int argmax(float[] a) {
        int b = 0;
        for (int i = 1; i < a.length; i++) if (a[i] > a[b]) b = i;
        return b;
    }
}
