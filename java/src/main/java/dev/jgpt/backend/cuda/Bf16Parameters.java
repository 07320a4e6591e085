package dev.jgpt.backend.cuda;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * The bf16 copy of a model's flat parameter buffer that {@link GemmMath#BF16} products read as their weight
 * operand, as llm.c keeps one: {@code params × 2} bytes beside the fp32 masters, kept current by the fused
 * AdamW ({@code adamw_update_bf16} writes the new fp32 value and its bf16 rounding in the same pass), so no
 * weight is converted before a product.
 *
 * <p>The buffer is learned from {@link dev.jgpt.backend.Backend#parametersAre} (one range of device
 * addresses). The copy must never be stale, so it is <b>valid</b> only while every write into that range
 * since its last refresh was the fused AdamW; the backend reports every other write it makes there
 * ({@link #written}: a copy or zero into the buffer, any op whose output lies in it, the plain AdamW of
 * fp32/tf32 mode), a change of precision, a different buffer, or the memory being freed ({@link #released},
 * from {@link DeviceArena#close}). An invalid copy is refreshed by one {@code f32_to_bf16} over the whole
 * buffer before the next product that reads it. The copy is allocated at that first product (a training
 * run's first step), so bf16 mode without a registered buffer, and other modes, cost nothing.
 */
final class Bf16Parameters implements AutoCloseable {
    private final CudaContext ctx;
    /** The registered fp32 buffer: device addresses [base, base + bytes); bytes 0 when none. */
    private long base, bytes;
    /** The bf16 copy (one driver allocation, grown when a larger buffer is registered). */
    private long copy, copyBytes;
    private MemorySegment copySegment;
    private boolean valid;
    /** Whole-buffer conversions so far (tests: a step after a write refreshes once, a plain step never). */
    private long refreshes;

    Bf16Parameters(CudaContext ctx) {
        this.ctx = ctx;
    }

    /** Registers {@code params} (F32, device); null or a host tensor forgets the buffer. The same range again keeps the copy. */
    void register(Tensor params) {
        if (params == null || params.isHost() || params.dtype() != DType.F32 || params.byteSize() == 0) {
            forget();
            return;
        }
        long b = params.data().address(), n = params.byteSize();
        if (b == base && n == bytes) return;
        base = b;
        bytes = n;
        valid = false;
    }

    /** Whether {@code n} floats at device address {@code addr} lie inside the registered buffer. */
    boolean holds(long addr, long n) {
        return bytes != 0 && addr >= base && addr + 4 * n <= base + bytes;
    }

    /**
     * The bf16 copy of the float at {@code addr} (inside the buffer, {@link #holds}) as a product operand,
     * refreshing the whole copy first when it is not valid (queued on the stream).
     */
    MemorySegment operand(long addr) {
        if (!valid) refresh();
        long off = (addr - base) / 2;
        return off == 0 ? copySegment : MemorySegment.ofAddress(copy + off);
    }

    /**
     * Where the fused AdamW of the floats at {@code addr} (n of them) stores their bf16 rounding: the copy's
     * address for them, or 0 when the copy is not valid (none yet, stale, or sized for an earlier buffer) or
     * they are not (wholly) in the buffer: then the plain AdamW runs and the caller reports the write
     * ({@link #written}); the next product refreshes the whole copy anyway.
     */
    long adamwTarget(long addr, long n) {
        return valid && holds(addr, n) ? copy + (addr - base) / 2 : 0;
    }

    /** Something other than the fused AdamW wrote device bytes [addr, addr + n): a copy over them is stale. */
    void written(long addr, long n) {
        if (valid && addr < base + bytes && base < addr + n) valid = false;
    }

    /** The copy no longer matches (e.g. the products' precision changed); refreshed before the next use. */
    void invalidate() {
        valid = false;
    }

    /** Device memory [addr, addr + n) was freed: a buffer inside it is forgotten (its addresses may be reused). */
    void released(long addr, long n) {
        if (bytes != 0 && addr < base + bytes && base < addr + n) forget();
    }

    private void forget() {
        base = 0;
        bytes = 0;
        valid = false;
    }

    /** Refreshes a stale copy of a registered buffer now (before a CUDA graph that reads it is replayed). */
    void refreshIfStale() {
        if (bytes != 0 && !valid) refresh();
    }

    /** The registered buffer's device address and bytes, and the copy's address (what a CUDA graph that read it holds). */
    long base() {
        return base;
    }

    long bytes() {
        return bytes;
    }

    long copy() {
        return copy;
    }

    /** Whether products would read the copy as it is now without refreshing it. */
    boolean valid() {
        return valid;
    }

    long refreshes() {
        return refreshes;
    }

    /** Bytes of the registered fp32 buffer, 0 when none (tests). */
    long registeredBytes() {
        return bytes;
    }

    /** Device bytes the copy holds (params × 2 once allocated). */
    long reservedBytes() {
        return copyBytes;
    }

    private void refresh() {
        long need = bytes / 2;
        if (need > copyBytes) allocate(need);
        long n = bytes / 4;
        ctx.kernel(Kernel.F32_TO_BF16, ctx.gridStride(n, 256), 256)
                .ptr(copy).ptr(base).i64(n).go();
        valid = true;
        refreshes++;
    }

    private void allocate(long need) {
        free();
        copy = ctx.allocate(need, "the bf16 copy of the parameters",
                "--precision bf16 keeps one beside the fp32 masters; use a smaller model or batch");
        copyBytes = need;
        copySegment = MemorySegment.ofAddress(copy);
    }

    private void free() {
        if (copy == 0) return;
        ctx.free(copy, "bf16 parameters"); // after the queued products that may still read it
        copy = 0;
        copyBytes = 0;
        copySegment = null;
        valid = false;
    }

    @Override
    public void close() {
        if (ctx.isClosed()) { // releasing the primary context freed it
            copy = 0;
            return;
        }
        free();
    }
}
