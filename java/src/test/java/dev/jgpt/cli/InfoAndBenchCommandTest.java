package dev.jgpt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** {@code jgpt info --json} and {@code jgpt bench ... --json} print exactly one JSON object on stdout. */
class InfoAndBenchCommandTest {

    private static String stdout(String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            assertThat(Main.run(args)).as("exit code of jgpt " + String.join(" ", args)).isZero();
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    /** peakRssBytes >= rssBytes > 0 on Linux (null elsewhere), and offHeapBytes is the sum of the offHeap breakdown. */
    static void assertMemoryFields(JsonNode r) {
        if (java.nio.file.Files.isReadable(java.nio.file.Path.of("/proc/self/status"))) {
            assertThat(r.get("rssBytes").asLong()).isPositive();
            assertThat(r.get("peakRssBytes").asLong()).isGreaterThanOrEqualTo(r.get("rssBytes").asLong());
        } else {
            assertThat(r.get("peakRssBytes").isNull()).isTrue();
        }
        assertThat(r.get("heapUsedBytes").asLong()).isPositive();
        long sum = 0;
        for (JsonNode v : r.get("offHeap")) sum += v.asLong();
        assertThat(r.get("offHeapBytes").asLong()).isEqualTo(sum);
    }

    /** What {@code body} printed on stderr (it runs with System.err captured). */
    private static String stderrOf(Runnable body) {
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            body.run();
        } finally {
            System.setErr(old);
        }
        return err.toString(StandardCharsets.UTF_8);
    }

    private static JsonNode json(String out) {
        assertThat(out.strip().lines().count()).as("one line of JSON: " + out).isEqualTo(1);
        return JsonMapper.builder().build().readTree(out);
    }

    @Test
    void infoJsonListsBackendsAndCpu() {
        JsonNode info = json(stdout("info", "--json"));
        assertThat(info.get("backends")).hasSize(3);
        assertThat(info.get("java").get("version").asString()).startsWith(String.valueOf(Runtime.version().feature()));
        assertThat(info.get("cpu").get("logicalCores").asInt()).isPositive();
        assertMemoryFields(info.get("memory"));
        if (info.get("native").get("available").asBoolean()) {
            assertThat(info.get("native").get("openblas").get("config").asString()).contains("OpenBLAS");
        } else {
            assertThat(info.get("native").get("reason").asString()).isNotBlank();
        }
    }

    @Test
    void infoTextMentionsEveryBackend() {
        assertThat(stdout("info")).contains("cuda").contains("cpu").contains("reference");
    }

    @Test
    void benchGemmJson() {
        JsonNode r = json(stdout("bench", "gemm", "--size", "48", "--backend", "auto", "--seconds", "0.05",
                "--baseline-size", "16", "--json"));
        assertThat(r.get("size").asInt()).isEqualTo(48);
        assertThat(r.get("gflopsMedian").asDouble()).isPositive();
        assertMemoryFields(r);
        assertThat(r.get("offHeap").get("matrices").asLong()).isEqualTo(16L * 48 * 48);
    }

    @Test
    void benchAttentionJsonAgainstTheReference() {
        JsonNode r = json(stdout("bench", "attention", "--batch", "1", "--seq", "16,33", "--channels", "24", "--heads", "3",
                "--reps", "2", "--warmup", "1", "--backend", "cpu", "--json"));
        assertThat(r.get("baseline").asString()).isEqualTo("reference");
        assertThat(r.get("rows")).hasSize(4);
        for (JsonNode row : r.get("rows")) {
            assertThat(row.get("forwardMs").asDouble()).isPositive();
            assertThat(row.get("causalTflops").asDouble()).isPositive();
            assertThat(row.get("stateBytes").asLong()).as("att and datt, (B, NH, T, T) each").isEqualTo(2L * 4 * 3 * row.get("seq").asLong() * row.get("seq").asLong());
            assertThat(row.get("maxRelDiffOut").asDouble()).as(row.toString()).isLessThan(1e-5);
            assertThat(row.get("maxRelDiffGradients").asDouble()).as(row.toString()).isLessThan(1e-5);
        }
        assertThat(r.get("rows").get(1).get("path").asString()).isEqualTo("cpu");
        assertThat(r.get("rows").get(0).get("speedup").asDouble()).isEqualTo(1.0);
    }

    @Test
    void benchAttentionGroupedQueryOnTheCpu() {
        JsonNode r = json(stdout("bench", "attention", "--batch", "1", "--seq", "17", "--channels", "24", "--heads", "4",
                "--kv-heads", "2", "--reps", "1", "--warmup", "0", "--backend", "cpu", "--json"));
        assertThat(r.get("kvHeads").asInt()).isEqualTo(2);
        assertThat(r.get("rows")).hasSize(2);
        JsonNode cpu = r.get("rows").get(1);
        assertThat(cpu.get("path").asString()).isEqualTo("cpu");
        assertThat(cpu.get("maxRelDiffOut").asDouble()).isLessThan(1e-5);
        assertThat(cpu.get("maxRelDiffGradients").asDouble()).isLessThan(1e-5);
    }

    @Test
    void benchAttentionRejectsBadShapesAndCudaOnlyOptions() {
        String err = stderrOf(() -> {
            assertThat(Main.run("bench", "attention", "--channels", "10", "--heads", "3")).isEqualTo(1);
            assertThat(Main.run("bench", "attention", "--seq", "0")).isEqualTo(1);
            assertThat(Main.run("bench", "attention", "--backend", "cpu", "--paths", "fused", "--seq", "8", "--channels", "8",
                    "--heads", "2")).isEqualTo(1);
            assertThat(Main.run("bench", "attention", "--heads", "4", "--kv-heads", "3")).isEqualTo(1);
        });
        assertThat(err).contains("the heads must divide the channels")
                .contains("--seq: every length must be >= 1").contains("--paths: cuda only").contains("--kv-heads: must divide")
                .doesNotContain("\tat ");
    }

    @Test
    void benchTrainStepJsonOnATinyModel() {
        JsonNode r = json(stdout("bench", "train-step", "--preset", "tiny", "--vocab", "64", "--batch", "2", "--seq", "8",
                "--steps", "1", "--warmup", "0", "--backend", "auto", "--profile", "--json"));
        assertThat(r.get("tokensPerSecond").asDouble()).isPositive();
        assertThat(r.get("profile").size()).isGreaterThan(5);
        assertMemoryFields(r);
        long params = 4 * r.get("parameters").asLong();
        JsonNode off = r.get("offHeap");
        assertThat(off.get("params").asLong()).isEqualTo(params);
        assertThat(off.get("grads").asLong()).isEqualTo(params);
        assertThat(off.get("optimizer").asLong()).as("AdamW m and v after one step").isEqualTo(2 * params);
        assertThat(off.get("activations").asLong()).isPositive();
    }

    @Test
    void benchTrainStepOfALlamaShape() {
        JsonNode r = json(stdout("bench", "train-step", "--arch", "llama", "--kv-heads", "2", "--preset", "tiny", "--vocab", "64",
                "--batch", "2", "--seq", "8", "--steps", "1", "--warmup", "0", "--backend", "auto", "--profile", "--json"));
        assertThat(r.get("arch").asString()).isEqualTo("llama");
        assertThat(r.get("kvHeads").asInt()).isEqualTo(2);
        assertThat(r.get("tokensPerSecond").asDouble()).isPositive();
        java.util.List<String> profiled = new java.util.ArrayList<>();
        r.get("profile").forEach(row -> profiled.add(row.get("op").asString()));
        assertThat(profiled).contains("rmsnormForward", "ropeBackward", "swigluForward", "gqaAttentionBackwardOverwrite");
        assertMemoryFields(r);
        assertThat(r.get("offHeap").get("optimizer").asLong()).isEqualTo(2 * 4 * r.get("parameters").asLong());
    }

    @Test
    void benchDecodeGpt2JsonOnATinyModel() {
        JsonNode r = json(stdout("bench", "decode-gpt2", "--preset", "tiny", "--backend", "auto", "--prompt-tokens", "3",
                "--tokens", "4", "--runs", "1", "--json"));
        assertThat(r.get("command").asString()).isEqualTo("bench decode-gpt2");
        assertThat(r.get("tokensPerSecond").asDouble()).isPositive();
        assertThat(r.get("timeToFirstTokenMs").asDouble()).isPositive();
        assertMemoryFields(r);
        assertThat(r.get("offHeap").get("params").asLong()).isEqualTo(4 * r.get("parameters").asLong());
        assertThat(r.get("offHeap").get("kvCache").asLong()).isPositive();
    }

    @Test
    void benchDecodeOfALlamaCheckpointReportsItsMemory(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        org.assertj.core.api.Assumptions.assumeThat(dev.jgpt.backend.cpu.NativeLibraries.status().available()).isTrue();
        dev.jgpt.llama.LlamaConfig c = dev.jgpt.llama.LlamaConfig.llama2c(64, 192, 2, 4, 2, 300, 48, true);
        java.nio.file.Path file = dir.resolve("m.bin");
        dev.jgpt.llama.RandomLlama.writeCheckpoint(file, c, 1);
        JsonNode r = json(stdout("bench", "decode", "--model", file.toString(), "--dtype", "q8", "--tokens", "8", "--runs", "1",
                "--prompt-tokens", "4", "--threads", "1", "--json"));
        assertMemoryFields(r);
        JsonNode off = r.get("offHeap");
        assertThat(off.get("weightsMapped").asLong()).isEqualTo(4 * c.parameterCount());
        assertThat(off.get("weightsConverted").asLong()).isBetween(c.parameterCount() / 2, 2 * c.parameterCount());
        assertThat(off.get("kvCache").asLong()).as("K and V of halves (q8 weights)").isEqualTo(2L * 2 * c.layers() * c.seqLen() * c.kvDim());
    }

    @Test
    void benchDecodeGpt2NativeEngineAgreesWithTheOpsPathAndTakesADtype() {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.jgpt.backend.cpu.NativeLibraries.status().available(), "libjgpt not loaded");
        String[] common = {"bench", "decode-gpt2", "--preset", "tiny", "--backend", "cpu", "--threads", "2", "--prompt-tokens", "5",
                "--tokens", "12", "--runs", "1", "--json"};
        JsonNode nat = json(stdout(concat(common, "--dtype", "f32"))), ops = json(stdout(concat(common, "--engine", "ops")));
        assertThat(nat.get("engine").asString()).isEqualTo("native");
        assertThat(ops.get("engine").asString()).isEqualTo("ops");
        assertThat(ops.get("sampling").asString()).isEqualTo("host argmax"); // cpu logits are host memory: no device path
        assertThat(nat.get("firstGreedyTokens").toString()).isEqualTo(ops.get("firstGreedyTokens").toString());
        JsonNode q8 = json(stdout(concat(common, "--dtype", "q8")));
        assertThat(q8.get("dtype").asString()).isEqualTo("q8");
        assertThat(q8.get("tokensPerSecond").asDouble()).isPositive();
    }

    /** {@code --batch}: B sequences stepped together; the first decodes the same greedy tokens as alone; tokens/s counts all B. */
    @Test
    void benchDecodeGpt2BatchedStepsKeepTheFirstSequencesTokens() {
        String[] common = {"bench", "decode-gpt2", "--preset", "tiny", "--backend", "reference", "--prompt-tokens", "4",
                "--tokens", "10", "--runs", "1", "--json"};
        JsonNode one = json(stdout(common)), three = json(stdout(concat(common, "--batch", "3")));
        assertThat(one.get("batch").asInt()).isEqualTo(1);
        assertThat(three.get("batch").asInt()).isEqualTo(3);
        assertThat(three.get("firstGreedyTokens").toString()).isEqualTo(one.get("firstGreedyTokens").toString());
        assertThat(three.get("offHeap").get("kvCache").asLong()).as("the first sequence's cache, as alone")
                .isEqualTo(one.get("offHeap").get("kvCache").asLong());
        String err = stderrOf(() -> {
            assertThat(Main.run("bench", "decode-gpt2", "--preset", "tiny", "--backend", "cpu", "--engine", "native", "--batch", "2",
                    "--tokens", "2"))
                    .isEqualTo(1);
            assertThat(Main.run("bench", "decode-gpt2", "--preset", "tiny", "--backend", "reference", "--batch", "0", "--tokens", "2"))
                    .isEqualTo(1);
        });
        assertThat(err).contains("--batch 2 times the ops engine's batched step")
                .contains("--batch: must be in [1, ").doesNotContain("\tat ");
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void precisionOtherThanFp32NeedsCuda() {
        String err = stderrOf(() -> {
            assertThat(Main.run("bench", "train-step", "--preset", "tiny", "--backend", "cpu", "--precision", "bf16")).isEqualTo(1);
        });
        assertThat(err).contains("--precision bf16 needs the cuda backend");
    }

    @Test
    void unknownBackendIsOneClearError() {
        String err = stderrOf(() -> {
            assertThat(Main.run("bench", "gemm", "--size", "8", "--backend", "tpu")).isEqualTo(1);
        });
        assertThat(err).contains("jgpt: --backend/--device: unknown device 'tpu'");
    }
}
