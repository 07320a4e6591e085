package dev.jgpt.backend.cuda;

import dev.jgpt.bindings.CudaDriver;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Device memory for one owner (a model's parameters, its activations), all freed on {@link #close()}: each
 * large tensor (a quarter of the chunk size or more) gets a {@code cuMemAlloc} of exactly its size, and small
 * ones are handed out by bumping a pointer through chunks of the chunk size. A model that allocates its tensors
 * once (as jgpt's do) therefore makes a few driver allocations when it is built and none per step, and reserves
 * no more than it uses plus the unused tail of its small chunks. (Growing one bump chunk by doubling, as this did
 * before, left every chunk's tail unused when the next large tensor did not fit: GPT-2 124M's four parameter-sized
 * buffers took chunks of 0.5, 1 and 2 GB, 3.5 GB reserved for 2 GB used.)
 *
 * <p>Tensors are {@code MemorySegment.ofAddress(devicePtr).reinterpret(bytes)} with
 * {@link Tensor#isHost()} false: they carry the address to driver and cuBLAS calls and are never read
 * on the host.
 */
public final class DeviceArena implements TensorArena {
    /** 256 bytes: what cudaMalloc guarantees, and enough for vectorised (float4, 128-bit) loads. */
    public static final long ALIGNMENT = 256;
    /** Default chunk for small tensors: large enough that a small model's parameters or activations take one. */
    public static final long DEFAULT_CHUNK = 64L << 20;

    /**
     * The chunk a backend's arenas use: {@code JGPT_CUDA_ARENA_CHUNK} (or {@code -Djgpt.cuda.arenaChunk}) in bytes,
     * else {@link #DEFAULT_CHUNK}. 0 gives every tensor its own {@code cuMemAlloc} (of its size rounded to the
     * alignment): a debugging aid, so that a memory checker (compute-sanitizer on a GPU, AddressSanitizer on the
     * stand-in driver: bench/stand-in-asan.sh) sees an access past a tensor's end instead of a neighbour's bytes.
     */
    public static long configuredChunk() {
        String v = System.getProperty("jgpt.cuda.arenaChunk", System.getenv("JGPT_CUDA_ARENA_CHUNK"));
        if (v == null || v.isBlank()) return DEFAULT_CHUNK;
        try {
            long bytes = Long.parseLong(v.trim());
            if (bytes >= 0) return bytes;
        } catch (NumberFormatException e) {
            // below
        }
        throw new dev.jgpt.JgptException("JGPT_CUDA_ARENA_CHUNK: '" + v + "' is not a size in bytes (0: a cuMemAlloc per tensor)");
    }

    private final CudaContext ctx;
    private final long chunkBytes;
    private final java.util.function.Supplier<String> advice; // what to try when the GPU runs out of memory
    private final List<long[]> chunks = new ArrayList<>(); // {base, size}: every driver allocation
    private long base, used, size;                         // the current chunk of small tensors
    private long allocated;
    private boolean closed;

    public DeviceArena(CudaContext ctx) {
        this(ctx, DEFAULT_CHUNK);
    }

    /** An arena whose small tensors share chunks of {@code chunkBytes} (rounded to the alignment). */
    public DeviceArena(CudaContext ctx, long chunkBytes) {
        this(ctx, chunkBytes, () -> "use a smaller batch or model");
    }

    /** The same, with {@code advice} (asked only when an allocation fails) in the out-of-memory error. */
    public DeviceArena(CudaContext ctx, long chunkBytes, java.util.function.Supplier<String> advice) {
        this.ctx = ctx;
        this.chunkBytes = Math.max(ALIGNMENT, roundUp(chunkBytes));
        this.advice = advice;
    }

    @Override
    public Tensor allocate(DType dtype, long... shape) {
        if (closed) throw new IllegalStateException("device arena is closed");
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        long bytes = Math.max(ALIGNMENT, roundUp(n * dtype.bytes()));
        long ptr;
        if (bytes >= chunkBytes / 4) {
            ptr = driverAllocation(bytes, "a tensor of " + (bytes >> 20) + " MiB");
        } else {
            if (used + bytes > size) {
                base = driverAllocation(chunkBytes, "a chunk of small tensors");
                size = chunkBytes;
                used = 0;
            }
            ptr = base + used;
            used += bytes;
        }
        allocated += bytes;
        return new Tensor(MemorySegment.ofAddress(ptr).reinterpret(bytes), dtype, false, shape);
    }

    private long driverAllocation(long bytes, String what) {
        long p = ctx.allocate(bytes, what + " (" + (allocated >> 20) + " MiB already in this arena)", advice);
        chunks.add(new long[] {p, bytes});
        // TensorArena promises zeroed memory; zero it once, in stream order
        CudaException.check(CudaDriver.cuMemsetD32Async(p, 0, bytes / 4, ctx.stream()), "cuMemsetD32Async");
        return p;
    }

    private static long roundUp(long bytes) {
        return (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    @Override
    public long allocatedBytes() {
        return allocated;
    }

    /** Bytes reserved from the driver: what was allocated plus the unused tails of the chunks of small tensors. */
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
