package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A third, independent implementation: bench/c/llama_baseline.c (a run.c-style C decoder) compiled
 * with gcc when it is installed must produce the reference decode's greedy tokens from BOS on a
 * random checkpoint with grouped-query attention and a separate classifier. Skipped without gcc.
 */
class CBaselineAgreementTest {
    @TempDir
    Path dir;

    @Test
    void cBaselineGreedyTokensEqualTheReference() throws Exception {
        Path src = Path.of("..", "bench", "c", "llama_baseline.c");
        if (!Files.exists(src)) src = Path.of("bench", "c", "llama_baseline.c");
        assumeThat(Files.exists(src)).as("bench/c/llama_baseline.c").isTrue();
        Path exe = dir.resolve("baseline");
        Process cc;
        try {
            cc = new ProcessBuilder("gcc", "-O2", "-fopenmp", "-o", exe.toString(), src.toString(), "-lm")
                    .redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            assumeThat(false).as("gcc not installed").isTrue();
            return;
        }
        String ccOut = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assumeThat(cc.waitFor(60, TimeUnit.SECONDS) && cc.exitValue() == 0).as("gcc: " + ccOut).isTrue();

        LlamaConfig cfg = LlamaConfig.llama2c(64, 160, 3, 4, 2, 500, 40, false);
        Path model = dir.resolve("m.bin");
        RandomLlama.writeCheckpoint(model, cfg, 21);
        int n = 30;
        ProcessBuilder pb = new ProcessBuilder(exe.toString(), model.toString(), String.valueOf(n + 1), "--print");
        pb.environment().put("OMP_NUM_THREADS", "1");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        int[] c = Arrays.stream(out.lines().findFirst().orElseThrow().trim().split(" ")).mapToInt(Integer::parseInt).toArray();

        int[] ref = new int[n];
        try (Arena a = Arena.ofConfined(); ReferenceLlama r = new ReferenceLlama(Llama2cCheckpoint.open(model, a))) {
            int token = 1;
            for (int i = 0; i < n; i++) {
                token = LlamaInferenceTest.argmax(r.step(token).toFloatArray());
                ref[i] = token;
            }
        }
        assertThat(Arrays.copyOf(c, n)).as("C baseline greedy tokens").containsExactly(ref);
        assertThat(Arrays.stream(ref).distinct().count()).isGreaterThan(3);
    }
}
