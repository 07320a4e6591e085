package dev.jgpt.train;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

/**
 * The time budget's refits and the retargeted learning rate, driven by a simulated machine whose
 * speed changes mid-run (no real clock): the run ends within its budget, uses nearly all of it, the
 * rate never jumps and ends at its floor.
 */
class TimeBudgetScheduleTest {

    static final double LR = 1e-3, MIN_RATIO = 0.1;

    /** What a simulated run did. */
    record Run(double seconds, int steps, List<Double> lrs, int refits, boolean hardStop, double maxJumpRatio) {
        @Override
        public String toString() {
            return String.format("%.1f s, %d steps, %d refits, hard stop %b, jump ratio %.2f, final lr %.3e", seconds, steps, refits,
                    hardStop, maxJumpRatio, lrs.getLast());
        }
    }

    /**
     * Trainer's loop on a simulated clock: each step takes {@code secondsPerStep(t / budget)} times
     * a seeded +-20% jitter (the first step 5x: JIT), an evaluation costs {@code evalSeconds} every
     * {@code evalEvery} steps and at the end, the final save {@code saveSeconds}.
     */
    static Run simulate(double budget, int warmup, DoubleUnaryOperator secondsPerStep, int evalEvery, double evalSeconds,
                        double saveSeconds, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int maxSteps = 1_000_000, total = maxSteps, step = 0, refits = 0;
        LrSchedule sched = new LrSchedule(LR, warmup, total, MIN_RATIO);
        TimeBudget b = new TimeBudget(budget, 0, maxSteps);
        List<Double> lrs = new ArrayList<>();
        double t = 0, maxJumpRatio = 0;
        boolean hardStop = false;
        while (step < total) {
            lrs.add(sched.at(step));
            double dt = secondsPerStep.applyAsDouble(t / budget) * (0.8 + 0.4 * rnd.nextDouble()) * (step == 0 ? 5 : 1);
            t += dt;
            step++;
            b.stepTook(dt, step > 1);
            TimeBudget.Refit r = b.refit(step, total, t);
            if (r != null) {
                refits++;
                assertThat(r.atStep()).isEqualTo(step);
                if (r.total() > step) {
                    LrSchedule next = sched.retarget(step, r.total());
                    // the new schedule passes through the rate of the last step taken ...
                    assertThat(next.at(step - 1)).as("lr of step %d after the refit", step - 1)
                            .isCloseTo(sched.at(step - 1), offset(1e-12 * LR));
                    // ... and the change into the next step is a step of the new schedule, comparable to the one before
                    // (not at the first fit: the cosine over max_steps is still flat at its top there)
                    if (r.was() != maxSteps && step > warmup + 1 && sched.at(step - 2) > sched.at(step - 1)) {
                        double across = sched.at(step - 1) - next.at(step);
                        maxJumpRatio = Math.max(maxJumpRatio, across / (sched.at(step - 2) - sched.at(step - 1)));
                    }
                    sched = next;
                }
                total = r.total();
            }
            if (t > budget && step < total) { // Trainer's hard stop
                total = step;
                hardStop = true;
            }
            boolean last = step == total;
            if ((evalEvery > 0 && step % evalEvery == 0) || last) {
                t += evalSeconds;
                b.evalTook(evalSeconds);
            }
            if (last) {
                t += saveSeconds;
                b.saveTook(saveSeconds);
            }
        }
        return new Run(t, step, lrs, refits, hardStop, maxJumpRatio);
    }

    static DoubleUnaryOperator changesAt(double fraction, double before, double after) {
        return f -> f < fraction ? before : after;
    }

    static void assertGoodRun(Run r, double budget, int warmup) {
        if (System.getenv("JGPT_TEST_VERBOSE") != null) System.err.println(r);
        assertThat(r.seconds() / budget).as("share of the budget used").isBetween(0.95, 1.03);
        assertThat(r.hardStop()).as("stopped by the budget before the schedule ended").isFalse();
        assertThat(r.lrs().getLast()).as("final learning rate").isCloseTo(LR * MIN_RATIO, offset(1e-12));
        // at most the 2x change of speed (the steps left halve) and the cosine's curvature over a step
        assertThat(r.maxJumpRatio()).as("change into the step after a refit / change into the step before").isLessThanOrEqualTo(2.5);
        List<Double> lrs = r.lrs();
        for (int i = Math.max(1, warmup); i < lrs.size(); i++) {
            assertThat(lrs.get(i)).as("lr at step %d never rises after warm-up", i).isLessThanOrEqualTo(lrs.get(i - 1) + 1e-15);
        }
        // continuous: no step's change exceeds a few times the mean per-step change of a cosine over the steps taken
        double meanStep = LR * (1 - MIN_RATIO) / (lrs.size() - warmup);
        for (int i = warmup + 1; i < lrs.size(); i++) {
            assertThat(lrs.get(i - 1) - lrs.get(i)).as("lr change at step %d", i).isLessThan(8 * meanStep);
        }
    }

    @Test
    void speedDroppingTwofoldMidRunStillEndsOnTimeWithTheScheduleDone() {
        for (double at : new double[]{0.1, 0.3, 0.5, 0.7, 0.9}) {
            Run r = simulate(300, 10, changesAt(at, 0.3, 0.6), 0, 2.0, 0.5, 42);
            assertGoodRun(r, 300, 10);
            assertThat(r.refits()).isGreaterThan(1);
        }
    }

    @Test
    void speedRisingTwofoldMidRunUsesTheTimeGained() {
        for (double at : new double[]{0.1, 0.3, 0.5, 0.7, 0.9}) {
            Run r = simulate(300, 10, changesAt(at, 0.6, 0.3), 0, 2.0, 0.5, 43);
            assertGoodRun(r, 300, 10);
        }
    }

    @Test
    void aBusyStartNoLongerLeavesBudgetUnused() {
        // the recorded demo: slow while the first 5% were measured, twice as fast afterwards
        Run r = simulate(300, 10, changesAt(0.06, 0.6, 0.3), 0, 2.0, 0.5, 44);
        assertGoodRun(r, 300, 10);
        // what fitting once at 5% (the old rule, 8% margin) would have planned: far fewer steps
        int fittedOnce = (int) ((300 - 15) / (0.6 * 1.08));
        assertThat(r.steps()).isGreaterThan(fittedOnce + fittedOnce / 2);
    }

    @Test
    void periodicEvaluationsAreSpreadOverTheSteps() {
        // an evaluation of 3 s every 100 steps (~10% on top of the steps), speed halves at 40%
        Run r = simulate(300, 10, changesAt(0.4, 0.3, 0.6), 100, 3.0, 0.5, 45);
        assertGoodRun(r, 300, 10);
    }

    @Test
    void aShortBudgetOfFewStepsEndsOnTimeToo() {
        // an SFT-like minute at ~0.6 s a step (about 100 steps), speed doubling late
        Run r = simulate(60, 10, changesAt(0.75, 0.6, 0.3), 0, 0.5, 0.2, 46);
        assertGoodRun(r, 60, 10);
        Run s = simulate(60, 10, changesAt(0.75, 0.3, 0.6), 0, 0.5, 0.2, 47);
        assertGoodRun(s, 60, 10);
    }

    @Test
    void retargetKeepsTheRateWhereANaiveRebuildWouldJump() {
        LrSchedule s = new LrSchedule(1.0, 10, 1000, 0.1);
        int taken = 500;
        LrSchedule shorter = s.retarget(taken, 700);
        assertThat(shorter.at(taken - 1)).isCloseTo(s.at(taken - 1), offset(1e-15));
        double perStep = shorter.at(taken) - shorter.at(taken + 1);
        assertThat(s.at(taken - 1) - shorter.at(taken)).isPositive().isLessThanOrEqualTo(perStep * 1.001);
        assertThat(shorter.at(699)).isCloseTo(0.1, offset(1e-12));
        assertThat(shorter.at(5000)).isCloseTo(0.1, offset(1e-12));
        // a schedule of the new length from scratch is far off at this step
        assertThat(Math.abs(new LrSchedule(1.0, 10, 700, 0.1).at(taken) - s.at(taken - 1))).isGreaterThan(50 * perStep);

        LrSchedule longer = s.retarget(taken, 2000);
        assertThat(longer.at(taken - 1)).isCloseTo(s.at(taken - 1), offset(1e-15));
        assertThat(longer.at(1999)).isCloseTo(0.1, offset(1e-12));
        assertThat(longer.at(taken)).isLessThan(s.at(taken - 1));

        // in warm-up the anchor stays at its end: only the length changes
        LrSchedule early = s.retarget(5, 300);
        assertThat(early).isEqualTo(new LrSchedule(1.0, 10, 300, 0.1));
        assertThat(early.unanchored()).isTrue();
        assertThat(s.retarget(taken, 700).unanchored()).isFalse();
    }

    @Test
    void fixedLengthScheduleIsBitForBitLlmCs() {
        for (int total : new int[]{1, 2, 11, 12, 111, 5000}) {
            LrSchedule s = new LrSchedule(3e-4, 10, total, 0.1);
            for (int step = 0; step < total + 5; step++) {
                assertThat(Double.doubleToRawLongBits(s.at(step))).as("total %d step %d", total, step)
                        .isEqualTo(Double.doubleToRawLongBits(llmC(3e-4, 10, total, 0.1, step)));
            }
        }
    }

    /** The formula before retargeting existed. */
    static double llmC(double lr, int warmup, int total, double minRatio, int step) {
        if (warmup > 0 && step < warmup) return lr * (step + 1) / warmup;
        int decaySteps = total - 1 - warmup;
        double min = lr * minRatio;
        if (decaySteps <= 0) return lr;
        double progress = Math.min(1.0, (double) (step - warmup) / decaySteps);
        return min + 0.5 * (1 + Math.cos(Math.PI * progress)) * (lr - min);
    }

    @Test
    void noTimeLeftEndsTheScheduleAndABudgetThatIsNotBindingKeepsMaxSteps() {
        TimeBudget b = new TimeBudget(10, 0, 50);
        for (int i = 0; i < 3; i++) b.stepTook(0.01, true);
        assertThat(b.refit(3, 50, 1.0)).as("0.01 s/step would fit far more than max_steps").isNull();

        TimeBudget frozen = new TimeBudget(10, 0, 1000); // a clock that does not move fits nothing
        for (int i = 0; i < 3; i++) frozen.stepTook(0, true);
        assertThat(frozen.refit(3, 1000, 1.0)).isNull();

        TimeBudget late = new TimeBudget(10, 9.9, 1000); // a resumed run with 0.1 s of its budget left
        for (int i = 0; i < 3; i++) late.stepTook(1.0, true);
        TimeBudget.Refit r = late.refit(40, 1000, 1.0);
        assertThat(r).isNotNull();
        assertThat(r.total()).isEqualTo(40);
    }
}
