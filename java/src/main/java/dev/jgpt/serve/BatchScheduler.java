package dev.jgpt.serve;

import dev.jgpt.JgptException;
import dev.jgpt.generate.BatchDecoder;
import dev.jgpt.generate.FinishReason;
import dev.jgpt.generate.Generator;
import dev.jgpt.generate.Sampler;
import dev.jgpt.generate.StopMatcher;
import dev.jgpt.memory.Tensor;
import dev.jgpt.tokenizer.Tokenizer;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Continuous batching for one model: a single decode thread keeps up to N sequences in flight
 * (one KV cache each, shared weights) and advances all of them with one
 * {@link BatchDecoder#step batched step} per token, so the weights are read once per step for
 * every client instead of once per client. The model is any {@link BatchDecoder}: GPT-2
 * ({@code dev.jgpt.model.Gpt2NativeBatchDecoder} on the cpu backend) or a Llama-family model
 * ({@code dev.jgpt.llama.LlamaBatchDecoder}) through libjgpt, or either through a backend's ops
 * ({@link BackendBatchDecoder}; on cuda it picks each row's candidates on the device, {@link BatchDecoder#stepCandidates}).
 *
 * <p>A new request joins at the next step (its prompt is
 * prefilled on its own first); a finished, cancelled or timed-out one leaves at once and frees its
 * cache for the next in the queue.
 *
 * <p>Sampling, stop sequences and end tokens follow {@link Generator} exactly (the same
 * {@link Sampler} and {@link StopMatcher} per sequence), so a seeded request gives the same text
 * batched or not, up to the backend's matmul rounding.
 */
final class BatchScheduler implements AutoCloseable {
    private final String name;
    private final BatchDecoder lm;
    private final Slot[] slots;
    private final Tokenizer tok;
    private final int eos, end;
    private final LinkedBlockingQueue<DecodeJob> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean closed;
    private final AtomicInteger active = new AtomicInteger();
    final AtomicLong completed = new AtomicLong(), cancelled = new AtomicLong(), timedOut = new AtomicLong();
    /** Sequences advanced per batched step, summed (with {@link #steps}: the mean batch size). */
    final AtomicLong stepRows = new AtomicLong(), steps = new AtomicLong();
    /** Of those, the rows sampled from k candidates picked on the device ({@link BatchDecoder#stepCandidates}). */
    final AtomicLong candidateRows = new AtomicLong();
    /** {@link BatchDecoder#maxCandidates()}: 0 where every step copies the full logits. */
    private final int maxCandidates;
    /** A step's candidates (row i at i*k), and one row's that its sampler reads. */
    private final int[] candIds, rowIds;
    private final float[] candLogits, rowLogits;

    /** One sequence in flight. */
    private static final class Slot {
        final int index;
        final Sampler sampler;
        DecodeJob job;
        StopMatcher stops;
        int generated, promptTokens, next;
        long start, firstToken;

        Slot(int index, int vocab) {
            this.index = index;
            this.sampler = new Sampler(vocab);
        }
    }

    /** @param lm stepped by this scheduler's thread only; closed by its owner, not here */
    BatchScheduler(String name, BatchDecoder lm, Tokenizer tok) {
        this.name = name;
        this.lm = lm;
        this.tok = tok;
        this.slots = new Slot[lm.maxBatch()];
        this.maxCandidates = lm.maxCandidates();
        this.candIds = new int[slots.length * maxCandidates];
        this.candLogits = new float[slots.length * maxCandidates];
        this.rowIds = new int[maxCandidates];
        this.rowLogits = new float[maxCandidates];
        for (int i = 0; i < slots.length; i++) slots[i] = new Slot(i, tok.vocabSize());
        this.eos = tok.specialTokenId("<|endoftext|>").orElse(-1);
        this.end = tok.specialTokenId("<|end|>").orElse(-1);
        this.thread = new Thread(this::loop, "decode-" + name);
        thread.setDaemon(true);
        thread.start();
    }

    int sessions() { return slots.length; }
    int active() { return active.get(); }
    int queued() { return queue.size(); }

    void submit(DecodeJob job) {
        queue.add(job);
    }

    private void loop() {
        lm.bindThread(); // OpenMP's thread count is per thread
        int[] seqs = new int[slots.length];
        int[] tokens = new int[slots.length];
        Slot[] stepping = new Slot[slots.length];
        while (!closed) {
            try {
                admit();
                int n = 0;
                for (Slot s : slots) {
                    if (s.job == null) continue;
                    seqs[n] = s.index;
                    tokens[n] = s.next;
                    stepping[n++] = s;
                }
                if (n == 0) continue;
                int k = candidatesFor(stepping, n);
                Tensor logits = null;
                try {
                    if (k > 0) lm.stepCandidates(seqs, tokens, n, tok.vocabSize(), k, candIds, candLogits);
                    else logits = lm.step(seqs, tokens, n);
                } catch (RuntimeException e) {
                    for (int i = 0; i < n; i++) fail(stepping[i], e);
                    continue;
                }
                steps.incrementAndGet();
                stepRows.addAndGet(n);
                long V = k > 0 ? 0 : logits.dim(1);
                for (int i = 0; i < n; i++) {
                    Slot s = stepping[i];
                    try {
                        accept(s, k > 0 ? sampleCandidates(s, i, k) : s.sampler.sample(logits.view(i * V, V)));
                    } catch (RuntimeException e) {
                        fail(s, e);
                    }
                }
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * Candidates per row for a step in which every sequence samples exactly from its row's largest logits
     * ({@link Sampler#candidatesNeeded}; the most any of them needs), or 0 when one needs the full logits
     * (or the decoder has no {@link BatchDecoder#stepCandidates}).
     */
    private int candidatesFor(Slot[] stepping, int n) {
        if (maxCandidates == 0) return 0;
        int k = 0;
        for (int i = 0; i < n; i++) {
            int need = stepping[i].sampler.candidatesNeeded(maxCandidates);
            if (need == 0) return 0;
            k = Math.max(k, need);
        }
        return k;
    }

    /**
     * Slot s's token from the first of row i's k candidates that its settings need (they are ordered, so
     * those are its row's largest); the full row only when they cannot decide (a non-finite largest logit).
     */
    private int sampleCandidates(Slot s, int i, int k) {
        int need = s.sampler.candidatesNeeded(maxCandidates);
        System.arraycopy(candIds, i * k, rowIds, 0, need);
        System.arraycopy(candLogits, i * k, rowLogits, 0, need);
        candidateRows.incrementAndGet();
        int token = s.sampler.sampleCandidates(rowIds, rowLogits, need);
        return token >= 0 ? token : s.sampler.sample(lm.candidatesRow(i));
    }

    /** Fills free slots from the queue: waits when nothing is in flight, never when something is. */
    private void admit() throws InterruptedException {
        for (Slot s : slots) {
            if (s.job != null) continue;
            DecodeJob job = active.get() == 0 ? queue.take() : queue.poll();
            if (job == null) return;
            start(s, job);
        }
    }

    private void start(Slot s, DecodeJob job) {
        if (job.staleBeforeStart(name, cancelled, timedOut)) return;
        s.job = job;
        active.incrementAndGet();
        try {
            int[] ids = Generator.fitToContext(startTokens(job.prompt), job.config, lm.contextLength());
            s.start = System.nanoTime();
            s.firstToken = 0;
            s.generated = 0;
            s.promptTokens = ids.length;
            s.stops = new StopMatcher(job.config.stopSequences());
            s.sampler.reset(job.config);
            for (int t : ids) s.sampler.observe(t);
            lm.reset(s.index);
            accept(s, s.sampler.sample(lm.prefill(s.index, ids)));
        } catch (RuntimeException e) {
            fail(s, e);
        }
    }

    private int[] startTokens(int[] prompt) {
        if (prompt.length > 0) return prompt;
        if (eos < 0) throw new JgptException("the prompt is empty and the tokenizer has no <|endoftext|> to start from");
        return new int[] {eos};
    }

    /** A sampled token: ends the sequence or queues it for the next step (as {@link Generator} does). */
    private void accept(Slot s, int token) {
        DecodeJob job = s.job;
        if (s.generated == 0) s.firstToken = System.nanoTime();
        if (token == eos || token == end) {
            finish(s, FinishReason.EOS);
            return;
        }
        s.generated++;
        s.sampler.observe(token);
        if (job.cancelled() || job.expired()) {
            boolean late = !job.cancelled();
            (late ? timedOut : cancelled).incrementAndGet();
            job.emit(new DecodeJob.Done(FinishReason.LENGTH, s.promptTokens, s.generated - 1, 0, 0, late));
            free(s);
            return;
        }
        String text = s.stops.accept(tok.tokenBytes(token));
        if (!text.isEmpty()) job.emit(new DecodeJob.Text(text));
        if (s.stops.stopped()) finish(s, FinishReason.STOP);
        else if (s.generated >= job.config.maxNewTokens()) finish(s, FinishReason.LENGTH);
        else s.next = token;
    }

    private void finish(Slot s, FinishReason reason) {
        String rest = s.stops.flush();
        if (!rest.isEmpty()) s.job.emit(new DecodeJob.Text(rest));
        long now = System.nanoTime();
        double decode = (now - s.firstToken) / 1e9;
        double tps = s.generated > 1 && decode > 0 ? (s.generated - 1) / decode : 0;
        double ttft = s.firstToken == 0 ? 0 : (s.firstToken - s.start) / 1e6;
        completed.incrementAndGet();
        s.job.emit(new DecodeJob.Done(reason, s.promptTokens, s.generated, ttft, tps, false));
        free(s);
    }

    private void fail(Slot s, RuntimeException e) {
        if (s.job == null) return;
        s.job.emit(new DecodeJob.Failed(e));
        free(s);
    }

    private void free(Slot s) {
        s.job = null;
        lm.reset(s.index);
        active.decrementAndGet();
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        DecodeJob j;
        while ((j = queue.poll()) != null) {
            j.emit(new DecodeJob.Failed(new ApiException(503, "server_error", "shutting_down", null, "the server is shutting down")));
        }
    }
}
