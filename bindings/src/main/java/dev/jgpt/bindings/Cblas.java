// Generated in the shape jextract emits (see bindings/README.md for the command that regenerates it).
// Source header: cblas.h (OpenBLAS 0.3.30). Do not edit by hand without updating the header and the test that checks both.
package dev.jgpt.bindings;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Bindings for the part of OpenBLAS's {@code cblas.h} that jgpt uses (libopenblas.so.0 exports the cblas symbols).
 *
 * <p>Like jextract's output: one class per header, a lazily initialised holder per C function
 * (descriptor, address, {@link MethodHandle}) and a typed static method. Unlike jextract's
 * {@code --library} mode the library is chosen at run time, so a {@link SymbolLookup} is given
 * once with {@link #init(SymbolLookup)} before the first call.
 */
public final class Cblas {
    private Cblas() {}

    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfFloat C_FLOAT = ValueLayout.JAVA_FLOAT;
    public static final ValueLayout.OfDouble C_DOUBLE = ValueLayout.JAVA_DOUBLE;
    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS;

    /** {@code enum CBLAS_ORDER} */
    public static final int CblasRowMajor = 101, CblasColMajor = 102;
    /** {@code enum CBLAS_TRANSPOSE} */
    public static final int CblasNoTrans = 111, CblasTrans = 112;

    private static volatile SymbolLookup lookup;

    /** Sets where the symbols come from; must be called before any function is used. */
    public static synchronized void init(SymbolLookup symbols) {
        lookup = java.util.Objects.requireNonNull(symbols, "symbols");
    }

    public static boolean isInitialized() {
        return lookup != null;
    }

    static MemorySegment findOrThrow(String symbol) {
        SymbolLookup l = lookup;
        if (l == null) throw new IllegalStateException("Cblas.init(SymbolLookup) was not called before " + symbol);
        return l.find(symbol).orElseThrow(() -> new UnsatisfiedLinkError("unresolved symbol: " + symbol));
    }

    private static final class cblas_sgemm {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Cblas.C_INT, Cblas.C_INT, Cblas.C_INT, Cblas.C_INT, Cblas.C_INT, Cblas.C_INT, Cblas.C_FLOAT, Cblas.C_POINTER, Cblas.C_INT, Cblas.C_POINTER, Cblas.C_INT, Cblas.C_FLOAT, Cblas.C_POINTER, Cblas.C_INT);
        static final MemorySegment ADDR = Cblas.findOrThrow("cblas_sgemm");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void cblas_sgemm(OPENBLAS_CONST enum CBLAS_ORDER Order, OPENBLAS_CONST enum CBLAS_TRANSPOSE TransA, OPENBLAS_CONST enum CBLAS_TRANSPOSE TransB, OPENBLAS_CONST blasint M, OPENBLAS_CONST blasint N, OPENBLAS_CONST blasint K, OPENBLAS_CONST float alpha, OPENBLAS_CONST float * A, OPENBLAS_CONST blasint lda, OPENBLAS_CONST float * B, OPENBLAS_CONST blasint ldb, OPENBLAS_CONST float beta, float * C, OPENBLAS_CONST blasint ldc) } */
    public static FunctionDescriptor cblas_sgemm$descriptor() { return cblas_sgemm.DESC; }

    public static MethodHandle cblas_sgemm$handle() { return cblas_sgemm.HANDLE; }

    public static MemorySegment cblas_sgemm$address() { return cblas_sgemm.ADDR; }

    /** {@snippet lang=c : void cblas_sgemm(OPENBLAS_CONST enum CBLAS_ORDER Order, OPENBLAS_CONST enum CBLAS_TRANSPOSE TransA, OPENBLAS_CONST enum CBLAS_TRANSPOSE TransB, OPENBLAS_CONST blasint M, OPENBLAS_CONST blasint N, OPENBLAS_CONST blasint K, OPENBLAS_CONST float alpha, OPENBLAS_CONST float * A, OPENBLAS_CONST blasint lda, OPENBLAS_CONST float * B, OPENBLAS_CONST blasint ldb, OPENBLAS_CONST float beta, float * C, OPENBLAS_CONST blasint ldc) } */
    public static void cblas_sgemm(int Order, int TransA, int TransB, int M, int N, int K, float alpha, MemorySegment A, int lda, MemorySegment B, int ldb, float beta, MemorySegment C, int ldc) {
        var mh$ = cblas_sgemm.HANDLE;
        try {
            mh$.invokeExact(Order, TransA, TransB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class cblas_sgemv {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Cblas.C_INT, Cblas.C_INT, Cblas.C_INT, Cblas.C_INT, Cblas.C_FLOAT, Cblas.C_POINTER, Cblas.C_INT, Cblas.C_POINTER, Cblas.C_INT, Cblas.C_FLOAT, Cblas.C_POINTER, Cblas.C_INT);
        static final MemorySegment ADDR = Cblas.findOrThrow("cblas_sgemv");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void cblas_sgemv(OPENBLAS_CONST enum CBLAS_ORDER order, OPENBLAS_CONST enum CBLAS_TRANSPOSE trans, OPENBLAS_CONST blasint m, OPENBLAS_CONST blasint n, OPENBLAS_CONST float alpha, OPENBLAS_CONST float * a, OPENBLAS_CONST blasint lda, OPENBLAS_CONST float * x, OPENBLAS_CONST blasint incx, OPENBLAS_CONST float beta, float * y, OPENBLAS_CONST blasint incy) } */
    public static FunctionDescriptor cblas_sgemv$descriptor() { return cblas_sgemv.DESC; }

    public static MethodHandle cblas_sgemv$handle() { return cblas_sgemv.HANDLE; }

    public static MemorySegment cblas_sgemv$address() { return cblas_sgemv.ADDR; }

    /** {@snippet lang=c : void cblas_sgemv(OPENBLAS_CONST enum CBLAS_ORDER order, OPENBLAS_CONST enum CBLAS_TRANSPOSE trans, OPENBLAS_CONST blasint m, OPENBLAS_CONST blasint n, OPENBLAS_CONST float alpha, OPENBLAS_CONST float * a, OPENBLAS_CONST blasint lda, OPENBLAS_CONST float * x, OPENBLAS_CONST blasint incx, OPENBLAS_CONST float beta, float * y, OPENBLAS_CONST blasint incy) } */
    public static void cblas_sgemv(int order, int trans, int m, int n, float alpha, MemorySegment a, int lda, MemorySegment x, int incx, float beta, MemorySegment y, int incy) {
        var mh$ = cblas_sgemv.HANDLE;
        try {
            mh$.invokeExact(order, trans, m, n, alpha, a, lda, x, incx, beta, y, incy);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class cblas_saxpy {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Cblas.C_INT, Cblas.C_FLOAT, Cblas.C_POINTER, Cblas.C_INT, Cblas.C_POINTER, Cblas.C_INT);
        static final MemorySegment ADDR = Cblas.findOrThrow("cblas_saxpy");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void cblas_saxpy(OPENBLAS_CONST blasint n, OPENBLAS_CONST float alpha, OPENBLAS_CONST float * x, OPENBLAS_CONST blasint incx, float * y, OPENBLAS_CONST blasint incy) } */
    public static FunctionDescriptor cblas_saxpy$descriptor() { return cblas_saxpy.DESC; }

    public static MethodHandle cblas_saxpy$handle() { return cblas_saxpy.HANDLE; }

    public static MemorySegment cblas_saxpy$address() { return cblas_saxpy.ADDR; }

    /** {@snippet lang=c : void cblas_saxpy(OPENBLAS_CONST blasint n, OPENBLAS_CONST float alpha, OPENBLAS_CONST float * x, OPENBLAS_CONST blasint incx, float * y, OPENBLAS_CONST blasint incy) } */
    public static void cblas_saxpy(int n, float alpha, MemorySegment x, int incx, MemorySegment y, int incy) {
        var mh$ = cblas_saxpy.HANDLE;
        try {
            mh$.invokeExact(n, alpha, x, incx, y, incy);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class cblas_sdot {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Cblas.C_FLOAT, Cblas.C_INT, Cblas.C_POINTER, Cblas.C_INT, Cblas.C_POINTER, Cblas.C_INT);
        static final MemorySegment ADDR = Cblas.findOrThrow("cblas_sdot");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : float cblas_sdot(OPENBLAS_CONST blasint n, OPENBLAS_CONST float * x, OPENBLAS_CONST blasint incx, OPENBLAS_CONST float * y, OPENBLAS_CONST blasint incy) } */
    public static FunctionDescriptor cblas_sdot$descriptor() { return cblas_sdot.DESC; }

    public static MethodHandle cblas_sdot$handle() { return cblas_sdot.HANDLE; }

    public static MemorySegment cblas_sdot$address() { return cblas_sdot.ADDR; }

    /** {@snippet lang=c : float cblas_sdot(OPENBLAS_CONST blasint n, OPENBLAS_CONST float * x, OPENBLAS_CONST blasint incx, OPENBLAS_CONST float * y, OPENBLAS_CONST blasint incy) } */
    public static float cblas_sdot(int n, MemorySegment x, int incx, MemorySegment y, int incy) {
        var mh$ = cblas_sdot.HANDLE;
        try {
            return (float) mh$.invokeExact(n, x, incx, y, incy);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class cblas_sscal {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Cblas.C_INT, Cblas.C_FLOAT, Cblas.C_POINTER, Cblas.C_INT);
        static final MemorySegment ADDR = Cblas.findOrThrow("cblas_sscal");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void cblas_sscal(OPENBLAS_CONST blasint N, OPENBLAS_CONST float alpha, float * X, OPENBLAS_CONST blasint incX) } */
    public static FunctionDescriptor cblas_sscal$descriptor() { return cblas_sscal.DESC; }

    public static MethodHandle cblas_sscal$handle() { return cblas_sscal.HANDLE; }

    public static MemorySegment cblas_sscal$address() { return cblas_sscal.ADDR; }

    /** {@snippet lang=c : void cblas_sscal(OPENBLAS_CONST blasint N, OPENBLAS_CONST float alpha, float * X, OPENBLAS_CONST blasint incX) } */
    public static void cblas_sscal(int N, float alpha, MemorySegment X, int incX) {
        var mh$ = cblas_sscal.HANDLE;
        try {
            mh$.invokeExact(N, alpha, X, incX);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class openblas_set_num_threads {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Cblas.C_INT);
        static final MemorySegment ADDR = Cblas.findOrThrow("openblas_set_num_threads");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void openblas_set_num_threads(int num_threads) } */
    public static FunctionDescriptor openblas_set_num_threads$descriptor() { return openblas_set_num_threads.DESC; }

    public static MethodHandle openblas_set_num_threads$handle() { return openblas_set_num_threads.HANDLE; }

    public static MemorySegment openblas_set_num_threads$address() { return openblas_set_num_threads.ADDR; }

    /** {@snippet lang=c : void openblas_set_num_threads(int num_threads) } */
    public static void openblas_set_num_threads(int num_threads) {
        var mh$ = openblas_set_num_threads.HANDLE;
        try {
            mh$.invokeExact(num_threads);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class openblas_get_num_threads {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Cblas.C_INT);
        static final MemorySegment ADDR = Cblas.findOrThrow("openblas_get_num_threads");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC, Linker.Option.critical(false));
    }

    /** {@snippet lang=c : int openblas_get_num_threads() } */
    public static FunctionDescriptor openblas_get_num_threads$descriptor() { return openblas_get_num_threads.DESC; }

    public static MethodHandle openblas_get_num_threads$handle() { return openblas_get_num_threads.HANDLE; }

    public static MemorySegment openblas_get_num_threads$address() { return openblas_get_num_threads.ADDR; }

    /** {@snippet lang=c : int openblas_get_num_threads() } */
    public static int openblas_get_num_threads() {
        var mh$ = openblas_get_num_threads.HANDLE;
        try {
            return (int) mh$.invokeExact();
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class openblas_get_num_procs {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Cblas.C_INT);
        static final MemorySegment ADDR = Cblas.findOrThrow("openblas_get_num_procs");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC, Linker.Option.critical(false));
    }

    /** {@snippet lang=c : int openblas_get_num_procs() } */
    public static FunctionDescriptor openblas_get_num_procs$descriptor() { return openblas_get_num_procs.DESC; }

    public static MethodHandle openblas_get_num_procs$handle() { return openblas_get_num_procs.HANDLE; }

    public static MemorySegment openblas_get_num_procs$address() { return openblas_get_num_procs.ADDR; }

    /** {@snippet lang=c : int openblas_get_num_procs() } */
    public static int openblas_get_num_procs() {
        var mh$ = openblas_get_num_procs.HANDLE;
        try {
            return (int) mh$.invokeExact();
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class openblas_get_config {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Cblas.C_POINTER);
        static final MemorySegment ADDR = Cblas.findOrThrow("openblas_get_config");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC, Linker.Option.critical(false));
    }

    /** {@snippet lang=c : char* openblas_get_config() } */
    public static FunctionDescriptor openblas_get_config$descriptor() { return openblas_get_config.DESC; }

    public static MethodHandle openblas_get_config$handle() { return openblas_get_config.HANDLE; }

    public static MemorySegment openblas_get_config$address() { return openblas_get_config.ADDR; }

    /** {@snippet lang=c : char* openblas_get_config() } */
    public static MemorySegment openblas_get_config() {
        var mh$ = openblas_get_config.HANDLE;
        try {
            return (MemorySegment) mh$.invokeExact();
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class openblas_get_corename {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Cblas.C_POINTER);
        static final MemorySegment ADDR = Cblas.findOrThrow("openblas_get_corename");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC, Linker.Option.critical(false));
    }

    /** {@snippet lang=c : char* openblas_get_corename() } */
    public static FunctionDescriptor openblas_get_corename$descriptor() { return openblas_get_corename.DESC; }

    public static MethodHandle openblas_get_corename$handle() { return openblas_get_corename.HANDLE; }

    public static MemorySegment openblas_get_corename$address() { return openblas_get_corename.ADDR; }

    /** {@snippet lang=c : char* openblas_get_corename() } */
    public static MemorySegment openblas_get_corename() {
        var mh$ = openblas_get_corename.HANDLE;
        try {
            return (MemorySegment) mh$.invokeExact();
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class openblas_get_parallel {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Cblas.C_INT);
        static final MemorySegment ADDR = Cblas.findOrThrow("openblas_get_parallel");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC, Linker.Option.critical(false));
    }

    /** {@snippet lang=c : int openblas_get_parallel() } */
    public static FunctionDescriptor openblas_get_parallel$descriptor() { return openblas_get_parallel.DESC; }

    public static MethodHandle openblas_get_parallel$handle() { return openblas_get_parallel.HANDLE; }

    public static MemorySegment openblas_get_parallel$address() { return openblas_get_parallel.ADDR; }

    /** {@snippet lang=c : int openblas_get_parallel() } */
    public static int openblas_get_parallel() {
        var mh$ = openblas_get_parallel.HANDLE;
        try {
            return (int) mh$.invokeExact();
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
}

