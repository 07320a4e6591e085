package dev.jgpt.generate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.memory.Tensor;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The schedule the batched-decoder tests drive (Llama and GPT-2): the batch's {@code maxBatch} slots run 60
 * steps; sequences start with prompts of 1 to 9 tokens (prefill through sgemm, or the decode path for one
 * token), take 2 to 30 steps, then leave and a new one takes the slot at the next step; some steps skip a
 * live slot (it sits out a step, as a slot whose client is slow never does in serve, but the kernel must
 * allow it), and each step's rows come in a shuffled order. Each slot has its own one-sequence model in
 * {@code alone} replaying its sequence; every prefill and every step's row is handed to {@code check}.
 */
public final class BatchSchedule {
    private BatchSchedule() {}

    /** Compares one row of the batch's logits with the one-sequence logits; returns a difference to report. */
    @FunctionalInterface
    public interface RowCheck {
        double check(Tensor expected, Tensor batch, int row, String what);
    }

    /** Prompts started, rows checked, steps with more than one row, the worst difference check returned. */
    public record Result(int joins, int rows, int multiRowSteps, double worst) {}

    public static Result run(BatchDecoder batch, List<? extends CausalLm> alone, SplittableRandom r, RowCheck check) {
        int maxBatch = batch.maxBatch(), V = batch.vocabSize();
        int[] left = new int[maxBatch], next = new int[maxBatch];
        int[] slots = new int[maxBatch], toks = new int[maxBatch];
        int joins = 0, rows = 0, multiRowSteps = 0;
        double worst = 0;
        for (int step = 0; step < 60; step++) {
            for (int s = 0; s < maxBatch; s++) {
                if (left[s] > 0) continue;
                if (step == 0 && s % 2 == 1) continue; // staggered starts: not every slot at step 0
                int[] prompt = new int[1 + r.nextInt(9)];
                for (int i = 0; i < prompt.length; i++) prompt[i] = r.nextInt(V);
                left[s] = Math.min(2 + r.nextInt(29), alone.get(s).contextLength() - prompt.length);
                batch.reset(s);
                alone.get(s).reset();
                Tensor got = batch.prefill(s, prompt);
                worst = Math.max(worst, check.check(alone.get(s).prefill(prompt), got, 0, "prefill of slot " + s));
                assertThat(batch.position(s)).isEqualTo(prompt.length);
                next[s] = argmax(got, 0, V);
                joins++;
            }
            int n = 0;
            for (int s = 0; s < maxBatch; s++) {
                if (left[s] == 0 || r.nextInt(8) == 0) continue; // a live slot may sit out a step
                slots[n] = s;
                toks[n++] = next[s];
            }
            if (n == 0) continue;
            for (int i = n - 1; i > 0; i--) { // rows in a shuffled order: row i belongs to slots[i], whatever the order
                int j = r.nextInt(i + 1), ts = slots[i], tt = toks[i];
                slots[i] = slots[j];
                toks[i] = toks[j];
                slots[j] = ts;
                toks[j] = tt;
            }
            Tensor logits = batch.step(slots, toks, n);
            if (n > 1) multiRowSteps++;
            for (int i = 0; i < n; i++) {
                int s = slots[i];
                Tensor ref = alone.get(s).step(toks[i]);
                worst = Math.max(worst, check.check(ref, logits, i, "step " + step + ", row " + i + " (slot " + s + ")"));
                assertThat(batch.position(s)).isEqualTo(alone.get(s).position());
                next[s] = argmax(logits, i, V);
                left[s]--;
                rows++;
            }
        }
        assertThat(joins).as("prompts started: slots were reused").isGreaterThan(maxBatch + 3);
        assertThat(rows).as("rows checked").isGreaterThan(100);
        return new Result(joins, rows, multiRowSteps, worst);
    }

    /** The largest logit of row {@code row} of (rows, V) logits. */
    public static int argmax(Tensor t, int row, int V) {
        int best = 0;
        for (int v = 1; v < V; v++) if (t.getFloat((long) row * V + v) > t.getFloat((long) row * V + best)) best = v;
        return best;
    }
}
