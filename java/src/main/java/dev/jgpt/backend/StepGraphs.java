package dev.jgpt.backend;

import dev.jgpt.memory.Tensor;

/**
 * An optional capability of a {@link Backend} that launches its work on a device stream: capture a decode step's
 * ops once into a graph and replay it per token (CUDA graphs), so that a step costs one launch from the host
 * instead of one per kernel and product. Not part of the kernel contract; implemented by {@code CudaBackend} only,
 * and code that finds a backend without it runs its steps op by op.
 *
 * <p>A replayed graph repeats the captured calls with the arguments they had at capture, so everything that
 * changes from one token to the next must come from device memory: the two {@code ...At} ops read the token's
 * position from a device buffer (uploaded before each replay) instead of taking it as an argument. Everything
 * inside {@link #capture} must be stream-ordered: no synchronisation, no copy to the host, no allocation (run
 * the step once eagerly first, so lazily made buffers exist).
 */
public interface StepGraphs {

    /**
     * Whether decode steps should be captured here: on unless {@code JGPT_CUDA_GRAPHS=0} (or
     * {@code -Djgpt.cuda.graphs=false}, or {@link #setGraphs}), and until a driver without the graph calls said so.
     */
    boolean graphsEnabled();

    /** Turns capturing on or off for later sequences and steps (a graph already made keeps working). */
    void setGraphs(boolean on);

    /**
     * {@link Backend#encoderForwardRows} with row r's position read from device memory {@code positions[r]} (I32, a
     * tensor of this backend) when the op runs, not from an argument. The caller checked the ids and guarantees
     * every position is below {@code maxT} (wpe has maxT rows).
     */
    void encoderForwardRowsAt(Tensor out, Tensor tokens, Tensor wte, Tensor wpe, Tensor positions, int maxT, int n, int C);

    /**
     * {@link Backend#ropeForwardRows} with row r's position read from device memory {@code positions[r]} when the op
     * runs; the tables have maxT rows and every position is below maxT.
     */
    void ropeForwardRowsAt(Tensor x, Tensor cos, Tensor sin, Tensor positions, int maxT, int n, int heads, int hs);

    /**
     * {@link Backend#gqaAttentionDecodeRows} with row r's position read from device memory {@code positions[r]}
     * when the op runs. Every position is below {@code maxT}, the caches have maxT rows, and {@code att} holds
     * {@code NH * n * maxT} floats (its rows maxT apart whatever the position, so the launch does not depend on it).
     */
    void gqaAttentionDecodeRowsAt(Tensor out, Tensor att, Tensor q, Tensor kNew, Tensor vNew, Tensor[] kCaches,
                                  Tensor[] vCaches, Tensor positions, int maxT, int n, int NH, int NKV, int hs);

    /**
     * {@link #gqaAttentionDecodeRowsAt} with row r's caches read from a device row table when the op runs:
     * {@code caches} (a tensor of this backend, {@link #ROW_TABLE_CACHE_INTS} ints) holds row r's k cache address at
     * 64-bit slot r and its v cache address at slot {@link #ROW_TABLE_ROWS} + r (a server's batched step replayed from a
     * graph: the sequences in the step change, the launch does not). Every cache has maxT rows of NKV*hs floats.
     */
    void gqaAttentionDecodeRowsTable(Tensor out, Tensor att, Tensor q, Tensor kNew, Tensor vNew, Tensor caches,
                                     Tensor positions, int maxT, int n, int NH, int NKV, int hs);

    /** Most rows of one row-table launch (the kernels' JG_DECODE_ROWS_MAX). */
    int ROW_TABLE_ROWS = 32;
    /** Ints of one layer's cache addresses in a row table: 2 * {@link #ROW_TABLE_ROWS} 64-bit addresses. */
    int ROW_TABLE_CACHE_INTS = 4 * ROW_TABLE_ROWS;

    /**
     * Captures the ops {@code body} queues into a graph without running them. Returns null when that failed (the
     * driver has no graph calls, or {@code body} made a call capture does not allow): the capture is then ended and
     * discarded and one line on stderr says why, naming {@code what} and the call.
     */
    Graph capture(Runnable body, String what);

    /** A captured step: replayed on the backend's stream, owned by whoever captured it. */
    interface Graph extends AutoCloseable {
        /**
         * Queues one replay. False when the graph no longer matches the backend (its precision changed, or the bf16
         * weight copy it reads was replaced): nothing ran, the graph is closed, and the caller runs the step op by
         * op and may capture anew.
         */
        boolean launch();

        /** Destroys the graph (idempotent). */
        @Override
        void close();
    }
}
