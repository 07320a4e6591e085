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
 * The matrix products of one training step of the {@code small} preset (B*T = 4096 rows, C = 256,
 * V = 4096), forward and backward, as {@code Gpt2} issues them. Flops per op: forward
 * 2*N*C*OC, backward twice that.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class TransformerShapesBenchmark {
    static final int N = 4096, C = 256, V = 4096;

    @Param({"cpu"})
    String backend;

    /** qkv: C -> 3C; attproj: C -> C; fc: C -> 4C; fcproj: 4C -> C; logits: C -> V (tied wte). */
    @Param({"qkv", "attproj", "fc", "fcproj", "logits"})
    String shape;

    private BenchTensors t;
    private Tensor inp, w, bias, out, dinp, dw, dbias, dout;
    private int in, oc;

    @Setup(Level.Trial)
    public void setup() {
        in = shape.equals("fcproj") ? 4 * C : C;
        oc = switch (shape) {
            case "qkv" -> 3 * C;
            case "attproj", "fcproj" -> C;
            case "fc" -> 4 * C;
            case "logits" -> V;
            default -> throw new IllegalArgumentException(shape);
        };
        t = new BenchTensors(backend);
        inp = t.randn(1, N, in);
        w = t.randn(0.02f, oc, in);
        bias = t.randn(0.02f, oc);
        out = t.randn(1, N, oc);
        dinp = t.randn(1, N, in);
        dw = t.randn(1, oc, in);
        dbias = t.randn(1, oc);
        dout = t.randn(1, N, oc);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        t.close();
    }

    @Benchmark
    public void forward() {
        t.backend.matmulForward(out, inp, w, shape.equals("logits") ? null : bias, N, in, oc);
        t.backend.synchronize();
    }

    @Benchmark
    public void backward() {
        t.backend.matmulBackward(dinp, dw, shape.equals("logits") ? null : dbias, dout, inp, w, N, in, oc);
        t.backend.synchronize();
    }
}
