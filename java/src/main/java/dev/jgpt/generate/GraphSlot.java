package dev.jgpt.generate;

import dev.jgpt.backend.StepGraphs;

/**
 * One step shape's CUDA graph over its life ({@link StepGraphs}): the first run is eager (a warm-up, so lazily made
 * buffers exist before anything is captured), the next captures the body and replays it, later runs replay. A graph
 * the backend refuses at launch (the state it captured moved: precision, the bf16 weight copy, operand slots) is
 * dropped and the shape warms up again; so is a graph captured for another key (another top-k, another vocabulary
 * count). The single-sequence step holds one slot, a model's batched steps one per (top-k kind, batch size).
 */
final class GraphSlot implements AutoCloseable {
    /** What {@link #run} did. */
    enum Run {
        /** The body ran op by op (the warm-up). */
        EAGER,
        /** The body was captured and its graph launched. */
        CAPTURED,
        /** The graph captured earlier was launched. */
        REPLAYED,
        /** The capture failed (the backend said why, once); nothing of the body ran. */
        CAPTURE_FAILED
    }

    private StepGraphs.Graph graph;
    private boolean warm;
    private long key;

    /** Drops a graph captured for another key; the next capture is for {@code key}. */
    void keyed(long key) {
        if (graph != null && this.key != key) close();
        if (graph == null) this.key = key;
    }

    Run run(StepGraphs graphs, Runnable body, String what) {
        if (graph != null) {
            if (graph.launch()) return Run.REPLAYED;
            graph = null; // refused (and closed by the backend): stale, warm up again
            warm = false;
        }
        if (!warm) {
            body.run();
            warm = true;
            return Run.EAGER;
        }
        graph = graphs.capture(body, what);
        if (graph == null) return Run.CAPTURE_FAILED;
        if (!graph.launch()) throw new IllegalStateException("a graph captured just now was refused");
        return Run.CAPTURED;
    }

    /** Whether a captured graph is held now. */
    boolean held() {
        return graph != null;
    }

    @Override
    public void close() {
        if (graph != null) graph.close();
        graph = null;
        warm = false;
    }
}
