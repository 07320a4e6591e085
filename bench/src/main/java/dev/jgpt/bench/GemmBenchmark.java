package dev.jgpt.bench;

import dev.jgpt.memory.Tensor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Square sgemm (out = A @ B^T, 2N^3 flops) through {@code Backend.matmulForward}: the Java
 * reference loop against OpenBLAS ({@code cpu}). GFLOP/s = 2N^3 / (ms/op * 1e6).
 * <pre>java -jar bench/target/jgpt-benchmarks.jar GemmBenchmark -p backend=cpu</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class GemmBenchmark {
    @Param({"reference", "cpu"})
    String backend;

    @Param({"256", "512", "1024"})
    int size;

    private BenchTensors t;
    private Tensor a, b, out;

    @Setup(Level.Trial)
    public void setup() {
        t = new BenchTensors(backend);
        a = t.randn(1, size, size);
        b = t.randn(1, size, size);
        out = t.randn(1, size, size);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        t.close();
    }

    @Benchmark
    public void sgemm() {
        t.backend.matmulForward(out, a, b, null, size, size, size);
        t.backend.synchronize();
    }
}
