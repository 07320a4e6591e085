package dev.jgpt.model;

import com.sun.management.ThreadMXBean;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.lang.management.ManagementFactory;
import dev.jgpt.testing.TrainSteps;

/** Shared by the allocation tests: a fixed training step to repeat, and the heap bytes allocated so far. */
public final class AllocationProbe {
    private static final ThreadMXBean MX = (ThreadMXBean) ManagementFactory.getThreadMXBean();

    private AllocationProbe() {}

    /**
     * Java heap bytes the current thread has allocated so far: read it before and after the work to
     * measure (the work stays inline in the test, so nothing new is linked while measuring).
     */
    public static long threadAllocatedBytes() {
        return MX.getThreadAllocatedBytes(Thread.currentThread().threadId());
    }

    /**
     * The Java heap bytes one run of {@code work} allocates, on average over {@code runs} runs on this thread,
     * after {@code warmups} runs have let class loading and the JIT settle.
     */
    public static long heapBytesPerRun(Runnable work, int warmups, int runs) {
        for (int i = 0; i < warmups; i++) work.run();
        long before = threadAllocatedBytes();
        for (int i = 0; i < runs; i++) work.run();
        return (threadAllocatedBytes() - before) / runs;
    }

    /**
     * The fewest Java heap bytes per run of {@code work} over up to {@code windows} windows of {@code runs} runs each (after
     * {@code warmups}): an allocation made by every run shows in every window, while a one-off event on this thread
     * during a window (a JIT deoptimisation and recompile under load: 1,376 bytes in 20 Llama steps once in CI, 0 in
     * every rerun) spoils only that window. Stops at the first window that allocated nothing.
     */
    public static long steadyHeapBytesPerRun(Runnable work, int warmups, int runs, int windows) {
        long fewest = heapBytesPerRun(work, warmups, runs);
        for (int w = 1; w < windows && fewest > 0; w++) fewest = Math.min(fewest, heapBytesPerRun(work, 0, runs));
        return fewest;
    }

    /**
     * One AdamW training step (zero grads, forward/backward, clip to norm 1, update) on a fixed
     * B x T batch: token i is {@code i % V}, its target {@code (i + 1) % V}; the batch lives in {@code host}.
     */
    public static Runnable trainingStep(Gpt2 model, TensorArena host, int B, int T) {
        int V = model.config().vocabSize();
        Tensor tokens = host.allocate(DType.I32, B * T), targets = host.allocate(DType.I32, B * T);
        for (int i = 0; i < B * T; i++) {
            tokens.setInt(i, i % V);
            targets.setInt(i, (i + 1) % V);
        }
        return () -> {
            model.zeroGrad();
            model.forwardBackward(tokens, targets, B, T);
            TrainSteps.clipAndAdamw(model, 1e-3f, 0.1f);
        };
    }
}
