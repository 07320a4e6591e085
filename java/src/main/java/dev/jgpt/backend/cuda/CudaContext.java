package dev.jgpt.backend.cuda;

import dev.jgpt.bindings.Cublas;
import dev.jgpt.bindings.CudaDriver;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumMap;
import java.util.Map;

/**
 * One device's primary context, one stream, the kernels module loaded from the fatbin and one cuBLAS
 * handle. Every call is queued on {@link #stream()}, so kernels, cuBLAS products and copies run in
 * program order without host synchronisation.
 *
 * <p>Threads: a CUDA context is current per OS thread. The context is made current on the thread that
 * creates it and, on first use, on any other platform thread that calls in ({@link #ensureCurrent()});
 * virtual threads are refused because their carrier can change between two driver calls. The object is
 * not thread-safe: use it from one thread at a time (the trainer's thread).
 */
public final class CudaContext implements AutoCloseable {
    private static final int MAX_ARGS = 16;
    private static final int STRUCT_BYTES = 4096;

    private final int device;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment context;
    private final MemorySegment stream;
    private final MemorySegment module;
    private final MemorySegment cublas;
    /** cuBLAS's workspace: 32 MiB, the size NVIDIA recommends on Hopper (4 MiB before it), as its own default pool. */
    static final long CUBLAS_WORKSPACE_BYTES = 32L << 20;
    private final long cublasWorkspace;
    private final Map<Kernel, MemorySegment> functions = new EnumMap<>(Kernel.class);
    private final int maxSharedOptIn;
    private final int multiprocessors;
    private final boolean debug;
    private final ThreadLocal<Boolean> current = ThreadLocal.withInitial(() -> false);
    private boolean closed;

    // kernel parameters: one 8-byte slot per argument and the void** array pointing at the slots,
    // reused by every launch (the driver copies the values inside cuLaunchKernel)
    private final MemorySegment argSlots;
    private final MemorySegment argPointers;
    /** Where struct arguments ({@link Launch#struct}) are staged: CUDA's 4 KiB of kernel parameters. */
    private final MemorySegment structArgs;
    private final Launch launch = new Launch();
    /** Per-kernel GPU times from events on {@link #stream}, recorded only between its beginStep and endStep. */
    private final KernelTimeline timeline;

    /** Opens device {@code ordinal}; the caller checked {@link CudaProbe#usable()}. */
    public CudaContext(int ordinal, byte[] fatbin) {
        this.debug = "1".equals(System.getenv("JGPT_CUDA_DEBUG")) || Boolean.getBoolean("jgpt.cuda.debug");
        MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
        MemorySegment i = arena.allocate(ValueLayout.JAVA_INT);
        CudaException.check(CudaDriver.cuDeviceGet(i, ordinal), "cuDeviceGet(" + ordinal + ")");
        this.device = i.get(ValueLayout.JAVA_INT, 0);
        CudaException.check(CudaDriver.cuDevicePrimaryCtxRetain(out, device), "cuDevicePrimaryCtxRetain");
        this.context = out.get(ValueLayout.ADDRESS, 0);
        try {
            ensureCurrent();
            CudaException.check(CudaDriver.cuDeviceGetAttribute(i, CudaDriver.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, device), "cuDeviceGetAttribute");
            this.maxSharedOptIn = i.get(ValueLayout.JAVA_INT, 0);
            CudaException.check(CudaDriver.cuDeviceGetAttribute(i, CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device), "cuDeviceGetAttribute");
            this.multiprocessors = i.get(ValueLayout.JAVA_INT, 0);

            CudaException.check(CudaDriver.cuStreamCreate(out, CudaDriver.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
            this.stream = out.get(ValueLayout.ADDRESS, 0);
            this.timeline = new KernelTimeline(stream, arena);

            // the image: 16-byte aligned native memory with a trailing NUL (the same call then also takes PTX text)
            MemorySegment image = arena.allocate(fatbin.length + 1L, 16);
            MemorySegment.copy(fatbin, 0, image, ValueLayout.JAVA_BYTE, 0, fatbin.length);
            int rc = CudaDriver.cuModuleLoadData(out, image);
            if (rc == CudaDriver.CUDA_ERROR_NO_BINARY_FOR_GPU || rc == CudaDriver.CUDA_ERROR_UNSUPPORTED_PTX_VERSION) {
                throw new CudaException("cuModuleLoadData: the fatbin has no code this GPU and driver can run ("
                        + CudaException.describe(rc) + "); it holds sm_80, sm_90a and compute_90 PTX", rc);
            }
            CudaException.check(rc, "cuModuleLoadData(kernels.fatbin)");
            this.module = out.get(ValueLayout.ADDRESS, 0);
            for (Kernel k : Kernel.values()) {
                CudaException.check(CudaDriver.cuModuleGetFunction(out, module, arena.allocateFrom(k.symbol())),
                        "cuModuleGetFunction(" + k.symbol() + ")");
                functions.put(k, out.get(ValueLayout.ADDRESS, 0));
            }
            // layernorm_backward keeps 2*C floats of dynamic shared memory, the tensor-core attention kernels up to
            // ~50 KiB (above the 48 KiB a launch gets without opting in): allow all the device offers
            for (Kernel k : new Kernel[] {Kernel.LAYERNORM_BACKWARD, Kernel.LAYERNORM_BACKWARD_COPY_BF16, Kernel.LAYERNORM_BACKWARD_BF16,
                    Kernel.ATTENTION_FORWARD_FUSED, Kernel.ATTENTION_FLASH_TC_FORWARD,
                    Kernel.ATTENTION_FLASH_TC_BACKWARD_DQ, Kernel.ATTENTION_FLASH_TC_BACKWARD_DKV, Kernel.ATTENTION_FORWARD_FUSED_BF16,
                    Kernel.ATTENTION_FLASH_TC_FORWARD_BF16, Kernel.ATTENTION_FLASH_TC_BACKWARD_DQ_BF16,
                    Kernel.ATTENTION_FLASH_TC_BACKWARD_DKV_BF16, Kernel.ATTENTION_FLASH_TC_BACKWARD_DQ_BF16_GRADS,
                    Kernel.ATTENTION_FLASH_TC_BACKWARD_DKV_BF16_GRADS}) {
                CudaException.check(CudaDriver.cuFuncSetAttribute(functions.get(k),
                        CudaDriver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, maxSharedOptIn), "cuFuncSetAttribute");
            }

            CudaException.checkCublas(Cublas.cublasCreate_v2(out), "cublasCreate");
            this.cublas = out.get(ValueLayout.ADDRESS, 0);
            CudaException.checkCublas(Cublas.cublasSetStream_v2(cublas, stream), "cublasSetStream");
            // the default math mode: tensor-core precision is asked per product (GemmMath), never implied
            CudaException.checkCublas(Cublas.cublasSetMathMode(cublas, Cublas.CUBLAS_DEFAULT_MATH),
                    "cublasSetMathMode");
            // a workspace of our own for every product (set after cublasSetStream, which resets it): cuBLAS's default
            // pool allocates a new workspace for each CUDA graph capture on 12.0/12.1, and a captured product keeps
            // using the workspace it was captured with, which must outlive the graph (DecodeGraph)
            this.cublasWorkspace = allocate(CUBLAS_WORKSPACE_BYTES, "the cuBLAS workspace", "the GPU has no memory left");
            CudaException.checkCublas(Cublas.cublasSetWorkspace_v2(cublas, MemorySegment.ofAddress(cublasWorkspace),
                    CUBLAS_WORKSPACE_BYTES), "cublasSetWorkspace");

            this.argSlots = arena.allocate((long) MAX_ARGS * 8, 16);
            this.argPointers = arena.allocate(ValueLayout.ADDRESS, MAX_ARGS);
            for (int a = 0; a < MAX_ARGS; a++) argPointers.setAtIndex(ValueLayout.ADDRESS, a, argSlots.asSlice(a * 8L, 8));
            this.structArgs = arena.allocate(STRUCT_BYTES, 16);
        } catch (RuntimeException | Error e) {
            // releasing the last reference destroys the context with its stream, module and cuBLAS memory
            CudaDriver.cuDevicePrimaryCtxRelease_v2(device);
            arena.close();
            throw e;
        }
    }

    public MemorySegment stream() {
        return stream;
    }

    /** The per-kernel event timeline of this context's stream (off until a step is begun on it). */
    public KernelTimeline timeline() {
        return timeline;
    }

    public MemorySegment cublas() {
        return cublas;
    }

    /** The device address of the cuBLAS workspace ({@link #CUBLAS_WORKSPACE_BYTES}); cuBLASLt products use it too ({@link LtMatmul}). */
    long cublasWorkspace() {
        return cublasWorkspace;
    }

    public int multiprocessors() {
        return multiprocessors;
    }

    /** Grid for a grid-stride kernel over {@code n} elements: enough blocks to fill the GPU, never more than the work. */
    long gridStride(long n, int block) {
        return Math.min(Math.max(1, (n + block - 1) / block), 32L * multiprocessors);
    }

    public int maxSharedOptIn() {
        return maxSharedOptIn;
    }

    public boolean isClosed() {
        return closed;
    }

    /** Told when device memory of this context is freed: [base, base + bytes). */
    @FunctionalInterface
    interface ReleaseListener {
        void released(long base, long bytes);
    }

    private ReleaseListener releaseListener;

    /** The one listener {@link #released} tells (the backend's bf16 parameter copy forgets freed buffers). */
    void onRelease(ReleaseListener listener) {
        this.releaseListener = listener;
    }

    /** Device memory [base, base + bytes) was freed ({@link DeviceArena#close}). */
    void released(long base, long bytes) {
        if (releaseListener != null) releaseListener.released(base, bytes);
    }

    public boolean debug() {
        return debug;
    }

    /** Makes the context current on the calling platform thread (once per thread). */
    public void ensureCurrent() {
        if (closed) throw new IllegalStateException("the CUDA context was closed");
        if (current.get()) return;
        if (Thread.currentThread().isVirtual()) {
            throw new IllegalStateException("the cuda backend must be called from a platform thread, not a virtual thread");
        }
        CudaException.check(CudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        current.set(true);
    }

    public void synchronize() {
        ensureCurrent();
        CudaException.check(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    /** Device memory in use on this GPU now ({@code cuMemGetInfo}: total minus free), by every context on it. */
    public long memoryInUse() {
        ensureCurrent();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(ValueLayout.JAVA_LONG), total = a.allocate(ValueLayout.JAVA_LONG);
            CudaException.check(CudaDriver.cuMemGetInfo_v2(free, total), "cuMemGetInfo");
            return total.get(ValueLayout.JAVA_LONG, 0) - free.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /**
     * {@code cuMemAlloc} of {@code bytes} for {@code what}: the device address. Running out of GPU memory is one
     * {@link CudaException} saying how much, for what, and {@code advice}; any other failure names the call.
     */
    public long allocate(long bytes, String what, String advice) {
        return allocate(bytes, what, () -> advice);
    }

    /** {@link #allocate(long, String, String)} with the advice made only when it is needed. */
    public long allocate(long bytes, String what, java.util.function.Supplier<String> advice) {
        ensureCurrent();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.JAVA_LONG);
            int rc = CudaDriver.cuMemAlloc_v2(out, bytes);
            if (rc == CudaDriver.CUDA_ERROR_OUT_OF_MEMORY) {
                throw new CudaException("out of GPU memory allocating " + (bytes >> 20) + " MiB for " + what + "; " + advice.get(), rc);
            }
            CudaException.check(rc, "cuMemAlloc(" + bytes + ", " + what + ")");
            return out.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /** {@code cuMemFree} of what {@link #allocate} gave, once the queued work that may still read it is done. */
    public void free(long devicePointer, String what) {
        if (devicePointer == 0 || closed) return; // releasing the primary context freed everything
        synchronize();
        CudaException.check(CudaDriver.cuMemFree_v2(devicePointer), "cuMemFree(" + what + ")");
    }

    /** Starts describing a launch; finish with {@link Launch#go()}. Not reentrant. */
    public Launch kernel(Kernel k, long gridX, int blockX) {
        return kernel(k, gridX, 1, blockX, 1, 0);
    }

    public Launch kernel(Kernel k, long gridX, int gridY, int blockX, int blockY, int sharedBytes) {
        return kernel(k, gridX, gridY, 1, blockX, blockY, sharedBytes);
    }

    public Launch kernel(Kernel k, long gridX, int gridY, int gridZ, int blockX, int blockY, int sharedBytes) {
        ensureCurrent();
        if (gridX <= 0 || gridX > Integer.MAX_VALUE || gridY <= 0 || gridY > 65535 || gridZ <= 0 || gridZ > 65535) {
            throw new IllegalArgumentException(k.symbol() + ": grid (" + gridX + ", " + gridY + ", " + gridZ
                    + ") outside the device's limits");
        }
        int threads = blockX * blockY;
        if (blockX <= 0 || blockY <= 0 || threads > 1024) {
            throw new IllegalArgumentException(k.symbol() + ": block (" + blockX + ", " + blockY + ") must have 1..1024 threads");
        }
        if (k.threadsMultipleOf32() && blockX % 32 != 0) {
            throw new IllegalArgumentException(k.symbol() + ": blockDim.x " + blockX + " must be a multiple of 32 (warp reductions)");
        }
        if (sharedBytes < 0 || sharedBytes > maxSharedOptIn) {
            throw new IllegalArgumentException(k.symbol() + ": " + sharedBytes + " bytes of shared memory, the device offers "
                    + maxSharedOptIn);
        }
        return launch.start(k, (int) gridX, gridY, gridZ, blockX, blockY, sharedBytes);
    }

    /** One kernel launch being described: arguments in the order of the kernel's C signature. */
    public final class Launch {
        private Kernel kernel;
        private int gx, gy, gz, bx, by, smem, n;
        private final char[] kinds = new char[MAX_ARGS];
        /** Bytes of {@link #structArgs} taken by this launch's struct arguments. */
        private long structUsed;

        private Launch start(Kernel k, int gx, int gy, int gz, int bx, int by, int smem) {
            this.kernel = k;
            this.gx = gx;
            this.gy = gy;
            this.gz = gz;
            this.bx = bx;
            this.by = by;
            this.smem = smem;
            this.n = 0;
            if (structUsed > 0) { // the last launch pointed slots at structArgs (even if it failed): back to their own 8 bytes
                for (int a = 0; a < MAX_ARGS; a++) argPointers.setAtIndex(ValueLayout.JAVA_LONG, a, argSlots.address() + a * 8L);
            }
            this.structUsed = 0;
            return this;
        }

        private long slot(char kind) {
            if (n == MAX_ARGS) throw new IllegalStateException(kernel.symbol() + ": more than " + MAX_ARGS + " arguments");
            kinds[n] = kind;
            return 8L * n++;
        }

        /** A device pointer ({@code float*}, {@code int*}, ...), or null for a null pointer. */
        public Launch ptr(dev.jgpt.memory.Tensor t) {
            argSlots.set(ValueLayout.JAVA_LONG, slot('p'), t == null ? 0L : t.data().address());
            return this;
        }

        public Launch ptr(long devicePointer) {
            argSlots.set(ValueLayout.JAVA_LONG, slot('p'), devicePointer);
            return this;
        }

        /** A C {@code int}. */
        public Launch i32(int v) {
            argSlots.set(ValueLayout.JAVA_INT, slot('i'), v);
            return this;
        }

        /** A C {@code long long}. */
        public Launch i64(long v) {
            argSlots.set(ValueLayout.JAVA_LONG, slot('l'), v);
            return this;
        }

        public Launch f32(float v) {
            argSlots.set(ValueLayout.JAVA_FLOAT, slot('f'), v);
            return this;
        }

        /**
         * A C struct passed by value: {@code value}'s bytes, laid out exactly as the kernel's struct (the driver
         * copies them into the launch's parameters, so the caller may reuse {@code value} at once).
         */
        public Launch struct(MemorySegment value) {
            long at = (structUsed + 15) & ~15L;
            if (at + value.byteSize() > STRUCT_BYTES) {
                throw new IllegalStateException(kernel.symbol() + ": struct arguments over " + STRUCT_BYTES + " bytes");
            }
            MemorySegment.copy(value, 0, structArgs, at, value.byteSize());
            structUsed = at + value.byteSize();
            int a = (int) (slot('s') / 8);
            argPointers.setAtIndex(ValueLayout.JAVA_LONG, a, structArgs.address() + at); // raw address: no heap allocation
            return this;
        }

        public void go() {
            if (!argumentsMatch()) {
                throw new IllegalStateException(kernel.symbol() + ": launched with arguments (" + new String(kinds, 0, n)
                        + ") but the kernel takes (" + kernel.signature() + ")  [p pointer, i int, l long long, f float, s struct]");
            }
            timeline.begin();
            int rc = CudaDriver.cuLaunchKernel(functions.get(kernel), gx, gy, gz, bx, by, 1, smem, stream,
                    argPointers, MemorySegment.NULL);
            // messages are built only on failure: a launch allocates nothing on the Java heap
            if (rc != CudaDriver.CUDA_SUCCESS) {
                CudaException.check(rc, "cuLaunchKernel(" + kernel.symbol() + ", grid " + gx + "x" + gy + "x" + gz
                        + ", block " + bx + "x" + by + ")");
            }
            timeline.end(kernel);
            if (debug && !capturing) CudaException.check(CudaDriver.cuStreamSynchronize(stream), "kernel " + kernel.symbol());
        }

        private boolean argumentsMatch() {
            String sig = kernel.signature();
            if (sig.length() != n) return false;
            for (int a = 0; a < n; a++) if (sig.charAt(a) != kinds[a]) return false;
            return true;
        }
    }

    /**
     * True while {@link #stream} is being captured into a CUDA graph ({@link DecodeGraph#capture}): work is recorded,
     * not run, and the debug mode's synchronisation after each call is left out (it would end the capture).
     */
    private boolean capturing;

    boolean capturing() {
        return capturing;
    }

    void capturing(boolean on) {
        capturing = on;
        timeline.suspend(on);
    }

    /** Checks a cuBLAS status; in debug mode also synchronises so a failing product is named. */
    public void checkCublas(int status, String what) {
        CudaException.checkCublas(status, what);
        if (debug && !capturing) CudaException.check(CudaDriver.cuStreamSynchronize(stream), what);
    }

    @Override
    public void close() {
        if (closed) return;
        try {
            ensureCurrent();
            CudaDriver.cuStreamSynchronize(stream);
            timeline.close();
            Cublas.cublasDestroy_v2(cublas);
            CudaDriver.cuMemFree_v2(cublasWorkspace);
            CudaDriver.cuModuleUnload(module);
            CudaDriver.cuStreamDestroy_v2(stream);
            CudaDriver.cuDevicePrimaryCtxRelease_v2(device);
        } finally {
            closed = true;
            arena.close();
        }
    }
}
