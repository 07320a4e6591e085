package dev.jgpt.bench;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.Backends;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.util.Random;

/** Backend + arena + random tensors for the benchmarks (filled on the host, copied to the backend). */
final class BenchTensors implements AutoCloseable {
    final Backend backend;
    private final TensorArena arena;
    private final TensorArena host = TensorArena.host();
    private final Random random = new Random(1);

    BenchTensors(String backendName) {
        backend = Backends.select(backendName).backend();
        arena = backend.newArena();
    }

    Tensor randn(float scale, long... shape) {
        Tensor h = host.allocate(DType.F32, shape);
        for (long i = 0; i < h.numel(); i++) h.setFloat(i, (float) (random.nextGaussian() * scale));
        Tensor t = arena.allocate(DType.F32, shape);
        backend.copy(t, h);
        return t;
    }

    Tensor ints(int bound, long... shape) {
        Tensor h = host.allocate(DType.I32, shape);
        for (long i = 0; i < h.numel(); i++) h.setInt(i, random.nextInt(bound));
        Tensor t = arena.allocate(DType.I32, shape);
        backend.copy(t, h);
        return t;
    }

    @Override
    public void close() {
        arena.close();
        host.close();
        backend.close();
    }
}
