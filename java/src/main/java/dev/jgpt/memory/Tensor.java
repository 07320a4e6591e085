package dev.jgpt.memory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;

/**
 * A typed, shaped view over memory that some {@link TensorArena} owns. Row-major, contiguous.
 *
 * <p>The segment is host memory for the {@code reference} and {@code cpu} backends. A device
 * backend (CUDA) represents device memory as a zero-length-checked segment made from the device
 * address ({@code MemorySegment.ofAddress(ptr).reinterpret(bytes)}): it carries the address to
 * native calls and is never dereferenced on the host. {@link #isHost()} tells which.
 *
 * <p>A tensor never owns memory: views ({@link #view}, {@link #slice}) share their parent's
 * segment, so named parameter views over one flat buffer cost nothing.
 */
public final class Tensor {
    private final MemorySegment data;
    private final DType dtype;
    private final long[] shape;
    private final long numel;
    private final boolean host;

    public Tensor(MemorySegment data, DType dtype, boolean host, long... shape) {
        this.data = Objects.requireNonNull(data, "data");
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        this.shape = shape.clone();
        this.host = host;
        long n = 1;
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n = Math.multiplyExact(n, d);
        }
        this.numel = n;
        if (data.byteSize() < n * dtype.bytes()) {
            throw new IllegalArgumentException("segment of " + data.byteSize() + " bytes is too small for "
                    + dtype + Arrays.toString(shape) + " (" + n * dtype.bytes() + " bytes)");
        }
    }

    /** A host tensor over an existing segment (for tests and memory-mapped files). */
    public static Tensor ofHost(MemorySegment data, DType dtype, long... shape) {
        return new Tensor(data, dtype, true, shape);
    }

    public MemorySegment data() { return data; }
    public DType dtype() { return dtype; }
    public long[] shape() { return shape.clone(); }
    public int rank() { return shape.length; }
    public long dim(int i) { return shape[i < 0 ? shape.length + i : i]; }
    public long numel() { return numel; }
    public long byteSize() { return numel * dtype.bytes(); }
    public boolean isHost() { return host; }

    /** The same memory with another shape of equal element count. */
    public Tensor reshape(long... newShape) {
        Tensor t = new Tensor(data, dtype, host, newShape);
        if (t.numel != numel) {
            throw new IllegalArgumentException("cannot reshape " + this + " to " + Arrays.toString(newShape));
        }
        return t;
    }

    /** A view of {@code prod(shape)} elements starting at element {@code offset}. */
    public Tensor view(long offset, long... newShape) {
        long n = 1;
        for (long d : newShape) n = Math.multiplyExact(n, d);
        if (offset < 0 || offset + n > numel) {
            throw new IndexOutOfBoundsException("view [" + offset + ", " + (offset + n) + ") outside " + this);
        }
        long b = dtype.bytes();
        return new Tensor(data.asSlice(offset * b, n * b), dtype, host, newShape);
    }

    /**
     * The first {@code n} elements: this tensor itself where it holds exactly {@code n} (no allocation, as on a training
     * step's hot path at the model's own batch size), else a view of them.
     */
    public Tensor first(long n) {
        return n == numel ? this : view(0, n);
    }

    /** Index {@code i} along the first dimension: shape (d0, d1, ...) -> (d1, ...). */
    public Tensor slice(long i) {
        if (shape.length == 0) throw new IllegalStateException("cannot slice a scalar");
        long inner = numel / shape[0];
        return view(i * inner, Arrays.copyOfRange(shape, 1, shape.length));
    }

    /** The whole tensor as one flat dimension. */
    public Tensor flat() {
        return reshape(numel);
    }

    // --- host element access (reference backend, tests, small edges); never on device tensors ---

    public float getFloat(long i) {
        checkHost();
        return switch (dtype) {
            case F32 -> data.getAtIndex(ValueLayout.JAVA_FLOAT, i);
            case BF16 -> DType.fromBf16(data.getAtIndex(ValueLayout.JAVA_SHORT, i));
            case I32 -> data.getAtIndex(ValueLayout.JAVA_INT, i);
            case I8 -> data.get(ValueLayout.JAVA_BYTE, i);
        };
    }

    public void setFloat(long i, float v) {
        checkHost();
        switch (dtype) {
            case F32 -> data.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
            case BF16 -> data.setAtIndex(ValueLayout.JAVA_SHORT, i, DType.toBf16(v));
            case I32 -> data.setAtIndex(ValueLayout.JAVA_INT, i, (int) v);
            case I8 -> data.set(ValueLayout.JAVA_BYTE, i, (byte) v);
        }
    }

    public int getInt(long i) {
        checkHost();
        if (dtype != DType.I32) throw new IllegalStateException("getInt on " + dtype + " tensor");
        return data.getAtIndex(ValueLayout.JAVA_INT, i);
    }

    public void setInt(long i, int v) {
        checkHost();
        if (dtype != DType.I32) throw new IllegalStateException("setInt on " + dtype + " tensor");
        data.setAtIndex(ValueLayout.JAVA_INT, i, v);
    }

    /** Copies the elements out as floats: for tests and small diagnostics only, never weights on a hot path. */
    public float[] toFloatArray() {
        if (numel > Integer.MAX_VALUE) throw new IllegalStateException("too large for an array: " + this);
        float[] out = new float[(int) numel];
        for (int i = 0; i < out.length; i++) out[i] = getFloat(i);
        return out;
    }

    public void copyFrom(float[] src) {
        if (src.length != numel) throw new IllegalArgumentException(src.length + " values for " + this);
        for (int i = 0; i < src.length; i++) setFloat(i, src[i]);
    }

    public void fill(float v) {
        checkHost();
        if (dtype == DType.F32) {
            if (v == 0f) data.asSlice(0, byteSize()).fill((byte) 0);
            else for (long i = 0; i < numel; i++) data.setAtIndex(ValueLayout.JAVA_FLOAT, i, v);
        } else {
            for (long i = 0; i < numel; i++) setFloat(i, v);
        }
    }

    /** Throws a clear error unless this tensor has exactly the given shape. */
    public Tensor requireShape(String name, long... expected) {
        if (!Arrays.equals(shape, expected)) {
            throw new IllegalArgumentException(name + ": expected shape " + Arrays.toString(expected)
                    + " but got " + Arrays.toString(shape));
        }
        return this;
    }

    /** Throws a clear error unless this tensor has at least {@code n} elements of the given type. */
    public Tensor requireAtLeast(String name, DType type, long n) {
        if (dtype != type) throw new IllegalArgumentException(name + ": expected " + type + " but got " + dtype);
        if (numel < n) {
            throw new IllegalArgumentException(name + ": needs " + n + " elements but " + this + " has " + numel);
        }
        return this;
    }

    private void checkHost() {
        if (!host) throw new IllegalStateException("host access to a device tensor " + this);
    }

    @Override
    public String toString() {
        return (host ? "" : "device ") + dtype + Arrays.toString(shape);
    }
}
