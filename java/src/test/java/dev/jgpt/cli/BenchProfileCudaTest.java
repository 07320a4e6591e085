package dev.jgpt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.cuda.FakeCuda;
import dev.jgpt.testing.JgptProcess;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import tools.jackson.databind.JsonNode;

/**
 * {@code jgpt bench train-step|decode-gpt2 --backend cuda --profile --json} on the stand-in driver: a jgpt process
 * started with {@code JGPT_LIBCUDA} / {@code CUBLAS_LIB} pointing at the stand-in library (the backend is chosen
 * through {@code CudaProbe} once per process, so this runs the real command line, not a test seam). The
 * profile must be the per-kernel timeline (kernel names and cuBLAS labels), not TimingBackend's per-op one.
 */
class BenchProfileCudaTest {

    /** Runs jgpt with {@code args} on the stand-in driver; returns its one line of JSON. */
    private static JsonNode jgptOnStandIn(String... args) throws IOException, InterruptedException {
        return JgptProcess.json(FakeCuda.libraryFile(), args);
    }

    private static Map<String, JsonNode> rows(JsonNode r) {
        Map<String, JsonNode> rows = new HashMap<>();
        double shares = 0;
        for (JsonNode row : r.get("profile")) {
            rows.put(row.get("op").asString(), row);
            assertThat(row.get("msPerStep").asDouble()).isGreaterThanOrEqualTo(0);
            shares += row.get("share").asDouble();
        }
        assertThat(shares).as("shares of the GPU time").isCloseTo(1.0, org.assertj.core.data.Offset.offset(0.01));
        JsonNode gpu = r.get("profileGpu");
        assertThat(gpu.get("gpuBusyMsPerStep").asDouble()).isPositive();
        assertThat(gpu.get("gpuBusyMsPerStep").asDouble()).isLessThanOrEqualTo(gpu.get("wallMsPerStep").asDouble() + 1e-3);
        assertThat(gpu.get("busyShare").asDouble()).isBetween(0.0, 1.0 + 1e-6);
        return rows;
    }

    @Test
    void trainStepProfileOnCudaIsPerKernel() throws IOException, InterruptedException {
        JsonNode r = jgptOnStandIn("bench", "train-step", "--backend", "cuda", "--preset", "tiny", "--vocab", "64",
                "--batch", "2", "--seq", "8", "--warmup", "1", "--steps", "2", "--profile", "--json");
        assertThat(r.get("backend").asString()).isEqualTo("cuda"); // 16 rows: more than the row kernels take, as in training
        Map<String, JsonNode> rows = rows(r);
        assertThat(r.get("lt").asString()).as("cuBLASLt epilogues, on by default").isEqualTo("on");
        // the device's memory in use (cuMemGetInfo; on the stand-in what its cuMemAlloc handed out and kept): at least the
        // model's own device memory
        long model = r.get("offHeap").get("params").asLong() + r.get("offHeap").get("grads").asLong()
                + r.get("offHeap").get("optimizer").asLong() + r.get("offHeap").get("activations").asLong();
        assertThat(r.get("deviceMemoryUsedBytes").asLong()).as("GPU memory in use").isGreaterThanOrEqualTo(model);
        String fwd = "matmulForward (lt bias)";
        assertThat(rows).containsKeys("encoder_forward", "layernorm_forward", "fused_residual_layernorm_forward",
                "classifier_softmax_xent", "adamw_update", fwd, "matmulGeluForward (lt gelu+bias)", "attention QK^T", "memset (zero)");
        assertThat(rows).doesNotContainKey("attentionForward"); // TimingBackend's op names are not there
        int layers = dev.jgpt.model.GptConfig.preset("tiny").layers();
        assertThat(rows.get(fwd).get("callsPerStep").asLong()).isEqualTo(3L * layers);
        assertThat(rows.get(fwd).get("kind").asString()).isEqualTo("cublas");
        assertThat(rows.get(fwd).has("tflops")).isTrue();
        assertThat(rows).as("bias, GELU and bias-gradient work inside the cuBLASLt products")
                .doesNotContainKeys("add_bias", "gelu_forward", "gelu_backward", "matmul_backward_bias");
        assertThat(rows.get("adamw_update").get("kind").asString()).isEqualTo("kernel");
        assertThat(rows.get("adamw_update").has("tflops")).isFalse();
        assertThat(r.get("profileGpu").get("steps").asInt()).isEqualTo(2);
    }

    @Test
    void decodeProfileOnCudaIsPerToken() throws IOException, InterruptedException {
        int tokens = 3, runs = 2;
        JsonNode r = jgptOnStandIn("bench", "decode-gpt2", "--backend", "cuda", "--preset", "tiny", "--prompt-tokens", "2",
                "--tokens", String.valueOf(tokens), "--runs", String.valueOf(runs), "--profile", "--json");
        Map<String, JsonNode> rows = rows(r);
        int layers = dev.jgpt.model.GptConfig.preset("tiny").layers();
        assertThat(r.get("profileGpu").get("steps").asInt()).as("one step per decoded token of the timed runs").isEqualTo(tokens * runs);
        assertThat(rows.get("gqa_attention_decode_rows").get("callsPerStep").asLong()).as("one attention per layer and token").isEqualTo(layers);
        assertThat(rows).as("the token was checked on the host: no device id check (and its synchronisation) per token")
                .doesNotContainKey("count_bad_ids");
        // a token's products are one row each: the row kernels (JGPT_CUDA_ROW_PRODUCTS), bias included, no cuBLAS
        assertThat(rows.get("matmul_row_forward").get("callsPerStep").asLong()).as("qkv, proj, fc, fcproj per layer and the logits")
                .isEqualTo(4L * layers + 1);
        assertThat(rows.get("matmul_row_forward").get("kind").asString()).isEqualTo("kernel");
        assertThat(rows).containsKeys("layernorm_forward").doesNotContainKeys("add_bias", "matmulForward", "matmulForward (lt bias)");
    }

    /** {@code --graphs on --profile}: each token is one graph launch (one row), and the same greedy tokens as {@code --graphs off}. */
    @Test
    void decodeWithGraphsIsOneGraphLaunchPerToken() throws IOException, InterruptedException {
        int tokens = 4, runs = 1;
        String[] common = {"bench", "decode-gpt2", "--backend", "cuda", "--preset", "tiny", "--prompt-tokens", "2", "--tokens",
                String.valueOf(tokens), "--runs", String.valueOf(runs), "--json", "--graphs"};
        String[] on = java.util.Arrays.copyOf(common, common.length + 2);
        on[common.length] = "on";
        on[common.length + 1] = "--profile";
        JsonNode graphed = jgptOnStandIn(on);
        String[] off = java.util.Arrays.copyOf(common, common.length + 1);
        off[common.length] = "off";
        JsonNode eager = jgptOnStandIn(off);
        assertThat(graphed.get("graphs").asString()).isEqualTo("on");
        assertThat(eager.get("graphs").asString()).isEqualTo("off");
        assertThat(graphed.get("firstGreedyTokens").toString()).isEqualTo(eager.get("firstGreedyTokens").toString());
        Map<String, JsonNode> rows = rows(graphed);
        assertThat(rows.get("graph: Gpt2Inference step").get("callsPerStep").asDouble()).isEqualTo(1.0);
        assertThat(rows.get("graph: Gpt2Inference step").get("kind").asString()).isEqualTo("graph");
        assertThat(rows).doesNotContainKeys("matmulForward", "layernorm_forward", "gqa_attention_decode_rows");
    }

    /** {@code --batch 3} on cuda: one device top-1 over the 3 rows per step, the first sequence's tokens as alone, and as the host path's. */
    @Test
    void batchedDecodeOnCudaPicksEveryRowOnTheDevice() throws IOException, InterruptedException {
        String[] common = {"bench", "decode-gpt2", "--backend", "cuda", "--preset", "tiny", "--prompt-tokens", "3", "--tokens", "6",
                "--runs", "1", "--json"};
        JsonNode one = jgptOnStandIn(common);
        String[] batched = java.util.Arrays.copyOf(common, common.length + 2);
        batched[common.length] = "--batch";
        batched[common.length + 1] = "3";
        JsonNode dev = jgptOnStandIn(batched);
        String[] host = java.util.Arrays.copyOf(batched, batched.length + 2);
        host[batched.length] = "--sampling";
        host[batched.length + 1] = "host";
        JsonNode onHost = jgptOnStandIn(host);
        assertThat(dev.get("sampling").asString()).isEqualTo("device top-1");
        assertThat(onHost.get("sampling").asString()).isEqualTo("host argmax");
        assertThat(dev.get("batch").asInt()).isEqualTo(3);
        assertThat(dev.get("firstGreedyTokens").toString()).isEqualTo(one.get("firstGreedyTokens").toString())
                .isEqualTo(onHost.get("firstGreedyTokens").toString());
    }

    @Test
    void decodeProfileElsewhereIsOneClearError() {
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new BenchDecodeGpt2Command());
        cli.setExecutionExceptionHandler(new UserErrorHandler());
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute("--backend", "reference", "--preset", "tiny", "--tokens", "1", "--profile");
        assertThat(code).isNotZero();
        assertThat(err.toString()).contains("--profile times kernels on the cuda backend only").doesNotContain("\tat ");
    }

    /**
     * One GPT-2 training step per path, launches counted from the stand-in's profile: with cuBLASLt no add_bias, gelu or
     * matmul_backward_bias kernel; {@code JGPT_CUDA_LT=0} brings them back (the figures in docs/PERFORMANCE.md).
     */
    @Test
    void ltRemovesTheBiasAndGeluLaunches() throws IOException, InterruptedException {
        String[] args = {"bench", "train-step", "--backend", "cuda", "--preset", "tiny", "--vocab", "64", "--batch", "2", "--seq", "8",
                "--warmup", "1", "--steps", "1", "--profile", "--json"};
        Map<String, JsonNode> on = rows(JgptProcess.json(FakeCuda.libraryFile(), args));
        JgptProcess.Output offOut = JgptProcess.run(FakeCuda.libraryFile(), Map.of("JGPT_CUDA_LT", "0"), args);
        JsonNode off = tools.jackson.databind.json.JsonMapper.builder().build().readTree(offOut.stdout());
        assertThat(off.get("lt").asString()).isEqualTo("off");
        Map<String, JsonNode> offRows = rows(off);
        int L = dev.jgpt.model.GptConfig.preset("tiny").layers();
        assertThat(offRows.get("add_bias").get("callsPerStep").asLong()).isEqualTo(4L * L);
        assertThat(offRows.get("gelu_forward").get("callsPerStep").asLong()).isEqualTo(L);
        assertThat(offRows.get("gelu_backward").get("callsPerStep").asLong()).isEqualTo(L);
        assertThat(offRows.get("matmul_backward_bias").get("callsPerStep").asLong()).isEqualTo(4L * L);
        assertThat(on).doesNotContainKeys("add_bias", "gelu_forward", "gelu_backward", "matmul_backward_bias");
        assertThat(on.get("residual_forward").get("callsPerStep").asLong()).as("dbias += the BGRADB scratch").isEqualTo(4L * L);
        long launchesOn = 0, launchesOff = 0;
        for (JsonNode r : on.values()) launchesOn += r.get("callsPerStep").asLong();
        for (JsonNode r : offRows.values()) launchesOff += r.get("callsPerStep").asLong();
        // 4L add_bias + L gelu_forward + L gelu_backward + L memsets (the default's zeroing of dpre; dgelu is written by
        // matmulBackwardOverwrite) + 4L add_partial_sums (matmul_backward_bias's second launch, adding its row splits) gone
        assertThat(offRows.get("add_partial_sums").get("callsPerStep").asLong() - on.get("add_partial_sums").get("callsPerStep").asLong())
                .as("the bias gradients' row splits added").isEqualTo(4L * L);
        assertThat(launchesOff - launchesOn).as("launches, copies and products per step: off " + launchesOff + ", on " + launchesOn)
                .isEqualTo(11L * L);
        System.out.println("GPT-2 tiny training step on the stand-in: " + launchesOff + " calls with JGPT_CUDA_LT=0, " + launchesOn + " with Lt");
    }

    /** {@code bench attention} on cuda in bf16 mode: the cuBLAS path, the two tensor-core families and the CUDA-core fused kernels. */
    @Test
    void attentionBenchComparesTheFourCudaPaths() throws IOException, InterruptedException {
        JsonNode r = jgptOnStandIn("bench", "attention", "--backend", "cuda", "--precision", "bf16", "--batch", "1",
                "--seq", "40,72", "--channels", "64", "--heads", "2", "--reps", "1", "--warmup", "0", "--json");
        assertThat(r.get("baseline").asString()).isEqualTo("cublas");
        assertThat(r.get("precision").asString()).isEqualTo("bf16");
        java.util.List<String> paths = new java.util.ArrayList<>();
        for (JsonNode row : r.get("rows")) {
            paths.add(row.get("seq").asInt() + " " + row.get("path").asString());
            assertThat(row.get("forwardMs").asDouble()).isPositive();
            assertThat(row.get("backwardMs").asDouble()).isPositive();
            assertThat(row.get("stateBytes").asLong()).isPositive();
            // bf16: the cuBLAS path rounds its probabilities to bf16, the fused ones keep fp32 statistics
            assertThat(row.get("maxRelDiffOut").asDouble()).as(row.toString()).isLessThan(2e-2);
            assertThat(row.get("maxRelDiffGradients").asDouble()).as(row.toString()).isLessThan(2e-2);
        }
        assertThat(paths).containsExactly("40 cublas", "40 fused-tc", "40 fused-wmma", "40 fused-cudacore", "72 cublas",
                "72 fused-tc", "72 fused-wmma", "72 fused-cudacore");
        JsonNode cublas72 = r.get("rows").get(4), tc72 = r.get("rows").get(5);
        assertThat(cublas72.get("stateBytes").asLong()).as("the probabilities and their gradient, (B, NH, T, T) twice in bf16")
                .isEqualTo(2L * 2 * 72 * 72 * 2);
        assertThat(tc72.get("stateBytes").asLong()).as("fused: log-sum-exps and D, per row")
                .isLessThan(cublas72.get("stateBytes").asLong());
    }

    /** {@code bench attention --kv-heads}: Llama's grouped-query attention, rows vs the fused kernels, bf16 gradients. */
    @Test
    void attentionBenchTimesGroupedQueryAttention() throws IOException, InterruptedException {
        JsonNode r = jgptOnStandIn("bench", "attention", "--backend", "cuda", "--precision", "bf16", "--batch", "1",
                "--seq", "40", "--channels", "64", "--heads", "4", "--kv-heads", "2", "--reps", "1", "--warmup", "0", "--json");
        assertThat(r.get("baseline").asString()).isEqualTo("rows");
        assertThat(r.get("kvHeads").asInt()).isEqualTo(2);
        java.util.List<String> paths = new java.util.ArrayList<>();
        for (JsonNode row : r.get("rows")) {
            paths.add(row.get("path").asString());
            assertThat(row.get("maxRelDiffOut").asDouble()).as(row.toString()).isLessThan(2e-2);
            assertThat(row.get("maxRelDiffGradients").asDouble()).as(row.toString()).isLessThan(2e-2);
            // the GPU's own time from events beside the wall clock
            assertThat(row.get("forwardGpuMs").asDouble()).as(row.toString()).isPositive();
            assertThat(row.get("backwardGpuMs").asDouble()).as(row.toString()).isPositive();
        }
        assertThat(paths).containsExactly("rows", "fused-tc", "fused-wmma", "fused-cudacore");
    }

    /** A cuBLAS without cuBLASLt: one line on stderr, the old path, the same command works. */
    @Test
    void noCublasLtKeepsTheOldPathWithOneMessage() throws IOException, InterruptedException {
        JgptProcess.Output out = JgptProcess.run(FakeCuda.libraryFile(), Map.of("CUBLASLT_LIB", "/nonexistent/libcublasLt.so.13"),
                "bench", "train-step", "--backend", "cuda", "--preset", "tiny", "--vocab", "64", "--batch", "2", "--seq", "8",
                "--warmup", "1", "--steps", "1", "--profile", "--json");
        JsonNode r = tools.jackson.databind.json.JsonMapper.builder().build().readTree(out.stdout());
        assertThat(r.get("lt").asString()).isEqualTo("off");
        assertThat(rows(r)).containsKeys("add_bias", "gelu_forward", "matmul_backward_bias");
        assertThat(out.stderr().lines().filter(l -> l.contains("cuBLASLt unavailable")).count()).as(out.stderr()).isEqualTo(1);
    }
}
