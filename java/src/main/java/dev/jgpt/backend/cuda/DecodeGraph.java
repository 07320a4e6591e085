package dev.jgpt.backend.cuda;

import dev.jgpt.backend.StepGraphs;
import dev.jgpt.bindings.CudaDriver;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.BooleanSupplier;

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
    /** Its row in the kernel timeline (made once: a replay allocates nothing). */
    private final String timelineName;
    private final BooleanSupplier stillValid;
    private final Runnable beforeReplay;
    private MemorySegment exec;
    /** Replays queued so far (tests). */
    private long launches;

    private DecodeGraph(CudaContext ctx, MemorySegment exec, String what, BooleanSupplier stillValid, Runnable beforeReplay) {
        this.ctx = ctx;
        this.exec = exec;
        this.what = what;
        this.timelineName = "graph: " + what;
        this.stillValid = stillValid;
        this.beforeReplay = beforeReplay;
    }

    /**
     * Captures what {@code body} queues on the context's stream. Null when the capture failed; {@code failure}
     * then holds the reason (the driver's calls missing, or the call that broke the capture). {@code stillValid}
     * says whether the backend state the captured calls depend on (the precision, the bf16 weight copy's and operand
     * slots' addresses) is still what it was at capture: asked before each replay, which is refused once it is not
     * (it must not allocate: it runs per token); {@code beforeReplay} runs eagerly before each replay (the backend
     * brings its bf16 weight copy up to date).
     */
    static DecodeGraph capture(CudaContext ctx, Runnable body, String what, BooleanSupplier stillValid,
                               Runnable beforeReplay, StringBuilder failure) {
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
            return new DecodeGraph(ctx, out.get(ValueLayout.ADDRESS, 0), what, stillValid, beforeReplay);
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
        if (!stillValid.getAsBoolean()) {
            close();
            return false;
        }
        KernelTimeline timeline = ctx.timeline();
        timeline.begin();
        int rc = CudaDriver.cuGraphLaunch(exec, ctx.stream());
        if (rc != CudaDriver.CUDA_SUCCESS) CudaException.check(rc, "cuGraphLaunch(" + what + ")");
        timeline.end(timelineName, KernelTimeline.Kind.GRAPH, 0);
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
