// Generated in the shape jextract emits by bindings/gen/gen_cuda.py (see bindings/README.md for
// the jextract command that regenerates it). Source header: cuda.h (CUDA 13.0). Do not edit by hand:
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
 * The part of the CUDA driver API ({@code cuda.h}) that jgpt uses, bound to the explicit
 * versioned symbols the header's macros map to ({@code cuMemAlloc} is {@code cuMemAlloc_v2}).
 * Device pointers ({@code CUdeviceptr}) are {@code long}; handles are {@link MemorySegment}s.
 * The library is found at run time ({@code dev.jgpt.backend.cuda.CudaLibraries}), which calls
 * {@link #init(SymbolLookup)} or {@link #markUnavailable(String)} once.
 */
public final class CudaDriver {
    private CudaDriver() {}

    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfFloat C_FLOAT = ValueLayout.JAVA_FLOAT;
    public static final ValueLayout.OfByte C_CHAR = ValueLayout.JAVA_BYTE;
    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS;

    /** {@code CUresult} values jgpt names in its messages (cuda.h, CUDA 13.0). */
    public static final int CUDA_SUCCESS = 0, CUDA_ERROR_INVALID_VALUE = 1, CUDA_ERROR_OUT_OF_MEMORY = 2,
            CUDA_ERROR_NOT_INITIALIZED = 3, CUDA_ERROR_STUB_LIBRARY = 34, CUDA_ERROR_NO_DEVICE = 100,
            CUDA_ERROR_INVALID_IMAGE = 200, CUDA_ERROR_INVALID_CONTEXT = 201, CUDA_ERROR_NO_BINARY_FOR_GPU = 209,
            CUDA_ERROR_INVALID_PTX = 218, CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222, CUDA_ERROR_INVALID_HANDLE = 400,
            CUDA_ERROR_NOT_FOUND = 500, CUDA_ERROR_NOT_READY = 600, CUDA_ERROR_ILLEGAL_ADDRESS = 700,
            CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES = 701, CUDA_ERROR_LAUNCH_TIMEOUT = 702,
            CUDA_ERROR_MISALIGNED_ADDRESS = 716, CUDA_ERROR_LAUNCH_FAILED = 719,
            CUDA_ERROR_SYSTEM_DRIVER_MISMATCH = 803, CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED = 900,
            CUDA_ERROR_STREAM_CAPTURE_INVALIDATED = 901, CUDA_ERROR_STREAM_CAPTURE_IMPLICIT = 906, CUDA_ERROR_UNKNOWN = 999;
    /** {@code CUdevice_attribute} values used by jgpt. */
    public static final int CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1, CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X = 5,
            CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y = 6, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK = 8,
            CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16, CU_DEVICE_ATTRIBUTE_PCI_BUS_ID = 33,
            CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
            CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
    /** {@code CUfunction_attribute} values used by jgpt. */
    public static final int CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1,
            CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES = 3, CU_FUNC_ATTRIBUTE_NUM_REGS = 4,
            CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
    /** Stream and event flags. */
    public static final int CU_STREAM_DEFAULT = 0, CU_STREAM_NON_BLOCKING = 1, CU_EVENT_DEFAULT = 0,
            CU_EVENT_BLOCKING_SYNC = 1, CU_EVENT_DISABLE_TIMING = 2;
    /** {@code CUstreamCaptureMode} and {@code CUstreamCaptureStatus} (stream capture into a CUDA graph). */
    public static final int CU_STREAM_CAPTURE_MODE_GLOBAL = 0, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1,
            CU_STREAM_CAPTURE_MODE_RELAXED = 2, CU_STREAM_CAPTURE_STATUS_NONE = 0, CU_STREAM_CAPTURE_STATUS_ACTIVE = 1,
            CU_STREAM_CAPTURE_STATUS_INVALIDATED = 2;

    private static volatile SymbolLookup lookup;
    private static volatile String unavailableReason = "CudaDriver.init(SymbolLookup) was not called";

    /** Sets where the symbols come from ({@code libcuda.so.1}); call before the first function is used. */
    public static synchronized void init(SymbolLookup symbols) {
        lookup = Objects.requireNonNull(symbols, "symbols");
    }

    /**
     * Records why {@code libcuda.so.1} could not be loaded. Functions used afterwards (without a lookup)
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
        String why = l == null ? unavailableReason : "libcuda.so.1 does not export " + String.join(" or ", symbols);
        MethodType type = desc.toMethodType();
        MethodHandle thrower = MethodHandles.throwException(type.returnType(), UnsatisfiedLinkError.class);
        thrower = MethodHandles.insertArguments(thrower, 0, new UnsatisfiedLinkError(symbols[0] + ": " + why));
        return MethodHandles.dropArguments(thrower, 0, type.parameterList());
    }

    private static final class cuInit {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_INT);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuInit");
    }

    /** {@snippet lang=c : CUresult cuInit(unsigned int Flags) } */
    public static FunctionDescriptor cuInit$descriptor() { return cuInit.DESC; }

    public static MethodHandle cuInit$handle() { return cuInit.HANDLE; }

    /** {@snippet lang=c : CUresult cuInit(unsigned int Flags) } */
    public static int cuInit(int Flags) {
        var mh$ = cuInit.HANDLE;
        try {
            return (int) mh$.invokeExact(Flags);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuDriverGetVersion {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuDriverGetVersion");
    }

    /** {@snippet lang=c : CUresult cuDriverGetVersion(int *driverVersion) } */
    public static FunctionDescriptor cuDriverGetVersion$descriptor() { return cuDriverGetVersion.DESC; }

    public static MethodHandle cuDriverGetVersion$handle() { return cuDriverGetVersion.HANDLE; }

    /** {@snippet lang=c : CUresult cuDriverGetVersion(int *driverVersion) } */
    public static int cuDriverGetVersion(MemorySegment driverVersion) {
        var mh$ = cuDriverGetVersion.HANDLE;
        try {
            return (int) mh$.invokeExact(driverVersion);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuDeviceGetCount {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuDeviceGetCount");
    }

    /** {@snippet lang=c : CUresult cuDeviceGetCount(int *count) } */
    public static FunctionDescriptor cuDeviceGetCount$descriptor() { return cuDeviceGetCount.DESC; }

    public static MethodHandle cuDeviceGetCount$handle() { return cuDeviceGetCount.HANDLE; }

    /** {@snippet lang=c : CUresult cuDeviceGetCount(int *count) } */
    public static int cuDeviceGetCount(MemorySegment count) {
        var mh$ = cuDeviceGetCount.HANDLE;
        try {
            return (int) mh$.invokeExact(count);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuDeviceGet {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_INT);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuDeviceGet");
    }

    /** {@snippet lang=c : CUresult cuDeviceGet(CUdevice *device, int ordinal) } */
    public static FunctionDescriptor cuDeviceGet$descriptor() { return cuDeviceGet.DESC; }

    public static MethodHandle cuDeviceGet$handle() { return cuDeviceGet.HANDLE; }

    /** {@snippet lang=c : CUresult cuDeviceGet(CUdevice *device, int ordinal) } */
    public static int cuDeviceGet(MemorySegment device, int ordinal) {
        var mh$ = cuDeviceGet.HANDLE;
        try {
            return (int) mh$.invokeExact(device, ordinal);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuDeviceGetName {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_INT, CudaDriver.C_INT);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuDeviceGetName");
    }

    /** {@snippet lang=c : CUresult cuDeviceGetName(char *name, int len, CUdevice dev) } */
    public static FunctionDescriptor cuDeviceGetName$descriptor() { return cuDeviceGetName.DESC; }

    public static MethodHandle cuDeviceGetName$handle() { return cuDeviceGetName.HANDLE; }

    /** {@snippet lang=c : CUresult cuDeviceGetName(char *name, int len, CUdevice dev) } */
    public static int cuDeviceGetName(MemorySegment name, int len, int dev) {
        var mh$ = cuDeviceGetName.HANDLE;
        try {
            return (int) mh$.invokeExact(name, len, dev);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuDeviceGetAttribute {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_INT, CudaDriver.C_INT);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuDeviceGetAttribute");
    }

    /** {@snippet lang=c : CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev) } */
    public static FunctionDescriptor cuDeviceGetAttribute$descriptor() { return cuDeviceGetAttribute.DESC; }

    public static MethodHandle cuDeviceGetAttribute$handle() { return cuDeviceGetAttribute.HANDLE; }

    /** {@snippet lang=c : CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev) } */
    public static int cuDeviceGetAttribute(MemorySegment pi, int attrib, int dev) {
        var mh$ = cuDeviceGetAttribute.HANDLE;
        try {
            return (int) mh$.invokeExact(pi, attrib, dev);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuDeviceTotalMem_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_INT);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuDeviceTotalMem_v2");
    }

    /** {@snippet lang=c : CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev) } */
    public static FunctionDescriptor cuDeviceTotalMem_v2$descriptor() { return cuDeviceTotalMem_v2.DESC; }

    public static MethodHandle cuDeviceTotalMem_v2$handle() { return cuDeviceTotalMem_v2.HANDLE; }

    /** {@snippet lang=c : CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev) } */
    public static int cuDeviceTotalMem_v2(MemorySegment bytes, int dev) {
        var mh$ = cuDeviceTotalMem_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(bytes, dev);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuDevicePrimaryCtxRetain {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_INT);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuDevicePrimaryCtxRetain");
    }

    /** {@snippet lang=c : CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev) } */
    public static FunctionDescriptor cuDevicePrimaryCtxRetain$descriptor() { return cuDevicePrimaryCtxRetain.DESC; }

    public static MethodHandle cuDevicePrimaryCtxRetain$handle() { return cuDevicePrimaryCtxRetain.HANDLE; }

    /** {@snippet lang=c : CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev) } */
    public static int cuDevicePrimaryCtxRetain(MemorySegment pctx, int dev) {
        var mh$ = cuDevicePrimaryCtxRetain.HANDLE;
        try {
            return (int) mh$.invokeExact(pctx, dev);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuDevicePrimaryCtxRelease_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_INT);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuDevicePrimaryCtxRelease_v2");
    }

    /** {@snippet lang=c : CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) } */
    public static FunctionDescriptor cuDevicePrimaryCtxRelease_v2$descriptor() { return cuDevicePrimaryCtxRelease_v2.DESC; }

    public static MethodHandle cuDevicePrimaryCtxRelease_v2$handle() { return cuDevicePrimaryCtxRelease_v2.HANDLE; }

    /** {@snippet lang=c : CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) } */
    public static int cuDevicePrimaryCtxRelease_v2(int dev) {
        var mh$ = cuDevicePrimaryCtxRelease_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dev);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuCtxSetCurrent {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuCtxSetCurrent");
    }

    /** {@snippet lang=c : CUresult cuCtxSetCurrent(CUcontext ctx) } */
    public static FunctionDescriptor cuCtxSetCurrent$descriptor() { return cuCtxSetCurrent.DESC; }

    public static MethodHandle cuCtxSetCurrent$handle() { return cuCtxSetCurrent.HANDLE; }

    /** {@snippet lang=c : CUresult cuCtxSetCurrent(CUcontext ctx) } */
    public static int cuCtxSetCurrent(MemorySegment ctx) {
        var mh$ = cuCtxSetCurrent.HANDLE;
        try {
            return (int) mh$.invokeExact(ctx);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuCtxGetCurrent {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuCtxGetCurrent");
    }

    /** {@snippet lang=c : CUresult cuCtxGetCurrent(CUcontext *pctx) } */
    public static FunctionDescriptor cuCtxGetCurrent$descriptor() { return cuCtxGetCurrent.DESC; }

    public static MethodHandle cuCtxGetCurrent$handle() { return cuCtxGetCurrent.HANDLE; }

    /** {@snippet lang=c : CUresult cuCtxGetCurrent(CUcontext *pctx) } */
    public static int cuCtxGetCurrent(MemorySegment pctx) {
        var mh$ = cuCtxGetCurrent.HANDLE;
        try {
            return (int) mh$.invokeExact(pctx);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuCtxSynchronize {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuCtxSynchronize");
    }

    /** {@snippet lang=c : CUresult cuCtxSynchronize(void) } */
    public static FunctionDescriptor cuCtxSynchronize$descriptor() { return cuCtxSynchronize.DESC; }

    public static MethodHandle cuCtxSynchronize$handle() { return cuCtxSynchronize.HANDLE; }

    /** {@snippet lang=c : CUresult cuCtxSynchronize(void) } */
    public static int cuCtxSynchronize() {
        var mh$ = cuCtxSynchronize.HANDLE;
        try {
            return (int) mh$.invokeExact();
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuModuleLoadData {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuModuleLoadData");
    }

    /** {@snippet lang=c : CUresult cuModuleLoadData(CUmodule *module, const void *image) } */
    public static FunctionDescriptor cuModuleLoadData$descriptor() { return cuModuleLoadData.DESC; }

    public static MethodHandle cuModuleLoadData$handle() { return cuModuleLoadData.HANDLE; }

    /** {@snippet lang=c : CUresult cuModuleLoadData(CUmodule *module, const void *image) } */
    public static int cuModuleLoadData(MemorySegment module, MemorySegment image) {
        var mh$ = cuModuleLoadData.HANDLE;
        try {
            return (int) mh$.invokeExact(module, image);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuModuleGetFunction {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_POINTER, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuModuleGetFunction");
    }

    /** {@snippet lang=c : CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name) } */
    public static FunctionDescriptor cuModuleGetFunction$descriptor() { return cuModuleGetFunction.DESC; }

    public static MethodHandle cuModuleGetFunction$handle() { return cuModuleGetFunction.HANDLE; }

    /** {@snippet lang=c : CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name) } */
    public static int cuModuleGetFunction(MemorySegment hfunc, MemorySegment hmod, MemorySegment name) {
        var mh$ = cuModuleGetFunction.HANDLE;
        try {
            return (int) mh$.invokeExact(hfunc, hmod, name);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuModuleUnload {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuModuleUnload");
    }

    /** {@snippet lang=c : CUresult cuModuleUnload(CUmodule hmod) } */
    public static FunctionDescriptor cuModuleUnload$descriptor() { return cuModuleUnload.DESC; }

    public static MethodHandle cuModuleUnload$handle() { return cuModuleUnload.HANDLE; }

    /** {@snippet lang=c : CUresult cuModuleUnload(CUmodule hmod) } */
    public static int cuModuleUnload(MemorySegment hmod) {
        var mh$ = cuModuleUnload.HANDLE;
        try {
            return (int) mh$.invokeExact(hmod);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuFuncSetAttribute {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_INT, CudaDriver.C_INT);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuFuncSetAttribute");
    }

    /** {@snippet lang=c : CUresult cuFuncSetAttribute(CUfunction hfunc, CUfunction_attribute attrib, int value) } */
    public static FunctionDescriptor cuFuncSetAttribute$descriptor() { return cuFuncSetAttribute.DESC; }

    public static MethodHandle cuFuncSetAttribute$handle() { return cuFuncSetAttribute.HANDLE; }

    /** {@snippet lang=c : CUresult cuFuncSetAttribute(CUfunction hfunc, CUfunction_attribute attrib, int value) } */
    public static int cuFuncSetAttribute(MemorySegment hfunc, int attrib, int value) {
        var mh$ = cuFuncSetAttribute.HANDLE;
        try {
            return (int) mh$.invokeExact(hfunc, attrib, value);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuFuncGetAttribute {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_INT, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuFuncGetAttribute");
    }

    /** {@snippet lang=c : CUresult cuFuncGetAttribute(int *pi, CUfunction_attribute attrib, CUfunction hfunc) } */
    public static FunctionDescriptor cuFuncGetAttribute$descriptor() { return cuFuncGetAttribute.DESC; }

    public static MethodHandle cuFuncGetAttribute$handle() { return cuFuncGetAttribute.HANDLE; }

    /** {@snippet lang=c : CUresult cuFuncGetAttribute(int *pi, CUfunction_attribute attrib, CUfunction hfunc) } */
    public static int cuFuncGetAttribute(MemorySegment pi, int attrib, MemorySegment hfunc) {
        var mh$ = cuFuncGetAttribute.HANDLE;
        try {
            return (int) mh$.invokeExact(pi, attrib, hfunc);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemAlloc_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_LONG);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuMemAlloc_v2");
    }

    /** {@snippet lang=c : CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize) } */
    public static FunctionDescriptor cuMemAlloc_v2$descriptor() { return cuMemAlloc_v2.DESC; }

    public static MethodHandle cuMemAlloc_v2$handle() { return cuMemAlloc_v2.HANDLE; }

    /** {@snippet lang=c : CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize) } */
    public static int cuMemAlloc_v2(MemorySegment dptr, long bytesize) {
        var mh$ = cuMemAlloc_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dptr, bytesize);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemFree_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_LONG);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuMemFree_v2");
    }

    /** {@snippet lang=c : CUresult cuMemFree_v2(CUdeviceptr dptr) } */
    public static FunctionDescriptor cuMemFree_v2$descriptor() { return cuMemFree_v2.DESC; }

    public static MethodHandle cuMemFree_v2$handle() { return cuMemFree_v2.HANDLE; }

    /** {@snippet lang=c : CUresult cuMemFree_v2(CUdeviceptr dptr) } */
    public static int cuMemFree_v2(long dptr) {
        var mh$ = cuMemFree_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dptr);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemGetInfo_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuMemGetInfo_v2");
    }

    /** {@snippet lang=c : CUresult cuMemGetInfo_v2(size_t *free, size_t *total) } */
    public static FunctionDescriptor cuMemGetInfo_v2$descriptor() { return cuMemGetInfo_v2.DESC; }

    public static MethodHandle cuMemGetInfo_v2$handle() { return cuMemGetInfo_v2.HANDLE; }

    /** {@snippet lang=c : CUresult cuMemGetInfo_v2(size_t *free, size_t *total) } */
    public static int cuMemGetInfo_v2(MemorySegment free, MemorySegment total) {
        var mh$ = cuMemGetInfo_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(free, total);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemAllocHost_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_LONG);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuMemAllocHost_v2");
    }

    /** {@snippet lang=c : CUresult cuMemAllocHost_v2(void **pp, size_t bytesize) } */
    public static FunctionDescriptor cuMemAllocHost_v2$descriptor() { return cuMemAllocHost_v2.DESC; }

    public static MethodHandle cuMemAllocHost_v2$handle() { return cuMemAllocHost_v2.HANDLE; }

    /** {@snippet lang=c : CUresult cuMemAllocHost_v2(void **pp, size_t bytesize) } */
    public static int cuMemAllocHost_v2(MemorySegment pp, long bytesize) {
        var mh$ = cuMemAllocHost_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(pp, bytesize);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemFreeHost {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuMemFreeHost");
    }

    /** {@snippet lang=c : CUresult cuMemFreeHost(void *p) } */
    public static FunctionDescriptor cuMemFreeHost$descriptor() { return cuMemFreeHost.DESC; }

    public static MethodHandle cuMemFreeHost$handle() { return cuMemFreeHost.HANDLE; }

    /** {@snippet lang=c : CUresult cuMemFreeHost(void *p) } */
    public static int cuMemFreeHost(MemorySegment p) {
        var mh$ = cuMemFreeHost.HANDLE;
        try {
            return (int) mh$.invokeExact(p);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemcpyHtoD_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_LONG, CudaDriver.C_POINTER, CudaDriver.C_LONG);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuMemcpyHtoD_v2");
    }

    /** {@snippet lang=c : CUresult cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount) } */
    public static FunctionDescriptor cuMemcpyHtoD_v2$descriptor() { return cuMemcpyHtoD_v2.DESC; }

    public static MethodHandle cuMemcpyHtoD_v2$handle() { return cuMemcpyHtoD_v2.HANDLE; }

    /** {@snippet lang=c : CUresult cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount) } */
    public static int cuMemcpyHtoD_v2(long dstDevice, MemorySegment srcHost, long ByteCount) {
        var mh$ = cuMemcpyHtoD_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstDevice, srcHost, ByteCount);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemcpyDtoH_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_LONG, CudaDriver.C_LONG);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuMemcpyDtoH_v2");
    }

    /** {@snippet lang=c : CUresult cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount) } */
    public static FunctionDescriptor cuMemcpyDtoH_v2$descriptor() { return cuMemcpyDtoH_v2.DESC; }

    public static MethodHandle cuMemcpyDtoH_v2$handle() { return cuMemcpyDtoH_v2.HANDLE; }

    /** {@snippet lang=c : CUresult cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount) } */
    public static int cuMemcpyDtoH_v2(MemorySegment dstHost, long srcDevice, long ByteCount) {
        var mh$ = cuMemcpyDtoH_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstHost, srcDevice, ByteCount);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemcpyDtoD_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_LONG, CudaDriver.C_LONG, CudaDriver.C_LONG);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuMemcpyDtoD_v2");
    }

    /** {@snippet lang=c : CUresult cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount) } */
    public static FunctionDescriptor cuMemcpyDtoD_v2$descriptor() { return cuMemcpyDtoD_v2.DESC; }

    public static MethodHandle cuMemcpyDtoD_v2$handle() { return cuMemcpyDtoD_v2.HANDLE; }

    /** {@snippet lang=c : CUresult cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount) } */
    public static int cuMemcpyDtoD_v2(long dstDevice, long srcDevice, long ByteCount) {
        var mh$ = cuMemcpyDtoD_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstDevice, srcDevice, ByteCount);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemcpyHtoDAsync_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_LONG, CudaDriver.C_POINTER, CudaDriver.C_LONG, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuMemcpyHtoDAsync_v2");
    }

    /** {@snippet lang=c : CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount, CUstream hStream) } */
    public static FunctionDescriptor cuMemcpyHtoDAsync_v2$descriptor() { return cuMemcpyHtoDAsync_v2.DESC; }

    public static MethodHandle cuMemcpyHtoDAsync_v2$handle() { return cuMemcpyHtoDAsync_v2.HANDLE; }

    /** {@snippet lang=c : CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount, CUstream hStream) } */
    public static int cuMemcpyHtoDAsync_v2(long dstDevice, MemorySegment srcHost, long ByteCount, MemorySegment hStream) {
        var mh$ = cuMemcpyHtoDAsync_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstDevice, srcHost, ByteCount, hStream);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemcpyDtoHAsync_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_LONG, CudaDriver.C_LONG, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuMemcpyDtoHAsync_v2");
    }

    /** {@snippet lang=c : CUresult cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream) } */
    public static FunctionDescriptor cuMemcpyDtoHAsync_v2$descriptor() { return cuMemcpyDtoHAsync_v2.DESC; }

    public static MethodHandle cuMemcpyDtoHAsync_v2$handle() { return cuMemcpyDtoHAsync_v2.HANDLE; }

    /** {@snippet lang=c : CUresult cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream) } */
    public static int cuMemcpyDtoHAsync_v2(MemorySegment dstHost, long srcDevice, long ByteCount, MemorySegment hStream) {
        var mh$ = cuMemcpyDtoHAsync_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstHost, srcDevice, ByteCount, hStream);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemcpyDtoDAsync_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_LONG, CudaDriver.C_LONG, CudaDriver.C_LONG, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuMemcpyDtoDAsync_v2");
    }

    /** {@snippet lang=c : CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream) } */
    public static FunctionDescriptor cuMemcpyDtoDAsync_v2$descriptor() { return cuMemcpyDtoDAsync_v2.DESC; }

    public static MethodHandle cuMemcpyDtoDAsync_v2$handle() { return cuMemcpyDtoDAsync_v2.HANDLE; }

    /** {@snippet lang=c : CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream) } */
    public static int cuMemcpyDtoDAsync_v2(long dstDevice, long srcDevice, long ByteCount, MemorySegment hStream) {
        var mh$ = cuMemcpyDtoDAsync_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstDevice, srcDevice, ByteCount, hStream);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemsetD8_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_LONG, CudaDriver.C_CHAR, CudaDriver.C_LONG);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuMemsetD8_v2");
    }

    /** {@snippet lang=c : CUresult cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N) } */
    public static FunctionDescriptor cuMemsetD8_v2$descriptor() { return cuMemsetD8_v2.DESC; }

    public static MethodHandle cuMemsetD8_v2$handle() { return cuMemsetD8_v2.HANDLE; }

    /** {@snippet lang=c : CUresult cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N) } */
    public static int cuMemsetD8_v2(long dstDevice, byte uc, long N) {
        var mh$ = cuMemsetD8_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstDevice, uc, N);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemsetD32_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_LONG, CudaDriver.C_INT, CudaDriver.C_LONG);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuMemsetD32_v2");
    }

    /** {@snippet lang=c : CUresult cuMemsetD32_v2(CUdeviceptr dstDevice, unsigned int ui, size_t N) } */
    public static FunctionDescriptor cuMemsetD32_v2$descriptor() { return cuMemsetD32_v2.DESC; }

    public static MethodHandle cuMemsetD32_v2$handle() { return cuMemsetD32_v2.HANDLE; }

    /** {@snippet lang=c : CUresult cuMemsetD32_v2(CUdeviceptr dstDevice, unsigned int ui, size_t N) } */
    public static int cuMemsetD32_v2(long dstDevice, int ui, long N) {
        var mh$ = cuMemsetD32_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstDevice, ui, N);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemsetD8Async {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_LONG, CudaDriver.C_CHAR, CudaDriver.C_LONG, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuMemsetD8Async");
    }

    /** {@snippet lang=c : CUresult cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc, size_t N, CUstream hStream) } */
    public static FunctionDescriptor cuMemsetD8Async$descriptor() { return cuMemsetD8Async.DESC; }

    public static MethodHandle cuMemsetD8Async$handle() { return cuMemsetD8Async.HANDLE; }

    /** {@snippet lang=c : CUresult cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc, size_t N, CUstream hStream) } */
    public static int cuMemsetD8Async(long dstDevice, byte uc, long N, MemorySegment hStream) {
        var mh$ = cuMemsetD8Async.HANDLE;
        try {
            return (int) mh$.invokeExact(dstDevice, uc, N, hStream);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemsetD32Async {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_LONG, CudaDriver.C_INT, CudaDriver.C_LONG, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuMemsetD32Async");
    }

    /** {@snippet lang=c : CUresult cuMemsetD32Async(CUdeviceptr dstDevice, unsigned int ui, size_t N, CUstream hStream) } */
    public static FunctionDescriptor cuMemsetD32Async$descriptor() { return cuMemsetD32Async.DESC; }

    public static MethodHandle cuMemsetD32Async$handle() { return cuMemsetD32Async.HANDLE; }

    /** {@snippet lang=c : CUresult cuMemsetD32Async(CUdeviceptr dstDevice, unsigned int ui, size_t N, CUstream hStream) } */
    public static int cuMemsetD32Async(long dstDevice, int ui, long N, MemorySegment hStream) {
        var mh$ = cuMemsetD32Async.HANDLE;
        try {
            return (int) mh$.invokeExact(dstDevice, ui, N, hStream);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuStreamCreate {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_INT);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuStreamCreate");
    }

    /** {@snippet lang=c : CUresult cuStreamCreate(CUstream *phStream, unsigned int Flags) } */
    public static FunctionDescriptor cuStreamCreate$descriptor() { return cuStreamCreate.DESC; }

    public static MethodHandle cuStreamCreate$handle() { return cuStreamCreate.HANDLE; }

    /** {@snippet lang=c : CUresult cuStreamCreate(CUstream *phStream, unsigned int Flags) } */
    public static int cuStreamCreate(MemorySegment phStream, int Flags) {
        var mh$ = cuStreamCreate.HANDLE;
        try {
            return (int) mh$.invokeExact(phStream, Flags);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuStreamDestroy_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuStreamDestroy_v2");
    }

    /** {@snippet lang=c : CUresult cuStreamDestroy_v2(CUstream hStream) } */
    public static FunctionDescriptor cuStreamDestroy_v2$descriptor() { return cuStreamDestroy_v2.DESC; }

    public static MethodHandle cuStreamDestroy_v2$handle() { return cuStreamDestroy_v2.HANDLE; }

    /** {@snippet lang=c : CUresult cuStreamDestroy_v2(CUstream hStream) } */
    public static int cuStreamDestroy_v2(MemorySegment hStream) {
        var mh$ = cuStreamDestroy_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(hStream);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuStreamSynchronize {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuStreamSynchronize");
    }

    /** {@snippet lang=c : CUresult cuStreamSynchronize(CUstream hStream) } */
    public static FunctionDescriptor cuStreamSynchronize$descriptor() { return cuStreamSynchronize.DESC; }

    public static MethodHandle cuStreamSynchronize$handle() { return cuStreamSynchronize.HANDLE; }

    /** {@snippet lang=c : CUresult cuStreamSynchronize(CUstream hStream) } */
    public static int cuStreamSynchronize(MemorySegment hStream) {
        var mh$ = cuStreamSynchronize.HANDLE;
        try {
            return (int) mh$.invokeExact(hStream);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuEventCreate {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_INT);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuEventCreate");
    }

    /** {@snippet lang=c : CUresult cuEventCreate(CUevent *phEvent, unsigned int Flags) } */
    public static FunctionDescriptor cuEventCreate$descriptor() { return cuEventCreate.DESC; }

    public static MethodHandle cuEventCreate$handle() { return cuEventCreate.HANDLE; }

    /** {@snippet lang=c : CUresult cuEventCreate(CUevent *phEvent, unsigned int Flags) } */
    public static int cuEventCreate(MemorySegment phEvent, int Flags) {
        var mh$ = cuEventCreate.HANDLE;
        try {
            return (int) mh$.invokeExact(phEvent, Flags);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuEventDestroy_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuEventDestroy_v2");
    }

    /** {@snippet lang=c : CUresult cuEventDestroy_v2(CUevent hEvent) } */
    public static FunctionDescriptor cuEventDestroy_v2$descriptor() { return cuEventDestroy_v2.DESC; }

    public static MethodHandle cuEventDestroy_v2$handle() { return cuEventDestroy_v2.HANDLE; }

    /** {@snippet lang=c : CUresult cuEventDestroy_v2(CUevent hEvent) } */
    public static int cuEventDestroy_v2(MemorySegment hEvent) {
        var mh$ = cuEventDestroy_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(hEvent);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuEventRecord {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuEventRecord");
    }

    /** {@snippet lang=c : CUresult cuEventRecord(CUevent hEvent, CUstream hStream) } */
    public static FunctionDescriptor cuEventRecord$descriptor() { return cuEventRecord.DESC; }

    public static MethodHandle cuEventRecord$handle() { return cuEventRecord.HANDLE; }

    /** {@snippet lang=c : CUresult cuEventRecord(CUevent hEvent, CUstream hStream) } */
    public static int cuEventRecord(MemorySegment hEvent, MemorySegment hStream) {
        var mh$ = cuEventRecord.HANDLE;
        try {
            return (int) mh$.invokeExact(hEvent, hStream);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuEventSynchronize {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuEventSynchronize");
    }

    /** {@snippet lang=c : CUresult cuEventSynchronize(CUevent hEvent) } */
    public static FunctionDescriptor cuEventSynchronize$descriptor() { return cuEventSynchronize.DESC; }

    public static MethodHandle cuEventSynchronize$handle() { return cuEventSynchronize.HANDLE; }

    /** {@snippet lang=c : CUresult cuEventSynchronize(CUevent hEvent) } */
    public static int cuEventSynchronize(MemorySegment hEvent) {
        var mh$ = cuEventSynchronize.HANDLE;
        try {
            return (int) mh$.invokeExact(hEvent);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuEventElapsedTime_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_POINTER, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuEventElapsedTime_v2", "cuEventElapsedTime");
    }

    /** {@snippet lang=c : CUresult cuEventElapsedTime_v2(float *pMilliseconds, CUevent hStart, CUevent hEnd) } */
    public static FunctionDescriptor cuEventElapsedTime_v2$descriptor() { return cuEventElapsedTime_v2.DESC; }

    public static MethodHandle cuEventElapsedTime_v2$handle() { return cuEventElapsedTime_v2.HANDLE; }

    /** {@snippet lang=c : CUresult cuEventElapsedTime_v2(float *pMilliseconds, CUevent hStart, CUevent hEnd) } */
    public static int cuEventElapsedTime_v2(MemorySegment pMilliseconds, MemorySegment hStart, MemorySegment hEnd) {
        var mh$ = cuEventElapsedTime_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(pMilliseconds, hStart, hEnd);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuLaunchKernel {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_INT, CudaDriver.C_INT, CudaDriver.C_INT, CudaDriver.C_INT, CudaDriver.C_INT, CudaDriver.C_INT, CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_POINTER, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuLaunchKernel");
    }

    /** {@snippet lang=c : CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream, void **kernelParams, void **extra) } */
    public static FunctionDescriptor cuLaunchKernel$descriptor() { return cuLaunchKernel.DESC; }

    public static MethodHandle cuLaunchKernel$handle() { return cuLaunchKernel.HANDLE; }

    /** {@snippet lang=c : CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream, void **kernelParams, void **extra) } */
    public static int cuLaunchKernel(MemorySegment f, int gridDimX, int gridDimY, int gridDimZ, int blockDimX, int blockDimY, int blockDimZ, int sharedMemBytes, MemorySegment hStream, MemorySegment kernelParams, MemorySegment extra) {
        var mh$ = cuLaunchKernel.HANDLE;
        try {
            return (int) mh$.invokeExact(f, gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ, sharedMemBytes, hStream, kernelParams, extra);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuStreamBeginCapture_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_INT);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuStreamBeginCapture_v2");
    }

    /** {@snippet lang=c : CUresult cuStreamBeginCapture_v2(CUstream hStream, CUstreamCaptureMode mode) } */
    public static FunctionDescriptor cuStreamBeginCapture_v2$descriptor() { return cuStreamBeginCapture_v2.DESC; }

    public static MethodHandle cuStreamBeginCapture_v2$handle() { return cuStreamBeginCapture_v2.HANDLE; }

    /** {@snippet lang=c : CUresult cuStreamBeginCapture_v2(CUstream hStream, CUstreamCaptureMode mode) } */
    public static int cuStreamBeginCapture_v2(MemorySegment hStream, int mode) {
        var mh$ = cuStreamBeginCapture_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(hStream, mode);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuStreamEndCapture {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuStreamEndCapture");
    }

    /** {@snippet lang=c : CUresult cuStreamEndCapture(CUstream hStream, CUgraph *phGraph) } */
    public static FunctionDescriptor cuStreamEndCapture$descriptor() { return cuStreamEndCapture.DESC; }

    public static MethodHandle cuStreamEndCapture$handle() { return cuStreamEndCapture.HANDLE; }

    /** {@snippet lang=c : CUresult cuStreamEndCapture(CUstream hStream, CUgraph *phGraph) } */
    public static int cuStreamEndCapture(MemorySegment hStream, MemorySegment phGraph) {
        var mh$ = cuStreamEndCapture.HANDLE;
        try {
            return (int) mh$.invokeExact(hStream, phGraph);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuStreamIsCapturing {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuStreamIsCapturing");
    }

    /** {@snippet lang=c : CUresult cuStreamIsCapturing(CUstream hStream, CUstreamCaptureStatus *captureStatus) } */
    public static FunctionDescriptor cuStreamIsCapturing$descriptor() { return cuStreamIsCapturing.DESC; }

    public static MethodHandle cuStreamIsCapturing$handle() { return cuStreamIsCapturing.HANDLE; }

    /** {@snippet lang=c : CUresult cuStreamIsCapturing(CUstream hStream, CUstreamCaptureStatus *captureStatus) } */
    public static int cuStreamIsCapturing(MemorySegment hStream, MemorySegment captureStatus) {
        var mh$ = cuStreamIsCapturing.HANDLE;
        try {
            return (int) mh$.invokeExact(hStream, captureStatus);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuGraphInstantiateWithFlags {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_POINTER, CudaDriver.C_LONG);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuGraphInstantiateWithFlags");
    }

    /** {@snippet lang=c : CUresult cuGraphInstantiateWithFlags(CUgraphExec *phGraphExec, CUgraph hGraph, unsigned long long flags) } */
    public static FunctionDescriptor cuGraphInstantiateWithFlags$descriptor() { return cuGraphInstantiateWithFlags.DESC; }

    public static MethodHandle cuGraphInstantiateWithFlags$handle() { return cuGraphInstantiateWithFlags.HANDLE; }

    /** {@snippet lang=c : CUresult cuGraphInstantiateWithFlags(CUgraphExec *phGraphExec, CUgraph hGraph, unsigned long long flags) } */
    public static int cuGraphInstantiateWithFlags(MemorySegment phGraphExec, MemorySegment hGraph, long flags) {
        var mh$ = cuGraphInstantiateWithFlags.HANDLE;
        try {
            return (int) mh$.invokeExact(phGraphExec, hGraph, flags);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuGraphLaunch {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuGraphLaunch");
    }

    /** {@snippet lang=c : CUresult cuGraphLaunch(CUgraphExec hGraphExec, CUstream hStream) } */
    public static FunctionDescriptor cuGraphLaunch$descriptor() { return cuGraphLaunch.DESC; }

    public static MethodHandle cuGraphLaunch$handle() { return cuGraphLaunch.HANDLE; }

    /** {@snippet lang=c : CUresult cuGraphLaunch(CUgraphExec hGraphExec, CUstream hStream) } */
    public static int cuGraphLaunch(MemorySegment hGraphExec, MemorySegment hStream) {
        var mh$ = cuGraphLaunch.HANDLE;
        try {
            return (int) mh$.invokeExact(hGraphExec, hStream);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuGraphExecDestroy {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuGraphExecDestroy");
    }

    /** {@snippet lang=c : CUresult cuGraphExecDestroy(CUgraphExec hGraphExec) } */
    public static FunctionDescriptor cuGraphExecDestroy$descriptor() { return cuGraphExecDestroy.DESC; }

    public static MethodHandle cuGraphExecDestroy$handle() { return cuGraphExecDestroy.HANDLE; }

    /** {@snippet lang=c : CUresult cuGraphExecDestroy(CUgraphExec hGraphExec) } */
    public static int cuGraphExecDestroy(MemorySegment hGraphExec) {
        var mh$ = cuGraphExecDestroy.HANDLE;
        try {
            return (int) mh$.invokeExact(hGraphExec);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuGraphDestroy {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuGraphDestroy");
    }

    /** {@snippet lang=c : CUresult cuGraphDestroy(CUgraph hGraph) } */
    public static FunctionDescriptor cuGraphDestroy$descriptor() { return cuGraphDestroy.DESC; }

    public static MethodHandle cuGraphDestroy$handle() { return cuGraphDestroy.HANDLE; }

    /** {@snippet lang=c : CUresult cuGraphDestroy(CUgraph hGraph) } */
    public static int cuGraphDestroy(MemorySegment hGraph) {
        var mh$ = cuGraphDestroy.HANDLE;
        try {
            return (int) mh$.invokeExact(hGraph);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuGetErrorName {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_INT, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuGetErrorName");
    }

    /** {@snippet lang=c : CUresult cuGetErrorName(CUresult error, const char **pStr) } */
    public static FunctionDescriptor cuGetErrorName$descriptor() { return cuGetErrorName.DESC; }

    public static MethodHandle cuGetErrorName$handle() { return cuGetErrorName.HANDLE; }

    /** {@snippet lang=c : CUresult cuGetErrorName(CUresult error, const char **pStr) } */
    public static int cuGetErrorName(int error, MemorySegment pStr) {
        var mh$ = cuGetErrorName.HANDLE;
        try {
            return (int) mh$.invokeExact(error, pStr);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuGetErrorString {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(CudaDriver.C_INT, CudaDriver.C_INT, CudaDriver.C_POINTER);
        static final MethodHandle HANDLE = CudaDriver.downcall(DESC, "cuGetErrorString");
    }

    /** {@snippet lang=c : CUresult cuGetErrorString(CUresult error, const char **pStr) } */
    public static FunctionDescriptor cuGetErrorString$descriptor() { return cuGetErrorString.DESC; }

    public static MethodHandle cuGetErrorString$handle() { return cuGetErrorString.HANDLE; }

    /** {@snippet lang=c : CUresult cuGetErrorString(CUresult error, const char **pStr) } */
    public static int cuGetErrorString(int error, MemorySegment pStr) {
        var mh$ = cuGetErrorString.HANDLE;
        try {
            return (int) mh$.invokeExact(error, pStr);
        } catch (Error | RuntimeException ex$) {
            throw ex$;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
}
