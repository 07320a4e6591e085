package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.generate.BatchSchedule;
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

    /** {@link BatchSchedule}'s 60 steps; each slot's {@link LlamaInference} alone must give every row within 1e-4. */
    private static void assertBatchMatchesSingle(DecodeDType dtype, int threads, int maxBatch) {
        SplittableRandom r = new SplittableRandom(42 + dtype.ordinal() * 7L + threads);
        try (Arena arena = Arena.ofShared()) {
            LlamaWeights w = RandomLlama.create(CFG, 5, arena);
            LlamaInference shared = new LlamaInference(w, dtype, 32, threads, null);
            List<LlamaInference> alone = new ArrayList<>();
            for (int i = 0; i < maxBatch; i++) alone.add(new LlamaInference(w, dtype, 32, threads, null));
            try (LlamaBatchDecoder batch = new LlamaBatchDecoder(shared, maxBatch)) {
                BatchSchedule.Result res = BatchSchedule.run(batch, alone, r, LlamaBatchDecoderTest::compare);
                System.out.printf("batched %s, %d threads, %d slots: %d rows and %d prompts checked, worst relative difference %.2e%n",
                        dtype, threads, maxBatch, res.rows(), res.joins(), res.worst());
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
            long bytes = AllocationProbe.heapBytesPerRun(step, 2000, 50); // 2000 runs first: class loading, the JIT
            System.out.println("heap bytes allocated per batched llama step: " + bytes);
            assertThat(bytes).as("bytes per step").isLessThan(16);
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
