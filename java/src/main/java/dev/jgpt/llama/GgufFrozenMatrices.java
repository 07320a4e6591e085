package dev.jgpt.llama;

import dev.jgpt.JgptException;
import dev.jgpt.bindings.Jgpt;
import dev.jgpt.io.GgmlType;
import dev.jgpt.io.GgufFile;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * The seven matrices of every layer of a GGUF model, frozen in the file's own blocks for LoRA (QLoRA's idea on the CPU):
 * a {@link LlamaTrainModel} multiplies by them through libjgpt's {@code jgpt_ggml_gemm}, which decodes a tile of rows
 * at a time to float32 for OpenBLAS — a Q4_K_M model's matrices stay 4.5-6.6 bits in the mapping instead of a float32
 * copy (a 1.1B model: ~0.7 GB instead of 4.4 GB). The embedding, norms and classifier are the model's float32 copies.
 * The mapping stays open until {@link #close}. Host (cpu backend) tensors only.
 */
public final class GgufFrozenMatrices implements AutoCloseable {
    /** Float32 scratch of one tile of decoded rows (4 MiB, as prefill's tiles). */
    private static final long TILE_FLOATS = 1L << 20;

    private final Arena arena;
    private final LlamaConfig c;
    private final GgufFile.Tensor[][] m;   // [part k: 0 wq .. 6 w3][layer]
    private final MemorySegment tile;
    private final int threads;
    private final long bytes;

    private GgufFrozenMatrices(Arena arena, LlamaConfig c, GgufFile.Tensor[][] m, int threads) {
        this.arena = arena;
        this.c = c;
        this.m = m;
        this.threads = threads;
        this.tile = arena.allocate(4 * Math.max(TILE_FLOATS, Math.max(c.dim(), c.hiddenDim())), 64);
        long b = 0;
        for (GgufFile.Tensor[] layers : m) for (GgufFile.Tensor t : layers) b += t.data().byteSize();
        this.bytes = b;
    }

    /** Maps {@code file} (a GGUF model of shape {@code c}) and checks that libjgpt decodes every matrix's type. */
    public static GgufFrozenMatrices open(Path file, LlamaConfig c, int threads) {
        return open(file, c, threads, false);
    }

    /** {@link #open}, or null (nothing kept mapped) when no matrix of the file is quantized: float32 copies serve as well. */
    public static GgufFrozenMatrices openQuantized(Path file, LlamaConfig c, int threads) {
        return open(file, c, threads, true);
    }

    private static GgufFrozenMatrices open(Path file, LlamaConfig c, int threads, boolean onlyQuantized) {
        Arena arena = Arena.ofShared();
        try {
            GgufFile g = GgufFile.open(file, arena);
            if (onlyQuantized && !quantized(g, c)) {
                arena.close();
                return null;
            }
            GgufFile.Tensor[][] m = LlamaGgufImport.matrices(g, c);
            for (GgufFile.Tensor[] layers : m) {
                for (GgufFile.Tensor t : layers) {
                    if (!LlamaGgufImport.IN_PLACE.contains(t.type())) {
                        throw new JgptException("GGUF " + file + ": tensor " + t.name() + " is " + t.type() + ", which jgpt does not multiply in place");
                    }
                }
            }
            return new GgufFrozenMatrices(arena, c, m, Math.max(1, threads));
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Whether some matrix of {@code file} is quantized (what makes keeping the blocks worth it). */
    public static boolean quantized(GgufFile g, LlamaConfig c) {
        for (GgufFile.Tensor[] layers : LlamaGgufImport.matrices(g, c)) {
            for (GgufFile.Tensor t : layers) {
                if (t.type() != GgmlType.F32 && t.type() != GgmlType.F16 && t.type() != GgmlType.BF16) return true;
            }
        }
        return false;
    }

    /** Bytes of the blocks (the mapped matrices). */
    public long bytes() {
        return bytes;
    }

    /** The matrices' ggml types, for the log ("Q4_K, Q6_K"). */
    public String types() {
        java.util.Set<GgmlType> seen = java.util.EnumSet.noneOf(GgmlType.class);
        for (GgufFile.Tensor[] layers : m) for (GgufFile.Tensor t : layers) seen.add(t.type());
        return seen.toString().replace("[", "").replace("]", "");
    }

    /** {@code out (N, rows) = inp (N, cols) W^T} for matrix {@code k} of layer {@code l}. */
    void forward(Tensor out, Tensor inp, int k, int l, int N, int rows, int cols) {
        gemm(out, (long) N * rows, inp, (long) N * cols, k, l, N, rows, cols, 0, 0f);
    }

    /** {@code dinp (N, cols) (+)= dout (N, rows) W}: overwritten, or accumulated onto. */
    void backwardInput(Tensor dinp, Tensor dout, int k, int l, int N, int rows, int cols, boolean overwrite) {
        gemm(dinp, (long) N * cols, dout, (long) N * rows, k, l, N, rows, cols, 1, overwrite ? 0f : 1f);
    }

    private void gemm(Tensor y, long ny, Tensor x, long nx, int k, int l, int N, int rows, int cols, int mode, float beta) {
        GgufFile.Tensor t = m[k][l];
        if (t.elements() != (long) rows * cols) throw new IllegalArgumentException(t.name() + ": not " + rows + " x " + cols);
        y.requireAtLeast("y", DType.F32, ny);
        x.requireAtLeast("x", DType.F32, nx);
        if (!y.isHost() || !x.isHost()) throw new IllegalArgumentException("GGUF blocks multiply host tensors (the cpu backend)");
        Jgpt.jgpt_ggml_gemm(y.data(), x.data(), N, t.data(), t.type().id, rows, cols, mode, beta, tile, tile.byteSize() / 4, threads);
    }

    /** Matrix {@code k} of layer {@code l} decoded to float32 into {@code out} (a merged checkpoint's copy). */
    void decode(int k, int l, MemorySegment out) {
        GgufFile.Tensor t = m[k][l];
        t.type().decode(t.data(), 0, t.elements(), out, 0);
    }

    public LlamaConfig config() {
        return c;
    }

    @Override
    public void close() {
        arena.close();
    }
}
