// Generated in the shape jextract emits (see bindings/README.md for the command that regenerates it).
// Source header: native/include/jgpt.h. Do not edit by hand without updating the header and the test that checks both.
package dev.jgpt.bindings;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Bindings for {@code native/include/jgpt.h}: libjgpt, the C kernels of the {@code cpu} backend.
 *
 * <p>Like jextract's output: one class per header, a lazily initialised holder per C function
 * (descriptor, address, {@link MethodHandle}) and a typed static method. Unlike jextract's
 * {@code --library} mode the library is chosen at run time, so a {@link SymbolLookup} is given
 * once with {@link #init(SymbolLookup)} before the first call.
 */
public final class Jgpt {
    private Jgpt() {}

    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfFloat C_FLOAT = ValueLayout.JAVA_FLOAT;
    public static final ValueLayout.OfDouble C_DOUBLE = ValueLayout.JAVA_DOUBLE;
    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS;

    /** {@code #define JGPT_ABI_VERSION 16} */
    public static final int JGPT_ABI_VERSION = 16;

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
        if (l == null) throw new IllegalStateException("Jgpt.init(SymbolLookup) was not called before " + symbol);
        return l.find(symbol).orElseThrow(() -> new UnsatisfiedLinkError("unresolved symbol: " + symbol));
    }

    private static final class jgpt_abi_version {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_abi_version");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC, Linker.Option.critical(false));
    }

    /** {@snippet lang=c : int jgpt_abi_version() } */
    public static FunctionDescriptor jgpt_abi_version$descriptor() { return jgpt_abi_version.DESC; }

    public static MethodHandle jgpt_abi_version$handle() { return jgpt_abi_version.HANDLE; }

    public static MemorySegment jgpt_abi_version$address() { return jgpt_abi_version.ADDR; }

    /** {@snippet lang=c : int jgpt_abi_version() } */
    public static int jgpt_abi_version() {
        var mh$ = jgpt_abi_version.HANDLE;
        try {
            return (int) mh$.invokeExact();
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_set_num_threads {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_set_num_threads");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC, Linker.Option.critical(false));
    }

    /** {@snippet lang=c : void jgpt_set_num_threads(int n) } */
    public static FunctionDescriptor jgpt_set_num_threads$descriptor() { return jgpt_set_num_threads.DESC; }

    public static MethodHandle jgpt_set_num_threads$handle() { return jgpt_set_num_threads.HANDLE; }

    public static MemorySegment jgpt_set_num_threads$address() { return jgpt_set_num_threads.ADDR; }

    /** {@snippet lang=c : void jgpt_set_num_threads(int n) } */
    public static void jgpt_set_num_threads(int n) {
        var mh$ = jgpt_set_num_threads.HANDLE;
        try {
            mh$.invokeExact(n);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_get_max_threads {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_get_max_threads");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC, Linker.Option.critical(false));
    }

    /** {@snippet lang=c : int jgpt_get_max_threads() } */
    public static FunctionDescriptor jgpt_get_max_threads$descriptor() { return jgpt_get_max_threads.DESC; }

    public static MethodHandle jgpt_get_max_threads$handle() { return jgpt_get_max_threads.HANDLE; }

    public static MemorySegment jgpt_get_max_threads$address() { return jgpt_get_max_threads.ADDR; }

    /** {@snippet lang=c : int jgpt_get_max_threads() } */
    public static int jgpt_get_max_threads() {
        var mh$ = jgpt_get_max_threads.HANDLE;
        try {
            return (int) mh$.invokeExact();
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_peak_fma_gflops {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Jgpt.C_DOUBLE, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_peak_fma_gflops");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : double jgpt_peak_fma_gflops(int millis) } */
    public static FunctionDescriptor jgpt_peak_fma_gflops$descriptor() { return jgpt_peak_fma_gflops.DESC; }

    public static MethodHandle jgpt_peak_fma_gflops$handle() { return jgpt_peak_fma_gflops.HANDLE; }

    public static MemorySegment jgpt_peak_fma_gflops$address() { return jgpt_peak_fma_gflops.ADDR; }

    /** {@snippet lang=c : double jgpt_peak_fma_gflops(int millis) } */
    public static double jgpt_peak_fma_gflops(int millis) {
        var mh$ = jgpt_peak_fma_gflops.HANDLE;
        try {
            return (double) mh$.invokeExact(millis);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_encoder_forward {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_encoder_forward");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_encoder_forward(float * out, const int32_t * tokens, const float * wte, const float * wpe, int B, int T, int C) } */
    public static FunctionDescriptor jgpt_encoder_forward$descriptor() { return jgpt_encoder_forward.DESC; }

    public static MethodHandle jgpt_encoder_forward$handle() { return jgpt_encoder_forward.HANDLE; }

    public static MemorySegment jgpt_encoder_forward$address() { return jgpt_encoder_forward.ADDR; }

    /** {@snippet lang=c : void jgpt_encoder_forward(float * out, const int32_t * tokens, const float * wte, const float * wpe, int B, int T, int C) } */
    public static void jgpt_encoder_forward(MemorySegment out, MemorySegment tokens, MemorySegment wte, MemorySegment wpe, int B, int T, int C) {
        var mh$ = jgpt_encoder_forward.HANDLE;
        try {
            mh$.invokeExact(out, tokens, wte, wpe, B, T, C);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_encoder_backward {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_encoder_backward");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_encoder_backward(float * dwte, float * dwpe, const float * dout, const int32_t * tokens, int B, int T, int C) } */
    public static FunctionDescriptor jgpt_encoder_backward$descriptor() { return jgpt_encoder_backward.DESC; }

    public static MethodHandle jgpt_encoder_backward$handle() { return jgpt_encoder_backward.HANDLE; }

    public static MemorySegment jgpt_encoder_backward$address() { return jgpt_encoder_backward.ADDR; }

    /** {@snippet lang=c : void jgpt_encoder_backward(float * dwte, float * dwpe, const float * dout, const int32_t * tokens, int B, int T, int C) } */
    public static void jgpt_encoder_backward(MemorySegment dwte, MemorySegment dwpe, MemorySegment dout, MemorySegment tokens, int B, int T, int C) {
        var mh$ = jgpt_encoder_backward.HANDLE;
        try {
            mh$.invokeExact(dwte, dwpe, dout, tokens, B, T, C);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_layernorm_forward {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_layernorm_forward");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_layernorm_forward(float * out, float * mean, float * rstd, const float * inp, const float * weight, const float * bias, int N, int C) } */
    public static FunctionDescriptor jgpt_layernorm_forward$descriptor() { return jgpt_layernorm_forward.DESC; }

    public static MethodHandle jgpt_layernorm_forward$handle() { return jgpt_layernorm_forward.HANDLE; }

    public static MemorySegment jgpt_layernorm_forward$address() { return jgpt_layernorm_forward.ADDR; }

    /** {@snippet lang=c : void jgpt_layernorm_forward(float * out, float * mean, float * rstd, const float * inp, const float * weight, const float * bias, int N, int C) } */
    public static void jgpt_layernorm_forward(MemorySegment out, MemorySegment mean, MemorySegment rstd, MemorySegment inp, MemorySegment weight, MemorySegment bias, int N, int C) {
        var mh$ = jgpt_layernorm_forward.HANDLE;
        try {
            mh$.invokeExact(out, mean, rstd, inp, weight, bias, N, C);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_layernorm_backward {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_layernorm_backward");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_layernorm_backward(float * dinp, float * dweight, float * dbias, const float * dout, const float * inp, const float * weight, const float * mean, const float * rstd, float * scratch, int N, int C) } */
    public static FunctionDescriptor jgpt_layernorm_backward$descriptor() { return jgpt_layernorm_backward.DESC; }

    public static MethodHandle jgpt_layernorm_backward$handle() { return jgpt_layernorm_backward.HANDLE; }

    public static MemorySegment jgpt_layernorm_backward$address() { return jgpt_layernorm_backward.ADDR; }

    /** {@snippet lang=c : void jgpt_layernorm_backward(float * dinp, float * dweight, float * dbias, const float * dout, const float * inp, const float * weight, const float * mean, const float * rstd, float * scratch, int N, int C) } */
    public static void jgpt_layernorm_backward(MemorySegment dinp, MemorySegment dweight, MemorySegment dbias, MemorySegment dout, MemorySegment inp, MemorySegment weight, MemorySegment mean, MemorySegment rstd, MemorySegment scratch, int N, int C) {
        var mh$ = jgpt_layernorm_backward.HANDLE;
        try {
            mh$.invokeExact(dinp, dweight, dbias, dout, inp, weight, mean, rstd, scratch, N, C);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_broadcast_rows {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_broadcast_rows");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_broadcast_rows(float * out, const float * bias, int N, int OC) } */
    public static FunctionDescriptor jgpt_broadcast_rows$descriptor() { return jgpt_broadcast_rows.DESC; }

    public static MethodHandle jgpt_broadcast_rows$handle() { return jgpt_broadcast_rows.HANDLE; }

    public static MemorySegment jgpt_broadcast_rows$address() { return jgpt_broadcast_rows.ADDR; }

    /** {@snippet lang=c : void jgpt_broadcast_rows(float * out, const float * bias, int N, int OC) } */
    public static void jgpt_broadcast_rows(MemorySegment out, MemorySegment bias, int N, int OC) {
        var mh$ = jgpt_broadcast_rows.HANDLE;
        try {
            mh$.invokeExact(out, bias, N, OC);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_sum_rows {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_sum_rows");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_sum_rows(float * dbias, const float * dout, int N, int OC) } */
    public static FunctionDescriptor jgpt_sum_rows$descriptor() { return jgpt_sum_rows.DESC; }

    public static MethodHandle jgpt_sum_rows$handle() { return jgpt_sum_rows.HANDLE; }

    public static MemorySegment jgpt_sum_rows$address() { return jgpt_sum_rows.ADDR; }

    /** {@snippet lang=c : void jgpt_sum_rows(float * dbias, const float * dout, int N, int OC) } */
    public static void jgpt_sum_rows(MemorySegment dbias, MemorySegment dout, int N, int OC) {
        var mh$ = jgpt_sum_rows.HANDLE;
        try {
            mh$.invokeExact(dbias, dout, N, OC);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_set_blas {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_set_blas");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_set_blas(void * cblas_sgemm, void * openblas_set_num_threads, void * openblas_get_num_threads) } */
    public static FunctionDescriptor jgpt_set_blas$descriptor() { return jgpt_set_blas.DESC; }

    public static MethodHandle jgpt_set_blas$handle() { return jgpt_set_blas.HANDLE; }

    public static MemorySegment jgpt_set_blas$address() { return jgpt_set_blas.ADDR; }

    /** {@snippet lang=c : void jgpt_set_blas(void * cblas_sgemm, void * openblas_set_num_threads, void * openblas_get_num_threads) } */
    public static void jgpt_set_blas(MemorySegment cblas_sgemm, MemorySegment openblas_set_num_threads, MemorySegment openblas_get_num_threads) {
        var mh$ = jgpt_set_blas.HANDLE;
        try {
            mh$.invokeExact(cblas_sgemm, openblas_set_num_threads, openblas_get_num_threads);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_attention_forward {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_attention_forward");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_attention_forward(float * out, float * att, const float * qkv, int B, int T, int C, int NH) } */
    public static FunctionDescriptor jgpt_attention_forward$descriptor() { return jgpt_attention_forward.DESC; }

    public static MethodHandle jgpt_attention_forward$handle() { return jgpt_attention_forward.HANDLE; }

    public static MemorySegment jgpt_attention_forward$address() { return jgpt_attention_forward.ADDR; }

    /** {@snippet lang=c : void jgpt_attention_forward(float * out, float * att, const float * qkv, int B, int T, int C, int NH) } */
    public static void jgpt_attention_forward(MemorySegment out, MemorySegment att, MemorySegment qkv, int B, int T, int C, int NH) {
        var mh$ = jgpt_attention_forward.HANDLE;
        try {
            mh$.invokeExact(out, att, qkv, B, T, C, NH);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_attention_backward {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_attention_backward");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_attention_backward(float * dqkv, float * datt, const float * dout, const float * qkv, const float * att, int B, int T, int C, int NH) } */
    public static FunctionDescriptor jgpt_attention_backward$descriptor() { return jgpt_attention_backward.DESC; }

    public static MethodHandle jgpt_attention_backward$handle() { return jgpt_attention_backward.HANDLE; }

    public static MemorySegment jgpt_attention_backward$address() { return jgpt_attention_backward.ADDR; }

    /** {@snippet lang=c : void jgpt_attention_backward(float * dqkv, float * datt, const float * dout, const float * qkv, const float * att, int B, int T, int C, int NH) } */
    public static void jgpt_attention_backward(MemorySegment dqkv, MemorySegment datt, MemorySegment dout, MemorySegment qkv, MemorySegment att, int B, int T, int C, int NH) {
        var mh$ = jgpt_attention_backward.HANDLE;
        try {
            mh$.invokeExact(dqkv, datt, dout, qkv, att, B, T, C, NH);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_gqa_attention_decode {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_gqa_attention_decode");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_gqa_attention_decode(float * out, float * att, const float * q, const float * kcache, const float * vcache, int pos, int rows, int NH, int NKV, int hs) } */
    public static FunctionDescriptor jgpt_gqa_attention_decode$descriptor() { return jgpt_gqa_attention_decode.DESC; }

    public static MethodHandle jgpt_gqa_attention_decode$handle() { return jgpt_gqa_attention_decode.HANDLE; }

    public static MemorySegment jgpt_gqa_attention_decode$address() { return jgpt_gqa_attention_decode.ADDR; }

    /** {@snippet lang=c : void jgpt_gqa_attention_decode(float * out, float * att, const float * q, const float * kcache, const float * vcache, int pos, int rows, int NH, int NKV, int hs) } */
    public static void jgpt_gqa_attention_decode(MemorySegment out, MemorySegment att, MemorySegment q, MemorySegment kcache, MemorySegment vcache, int pos, int rows, int NH, int NKV, int hs) {
        var mh$ = jgpt_gqa_attention_decode.HANDLE;
        try {
            mh$.invokeExact(out, att, q, kcache, vcache, pos, rows, NH, NKV, hs);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_gelu_forward {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_LONG);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_gelu_forward");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_gelu_forward(float * out, const float * inp, long n) } */
    public static FunctionDescriptor jgpt_gelu_forward$descriptor() { return jgpt_gelu_forward.DESC; }

    public static MethodHandle jgpt_gelu_forward$handle() { return jgpt_gelu_forward.HANDLE; }

    public static MemorySegment jgpt_gelu_forward$address() { return jgpt_gelu_forward.ADDR; }

    /** {@snippet lang=c : void jgpt_gelu_forward(float * out, const float * inp, long n) } */
    public static void jgpt_gelu_forward(MemorySegment out, MemorySegment inp, long n) {
        var mh$ = jgpt_gelu_forward.HANDLE;
        try {
            mh$.invokeExact(out, inp, n);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_gelu_backward {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_LONG);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_gelu_backward");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_gelu_backward(float * dinp, const float * inp, const float * dout, long n) } */
    public static FunctionDescriptor jgpt_gelu_backward$descriptor() { return jgpt_gelu_backward.DESC; }

    public static MethodHandle jgpt_gelu_backward$handle() { return jgpt_gelu_backward.HANDLE; }

    public static MemorySegment jgpt_gelu_backward$address() { return jgpt_gelu_backward.ADDR; }

    /** {@snippet lang=c : void jgpt_gelu_backward(float * dinp, const float * inp, const float * dout, long n) } */
    public static void jgpt_gelu_backward(MemorySegment dinp, MemorySegment inp, MemorySegment dout, long n) {
        var mh$ = jgpt_gelu_backward.HANDLE;
        try {
            mh$.invokeExact(dinp, inp, dout, n);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_residual_forward {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_LONG);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_residual_forward");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_residual_forward(float * out, const float * a, const float * b, long n) } */
    public static FunctionDescriptor jgpt_residual_forward$descriptor() { return jgpt_residual_forward.DESC; }

    public static MethodHandle jgpt_residual_forward$handle() { return jgpt_residual_forward.HANDLE; }

    public static MemorySegment jgpt_residual_forward$address() { return jgpt_residual_forward.ADDR; }

    /** {@snippet lang=c : void jgpt_residual_forward(float * out, const float * a, const float * b, long n) } */
    public static void jgpt_residual_forward(MemorySegment out, MemorySegment a, MemorySegment b, long n) {
        var mh$ = jgpt_residual_forward.HANDLE;
        try {
            mh$.invokeExact(out, a, b, n);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_residual_backward {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_LONG);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_residual_backward");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_residual_backward(float * da, float * db, const float * dout, long n) } */
    public static FunctionDescriptor jgpt_residual_backward$descriptor() { return jgpt_residual_backward.DESC; }

    public static MethodHandle jgpt_residual_backward$handle() { return jgpt_residual_backward.HANDLE; }

    public static MemorySegment jgpt_residual_backward$address() { return jgpt_residual_backward.ADDR; }

    /** {@snippet lang=c : void jgpt_residual_backward(float * da, float * db, const float * dout, long n) } */
    public static void jgpt_residual_backward(MemorySegment da, MemorySegment db, MemorySegment dout, long n) {
        var mh$ = jgpt_residual_backward.HANDLE;
        try {
            mh$.invokeExact(da, db, dout, n);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_accumulate {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_LONG);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_accumulate");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_accumulate(float * y, const float * x, long n) } */
    public static FunctionDescriptor jgpt_accumulate$descriptor() { return jgpt_accumulate.DESC; }

    public static MethodHandle jgpt_accumulate$handle() { return jgpt_accumulate.HANDLE; }

    public static MemorySegment jgpt_accumulate$address() { return jgpt_accumulate.ADDR; }

    /** {@snippet lang=c : void jgpt_accumulate(float * y, const float * x, long n) } */
    public static void jgpt_accumulate(MemorySegment y, MemorySegment x, long n) {
        var mh$ = jgpt_accumulate.HANDLE;
        try {
            mh$.invokeExact(y, x, n);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_softmax_crossentropy {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Jgpt.C_DOUBLE, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_FLOAT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_softmax_crossentropy");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : double jgpt_softmax_crossentropy(float * logits, float * losses, const int32_t * targets, int R, int V, float dloss_scale, int backward) } */
    public static FunctionDescriptor jgpt_softmax_crossentropy$descriptor() { return jgpt_softmax_crossentropy.DESC; }

    public static MethodHandle jgpt_softmax_crossentropy$handle() { return jgpt_softmax_crossentropy.HANDLE; }

    public static MemorySegment jgpt_softmax_crossentropy$address() { return jgpt_softmax_crossentropy.ADDR; }

    /** {@snippet lang=c : double jgpt_softmax_crossentropy(float * logits, float * losses, const int32_t * targets, int R, int V, float dloss_scale, int backward) } */
    public static double jgpt_softmax_crossentropy(MemorySegment logits, MemorySegment losses, MemorySegment targets, int R, int V, float dloss_scale, int backward) {
        var mh$ = jgpt_softmax_crossentropy.HANDLE;
        try {
            return (double) mh$.invokeExact(logits, losses, targets, R, V, dloss_scale, backward);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_classifier {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Jgpt.C_DOUBLE, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_FLOAT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_classifier");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : double jgpt_classifier(float * losses, float * dx, float * dwte, const float * x, const float * wte, const int32_t * targets, float * scratch, int rows, int N, int C, int V, float dloss_scale, int backward) } */
    public static FunctionDescriptor jgpt_classifier$descriptor() { return jgpt_classifier.DESC; }

    public static MethodHandle jgpt_classifier$handle() { return jgpt_classifier.HANDLE; }

    public static MemorySegment jgpt_classifier$address() { return jgpt_classifier.ADDR; }

    /** {@snippet lang=c : double jgpt_classifier(float * losses, float * dx, float * dwte, const float * x, const float * wte, const int32_t * targets, float * scratch, int rows, int N, int C, int V, float dloss_scale, int backward) } */
    public static double jgpt_classifier(MemorySegment losses, MemorySegment dx, MemorySegment dwte, MemorySegment x, MemorySegment wte, MemorySegment targets, MemorySegment scratch, int rows, int N, int C, int V, float dloss_scale, int backward) {
        var mh$ = jgpt_classifier.HANDLE;
        try {
            return (double) mh$.invokeExact(losses, dx, dwte, x, wte, targets, scratch, rows, N, C, V, dloss_scale, backward);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_sum_squares {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Jgpt.C_DOUBLE, Jgpt.C_POINTER, Jgpt.C_LONG);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_sum_squares");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : double jgpt_sum_squares(const float * x, long n) } */
    public static FunctionDescriptor jgpt_sum_squares$descriptor() { return jgpt_sum_squares.DESC; }

    public static MethodHandle jgpt_sum_squares$handle() { return jgpt_sum_squares.HANDLE; }

    public static MemorySegment jgpt_sum_squares$address() { return jgpt_sum_squares.ADDR; }

    /** {@snippet lang=c : double jgpt_sum_squares(const float * x, long n) } */
    public static double jgpt_sum_squares(MemorySegment x, long n) {
        var mh$ = jgpt_sum_squares.HANDLE;
        try {
            return (double) mh$.invokeExact(x, n);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_adamw {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_LONG, Jgpt.C_FLOAT, Jgpt.C_FLOAT, Jgpt.C_FLOAT, Jgpt.C_FLOAT, Jgpt.C_FLOAT, Jgpt.C_INT, Jgpt.C_FLOAT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_adamw");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_adamw(float * params, const float * grads, float * m, float * v, long n, float lr, float beta1, float beta2, float eps, float weight_decay, int step, float grad_scale) } */
    public static FunctionDescriptor jgpt_adamw$descriptor() { return jgpt_adamw.DESC; }

    public static MethodHandle jgpt_adamw$handle() { return jgpt_adamw.HANDLE; }

    public static MemorySegment jgpt_adamw$address() { return jgpt_adamw.ADDR; }

    /** {@snippet lang=c : void jgpt_adamw(float * params, const float * grads, float * m, float * v, long n, float lr, float beta1, float beta2, float eps, float weight_decay, int step, float grad_scale) } */
    public static void jgpt_adamw(MemorySegment params, MemorySegment grads, MemorySegment m, MemorySegment v, long n, float lr, float beta1, float beta2, float eps, float weight_decay, int step, float grad_scale) {
        var mh$ = jgpt_adamw.HANDLE;
        try {
            mh$.invokeExact(params, grads, m, v, n, lr, beta1, beta2, eps, weight_decay, step, grad_scale);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    // ==== Llama decoding (native/src/decode_*.c) ====
    /** {@code #define JGPT_DECODE_F32 0} */
    public static final int JGPT_DECODE_F32 = 0;
    /** {@code #define JGPT_DECODE_BF16 1} */
    public static final int JGPT_DECODE_BF16 = 1;
    /** {@code #define JGPT_DECODE_Q8 2} */
    public static final int JGPT_DECODE_Q8 = 2;
    /** {@code #define JGPT_DECODE_GGML 3} */
    public static final int JGPT_DECODE_GGML = 3;
    /** {@code #define JGPT_LLAMA_DIM 0} */
    public static final int JGPT_LLAMA_DIM = 0;
    /** {@code #define JGPT_LLAMA_HIDDEN 1} */
    public static final int JGPT_LLAMA_HIDDEN = 1;
    /** {@code #define JGPT_LLAMA_LAYERS 2} */
    public static final int JGPT_LLAMA_LAYERS = 2;
    /** {@code #define JGPT_LLAMA_HEADS 3} */
    public static final int JGPT_LLAMA_HEADS = 3;
    /** {@code #define JGPT_LLAMA_KV_HEADS 4} */
    public static final int JGPT_LLAMA_KV_HEADS = 4;
    /** {@code #define JGPT_LLAMA_VOCAB 5} */
    public static final int JGPT_LLAMA_VOCAB = 5;
    /** {@code #define JGPT_LLAMA_SEQ 6} */
    public static final int JGPT_LLAMA_SEQ = 6;
    /** {@code #define JGPT_LLAMA_DTYPE 7} */
    public static final int JGPT_LLAMA_DTYPE = 7;
    /** {@code #define JGPT_LLAMA_GROUP 8} */
    public static final int JGPT_LLAMA_GROUP = 8;
    /** {@code #define JGPT_LLAMA_THREADS 9} */
    public static final int JGPT_LLAMA_THREADS = 9;
    /** {@code #define JGPT_LLAMA_ROPE_THETA 10} */
    public static final int JGPT_LLAMA_ROPE_THETA = 10;
    /** {@code #define JGPT_LLAMA_EPS 11} */
    public static final int JGPT_LLAMA_EPS = 11;
    /** {@code #define JGPT_LLAMA_EMB_TYPE 12} */
    public static final int JGPT_LLAMA_EMB_TYPE = 12;
    /** {@code #define JGPT_LLAMA_KV_TYPE 13} */
    public static final int JGPT_LLAMA_KV_TYPE = 13;
    /** {@code #define JGPT_LLAMA_EMB 16} */
    public static final int JGPT_LLAMA_EMB = 16;
    /** {@code #define JGPT_LLAMA_RMS_ATT 17} */
    public static final int JGPT_LLAMA_RMS_ATT = 17;
    /** {@code #define JGPT_LLAMA_RMS_FFN 18} */
    public static final int JGPT_LLAMA_RMS_FFN = 18;
    /** {@code #define JGPT_LLAMA_RMS_FINAL 19} */
    public static final int JGPT_LLAMA_RMS_FINAL = 19;
    /** {@code #define JGPT_LLAMA_WEIGHTS 20} */
    public static final int JGPT_LLAMA_WEIGHTS = 20;
    /** {@code #define JGPT_LLAMA_KCACHE 44} */
    public static final int JGPT_LLAMA_KCACHE = 44;
    /** {@code #define JGPT_LLAMA_VCACHE 45} */
    public static final int JGPT_LLAMA_VCACHE = 45;
    /** {@code #define JGPT_LLAMA_SGEMM 46} */
    public static final int JGPT_LLAMA_SGEMM = 46;
    /** {@code #define JGPT_LLAMA_POOL 47} */
    public static final int JGPT_LLAMA_POOL = 47;
    /** {@code #define JGPT_LLAMA_PLAN_SLOTS 48} */
    public static final int JGPT_LLAMA_PLAN_SLOTS = 48;
    private static final class jgpt_convert_bf16 {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_LONG);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_convert_bf16");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_convert_bf16(uint16_t * out, const float * in, long n) } */
    public static FunctionDescriptor jgpt_convert_bf16$descriptor() { return jgpt_convert_bf16.DESC; }

    public static MethodHandle jgpt_convert_bf16$handle() { return jgpt_convert_bf16.HANDLE; }

    public static MemorySegment jgpt_convert_bf16$address() { return jgpt_convert_bf16.ADDR; }

    /** {@snippet lang=c : void jgpt_convert_bf16(uint16_t * out, const float * in, long n) } */
    public static void jgpt_convert_bf16(MemorySegment out, MemorySegment in, long n) {
        var mh$ = jgpt_convert_bf16.HANDLE;
        try {
            mh$.invokeExact(out, in, n);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_convert_q8 {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_LONG, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_convert_q8");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_convert_q8(int8_t * out, float * scales, const float * in, long n, int group_size) } */
    public static FunctionDescriptor jgpt_convert_q8$descriptor() { return jgpt_convert_q8.DESC; }

    public static MethodHandle jgpt_convert_q8$handle() { return jgpt_convert_q8.HANDLE; }

    public static MemorySegment jgpt_convert_q8$address() { return jgpt_convert_q8.ADDR; }

    /** {@snippet lang=c : void jgpt_convert_q8(int8_t * out, float * scales, const float * in, long n, int group_size) } */
    public static void jgpt_convert_q8(MemorySegment out, MemorySegment scales, MemorySegment in, long n, int group_size) {
        var mh$ = jgpt_convert_q8.HANDLE;
        try {
            mh$.invokeExact(out, scales, in, n, group_size);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_ggml_gemm {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_FLOAT, Jgpt.C_POINTER, Jgpt.C_LONG, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_ggml_gemm");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_ggml_gemm(float * Y, const float * X, int T, const void * w, int type, int rows, int cols, int mode, float beta, float * tile, long tile_floats, int threads) } */
    public static FunctionDescriptor jgpt_ggml_gemm$descriptor() { return jgpt_ggml_gemm.DESC; }

    public static MethodHandle jgpt_ggml_gemm$handle() { return jgpt_ggml_gemm.HANDLE; }

    public static MemorySegment jgpt_ggml_gemm$address() { return jgpt_ggml_gemm.ADDR; }

    /** {@snippet lang=c : void jgpt_ggml_gemm(float * Y, const float * X, int T, const void * w, int type, int rows, int cols, int mode, float beta, float * tile, long tile_floats, int threads) } */
    public static void jgpt_ggml_gemm(MemorySegment Y, MemorySegment X, int T, MemorySegment w, int type, int rows, int cols, int mode, float beta, MemorySegment tile, long tile_floats, int threads) {
        var mh$ = jgpt_ggml_gemm.HANDLE;
        try {
            mh$.invokeExact(Y, X, T, w, type, rows, cols, mode, beta, tile, tile_floats, threads);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class jgpt_matvec {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_matvec");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_matvec(float * out, const void * w, const float * scales, const float * x, int rows, int cols, int dtype, int group_size) } */
    public static FunctionDescriptor jgpt_matvec$descriptor() { return jgpt_matvec.DESC; }

    public static MethodHandle jgpt_matvec$handle() { return jgpt_matvec.HANDLE; }

    public static MemorySegment jgpt_matvec$address() { return jgpt_matvec.ADDR; }

    /** {@snippet lang=c : void jgpt_matvec(float * out, const void * w, const float * scales, const float * x, int rows, int cols, int dtype, int group_size) } */
    public static void jgpt_matvec(MemorySegment out, MemorySegment w, MemorySegment scales, MemorySegment x, int rows, int cols, int dtype, int group_size) {
        var mh$ = jgpt_matvec.HANDLE;
        try {
            mh$.invokeExact(out, w, scales, x, rows, cols, dtype, group_size);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_pool_create {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Jgpt.C_POINTER, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_pool_create");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void * jgpt_pool_create(int threads) } */
    public static FunctionDescriptor jgpt_pool_create$descriptor() { return jgpt_pool_create.DESC; }

    public static MethodHandle jgpt_pool_create$handle() { return jgpt_pool_create.HANDLE; }

    public static MemorySegment jgpt_pool_create$address() { return jgpt_pool_create.ADDR; }

    /** {@snippet lang=c : void * jgpt_pool_create(int threads) } */
    public static MemorySegment jgpt_pool_create(int threads) {
        var mh$ = jgpt_pool_create.HANDLE;
        try {
            return (MemorySegment) mh$.invokeExact(threads);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_pool_destroy {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_pool_destroy");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_pool_destroy(void * pool) } */
    public static FunctionDescriptor jgpt_pool_destroy$descriptor() { return jgpt_pool_destroy.DESC; }

    public static MethodHandle jgpt_pool_destroy$handle() { return jgpt_pool_destroy.HANDLE; }

    public static MemorySegment jgpt_pool_destroy$address() { return jgpt_pool_destroy.ADDR; }

    /** {@snippet lang=c : void jgpt_pool_destroy(void * pool) } */
    public static void jgpt_pool_destroy(MemorySegment pool) {
        var mh$ = jgpt_pool_destroy.HANDLE;
        try {
            mh$.invokeExact(pool);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_pool_threads {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Jgpt.C_INT, Jgpt.C_POINTER);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_pool_threads");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : int jgpt_pool_threads(const void * pool) } */
    public static FunctionDescriptor jgpt_pool_threads$descriptor() { return jgpt_pool_threads.DESC; }

    public static MethodHandle jgpt_pool_threads$handle() { return jgpt_pool_threads.HANDLE; }

    public static MemorySegment jgpt_pool_threads$address() { return jgpt_pool_threads.ADDR; }

    /** {@snippet lang=c : int jgpt_pool_threads(const void * pool) } */
    public static int jgpt_pool_threads(MemorySegment pool) {
        var mh$ = jgpt_pool_threads.HANDLE;
        try {
            return (int) mh$.invokeExact(pool);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class jgpt_llama_decode_scratch_floats {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Jgpt.C_LONG, Jgpt.C_POINTER);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_llama_decode_scratch_floats");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : long jgpt_llama_decode_scratch_floats(const int64_t * plan) } */
    public static FunctionDescriptor jgpt_llama_decode_scratch_floats$descriptor() { return jgpt_llama_decode_scratch_floats.DESC; }

    public static MethodHandle jgpt_llama_decode_scratch_floats$handle() { return jgpt_llama_decode_scratch_floats.HANDLE; }

    public static MemorySegment jgpt_llama_decode_scratch_floats$address() { return jgpt_llama_decode_scratch_floats.ADDR; }

    /** {@snippet lang=c : long jgpt_llama_decode_scratch_floats(const int64_t * plan) } */
    public static long jgpt_llama_decode_scratch_floats(MemorySegment plan) {
        var mh$ = jgpt_llama_decode_scratch_floats.HANDLE;
        try {
            return (long) mh$.invokeExact(plan);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_llama_prefill_scratch_floats {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Jgpt.C_LONG, Jgpt.C_POINTER, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_llama_prefill_scratch_floats");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : long jgpt_llama_prefill_scratch_floats(const int64_t * plan, int chunk) } */
    public static FunctionDescriptor jgpt_llama_prefill_scratch_floats$descriptor() { return jgpt_llama_prefill_scratch_floats.DESC; }

    public static MethodHandle jgpt_llama_prefill_scratch_floats$handle() { return jgpt_llama_prefill_scratch_floats.HANDLE; }

    public static MemorySegment jgpt_llama_prefill_scratch_floats$address() { return jgpt_llama_prefill_scratch_floats.ADDR; }

    /** {@snippet lang=c : long jgpt_llama_prefill_scratch_floats(const int64_t * plan, int chunk) } */
    public static long jgpt_llama_prefill_scratch_floats(MemorySegment plan, int chunk) {
        var mh$ = jgpt_llama_prefill_scratch_floats.HANDLE;
        try {
            return (long) mh$.invokeExact(plan, chunk);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_llama_decode {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_llama_decode");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_llama_decode(float * logits, const int64_t * plan, float * scratch, int token, int pos) } */
    public static FunctionDescriptor jgpt_llama_decode$descriptor() { return jgpt_llama_decode.DESC; }

    public static MethodHandle jgpt_llama_decode$handle() { return jgpt_llama_decode.HANDLE; }

    public static MemorySegment jgpt_llama_decode$address() { return jgpt_llama_decode.ADDR; }

    /** {@snippet lang=c : void jgpt_llama_decode(float * logits, const int64_t * plan, float * scratch, int token, int pos) } */
    public static void jgpt_llama_decode(MemorySegment logits, MemorySegment plan, MemorySegment scratch, int token, int pos) {
        var mh$ = jgpt_llama_decode.HANDLE;
        try {
            mh$.invokeExact(logits, plan, scratch, token, pos);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_llama_prefill {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_llama_prefill");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_llama_prefill(float * logits, const int64_t * plan, float * scratch, const int32_t * tokens, int T, int pos) } */
    public static FunctionDescriptor jgpt_llama_prefill$descriptor() { return jgpt_llama_prefill.DESC; }

    public static MethodHandle jgpt_llama_prefill$handle() { return jgpt_llama_prefill.HANDLE; }

    public static MemorySegment jgpt_llama_prefill$address() { return jgpt_llama_prefill.ADDR; }

    /** {@snippet lang=c : void jgpt_llama_prefill(float * logits, const int64_t * plan, float * scratch, const int32_t * tokens, int T, int pos) } */
    public static void jgpt_llama_prefill(MemorySegment logits, MemorySegment plan, MemorySegment scratch, MemorySegment tokens, int T, int pos) {
        var mh$ = jgpt_llama_prefill.HANDLE;
        try {
            mh$.invokeExact(logits, plan, scratch, tokens, T, pos);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    /** {@code #define JGPT_GPT2_C 0} */
    public static final int JGPT_GPT2_C = 0;
    /** {@code #define JGPT_GPT2_LAYERS 1} */
    public static final int JGPT_GPT2_LAYERS = 1;
    /** {@code #define JGPT_GPT2_HEADS 2} */
    public static final int JGPT_GPT2_HEADS = 2;
    /** {@code #define JGPT_GPT2_VOCAB 3} */
    public static final int JGPT_GPT2_VOCAB = 3;
    /** {@code #define JGPT_GPT2_SEQ 4} */
    public static final int JGPT_GPT2_SEQ = 4;
    /** {@code #define JGPT_GPT2_DTYPE 5} */
    public static final int JGPT_GPT2_DTYPE = 5;
    /** {@code #define JGPT_GPT2_GROUP 6} */
    public static final int JGPT_GPT2_GROUP = 6;
    /** {@code #define JGPT_GPT2_THREADS 7} */
    public static final int JGPT_GPT2_THREADS = 7;
    /** {@code #define JGPT_GPT2_WTE 8} */
    public static final int JGPT_GPT2_WTE = 8;
    /** {@code #define JGPT_GPT2_WPE 9} */
    public static final int JGPT_GPT2_WPE = 9;
    /** {@code #define JGPT_GPT2_LN1W 10} */
    public static final int JGPT_GPT2_LN1W = 10;
    /** {@code #define JGPT_GPT2_LN1B 11} */
    public static final int JGPT_GPT2_LN1B = 11;
    /** {@code #define JGPT_GPT2_LN2W 12} */
    public static final int JGPT_GPT2_LN2W = 12;
    /** {@code #define JGPT_GPT2_LN2B 13} */
    public static final int JGPT_GPT2_LN2B = 13;
    /** {@code #define JGPT_GPT2_LNFW 14} */
    public static final int JGPT_GPT2_LNFW = 14;
    /** {@code #define JGPT_GPT2_LNFB 15} */
    public static final int JGPT_GPT2_LNFB = 15;
    /** {@code #define JGPT_GPT2_QKVB 16} */
    public static final int JGPT_GPT2_QKVB = 16;
    /** {@code #define JGPT_GPT2_ATTPROJB 17} */
    public static final int JGPT_GPT2_ATTPROJB = 17;
    /** {@code #define JGPT_GPT2_FCB 18} */
    public static final int JGPT_GPT2_FCB = 18;
    /** {@code #define JGPT_GPT2_FCPROJB 19} */
    public static final int JGPT_GPT2_FCPROJB = 19;
    /** {@code #define JGPT_GPT2_WEIGHTS 20} */
    public static final int JGPT_GPT2_WEIGHTS = 20;
    /** {@code #define JGPT_GPT2_KCACHE 35} */
    public static final int JGPT_GPT2_KCACHE = 35;
    /** {@code #define JGPT_GPT2_VCACHE 36} */
    public static final int JGPT_GPT2_VCACHE = 36;
    /** {@code #define JGPT_GPT2_SGEMM 37} */
    public static final int JGPT_GPT2_SGEMM = 37;
    /** {@code #define JGPT_GPT2_POOL 38} */
    public static final int JGPT_GPT2_POOL = 38;
    /** {@code #define JGPT_GPT2_KV_TYPE 39} */
    public static final int JGPT_GPT2_KV_TYPE = 39;
    /** {@code #define JGPT_GPT2_PLAN_SLOTS 40} */
    public static final int JGPT_GPT2_PLAN_SLOTS = 40;
    private static final class jgpt_gpt2_decode_scratch_floats {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Jgpt.C_LONG, Jgpt.C_POINTER);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_gpt2_decode_scratch_floats");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : long jgpt_gpt2_decode_scratch_floats(const int64_t * plan) } */
    public static FunctionDescriptor jgpt_gpt2_decode_scratch_floats$descriptor() { return jgpt_gpt2_decode_scratch_floats.DESC; }

    public static MethodHandle jgpt_gpt2_decode_scratch_floats$handle() { return jgpt_gpt2_decode_scratch_floats.HANDLE; }

    public static MemorySegment jgpt_gpt2_decode_scratch_floats$address() { return jgpt_gpt2_decode_scratch_floats.ADDR; }

    /** {@snippet lang=c : long jgpt_gpt2_decode_scratch_floats(const int64_t * plan) } */
    public static long jgpt_gpt2_decode_scratch_floats(MemorySegment plan) {
        var mh$ = jgpt_gpt2_decode_scratch_floats.HANDLE;
        try {
            return (long) mh$.invokeExact(plan);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_gpt2_prefill_scratch_floats {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Jgpt.C_LONG, Jgpt.C_POINTER, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_gpt2_prefill_scratch_floats");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : long jgpt_gpt2_prefill_scratch_floats(const int64_t * plan, int chunk) } */
    public static FunctionDescriptor jgpt_gpt2_prefill_scratch_floats$descriptor() { return jgpt_gpt2_prefill_scratch_floats.DESC; }

    public static MethodHandle jgpt_gpt2_prefill_scratch_floats$handle() { return jgpt_gpt2_prefill_scratch_floats.HANDLE; }

    public static MemorySegment jgpt_gpt2_prefill_scratch_floats$address() { return jgpt_gpt2_prefill_scratch_floats.ADDR; }

    /** {@snippet lang=c : long jgpt_gpt2_prefill_scratch_floats(const int64_t * plan, int chunk) } */
    public static long jgpt_gpt2_prefill_scratch_floats(MemorySegment plan, int chunk) {
        var mh$ = jgpt_gpt2_prefill_scratch_floats.HANDLE;
        try {
            return (long) mh$.invokeExact(plan, chunk);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_gpt2_decode {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_gpt2_decode");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_gpt2_decode(float * logits, const int64_t * plan, float * scratch, int token, int pos) } */
    public static FunctionDescriptor jgpt_gpt2_decode$descriptor() { return jgpt_gpt2_decode.DESC; }

    public static MethodHandle jgpt_gpt2_decode$handle() { return jgpt_gpt2_decode.HANDLE; }

    public static MemorySegment jgpt_gpt2_decode$address() { return jgpt_gpt2_decode.ADDR; }

    /** {@snippet lang=c : void jgpt_gpt2_decode(float * logits, const int64_t * plan, float * scratch, int token, int pos) } */
    public static void jgpt_gpt2_decode(MemorySegment logits, MemorySegment plan, MemorySegment scratch, int token, int pos) {
        var mh$ = jgpt_gpt2_decode.HANDLE;
        try {
            mh$.invokeExact(logits, plan, scratch, token, pos);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_gpt2_prefill {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_gpt2_prefill");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_gpt2_prefill(float * logits, const int64_t * plan, float * scratch, float * decode_scratch, const int32_t * tokens, int T, int pos) } */
    public static FunctionDescriptor jgpt_gpt2_prefill$descriptor() { return jgpt_gpt2_prefill.DESC; }

    public static MethodHandle jgpt_gpt2_prefill$handle() { return jgpt_gpt2_prefill.HANDLE; }

    public static MemorySegment jgpt_gpt2_prefill$address() { return jgpt_gpt2_prefill.ADDR; }

    /** {@snippet lang=c : void jgpt_gpt2_prefill(float * logits, const int64_t * plan, float * scratch, float * decode_scratch, const int32_t * tokens, int T, int pos) } */
    public static void jgpt_gpt2_prefill(MemorySegment logits, MemorySegment plan, MemorySegment scratch, MemorySegment decode_scratch, MemorySegment tokens, int T, int pos) {
        var mh$ = jgpt_gpt2_prefill.HANDLE;
        try {
            mh$.invokeExact(logits, plan, scratch, decode_scratch, tokens, T, pos);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class jgpt_rmsnorm_forward {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_FLOAT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_rmsnorm_forward");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_rmsnorm_forward(float * out, float * rstd, const float * inp, const float * weight, int N, int C, float eps) } */
    public static FunctionDescriptor jgpt_rmsnorm_forward$descriptor() { return jgpt_rmsnorm_forward.DESC; }

    public static MethodHandle jgpt_rmsnorm_forward$handle() { return jgpt_rmsnorm_forward.HANDLE; }

    public static MemorySegment jgpt_rmsnorm_forward$address() { return jgpt_rmsnorm_forward.ADDR; }

    /** {@snippet lang=c : void jgpt_rmsnorm_forward(float * out, float * rstd, const float * inp, const float * weight, int N, int C, float eps) } */
    public static void jgpt_rmsnorm_forward(MemorySegment out, MemorySegment rstd, MemorySegment inp, MemorySegment weight, int N, int C, float eps) {
        var mh$ = jgpt_rmsnorm_forward.HANDLE;
        try {
            mh$.invokeExact(out, rstd, inp, weight, N, C, eps);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_rmsnorm_backward {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_rmsnorm_backward");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_rmsnorm_backward(float * dinp, float * dweight, const float * dout, const float * inp, const float * weight, const float * rstd, float * scratch, int N, int C) } */
    public static FunctionDescriptor jgpt_rmsnorm_backward$descriptor() { return jgpt_rmsnorm_backward.DESC; }

    public static MethodHandle jgpt_rmsnorm_backward$handle() { return jgpt_rmsnorm_backward.HANDLE; }

    public static MemorySegment jgpt_rmsnorm_backward$address() { return jgpt_rmsnorm_backward.ADDR; }

    /** {@snippet lang=c : void jgpt_rmsnorm_backward(float * dinp, float * dweight, const float * dout, const float * inp, const float * weight, const float * rstd, float * scratch, int N, int C) } */
    public static void jgpt_rmsnorm_backward(MemorySegment dinp, MemorySegment dweight, MemorySegment dout, MemorySegment inp, MemorySegment weight, MemorySegment rstd, MemorySegment scratch, int N, int C) {
        var mh$ = jgpt_rmsnorm_backward.HANDLE;
        try {
            mh$.invokeExact(dinp, dweight, dout, inp, weight, rstd, scratch, N, C);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_rope_forward {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_rope_forward");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_rope_forward(float * x, const float * cos_t, const float * sin_t, int B, int T, int NH, int hs) } */
    public static FunctionDescriptor jgpt_rope_forward$descriptor() { return jgpt_rope_forward.DESC; }

    public static MethodHandle jgpt_rope_forward$handle() { return jgpt_rope_forward.HANDLE; }

    public static MemorySegment jgpt_rope_forward$address() { return jgpt_rope_forward.ADDR; }

    /** {@snippet lang=c : void jgpt_rope_forward(float * x, const float * cos_t, const float * sin_t, int B, int T, int NH, int hs) } */
    public static void jgpt_rope_forward(MemorySegment x, MemorySegment cos_t, MemorySegment sin_t, int B, int T, int NH, int hs) {
        var mh$ = jgpt_rope_forward.HANDLE;
        try {
            mh$.invokeExact(x, cos_t, sin_t, B, T, NH, hs);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_rope_backward {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_rope_backward");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_rope_backward(float * dx, const float * cos_t, const float * sin_t, int B, int T, int NH, int hs) } */
    public static FunctionDescriptor jgpt_rope_backward$descriptor() { return jgpt_rope_backward.DESC; }

    public static MethodHandle jgpt_rope_backward$handle() { return jgpt_rope_backward.HANDLE; }

    public static MemorySegment jgpt_rope_backward$address() { return jgpt_rope_backward.ADDR; }

    /** {@snippet lang=c : void jgpt_rope_backward(float * dx, const float * cos_t, const float * sin_t, int B, int T, int NH, int hs) } */
    public static void jgpt_rope_backward(MemorySegment dx, MemorySegment cos_t, MemorySegment sin_t, int B, int T, int NH, int hs) {
        var mh$ = jgpt_rope_backward.HANDLE;
        try {
            mh$.invokeExact(dx, cos_t, sin_t, B, T, NH, hs);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_swiglu_forward {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_LONG);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_swiglu_forward");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_swiglu_forward(float * out, const float * gate, const float * up, long n) } */
    public static FunctionDescriptor jgpt_swiglu_forward$descriptor() { return jgpt_swiglu_forward.DESC; }

    public static MethodHandle jgpt_swiglu_forward$handle() { return jgpt_swiglu_forward.HANDLE; }

    public static MemorySegment jgpt_swiglu_forward$address() { return jgpt_swiglu_forward.ADDR; }

    /** {@snippet lang=c : void jgpt_swiglu_forward(float * out, const float * gate, const float * up, long n) } */
    public static void jgpt_swiglu_forward(MemorySegment out, MemorySegment gate, MemorySegment up, long n) {
        var mh$ = jgpt_swiglu_forward.HANDLE;
        try {
            mh$.invokeExact(out, gate, up, n);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_swiglu_backward {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_LONG);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_swiglu_backward");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_swiglu_backward(float * dgate, float * dup, const float * dout, const float * gate, const float * up, long n) } */
    public static FunctionDescriptor jgpt_swiglu_backward$descriptor() { return jgpt_swiglu_backward.DESC; }

    public static MethodHandle jgpt_swiglu_backward$handle() { return jgpt_swiglu_backward.HANDLE; }

    public static MemorySegment jgpt_swiglu_backward$address() { return jgpt_swiglu_backward.ADDR; }

    /** {@snippet lang=c : void jgpt_swiglu_backward(float * dgate, float * dup, const float * dout, const float * gate, const float * up, long n) } */
    public static void jgpt_swiglu_backward(MemorySegment dgate, MemorySegment dup, MemorySegment dout, MemorySegment gate, MemorySegment up, long n) {
        var mh$ = jgpt_swiglu_backward.HANDLE;
        try {
            mh$.invokeExact(dgate, dup, dout, gate, up, n);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_gqa_attention_forward {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_gqa_attention_forward");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_gqa_attention_forward(float * out, float * att, const float * q, const float * k, const float * v, int B, int T, int NH, int NKV, int hs) } */
    public static FunctionDescriptor jgpt_gqa_attention_forward$descriptor() { return jgpt_gqa_attention_forward.DESC; }

    public static MethodHandle jgpt_gqa_attention_forward$handle() { return jgpt_gqa_attention_forward.HANDLE; }

    public static MemorySegment jgpt_gqa_attention_forward$address() { return jgpt_gqa_attention_forward.ADDR; }

    /** {@snippet lang=c : void jgpt_gqa_attention_forward(float * out, float * att, const float * q, const float * k, const float * v, int B, int T, int NH, int NKV, int hs) } */
    public static void jgpt_gqa_attention_forward(MemorySegment out, MemorySegment att, MemorySegment q, MemorySegment k, MemorySegment v, int B, int T, int NH, int NKV, int hs) {
        var mh$ = jgpt_gqa_attention_forward.HANDLE;
        try {
            mh$.invokeExact(out, att, q, k, v, B, T, NH, NKV, hs);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_gqa_attention_backward {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_gqa_attention_backward");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_gqa_attention_backward(float * dq, float * dk, float * dv, float * datt, const float * dout, const float * q, const float * k, const float * v, const float * att, int B, int T, int NH, int NKV, int hs) } */
    public static FunctionDescriptor jgpt_gqa_attention_backward$descriptor() { return jgpt_gqa_attention_backward.DESC; }

    public static MethodHandle jgpt_gqa_attention_backward$handle() { return jgpt_gqa_attention_backward.HANDLE; }

    public static MemorySegment jgpt_gqa_attention_backward$address() { return jgpt_gqa_attention_backward.ADDR; }

    /** {@snippet lang=c : void jgpt_gqa_attention_backward(float * dq, float * dk, float * dv, float * datt, const float * dout, const float * q, const float * k, const float * v, const float * att, int B, int T, int NH, int NKV, int hs) } */
    public static void jgpt_gqa_attention_backward(MemorySegment dq, MemorySegment dk, MemorySegment dv, MemorySegment datt, MemorySegment dout, MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment att, int B, int T, int NH, int NKV, int hs) {
        var mh$ = jgpt_gqa_attention_backward.HANDLE;
        try {
            mh$.invokeExact(dq, dk, dv, datt, dout, q, k, v, att, B, T, NH, NKV, hs);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_llama_batch_scratch_floats {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Jgpt.C_LONG, Jgpt.C_POINTER, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_llama_batch_scratch_floats");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : long jgpt_llama_batch_scratch_floats(const int64_t * plan, int max_batch) } */
    public static FunctionDescriptor jgpt_llama_batch_scratch_floats$descriptor() { return jgpt_llama_batch_scratch_floats.DESC; }

    public static MethodHandle jgpt_llama_batch_scratch_floats$handle() { return jgpt_llama_batch_scratch_floats.HANDLE; }

    public static MemorySegment jgpt_llama_batch_scratch_floats$address() { return jgpt_llama_batch_scratch_floats.ADDR; }

    /** {@snippet lang=c : long jgpt_llama_batch_scratch_floats(const int64_t * plan, int max_batch) } */
    public static long jgpt_llama_batch_scratch_floats(MemorySegment plan, int max_batch) {
        var mh$ = jgpt_llama_batch_scratch_floats.HANDLE;
        try {
            return (long) mh$.invokeExact(plan, max_batch);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_llama_decode_batch {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_llama_decode_batch");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_llama_decode_batch(float * logits, const int64_t * plan, float * scratch, const int32_t * tokens, const int32_t * pos, const int64_t * caches, int B) } */
    public static FunctionDescriptor jgpt_llama_decode_batch$descriptor() { return jgpt_llama_decode_batch.DESC; }

    public static MethodHandle jgpt_llama_decode_batch$handle() { return jgpt_llama_decode_batch.HANDLE; }

    public static MemorySegment jgpt_llama_decode_batch$address() { return jgpt_llama_decode_batch.ADDR; }

    /** {@snippet lang=c : void jgpt_llama_decode_batch(float * logits, const int64_t * plan, float * scratch, const int32_t * tokens, const int32_t * pos, const int64_t * caches, int B) } */
    public static void jgpt_llama_decode_batch(MemorySegment logits, MemorySegment plan, MemorySegment scratch, MemorySegment tokens, MemorySegment pos, MemorySegment caches, int B) {
        var mh$ = jgpt_llama_decode_batch.HANDLE;
        try {
            mh$.invokeExact(logits, plan, scratch, tokens, pos, caches, B);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_gpt2_batch_scratch_floats {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(Jgpt.C_LONG, Jgpt.C_POINTER, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_gpt2_batch_scratch_floats");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : long jgpt_gpt2_batch_scratch_floats(const int64_t * plan, int max_batch) } */
    public static FunctionDescriptor jgpt_gpt2_batch_scratch_floats$descriptor() { return jgpt_gpt2_batch_scratch_floats.DESC; }

    public static MethodHandle jgpt_gpt2_batch_scratch_floats$handle() { return jgpt_gpt2_batch_scratch_floats.HANDLE; }

    public static MemorySegment jgpt_gpt2_batch_scratch_floats$address() { return jgpt_gpt2_batch_scratch_floats.ADDR; }

    /** {@snippet lang=c : long jgpt_gpt2_batch_scratch_floats(const int64_t * plan, int max_batch) } */
    public static long jgpt_gpt2_batch_scratch_floats(MemorySegment plan, int max_batch) {
        var mh$ = jgpt_gpt2_batch_scratch_floats.HANDLE;
        try {
            return (long) mh$.invokeExact(plan, max_batch);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
    private static final class jgpt_gpt2_decode_batch {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_POINTER, Jgpt.C_INT);
        static final MemorySegment ADDR = Jgpt.findOrThrow("jgpt_gpt2_decode_batch");
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(ADDR, DESC);
    }

    /** {@snippet lang=c : void jgpt_gpt2_decode_batch(float * logits, const int64_t * plan, float * scratch, const int32_t * tokens, const int32_t * pos, const int64_t * caches, int B) } */
    public static FunctionDescriptor jgpt_gpt2_decode_batch$descriptor() { return jgpt_gpt2_decode_batch.DESC; }

    public static MethodHandle jgpt_gpt2_decode_batch$handle() { return jgpt_gpt2_decode_batch.HANDLE; }

    public static MemorySegment jgpt_gpt2_decode_batch$address() { return jgpt_gpt2_decode_batch.ADDR; }

    /** {@snippet lang=c : void jgpt_gpt2_decode_batch(float * logits, const int64_t * plan, float * scratch, const int32_t * tokens, const int32_t * pos, const int64_t * caches, int B) } */
    public static void jgpt_gpt2_decode_batch(MemorySegment logits, MemorySegment plan, MemorySegment scratch, MemorySegment tokens, MemorySegment pos, MemorySegment caches, int B) {
        var mh$ = jgpt_gpt2_decode_batch.HANDLE;
        try {
            mh$.invokeExact(logits, plan, scratch, tokens, pos, caches, B);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
}
