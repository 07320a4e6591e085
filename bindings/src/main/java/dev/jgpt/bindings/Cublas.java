// Generated in the shape jextract emits by bindings/gen/gen_cuda.py (see bindings/README.md for
// the jextract command that regenerates it). Source header: cublas_api.h (cuBLAS 12/13). Do not edit by hand:
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
 * The part of cuBLAS ({@code cublas_api.h}) that jgpt uses. cuBLAS is column-major; pointers to
 * matrices are device addresses passed as {@link MemorySegment}s that are never dereferenced on
 * the host; alpha and beta are host pointers ({@code CUBLAS_POINTER_MODE_HOST}, the default).
 */
public final class Cublas {
    private Cublas() {}

    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfFloat C_FLOAT = ValueLayout.JAVA_FLOAT;
    public static final ValueLayout.OfByte C_CHAR = ValueLayout.JAVA_BYTE;
    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS;

    /** {@code cublasStatus_t} */
    public static final int CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_NOT_INITIALIZED = 1, CUBLAS_STATUS_ALLOC_FAILED = 3,
            CUBLAS_STATUS_INVALID_VALUE = 7, CUBLAS_STATUS_ARCH_MISMATCH = 8, CUBLAS_STATUS_MAPPING_ERROR = 11,
            CUBLAS_STATUS_EXECUTION_FAILED = 13, CUBLAS_STATUS_INTERNAL_ERROR = 14, CUBLAS_STATUS_NOT_SUPPORTED = 15,
            CUBLAS_STATUS_LICENSE_ERROR = 16;
    /** {@code cublasOperation_t} */
    public static final int CUBLAS_OP_N = 0, CUBLAS_OP_T = 1;
    /** {@code cublasMath_t} */
    public static final int CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3;
    /** {@code cudaDataType} */
    public static final int CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14;
    /** {@code cublasComputeType_t} */
    public static final int CUBLAS_COMPUTE_32F = 68, CUBLAS_COMPUTE_32F_FAST_16BF = 75, CUBLAS_COMPUTE_32F_FAST_TF32 = 77;
    /** {@code cublasGemmAlgo_t} */
    public static final int CUBLAS_GEMM_DEFAULT = -1;

    /** The name of a {@code cublasStatus_t}, for error messages. */
    public static String statusName(int status) {
        return switch (status) {
            case 0 -> "CUBLAS_STATUS_SUCCESS";
            case 1 -> "CUBLAS_STATUS_NOT_INITIALIZED";
            case 3 -> "CUBLAS_STATUS_ALLOC_FAILED";
            case 7 -> "CUBLAS_STATUS_INVALID_VALUE";
            case 8 -> "CUBLAS_STATUS_ARCH_MISMATCH";
            case 11 -> "CUBLAS_STATUS_MAPPING_ERROR";
            case 13 -> "CUBLAS_STATUS_EXECUTION_FAILED";
            case 14 -> "CUBLAS_STATUS_INTERNAL_ERROR";
            case 15 -> "CUBLAS_STATUS_NOT_SUPPORTED";
            case 16 -> "CUBLAS_STATUS_LICENSE_ERROR";
            default -> "cublasStatus_t " + status;
        };
    }

    private static volatile SymbolLookup lookup;
    private static volatile String unavailableReason = "Cublas.init(SymbolLookup) was not called";

    /** Sets where the symbols come from ({@code libcublas.so}); call before the first function is used. */
    public static synchronized void init(SymbolLookup symbols) {
        lookup = Objects.requireNonNull(symbols, "symbols");
    }

    /**
     * Records why {@code libcublas.so} could not be loaded. Functions used afterwards (without a lookup)
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
        String why = l == null ? unavailableReason : "libcublas.so does not export " + String.join(" or ", symbols);
        MethodType type = desc.toMethodType();
        MethodHandle thrower = MethodHandles.throwException(type.returnType(), UnsatisfiedLinkError.class);
        thrower = MethodHandles.insertArguments(thrower, 0, new UnsatisfiedLinkError(symbols[0] + ": " + why));
        return MethodHandles.dropArguments(thrower, 0, type.parameterList());
    }

    private static final class cublasCreate_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Cublas.C_INT, Cublas.C_POINTER);
        static final MethodHandle HANDLE = Cublas.downcall(DESC, "cublasCreate_v2");
    }

    /** {@snippet lang=c : cublasStatus_t cublasCreate_v2(cublasHandle_t *handle) } */
    public static FunctionDescriptor cublasCreate_v2$descriptor() { return cublasCreate_v2.DESC; }

    public static MethodHandle cublasCreate_v2$handle() { return cublasCreate_v2.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasCreate_v2(cublasHandle_t *handle) } */
    public static int cublasCreate_v2(MemorySegment handle) {
        var mh$ = cublasCreate_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(handle);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasDestroy_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Cublas.C_INT, Cublas.C_POINTER);
        static final MethodHandle HANDLE = Cublas.downcall(DESC, "cublasDestroy_v2");
    }

    /** {@snippet lang=c : cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) } */
    public static FunctionDescriptor cublasDestroy_v2$descriptor() { return cublasDestroy_v2.DESC; }

    public static MethodHandle cublasDestroy_v2$handle() { return cublasDestroy_v2.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) } */
    public static int cublasDestroy_v2(MemorySegment handle) {
        var mh$ = cublasDestroy_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(handle);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasGetVersion_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Cublas.C_INT, Cublas.C_POINTER, Cublas.C_POINTER);
        static final MethodHandle HANDLE = Cublas.downcall(DESC, "cublasGetVersion_v2");
    }

    /** {@snippet lang=c : cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version) } */
    public static FunctionDescriptor cublasGetVersion_v2$descriptor() { return cublasGetVersion_v2.DESC; }

    public static MethodHandle cublasGetVersion_v2$handle() { return cublasGetVersion_v2.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version) } */
    public static int cublasGetVersion_v2(MemorySegment handle, MemorySegment version) {
        var mh$ = cublasGetVersion_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, version);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasSetStream_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Cublas.C_INT, Cublas.C_POINTER, Cublas.C_POINTER);
        static final MethodHandle HANDLE = Cublas.downcall(DESC, "cublasSetStream_v2");
    }

    /** {@snippet lang=c : cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId) } */
    public static FunctionDescriptor cublasSetStream_v2$descriptor() { return cublasSetStream_v2.DESC; }

    public static MethodHandle cublasSetStream_v2$handle() { return cublasSetStream_v2.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId) } */
    public static int cublasSetStream_v2(MemorySegment handle, MemorySegment streamId) {
        var mh$ = cublasSetStream_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, streamId);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasSetMathMode {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Cublas.C_INT, Cublas.C_POINTER, Cublas.C_INT);
        static final MethodHandle HANDLE = Cublas.downcall(DESC, "cublasSetMathMode");
    }

    /** {@snippet lang=c : cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) } */
    public static FunctionDescriptor cublasSetMathMode$descriptor() { return cublasSetMathMode.DESC; }

    public static MethodHandle cublasSetMathMode$handle() { return cublasSetMathMode.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) } */
    public static int cublasSetMathMode(MemorySegment handle, int mode) {
        var mh$ = cublasSetMathMode.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, mode);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasSetWorkspace_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Cublas.C_INT, Cublas.C_POINTER, Cublas.C_POINTER, Cublas.C_LONG);
        static final MethodHandle HANDLE = Cublas.downcall(DESC, "cublasSetWorkspace_v2");
    }

    /** {@snippet lang=c : cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void *workspace, size_t workspaceSizeInBytes) } */
    public static FunctionDescriptor cublasSetWorkspace_v2$descriptor() { return cublasSetWorkspace_v2.DESC; }

    public static MethodHandle cublasSetWorkspace_v2$handle() { return cublasSetWorkspace_v2.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void *workspace, size_t workspaceSizeInBytes) } */
    public static int cublasSetWorkspace_v2(MemorySegment handle, MemorySegment workspace, long workspaceSizeInBytes) {
        var mh$ = cublasSetWorkspace_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, workspace, workspaceSizeInBytes);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasSgemm_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Cublas.C_INT, Cublas.C_POINTER, Cublas.C_INT, Cublas.C_INT, Cublas.C_INT, Cublas.C_INT, Cublas.C_INT, Cublas.C_POINTER, Cublas.C_POINTER, Cublas.C_INT, Cublas.C_POINTER, Cublas.C_INT, Cublas.C_POINTER, Cublas.C_POINTER, Cublas.C_INT);
        static final MethodHandle HANDLE = Cublas.downcall(DESC, "cublasSgemm_v2");
    }

    /** {@snippet lang=c : cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta, float *C, int ldc) } */
    public static FunctionDescriptor cublasSgemm_v2$descriptor() { return cublasSgemm_v2.DESC; }

    public static MethodHandle cublasSgemm_v2$handle() { return cublasSgemm_v2.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta, float *C, int ldc) } */
    public static int cublasSgemm_v2(MemorySegment handle, int transa, int transb, int m, int n, int k, MemorySegment alpha, MemorySegment A, int lda, MemorySegment B, int ldb, MemorySegment beta, MemorySegment C, int ldc) {
        var mh$ = cublasSgemm_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasSgemmStridedBatched {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Cublas.C_INT, Cublas.C_POINTER, Cublas.C_INT, Cublas.C_INT, Cublas.C_INT, Cublas.C_INT, Cublas.C_INT, Cublas.C_POINTER, Cublas.C_POINTER, Cublas.C_INT, Cublas.C_LONG, Cublas.C_POINTER, Cublas.C_INT, Cublas.C_LONG, Cublas.C_POINTER, Cublas.C_POINTER, Cublas.C_INT, Cublas.C_LONG, Cublas.C_INT);
        static final MethodHandle HANDLE = Cublas.downcall(DESC, "cublasSgemmStridedBatched");
    }

    /** {@snippet lang=c : cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const float *alpha, const float *A, int lda, long long int strideA, const float *B, int ldb, long long int strideB, const float *beta, float *C, int ldc, long long int strideC, int batchCount) } */
    public static FunctionDescriptor cublasSgemmStridedBatched$descriptor() { return cublasSgemmStridedBatched.DESC; }

    public static MethodHandle cublasSgemmStridedBatched$handle() { return cublasSgemmStridedBatched.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const float *alpha, const float *A, int lda, long long int strideA, const float *B, int ldb, long long int strideB, const float *beta, float *C, int ldc, long long int strideC, int batchCount) } */
    public static int cublasSgemmStridedBatched(MemorySegment handle, int transa, int transb, int m, int n, int k, MemorySegment alpha, MemorySegment A, int lda, long strideA, MemorySegment B, int ldb, long strideB, MemorySegment beta, MemorySegment C, int ldc, long strideC, int batchCount) {
        var mh$ = cublasSgemmStridedBatched.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, transa, transb, m, n, k, alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC, batchCount);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasGemmEx {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Cublas.C_INT, Cublas.C_POINTER, Cublas.C_INT, Cublas.C_INT, Cublas.C_INT, Cublas.C_INT, Cublas.C_INT, Cublas.C_POINTER, Cublas.C_POINTER, Cublas.C_INT, Cublas.C_INT, Cublas.C_POINTER, Cublas.C_INT, Cublas.C_INT, Cublas.C_POINTER, Cublas.C_POINTER, Cublas.C_INT, Cublas.C_INT, Cublas.C_INT, Cublas.C_INT);
        static final MethodHandle HANDLE = Cublas.downcall(DESC, "cublasGemmEx");
    }

    /** {@snippet lang=c : cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const void *alpha, const void *A, cudaDataType Atype, int lda, const void *B, cudaDataType Btype, int ldb, const void *beta, void *C, cudaDataType Ctype, int ldc, cublasComputeType_t computeType, cublasGemmAlgo_t algo) } */
    public static FunctionDescriptor cublasGemmEx$descriptor() { return cublasGemmEx.DESC; }

    public static MethodHandle cublasGemmEx$handle() { return cublasGemmEx.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const void *alpha, const void *A, cudaDataType Atype, int lda, const void *B, cudaDataType Btype, int ldb, const void *beta, void *C, cudaDataType Ctype, int ldc, cublasComputeType_t computeType, cublasGemmAlgo_t algo) } */
    public static int cublasGemmEx(MemorySegment handle, int transa, int transb, int m, int n, int k, MemorySegment alpha, MemorySegment A, int Atype, int lda, MemorySegment B, int Btype, int ldb, MemorySegment beta, MemorySegment C, int Ctype, int ldc, int computeType, int algo) {
        var mh$ = cublasGemmEx.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc, computeType, algo);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasGemmStridedBatchedEx {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Cublas.C_INT, Cublas.C_POINTER, Cublas.C_INT, Cublas.C_INT, Cublas.C_INT, Cublas.C_INT, Cublas.C_INT, Cublas.C_POINTER, Cublas.C_POINTER, Cublas.C_INT, Cublas.C_INT, Cublas.C_LONG, Cublas.C_POINTER, Cublas.C_INT, Cublas.C_INT, Cublas.C_LONG, Cublas.C_POINTER, Cublas.C_POINTER, Cublas.C_INT, Cublas.C_INT, Cublas.C_LONG, Cublas.C_INT, Cublas.C_INT, Cublas.C_INT);
        static final MethodHandle HANDLE = Cublas.downcall(DESC, "cublasGemmStridedBatchedEx");
    }

    /** {@snippet lang=c : cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const void *alpha, const void *A, cudaDataType Atype, int lda, long long int strideA, const void *B, cudaDataType Btype, int ldb, long long int strideB, const void *beta, void *C, cudaDataType Ctype, int ldc, long long int strideC, int batchCount, cublasComputeType_t computeType, cublasGemmAlgo_t algo) } */
    public static FunctionDescriptor cublasGemmStridedBatchedEx$descriptor() { return cublasGemmStridedBatchedEx.DESC; }

    public static MethodHandle cublasGemmStridedBatchedEx$handle() { return cublasGemmStridedBatchedEx.HANDLE; }

    /** {@snippet lang=c : cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const void *alpha, const void *A, cudaDataType Atype, int lda, long long int strideA, const void *B, cudaDataType Btype, int ldb, long long int strideB, const void *beta, void *C, cudaDataType Ctype, int ldc, long long int strideC, int batchCount, cublasComputeType_t computeType, cublasGemmAlgo_t algo) } */
    public static int cublasGemmStridedBatchedEx(MemorySegment handle, int transa, int transb, int m, int n, int k, MemorySegment alpha, MemorySegment A, int Atype, int lda, long strideA, MemorySegment B, int Btype, int ldb, long strideB, MemorySegment beta, MemorySegment C, int Ctype, int ldc, long strideC, int batchCount, int computeType, int algo) {
        var mh$ = cublasGemmStridedBatchedEx.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, transa, transb, m, n, k, alpha, A, Atype, lda, strideA, B, Btype, ldb, strideB, beta, C, Ctype, ldc, strideC, batchCount, computeType, algo);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
}
