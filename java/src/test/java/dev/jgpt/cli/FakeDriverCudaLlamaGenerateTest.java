package dev.jgpt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.cuda.FakeCuda;
import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.llama.Llama2cTokenizer;
import dev.jgpt.llama.LlamaConfig;
import dev.jgpt.llama.RandomLlama;
import dev.jgpt.testing.JgptProcess;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * {@code jgpt generate --device cuda} on a llama2.c checkpoint, in a jgpt process started with {@code JGPT_LIBCUDA}
 * / {@code CUBLAS_LIB} pointing at the stand-in driver (the real kernels emulated on the CPU; the command line as a
 * user runs it, no test seam): the Llama model decodes through the cuda backend's ops, picks its tokens from the
 * device's top-k, and writes the same greedy text as {@code --device cpu} (libjgpt's native decoder); {@code bench
 * decode --device cuda} likewise. Emulation timings are not GPU figures: nothing here is about speed.
 */
class FakeDriverCudaLlamaGenerateTest {
    @TempDir
    Path dir;

    private static JsonNode jgpt(Path lib, String... args) throws IOException, InterruptedException {
        return JgptProcess.json(lib, args);
    }

    /** A tiny random llama2.c checkpoint (GQA, separate classifier) and, beside it, an ASCII tokenizer (tok.bin). */
    private Path tinyModel() {
        Llama2cTokenizer t = GenerateLlamaTest.asciiTokenizer();
        t.write(dir.resolve("tok.bin"));
        Path model = dir.resolve("tiny.bin");
        RandomLlama.writeCheckpoint(model, LlamaConfig.llama2c(32, 64, 2, 4, 2, t.vocabSize(), 48, false), 11);
        return model;
    }

    @Test
    void llamaCheckpointGeneratesOnCudaAsOnTheCpu() throws Exception {
        Path lib = FakeCuda.libraryFile();
        Assumptions.assumeTrue(NativeLibraries.status().available(), "libjgpt for the cpu side");
        Path model = tinyModel(), tok = dir.resolve("tok.bin");
        String[] common = {"generate", "--model", model.toString(), "--tokenizer", tok.toString(), "--prompt", "hi there",
                "--temperature", "0", "--max-tokens", "10", "--json"};
        JsonNode cuda = jgpt(lib, concat(common, "--device", "cuda"));
        JsonNode cpu = jgpt(null, concat(common, "--device", "cpu"));
        assertThat(cuda.get("sampling").asString()).as("greedy on cuda reads one candidate from the device").isEqualTo("device top-1");
        assertThat(cuda.get("text").asString()).as("--device cuda vs --device cpu").isEqualTo(cpu.get("text").asString());
        assertThat(GenerateLlamaTest.ascii(cpu.get("text").asString())).hasSizeGreaterThan(3);
    }

    /**
     * {@code --dtype bf16 --device cuda} (a Llama checkpoint and a GPT-2 run): the ops decoders in the backend's bf16
     * mode (a Llama model's matrices stored as bf16, a GPT-2 run's read from their bf16 copy), named so in the output,
     * with the device's top-1.
     */
    @Test
    void bf16OnCudaDecodesInTheBackendsBf16Mode() throws Exception {
        Path lib = FakeCuda.libraryFile();
        Path model = tinyModel(), tok = dir.resolve("tok.bin");
        JsonNode llama = jgpt(lib, "generate", "--model", model.toString(), "--tokenizer", tok.toString(), "--prompt", "hi there",
                "--temperature", "0", "--max-tokens", "10", "--json", "--device", "cuda", "--dtype", "bf16");
        assertThat(llama.get("model").asString()).as("the Llama decoder says where and in what it decodes").endsWith("(bf16, cuda)");
        assertThat(llama.get("sampling").asString()).isEqualTo("device top-1");
        assertThat(llama.get("generated_tokens").asInt()).isPositive();

        Path run = dev.jgpt.testing.TinyRuns.gpt2(dir.resolve("g"), new dev.jgpt.model.GptConfig(280, 64, 2, 2, 32),
                "hello there, how are you? the quick brown fox", false);
        JsonNode gpt2 = jgpt(lib, "generate", "--model", run.toString(), "--prompt", "hello", "--temperature", "0", "--max-tokens", "8",
                "--json", "--device", "cuda", "--dtype", "bf16");
        assertThat(gpt2.get("model").asString()).endsWith("(bf16)");
        assertThat(gpt2.get("sampling").asString()).isEqualTo("device top-1");
        assertThat(gpt2.get("finish_reason").asString()).isNotEmpty(); // this tiny run's first greedy token is its end of text
    }

    /**
     * {@code --dtype q8 --device cuda} on a Llama checkpoint: int8 matrices on the device (kernels/quant.cu), the same
     * greedy text as the reference backend's q8 (the same quantisation, plain-Java products).
     */
    @Test
    void q8OnCudaWritesTheReferenceBackendsQ8Text() throws Exception {
        Path lib = FakeCuda.libraryFile();
        Path model = tinyModel(), tok = dir.resolve("tok.bin");
        String[] common = {"generate", "--model", model.toString(), "--tokenizer", tok.toString(), "--prompt", "hi there",
                "--temperature", "0", "--max-tokens", "10", "--json", "--dtype", "q8"};
        JsonNode cuda = jgpt(lib, concat(common, "--device", "cuda"));
        JsonNode ref = jgpt(null, concat(common, "--device", "reference"));
        assertThat(cuda.get("model").asString()).endsWith("(q8, cuda)");
        assertThat(cuda.get("sampling").asString()).isEqualTo("device top-1");
        assertThat(cuda.get("text").asString()).as("q8: --device cuda vs --device reference").isEqualTo(ref.get("text").asString());
        assertThat(GenerateLlamaTest.ascii(cuda.get("text").asString())).hasSizeGreaterThan(3);
    }

    /** {@code bench decode --device cuda}: the ops decoder, tokens picked on the device, the native decoder's greedy tokens. */
    @Test
    void benchDecodeOnCudaGivesTheCpuTokens() throws Exception {
        Path lib = FakeCuda.libraryFile();
        Assumptions.assumeTrue(NativeLibraries.status().available(), "libjgpt for the cpu side");
        Path model = dir.resolve("tiny.bin");
        RandomLlama.writeCheckpoint(model, LlamaConfig.llama2c(32, 64, 2, 4, 2, 300, 48, true), 12);
        String[] common = {"bench", "decode", "--model", model.toString(), "--tokens", "8", "--runs", "1", "--prompt-tokens", "6", "--json"};
        JsonNode cuda = jgpt(lib, concat(common, "--device", "cuda"));
        JsonNode cpu = jgpt(null, concat(common, "--device", "cpu"));
        assertThat(cuda.get("backend").asString()).isEqualTo("cuda");
        assertThat(cuda.get("engine").asString()).isEqualTo("ops");
        assertThat(cuda.get("sampling").asString()).isEqualTo("device top-1");
        assertThat(cpu.get("engine").asString()).isEqualTo("native");
        assertThat(cuda.get("firstGreedyTokens").toString()).as("greedy tokens, cuda vs cpu").isEqualTo(cpu.get("firstGreedyTokens").toString());
        assertThat(cuda.get("timeToFirstTokenMs").asDouble()).isPositive();
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
