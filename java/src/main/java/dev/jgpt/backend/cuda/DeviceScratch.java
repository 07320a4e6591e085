package dev.jgpt.backend.cuda;

/**
 * One device buffer an op writes its intermediate results into, grown (never shrunk) to the largest size asked for:
 * allocated at a shape's first call and reused by every later one, so a training step makes no driver allocation.
 * Owned by the backend (freed on {@link #close()}); one op's results live in it only until that op returns.
 */
final class DeviceScratch implements AutoCloseable {
    private final CudaContext ctx;
    private final String what;
    private long ptr, bytes;

    /** {@code what}: the buffer's name in an out-of-memory error ("the partial sums of weight gradients"). */
    DeviceScratch(CudaContext ctx, String what) {
        this.ctx = ctx;
        this.what = what;
    }

    /** The buffer's device address, at least {@code n} bytes long. */
    long atLeast(long n) {
        if (n > bytes) {
            free();
            ptr = ctx.allocate(n, what, "the GPU has no memory left");
            bytes = n;
        }
        return ptr;
    }

    /** The address {@link #atLeast} last returned (0 before the first call). */
    long address() {
        return ptr;
    }

    /** Frees the buffer once the work queued on the stream (which may still read it) has finished. */
    private void free() {
        ctx.free(ptr, what);
        ptr = 0;
        bytes = 0;
    }

    @Override
    public void close() {
        free();
    }
}
