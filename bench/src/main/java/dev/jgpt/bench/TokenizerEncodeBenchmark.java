package dev.jgpt.bench;

import dev.jgpt.tokenizer.BpeTokenizer;
import dev.jgpt.tokenizer.BpeTrainer;
import dev.jgpt.tokenizer.SplitPattern;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Encode time of one ~100 KB document (the start of Moby-Dick when ../shared/corpora is there,
 * else generated English-like text) with a vocab-8192 tokenizer trained on it in setup; throughput
 * in MB/s = 0.1 / (ms per op) * 1000. The comparison with Hugging Face is bench/tokenizer.sh.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class TokenizerEncodeBenchmark {

    @Param({"gpt2", "gpt4"})
    public String pattern;

    private BpeTokenizer tokenizer;
    private String text;

    @Setup
    public void setup() throws IOException {
        Path moby = Path.of("../shared/corpora/moby-dick.txt");
        if (Files.exists(moby)) {
            byte[] b = Files.readAllBytes(moby);
            text = new String(b, 0, Math.min(b.length, 100_000), StandardCharsets.UTF_8);
        } else {
            StringBuilder sb = new StringBuilder();
            java.util.SplittableRandom r = new java.util.SplittableRandom(1);
            String[] words = {"the", "whale", "ship", "sea", "Ahab", "and", "of", "a", "to", "in", "his", "it's", "1851", ",", "."};
            while (sb.length() < 100_000) sb.append(words[r.nextInt(words.length)]).append(r.nextInt(12) == 0 ? "\n" : " ");
            text = sb.toString();
        }
        tokenizer = new BpeTrainer(8192).pattern(SplitPattern.byName(pattern)).trainOnTexts(java.util.List.of(text));
    }

    @Benchmark
    public int[] encode() {
        return tokenizer.encode(text);
    }
}
