package dev.jgpt.backend.cuda;

import dev.jgpt.bindings.CudaDriver;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The bf16 copies of matrix-product operands in {@link GemmMath#BF16} mode: a few device buffers
 * ("slots"), each reused by every product and grown to the largest operand it has held. The first
 * training step therefore allocates them and later steps never do. A product's operands sit in different
 * slots; the stream orders a slot's next conversion after the products that read it.
 */
final class Bf16Operands implements AutoCloseable {
    static final int SLOTS = 3;

    private final CudaContext ctx;
    private final long[] ptr = new long[SLOTS];
    private final long[] bytes = new long[SLOTS];
    /** The slots as (zero-length) segments for cuBLAS calls, made once per allocation: products allocate nothing. */
    private final MemorySegment[] segments = new MemorySegment[SLOTS];

    Bf16Operands(CudaContext ctx) {
        this.ctx = ctx;
    }

    /**
     * Rounds {@code n} floats at device address {@code src} to bf16 into {@code slot} (queued on the stream)
     * and returns the slot (its address; never dereferenced on the host).
     */
    MemorySegment convert(int slot, long src, long n) {
        long dst = ensure(slot, n * 2);
        ctx.kernel(Kernel.F32_TO_BF16, Math.min(Math.max(1, (n + 255) / 256), 32L * ctx.multiprocessors()), 256)
                .ptr(dst).ptr(src).i64(n).go();
        return segments[slot];
    }

    /** Device bytes held by all slots. */
    long reservedBytes() {
        long s = 0;
        for (long b : bytes) s += b;
        return s;
    }

    private long ensure(int slot, long need) {
        if (need <= bytes[slot]) return ptr[slot];
        long size = (need + (1 << 20) - 1) >>> 20 << 20; // whole MiB: fewer regrowths for slightly larger operands
        if (ptr[slot] != 0) {
            ctx.synchronize(); // queued products may still read the old buffer
            CudaException.check(CudaDriver.cuMemFree_v2(ptr[slot]), "cuMemFree(bf16 operands)");
            ptr[slot] = 0;
            bytes[slot] = 0;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.JAVA_LONG);
            int rc = CudaDriver.cuMemAlloc_v2(out, size);
            if (rc == CudaDriver.CUDA_ERROR_OUT_OF_MEMORY) {
                throw new CudaException("out of GPU memory allocating " + (size >> 20) + " MiB for bf16 operands"
                        + " (--precision bf16 keeps bf16 copies of the largest product inputs); use a smaller batch", rc);
            }
            CudaException.check(rc, "cuMemAlloc(" + size + ", bf16 operands)");
            ptr[slot] = out.get(ValueLayout.JAVA_LONG, 0);
            bytes[slot] = size;
            segments[slot] = MemorySegment.ofAddress(ptr[slot]);
        }
        return ptr[slot];
    }

    @Override
    public void close() {
        if (ctx.isClosed()) return; // releasing the primary context freed them
        ctx.synchronize();
        for (int s = 0; s < SLOTS; s++) {
            if (ptr[s] != 0) CudaException.check(CudaDriver.cuMemFree_v2(ptr[s]), "cuMemFree(bf16 operands)");
            ptr[s] = 0;
            bytes[s] = 0;
            segments[s] = null;
        }
    }
}
