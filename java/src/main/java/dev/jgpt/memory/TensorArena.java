package dev.jgpt.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The owner of a group of tensors: everything allocated here is freed together on {@link #close()}.
 * A model owns one for parameters (+ gradients and AdamW moments) and one for activations;
 * nothing on a hot path allocates.
 *
 * <p>The host implementation hands out 64-byte aligned, zeroed memory from a shared
 * {@link Arena} (usable from any thread: OpenBLAS and OpenMP workers read it).
 */
public interface TensorArena extends AutoCloseable {

    /** Zeroed, 64-byte aligned memory for {@code prod(shape)} elements. */
    Tensor allocate(DType dtype, long... shape);

    /** Bytes allocated so far (for the memory report beside speed figures). */
    long allocatedBytes();

    @Override
    void close();

    /** A host arena over {@link Arena#ofShared()}. */
    static TensorArena host() {
        return new HostArena();
    }

    final class HostArena implements TensorArena {
        public static final long ALIGNMENT = 64;
        private final Arena arena = Arena.ofShared();
        private long allocated;

        @Override
        public Tensor allocate(DType dtype, long... shape) {
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            long bytes = Math.max(ALIGNMENT, n * dtype.bytes());
            MemorySegment seg = arena.allocate(bytes, ALIGNMENT); // Arena.allocate zero-fills
            allocated += bytes;
            return new Tensor(seg, dtype, true, shape);
        }

        @Override
        public long allocatedBytes() {
            return allocated;
        }

        /** The underlying arena, for native helpers that need scratch memory with the same lifetime. */
        public Arena arena() {
            return arena;
        }

        @Override
        public void close() {
            arena.close();
        }
    }
}
