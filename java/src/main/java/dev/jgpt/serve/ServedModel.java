package dev.jgpt.serve;

import dev.jgpt.JgptException;
import dev.jgpt.generate.CausalLm;
import dev.jgpt.generate.FinishReason;
import dev.jgpt.generate.GenerationResult;
import dev.jgpt.generate.Generator;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.generate.TokenListener;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One model being served: its tokenizer, a fixed set of decode sessions and the queue in front of
 * them.
 *
 * <p>What is and is not batched: each session is a {@link CausalLm} with its own KV cache; for a
 * GPT-2 model every session borrows the same flat weights ({@link Gpt2Inference#params()}), so N
 * sessions cost N caches, not N models. Up to N requests decode at the same time, each on its own
 * platform thread (kernels pin the thread; virtual threads are kept for I/O). Requests beyond N wait
 * in a FIFO queue of at most {@code maxQueue}; beyond that the server answers 503. The sequences are
 * <em>not</em> fused into one batched matrix product: the {@code CausalLm} contract is
 * single-sequence, so throughput grows with clients up to N concurrent decodes (bounded by the
 * cores), then stays flat instead of collapsing.
 */
public final class ServedModel implements AutoCloseable {

    private final String name;
    private final LoadedModel loaded;
    private final List<CausalLm> extra = new ArrayList<>();
    private final BlockingQueue<Session> idle;
    private final ThreadPoolExecutor workers;
    private final int maxQueue;
    private final AtomicInteger waiting = new AtomicInteger();
    private final long created = System.currentTimeMillis() / 1000;
    private final boolean chat;
    private final java.util.concurrent.atomic.AtomicLong completed = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong cancelled = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong timedOut = new java.util.concurrent.atomic.AtomicLong();

    private record Session(CausalLm lm, Generator generator) {}

    /** Thrown inside a generation to end it early (client gone or deadline passed). */
    private static final class Interrupted extends RuntimeException {
        final boolean timedOut;

        Interrupted(boolean timedOut) {
            super(null, null, false, false);
            this.timedOut = timedOut;
        }
    }

    private final AutoCloseable owner;

    /**
     * @param owner closed after the model (what holds memory the model only borrows, such as the
     *     weights of a model built in process), or null
     */
    public ServedModel(String name, LoadedModel loaded, AutoCloseable owner, int instances, int maxQueue) {
        this.name = name;
        this.owner = owner;
        this.loaded = loaded;
        this.maxQueue = maxQueue;
        this.chat = hasChatTokens(loaded.tokenizer());
        List<CausalLm> lms = new ArrayList<>();
        lms.add(loaded.model());
        if (loaded.model() instanceof Gpt2Inference g) {
            for (int i = 1; i < instances; i++) {
                Gpt2Inference s = new Gpt2Inference(g.backend(), g.config(), g.params()); // shares the weights
                extra.add(s);
                lms.add(s);
            }
        }
        idle = new ArrayBlockingQueue<>(lms.size());
        for (CausalLm lm : lms) idle.add(new Session(lm, new Generator()));
        AtomicInteger n = new AtomicInteger();
        dev.jgpt.backend.Backend backend = loaded.model() instanceof Gpt2Inference g ? g.backend() : null;
        workers = new ThreadPoolExecutor(lms.size(), lms.size(), 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                r -> {
                    Runnable withThreads = () -> {
                        // OpenMP's thread count is a per-thread setting: apply the backend's to this worker too
                        if (backend != null) backend.setThreads(backend.threads());
                        r.run();
                    };
                    Thread t = new Thread(withThreads, "decode-" + name + "-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
    }

    private static boolean hasChatTokens(Tokenizer t) {
        for (String s : dev.jgpt.chat.ChatTemplate.SPECIAL_TOKENS.subList(1, 5)) {
            if (t.specialTokenId(s).isEmpty()) return false;
        }
        return true;
    }

    public String name() { return name; }
    public Tokenizer tokenizer() { return loaded.tokenizer(); }
    public CausalLm primary() { return loaded.model(); }
    public int contextLength() { return loaded.model().contextLength(); }
    public long created() { return created; }
    /** True when the tokenizer has the chat template's special tokens. */
    public boolean chat() { return chat; }
    /** Sequences decoded at the same time. */
    public int sessions() { return workers.getMaximumPoolSize(); }
    /** Generations that ran to their end (stop, end token or max tokens). */
    public long completed() { return completed.get(); }
    /** Generations stopped because their client went away. */
    public long cancelled() { return cancelled.get(); }
    /** Generations stopped by the per-request timeout. */
    public long timedOut() { return timedOut.get(); }
    /** Sessions decoding right now. */
    public int active() { return sessions() - idle.size(); }
    /** Requests waiting for a session. */
    public int queued() { return waiting.get(); }

    /**
     * Queues {@code job}; its events arrive on the job.
     *
     * @throws ApiException 503 when the queue is full
     */
    public void submit(DecodeJob job) {
        if (waiting.incrementAndGet() > maxQueue + sessions()) {
            waiting.decrementAndGet();
            throw new ApiException(503, "server_error", "model_overloaded", null,
                    "model " + name + " has " + maxQueue + " requests waiting already; retry later");
        }
        try {
            workers.execute(() -> run(job));
        } catch (RejectedExecutionException e) {
            waiting.decrementAndGet();
            throw new ApiException(503, "server_error", "shutting_down", null, "the server is shutting down");
        }
    }

    private void run(DecodeJob job) {
        waiting.decrementAndGet();
        if (job.cancelled()) {
            cancelled.incrementAndGet();
            return;
        }
        if (job.expired()) {
            job.emit(new DecodeJob.Failed(new ApiException(503, "server_error", "timeout", null,
                    "request waited longer than the server's timeout for model " + name + "; retry later")));
            return;
        }
        Session s = idle.poll();
        if (s == null) throw new IllegalStateException("no idle session with a free worker"); // workers == sessions
        int[] count = new int[1];
        try {
            TokenListener listener = new TokenListener() {
                @Override
                public void onText(String text) {
                    job.emit(new DecodeJob.Text(text));
                }

                @Override
                public void onToken(int tokenId) {
                    count[0]++;
                    if (job.cancelled()) throw new Interrupted(false);
                    if (job.expired()) throw new Interrupted(true);
                }
            };
            GenerationResult r = s.generator().generate(s.lm(), loaded.tokenizer(), job.prompt, job.config, listener);
            completed.incrementAndGet();
            job.emit(new DecodeJob.Done(r.finishReason(), r.promptTokens(), r.generatedTokens(), r.timeToFirstTokenMillis(),
                    r.tokensPerSecond(), false));
        } catch (Interrupted e) {
            (e.timedOut ? timedOut : cancelled).incrementAndGet();
            job.emit(new DecodeJob.Done(FinishReason.LENGTH, job.prompt.length, count[0] - 1, 0, 0, e.timedOut));
        } catch (JgptException | ApiException e) {
            job.emit(new DecodeJob.Failed(e));
        } catch (RuntimeException e) {
            job.emit(new DecodeJob.Failed(e));
        } finally {
            s.lm().reset();
            idle.add(s);
        }
    }

    @Override
    public void close() {
        workers.shutdownNow();
        try {
            workers.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (CausalLm lm : extra) lm.close();
        loaded.close();
        if (owner != null) {
            try {
                owner.close();
            } catch (Exception e) {
                System.getLogger("jgpt.serve").log(System.Logger.Level.WARNING, "closing model " + name + ": " + e);
            }
        }
    }
}
