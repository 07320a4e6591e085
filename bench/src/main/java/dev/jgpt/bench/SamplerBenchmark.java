package dev.jgpt.bench;

import dev.jgpt.generate.GenerationConfig;
import dev.jgpt.generate.Sampler;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Cost of picking one token from GPT-2-sized logits (V = 50257), per sampling mode: the part of a
 * decode step that is not the model.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class SamplerBenchmark {
    @Param({"greedy", "full", "topk40", "topp0.95", "topk40_topp0.95"})
    public String mode;

    @Param({"50257"})
    public int vocab;

    private TensorArena arena;
    private Tensor logits;
    private Sampler sampler;
    /** The k largest logits (largest first), as a device top-k hands them over; k = 0 where the mode needs them all. */
    private int k;
    private int[] candIds;
    private float[] candLogits;

    @Setup
    public void setup() {
        arena = TensorArena.host();
        logits = arena.allocate(DType.F32, vocab);
        Random r = new Random(1);
        for (int i = 0; i < vocab; i++) logits.setFloat(i, (float) (3 * r.nextGaussian()));
        GenerationConfig c = GenerationConfig.DEFAULTS.withSeed(1L).withTemperature(0.8);
        c = switch (mode) {
            case "greedy" -> c.withTemperature(0);
            case "full" -> c.withTopK(0).withTopP(1.0);
            case "topk40" -> c.withTopK(40).withTopP(1.0);
            case "topp0.95" -> c.withTopK(0).withTopP(0.95);
            default -> c.withTopK(40).withTopP(0.95);
        };
        sampler = new Sampler(vocab);
        sampler.reset(c);
        k = sampler.candidatesNeeded(64);
        float[] all = logits.toFloatArray();
        candIds = java.util.stream.IntStream.range(0, vocab).boxed()
                .sorted((a, b) -> Float.compare(all[b], all[a])).limit(Math.max(k, 1)).mapToInt(Integer::intValue).toArray();
        candLogits = new float[candIds.length];
        for (int j = 0; j < candIds.length; j++) candLogits[j] = all[candIds[j]];
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public int sample() {
        return sampler.sample(logits);
    }

    /**
     * The host's part when the logits stay on a device (generation and the server's batched steps on cuda):
     * sampling from the k candidates the device picked. Modes that need the full logits (top-p alone, no cut)
     * fall back to {@link #sample} here, as they do there.
     */
    @Benchmark
    public int sampleFromCandidates() {
        return k == 0 ? sampler.sample(logits) : sampler.sampleCandidates(candIds, candLogits, k);
    }
}
