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
 * The non-product kernels per backend at the {@code small} preset's layer shapes with a batch of 4
 * (B=4, T=256, C=256, NH=4, V=4096; the reference backend would take minutes at B=16):
 * attention forward/backward, the classifier's softmax + cross-entropy (+ backward), layernorm
 * forward/backward, GELU.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class KernelBenchmark {
    static final int B = 4, T = 256, C = 256, NH = 4, V = 4096, N = B * T;

    @Param({"reference", "cpu"})
    String backend;

    private BenchTensors t;
    private Tensor qkv, att, out, dqkv, datt, dout;
    private Tensor x, w, b, mean, rstd, lnOut, dx, dw, db;
    private Tensor losses, wte, dwte, targets, scratch, hidden, dhidden;
    private Tensor g4, gout, dg4;

    @Setup(Level.Trial)
    public void setup() {
        t = new BenchTensors(backend);
        qkv = t.randn(1, B, T, 3 * C);
        att = t.randn(1, B, NH, T, T);
        out = t.randn(1, B, T, C);
        dqkv = t.randn(1, B, T, 3 * C);
        datt = t.randn(1, B, NH, T, T);
        dout = t.randn(1, B, T, C);
        t.backend.attentionForward(out, att, qkv, B, T, C, NH);
        x = t.randn(1, N, C);
        w = t.randn(1, C);
        b = t.randn(1, C);
        mean = t.randn(1, N);
        rstd = t.randn(1, N);
        lnOut = t.randn(1, N, C);
        dx = t.randn(1, N, C);
        dw = t.randn(1, C);
        db = t.randn(1, C);
        t.backend.layernormForward(lnOut, mean, rstd, x, w, b, N, C);
        losses = t.randn(1, N);
        wte = t.randn(0.02f, V, C);
        dwte = t.randn(1, V, C);
        targets = t.ints(V, N);
        scratch = t.randn(1, N, V);
        hidden = t.randn(1, N, C);
        dhidden = t.randn(1, N, C);
        g4 = t.randn(1, N * 4 * C);
        gout = t.randn(1, N * 4 * C);
        dg4 = t.randn(1, N * 4 * C);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        t.close();
    }

    @Benchmark
    public void attentionForward() {
        t.backend.attentionForward(out, att, qkv, B, T, C, NH);
        t.backend.synchronize();
    }

    @Benchmark
    public void attentionBackward() {
        t.backend.attentionBackward(dqkv, datt, dout, qkv, att, out, B, T, C, NH);
        t.backend.synchronize();
    }

    /** Logits (sgemm) + softmax + cross-entropy, forward only. */
    @Benchmark
    public double classifierForward() {
        return t.backend.classifier(losses, null, null, hidden, wte, targets, scratch, N, C, V, 1f / N, false);
    }

    /** The fused classifier with dlogits and both gradient products. */
    @Benchmark
    public double classifierForwardBackward() {
        return t.backend.classifier(losses, dhidden, dwte, hidden, wte, targets, scratch, N, C, V, 1f / N, true);
    }

    @Benchmark
    public void layernormForward() {
        t.backend.layernormForward(lnOut, mean, rstd, x, w, b, N, C);
        t.backend.synchronize();
    }

    @Benchmark
    public void layernormBackward() {
        t.backend.layernormBackward(dx, dw, db, lnOut, x, w, mean, rstd, N, C);
        t.backend.synchronize();
    }

    @Benchmark
    public void geluForward() {
        t.backend.geluForward(gout, g4, N * 4 * C);
        t.backend.synchronize();
    }

    @Benchmark
    public void geluBackward() {
        t.backend.geluBackward(dg4, g4, gout, N * 4 * C);
        t.backend.synchronize();
    }
}
