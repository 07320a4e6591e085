package dev.jgpt.llama;

import dev.jgpt.backend.Backend;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A Llama's weights where the {@link Backend} ops of {@link LlamaOpsInference} read them: the embedding table, the
 * classifier, and per layer the two RMSNorm weights and the seven matrices.
 *
 * <p>Either <b>uploaded</b> from float32 host memory (a mapped checkpoint) into the backend and owned, with the
 * matrices and the classifier stored in one of three forms:
 * <ul>
 *   <li>F32, in one flat buffer in llama2.c's order (registered with {@link Backend#parametersAre}: cuda in bf16 mode
 *       keeps a bf16 copy of it for its products);</li>
 *   <li>BF16, where the backend's {@link Backend#decodeWeightDType} allows it (cuda in bf16 mode: its products round
 *       a float32 weight to bf16 anyway, so the float32 matrices would be read by nothing): 2 bytes a weight instead
 *       of the float32 buffer's 4 plus its copy's 2;</li>
 *   <li>I8, libjgpt's q8 (one float32 scale per group of 32 or 64 weights along a row, {@link Backend#matmulQ8Forward}):
 *       1 + 4/group bytes a weight.</li>
 * </ul>
 * In the last two only the RMSNorm weights stay float32; the embedding rows are read from the converted classifier
 * when the two are shared, else from a table converted the same way ({@link Backend#embeddingLookup}), so no float32
 * copy of any matrix stays on the device.
 *
 * <p>Or <b>borrowed</b>: views over a training model's flat float32 parameters, read as they change.
 */
final class LlamaBackendWeights {
    /** Weights converted per host-to-device copy (8 MiB of bf16 staging; tests make it small). */
    static long uploadChunk = 1L << 22;

    /** One weight matrix as a product reads it: F32 or BF16 values, or I8 values with their F32 scales. */
    record Matrix(Tensor values, Tensor scales) {}

    final Tensor rmsFinal;
    final Tensor[] rmsAtt, rmsFfn;
    /** The embedding table (F32: looked up by the encoder; converted: by {@link Backend#embeddingLookup}) and the classifier. */
    final Matrix emb, cls;
    final Matrix[] wq, wk, wv, wo, w1, w2, w3;
    /** The q8 group size (0 unless the matrices are I8). */
    final int group;
    /** The tensor the views lie in that identifies these weights (the flat buffer, or the converted matrices). */
    private final Tensor identity;
    /** Device bytes this object allocated (0 when borrowed). */
    private final long ownedBytes;

    /**
     * Views over {@code f32Parts} (rmsAtt, rmsFfn, rmsFinal) and {@code matrixParts} (wq, wk, wv, wo, w1, w2, w3, then
     * the classifier at {@code clsAt} and the embedding table at {@code embAt}), with {@code scales} (q8, else null)
     * beside the matrices. When both are one flat buffer the order is llama2.c's: the embedding table first, the
     * matrices between the norms, the classifier after rmsFinal ({@code clsAt}, or -1: the embedding table).
     */
    private LlamaBackendWeights(LlamaConfig c, Tensor f32Parts, Tensor matrixParts, Tensor scales, int group, long clsAt,
                                long embAt, long ownedBytes) {
        long d = c.dim(), h = c.hiddenDim(), kv = c.kvDim(), V = c.vocabSize();
        int L = c.layers();
        this.group = group;
        boolean flat = f32Parts == matrixParts;
        long[] at = {0};
        Tensor table = flat ? take(f32Parts, at, V * d) : null;
        rmsAtt = perLayer(take(f32Parts, at, L * d), L, d);
        long[] mAt = flat ? at : new long[] {0};
        wq = matrices(matrixParts, scales, mAt, L, d * d);
        wk = matrices(matrixParts, scales, mAt, L, kv * d);
        wv = matrices(matrixParts, scales, mAt, L, kv * d);
        wo = matrices(matrixParts, scales, mAt, L, d * d);
        rmsFfn = perLayer(take(f32Parts, at, L * d), L, d);
        w1 = matrices(matrixParts, scales, mAt, L, h * d);
        w2 = matrices(matrixParts, scales, mAt, L, d * h);
        w3 = matrices(matrixParts, scales, mAt, L, h * d);
        rmsFinal = take(f32Parts, at, d);
        cls = clsAt < 0 ? new Matrix(table, null) : matrix(matrixParts, scales, clsAt, V * d);
        emb = flat ? new Matrix(table, null) : embAt < 0 ? cls : matrix(matrixParts, scales, embAt, V * d);
        this.identity = matrixParts;
        this.ownedBytes = ownedBytes;
    }

    /** The next {@code n} elements of {@code t} from {@code at[0]} on (and advances it). */
    private static Tensor take(Tensor t, long[] at, long n) {
        Tensor v = t.view(at[0], n);
        at[0] += n;
        return v;
    }

    private static Tensor[] perLayer(Tensor stacked, int layers, long per) {
        Tensor[] out = new Tensor[layers];
        for (int l = 0; l < layers; l++) out[l] = stacked.view(l * per, per);
        return out;
    }

    /** The {@code n} weights of {@code values} from {@code off} on, with their scales where there are any. */
    private Matrix matrix(Tensor values, Tensor scales, long off, long n) {
        return new Matrix(values.view(off, n), scales == null ? null : scales.view(off / group, n / group));
    }

    /** The next {@code layers} matrices of {@code per} weights each, with their scales where there are any. */
    private Matrix[] matrices(Tensor values, Tensor scales, long[] at, int layers, long per) {
        Matrix[] out = new Matrix[layers];
        for (int l = 0; l < layers; l++) {
            long off = at[0] + l * per;
            out[l] = matrix(values, scales, off, per);
        }
        at[0] += layers * per;
        return out;
    }

    /** Floats of the weights in llama2.c's order, the classifier included when it is not shared. */
    private static long flatFloats(LlamaConfig c) {
        long total = 0;
        for (long s : LlamaWeights.sizes(c)) total += s;
        return total + (c.sharedClassifier() ? 0 : (long) c.vocabSize() * c.dim());
    }

    /** Views over {@code flat} (float32, llama2.c's order, the classifier after rmsFinal when not shared), borrowed. */
    static LlamaBackendWeights over(LlamaConfig c, Tensor flat) {
        flat.requireAtLeast("parameters", DType.F32, flatFloats(c));
        return overFlat(c, flat, 0);
    }

    private static LlamaBackendWeights overFlat(LlamaConfig c, Tensor flat, long ownedBytes) {
        long clsAt = c.sharedClassifier() ? -1 : flatFloats(c) - (long) c.vocabSize() * c.dim();
        return new LlamaBackendWeights(c, flat, flat, null, 0, clsAt, -1, ownedBytes);
    }

    /**
     * Copies {@code w} into {@code arena} (the backend's): all of it as F32, or the matrices, the classifier and the
     * embedding table as BF16 (where {@code ops.decodeWeightDType()} is BF16) or I8 (q8 in groups of {@code group},
     * which must divide dim and hidden_dim) beside the float32 RMSNorm weights. Queued on the backend's stream; the
     * caller synchronises before the source may go.
     */
    static LlamaBackendWeights upload(Backend ops, TensorArena arena, LlamaWeights w, DType matrixType, int group) {
        LlamaConfig c = w.config();
        long d = c.dim(), V = c.vocabSize(), L = c.layers();
        long[] sizes = LlamaWeights.sizes(c);
        if (matrixType == DType.F32) {
            Tensor flat = arena.allocate(DType.F32, flatFloats(c));
            MemorySegment[] src = w.inFileOrder();
            long off = 0;
            for (int i = 0; i < sizes.length; i++) {
                ops.copy(flat.view(off, sizes[i]), Tensor.ofHost(src[i], DType.F32, sizes[i]));
                off += sizes[i];
            }
            if (!c.sharedClassifier()) ops.copy(flat.view(off, V * d), Tensor.ofHost(w.wcls(), DType.F32, V * d));
            return overFlat(c, flat, flat.byteSize());
        }
        if (matrixType == DType.BF16 && ops.decodeWeightDType() != DType.BF16) {
            throw new IllegalArgumentException("Llama weights as BF16 on " + ops.name() + ": its products read "
                    + ops.decodeWeightDType() + " weights");
        }
        if (matrixType == DType.I8 && (group <= 0 || group % 16 != 0 || d % group != 0 || c.hiddenDim() % group != 0)) {
            throw new dev.jgpt.JgptException("q8 with groups of " + group + " needs dim (" + d + ") and hidden_dim ("
                    + c.hiddenDim() + ") to be multiples of it, and it a multiple of 16 (--group-size 32 or 64)");
        }
        if (matrixType != DType.BF16 && matrixType != DType.I8) {
            throw new IllegalArgumentException("Llama weight matrices as " + matrixType + ": F32, BF16 or I8");
        }
        // float32: rmsAtt, rmsFfn, rmsFinal; converted: wq, wk, wv, wo, w1, w2, w3, the classifier, the embedding table
        // unless the classifier is it
        long matrixFloats = sizes[2] + sizes[3] + sizes[4] + sizes[5] + sizes[7] + sizes[8] + sizes[9];
        boolean q8 = matrixType == DType.I8, tied = c.sharedClassifier();
        long converted = matrixFloats + (tied ? 1 : 2) * V * d;
        Tensor f32 = arena.allocate(DType.F32, 2 * L * d + d);
        Tensor values = arena.allocate(matrixType, converted);
        Tensor scales = q8 ? arena.allocate(DType.F32, converted / group) : null;
        MemorySegment[] norms = {w.rmsAtt(), w.rmsFfn(), w.rmsFinal()};
        long at = 0;
        for (MemorySegment m : norms) {
            long n = m.byteSize() / Float.BYTES;
            ops.copy(f32.view(at, n), Tensor.ofHost(m, DType.F32, n));
            at += n;
        }
        MemorySegment[] matrices = tied ? new MemorySegment[] {w.wq(), w.wk(), w.wv(), w.wo(), w.w1(), w.w2(), w.w3(), w.wcls()}
                : new MemorySegment[] {w.wq(), w.wk(), w.wv(), w.wo(), w.w1(), w.w2(), w.w3(), w.wcls(), w.tokenEmbedding()};
        try (TensorArena staging = TensorArena.host()) {
            long chunk = Math.min(uploadChunk, values.numel());
            if (q8) chunk = Math.max(group, chunk - chunk % group); // whole groups
            Tensor stagedValues = staging.allocate(matrixType, chunk);
            Tensor stagedScales = q8 ? staging.allocate(DType.F32, chunk / group) : null;
            at = 0;
            for (MemorySegment m : matrices) {
                long n = m.byteSize() / Float.BYTES;
                for (long from = 0; from < n; from += chunk) {
                    long k = Math.min(chunk, n - from);
                    MemorySegment src = m.asSlice(Float.BYTES * from, Float.BYTES * k);
                    convert(src, stagedValues.data(), q8 ? stagedScales.data() : null, k, group);
                    if (q8) ops.copy(scales.view((at + from) / group, k / group), stagedScales.view(0, k / group));
                    ops.copy(values.view(at + from, k), stagedValues.view(0, k));
                    ops.synchronize(); // the copies have read the staging before the next chunk overwrites it
                }
                at += n;
            }
        }
        long bytes = f32.byteSize() + values.byteSize() + (q8 ? scales.byteSize() : 0);
        return new LlamaBackendWeights(c, f32, values, scales, q8 ? group : 0, matrixFloats, tied ? -1 : matrixFloats + V * d, bytes);
    }

    /**
     * {@code n} floats to bf16 ({@code scales} null: to nearest even, as the backend's own conversion) or to q8 (whole
     * groups), in slices on the common fork-join pool: on 2 cores 1.85 ns per weight to q8 where one thread took 3.4
     * (0.4-0.55 vs 0.71 to bf16), so loading scales with the cores of a GPU machine. Weights in a confined arena (only
     * its owner may read them) are converted on the calling thread.
     */
    static void convert(MemorySegment src, MemorySegment out, MemorySegment scales, long n, int group) {
        long slice = scales == null ? CONVERT_SLICE : Math.max(group, CONVERT_SLICE - CONVERT_SLICE % group);
        var slices = java.util.stream.LongStream.range(0, (n + slice - 1) / slice);
        (src.isAccessibleBy(ANOTHER_THREAD) ? slices.parallel() : slices).forEach(s -> {
            long from = s * slice, k = Math.min(slice, n - from);
            MemorySegment part = src.asSlice(Float.BYTES * from, Float.BYTES * k);
            if (scales == null) {
                DType.toBf16(part, out.asSlice(2 * from, 2 * k), k);
            } else {
                quantizeQ8(part, out.asSlice(from, k), scales.asSlice(Float.BYTES * (from / group), Float.BYTES * (k / group)), k, group);
            }
        });
    }

    /** Floats per task of {@link #convert}: 256 KiB read, enough to outweigh a task's cost. */
    private static final long CONVERT_SLICE = 1L << 16;

    /** Never started: asks whether a segment may be read off the calling thread. */
    private static final Thread ANOTHER_THREAD = Thread.ofVirtual().unstarted(() -> {});

    /**
     * {@code n} floats (whole groups) to q8 as libjgpt's {@code jgpt_convert_q8} makes them: per group scale =
     * max|w| / 127, each weight {@code roundf(w / scale)} (half away from zero), so that cpu and device decode the same
     * integers.
     */
    static void quantizeQ8(MemorySegment src, MemorySegment out, MemorySegment scales, long n, int group) {
        for (long g = 0; g < n / group; g++) {
            long first = g * group;
            float amax = 0f;
            for (int i = 0; i < group; i++) amax = Math.max(amax, Math.abs(src.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, first + i)));
            float scale = amax / 127.0f;
            float inv = scale > 0f ? 1.0f / scale : 0f;
            for (int i = 0; i < group; i++) {
                float v = src.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, first + i) * inv;
                out.set(ValueLayout.JAVA_BYTE, first + i, (byte) Math.copySign(Math.round(Math.abs(v)), v));
            }
            scales.setAtIndex(ValueLayout.JAVA_FLOAT, g, scale);
        }
    }

    /**
     * Tells {@code ops} where float32 matrices lie ({@link Backend#parametersAre}: cuda in bf16 mode then reads their
     * bf16 copy, none converted per token); converted matrices need no copy.
     */
    void register(Backend ops) {
        if (identity.dtype() == DType.F32) ops.parametersAre(identity);
    }

    /** Whether {@code other} views the same weights (sequences over them may be batched together). */
    boolean sameAs(LlamaBackendWeights other) {
        return other.identity.data().equals(identity.data());
    }

    /** Device (or host) bytes this object allocated for the weights; 0 when borrowed. */
    long ownedBytes() {
        return ownedBytes;
    }
}
