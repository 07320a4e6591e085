// Generated in the shape jextract emits by bindings/gen/gen_cuda.py (see bindings/README.md for
// the jextract command that regenerates it). Source header: cublasLt.h (cuBLASLt 12/13). Do not edit by hand:
// edit the generator and run it again.
package dev.jgpt.bindings;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Objects;

/**
 * The part of cuBLASLt ({@code cublasLt.h}) that jgpt uses: matrix products with fused epilogues (bias, GELU
 * with its pre-activation kept, GELU backward, bias gradient). Column-major like cuBLAS; descriptors and layouts
 * are opaque handles ({@link MemorySegment}s); alpha and beta are host pointers (the default pointer mode).
 * Optional: where the library is missing the cuda backend keeps cuBLAS and separate bias/GELU kernels.
 */
public final class CublasLt {
    private CublasLt() {}

    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfFloat C_FLOAT = ValueLayout.JAVA_FLOAT;
    public static final ValueLayout.OfByte C_CHAR = ValueLayout.JAVA_BYTE;
    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS;

    /** {@code cublasStatus_t} (shared with cuBLAS; names from {@link Cublas#statusName}). */
    public static final int CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_NOT_SUPPORTED = 15;
    /** {@code cublasLtMatmulDescAttributes_t} values jgpt sets. */
    public static final int CUBLASLT_MATMUL_DESC_TRANSA = 3, CUBLASLT_MATMUL_DESC_TRANSB = 4, CUBLASLT_MATMUL_DESC_EPILOGUE = 7,
            CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER = 11,
            CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD = 12, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE = 22,
            CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE = 26;
    /** {@code cublasLtEpilogue_t} values jgpt uses. */
    public static final int CUBLASLT_EPILOGUE_DEFAULT = 1, CUBLASLT_EPILOGUE_BIAS = 4, CUBLASLT_EPILOGUE_GELU_AUX_BIAS = 164,
            CUBLASLT_EPILOGUE_DGELU = 192, CUBLASLT_EPILOGUE_BGRADB = 512;
    /** {@code cublasLtMatmulPreferenceAttributes_t}: the most workspace an algorithm may ask for (uint64_t). */
    public static final int CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1;
    /** Bytes of a {@code cublasLtMatmulHeuristicResult_t}: {@code {uint64_t algo[8]; size_t workspaceSize; int state; float wavesCount; int reserved[4]}}. */
    public static final long HEURISTIC_RESULT_BYTES = 96, HEURISTIC_WORKSPACE_OFFSET = 64, HEURISTIC_STATE_OFFSET = 72;

    private static volatile SymbolLookup lookup;
    private static volatile String unavailableReason = "CublasLt.init(SymbolLookup) was not called";

    /** Sets where the symbols come from ({@code libcublasLt.so}); call before the first function is used. */
    public static synchronized void init(SymbolLookup symbols) {
        lookup = Objects.requireNonNull(symbols, "symbols");
    }

    /**
     * Records why {@code libcublasLt.so} could not be loaded. Functions used afterwards (without a lookup)
     * bind to a handle of the right type that throws {@link UnsatisfiedLinkError} with this reason,
     * so a missing library is one clear error and the signatures can still be checked without it.
     */
    public static synchronized void markUnavailable(String reason) {
        unavailableReason = Objects.requireNonNull(reason, "reason");
    }

    public static boolean isInitialized() {
        return lookup != null;
    }

    /** A downcall for the first of {@code symbols} the library exports; else a handle that throws. */
    static MethodHandle downcall(FunctionDescriptor desc, String... symbols) {
        SymbolLookup l = lookup;
        if (l != null) {
            for (String s : symbols) {
                var addr = l.find(s);
                if (addr.isPresent()) return Linker.nativeLinker().downcallHandle(addr.get(), desc);
            }
        }
        String why = l == null ? unavailableReason : "libcublasLt.so does not export " + String.join(" or ", symbols);
        MethodType type = desc.toMethodType();
        MethodHandle thrower = MethodHandles.throwException(type.returnType(), UnsatisfiedLinkError.class);
        thrower = MethodHandles.insertArguments(thrower, 0, new UnsatisfiedLinkError(symbols[0] + ": " + why));
        return MethodHandles.dropArguments(thrower, 0, type.parameterList());
    }

    private static final class cublasLtCreate {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CublasLt.C_INT, CublasLt.C_POINTER);
        static final MethodHandle HANDLE = CublasLt.downcall(DESC, "cublasLtCreate");
    }

    /** {@snippet lang=c : cublasStatus_t cublasLtCreate(cublasLtHandle_t *lightHandle) } */
    public static FunctionDescriptor cublasLtCreate$descriptor() { return cublasLtCreate.DESC; }

    public static MethodHandle cublasLtCreate$handle() { return cublasLtCreate.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasLtCreate(cublasLtHandle_t *lightHandle) } */
    public static int cublasLtCreate(MemorySegment lightHandle) {
        var mh$ = cublasLtCreate.HANDLE;
        try {
            return (int) mh$.invokeExact(lightHandle);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasLtDestroy {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CublasLt.C_INT, CublasLt.C_POINTER);
        static final MethodHandle HANDLE = CublasLt.downcall(DESC, "cublasLtDestroy");
    }

    /** {@snippet lang=c : cublasStatus_t cublasLtDestroy(cublasLtHandle_t lightHandle) } */
    public static FunctionDescriptor cublasLtDestroy$descriptor() { return cublasLtDestroy.DESC; }

    public static MethodHandle cublasLtDestroy$handle() { return cublasLtDestroy.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasLtDestroy(cublasLtHandle_t lightHandle) } */
    public static int cublasLtDestroy(MemorySegment lightHandle) {
        var mh$ = cublasLtDestroy.HANDLE;
        try {
            return (int) mh$.invokeExact(lightHandle);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasLtMatmulDescCreate {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CublasLt.C_INT, CublasLt.C_POINTER, CublasLt.C_INT, CublasLt.C_INT);
        static final MethodHandle HANDLE = CublasLt.downcall(DESC, "cublasLtMatmulDescCreate");
    }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *matmulDesc, cublasComputeType_t computeType, cudaDataType_t scaleType) } */
    public static FunctionDescriptor cublasLtMatmulDescCreate$descriptor() { return cublasLtMatmulDescCreate.DESC; }

    public static MethodHandle cublasLtMatmulDescCreate$handle() { return cublasLtMatmulDescCreate.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *matmulDesc, cublasComputeType_t computeType, cudaDataType_t scaleType) } */
    public static int cublasLtMatmulDescCreate(MemorySegment matmulDesc, int computeType, int scaleType) {
        var mh$ = cublasLtMatmulDescCreate.HANDLE;
        try {
            return (int) mh$.invokeExact(matmulDesc, computeType, scaleType);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasLtMatmulDescDestroy {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CublasLt.C_INT, CublasLt.C_POINTER);
        static final MethodHandle HANDLE = CublasLt.downcall(DESC, "cublasLtMatmulDescDestroy");
    }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t matmulDesc) } */
    public static FunctionDescriptor cublasLtMatmulDescDestroy$descriptor() { return cublasLtMatmulDescDestroy.DESC; }

    public static MethodHandle cublasLtMatmulDescDestroy$handle() { return cublasLtMatmulDescDestroy.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t matmulDesc) } */
    public static int cublasLtMatmulDescDestroy(MemorySegment matmulDesc) {
        var mh$ = cublasLtMatmulDescDestroy.HANDLE;
        try {
            return (int) mh$.invokeExact(matmulDesc);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasLtMatmulDescSetAttribute {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CublasLt.C_INT, CublasLt.C_POINTER, CublasLt.C_INT, CublasLt.C_POINTER, CublasLt.C_LONG);
        static final MethodHandle HANDLE = CublasLt.downcall(DESC, "cublasLtMatmulDescSetAttribute");
    }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t matmulDesc, cublasLtMatmulDescAttributes_t attr, const void *buf, size_t sizeInBytes) } */
    public static FunctionDescriptor cublasLtMatmulDescSetAttribute$descriptor() { return cublasLtMatmulDescSetAttribute.DESC; }

    public static MethodHandle cublasLtMatmulDescSetAttribute$handle() { return cublasLtMatmulDescSetAttribute.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t matmulDesc, cublasLtMatmulDescAttributes_t attr, const void *buf, size_t sizeInBytes) } */
    public static int cublasLtMatmulDescSetAttribute(MemorySegment matmulDesc, int attr, MemorySegment buf, long sizeInBytes) {
        var mh$ = cublasLtMatmulDescSetAttribute.HANDLE;
        try {
            return (int) mh$.invokeExact(matmulDesc, attr, buf, sizeInBytes);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasLtMatrixLayoutCreate {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CublasLt.C_INT, CublasLt.C_POINTER, CublasLt.C_INT, CublasLt.C_LONG, CublasLt.C_LONG, CublasLt.C_LONG);
        static final MethodHandle HANDLE = CublasLt.downcall(DESC, "cublasLtMatrixLayoutCreate");
    }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *matLayout, cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld) } */
    public static FunctionDescriptor cublasLtMatrixLayoutCreate$descriptor() { return cublasLtMatrixLayoutCreate.DESC; }

    public static MethodHandle cublasLtMatrixLayoutCreate$handle() { return cublasLtMatrixLayoutCreate.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *matLayout, cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld) } */
    public static int cublasLtMatrixLayoutCreate(MemorySegment matLayout, int type, long rows, long cols, long ld) {
        var mh$ = cublasLtMatrixLayoutCreate.HANDLE;
        try {
            return (int) mh$.invokeExact(matLayout, type, rows, cols, ld);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasLtMatrixLayoutDestroy {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CublasLt.C_INT, CublasLt.C_POINTER);
        static final MethodHandle HANDLE = CublasLt.downcall(DESC, "cublasLtMatrixLayoutDestroy");
    }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t matLayout) } */
    public static FunctionDescriptor cublasLtMatrixLayoutDestroy$descriptor() { return cublasLtMatrixLayoutDestroy.DESC; }

    public static MethodHandle cublasLtMatrixLayoutDestroy$handle() { return cublasLtMatrixLayoutDestroy.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t matLayout) } */
    public static int cublasLtMatrixLayoutDestroy(MemorySegment matLayout) {
        var mh$ = cublasLtMatrixLayoutDestroy.HANDLE;
        try {
            return (int) mh$.invokeExact(matLayout);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasLtMatmulPreferenceCreate {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CublasLt.C_INT, CublasLt.C_POINTER);
        static final MethodHandle HANDLE = CublasLt.downcall(DESC, "cublasLtMatmulPreferenceCreate");
    }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *pref) } */
    public static FunctionDescriptor cublasLtMatmulPreferenceCreate$descriptor() { return cublasLtMatmulPreferenceCreate.DESC; }

    public static MethodHandle cublasLtMatmulPreferenceCreate$handle() { return cublasLtMatmulPreferenceCreate.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *pref) } */
    public static int cublasLtMatmulPreferenceCreate(MemorySegment pref) {
        var mh$ = cublasLtMatmulPreferenceCreate.HANDLE;
        try {
            return (int) mh$.invokeExact(pref);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasLtMatmulPreferenceDestroy {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CublasLt.C_INT, CublasLt.C_POINTER);
        static final MethodHandle HANDLE = CublasLt.downcall(DESC, "cublasLtMatmulPreferenceDestroy");
    }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) } */
    public static FunctionDescriptor cublasLtMatmulPreferenceDestroy$descriptor() { return cublasLtMatmulPreferenceDestroy.DESC; }

    public static MethodHandle cublasLtMatmulPreferenceDestroy$handle() { return cublasLtMatmulPreferenceDestroy.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) } */
    public static int cublasLtMatmulPreferenceDestroy(MemorySegment pref) {
        var mh$ = cublasLtMatmulPreferenceDestroy.HANDLE;
        try {
            return (int) mh$.invokeExact(pref);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasLtMatmulPreferenceSetAttribute {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CublasLt.C_INT, CublasLt.C_POINTER, CublasLt.C_INT, CublasLt.C_POINTER, CublasLt.C_LONG);
        static final MethodHandle HANDLE = CublasLt.downcall(DESC, "cublasLtMatmulPreferenceSetAttribute");
    }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr, const void *buf, size_t sizeInBytes) } */
    public static FunctionDescriptor cublasLtMatmulPreferenceSetAttribute$descriptor() { return cublasLtMatmulPreferenceSetAttribute.DESC; }

    public static MethodHandle cublasLtMatmulPreferenceSetAttribute$handle() { return cublasLtMatmulPreferenceSetAttribute.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr, const void *buf, size_t sizeInBytes) } */
    public static int cublasLtMatmulPreferenceSetAttribute(MemorySegment pref, int attr, MemorySegment buf, long sizeInBytes) {
        var mh$ = cublasLtMatmulPreferenceSetAttribute.HANDLE;
        try {
            return (int) mh$.invokeExact(pref, attr, buf, sizeInBytes);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasLtMatmulAlgoGetHeuristic {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CublasLt.C_INT, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_INT, CublasLt.C_POINTER, CublasLt.C_POINTER);
        static final MethodHandle HANDLE = CublasLt.downcall(DESC, "cublasLtMatmulAlgoGetHeuristic");
    }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t operationDesc, cublasLtMatrixLayout_t Adesc, cublasLtMatrixLayout_t Bdesc, cublasLtMatrixLayout_t Cdesc, cublasLtMatrixLayout_t Ddesc, cublasLtMatmulPreference_t preference, int requestedAlgoCount, cublasLtMatmulHeuristicResult_t heuristicResultsArray[], int *returnAlgoCount) } */
    public static FunctionDescriptor cublasLtMatmulAlgoGetHeuristic$descriptor() { return cublasLtMatmulAlgoGetHeuristic.DESC; }

    public static MethodHandle cublasLtMatmulAlgoGetHeuristic$handle() { return cublasLtMatmulAlgoGetHeuristic.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t operationDesc, cublasLtMatrixLayout_t Adesc, cublasLtMatrixLayout_t Bdesc, cublasLtMatrixLayout_t Cdesc, cublasLtMatrixLayout_t Ddesc, cublasLtMatmulPreference_t preference, int requestedAlgoCount, cublasLtMatmulHeuristicResult_t heuristicResultsArray[], int *returnAlgoCount) } */
    public static int cublasLtMatmulAlgoGetHeuristic(MemorySegment lightHandle, MemorySegment operationDesc, MemorySegment Adesc, MemorySegment Bdesc, MemorySegment Cdesc, MemorySegment Ddesc, MemorySegment preference, int requestedAlgoCount, MemorySegment heuristicResultsArray, MemorySegment returnAlgoCount) {
        var mh$ = cublasLtMatmulAlgoGetHeuristic.HANDLE;
        try {
            return (int) mh$.invokeExact(lightHandle, operationDesc, Adesc, Bdesc, Cdesc, Ddesc, preference, requestedAlgoCount, heuristicResultsArray, returnAlgoCount);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasLtMatmul {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CublasLt.C_INT, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_POINTER, CublasLt.C_LONG, CublasLt.C_POINTER);
        static final MethodHandle HANDLE = CublasLt.downcall(DESC, "cublasLtMatmul");
    }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatmul(cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t computeDesc, const void *alpha, const void *A, cublasLtMatrixLayout_t Adesc, const void *B, cublasLtMatrixLayout_t Bdesc, const void *beta, const void *C, cublasLtMatrixLayout_t Cdesc, void *D, cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t *algo, void *workspace, size_t workspaceSizeInBytes, cudaStream_t stream) } */
    public static FunctionDescriptor cublasLtMatmul$descriptor() { return cublasLtMatmul.DESC; }

    public static MethodHandle cublasLtMatmul$handle() { return cublasLtMatmul.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasLtMatmul(cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t computeDesc, const void *alpha, const void *A, cublasLtMatrixLayout_t Adesc, const void *B, cublasLtMatrixLayout_t Bdesc, const void *beta, const void *C, cublasLtMatrixLayout_t Cdesc, void *D, cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t *algo, void *workspace, size_t workspaceSizeInBytes, cudaStream_t stream) } */
    public static int cublasLtMatmul(MemorySegment lightHandle, MemorySegment computeDesc, MemorySegment alpha, MemorySegment A, MemorySegment Adesc, MemorySegment B, MemorySegment Bdesc, MemorySegment beta, MemorySegment C, MemorySegment Cdesc, MemorySegment D, MemorySegment Ddesc, MemorySegment algo, MemorySegment workspace, long workspaceSizeInBytes, MemorySegment stream) {
        var mh$ = cublasLtMatmul.HANDLE;
        try {
            return (int) mh$.invokeExact(lightHandle, computeDesc, alpha, A, Adesc, B, Bdesc, beta, C, Cdesc, D, Ddesc, algo, workspace, workspaceSizeInBytes, stream);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
}
