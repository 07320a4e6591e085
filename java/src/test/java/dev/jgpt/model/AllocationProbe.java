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
