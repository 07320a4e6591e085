package dev.jgpt.llama;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Measures the batched Llama step against one-sequence decoding on the same weights, in process:
 * {@code java --enable-native-access=ALL-UNNAMED -cp java/target/jgpt.jar dev.jgpt.llama.BatchDecodeBench
 * MODEL.bin DTYPE THREADS B...}. For each B: B sequences start from one token each and advance
 * together for {@code steps} steps (B * steps tokens); the baseline decodes the same number of tokens
 * one sequence at a time ({@link LlamaInference#step}, B sequences one after another). Prints one
 * line per B: tokens/s of both (wall clock and per CPU-second of this thread) and the ratio.
 */
public final class BatchDecodeBench {
    private BatchDecodeBench() {}

    public static void main(String[] args) {
        Path file = Path.of(args[0]);
        DecodeDType dtype = DecodeDType.parse(args[1]);
        int threads = Integer.parseInt(args[2]);
        int steps = Integer.getInteger("steps", 128);
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (LlamaInference lm = LlamaModels.openLlama2c(file, dtype, 32, threads)) {
            for (int a = 3; a < args.length; a++) {
                int B = Integer.parseInt(args[a]);
                try (LlamaBatchDecoder batch = new LlamaBatchDecoder(lm, B)) {
                    batch.bindThread();
                    int[] slots = new int[B], toks = new int[B];
                    for (int i = 0; i < B; i++) slots[i] = i;
                    double bestBatch = 0, bestBatchCpu = 0, bestOne = 0, bestOneCpu = 0;
                    for (int round = 0; round < 3; round++) {
                        for (int i = 0; i < B; i++) {
                            batch.reset(i);
                            toks[i] = 1 + i;
                        }
                        long t0 = System.nanoTime(), c0 = mx.getCurrentThreadCpuTime();
                        for (int s = 0; s < steps; s++) {
                            var logits = batch.step(slots, toks, B);
                            for (int i = 0; i < B; i++) toks[i] = 3 + (int) ((Float.floatToRawIntBits(logits.getFloat((long) i * lm.vocabSize())) & 0x7fffffff) % 1000);
                        }
                        double wall = (System.nanoTime() - t0) / 1e9, cpu = (mx.getCurrentThreadCpuTime() - c0) / 1e9;
                        bestBatch = Math.max(bestBatch, (double) B * steps / wall);
                        bestBatchCpu = Math.max(bestBatchCpu, (double) B * steps / cpu);

                        t0 = System.nanoTime();
                        c0 = mx.getCurrentThreadCpuTime();
                        for (int i = 0; i < B; i++) {
                            lm.reset();
                            int tok = 1 + i;
                            for (int s = 0; s < steps; s++) {
                                var logits = lm.step(tok);
                                tok = 3 + (int) ((Float.floatToRawIntBits(logits.getFloat(0)) & 0x7fffffff) % 1000);
                            }
                        }
                        wall = (System.nanoTime() - t0) / 1e9;
                        cpu = (mx.getCurrentThreadCpuTime() - c0) / 1e9;
                        bestOne = Math.max(bestOne, (double) B * steps / wall);
                        bestOneCpu = Math.max(bestOneCpu, (double) B * steps / cpu);
                    }
                    System.out.printf(Locale.ROOT, "%s threads=%d B=%d: batched %.0f tok/s (%.0f per CPU-s), one at a time %.0f tok/s (%.0f per CPU-s), ratio %.2fx%n",
                            dtype, threads, B, bestBatch, bestBatchCpu, bestOne, bestOneCpu, bestBatch / bestOne);
                }
            }
        }
    }
}
