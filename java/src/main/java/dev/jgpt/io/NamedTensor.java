package dev.jgpt.io;

import dev.jgpt.memory.DType;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One tensor of a model file: its name in that file's convention, element type, shape (row-major,
 * outermost first) and host bytes (exactly {@code numel * dtype.bytes()}, little-endian).
 */
public record NamedTensor(String name, DType dtype, long[] shape, MemorySegment data) {
    public NamedTensor {
        shape = shape.clone();
        long n = numel(shape);
        if (data.byteSize() != n * dtype.bytes()) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes for " + dtype
                    + Arrays.toString(shape));
        }
    }

    public long numel() {
        return numel(shape);
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape);
    }
}
