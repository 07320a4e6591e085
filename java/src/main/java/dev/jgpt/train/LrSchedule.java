package dev.jgpt.train;

/**
 * Linear warm-up from lr/warmup to lr over {@code warmup} steps, then cosine decay to
 * {@code lr * minRatio} at step {@code total - 1} (as nanoGPT/llm.c). Steps count from 0.
 */
public record LrSchedule(double lr, int warmup, int total, double minRatio) {

    public double at(int step) {
        if (warmup > 0 && step < warmup) return lr * (step + 1) / warmup;
        int decaySteps = total - 1 - warmup;
        double min = lr * minRatio;
        if (decaySteps <= 0) return lr;
        double progress = Math.min(1.0, (double) (step - warmup) / decaySteps);
        return min + 0.5 * (1 + Math.cos(Math.PI * progress)) * (lr - min);
    }
}
