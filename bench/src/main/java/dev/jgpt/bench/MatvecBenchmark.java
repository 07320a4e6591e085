package dev.jgpt.bench;

import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.bindings.Jgpt;
import dev.jgpt.llama.DecodeDType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
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
 * The decode matrix-vector product of libjgpt per weight dtype ({@code jgpt_matvec}), on the shapes
 * of stories110M: w1 (2048 x 768) fits in L2/L3, the classifier (32000 x 768) streams from memory.
 * Divide the bytes of the weights by the time for the achieved bandwidth. Threads: OMP_NUM_THREADS.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class MatvecBenchmark {
    @Param({"f32", "bf16", "q8"})
    public String dtype;

    @Param({"2048x768", "32000x768"})
    public String shape;

    private Arena arena;
    private MemorySegment w, scales, x, out;
    private int rows, cols, code;

    @Setup
    public void setup() {
        NativeLibraries.require();
        String[] rc = shape.split("x");
        rows = Integer.parseInt(rc[0]);
        cols = Integer.parseInt(rc[1]);
        DecodeDType dt = DecodeDType.parse(dtype);
        code = dt.code;
        arena = Arena.ofShared();
        long n = (long) rows * cols;
        MemorySegment f32 = arena.allocate(4 * n, 64);
        SplittableRandom r = new SplittableRandom(1);
        for (long i = 0; i < n; i++) f32.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
        x = arena.allocate(4L * cols, 64);
        for (int i = 0; i < cols; i++) x.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) r.nextGaussian());
        out = arena.allocate(4L * rows, 64);
        scales = MemorySegment.NULL;
        switch (dt) {
            case F32 -> w = f32;
            case BF16 -> {
                w = arena.allocate(2 * n, 64);
                Jgpt.jgpt_convert_bf16(w, f32, n);
            }
            case Q8 -> {
                w = arena.allocate(n, 64);
                scales = arena.allocate(4 * (n / 32), 64);
                Jgpt.jgpt_convert_q8(w, scales, f32, n, 32);
            }
        }
    }

    @Benchmark
    public MemorySegment matvec() {
        Jgpt.jgpt_matvec(out, w, scales, x, rows, cols, code, 32);
        return out;
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }
}
