package dev.jgpt.llama;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Random-weight Llama models, deterministic for a seed: what tests and {@code jgpt bench decode
 * --random} use, since no pretrained checkpoint can be downloaded here. Matrices are uniform with
 * variance 1/in (activations keep unit scale through the layers, so logits are spread and greedy
 * decoding has clear winners), RMSNorm weights are 1 +- 0.1.
 */
public final class RandomLlama {
    private RandomLlama() {}

    public static LlamaWeights create(LlamaConfig c, long seed, Arena arena) {
        long[] sizes = LlamaWeights.sizes(c);
        long total = 0;
        for (long s : sizes) total += s;
        long cls = c.sharedClassifier() ? 0 : (long) c.vocabSize() * c.dim();
        MemorySegment block = arena.allocate((total + cls) * 4, 64);
        long d = c.dim(), h = c.hiddenDim();
        // fan-in of each tensor in file order; 0 marks RMSNorm weights, -1 the embedding
        long[] fanIn = {-1, 0, d, d, d, d, 0, d, h, d, 0};
        SplittableRandom r = new SplittableRandom(seed);
        long off = 0;
        for (int i = 0; i < sizes.length; i++) {
            fill(block.asSlice(off * 4, sizes[i] * 4), fanIn[i], r.split());
            off += sizes[i];
        }
        if (cls > 0) fill(block.asSlice(off * 4, cls * 4), d, r.split());
        return LlamaWeights.view(c, block, 0);
    }

    private static void fill(MemorySegment s, long fanIn, SplittableRandom r) {
        long n = s.byteSize() / 4;
        double a = fanIn > 0 ? Math.sqrt(3.0 / fanIn) : Math.sqrt(3.0);
        for (long i = 0; i < n; i++) {
            double u = r.nextDouble(-1, 1);
            float v = (float) (fanIn == 0 ? 1 + 0.1 * u : a * u);
            s.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
        }
    }

    /** Writes a random checkpoint of shape {@code c} to {@code file} (llama2.c's format). */
    public static void writeCheckpoint(Path file, LlamaConfig c, long seed) {
        try (Arena arena = Arena.ofConfined()) {
            Llama2cCheckpoint.write(file, create(c, seed, arena));
        }
    }

    /** A cached random checkpoint under the temp directory, written on first use. */
    public static Path cachedCheckpoint(String preset, long seed) {
        LlamaConfig c = LlamaConfig.preset(preset);
        Path f = Path.of(System.getProperty("java.io.tmpdir"), "jgpt-random-" + preset + "-seed" + seed + ".bin");
        if (!Files.isRegularFile(f) || fileSize(f) != Llama2cCheckpoint.fileBytes(c)) writeCheckpoint(f, c, seed);
        return f;
    }

    private static long fileSize(Path f) {
        try {
            return Files.size(f);
        } catch (java.io.IOException e) {
            return -1;
        }
    }
}
