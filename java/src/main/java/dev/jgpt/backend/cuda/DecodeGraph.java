package dev.jgpt.backend.cuda;

import dev.jgpt.backend.StepGraphs;
import dev.jgpt.bindings.CudaDriver;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.Supplier;

/**
 * One decode step captured from the backend's stream into an instantiated CUDA graph ({@code cuStreamBeginCapture}
 * ... {@code cuStreamEndCapture}, {@code cuGraphInstantiateWithFlags}) and replayed with one {@code cuGraphLaunch}
 * per token. The graph holds the kernel arguments and cuBLAS operands as they were at capture: the buffers must
 * stay where they are (a sequence's caches and working buffers do until it is closed) and anything that changes
 * per token is read from device memory by the kernels themselves.
 *
 * <p>Captured in {@code CU_STREAM_CAPTURE_MODE_THREAD_LOCAL}: this thread may make no unsafe call (allocation,
 * synchronisation) while capturing, other threads (another model on another backend) are not affected.
 */
final class DecodeGraph implements StepGraphs.Graph {
    private final CudaContext ctx;
    private final String what;
    private final Object key;
    private final Supplier<Object> currentKey;
    private final Runnable beforeReplay;
    private MemorySegment exec;
    /** Replays queued so far (tests). */
    private long launches;

    private DecodeGraph(CudaContext ctx, MemorySegment exec, String what, Object key, Supplier<Object> currentKey,
                        Runnable beforeReplay) {
        this.ctx = ctx;
        this.exec = exec;
        this.what = what;
        this.key = key;
        this.currentKey = currentKey;
        this.beforeReplay = beforeReplay;
    }

    /**
     * Captures what {@code body} queues on the context's stream. Null when the capture failed; {@code failure}
     * then holds the reason (the driver's calls missing, or the call that broke the capture). {@code key} stands
     * for the backend state the captured calls depend on (the precision, the bf16 weight copy's address):
     * {@code currentKey} is asked before each replay, and a replay is refused once it differs;
     * {@code beforeReplay} runs eagerly before each replay (the backend brings its bf16 weight copy up to date).
     */
    static DecodeGraph capture(CudaContext ctx, Runnable body, String what, Supplier<Object> currentKey,
                               Runnable beforeReplay, StringBuilder failure) {
        Object key = currentKey.get();
        ctx.ensureCurrent();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            int rc;
            try {
                rc = CudaDriver.cuStreamBeginCapture_v2(ctx.stream(), CudaDriver.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
            } catch (UnsatisfiedLinkError e) {
                failure.append("the CUDA driver has no graph calls (").append(e.getMessage()).append(')');
                return null;
            }
            if (rc != CudaDriver.CUDA_SUCCESS) {
                failure.append("cuStreamBeginCapture: ").append(CudaException.describe(rc));
                return null;
            }
            RuntimeException thrown = null;
            ctx.capturing(true);
            try {
                body.run();
            } catch (RuntimeException e) {
                thrown = e;
            } finally {
                ctx.capturing(false);
            }
            // always end the capture, so the stream is usable again whatever happened inside it
            rc = CudaDriver.cuStreamEndCapture(ctx.stream(), out);
            MemorySegment graph = out.get(ValueLayout.ADDRESS, 0);
            if (thrown != null || rc != CudaDriver.CUDA_SUCCESS) {
                if (!graph.equals(MemorySegment.NULL)) CudaDriver.cuGraphDestroy(graph);
                failure.append(thrown != null ? thrown.getMessage() : "cuStreamEndCapture: " + CudaException.describe(rc));
                return null;
            }
            rc = CudaDriver.cuGraphInstantiateWithFlags(out, graph, 0L);
            CudaDriver.cuGraphDestroy(graph); // the executable graph does not need it
            if (rc != CudaDriver.CUDA_SUCCESS) {
                failure.append("cuGraphInstantiateWithFlags: ").append(CudaException.describe(rc));
                return null;
            }
            return new DecodeGraph(ctx, out.get(ValueLayout.ADDRESS, 0), what, key, currentKey, beforeReplay);
        }
    }

    /** Replays queued so far. */
    long launches() {
        return launches;
    }

    /** Queues one replay; one row of the kernel timeline, named after the graph. */
    @Override
    public boolean launch() {
        if (exec == null) throw new IllegalStateException("graph '" + what + "' was closed");
        ctx.ensureCurrent();
        beforeReplay.run();
        if (!key.equals(currentKey.get())) {
            close();
            return false;
        }
        KernelTimeline timeline = ctx.timeline();
        timeline.begin();
        int rc = CudaDriver.cuGraphLaunch(exec, ctx.stream());
        if (rc != CudaDriver.CUDA_SUCCESS) CudaException.check(rc, "cuGraphLaunch(" + what + ")");
        timeline.end("graph: " + what, KernelTimeline.Kind.GRAPH, 0);
        launches++;
        if (ctx.debug()) CudaException.check(CudaDriver.cuStreamSynchronize(ctx.stream()), "graph " + what);
        return true;
    }

    @Override
    public void close() {
        if (exec == null) return;
        MemorySegment e = exec;
        exec = null;
        if (ctx.isClosed()) return; // releasing the context destroyed it
        ctx.ensureCurrent();
        CudaDriver.cuStreamSynchronize(ctx.stream()); // a replay still queued reads the graph
        CudaDriver.cuGraphExecDestroy(e);
    }
}
