package dev.jgpt.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Runs the jgpt command line in a child JVM (this test run's Java and class path), as a user runs it: for
 * what a process decides once (the CUDA probe, which libcuda it loads) and so cannot be switched inside the
 * test JVM. {@code JGPT_DEVICE} is not inherited; with a stand-in driver library ({@code FakeCuda.libraryFile()})
 * the child's {@code JGPT_LIBCUDA} and {@code CUBLAS_LIB} point at it.
 */
public final class JgptProcess {
    private JgptProcess() {}

    /** Runs {@code jgpt args} (with {@code standInCuda} as its driver, or none when null); must exit 0 within 120 s. Returns stdout. */
    public static String run(Path standInCuda, String... args) throws IOException, InterruptedException {
        return run(standInCuda, java.util.Map.of(), args).stdout();
    }

    /** What a child printed. */
    public record Output(String stdout, String stderr) {}

    /** {@link #run(Path, String...)} with {@code env} added to the child's environment; returns stdout and stderr. */
    public static Output run(Path standInCuda, java.util.Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-cp", System.getProperty("java.class.path"), "dev.jgpt.cli.Main"));
        cmd.addAll(List.of(args));
        Path stdout = Files.createTempFile("jgpt-child", ".out"), err = Files.createTempFile("jgpt-child", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(stdout.toFile()).redirectError(err.toFile());
            pb.environment().remove("JGPT_DEVICE");
            if (standInCuda != null) {
                pb.environment().put("JGPT_LIBCUDA", standInCuda.toString());
                pb.environment().put("CUBLAS_LIB", standInCuda.toString());
            }
            pb.environment().putAll(env);
            Process p = pb.start();
            boolean finished = p.waitFor(120, TimeUnit.SECONDS);
            if (!finished) p.destroyForcibly();
            assertThat(finished).as("jgpt finished within 120 s").isTrue();
            String out = Files.readString(stdout, StandardCharsets.UTF_8);
            String errText = Files.readString(err, StandardCharsets.UTF_8);
            assertThat(p.exitValue()).as("exit code; stdout: " + out + "\nstderr: " + errText).isZero();
            return new Output(out, errText);
        } finally {
            Files.deleteIfExists(stdout);
            Files.deleteIfExists(err);
        }
    }

    /** {@link #run} for a {@code --json} command: its stdout is exactly one line, one JSON object. */
    public static JsonNode json(Path standInCuda, String... args) throws IOException, InterruptedException {
        String out = run(standInCuda, args);
        assertThat(out.strip().lines().count()).as("one line of JSON: " + out).isEqualTo(1);
        return JsonMapper.builder().build().readTree(out);
    }
}
