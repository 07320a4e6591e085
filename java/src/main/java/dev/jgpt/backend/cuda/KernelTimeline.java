package dev.jgpt.backend.cuda;

import dev.jgpt.bindings.CudaDriver;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-kernel GPU time of the cuda backend, from CUDA events: while a step is being recorded
 * ({@link #beginStep()} .. {@link #endStep()}), every kernel launch, cuBLAS call and copy on the backend's
 * stream is bracketed by two events recorded on that stream, without waiting for them. {@link #endStep()}
 * synchronises once, reads each pair's elapsed time and adds it to the call's name: the kernel's symbol
 * ({@code layernorm_forward}), the product's label ({@code matmulForward}, {@code attention QK^T}) or the
 * copy's ({@code memset}, {@code memcpy DtoH}). Unlike {@code TimingBackend}, which synchronises around
 * every Backend op and so times launch latency plus a round trip, this times what the GPU executes, one
 * kernel at a time, and the step's host wall time beside it: the gap between the two is launch overhead,
 * host work and waits for values to come back.
 *
 * <p>Costs: when not recording, a boolean check in {@code begin} and {@code end} per launch. When recording, two
 * {@code cuEventRecord} calls per launch; events come from a pool that grows during the first recorded
 * step and is reused after (no {@code cuEventCreate} per step), and the per-call bookkeeping lives in
 * arrays that are reused too (no Java garbage per call). Events recorded between kernels on one stream add
 * a little GPU time of their own, so the profile of a step is slightly slower than the plain step.
 *
 * <p>Owned by the {@link CudaContext} (one per stream); destroyed with it. Not thread-safe, like the context.
 */
public final class KernelTimeline implements AutoCloseable {
    /** What a named row times. */
    public enum Kind { KERNEL, CUBLAS, COPY, GRAPH }

    /** One name's totals over the recorded steps: GPU milliseconds, calls and, for products, FLOPs. */
    public record Row(String name, Kind kind, double ms, long calls, double flops) {
        /** Achieved TFLOP/s of a product's calls, NaN for kernels and copies (no FLOP count) or zero time. */
        public double tflops() {
            return flops > 0 && ms > 0 ? flops / (ms * 1e-3) / 1e12 : Double.NaN;
        }
    }

    /**
     * The recorded steps: rows sorted by GPU time (largest first), {@code gpuMs} their sum (one stream:
     * kernels do not overlap, so this is the GPU's busy time) and {@code wallMs} the host wall time of the
     * same steps, from {@link #beginStep()} to the synchronisation in {@link #endStep()}.
     */
    public record Profile(int steps, double wallMs, double gpuMs, List<Row> rows) {
        /** GPU busy time over wall time, 0..1 (NaN before any step). */
        public double busyShare() {
            return wallMs > 0 ? gpuMs / wallMs : Double.NaN;
        }
    }

    /** Pairs recorded before a step is read out in the middle of it, which bounds the pool (and its memory). */
    static final int MAX_PENDING = 1 << 15;
    private int maxPending = MAX_PENDING;

    private final MemorySegment stream;
    private final MemorySegment handleOut;
    private final MemorySegment elapsedOut;

    /** Read on every launch: true only between {@link #beginStep()} and {@link #endStep()}. */
    private boolean recording;

    // the event pool: events[2i] starts pair i, events[2i+1] ends it; created on demand, kept until close
    private MemorySegment[] events = new MemorySegment[0];
    private int created;

    // pairs recorded since the last read-out: the name id and FLOPs of each
    private int pending;
    private int[] pendingName = new int[256];
    private double[] pendingFlops = new double[256];

    // names: kernels by ordinal, everything else through the map (string keys: a lookup allocates nothing)
    private final int[] kernelName = new int[Kernel.values().length];
    private final Map<String, Integer> nameIds = new HashMap<>();
    private final List<String> names = new ArrayList<>();
    private final List<Kind> kinds = new ArrayList<>();

    // totals per name id over the recorded steps
    private double[] totalMs = new double[64];
    private long[] totalCalls = new long[64];
    private double[] totalFlops = new double[64];
    private int steps;
    private long wallNanos, stepStart;
    private long eventsCreated;

    /** {@code arena}: the owner's, for two small out-parameters; it must outlive this timeline. */
    KernelTimeline(MemorySegment stream, Arena arena) {
        this.stream = stream;
        this.handleOut = arena.allocate(ValueLayout.ADDRESS);
        this.elapsedOut = arena.allocate(ValueLayout.JAVA_FLOAT);
        Arrays.fill(kernelName, -1);
    }

    /**
     * True while the stream is being captured into a CUDA graph ({@link DecodeGraph}): the calls are recorded into
     * the graph, not run, so no events bracket them (an event read-out would synchronise and break the capture);
     * the graph's launch is then one row of its own.
     */
    private boolean suspended;

    void suspend(boolean on) {
        suspended = on;
    }

    /** Whether a step is being recorded now. */
    public boolean recording() {
        return recording;
    }

    /** Starts recording a step: the wall clock starts here. */
    public void beginStep() {
        if (recording) throw new IllegalStateException("beginStep: a step is already being recorded");
        recording = true;
        stepStart = System.nanoTime();
    }

    /**
     * Ends the step: waits for the stream once, stops the wall clock, then reads every pair's elapsed time
     * into the totals. Returns the step's wall milliseconds.
     */
    public double endStep() {
        if (!recording) throw new IllegalStateException("endStep: no step is being recorded (beginStep first)");
        recording = false;
        CudaException.check(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize(timeline)");
        long wall = System.nanoTime() - stepStart;
        wallNanos += wall;
        steps++;
        readPending();
        return wall / 1e6;
    }

    /** Forgets the totals (e.g. after warm-up steps, which grew the event pool). Keeps the pool. */
    public void reset() {
        if (recording) throw new IllegalStateException("reset: a step is being recorded");
        Arrays.fill(totalMs, 0);
        Arrays.fill(totalCalls, 0);
        Arrays.fill(totalFlops, 0);
        steps = 0;
        wallNanos = 0;
    }

    /** Tests: a smaller bound on the pairs kept before a read-out, so the read-out mid-step runs with tiny models. */
    void maxPendingForTests(int pairs) {
        if (pairs < 1 || pairs > MAX_PENDING) throw new IllegalArgumentException("pairs: 1.." + MAX_PENDING);
        if (pending > 0) throw new IllegalStateException("pairs are pending");
        this.maxPending = pairs;
    }

    /** Events this timeline has created so far (the pool's size): constant once the pool has grown. */
    public long eventsCreated() {
        return eventsCreated;
    }

    /** The totals of the steps recorded since the last {@link #reset()}. */
    public Profile profile() {
        List<Row> rows = new ArrayList<>();
        double gpu = 0;
        for (int id = 0; id < names.size(); id++) {
            if (totalCalls[id] == 0) continue;
            rows.add(new Row(names.get(id), kinds.get(id), totalMs[id], totalCalls[id], totalFlops[id]));
            gpu += totalMs[id];
        }
        rows.sort((a, b) -> Double.compare(b.ms(), a.ms()));
        return new Profile(steps, wallNanos / 1e6, gpu, List.copyOf(rows));
    }

    // ---- called around each launch; nothing happens unless a step is being recorded -------------------

    /** Records the start event of the next call on the stream (while recording). */
    void begin() {
        if (!recording || suspended) return;
        int pair = pending;
        if (2 * pair + 1 >= created) grow(2 * pair + 2);
        CudaException.check(CudaDriver.cuEventRecord(events[2 * pair], stream), "cuEventRecord");
    }

    /** Records the end event of the call {@link #begin()} started, as a launch of {@code k}. */
    void end(Kernel k) {
        if (!recording || suspended) return;
        int id = kernelName[k.ordinal()];
        if (id < 0) id = kernelName[k.ordinal()] = nameId(k.symbol(), Kind.KERNEL);
        end(id, 0);
    }

    /** Records the end event of the call {@link #begin()} started, named {@code name}, with its FLOPs (0: none). */
    void end(String name, Kind kind, double flops) {
        if (!recording || suspended) return;
        Integer id = nameIds.get(name);
        end(id != null ? id : nameId(name, kind), flops);
    }

    private void end(int id, double flops) {
        int pair = pending;
        CudaException.check(CudaDriver.cuEventRecord(events[2 * pair + 1], stream), "cuEventRecord");
        if (pair == pendingName.length) {
            pendingName = Arrays.copyOf(pendingName, 2 * pair);
            pendingFlops = Arrays.copyOf(pendingFlops, 2 * pair);
        }
        pendingName[pair] = id;
        pendingFlops[pair] = flops;
        pending = pair + 1;
        if (pending == maxPending) {
            // a very long step: read out what is there (one extra wait) rather than grow without bound
            CudaException.check(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize(timeline)");
            readPending();
        }
    }

    private int nameId(String name, Kind kind) {
        int id = names.size();
        names.add(name);
        kinds.add(kind);
        nameIds.put(name, id);
        if (id == totalMs.length) {
            totalMs = Arrays.copyOf(totalMs, 2 * id);
            totalCalls = Arrays.copyOf(totalCalls, 2 * id);
            totalFlops = Arrays.copyOf(totalFlops, 2 * id);
        }
        return id;
    }

    private void grow(int need) {
        if (need > events.length) events = Arrays.copyOf(events, Math.max(need, 2 * events.length));
        while (created < need) {
            CudaException.check(CudaDriver.cuEventCreate(handleOut, CudaDriver.CU_EVENT_DEFAULT), "cuEventCreate");
            events[created++] = handleOut.get(ValueLayout.ADDRESS, 0);
            eventsCreated++;
        }
    }

    /** Adds the pending pairs' times to the totals; the stream must have passed them. */
    private void readPending() {
        for (int i = 0; i < pending; i++) {
            CudaException.check(CudaDriver.cuEventElapsedTime_v2(elapsedOut, events[2 * i], events[2 * i + 1]),
                    "cuEventElapsedTime");
            int id = pendingName[i];
            totalMs[id] += elapsedOut.get(ValueLayout.JAVA_FLOAT, 0);
            totalCalls[id]++;
            totalFlops[id] += pendingFlops[i];
        }
        pending = 0;
    }

    /** Destroys the pool's events (the context must still be current). */
    @Override
    public void close() {
        try {
            for (int i = 0; i < created; i++) CudaDriver.cuEventDestroy_v2(events[i]);
        } finally {
            created = 0;
            events = new MemorySegment[0];
            recording = false;
        }
    }
}
