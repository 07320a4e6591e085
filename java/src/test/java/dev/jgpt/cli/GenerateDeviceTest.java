package dev.jgpt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.cuda.CudaProbe;
import dev.jgpt.generate.ModelLoader;
import dev.jgpt.llama.LlamaConfig;
import dev.jgpt.llama.RandomLlama;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code jgpt generate --device}: the backend of a GPT-2 run or of a Llama model (cpu: libjgpt; cuda, reference: the ops, f32; bf16 on cuda). */
class GenerateDeviceTest {
    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter(), err = new StringWriter();

    private int generate(String... args) {
        ModelLoader none = p -> { throw new AssertionError("--device must route GPT-2 runs through the device-aware loader"); };
        CommandLine cli = new CommandLine(new GenerateCommand(none));
        cli.setExecutionExceptionHandler(new UserErrorHandler());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    private Path gpt2Run() {
        return dev.jgpt.testing.TinyRuns.gpt2(dir.resolve("g"), new dev.jgpt.model.GptConfig(280, 64, 2, 2, 32),
                "hello there, how are you? the quick brown fox", false);
    }

    @Test
    void gpt2RunGeneratesOnTheNamedBackend() throws Exception {
        Path run = gpt2Run();
        int code = generate("--model", run.toString(), "--device", "reference", "--prompt", "hello", "--temperature", "0",
                "--max-tokens", "8", "--json");
        assertThat(code).as(err.toString()).isZero();
        assertThat(out.toString()).contains("\"text\"");
    }

    @Test
    void unusableCudaIsOneClearError() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(CudaProbe.get().usable(), "a GPU is usable here");
        Path run = gpt2Run();
        int code = generate("--model", run.toString(), "--device", "cuda", "--prompt", "hello", "--max-tokens", "2");
        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).contains("cuda is not usable here").doesNotContain("Exception").doesNotContain("\tat ");
    }

    @Test
    void llamaModelsOnAnUnusableCudaAreOneClearError() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(CudaProbe.get().usable(), "a GPU is usable here");
        Path model = dir.resolve("tiny.bin"), tok = dir.resolve("tokenizer.bin");
        RandomLlama.writeCheckpoint(model, LlamaConfig.llama2c(64, 128, 2, 4, 2, 300, 64, false), 11);
        Files.write(tok, new byte[0]); // never read: the device is refused first
        int code = generate("--model", model.toString(), "--device", "cuda", "--prompt", "hi", "--max-tokens", "2");
        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).contains("cuda is not usable here").doesNotContain("Exception").doesNotContain("\tat ");
    }

    /** bf16 is libjgpt's (cpu) and cuda's; on the reference backend a Llama model decodes in f32 or q8: one message says so. */
    @Test
    void llamaModelsRefuseBf16OnTheReferenceBackend() throws Exception {
        Path model = dir.resolve("tiny.bin"), tok = dir.resolve("tokenizer.bin");
        RandomLlama.writeCheckpoint(model, LlamaConfig.llama2c(64, 128, 2, 4, 2, 300, 64, false), 11);
        Files.write(tok, new byte[0]); // never read: the dtype is refused first
        int code = generate("--model", model.toString(), "--device", "reference", "--dtype", "bf16", "--prompt", "hi", "--max-tokens", "2");
        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).contains("--dtype bf16").contains("Llama model").contains("f32 or q8").contains("--device cpu")
                .doesNotContain("Exception").doesNotContain("\tat ");
    }

    /** q8 on the reference backend: the ops decoder's q8 weights (plain-Java products), named so in the output. */
    @Test
    void llamaModelsDecodeQ8OnTheReferenceBackend() throws Exception {
        dev.jgpt.llama.Llama2cTokenizer t = GenerateLlamaTest.asciiTokenizer();
        Path model = dir.resolve("tiny.bin"), tok = dir.resolve("tok.bin");
        t.write(tok);
        RandomLlama.writeCheckpoint(model, LlamaConfig.llama2c(32, 64, 2, 4, 2, t.vocabSize(), 48, false), 11);
        int code = generate("--model", model.toString(), "--tokenizer", tok.toString(), "--device", "reference", "--dtype", "q8",
                "--prompt", "hi there", "--temperature", "0", "--max-tokens", "6", "--json");
        assertThat(code).as(err.toString()).isZero();
        var json = tools.jackson.databind.json.JsonMapper.builder().build().readTree(out.toString());
        assertThat(json.get("model").asString()).endsWith("(q8, reference)");
        assertThat(json.get("generated_tokens").asInt()).isPositive();
    }

    /** --device reference on a Llama model: the backend's ops (LlamaOpsInference), the same greedy text as --device cpu. */
    @Test
    void llamaModelGeneratesOnTheReferenceBackendAsOnTheCpu() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.jgpt.backend.cpu.NativeLibraries.status().available());
        dev.jgpt.llama.Llama2cTokenizer t = GenerateLlamaTest.asciiTokenizer();
        Path model = dir.resolve("tiny.bin"), tok = dir.resolve("tok.bin");
        t.write(tok);
        RandomLlama.writeCheckpoint(model, LlamaConfig.llama2c(32, 64, 2, 4, 2, t.vocabSize(), 48, false), 11);
        String[] texts = new String[2];
        String[] devices = {"cpu", "reference"};
        for (int i = 0; i < 2; i++) {
            out.getBuffer().setLength(0);
            int code = generate("--model", model.toString(), "--tokenizer", tok.toString(), "--device", devices[i], "--prompt", "hi there",
                    "--temperature", "0", "--max-tokens", "12", "--json");
            assertThat(code).as(err.toString()).isZero();
            texts[i] = tools.jackson.databind.json.JsonMapper.builder().build().readTree(out.toString()).get("text").asString();
        }
        assertThat(texts[1]).as("--device reference vs --device cpu").isEqualTo(texts[0]);
        assertThat(GenerateLlamaTest.ascii(texts[0])).hasSizeGreaterThan(3);
    }
}
