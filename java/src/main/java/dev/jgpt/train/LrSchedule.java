package dev.jgpt.train;

/**
 * Linear warm-up from lr/warmup to lr over {@code warmup} steps, then cosine decay to
 * {@code lr * minRatio} at step {@code total - 1} (as nanoGPT/llm.c). Steps count from 0.
 *
 * <p>The cosine is a function of the decay's <em>progress</em> p (0 at the peak, 1 at the floor):
 * lr = min + (lr - min) (1 + cos(pi p)) / 2. Progress runs linearly from {@code anchorProgress} at
 * {@code anchorStep} to 1 at {@code total - 1}; a fixed-length schedule has the anchor (warmup, 0),
 * which is exactly llm.c's (step - warmup) / (total - 1 - warmup). A time-budgeted run changes its
 * length while it runs ({@link TimeBudget}); {@link #retarget} then anchors the new schedule at the
 * last step taken, so the learning rate carries on from where it is (no jump) and spreads the decay
 * that is left over the steps that are left, reaching the floor on the new last step.
 */
public record LrSchedule(double lr, int warmup, int total, double minRatio, int anchorStep, double anchorProgress) {

    /** A fixed-length schedule (the anchor at the end of warm-up, progress 0). */
    public LrSchedule(double lr, int warmup, int total, double minRatio) {
        this(lr, warmup, total, minRatio, warmup, 0.0);
    }

    public double at(int step) {
        if (warmup > 0 && step < warmup) return lr * (step + 1) / warmup;
        int decaySteps = total - 1 - anchorStep;
        double min = lr * minRatio;
        if (decaySteps <= 0) return lr;
        // with the anchor (warmup, 0) this is bit for bit (step - warmup) / decaySteps: 0.0 + x * 1.0 / d == x / d
        double progress = Math.min(1.0, anchorProgress + (double) (step - anchorStep) * (1 - anchorProgress) / decaySteps);
        return min + 0.5 * (1 + Math.cos(Math.PI * progress)) * (lr - min);
    }

    /** The decay's progress at {@code step} (0 in warm-up, 1 from step total - 1 on). */
    public double progress(int step) {
        if (step < warmup) return 0;
        int decaySteps = total - 1 - anchorStep;
        if (decaySteps <= 0) return 0; // no room to decay: at(step) stays at the peak
        return Math.max(0, Math.min(1.0, anchorProgress + (double) (step - anchorStep) * (1 - anchorProgress) / decaySteps));
    }

    /**
     * The schedule with length {@code newTotal} for a run that has taken {@code stepsTaken} steps
     * (steps 0 .. stepsTaken - 1) under this one: same warm-up; once the decay has begun, progress
     * continues from the last step taken and reaches 1 at {@code newTotal - 1}, so the next step's
     * rate differs from the last one's by one step of the new schedule. Needs newTotal > stepsTaken.
     */
    public LrSchedule retarget(int stepsTaken, int newTotal) {
        if (newTotal <= stepsTaken) {
            throw new IllegalArgumentException("a schedule of " + newTotal + " steps after " + stepsTaken + " steps");
        }
        int last = stepsTaken - 1;
        if (last <= anchorStep) return new LrSchedule(lr, warmup, newTotal, minRatio, anchorStep, anchorProgress);
        return new LrSchedule(lr, warmup, newTotal, minRatio, last, progress(last));
    }

    /** Whether this is a plain fixed-length schedule (no retargeting happened). */
    public boolean unanchored() {
        return anchorStep == warmup && anchorProgress == 0.0;
    }
}
