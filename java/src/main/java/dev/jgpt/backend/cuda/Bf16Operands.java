package dev.jgpt.backend.cuda;

import java.lang.foreign.MemorySegment;

/**
 * The bf16 copies of matrix-product operands in {@link GemmMath#BF16} mode (and the dequantised q8 weights of a
 * prompt's products, bf16 or fp32 as the product multiplies): a few device buffers
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
        ctx.kernel(Kernel.F32_TO_BF16, ctx.gridStride(n, 256), 256)
                .ptr(dst).ptr(src).i64(n).go();
        return segments[slot];
    }

    /**
     * Dequantises a q8 matrix ({@code n} int8 weights at {@code w}, one float scale per {@code group} at {@code scales})
     * into {@code slot}, as bf16 ({@code bf16}) or fp32: a product operand for a prompt's rows
     * ({@link CudaBackend#matmulQ8Forward}). Queued on the stream.
     */
    MemorySegment dequantizeQ8(int slot, long w, long scales, long n, int group, boolean bf16) {
        long dst = ensure(slot, n * (bf16 ? 2 : 4));
        ctx.kernel(bf16 ? Kernel.Q8_TO_BF16 : Kernel.Q8_TO_F32, ctx.gridStride(n, 256), 256)
                .ptr(dst).ptr(w).ptr(scales).i64(n).i32(group).go();
        return segments[slot];
    }

    /** A slot's address now (0: none yet): a CUDA graph that converted into it must not be replayed once it has moved. */
    long address(int slot) {
        return ptr[slot];
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
        ctx.free(ptr[slot], "bf16 operands"); // after the queued products that may still read the old buffer
        ptr[slot] = 0;
        bytes[slot] = 0;
        ptr[slot] = ctx.allocate(size, "bf16 operands",
                "--precision bf16 keeps bf16 copies of the largest product inputs; use a smaller batch");
        bytes[slot] = size;
        segments[slot] = MemorySegment.ofAddress(ptr[slot]);
        return ptr[slot];
    }

    @Override
    public void close() {
        for (int s = 0; s < SLOTS; s++) {
            ctx.free(ptr[s], "bf16 operands");
            ptr[s] = 0;
            bytes[s] = 0;
            segments[s] = null;
        }
    }
}
