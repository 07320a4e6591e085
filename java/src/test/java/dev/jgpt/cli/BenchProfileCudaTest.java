package dev.jgpt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.cuda.FakeCuda;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code jgpt bench train-step --backend cuda --profile --json} on the stand-in driver: a jgpt process started
 * with {@code JGPT_LIBCUDA} / {@code CUBLAS_LIB} pointing at the stand-in library (the backend is chosen
 * through {@code CudaProbe} once per process, so this runs the real command line, not a test seam). The
 * profile must be the per-kernel timeline (kernel names and cuBLAS labels), not TimingBackend's per-op one.
 */
class BenchProfileCudaTest {
    @Test
    void trainStepProfileOnCudaIsPerKernel() throws IOException, InterruptedException {
        Path lib = FakeCuda.libraryFile();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                "dev.jgpt.cli.Main", "bench", "train-step", "--backend", "cuda", "--preset", "tiny", "--vocab", "64",
                "--batch", "1", "--seq", "8", "--warmup", "1", "--steps", "2", "--profile", "--json"));
        Path err = java.nio.file.Files.createTempFile("jgpt-bench-profile", ".err");
        err.toFile().deleteOnExit();
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err.toFile());
        pb.environment().put("JGPT_LIBCUDA", lib.toString());
        pb.environment().put("CUBLAS_LIB", lib.toString());
        Path stdout = java.nio.file.Files.createTempFile("jgpt-bench-profile", ".json");
        stdout.toFile().deleteOnExit();
        pb.redirectOutput(stdout.toFile());
        Process p = pb.start();
        boolean finished = p.waitFor(120, TimeUnit.SECONDS);
        if (!finished) p.destroyForcibly();
        assertThat(finished).as("jgpt bench finished within 120 s").isTrue();
        String out = java.nio.file.Files.readString(stdout, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as("exit code; stdout: " + out + "\nstderr: " + java.nio.file.Files.readString(err)).isZero();
        assertThat(out.strip().lines().count()).as("one line of JSON: " + out).isEqualTo(1);
        JsonNode r = JsonMapper.builder().build().readTree(out);
        assertThat(r.get("backend").asString()).isEqualTo("cuda");

        Map<String, JsonNode> rows = new HashMap<>();
        for (JsonNode row : r.get("profile")) rows.put(row.get("op").asString(), row);
        assertThat(rows).containsKeys("encoder_forward", "layernorm_forward", "fused_residual_layernorm_forward",
                "classifier_softmax_xent", "adamw_update", "matmulForward", "attention QK^T", "memset (zero)");
        assertThat(rows).doesNotContainKey("attentionForward"); // TimingBackend's op names are not there
        int layers = dev.jgpt.model.GptConfig.preset("tiny").layers();
        assertThat(rows.get("matmulForward").get("callsPerStep").asLong()).isEqualTo(4L * layers);
        assertThat(rows.get("matmulForward").get("kind").asString()).isEqualTo("cublas");
        assertThat(rows.get("matmulForward").has("tflops")).isTrue();
        assertThat(rows.get("adamw_update").get("kind").asString()).isEqualTo("kernel");
        assertThat(rows.get("adamw_update").has("tflops")).isFalse();
        double shares = 0;
        for (JsonNode row : r.get("profile")) {
            assertThat(row.get("msPerStep").asDouble()).isGreaterThanOrEqualTo(0);
            shares += row.get("share").asDouble();
        }
        assertThat(shares).isCloseTo(1.0, org.assertj.core.data.Offset.offset(0.01));

        JsonNode gpu = r.get("profileGpu");
        assertThat(gpu.get("steps").asInt()).isEqualTo(2);
        assertThat(gpu.get("gpuBusyMsPerStep").asDouble()).isPositive();
        assertThat(gpu.get("gpuBusyMsPerStep").asDouble()).isLessThanOrEqualTo(gpu.get("wallMsPerStep").asDouble() + 1e-3);
        assertThat(gpu.get("busyShare").asDouble()).isBetween(0.0, 1.0 + 1e-6);
    }
}
