package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.memory.Tensor;
import dev.jgpt.model.AllocationProbe;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The batched Llama step against the one-sequence decoder: each sequence of a batch (own position,
 * own cache, slots joining and leaving mid-run) gets the logits {@link LlamaInference} gives it alone.
 */
class LlamaBatchDecoderTest {
    /** GQA (4 query heads over 2 kv heads), separate classifier; dim and hidden multiples of 32 for q8. */
    static final LlamaConfig CFG = LlamaConfig.llama2c(64, 96, 2, 4, 2, 83, 48, false);

    @BeforeEach
    void needsLibjgpt() {
        assumeThat(NativeLibraries.status().available()).as("libjgpt not built").isTrue();
    }

    @Test
    void batchedLogitsEqualOneSequenceDecodingF32() {
        assertBatchMatchesSingle(DecodeDType.F32, 1, 4);
    }

    @Test
    void batchedLogitsEqualOneSequenceDecodingF32TwoThreads() {
        assertBatchMatchesSingle(DecodeDType.F32, 2, 5);
    }

    @Test
    void batchedLogitsEqualOneSequenceDecodingBf16() {
        assertBatchMatchesSingle(DecodeDType.BF16, 1, 4);
    }

    @Test
    void batchedLogitsEqualOneSequenceDecodingQ8() {
        assertBatchMatchesSingle(DecodeDType.Q8, 1, 4);
    }

    /**
     * maxBatch slots run a schedule of 60 steps: sequences start with prompts of 1 to 9 tokens (prefill
     * through sgemm, or the decode path for one token), take 2 to 30 steps, then leave and a new one
     * takes the slot at the next step; some steps skip a live slot (it sits out a step, as a slot
     * whose client is slow never does in serve, but the kernel must allow it). Each slot has its own
     * {@link LlamaInference} replaying its sequence alone; every prefill and every step's row must equal it.
     */
    private static void assertBatchMatchesSingle(DecodeDType dtype, int threads, int maxBatch) {
        SplittableRandom r = new SplittableRandom(42 + dtype.ordinal() * 7L + threads);
        try (Arena arena = Arena.ofShared()) {
            LlamaWeights w = RandomLlama.create(CFG, 5, arena);
            LlamaInference shared = new LlamaInference(w, dtype, 32, threads, null);
            List<LlamaInference> alone = new ArrayList<>();
            for (int i = 0; i < maxBatch; i++) alone.add(new LlamaInference(w, dtype, 32, threads, null));
            try (LlamaBatchDecoder batch = new LlamaBatchDecoder(shared, maxBatch)) {
                int[] left = new int[maxBatch], next = new int[maxBatch];
                int[] slots = new int[maxBatch], toks = new int[maxBatch];
                int joins = 0, rowsChecked = 0;
                double worst = 0;
                for (int step = 0; step < 60; step++) {
                    for (int s = 0; s < maxBatch; s++) {
                        if (left[s] > 0) continue;
                        // (re)start slot s with a new prompt, staggered: not every slot at step 0
                        if (step == 0 && s % 2 == 1) continue;
                        int[] prompt = new int[1 + r.nextInt(9)];
                        for (int i = 0; i < prompt.length; i++) prompt[i] = r.nextInt(CFG.vocabSize());
                        int room = CFG.seqLen() - prompt.length;
                        left[s] = Math.min(2 + r.nextInt(29), room);
                        batch.reset(s);
                        alone.get(s).reset();
                        Tensor got = batch.prefill(s, prompt);
                        worst = Math.max(worst, compare(alone.get(s).prefill(prompt), got, 0, "prefill of slot " + s));
                        assertThat(batch.position(s)).isEqualTo(prompt.length);
                        next[s] = argmax(got, 0);
                        joins++;
                    }
                    int n = 0;
                    for (int s = 0; s < maxBatch; s++) {
                        if (left[s] == 0 || r.nextInt(8) == 0) continue; // a live slot may sit out a step
                        slots[n] = s;
                        toks[n++] = next[s];
                    }
                    if (n == 0) continue;
                    // rows in a shuffled order: row i belongs to slots[i], whatever the order
                    for (int i = n - 1; i > 0; i--) {
                        int j = r.nextInt(i + 1), ts = slots[i], tt = toks[i];
                        slots[i] = slots[j];
                        toks[i] = toks[j];
                        slots[j] = ts;
                        toks[j] = tt;
                    }
                    Tensor logits = batch.step(slots, toks, n);
                    for (int i = 0; i < n; i++) {
                        int s = slots[i];
                        Tensor ref = alone.get(s).step(toks[i]);
                        worst = Math.max(worst, compare(ref, logits, i, "step " + step + ", row " + i + " (slot " + s + ")"));
                        assertThat(batch.position(s)).isEqualTo(alone.get(s).position());
                        next[s] = argmax(logits, i);
                        left[s]--;
                        rowsChecked++;
                    }
                }
                System.out.printf("batched %s, %d threads, %d slots: %d rows and %d prompts checked, worst relative difference %.2e%n",
                        dtype, threads, maxBatch, rowsChecked, joins, worst);
                assertThat(joins).isGreaterThan(maxBatch + 3); // slots were reused
                assertThat(rowsChecked).isGreaterThan(100);
            } finally {
                for (LlamaInference l : alone) l.close();
                shared.close();
            }
        }
    }

    /** max |a - b| / (max |a| + 1e-6) over a row; must be at most 1e-4. */
    private static double compare(Tensor expected, Tensor batch, int row, String what) {
        int V = CFG.vocabSize();
        double maxDiff = 0, maxAbs = 0;
        for (int v = 0; v < V; v++) {
            float e = expected.getFloat(v), g = batch.getFloat((long) row * V + v);
            maxDiff = Math.max(maxDiff, Math.abs(e - g));
            maxAbs = Math.max(maxAbs, Math.abs(e));
        }
        double rel = maxDiff / (maxAbs + 1e-6);
        assertThat(rel).as(what).isLessThanOrEqualTo(1e-4);
        return rel;
    }

    private static int argmax(Tensor t, int row) {
        int V = CFG.vocabSize(), best = 0;
        for (int v = 1; v < V; v++) if (t.getFloat((long) row * V + v) > t.getFloat((long) row * V + best)) best = v;
        return best;
    }

    @Test
    void aBatchedStepAllocatesNothingOnTheHeap() {
        LlamaConfig c = LlamaConfig.llama2c(64, 96, 2, 4, 2, 83, 256, true);
        try (Arena arena = Arena.ofShared();
             LlamaInference model = new LlamaInference(RandomLlama.create(c, 3, arena), DecodeDType.Q8, 32, 1, null);
             LlamaBatchDecoder batch = new LlamaBatchDecoder(model, 6)) {
            int[] slots = {4, 0, 2, 5}, toks = {1, 2, 3, 4};
            for (int s : slots) batch.prefill(s, new int[] {5, 6, 7});
            Runnable step = () -> {
                if (batch.position(slots[0]) >= c.seqLen() - 1) {
                    for (int s : slots) batch.reset(s);
                }
                batch.step(slots, toks, slots.length);
            };
            for (int i = 0; i < 2000; i++) step.run(); // class loading and the JIT settle
            long before = AllocationProbe.threadAllocatedBytes();
            for (int i = 0; i < 50; i++) step.run();
            long bytes = AllocationProbe.threadAllocatedBytes() - before;
            System.out.println("heap bytes allocated by 50 batched llama steps: " + bytes);
            assertThat(bytes / 50).as("bytes per step").isLessThan(16);
        }
    }

    @Test
    void badCallsGiveOneClearError() {
        try (Arena arena = Arena.ofShared();
             LlamaInference model = new LlamaInference(RandomLlama.create(CFG, 3, arena), DecodeDType.F32, 32, 1, null);
             LlamaBatchDecoder batch = new LlamaBatchDecoder(model, 2)) {
            assertThatThrownBy(() -> batch.step(new int[] {0, 0}, new int[] {1, 2}, 2)).hasMessageContaining("twice");
            assertThatThrownBy(() -> batch.step(new int[] {2}, new int[] {1}, 1)).hasMessageContaining("slot 2 outside [0, 2)");
            assertThatThrownBy(() -> batch.step(new int[] {0}, new int[] {83}, 1)).hasMessageContaining("outside the vocabulary");
            assertThatThrownBy(() -> batch.step(new int[] {0, 1, 0}, new int[] {1, 1, 1}, 3)).hasMessageContaining("batch of 3");
            assertThatThrownBy(() -> batch.prefill(1, new int[CFG.seqLen() + 1])).hasMessageContaining("exceeds the context");
            int[] full = new int[CFG.seqLen()];
            batch.prefill(0, full);
            assertThatThrownBy(() -> batch.step(new int[] {0}, new int[] {1}, 1)).hasMessageContaining("is full");
        }
    }
}
