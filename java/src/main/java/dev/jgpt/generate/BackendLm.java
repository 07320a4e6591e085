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
    private StepGraphs.Graph stepGraph;
    /** The device-position step ran eagerly once (so lazily made buffers exist before a capture). */
    private boolean stepWarm;
    /** A capture failed: this sequence runs its steps op by op from now on. */
    private boolean stepGraphFailed;
    private long graphSteps;

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
        this.deviceLogits = !logits.isHost() && backend instanceof DeviceTopK topK ? new OnDevice(topK) : null;
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
     * long-context model), from the backend's arena elsewhere.
     */
    protected final Tensor[] caches(int layers, int width) {
        Tensor[] out = new Tensor[layers];
        for (int l = 0; l < layers; l++) {
            out[l] = arena instanceof TensorArena.HostArena h
                    ? Tensor.ofHost(LazyZeroMemory.allocate(4L * context * width, h.arena()), DType.F32, context, width)
                    : arena.allocate(DType.F32, context, width);
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
        return stepGraph != null;
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
        }
        ops.copy(tokensDev, tokensHost);
        forwardBatch(seqs, n);
        for (int i = 0; i < n; i++) {
            seqs[i].pos++;
            seqs[i].haveLogits = false; // this step's logits are in the batch tensor, not the sequence's own
        }
        Tensor out = batchLogits.view(0, (long) n * vocab);
        batchHead(out, n);
        return out;
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
        if (graphs != null && !stepGraphFailed && graphs.graphsEnabled() && hasDeviceStep()) {
            stepThroughGraph(token);
            return;
        }
        stepOpByOp(token);
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
     */
    private void stepThroughGraph(int token) {
        stepHost.setInt(0, token);
        stepHost.setInt(1, pos);
        ops.copy(stepDev, stepHost);
        if (stepGraph != null && !stepGraph.launch()) {
            stepGraph = null; // stale (the backend's precision or bf16 weight copy changed): run eagerly, capture anew
            stepWarm = false;
        }
        if (stepGraph == null) {
            if (!stepWarm) {
                runDeviceStep();
                stepWarm = true;
            } else {
                stepGraph = graphs.capture(this::runDeviceStep, getClass().getSimpleName() + " step");
                if (stepGraph == null) {
                    stepGraphFailed = true; // nothing of the capture ran: this token goes the op-by-op way
                    stepOpByOp(token);
                    return;
                }
                if (!stepGraph.launch()) throw new IllegalStateException("a graph captured just now was refused");
                graphSteps++;
            }
        } else {
            graphSteps++;
        }
        pos++;
        haveLogits = true;
    }

    private void runDeviceStep() {
        forwardStepAt(stepToken, stepPosition);
        computeLogits();
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
        if (stepGraph != null) stepGraph.close();
        stepGraph = null;
        arena.close();
        hostArena.close();
    }
}
