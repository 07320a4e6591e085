package dev.jgpt.serve;

import dev.jgpt.generate.FinishReason;
import dev.jgpt.generate.GenerationConfig;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One generation request travelling from an HTTP handler to a model's decode worker and back. The
 * worker pushes {@link Event}s (text as it becomes final, then one end event); the handler takes
 * them and writes the response. Either side may end it early: the handler {@link #cancel}s when
 * its client went away, the worker stops at the deadline.
 */
public final class DecodeJob {

    /** What the worker reports. */
    public sealed interface Event {}

    /** Final text (never empty). */
    public record Text(String text) implements Event {}

    /**
     * The end of the generation.
     *
     * @param finishReason why it ended ({@code LENGTH} also when the request's time ran out)
     * @param timedOut true when the per-request timeout ended it
     */
    public record Done(FinishReason finishReason, int promptTokens, int completionTokens, double timeToFirstTokenMillis,
            double tokensPerSecond, boolean timedOut) implements Event {}

    /** The generation failed before or while running. */
    public record Failed(RuntimeException error) implements Event {}

    final int[] prompt;
    final GenerationConfig config;
    final long deadlineNanos;
    final long createdNanos = System.nanoTime();
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private volatile boolean cancelled;

    public DecodeJob(int[] prompt, GenerationConfig config, long deadlineNanos) {
        this.prompt = prompt;
        this.config = config;
        this.deadlineNanos = deadlineNanos;
    }

    /** Stops the generation at its next token (the client disconnected or gave up). */
    public void cancel() {
        cancelled = true;
    }

    public boolean cancelled() {
        return cancelled;
    }

    boolean expired() {
        return System.nanoTime() - deadlineNanos > 0;
    }

    /**
     * Whether a worker about to start this job should drop it instead: its client cancelled it
     * (counted in {@code cancelled}) or it waited past its deadline (counted in {@code timedOut} and
     * answered with a 503 timeout naming {@code model}).
     */
    boolean staleBeforeStart(String model, AtomicLong cancelled, AtomicLong timedOut) {
        if (cancelled()) {
            cancelled.incrementAndGet();
            return true;
        }
        if (expired()) {
            timedOut.incrementAndGet();
            emit(new Failed(new ApiException(503, "server_error", "timeout", null,
                    "request waited longer than the server's timeout for model " + model + "; retry later")));
            return true;
        }
        return false;
    }

    void emit(Event e) {
        events.add(e);
    }

    /** The next event if one comes within {@code nanos}, else null. */
    public Event nextWithin(long nanos) throws InterruptedException {
        return events.poll(nanos, TimeUnit.NANOSECONDS);
    }

    /** The next event, waiting at most until the deadline (plus a grace second); null when none came. */
    public Event next() throws InterruptedException {
        long left = deadlineNanos - System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        return events.poll(Math.max(0, left), TimeUnit.NANOSECONDS);
    }
}
