package dev.jgpt.backend.cuda;

import dev.jgpt.bindings.Cublas;
import dev.jgpt.bindings.CublasLt;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * cuBLASLt products with a fused epilogue, as llm.c does them: bias added in the product ({@code EPILOGUE_BIAS}),
 * bias + GELU with the pre-activation written beside the output ({@code GELU_AUX_BIAS}), the backward through GELU
 * fused into the dinp product ({@code DGELU}, reading that pre-activation) and the bias gradient from the dweight
 * product ({@code BGRADB}). Column-major like cuBLAS; C and D are the same matrix, fp32 or (bf16 activation storage)
 * bf16 from bf16 inputs; the bias is fp32, the GELU pre-activation (aux) fp32 or bf16.
 *
 * <p>Each shape is described once: its descriptor, four layouts, preference and the heuristic's algorithm are made at
 * the first call and kept in a short list (a step has a handful of shapes), so a call sets only its pointer attributes
 * and allocates nothing. A shape the heuristic finds no algorithm for is remembered as unsupported and the caller
 * keeps its cuBLAS path. The workspace is the context's cuBLAS workspace (the same stream runs one product at a time).
 */
final class LtMatmul implements AutoCloseable {
    private final CudaContext ctx;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment handle;
    private final MemorySegment out, returned, ptrSlot, longSlot, intSlot, workspace;
    /**
     * Shapes kept at most: a training step has about six; prefill of prompts of many lengths makes one per length, so
     * beyond this the oldest is destroyed (its descriptor is not needed by graphs captured with it).
     */
    static final int MAX_PLANS = 64;
    private final List<Plan> plans = new ArrayList<>();
    /** epilogue/types combinations cuBLASLt refused (INVALID_VALUE at the heuristic), each said once */
    private final Set<String> refusedCombinations = new HashSet<>();
    private boolean closed;

    /** One described shape: descriptor, layouts, preference and the chosen algorithm (null: no algorithm). */
    static final class Plan {
        int epilogue, opA, opB, m, n, k, lda, ldb, ldc, abType, compute, dType, auxType;
        MemorySegment desc, a, b, c, pref, algo;
        boolean ran;
    }

    private LtMatmul(CudaContext ctx) {
        this.ctx = ctx;
        this.out = arena.allocate(ValueLayout.ADDRESS);
        this.returned = arena.allocate(ValueLayout.JAVA_INT);
        this.ptrSlot = arena.allocate(ValueLayout.ADDRESS);
        this.longSlot = arena.allocate(ValueLayout.JAVA_LONG);
        this.intSlot = arena.allocate(ValueLayout.JAVA_INT);
        this.workspace = MemorySegment.ofAddress(ctx.cublasWorkspace());
        CudaException.checkCublas(CublasLt.cublasLtCreate(out), "cublasLtCreate");
        this.handle = out.get(ValueLayout.ADDRESS, 0);
    }

    private static boolean said;

    /**
     * cuBLASLt for this context, or null when the library is missing (said once per process on stderr: the backend then
     * keeps cuBLAS with separate bias and GELU kernels, never an error).
     */
    static LtMatmul open(CudaContext ctx) {
        String why = null;
        if (!CublasLt.isInitialized()) {
            CudaLibraries.Loaded lt = CudaLibraries.cublasLt();
            if (!lt.ok()) why = lt.reason();
        }
        if (why == null) {
            try {
                return new LtMatmul(ctx);
            } catch (UnsatisfiedLinkError | CudaException e) {
                why = e.getMessage();
            }
        }
        synchronized (LtMatmul.class) {
            if (!said) System.err.println("cuda: cuBLASLt unavailable (" + why + "); bias and GELU stay separate kernels");
            said = true;
        }
        return null;
    }

    /**
     * The described shape D (m x n, ld ldc, of {@code dType}) = epilogue(alpha op(A) op(B) + beta D), A and B of
     * {@code abType} (fp32 or bf16) multiplied with {@code compute}, the epilogue's aux matrix of {@code auxType}; null
     * when cuBLASLt offers no algorithm for it (then keep the cuBLAS path).
     */
    Plan plan(int epilogue, int opA, int opB, int m, int n, int k, int lda, int ldb, int ldc, int abType, int compute, int dType,
              int auxType) {
        Plan p = describe(epilogue, opA, opB, m, n, k, lda, ldb, ldc, abType, compute, dType, auxType);
        return p.algo == null ? null : p;
    }

    /**
     * Runs a {@link #plan} on these operands, with {@code bias} (device address, 0: none) and {@code aux} / {@code auxLd}.
     * False when cuBLASLt refused the first call of this shape (an argument check it makes at the call, which the
     * heuristic did not): the shape is then marked as having no algorithm, said once, and the caller keeps cuBLAS. A
     * refusal after the shape has run once is an error.
     */
    boolean run(Plan p, MemorySegment alpha, MemorySegment a, MemorySegment b, MemorySegment beta, MemorySegment d,
                long bias, long aux, long auxLd, String what) {
        if (bias != 0) setPointer(p.desc, CublasLt.CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias, what);
        if (aux != 0) {
            setPointer(p.desc, CublasLt.CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, aux, what);
            longSlot.set(ValueLayout.JAVA_LONG, 0, auxLd);
            check(CublasLt.cublasLtMatmulDescSetAttribute(p.desc, CublasLt.CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, longSlot, 8), what);
        }
        int rc = CublasLt.cublasLtMatmul(handle, p.desc, alpha, a, p.a, b, p.b, beta, d, p.c, d, p.c, p.algo,
                workspace, CudaContext.CUBLAS_WORKSPACE_BYTES, ctx.stream());
        if (rc != Cublas.CUBLAS_STATUS_SUCCESS && !p.ran
                && (rc == Cublas.CUBLAS_STATUS_NOT_SUPPORTED || rc == Cublas.CUBLAS_STATUS_INVALID_VALUE)) {
            p.algo = null;
            System.err.println("cuda: cuBLASLt refused " + what + " (" + Cublas.statusName(rc) + ", " + p.m + "x" + p.n + "x" + p.k
                    + "); this shape stays on cuBLAS");
            return false;
        }
        ctx.checkCublas(rc, what);
        p.ran = true;
        return true;
    }

    private void setPointer(MemorySegment desc, int attr, long address, String what) {
        ptrSlot.set(ValueLayout.JAVA_LONG, 0, address); // a device pointer, 8 bytes (no segment made per call)
        check(CublasLt.cublasLtMatmulDescSetAttribute(desc, attr, ptrSlot, ValueLayout.ADDRESS.byteSize()), what);
    }

    private Plan describe(int epilogue, int opA, int opB, int m, int n, int k, int lda, int ldb, int ldc, int abType, int compute,
                          int dType, int auxType) {
        boolean withAux = epilogue == CublasLt.CUBLASLT_EPILOGUE_GELU_AUX_BIAS || epilogue == CublasLt.CUBLASLT_EPILOGUE_DGELU;
        if (!withAux) auxType = Cublas.CUDA_R_32F; // no aux matrix: one plan whatever the caller passed
        for (Plan p : plans) {
            if (p.epilogue == epilogue && p.opA == opA && p.opB == opB && p.m == m && p.n == n && p.k == k && p.lda == lda
                    && p.ldb == ldb && p.ldc == ldc && p.abType == abType && p.compute == compute && p.dType == dType
                    && p.auxType == auxType) return p;
        }
        if (plans.size() >= MAX_PLANS) destroy(plans.removeFirst());
        Plan p = new Plan();
        p.epilogue = epilogue; p.opA = opA; p.opB = opB; p.m = m; p.n = n; p.k = k;
        p.lda = lda; p.ldb = ldb; p.ldc = ldc; p.abType = abType; p.compute = compute; p.dType = dType; p.auxType = auxType;
        String what = "cuBLASLt plan " + m + "x" + n + "x" + k + " epilogue " + epilogue;
        check(CublasLt.cublasLtMatmulDescCreate(out, compute, Cublas.CUDA_R_32F), what);
        p.desc = out.get(ValueLayout.ADDRESS, 0);
        setInt(p.desc, CublasLt.CUBLASLT_MATMUL_DESC_TRANSA, opA, what);
        setInt(p.desc, CublasLt.CUBLASLT_MATMUL_DESC_TRANSB, opB, what);
        setInt(p.desc, CublasLt.CUBLASLT_MATMUL_DESC_EPILOGUE, epilogue, what);
        if (epilogue != CublasLt.CUBLASLT_EPILOGUE_DEFAULT) {
            // bias and bias gradient in D's type: an fp32 bias onto a bf16 D is refused (INVALID_VALUE at the heuristic,
            // an H200 with cuBLAS 13, 2026-11-27), so a bf16 product takes a bf16 copy of the bias (CudaBackend.ltBias);
            // the GELU pre-activation in the type the model stores it in
            if (epilogue != CublasLt.CUBLASLT_EPILOGUE_DGELU) setInt(p.desc, CublasLt.CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, dType, what);
            if (withAux) setInt(p.desc, CublasLt.CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE, auxType, what);
        }
        p.a = layout(abType, opA == Cublas.CUBLAS_OP_N ? m : k, opA == Cublas.CUBLAS_OP_N ? k : m, lda, what);
        p.b = layout(abType, opB == Cublas.CUBLAS_OP_N ? k : n, opB == Cublas.CUBLAS_OP_N ? n : k, ldb, what);
        p.c = layout(dType, m, n, ldc, what);
        check(CublasLt.cublasLtMatmulPreferenceCreate(out), what);
        p.pref = out.get(ValueLayout.ADDRESS, 0);
        longSlot.set(ValueLayout.JAVA_LONG, 0, CudaContext.CUBLAS_WORKSPACE_BYTES);
        check(CublasLt.cublasLtMatmulPreferenceSetAttribute(p.pref, CublasLt.CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, longSlot, 8), what);
        MemorySegment result = arena.allocate(CublasLt.HEURISTIC_RESULT_BYTES, 16);
        int rc = CublasLt.cublasLtMatmulAlgoGetHeuristic(handle, p.desc, p.a, p.b, p.c, p.c, p.pref, 1, result, returned);
        if (rc == Cublas.CUBLAS_STATUS_SUCCESS && returned.get(ValueLayout.JAVA_INT, 0) > 0) {
            p.algo = result; // the algorithm is the struct's first 64 bytes, which cublasLtMatmul reads
        } else if (rc == Cublas.CUBLAS_STATUS_INVALID_VALUE) {
            // cuBLASLt answers INVALID_VALUE for a combination of types or a shape it does not fuse (an H200 with
            // cuBLAS 13, 2026-11-27: an fp32 bias onto a bf16 D; DGELU onto a bf16 D at 64x17x24). Said once per kind
            // of product; such shapes stay on cuBLAS.
            if (refusedCombinations.add(epilogue + "/" + abType + "/" + dType + "/" + auxType)) {
                System.err.println("cuda: cuBLASLt fuses no epilogue " + epilogue + " with operands of type " + abType + ", output "
                        + dType + " (" + Cublas.statusName(rc) + "); such products stay on cuBLAS with separate kernels");
            }
        } else if (rc != Cublas.CUBLAS_STATUS_NOT_SUPPORTED && rc != Cublas.CUBLAS_STATUS_SUCCESS) {
            check(rc, what + " heuristic");
        }
        plans.add(p);
        return p;
    }

    /** Shapes described so far, and how many have an algorithm (tests). */
    int[] plans() {
        int withAlgo = 0;
        for (Plan p : plans) if (p.algo != null) withAlgo++;
        return new int[] {plans.size(), withAlgo};
    }

    private void setInt(MemorySegment desc, int attr, int value, String what) {
        intSlot.set(ValueLayout.JAVA_INT, 0, value);
        check(CublasLt.cublasLtMatmulDescSetAttribute(desc, attr, intSlot, 4), what);
    }

    private MemorySegment layout(int type, long rows, long cols, long ld, String what) {
        check(CublasLt.cublasLtMatrixLayoutCreate(out, type, rows, cols, ld), what);
        return out.get(ValueLayout.ADDRESS, 0);
    }

    private static void destroy(Plan p) {
        CublasLt.cublasLtMatmulPreferenceDestroy(p.pref);
        CublasLt.cublasLtMatrixLayoutDestroy(p.a);
        CublasLt.cublasLtMatrixLayoutDestroy(p.b);
        CublasLt.cublasLtMatrixLayoutDestroy(p.c);
        CublasLt.cublasLtMatmulDescDestroy(p.desc);
    }

    private static void check(int status, String what) {
        CudaException.checkCublas(status, what);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        try {
            for (Plan p : plans) destroy(p);
            plans.clear();
            CublasLt.cublasLtDestroy(handle);
        } finally {
            arena.close();
        }
    }
}
