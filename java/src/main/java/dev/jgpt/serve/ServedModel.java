package dev.jgpt.serve;

import dev.jgpt.JgptException;
import dev.jgpt.chat.ChatFormat;
import dev.jgpt.generate.BackendLm;
import dev.jgpt.generate.BatchDecoder;
import dev.jgpt.generate.CausalLm;
import dev.jgpt.generate.FinishReason;
import dev.jgpt.generate.GenerationResult;
import dev.jgpt.generate.Generator;
import dev.jgpt.generate.LoadedModel;
import dev.jgpt.generate.TokenListener;
import dev.jgpt.llama.LlamaBatchDecoder;
import dev.jgpt.llama.LlamaInference;
import dev.jgpt.model.Gpt2Decoder;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.model.Gpt2NativeBatchDecoder;
import dev.jgpt.model.GptConfig;
import dev.jgpt.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One model being served: its tokenizer, N decode sessions (one KV cache each) and the FIFO queue
 * in front of them (at most {@code maxQueue} waiting, then 503).
 *
 * <p>A GPT-2 model (libjgpt's {@link Gpt2Decoder} on the cpu backend, else {@link Gpt2Inference}) and a
 * Llama-family model ({@link LlamaInference} on the cpu, else {@code LlamaOpsInference}) — every
 * {@link BackendLm} — are decoded with continuous batching ({@link BatchScheduler} over a {@link BatchDecoder}): all N
 * sequences borrow the same weights and one thread advances every sequence in flight with a single
 * batched matrix product per layer and token. Any other
 * {@link CausalLm} (one sequence per instance, no way to share its weights) gets one session and one
 * worker thread: requests are served one at a time.
 */
public final class ServedModel implements AutoCloseable {

    private final String name;
    private final LoadedModel loaded;
    private final AutoCloseable owner;
    private final List<CausalLm> extra = new ArrayList<>();
    private final int maxQueue;
    private final long created = System.currentTimeMillis() / 1000;
    private final ChatFormat chatFormat;   // null when the model cannot chat ...
    private final String noChat;           // ... and why
    private final AtomicInteger waiting = new AtomicInteger();

    // continuous batching (GPT-2, Llama) ...
    private final BatchScheduler batcher;
    private final BatchDecoder decoder;
    // ... or one worker per session (any other CausalLm)
    private final BlockingQueue<Session> idle;
    private final ThreadPoolExecutor workers;
    private final AtomicLong completed = new AtomicLong(), cancelled = new AtomicLong(), timedOut = new AtomicLong();

    private record Session(CausalLm lm, Generator generator) {}

    /** Thrown inside a generation to end it early (client gone or deadline passed). */
    private static final class Interrupted extends RuntimeException {
        final boolean timedOut;

        Interrupted(boolean timedOut) {
            super(null, null, false, false);
            this.timedOut = timedOut;
        }
    }

    /**
     * @param instances sequences in flight at once (GPT-2 and Llama; other models get one)
     * @param owner closed after the model (what holds memory the model only borrows, such as the
     *     weights of a model built in process), or null
     */
    public ServedModel(String name, LoadedModel loaded, AutoCloseable owner, int instances, int maxQueue) {
        this(name, loaded, owner, instances, maxQueue, null);
    }

    /** As above, chatting in {@code chatFormat} (a {@code --chat-format} name; null: the model's own format). */
    public ServedModel(String name, LoadedModel loaded, AutoCloseable owner, int instances, int maxQueue, String chatFormat) {
        this.name = name;
        this.owner = owner;
        this.loaded = loaded;
        this.maxQueue = maxQueue;
        ChatFormat format = null;
        String why = null;
        try {
            format = loaded.chatFormat(chatFormat);
        } catch (JgptException e) {
            why = "model " + name + ": " + e.getMessage();
        }
        this.chatFormat = format;
        this.noChat = why;
        if (loaded.model() instanceof BackendLm g) { // GPT-2 or Llama on a backend's ops (cuda, reference)
            int n = Math.min(instances, g.maxBatch());
            BackendLm[] sessions = new BackendLm[n];
            sessions[0] = g;
            try {
                for (int i = 1; i < n; i++) {
                    sessions[i] = g.newSequence(); // shares the weights
                    extra.add(sessions[i]);
                }
            } catch (RuntimeException | OutOfMemoryError e) {
                for (CausalLm lm : extra) lm.close();
                throw e;
            }
            decoder = new BackendBatchDecoder(sessions);
            batcher = new BatchScheduler(name, decoder, loaded.tokenizer());
            idle = null;
            workers = null;
        } else if (loaded.model() instanceof Gpt2Decoder g) {
            GptConfig c = g.config();
            long perSlot = 2L * 4 * c.layers() * c.contextLength() * c.channels();
            decoder = new Gpt2NativeBatchDecoder(g, slotsWithin(name, perSlot, instances)); // own caches, the model's weights
            batcher = new BatchScheduler(name, decoder, loaded.tokenizer());
            idle = null;
            workers = null;
        } else if (loaded.model() instanceof LlamaInference l) {
            decoder = new LlamaBatchDecoder(l, llamaSlots(name, l.cacheBytesPerSequence(), instances)); // own caches, the model's weights
            batcher = new BatchScheduler(name, decoder, loaded.tokenizer());
            idle = null;
            workers = null;
        } else {
            decoder = null;
            batcher = null;
            idle = new ArrayBlockingQueue<>(1);
            idle.add(new Session(loaded.model(), new Generator()));
            workers = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
                Thread t = new Thread(r, "decode-" + name);
                t.setDaemon(true);
                return t;
            });
        }
    }

    /** The KV caches of all sequences of one model stay within this (a large model's cache is GBs). */
    static final long LLAMA_CACHE_BUDGET_BYTES = 4L << 30;

    /**
     * {@code instances}, or fewer when their KV caches (float32 or halves, as the model's: {@code keyCacheBytes} for one
     * sequence's keys, as many for its values) would exceed {@link #LLAMA_CACHE_BUDGET_BYTES} (said on the log).
     */
    static int llamaSlots(String name, long keyCacheBytes, int instances) {
        return slotsWithin(name, 2L * keyCacheBytes, instances);
    }

    private static int slotsWithin(String name, long perSlot, int instances) {
        int fit = (int) Math.max(1, Math.min(instances, LLAMA_CACHE_BUDGET_BYTES / perSlot));
        if (fit < instances) {
            System.getLogger("jgpt.serve").log(System.Logger.Level.WARNING, "model " + name + ": " + fit + " sequences in flight instead of "
                    + instances + " (each KV cache takes " + (perSlot >> 20) + " MiB; all stay under "
                    + (LLAMA_CACHE_BUDGET_BYTES >> 30) + " GiB)");
        }
        return fit;
    }

    public String name() { return name; }
    public Tokenizer tokenizer() { return loaded.tokenizer(); }
    public CausalLm primary() { return loaded.model(); }
    public int contextLength() { return loaded.model().contextLength(); }
    public long created() { return created; }
    /** True when the model has a chat format: jgpt's chat tokens, or a chat template jgpt knows. */
    public boolean chat() { return chatFormat != null; }
    /** The model's chat format; null when {@link #chat} is false. */
    public ChatFormat chatFormat() { return chatFormat; }
    /** Why the model cannot chat (null when it can). */
    public String noChatReason() { return noChat; }
    /** True when concurrent requests are decoded in one batched step. */
    public boolean batched() { return batcher != null; }
    /** Sequences decoded at the same time. */
    public int sessions() { return batcher != null ? batcher.sessions() : 1; }
    /** Generations that ran to their end (stop, end token or max tokens). */
    public long completed() { return batcher != null ? batcher.completed.get() : completed.get(); }
    /** Generations stopped because their client went away. */
    public long cancelled() { return batcher != null ? batcher.cancelled.get() : cancelled.get(); }
    /** Generations stopped by the per-request timeout. */
    public long timedOut() { return batcher != null ? batcher.timedOut.get() : timedOut.get(); }
    /** Sequences decoding right now. */
    public int active() { return batcher != null ? batcher.active() : 1 - idle.size(); }
    /** Mean sequences per batched step so far (0 before the first, or without batching). */
    public double meanBatch() {
        if (batcher == null) return 0;
        long s = batcher.steps.get();
        return s == 0 ? 0 : (double) batcher.stepRows.get() / s;
    }
    /** Rows of batched steps sampled from k candidates picked on the device, without copying their logits. */
    public long deviceSampledRows() {
        return batcher == null ? 0 : batcher.candidateRows.get();
    }
    /** Requests waiting for a session. */
    public int queued() { return batcher != null ? batcher.queued() : waiting.get(); }

    /**
     * Queues {@code job}; its events arrive on the job.
     *
     * @throws ApiException 503 when the queue is full
     */
    public void submit(DecodeJob job) {
        if (queued() >= maxQueue) {
            throw new ApiException(503, "server_error", "model_overloaded", null,
                    "model " + name + " has " + maxQueue + " requests waiting already; retry later");
        }
        if (batcher != null) {
            batcher.submit(job);
            return;
        }
        waiting.incrementAndGet();
        try {
            workers.execute(() -> run(job));
        } catch (RejectedExecutionException e) {
            waiting.decrementAndGet();
            throw new ApiException(503, "server_error", "shutting_down", null, "the server is shutting down");
        }
    }

    /** One request on the single worker (models that cannot be batched). */
    private void run(DecodeJob job) {
        waiting.decrementAndGet();
        if (job.staleBeforeStart(name, cancelled, timedOut)) return;
        Session s = idle.poll();
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
        } catch (RuntimeException e) {
            job.emit(new DecodeJob.Failed(e));
        } finally {
            s.lm().reset();
            idle.add(s);
        }
    }

    @Override
    public void close() {
        if (batcher != null) batcher.close();
        if (decoder != null) decoder.close();
        if (workers != null) {
            workers.shutdownNow();
            try {
                workers.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
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
