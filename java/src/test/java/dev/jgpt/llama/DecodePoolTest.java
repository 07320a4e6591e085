package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.jgpt.backend.cpu.NativeLibraries;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The per-instance decode worker pool ({@code jgpt_pool_create}): two models decoding on two Java
 * threads at the same time give the tokens each gives alone, and {@code close()} stops the workers
 * (the process has no more threads named {@code jgpt-decode} than before).
 */
class DecodePoolTest {
    @BeforeAll
    static void needsNative() {
        assumeThat(NativeLibraries.status().available()).as(NativeLibraries.status().reason()).isTrue();
    }

    /** Threads of this process whose name is the pool's worker name. */
    static long decodeWorkers() throws IOException {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            return tasks.filter(t -> {
                try {
                    return Files.readString(t.resolve("comm")).strip().equals("jgpt-decode");
                } catch (IOException e) {
                    return false;   // the thread ended while we listed
                }
            }).count();
        }
    }

    @Test
    void twoInstancesDecodeConcurrentlyOnTwoThreads() throws Exception {
        int[] prompt = {1, 17, 250, 3, 99};
        int n = 40;
        try (Arena a = Arena.ofShared()) {
            LlamaWeights w1 = RandomLlama.create(LlamaInferenceTest.shape(2, false), 11, a);
            LlamaWeights w2 = RandomLlama.create(LlamaInferenceTest.shape(4, true), 12, a);
            int[] alone1, alone2;
            try (ReferenceLlama r = new ReferenceLlama(w1)) { alone1 = LlamaInferenceTest.greedy(r, prompt, n, null); }
            try (ReferenceLlama r = new ReferenceLlama(w2)) { alone2 = LlamaInferenceTest.greedy(r, prompt, n, null); }
            ExecutorService ex = Executors.newFixedThreadPool(2);
            try (LlamaInference f1 = new LlamaInference(w1, DecodeDType.F32, 32, 2, null);
                 LlamaInference f2 = new LlamaInference(w2, DecodeDType.F32, 32, 2, null)) {
                for (int round = 0; round < 5; round++) {
                    Callable<int[]> c1 = () -> LlamaInferenceTest.greedy(f1, prompt, n, null);
                    Callable<int[]> c2 = () -> LlamaInferenceTest.greedy(f2, prompt, n, null);
                    Future<int[]> g1 = ex.submit(c1), g2 = ex.submit(c2);
                    assertThat(g1.get()).as("model 1, round %d", round).containsExactly(alone1);
                    assertThat(g2.get()).as("model 2, round %d", round).containsExactly(alone2);
                }
            } finally {
                ex.shutdownNow();
            }
        }
    }

    @Test
    void closeStopsTheWorkers() throws Exception {
        assumeThat(Files.isDirectory(Path.of("/proc/self/task"))).as("Linux /proc").isTrue();
        try (Arena a = Arena.ofShared()) {
            LlamaWeights w = RandomLlama.create(LlamaInferenceTest.shape(2, false), 3, a);
            long before = decodeWorkers();
            LlamaInference f3 = new LlamaInference(w, DecodeDType.Q8, 32, 3, null);
            LlamaInference f1 = new LlamaInference(w, DecodeDType.F32, 32, 1, null);
            assertThat(decodeWorkers()).as("3 threads: 2 workers (the caller is the third); 1 thread: none").isEqualTo(before + 2);
            f3.prefill(new int[] {1, 2, 3});
            for (int i = 0; i < 10; i++) f3.step(i);
            f3.close();
            f3.close();   // twice is harmless
            f1.close();
            assertThat(decodeWorkers()).as("workers after close").isEqualTo(before);
        }
    }
}
