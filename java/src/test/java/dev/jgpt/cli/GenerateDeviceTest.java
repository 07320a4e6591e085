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

/** {@code jgpt generate --device}: the backend of a GPT-2 run; Llama models refuse a device other than cpu. */
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
    void llamaModelsRefuseADeviceOtherThanCpu() throws Exception {
        Path model = dir.resolve("tiny.bin"), tok = dir.resolve("tokenizer.bin");
        RandomLlama.writeCheckpoint(model, LlamaConfig.llama2c(64, 128, 2, 4, 2, 300, 64, false), 11);
        Files.write(tok, new byte[0]); // never read: the device is refused first
        int code = generate("--model", model.toString(), "--device", "cuda", "--prompt", "hi", "--max-tokens", "2");
        assertThat(code).isEqualTo(1);
        assertThat(err.toString()).contains("--device cuda").contains("Llama model").contains("--device cpu");
    }
}
