package dev.jgpt.generate;

import dev.jgpt.JgptException;
import dev.jgpt.backend.Backend;
import dev.jgpt.backend.DeviceTopK;
import dev.jgpt.backend.StepGraphs;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.LazyZeroMemory;
import dev.jgpt.memory.MemoryAccounted;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A {@link CausalLm} that runs on a {@link Backend}'s ops: what every architecture's decoder over the ops
 * shares (GPT-2's {@code Gpt2Inference}, Llama's {@code LlamaOpsInference}), so that each of them only says
 * how its layers and its head run. Here: the position, the prompt staged in chunks of {@link #rows} tokens,
 * the next-token logits and their copy to the host (counted), and — on a backend whose tensors live on a
 * device and that picks the largest logits there ({@link DeviceTopK}, the cuda backend) — the
 * {@link #deviceLogits()} that advance the sequence without that copy.
 *
 * <p>The two arenas, the token staging and the logits are allocated here, once; a subclass allocates the
 * rest in its constructor and closes this object if that fails.
 */
public abstract class BackendLm implements CausalLm, MemoryAccounted {
    protected final Backend ops;
    /** The backend's memory (weights copies, caches, working buffers) and host staging. */
    protected final TensorArena arena, hostArena;
    /** Most tokens one forward pass takes: the prompt runs in chunks of this many. */
    protected final int rows;
    /** Token ids of the current pass: staged on the host, copied to the backend before {@link #forwardRows}. */
    protected final Tensor tokensHost, tokensDev;
    /** Where {@link #computeLogits} leaves the next-token logits (V floats, on the backend). */
    protected final Tensor logits;
    /** Tokens in the cache: the position of the next one. {@link #forwardRows} advances it. */
    protected int pos;

    private final int vocab, context;
    private final Tensor logitsHost;
    private final DeviceLogits deviceLogits;
    private boolean haveLogits;
    private long logitCopies;
    private boolean closed;

    // ---- CUDA graphs (StepGraphs): a one-token step captured once, replayed per token ----------------
    /** The backend's graph capability, or null (host backends, cpu/reference). */
    private final StepGraphs graphs;
    /** A one-token step's token id and position in device memory, [token, position], and their host staging. */
    private final Tensor stepDev, stepHost, stepToken, stepPosition;
    private final GraphSlot stepGraph = new GraphSlot();
    /** A capture failed: this sequence runs its steps op by op from now on. */
    private boolean stepGraphFailed;
    private long graphSteps;
    /** The step graph's device top-k, captured with it: the logits counted (n) and candidates (k); k 0 for none. */
    private int graphN, graphK;
    /** The step as a capturable body, and its name (made once). */
    private Runnable stepBody;
    private String stepWhat;
    /** The backend's device top-k where the logits live on the device, else null. */
    private final DeviceTopK deviceTopK;

    protected BackendLm(Backend backend, int vocabSize, int contextLength, int prefillChunk) {
        this.ops = backend;
        this.vocab = vocabSize;
        this.context = contextLength;
        this.rows = Math.min(contextLength, prefillChunk);
        this.batchPos = new int[rows];
        this.batchK = new Tensor[rows];
        this.batchV = new Tensor[rows];
        this.arena = backend.newArena();
        this.hostArena = TensorArena.host();
        try {
            tokensDev = arena.allocate(DType.I32, rows);
            tokensHost = hostArena.allocate(DType.I32, rows);
            logits = arena.allocate(DType.F32, vocabSize);
            logitsHost = logits.isHost() ? logits : hostArena.allocate(DType.F32, vocabSize);
            graphs = !logits.isHost() && backend instanceof StepGraphs g ? g : null;
            stepDev = graphs != null ? arena.allocate(DType.I32, 2) : null;
            stepHost = graphs != null ? hostArena.allocate(DType.I32, 2) : null;
            stepToken = graphs != null ? stepDev.view(0, 1) : null;
            stepPosition = graphs != null ? stepDev.view(1, 1) : null;
        } catch (RuntimeException | OutOfMemoryError e) {
            close();
            throw e;
        }
        this.deviceTopK = !logits.isHost() && backend instanceof DeviceTopK topK ? topK : null;
        this.deviceLogits = deviceTopK != null ? new OnDevice(deviceTopK) : null;
    }

    /** The sequence advanced without the host copy, its top k read where the logits are (a {@link DeviceTopK} backend). */
    private final class OnDevice implements DeviceLogits {
        private final DeviceTopK topK;

        OnDevice(DeviceTopK topK) {
            this.topK = topK;
        }

        @Override public int maxCandidates() { return topK.maxTopK(); }
        @Override public void prefillOnDevice(int[] tokens) { advance(tokens); }
        @Override public void stepOnDevice(int token) { advance(token); }

        @Override
        public void topCandidates(int n, int k, int[] ids, float[] vals) {
            if (n < 1 || n > vocab) throw new IllegalArgumentException("n: must be in [1, " + vocab + "] but was " + n);
            requireLogits();
            topK.topK(logits, n, k, ids, vals);
        }

        /**
         * On a graph-stepping backend the step's graph ends with the top-k of (n, k) and the copy of the k pairs to
         * the host, so a token is one upload, one replay and one wait (a graph per sequence: another (n, k) captures
         * anew). Elsewhere, and for arguments {@link #topCandidates} refuses, the two calls.
         */
        @Override
        public void stepTopCandidates(int token, int n, int k, int[] ids, float[] vals) {
            if (n < 1 || n > vocab || k < 1 || k > Math.min(topK.maxTopK(), n) || ids.length < k || vals.length < k
                    || !stepGraphsUsable()) {
                DeviceLogits.super.stepTopCandidates(token, n, k, ids, vals);
                return;
            }
            checkRoom(1);
            checkToken(token, pos);
            stepThroughGraph(token, n, k);
            topK.readQueuedTopK(1, k, ids, vals);
        }

        @Override
        public Tensor hostLogits() {
            requireLogits();
            return logitsToHost();
        }

        private void requireLogits() {
            if (!haveLogits) throw new IllegalStateException("no logits yet: prefill first");
        }
    }

    /**
     * One K or V cache per layer, each (context, width): lazily backed on the host ({@link LazyZeroMemory}:
     * only the positions a sequence reaches take memory, which matters for a server's many sessions of a
     * long-context model), from the backend's arena elsewhere, in the backend's {@link Backend#activationDType}
     * (bf16 on cuda in bf16 mode: half the memory and half the bytes each decode step reads).
     */
    protected final Tensor[] caches(int layers, int width) {
        Tensor[] out = new Tensor[layers];
        for (int l = 0; l < layers; l++) {
            out[l] = arena instanceof TensorArena.HostArena h
                    ? Tensor.ofHost(LazyZeroMemory.allocate(4L * context * width, h.arena()), DType.F32, context, width)
                    : arena.allocate(ops.activationDType(), context, width);
        }
        return out;
    }

    /** [layer][pos]: the one-row views of {@link #caches}, made once so that a step allocates nothing. */
    protected static Tensor[][] rowViews(Tensor[] caches) {
        Tensor[][] rows = new Tensor[caches.length][];
        for (int l = 0; l < caches.length; l++) {
            rows[l] = new Tensor[(int) caches[l].dim(0)];
            for (int t = 0; t < rows[l].length; t++) rows[l][t] = caches[l].slice(t);
        }
        return rows;
    }

    /** Bytes of the K and V caches. */
    protected final long cacheBytes(Tensor[] k, Tensor[] v) {
        long kv = 0;
        for (int l = 0; l < k.length; l++) kv += k[l].byteSize() + v[l].byteSize();
        return kv;
    }

    /** Whether {@link #caches} took its memory outside the arena's count (the host's lazily backed caches). */
    protected final boolean cachesOutsideArena() {
        return arena instanceof TensorArena.HostArena;
    }

    /**
     * Runs the n tokens in {@link #tokensDev} (already copied there) at positions pos..pos+n through every
     * layer, writing their keys and values into the cache, and advances {@link #pos} by n.
     */
    protected abstract void forwardRows(int n);

    /** The head over the last row of the last {@link #forwardRows}: the next-token logits into {@link #logits}. */
    protected abstract void computeLogits();

    /** Whether {@link #forwardStepAt} is implemented, so that one-token steps may be captured into a graph. */
    protected boolean hasDeviceStep() {
        return false;
    }

    /**
     * {@link #forwardRows}(1) for the token whose id is in {@code token} and whose position is in {@code position}
     * (device memory, one int each, uploaded before every run), through ops whose arguments do not depend on them
     * (the {@link StepGraphs} ops that read the position when they run): what a CUDA graph captures once and
     * replays per token. Does not advance {@link #pos} (the caller does); leaves the output where
     * {@link #computeLogits} reads it. Only called on a {@link StepGraphs} backend.
     */
    protected void forwardStepAt(Tensor token, Tensor position) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + ": no device-position step");
    }

    /** The backend as a {@link StepGraphs} (for {@link #forwardStepAt}); null where it is not one. */
    protected final StepGraphs stepGraphs() {
        return graphs;
    }

    /** One-token steps run as a replay of this sequence's captured graph so far (tests, bench). */
    public final long graphSteps() {
        return graphSteps;
    }

    /** Whether this sequence holds a captured step graph now. */
    public final boolean hasStepGraph() {
        return stepGraph.held();
    }

    // ---- batched decode: one step for several sequences that share these weights ------------------

    /**
     * Another sequence over the same weights on the same backend (its own KV cache and working buffers; the
     * weights are borrowed): a server's sessions, which {@link #stepBatch} advances together. Close it before
     * the weights' owner.
     */
    public abstract BackendLm newSequence();

    /** Whether {@code other} (of this class, on this backend) runs over the very same weights. */
    protected abstract boolean sharesWeights(BackendLm other);

    /**
     * Runs row i of {@link #tokensDev} (i &lt; n) through every layer at {@code seqs[i]}'s position
     * ({@link #batchPos}[i]), writing its key and value into {@code seqs[i]}'s cache (positions are advanced by
     * the caller; {@link Backend#gqaAttentionDecodeRows} with {@link #batchK}/{@link #batchV} holding one layer's
     * caches does the writes and the attention of all rows); leaves the n rows' output where {@link #batchHead}
     * reads it. Uses this object's working buffers.
     */
    protected abstract void forwardBatch(BackendLm[] seqs, int n);

    /** The head over the n rows of the last {@link #forwardBatch}: (n, vocabSize) logits into {@code out}. */
    protected abstract void batchHead(Tensor out, int n);

    /** Whether {@link #forwardBatchAt} and the cache accessors are implemented, so batched steps may be captured. */
    protected boolean hasDeviceBatchStep() {
        return false;
    }

    /** Layers of this model (the row table holds each layer's cache addresses). */
    protected int cacheLayers() {
        throw new UnsupportedOperationException(getClass().getSimpleName() + ": no device batched step");
    }

    /** This sequence's key (or, with {@code value}, value) cache of layer l. */
    protected Tensor cache(int layer, boolean value) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + ": no device batched step");
    }

    /**
     * {@link #forwardBatch} through ops whose arguments do not depend on which sequences are in the step: row r's
     * token id is {@code tokens[r]}, its position {@code positions[r]} (device memory) and layer l's caches
     * come from {@code caches[l]} ({@link StepGraphs#gqaAttentionDecodeRowsTable}); what a batched step's graph
     * captures once per batch size and replays. Only called on a {@link StepGraphs} backend with n at most
     * {@link StepGraphs#ROW_TABLE_ROWS}.
     */
    protected void forwardBatchAt(int n, Tensor tokens, Tensor positions, Tensor[] caches) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + ": no device batched step");
    }

    // ---- batched steps replayed from graphs (StepGraphs): one graph per batch size and top-k kind ----------
    /**
     * The row table, device and host staging, uploaded with one copy per graph step: ints [0, 32) the rows' token
     * ids, [32, 64) their positions, then per layer 2*32 64-bit cache addresses (k of rows 0..31, then v).
     */
    private Tensor rowTableDev, rowTableHost, rowTokens, rowPositions;
    private Tensor[] rowCaches;
    /** Top-k kinds of a batched graph: none (full logits), greedy (k 1), top-k (captured with k = the most, prefix used). */
    private static final int KINDS = 3;
    /** The batched graphs by (kind, n), each keyed by the vocabulary count its top-k covers; made on first use. */
    private final GraphSlot[][] batchGraphs = new GraphSlot[KINDS][StepGraphs.ROW_TABLE_ROWS + 1];
    /** A batched capture failed: this model's batched steps run op by op from now on. */
    private boolean batchGraphFailed;
    private long batchGraphSteps, batchGraphCaptures;
    /** What {@link #runBatchStep} runs: rows, logits counted per row, candidates (0: no top-k). */
    private int runN, runV, runK;
    private Runnable batchBody;
    private String batchWhat;
    /** The captured top-k's pairs (rows * most candidates) before each row's prefix is handed out. */
    private int[] batchCandIds;
    private float[] batchCandVals;
    /** (n, V) views of the batch logits, made once per n. */
    private Tensor[] batchOut;

    /** Batched steps run as a replay of one of this model's batched graphs (tests, bench). */
    public final long batchGraphSteps() {
        return batchGraphSteps;
    }

    /** Batched graphs captured so far by this model (tests). */
    public final long batchGraphCaptures() {
        return batchGraphCaptures;
    }

    /** Batched graphs this model holds now (tests: bounded by the batch sizes and top-k kinds used). */
    public final int batchGraphsHeld() {
        int c = 0;
        for (GraphSlot[] row : batchGraphs) for (GraphSlot g : row) if (g != null && g.held()) c++;
        return c;
    }

    private boolean batchGraphsUsable(int n) {
        return graphs != null && !batchGraphFailed && n <= StepGraphs.ROW_TABLE_ROWS && graphs.graphsEnabled()
                && hasDeviceBatchStep();
    }

    private Tensor batchLogits, batchLogitsHost;   // (rows, V), allocated on the first batched step
    /** A batched step's rows: each sequence's position (set before {@link #forwardBatch}), and one layer's caches. */
    protected final int[] batchPos;
    protected final Tensor[] batchK, batchV;

    /** Most sequences one {@link #stepBatch} takes. */
    public final int maxBatch() {
        return rows;
    }

    /**
     * One decode step for {@code n} sequences at once: {@code seqs[i]} appends {@code tokens[i]} at its
     * own position. Every matrix product runs once over all n rows, so the weights are read once per
     * step instead of once per sequence; attention runs per row over that sequence's own KV cache.
     * This instance's working buffers are used (it may be one of {@code seqs}); the returned host
     * tensor (n, V) holds row i's next-token logits and is valid until the next batched step.
     * Results equal {@link #step} on each sequence (up to the backend's matmul rounding).
     *
     * @throws IllegalArgumentException when n exceeds {@link #maxBatch()} or a sequence's context, or a
     *     sequence runs over other weights or another backend
     */
    public final Tensor stepBatch(BackendLm[] seqs, int[] tokens, int n) {
        Tensor out = stepBatchOnDevice(seqs, tokens, n);
        if (batchLogitsHost == batchLogits) return batchLogitsHost;
        ops.copy(batchLogitsHost.view(0, out.numel()), out);
        return batchLogitsHost;
    }

    /**
     * {@link #stepBatch} leaving the (n, V) logits where the backend computed them (row i at i*V): on a
     * device backend the caller reads k candidates per row there ({@link DeviceTopK#topKRows}) and copies a
     * row to the host only when those cannot decide ({@link #batchRowToHost}). Valid until the next batched step.
     */
    public final Tensor stepBatchOnDevice(BackendLm[] seqs, int[] tokens, int n) {
        prepareBatch(seqs, tokens, n);
        if (batchGraphsUsable(n)) return stepBatchThroughGraph(seqs, n, 0, 0, 0);
        return stepBatchOpByOp(seqs, n);
    }

    /**
     * {@link #stepBatchOnDevice}, then the k largest of the first V logits of each row into {@code ids/vals[r*k ..
     * r*k+k)} ({@link DeviceTopK#topKRows}); on a graph-stepping backend the top-k is captured into the step's graph
     * (greedy with k 1, any other k with the most the backend gives, each row's first k used: the same candidates, as
     * the order is total), so a step is one upload, one replay and one wait. Needs a {@link DeviceTopK} backend.
     */
    public final void stepBatchCandidates(BackendLm[] seqs, int[] tokens, int n, int V, int k, int[] ids, float[] vals) {
        if (deviceTopK == null) throw new IllegalStateException("no device top-k on this backend");
        prepareBatch(seqs, tokens, n);
        int most = Math.min(deviceTopK.maxTopK(), V);
        if (!batchGraphsUsable(n) || V < 1 || V > vocab || k < 1 || k > most || ids.length < (long) n * k
                || vals.length < (long) n * k) {
            deviceTopK.topKRows(stepBatchOpByOp(seqs, n), n, V, vocab, k, ids, vals);
            return;
        }
        int kind = k == 1 ? 1 : 2, kk = k == 1 ? 1 : most;
        stepBatchThroughGraph(seqs, n, kind, V, kk);
        if (kk == k) {
            deviceTopK.readQueuedTopK(n, k, ids, vals);
            return;
        }
        if (batchCandIds == null) {
            batchCandIds = new int[StepGraphs.ROW_TABLE_ROWS * deviceTopK.maxTopK()];
            batchCandVals = new float[batchCandIds.length];
        }
        deviceTopK.readQueuedTopK(n, kk, batchCandIds, batchCandVals);
        for (int r = 0; r < n; r++) {
            System.arraycopy(batchCandIds, r * kk, ids, r * k, k);
            System.arraycopy(batchCandVals, r * kk, vals, r * k, k);
        }
    }

    /** Checks the step's sequences and tokens; stages the tokens and positions; makes the batch logits once. */
    private void prepareBatch(BackendLm[] seqs, int[] tokens, int n) {
        if (n < 1 || n > rows) throw new IllegalArgumentException("batch of " + n + " sequences: must be in [1, " + rows + "]");
        for (int i = 0; i < n; i++) {
            BackendLm s = seqs[i];
            if (s.ops != ops || s.getClass() != getClass() || !sharesWeights(s)) {
                throw new IllegalArgumentException("sequence " + i + " does not share this model's weights and backend");
            }
            s.checkRoom(1);
            s.checkToken(tokens[i], s.pos);
            tokensHost.setInt(i, tokens[i]);
            batchPos[i] = s.pos;
        }
        if (batchLogits == null) {
            batchLogits = arena.allocate(DType.F32, rows, vocab);
            batchLogitsHost = batchLogits.isHost() ? batchLogits : hostArena.allocate(DType.F32, rows, vocab);
            batchOut = new Tensor[rows + 1];
        }
    }

    /** The step through the ops, launched one by one (host backends; graphs off or unavailable; more than 32 rows). */
    private Tensor stepBatchOpByOp(BackendLm[] seqs, int n) {
        ops.copy(tokensDev, tokensHost);
        forwardBatch(seqs, n);
        for (int i = 0; i < n; i++) {
            seqs[i].pos++;
            seqs[i].haveLogits = false; // this step's logits are in the batch tensor, not the sequence's own
        }
        Tensor out = batchOut(n);
        batchHead(out, n);
        return out;
    }

    private Tensor batchOut(int n) {
        Tensor out = batchOut[n];
        if (out == null) out = batchOut[n] = batchLogits.view(0, (long) n * vocab);
        return out;
    }

    /**
     * The step as a replay of the graph for (top-k kind, n): the row table (the rows' tokens, positions and cache
     * addresses) uploaded in one copy, then one launch. The first step of a (kind, n) runs eagerly through the same
     * ops (a warm-up: lazily made buffers exist after it), the next captures; a graph the backend refuses (precision,
     * bf16 weight copy or top-k buffers changed) is dropped and the step runs eagerly, then captured anew; a failed
     * capture (said once by the backend) leaves this model's batched steps op by op. With k > 0 the top-k of the n
     * rows' first V logits is queued at the end (the caller reads it).
     */
    private Tensor stepBatchThroughGraph(BackendLm[] seqs, int n, int kind, int V, int k) {
        fillRowTable(seqs, n);
        ops.copy(rowTableDev, rowTableHost);
        GraphSlot slot = batchGraphs[kind][n];
        if (slot == null) slot = batchGraphs[kind][n] = new GraphSlot();
        slot.keyed(V); // another vocabulary size counted (another tokenizer): capture anew
        runN = n;
        runV = V;
        runK = k;
        if (batchBody == null) {
            batchBody = this::runBatchStep;
            batchWhat = getClass().getSimpleName() + " batched step";
        }
        GraphSlot.Run run = slot.run(graphs, batchBody, batchWhat);
        if (run == GraphSlot.Run.CAPTURE_FAILED) {
            batchGraphFailed = true; // nothing of the capture ran: run this step eagerly
            runBatchStep();
        }
        if (run == GraphSlot.Run.CAPTURED) batchGraphCaptures++;
        boolean replayed = run == GraphSlot.Run.CAPTURED || run == GraphSlot.Run.REPLAYED;
        if (replayed) batchGraphSteps++;
        for (int i = 0; i < n; i++) {
            seqs[i].pos++;
            seqs[i].haveLogits = false;
        }
        return batchOut(n);
    }

    private void runBatchStep() {
        forwardBatchAt(runN, rowTokens, rowPositions, rowCaches);
        Tensor out = batchOut(runN);
        batchHead(out, runN);
        if (runK > 0) deviceTopK.queueTopKRows(out, runN, runV, vocab, runK);
    }

    /** Row i of the table: the staged token and position, each layer's cache addresses of seqs[i]. */
    private void fillRowTable(BackendLm[] seqs, int n) {
        int R = StepGraphs.ROW_TABLE_ROWS;
        if (rowTableDev == null) {
            int L = cacheLayers();
            long ints = 2L * R + (long) L * StepGraphs.ROW_TABLE_CACHE_INTS;
            rowTableDev = arena.allocate(DType.I32, ints);
            rowTableHost = hostArena.allocate(DType.I32, ints);
            rowTokens = rowTableDev.view(0, R);
            rowPositions = rowTableDev.view(R, R);
            rowCaches = new Tensor[L];
            for (int l = 0; l < L; l++) rowCaches[l] = rowTableDev.view(2L * R + (long) l * StepGraphs.ROW_TABLE_CACHE_INTS, StepGraphs.ROW_TABLE_CACHE_INTS);
        }
        MemorySegment h = rowTableHost.data();
        int L = rowCaches.length;
        for (int i = 0; i < n; i++) {
            h.setAtIndex(ValueLayout.JAVA_INT, i, tokensHost.getInt(i));
            h.setAtIndex(ValueLayout.JAVA_INT, R + i, batchPos[i]);
            for (int l = 0; l < L; l++) {
                long base = 8L * R + 4L * l * StepGraphs.ROW_TABLE_CACHE_INTS; // bytes
                h.set(ValueLayout.JAVA_LONG_UNALIGNED, base + 8L * i, seqs[i].cache(l, false).data().address());
                h.set(ValueLayout.JAVA_LONG_UNALIGNED, base + 8L * (R + i), seqs[i].cache(l, true).data().address());
            }
        }
    }

    /** Row i of the last {@link #stepBatchOnDevice}'s logits, copied to the host (V floats, valid until the next step). */
    public final Tensor batchRowToHost(int i) {
        if (batchLogits == null || i < 0 || i >= rows) throw new IllegalArgumentException("row " + i + ": no batched step holds it");
        Tensor host = batchLogitsHost.view((long) i * vocab, vocab);
        if (batchLogitsHost != batchLogits) ops.copy(host, batchLogits.view((long) i * vocab, vocab));
        return host;
    }

    @Override public final int vocabSize() { return vocab; }
    @Override public final int contextLength() { return context; }
    @Override public final int position() { return pos; }

    /** The backend this model runs on. */
    public final Backend backend() { return ops; }

    @Override
    public void reset() {
        pos = 0;
        haveLogits = false;
    }

    @Override
    public final Tensor prefill(int[] tokens) {
        advance(tokens);
        return logitsToHost();
    }

    @Override
    public final Tensor step(int token) {
        advance(token);
        return logitsToHost();
    }

    /** Null on host backends (the logits are host memory already) and on backends without {@link DeviceTopK}. */
    @Override
    public final DeviceLogits deviceLogits() {
        return deviceLogits;
    }

    /**
     * How many times this sequence has copied its V next-token logits from the device to host memory
     * (prefill, step, or {@link DeviceLogits#hostLogits()}); always 0 on host backends, where
     * {@link #prefill} returns the logits in place. What the device sampling path saves.
     */
    public final long logitCopiesToHost() {
        return logitCopies;
    }

    private Tensor logitsToHost() {
        if (logitsHost != logits) {
            ops.copy(logitsHost, logits);
            logitCopies++;
        }
        return logitsHost;
    }

    private void advance(int[] tokens) {
        if (tokens == null || tokens.length == 0) throw new IllegalArgumentException("tokens: prefill needs at least one token");
        checkRoom(tokens.length);
        for (int i = 0; i < tokens.length; i++) checkToken(tokens[i], pos + i);
        for (int start = 0; start < tokens.length; start += rows) {
            int n = Math.min(rows, tokens.length - start);
            for (int i = 0; i < n; i++) tokensHost.setInt(i, tokens[start + i]);
            ops.copy(tokensDev, tokensHost); // the whole staging buffer: a view per pass would allocate
            forwardRows(n);
        }
        computeLogits();
        haveLogits = true;
    }

    private void advance(int token) {
        checkRoom(1);
        checkToken(token, pos);
        if (stepGraphsUsable()) {
            stepThroughGraph(token, 0, 0);
            return;
        }
        stepOpByOp(token);
    }

    private boolean stepGraphsUsable() {
        return graphs != null && !stepGraphFailed && graphs.graphsEnabled() && hasDeviceStep();
    }

    /** One token through the ops, launched one by one (host backends; graphs off, unavailable or failed). */
    private void stepOpByOp(int token) {
        tokensHost.setInt(0, token);
        ops.copy(tokensDev, tokensHost);
        forwardRows(1);
        computeLogits();
        haveLogits = true;
    }

    /**
     * One token through the step graph: the token and position uploaded (one copy), then one replay. The first
     * such step runs eagerly (lazily made buffers, the bf16 weight copy, exist after it), the second captures the
     * step and replays it; a failed capture (said once by the backend) leaves this sequence on the op-by-op path.
     * With {@code k > 0} the step ends with the top-k of its first n logits queued ({@link DeviceTopK#queueTopKRows},
     * captured into the graph: the caller reads it); a graph captured with another (n, k) is replaced.
     */
    private void stepThroughGraph(int token, int n, int k) {
        stepHost.setInt(0, token);
        stepHost.setInt(1, pos);
        ops.copy(stepDev, stepHost);
        stepGraph.keyed((long) n << 32 | k); // the sampler asks for another top-k: warm up and capture with it
        if (!stepGraph.held()) {
            graphN = n;
            graphK = k;
        }
        if (stepBody == null) {
            stepBody = this::runDeviceStep;
            stepWhat = getClass().getSimpleName() + " step";
        }
        GraphSlot.Run run = stepGraph.run(graphs, stepBody, stepWhat);
        if (run == GraphSlot.Run.CAPTURE_FAILED) {
            stepGraphFailed = true; // nothing of the capture ran: this token goes the op-by-op way
            stepOpByOp(token);
            if (k > 0) deviceTopK.queueTopKRows(logits, 1, n, n, k);
            return;
        }
        if (run != GraphSlot.Run.EAGER) graphSteps++;
        pos++;
        haveLogits = true;
    }

    private void runDeviceStep() {
        forwardStepAt(stepToken, stepPosition);
        computeLogits();
        if (graphK > 0) deviceTopK.queueTopKRows(logits, 1, graphN, graphN, graphK);
    }

    /** @throws IllegalArgumentException when n more tokens do not fit the context */
    protected final void checkRoom(int n) {
        if (pos + n > context) {
            throw new IllegalArgumentException("context full: " + pos + " cached + " + n + " new tokens exceed the context length "
                    + context);
        }
    }

    /** @throws JgptException for an id outside the vocabulary (a tokenizer that does not match the model) */
    protected final void checkToken(int token, int position) {
        if (token < 0 || token >= vocab) {
            throw new JgptException("token " + token + " at position " + position + " is outside the vocabulary [0, "
                    + vocab + ")");
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        stepGraph.close();
        for (GraphSlot[] row : batchGraphs) {
            for (GraphSlot g : row) if (g != null) g.close();
        }
        arena.close();
        hostArena.close();
    }
}
