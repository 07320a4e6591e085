package dev.jgpt.backend.cuda;

import dev.jgpt.bindings.CudaDriver;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Device memory for one owner (a model's parameters, its activations): a few large {@code cuMemAlloc}
 * chunks, handed out by bumping a pointer, all freed on {@link #close()}. A model that allocates its
 * tensors once (as jgpt's do) therefore costs one or two driver allocations, never one per step.
 *
 * <p>Tensors are {@code MemorySegment.ofAddress(devicePtr).reinterpret(bytes)} with
 * {@link Tensor#isHost()} false: they carry the address to driver and cuBLAS calls and are never read
 * on the host.
 */
public final class DeviceArena implements TensorArena {
    /** 256 bytes: what cudaMalloc guarantees, and enough for vectorised (float4, 128-bit) loads. */
    public static final long ALIGNMENT = 256;
    /** Default first chunk: large enough that a small model's parameters or activations take one. */
    public static final long DEFAULT_CHUNK = 64L << 20;

    private final CudaContext ctx;
    private final long minChunk;
    private final List<long[]> chunks = new ArrayList<>(); // {base, size}
    private long base, used, size;
    private long allocated;
    private boolean closed;

    public DeviceArena(CudaContext ctx) {
        this(ctx, DEFAULT_CHUNK);
    }

    /** An arena whose driver allocations are at least {@code minChunk} bytes (rounded to the alignment). */
    public DeviceArena(CudaContext ctx, long minChunk) {
        this.ctx = ctx;
        this.minChunk = Math.max(ALIGNMENT, roundUp(minChunk));
    }

    @Override
    public Tensor allocate(DType dtype, long... shape) {
        if (closed) throw new IllegalStateException("device arena is closed");
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        long bytes = Math.max(ALIGNMENT, roundUp(n * dtype.bytes()));
        if (used + bytes > size) newChunk(Math.max(bytes, Math.max(minChunk, size * 2)));
        long ptr = base + used;
        used += bytes;
        allocated += bytes;
        return new Tensor(MemorySegment.ofAddress(ptr).reinterpret(bytes), dtype, false, shape);
    }

    private void newChunk(long bytes) {
        base = ctx.allocate(bytes, "an arena chunk (" + (allocated >> 20) + " MiB already in this arena)", "use a smaller batch or model");
        size = bytes;
        used = 0;
        chunks.add(new long[] {base, bytes});
        // TensorArena promises zeroed memory; zero the chunk once, in stream order
        CudaException.check(CudaDriver.cuMemsetD32Async(base, 0, bytes / 4, ctx.stream()), "cuMemsetD32Async");
    }

    private static long roundUp(long bytes) {
        return (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    @Override
    public long allocatedBytes() {
        return allocated;
    }

    /** Bytes reserved from the driver (allocated plus the unused tail of the last chunk). */
    public long reservedBytes() {
        return chunks.stream().mapToLong(c -> c[1]).sum();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        // closed after its backend: releasing the primary context already freed the memory
        if (ctx.isClosed()) return;
        ctx.synchronize(); // no kernel may still use the memory
        for (long[] c : chunks) {
            CudaException.check(CudaDriver.cuMemFree_v2(c[0]), "cuMemFree");
            ctx.released(c[0], c[1]); // a bf16 copy of parameters that lived here must not outlive them
        }
        chunks.clear();
    }
}
