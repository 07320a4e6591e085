package dev.jgpt.backend.cuda;

import dev.jgpt.bindings.CudaDriver;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A failed driver or cuBLAS call, with the call, the error's name and the driver's text. Errors
 * from a kernel surface asynchronously (at the next synchronising call); run with
 * {@code JGPT_CUDA_DEBUG=1} to synchronise after every launch and name the kernel that failed.
 * {@link #isSticky()} errors leave the context unusable: only a new process recovers.
 */
public final class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int code;

    public CudaException(String message, int code) {
        super(message);
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** Illegal address, misaligned address, launch failure, ...: the context is dead. */
    public boolean isSticky() {
        return code == 700 || code == 714 || code == 715 || code == 716 || code == 717 || code == 719;
    }

    /** What a sticky error's message adds: the user cannot retry in this process, and how to find the kernel. */
    static final String STICKY_ADVICE = "; this process's CUDA context is lost (only a new process recovers);"
            + " JGPT_CUDA_DEBUG=1 synchronises after every kernel launch to name the one that failed";

    /** Throws unless {@code rc} is CUDA_SUCCESS; a sticky error's message says so and how to find the kernel. */
    public static void check(int rc, String what) {
        if (rc != CudaDriver.CUDA_SUCCESS) {
            CudaException e = new CudaException(what + " failed: " + describe(rc), rc);
            if (e.isSticky()) e = new CudaException(e.getMessage() + STICKY_ADVICE, rc);
            throw e;
        }
    }

    /** {@code CUDA_ERROR_OUT_OF_MEMORY (out of memory)}, from the driver when it can say. */
    public static String describe(int rc) {
        String name = "CUresult " + rc, text = "";
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ValueLayout.ADDRESS);
            if (CudaDriver.cuGetErrorName(rc, p) == 0) name = p.get(ValueLayout.ADDRESS, 0).reinterpret(256).getString(0);
            if (CudaDriver.cuGetErrorString(rc, p) == 0) text = p.get(ValueLayout.ADDRESS, 0).reinterpret(1024).getString(0);
        } catch (UnsatisfiedLinkError noDriver) {
            // keep the number
        }
        return text.isEmpty() ? name : name + " (" + text + ")";
    }

    /** Throws unless a cuBLAS status is CUBLAS_STATUS_SUCCESS. */
    public static void checkCublas(int status, String what) {
        if (status != 0) throw new CudaException(what + " failed: " + dev.jgpt.bindings.Cublas.statusName(status), status);
    }
}
