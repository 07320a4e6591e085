package dev.jgpt.train;

/**
 * How many steps of a time-budgeted phase ({@code max_minutes}) fit its budget, fitted again and
 * again from the speed the machine shows now. The trainer reports each step's wall time and each
 * evaluation's and save's, and asks after each step whether the schedule's length should change;
 * when it does, the learning-rate schedule is {@linkplain LrSchedule#retarget retargeted} so the rate
 * stays continuous and still reaches its floor on the last step.
 *
 * <p>Why not fit once: a speed measured once, early, is wrong whenever the machine's load changes. A
 * busy start (JIT warm-up, another build) fixed too few steps, the schedule ended early and a recorded
 * demo left 104 s of its 5 minutes unused; a quiet start fixed too many, the hard stop came first and
 * the cosine never decayed. Refitting from a recent window keeps the planned end at the budget's end
 * whichever way the speed moves.
 *
 * <p>Speed: a mean of the recent steps' wall time (data, model step, logging: everything but
 * evaluation and saving) in which each step weighs exp(-age / tau), its age measured in seconds and
 * tau = 4% of the budget: recent enough to follow a change of load within ~10% of the budget,
 * long enough (dozens of steps at demo sizes) to average out single slow steps. Evaluation and saving
 * are periodic, so a window would see them or not by chance; their cost so far in this session is
 * spread over the session's steps instead, and the last ones measured are kept back for the final
 * evaluation and save (2% of the budget until one was measured).
 *
 * <p>When: the first fit after 5% of the budget (and at least two timed steps), then every 5% of the
 * budget, and every quarter of the time left once that is shorter, so a change of speed late in the
 * run is caught while there is still time to act on it. Changes below 1% of the steps left are not
 * applied (noise). A plain function of the reported times: tests drive it with simulated clocks.
 */
final class TimeBudget {

    static final double FIRST_FIT = 0.05;
    static final double REFIT_EVERY = 0.05;
    static final double TIME_CONSTANT = 0.04;
    static final double UNMEASURED_RESERVE = 0.02;

    /** A new schedule length: {@code total} steps, from the speed and time left at the moment it was fitted. */
    record Refit(int total, int was, int atStep, double secondsPerStep, double previousSecondsPerStep,
                 double secondsLeft, double reserve) {}

    private final double budget;
    private final double prior;
    private final int maxSteps;
    private final double tau;
    private double weightedSum, weightSum;
    private int timedSteps, sessionSteps;
    private double overheadSeconds;
    private double lastEval = Double.NaN, lastSave = Double.NaN;
    private double nextCheck;
    private double fittedPerStep = Double.NaN;

    /**
     * @param budgetSeconds the phase's whole budget
     * @param priorSeconds  what earlier sessions of the phase spent (a resumed run)
     * @param maxSteps      the schedule is never longer than this
     */
    TimeBudget(double budgetSeconds, double priorSeconds, int maxSteps) {
        if (!(budgetSeconds > 0)) throw new IllegalArgumentException("budget " + budgetSeconds);
        this.budget = budgetSeconds;
        this.prior = priorSeconds;
        this.maxSteps = maxSteps;
        this.tau = TIME_CONSTANT * budgetSeconds;
        this.nextCheck = Math.min(FIRST_FIT * budgetSeconds, Math.max(0, 0.25 * (budgetSeconds - priorSeconds)));
    }

    double budgetSeconds() {
        return budget;
    }

    /** One step of this session took {@code seconds}; {@code timed}: false for a warm-up step (the first of a process). */
    void stepTook(double seconds, boolean timed) {
        sessionSteps++;
        if (!timed) return;
        timedSteps++;
        double decay = Math.exp(-seconds / tau);
        weightedSum = weightedSum * decay + seconds;
        weightSum = weightSum * decay + 1;
    }

    void evalTook(double seconds) {
        overheadSeconds += seconds;
        lastEval = seconds;
    }

    void saveTook(double seconds) {
        overheadSeconds += seconds;
        lastSave = seconds;
    }

    /** The recent seconds per step, evaluation and saving spread over the steps; NaN before two timed steps. */
    double secondsPerStep() {
        if (timedSteps < 2) return Double.NaN;
        return weightedSum / weightSum + overheadSeconds / sessionSteps;
    }

    /** Time kept back for the final evaluation and save. */
    double reserve() {
        if (Double.isNaN(lastEval) && Double.isNaN(lastSave)) return UNMEASURED_RESERVE * budget;
        return (Double.isNaN(lastEval) ? UNMEASURED_RESERVE * budget / 2 : lastEval)
                + (Double.isNaN(lastSave) ? 0 : lastSave);
    }

    /**
     * After {@code stepsTaken} steps and {@code sessionSeconds} of this session: the new schedule length
     * when it is time to fit and the fit differs from {@code total}, else null. A length equal to
     * {@code stepsTaken} means: no time is left for another step.
     */
    Refit refit(int stepsTaken, int total, double sessionSeconds) {
        if (timedSteps < 2 || sessionSeconds < nextCheck) return null;
        double left = budget - prior - sessionSeconds;
        nextCheck = sessionSeconds + Math.min(REFIT_EVERY * budget, Math.max(0, 0.25 * left));
        double perStep = secondsPerStep();
        if (!(perStep > 0)) return null; // a clock that did not move: nothing to fit to
        double reserve = reserve();
        double fit = Math.floor(Math.max(0, left - reserve) / perStep);
        if (fit == 0 && left > perStep) fit = 1; // the reserve is a guess; one last step at the floor beats stopping above it
        int target = (int) Math.min(maxSteps, stepsTaken + fit);
        int change = Math.abs(target - total);
        if (change == 0 || (change < 0.01 * (total - stepsTaken) && target > stepsTaken)) return null;
        Refit r = new Refit(target, total, stepsTaken, perStep, fittedPerStep, left, reserve);
        fittedPerStep = perStep;
        return r;
    }
}
