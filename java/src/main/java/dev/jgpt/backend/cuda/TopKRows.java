package dev.jgpt.backend.cuda;

import dev.jgpt.bindings.CudaDriver;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The k largest logits of each of n rows, found on the device ({@code kernels/topk.cu}: {@code topk_partial}
 * over slices of each row, then {@code topk_merge}), and the n*k (index, value) pairs copied back in one
 * pinned transfer. Its device buffers and the pinned host buffer grow to the largest (rows, parts) asked for,
 * so after the first call of a shape nothing is allocated.
 */
final class TopKRows implements AutoCloseable {
    /** Most candidates per row (the kernels' JG_TOPK_MAX). */
    static final int MAX_K = 64;
    /** Threads per block of both kernels (JG_TOPK_THREADS). */
    private static final int THREADS = 256;
    /**
     * Values a slice block aims at, and the most it may stage (4 bytes each: 32 KiB of dynamic shared memory, well
     * inside the 48 KiB a launch gets without opting in, with the kernel's static reduction slots beside it).
     */
    private static final int SLICE_TARGET = 2048, SLICE_MAX = 8 * 1024;
    /** Most (parts * k) pairs the merge block holds (JG_TOPK_MERGE_MAX). */
    private static final int MERGE_MAX = 2048;

    private final CudaContext ctx;
    /** Device: the parts' pairs (indices, then values), the final pairs (indices, then values). */
    private long parts, out;
    private long partsBytes, outBytes;
    private MemorySegment pinned = MemorySegment.NULL;
    private long generation;
    /** Rows of a server's batched step replayed from a graph (JG_DECODE_ROWS_MAX): sized for at first use. */
    static final int GRAPH_ROWS = 32;

    TopKRows(CudaContext ctx) {
        this.ctx = ctx;
    }

    /**
     * Row r of {@code logits} (device address) starts at {@code r * ld} floats; its first V values count.
     * Writes row r's k best, largest first, to {@code idx/val[r*k .. r*k+k)}; waits for the result.
     */
    void topK(long logits, int rows, int V, long ld, int k, int[] idx, float[] val) {
        queue(logits, rows, V, ld, k);
        read(rows, k, idx, val);
    }

    /**
     * The kernels and the copy of the rows*k pairs into the pinned buffer, queued, not waited for (capturable: for
     * rows up to {@link #GRAPH_ROWS} the buffers are made at their largest on first use and never move after).
     */
    void queue(long logits, int rows, int V, long ld, int k) {
        if (rows < 1) throw new IllegalArgumentException("rows: must be positive but was " + rows);
        if (V < 1) throw new IllegalArgumentException("V: must be positive but was " + V);
        if (k < 1 || k > MAX_K || k > V) throw new IllegalArgumentException("k: must be in [1, min(" + MAX_K + ", V)] but was " + k);
        if (ld < V || ld > Integer.MAX_VALUE) throw new IllegalArgumentException("ld: " + ld + " must be in [V, 2^31)");
        long pairs = (long) rows * k;
        int p = parts(V, k);
        int chunk = (V + p - 1) / p;
        long partBytes = (long) rows * p * k * 4;
        // p * k <= max(k, MERGE_MAX): the largest any (V, k) needs for GRAPH_ROWS rows
        int sized = Math.max(rows, GRAPH_ROWS);
        ensure(Math.max(partBytes * 2, (long) sized * MERGE_MAX * 4 * 2), Math.max(pairs * 4 * 2, (long) sized * MAX_K * 4 * 2));
        ctx.kernel(Kernel.TOPK_PARTIAL, p, rows, THREADS, 1, chunk * Float.BYTES)
                .ptr(parts).ptr(parts + partBytes).ptr(logits).i32(V).i32((int) ld).i32(chunk).i32(k).go();
        ctx.kernel(Kernel.TOPK_MERGE, rows, THREADS)
                .ptr(out).ptr(out + pairs * 4).ptr(parts).ptr(parts + partBytes).i32(p).i32(k).go();
        CudaException.check(CudaDriver.cuMemcpyDtoHAsync_v2(pinned, out, pairs * 8, ctx.stream()), "cuMemcpyDtoH(topk)");
    }

    /** Waits for the stream, then reads the pairs the last {@link #queue} of (rows, k) left in the pinned buffer. */
    void read(int rows, int k, int[] idx, float[] val) {
        long pairs = (long) rows * k;
        if (idx.length < pairs || val.length < pairs) throw new IllegalArgumentException("idx/val: need room for " + pairs + " candidates");
        if (pairs * 8 > outBytes) throw new IllegalArgumentException("no top-k of " + rows + " rows of " + k + " was queued");
        ctx.synchronize();
        MemorySegment.copy(pinned, ValueLayout.JAVA_INT, 0, idx, 0, (int) pairs);
        MemorySegment.copy(pinned, ValueLayout.JAVA_FLOAT, pairs * 4, val, 0, (int) pairs);
    }

    /** Changes whenever a buffer moved (a graph that baked the old addresses must not be replayed). */
    long generation() {
        return generation;
    }

    /** Slices per row: about {@link #SLICE_TARGET} values each, as many as the merge can take. */
    static int parts(int V, int k) {
        int p = Math.max(1, Math.min((V + SLICE_TARGET - 1) / SLICE_TARGET, MERGE_MAX / k));
        if ((V + p - 1) / p > SLICE_MAX) {
            throw new IllegalArgumentException("V: " + V + " logits per row is more than device top-" + k + " takes ("
                    + (long) SLICE_MAX * (MERGE_MAX / k) + ")");
        }
        return p;
    }

    private void ensure(long needParts, long needOut) {
        if (needParts > partsBytes || needOut > outBytes) generation++;
        if (needParts > partsBytes) parts = grow(parts, partsBytes = roundUp(needParts));
        if (needOut > outBytes) {
            out = grow(out, outBytes = roundUp(needOut));
            if (pinned.address() != 0) CudaException.check(CudaDriver.cuMemFreeHost(pinned), "cuMemFreeHost(topk)");
            pinned = MemorySegment.NULL;
            try (Arena a = Arena.ofConfined()) {
                MemorySegment p = a.allocate(ValueLayout.ADDRESS);
                CudaException.check(CudaDriver.cuMemAllocHost_v2(p, outBytes), "cuMemAllocHost(topk)");
                pinned = p.get(ValueLayout.ADDRESS, 0).reinterpret(outBytes);
            }
        }
    }

    /** Frees {@code old} (after the queued work that may read it) and allocates {@code bytes}. */
    private long grow(long old, long bytes) {
        ctx.free(old, "topk");
        return ctx.allocate(bytes, "device top-k", "use fewer sequences per step");
    }

    private static long roundUp(long bytes) {
        return (bytes + 4095) & ~4095L;
    }

    @Override
    public void close() {
        ctx.free(parts, "topk");
        ctx.free(out, "topk");
        if (pinned.address() != 0 && !ctx.isClosed()) CudaDriver.cuMemFreeHost(pinned);
        parts = out = 0;
        partsBytes = outBytes = 0;
        pinned = MemorySegment.NULL;
    }
}
