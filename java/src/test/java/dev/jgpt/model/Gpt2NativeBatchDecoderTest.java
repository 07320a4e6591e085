package dev.jgpt.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.jgpt.backend.cpu.NativeLibraries;
import dev.jgpt.generate.BatchSchedule;
import dev.jgpt.llama.DecodeDType;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The batched GPT-2 step against the one-sequence native decoder: each sequence of a batch (own
 * position, own cache, slots joining and leaving mid-run) gets the logits {@link Gpt2Decoder} gives
 * it alone — bit for bit, since every row runs the same instructions.
 */
class Gpt2NativeBatchDecoderTest {
    /** 4 heads of 16; channels a multiple of 32 for q8; vocab not a multiple of 16 (kernel tails). */
    static final GptConfig CFG = new GptConfig(83, 48, 2, 4, 64);

    @BeforeEach
    void needsLibjgpt() {
        assumeThat(NativeLibraries.status().available()).as("libjgpt not built").isTrue();
    }

    /** Random float32 parameters in {@link ParameterLayout}'s order (LayerNorm weights around 1). */
    static Tensor randomParams(GptConfig cfg, long seed, Arena arena) {
        ParameterLayout layout = ParameterLayout.of(cfg);
        Tensor p = Tensor.ofHost(arena.allocate(4L * layout.size(), 64), DType.F32, layout.size());
        SplittableRandom r = new SplittableRandom(seed);
        MemorySegment d = p.data();
        for (long i = 0; i < layout.size(); i++) d.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (float) (r.nextDouble() - 0.5) * 0.2f);
        for (String ln : new String[] {"ln1w", "ln2w", "lnfw"}) {
            MemorySegment w = layout.view(ln).of(p).data();
            for (long i = 0; i < w.byteSize() / 4; i++) w.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, 1f + (float) (r.nextDouble() - 0.5) * 0.2f);
        }
        return p;
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
        assertBatchMatchesSingle(DecodeDType.Q8, 2, 4);
    }

    /** {@link BatchSchedule}'s 60 steps; each slot's {@link Gpt2Decoder} alone must give every row bit for bit. */
    private static void assertBatchMatchesSingle(DecodeDType dtype, int threads, int maxBatch) {
        SplittableRandom r = new SplittableRandom(42 + dtype.ordinal() * 7L + threads);
        try (Arena arena = Arena.ofShared()) {
            Tensor params = randomParams(CFG, 5, arena);
            Gpt2Decoder shared = new Gpt2Decoder(CFG, params, dtype, 32, threads, null);
            // bf16 and q8 weights: caches of halves (ABI 15), which the batched step writes and reads as the single one
            assertThat(shared.kvCacheHalf()).isEqualTo(dtype != DecodeDType.F32 || "f16".equals(System.getenv("JGPT_KV_CACHE")));
            List<Gpt2Decoder> alone = new ArrayList<>();
            for (int i = 0; i < maxBatch; i++) alone.add(new Gpt2Decoder(CFG, params, dtype, 32, threads, null));
            try (Gpt2NativeBatchDecoder batch = new Gpt2NativeBatchDecoder(shared, maxBatch)) {
                BatchSchedule.Result res = BatchSchedule.run(batch, alone, r, Gpt2NativeBatchDecoderTest::assertRowEquals);
                System.out.printf("gpt2 batched %s, %d threads, %d slots: %d rows (%d multi-row steps), %d prompts, all bit-identical%n",
                        dtype, threads, maxBatch, res.rows(), res.multiRowSteps(), res.joins());
                assertThat(res.multiRowSteps()).isGreaterThan(30);
            } finally {
                for (Gpt2Decoder d : alone) d.close();
                shared.close();
            }
        }
    }

    /** The batch's row must equal the one-sequence logits exactly (same instructions per row). */
    private static double assertRowEquals(Tensor expected, Tensor batch, int row, String what) {
        int V = CFG.vocabSize();
        for (int v = 0; v < V; v++) {
            float e = expected.getFloat(v), g = batch.getFloat((long) row * V + v);
            if (Float.floatToRawIntBits(e) != Float.floatToRawIntBits(g)) {
                throw new AssertionError(what + ", logit " + v + ": batched " + g + ", alone " + e);
            }
        }
        return 0;
    }


    @Test
    void aBatchedStepAllocatesNothingOnTheHeap() {
        GptConfig c = new GptConfig(83, 256, 2, 4, 64);
        try (Arena arena = Arena.ofShared();
             Gpt2Decoder model = new Gpt2Decoder(c, randomParams(c, 3, arena), DecodeDType.Q8, 32, 1, null);
             Gpt2NativeBatchDecoder batch = new Gpt2NativeBatchDecoder(model, 6)) {
            int[] slots = {4, 0, 2, 5}, toks = {1, 2, 3, 4};
            for (int s : slots) batch.prefill(s, new int[] {5, 6, 7});
            Runnable step = () -> {
                if (batch.position(slots[0]) >= c.contextLength() - 1) {
                    for (int s : slots) batch.reset(s);
                }
                batch.step(slots, toks, slots.length);
            };
            long bytes = AllocationProbe.heapBytesPerRun(step, 2000, 50); // 2000 runs first: class loading, the JIT
            System.out.println("heap bytes allocated per batched gpt2 step: " + bytes);
            assertThat(bytes).as("bytes per step").isLessThan(16);
        }
    }

    @Test
    void badCallsGiveOneClearError() {
        try (Arena arena = Arena.ofShared();
             Gpt2Decoder model = new Gpt2Decoder(CFG, randomParams(CFG, 3, arena), DecodeDType.F32, 32, 1, null);
             Gpt2NativeBatchDecoder batch = new Gpt2NativeBatchDecoder(model, 2)) {
            assertThatThrownBy(() -> batch.step(new int[] {0, 0}, new int[] {1, 2}, 2)).hasMessageContaining("twice");
            assertThatThrownBy(() -> batch.step(new int[] {2}, new int[] {1}, 1)).hasMessageContaining("slot 2 outside [0, 2)");
            assertThatThrownBy(() -> batch.step(new int[] {0}, new int[] {83}, 1)).hasMessageContaining("outside the vocabulary");
            assertThatThrownBy(() -> batch.step(new int[] {0, 1, 0}, new int[] {1, 1, 1}, 3)).hasMessageContaining("batch of 3");
            assertThatThrownBy(() -> batch.prefill(1, new int[CFG.contextLength() + 1])).hasMessageContaining("context full");
            batch.prefill(0, new int[CFG.contextLength()]);
            assertThatThrownBy(() -> batch.step(new int[] {0}, new int[] {1}, 1)).hasMessageContaining("context full");
        }
    }
}
