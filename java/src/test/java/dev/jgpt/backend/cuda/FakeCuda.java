package dev.jgpt.backend.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.jgpt.bindings.Cublas;
import dev.jgpt.bindings.CublasLt;
import dev.jgpt.bindings.CudaDriver;
import java.io.IOException;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Path;
import java.util.List;

/**
 * Binds {@link CudaDriver} and {@link Cublas} to {@code src/test/c/fake_cuda.c} (compiled here with
 * {@code cc}): the same C ABI with host memory as "device" memory, a plain GEMM for cuBLAS, and the real
 * {@code kernels/*.cu} compiled for the CPU by the host emulation in {@code src/test/c/cuda_host} (every
 * CUDA thread a fiber; barriers and warp shuffles emulated and checked), so the cuda backend and its
 * kernels run the contract tests on machines without a GPU. Only where no real GPU is
 * usable (the bindings are bound once per JVM); skipped when there is no C compiler or no fatbin.
 */
public final class FakeCuda {
    private FakeCuda() {}

    private static java.lang.invoke.MethodHandle deviceAllocations, eventsCreated, eventsLive, counter, ltCounter, ltRefuse, reorder;
    private static String unusable;
    private static String broken;
    private static boolean bound;

    /**
     * Skips the calling test unless the stand-in is (or can be) bound in this JVM; fails it when the kernels
     * do not compile for the host emulation.
     */
    public static synchronized void require() {
        if (!bound && unusable == null && broken == null) {
            try {
                unusable = bind();
            } catch (IllegalStateException e) {
                broken = e.getMessage();
            }
        }
        if (broken != null) throw new AssertionError(broken);
        assumeTrue(unusable == null, () -> "skipped: " + unusable);
    }

    /** A cuda backend over the stand-in driver (call {@link #require()} first). */
    public static CudaBackend backend() {
        require();
        return backend(GemmMath.FP32);
    }

    /** How many device allocations (cuMemAlloc) the stand-in has made in this JVM (call {@link #require()} first). */
    public static long deviceAllocations() {
        require();
        try {
            return (long) deviceAllocations.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Makes the host emulation's next launches run in the orders drawn from {@code salt}: each launch's block, warp and
     * lane orders come from (its kernel, how many times that kernel ran since this call, the salt). Salt 0 gives the
     * orders a fresh process gives; another salt other orders, as two runs on a GPU may have. A kernel whose results
     * depend on those orders (fp32 atomics across blocks) gives other low bits under another salt (call
     * {@link #require()} first).
     */
    public static void reorderEmulation(long salt) {
        require();
        try {
            reorder.invokeExact(salt);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** How many events (cuEventCreate) the stand-in has created in this JVM (call {@link #require()} first). */
    public static long eventsCreated() {
        return count(eventsCreated);
    }

    /** Events created and not yet destroyed (call {@link #require()} first). */
    public static long eventsLive() {
        return count(eventsLive);
    }

    /** What the stand-in's host API saw, counted since the library was loaded (fake_cuda.c, jg_fake_counter). */
    public enum Counter {
        /** Kernel launches run from the host (not what a graph replay runs). */ KERNELS,
        /** cuBLAS calls run from the host. */ CUBLAS,
        /** Copies and memsets from the host, synchronous or not. */ COPIES,
        /** cuGraphLaunch calls. */ GRAPH_LAUNCHES,
        /** Calls recorded into graphs by stream capture. */ RECORDED,
        /** Graphs and executable graphs not yet destroyed. */ GRAPHS_LIVE,
        /** Stream captures begun. */ CAPTURES,
        /** Captures a forbidden call invalidated. */ INVALIDATED,
        /** Stream, context and event synchronisations. */ SYNCS,
        /** Device bytes allocated ({@code cuMemAlloc}) and not yet freed: a gauge, not a count of calls. */ DEVICE_BYTES
    }

    public static long count(Counter c) {
        require();
        try {
            return (long) counter.invokeExact(c.ordinal());
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** What the stand-in's cuBLASLt saw (fake_cuda.c, jg_fake_lt_counter): calls from the host, not graph replays. */
    public enum LtCounter {
        /** cublasLtMatmul calls. */ MATMULS,
        /** cublasLtMatmulAlgoGetHeuristic calls. */ HEURISTICS,
        /** Products with the BIAS epilogue. */ BIAS,
        /** Products with GELU_AUX_BIAS. */ GELU_AUX_BIAS,
        /** Products with DGELU. */ DGELU,
        /** Products with BGRADB. */ BGRADB,
        /** Handles, descriptors, layouts and preferences alive. */ LIVE,
        /** Products without an epilogue. */ PLAIN
    }

    /** Makes the stand-in's cuBLASLt heuristic answer INVALID_VALUE for {@code epilogue} (0: for none again). */
    public static void refuseLtEpilogue(int epilogue) {
        require();
        try {
            ltRefuse.invokeExact(epilogue);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public static long count(LtCounter c) {
        require();
        try {
            return (long) ltCounter.invokeExact(c.ordinal());
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static long count(java.lang.invoke.MethodHandle counter) {
        require();
        try {
            return (long) counter.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public static CudaBackend backend(GemmMath math) {
        require();
        return new CudaBackend(0, math);
    }

    /** A bf16-mode backend that keeps the parameters' bf16 copy, or (false) converts every operand per product, the older path. */
    static CudaBackend bf16Backend(boolean keepParameterCopy) {
        CudaBackend cuda = backend(GemmMath.BF16);
        cuda.keepBf16Parameters(keepParameterCopy);
        return cuda;
    }

    private static Path libraryFile;

    /**
     * The stand-in as a library file (built once per JVM, deleted at exit) for a jgpt process a test starts with
     * {@code JGPT_LIBCUDA} and {@code CUBLAS_LIB} pointing at it. Skips the calling test where {@link #require()}
     * would, or when this JVM cannot build it.
     */
    public static synchronized Path libraryFile() {
        require();
        if (libraryFile == null) {
            try {
                Path dir = java.nio.file.Files.createTempDirectory("jgpt-fakecuda");
                Path lib = dir.resolve("libfakecuda.so");
                HostKernels.build(HostKernels.cudaSources(HostKernels.kernelDir()),
                        List.of(HostKernels.locate("java/src/test/c/fake_cuda.c")), lib);
                dir.toFile().deleteOnExit(); // deleted in reverse order: the library first, then its folder
                lib.toFile().deleteOnExit();
                libraryFile = lib;
            } catch (IOException e) {
                assumeTrue(false, () -> "skipped: cannot build the stand-in library: " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        return libraryFile;
    }

    private static java.lang.invoke.MethodHandle counter(SymbolLookup symbols, String name) {
        return java.lang.foreign.Linker.nativeLinker().downcallHandle(symbols.findOrThrow(name),
                java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_LONG));
    }

    private static String bind() {
        if (CudaProbe.get().usable()) return "a real GPU is usable here; CudaBackendContractTest covers the backend";
        if (Fatbin.readResource().isEmpty()) return "no kernels.fatbin in this build (no nvcc)";
        Path driver = HostKernels.locate("java/src/test/c/fake_cuda.c");
        Path kernels = HostKernels.kernelDir();
        if (driver == null || kernels == null) return "fake_cuda.c or kernels/ not found from " + System.getProperty("user.dir");
        try {
            SymbolLookup symbols = HostKernels.compile(HostKernels.cudaSources(kernels), List.of(driver));
            deviceAllocations = counter(symbols, "jg_fake_device_allocations");
            eventsCreated = counter(symbols, "jg_fake_events_created");
            eventsLive = counter(symbols, "jg_fake_events_live");
            reorder = java.lang.foreign.Linker.nativeLinker().downcallHandle(symbols.findOrThrow("jg_host_reorder"),
                    java.lang.foreign.FunctionDescriptor.ofVoid(java.lang.foreign.ValueLayout.JAVA_LONG));
            counter = java.lang.foreign.Linker.nativeLinker().downcallHandle(symbols.findOrThrow("jg_fake_counter"),
                    java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_LONG, java.lang.foreign.ValueLayout.JAVA_INT));
            CudaDriver.init(symbols);
            Cublas.init(symbols);
            CublasLt.init(symbols);
            ltCounter = java.lang.foreign.Linker.nativeLinker().downcallHandle(symbols.findOrThrow("jg_fake_lt_counter"),
                    java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_LONG, java.lang.foreign.ValueLayout.JAVA_INT));
            ltRefuse = java.lang.foreign.Linker.nativeLinker().downcallHandle(symbols.findOrThrow("jg_fake_lt_refuse"),
                    java.lang.foreign.FunctionDescriptor.ofVoid(java.lang.foreign.ValueLayout.JAVA_INT));
            try {
                if (CudaDriver.cuInit(0) != 0) return "the stand-in driver's cuInit failed";
            } catch (UnsatisfiedLinkError alreadyBound) {
                return "the CUDA bindings were already bound to no library in this JVM";
            }
            bound = true;
            return null;
        } catch (IOException e) {
            return "no C/C++ compiler (cc) to build the stand-in driver: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }
}
