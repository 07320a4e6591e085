package dev.jgpt.backend.cpu;

import dev.jgpt.JgptException;
import dev.jgpt.bindings.Jgpt;
import java.lang.foreign.MemorySegment;

/**
 * A persistent team of native decode threads ({@code jgpt_pool_create}, native/src/decode_pool.c)
 * owned by one inference object: {@code threads - 1} workers wait for the next token (a bounded spin,
 * then a futex sleep) and the calling thread is the team's first member. Closing stops and joins the
 * workers and frees the pool; closing twice does nothing. Not for use by two threads at once (like
 * the inference object that owns it).
 */
public final class DecodePool implements AutoCloseable {
    private MemorySegment handle;
    private final int threads;

    public DecodePool(int threads) {
        NativeLibraries.require();
        this.threads = Math.max(1, threads);
        MemorySegment h = Jgpt.jgpt_pool_create(this.threads);
        if (h.equals(MemorySegment.NULL)) {
            throw new JgptException("could not start " + (this.threads - 1) + " decode threads (try a smaller --threads)");
        }
        handle = h;
    }

    /** The pool's address for a decode plan (0 once closed). */
    public long address() {
        return handle == null ? 0L : handle.address();
    }

    public int threads() {
        return threads;
    }

    @Override
    public void close() {
        if (handle == null) return;
        Jgpt.jgpt_pool_destroy(handle);
        handle = null;
    }
}
