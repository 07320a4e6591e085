package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import dev.jgpt.model.AllocationProbe;
import dev.jgpt.model.Gpt2;
import dev.jgpt.model.Gpt2Inference;
import dev.jgpt.model.GptConfig;
import dev.jgpt.model.ParameterLayout;
import dev.jgpt.train.Checkpoints;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import dev.jgpt.testing.TrainSteps;

/**
 * The bf16 copy of the parameters ({@link Bf16Parameters}) on the stand-in driver, GPT-2 in bf16 mode: a training
 * step converts only activations (counted per kernel by the timeline, expected counts derived from the model),
 * training gives the same losses and weights as converting every operand per product (the old path, kept behind
 * {@code keepBf16Parameters(false)}), every write into the parameters through the backend is seen by the next
 * product, no device allocation after warm-up and the operand slots no longer grow to the largest weight, and a
 * decode step converts no weight. Unless a test says otherwise the model stores fp32 activations
 * ({@code setBf16Activations(false)}), the path these counts and stale-copy checks were written for; with bf16
 * activation storage (the default) a GPT-2 step converts nothing (every product input and gradient is made in bf16).
 */
class FakeDriverCudaBf16ParametersTest {
    /** hs = 16 = T: the cuBLAS attention path (its products take bf16 operands). */
    static final GptConfig CFG = new GptConfig(64, 32, 2, 2, 32);
    static final int B = 2, T = 16;

    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    // ---- (a) which operands a training step converts ----------------------------------------------------

    @Test
    void aTrainingStepConvertsActivationsOnly() {
        int L = CFG.layers();
        assertThat((long) B * T * CFG.vocabSize()).as("one classifier chunk").isLessThan(1L << 24);
        // per step: matmul forward its input; backward dout and input; attention forward qkv and the
        // probabilities, backward qkv, dout, the probabilities and d(scores); the classifier x and dlogits
        long activations = 4L * L + 2 * 4L * L + 2L * L + 4L * L + 1 + 1;
        long weights = 4L * L + 4L * L + 1; // matmul forward and backward dinp each read a weight; the classifier wte
        int views = ParameterLayout.of(CFG).views().size();

        // bf16 activation storage: the inputs stored as bf16 need no copy, nor do the dlogits (the classifier writes
        // them in place over its bf16 logits), attention's probabilities and d(scores) (bf16 on the cuBLAS path),
        // d(fch) (the fcproj backward's GELU epilogue writes it in bf16), the other activation gradients (bf16 too) or the
        // residual stream's gradient (the layernorm backwards write a bf16 copy of it): no conversion at all
        Map<String, Long> stored = callsPerStep(true, true);
        assertThat(stored.getOrDefault("f32_to_bf16", 0L)).as("f32_to_bf16 launches per step, bf16 activations").isZero();
        assertThat(stored.get("refreshes")).isZero();

        Map<String, Long> kept = callsPerStep(true, false);
        assertThat(kept.get("f32_to_bf16")).as("f32_to_bf16 launches per step, weights read from the copy").isEqualTo(activations);
        assertThat(kept.get("adamw_update_bf16")).as("fused AdamW launches per step").isEqualTo((long) views);
        assertThat(kept).as("no plain AdamW in bf16 mode").doesNotContainKey("adamw_update");
        assertThat(kept.get("refreshes")).as("whole-buffer refreshes after the first step").isZero();

        Map<String, Long> old = callsPerStep(false, false);
        assertThat(old.get("f32_to_bf16")).as("f32_to_bf16 launches per step, per-product conversion").isEqualTo(activations + weights);
        assertThat(old.get("adamw_update")).isEqualTo((long) views);
        assertThat(old).doesNotContainKey("adamw_update_bf16");
    }

    private static Map<String, Long> callsPerStep(boolean keep, boolean bf16Activations) {
        try (CudaBackend cuda = bf16Backend(keep, bf16Activations); Gpt2 model = new Gpt2(cuda, CFG, B, T); TensorArena host = TensorArena.host()) {
            model.initWeights(1);
            Runnable step = AllocationProbe.trainingStep(model, host, B, T);
            step.run(); // allocates the copy and refreshes it once (initWeights uploaded the weights)
            assertThat(cuda.bf16ParameterRefreshes()).as("refreshes in the first step").isEqualTo(keep ? 1 : 0);
            KernelTimeline timeline = cuda.timeline();
            timeline.reset();
            int steps = 2;
            for (int i = 0; i < steps; i++) {
                timeline.beginStep();
                step.run();
                timeline.endStep();
            }
            Map<String, Long> calls = new HashMap<>();
            timeline.profile().rows().forEach(r -> calls.put(r.name(), r.calls() / steps));
            calls.put("refreshes", cuda.bf16ParameterRefreshes() - (keep ? 1 : 0));
            return calls;
        }
    }

    // ---- (b) the same numbers as converting per product ----------------------------------------------------

    @Test
    void trainingGivesTheSameLossesAndWeightsAsPerProductConversion() {
        int steps = 8;
        // the same bf16 operands, so the same products; and no kernel sums in an order the emulation's block order decides
        // (before the layernorm and encoder backwards summed in a fixed order, the key bias, whose exact gradient is
        // zero, got rounding noise of either sign, and AdamW turned it into steps of up to lr: 9.6e-4 apart after 8
        // steps in 2 of 12 orders, unless both runs started from one emulation order)
        FakeCuda.reorderEmulation(1);
        float[][] kept = train(true, steps);
        FakeCuda.reorderEmulation(2);
        float[][] old = train(false, steps);
        double lossDiff = maxRelative(kept[0], old[0]), weightDiff = maxAbs(kept[1], old[1]);
        System.out.println("bf16 copy vs per-product conversion, " + steps + " steps: max relative loss difference "
                + lossDiff + ", max |weight difference| " + weightDiff);
        assertThat(kept[0]).as("losses, bf16 copy kept vs converted per product").containsExactly(old[0]);
        assertThat(kept[1]).as("fp32 weights after " + steps + " steps").containsExactly(old[1]);
        assertThat(kept[0][steps - 1]).isLessThan(kept[0][0]);
    }

    /** Losses of {@code steps} steps on a varying stream, then the final weights. */
    private static float[][] train(boolean keep, int steps) {
        try (CudaBackend cuda = FakeCuda.bf16Backend(keep); Gpt2 model = new Gpt2(cuda, CFG, B, T); TensorArena host = TensorArena.host()) {
            model.initWeights(7);
            Random rnd = new Random(11);
            float[] losses = new float[steps];
            int[] tokens = new int[B * T], targets = new int[B * T];
            for (int s = 0; s < steps; s++) {
                dev.jgpt.testing.CountingBatches.next(rnd, tokens, targets, B, T, CFG.vocabSize());
                model.zeroGrad();
                losses[s] = model.forwardBackward(tokens, targets, B, T);
                TrainSteps.clipAndAdamw(model, 3e-3f, 0.1f);
            }
            return new float[][] {losses, download(cuda, model.params().flat(), host)};
        }
    }

    // ---- (c) every write into the parameters reaches the next product ----------------------------------------

    @Test
    void aHostUploadOfAllParametersIsSeen() {
        assertWriteIsSeen("copy host -> all parameters", (m, cuda) -> {
            try (TensorArena h = TensorArena.host()) {
                cuda.copy(m.params().flat(), randomParams(h, 3));
            }
        });
    }

    @Test
    void aCopyIntoOneWeightIsSeen() {
        assertWriteIsSeen("copy host -> fcw(1)", (m, cuda) -> {
            try (TensorArena h = TensorArena.host()) {
                Tensor part = h.allocate(DType.F32, m.params().fcw(1).numel());
                Random r = new Random(4);
                for (long i = 0; i < part.numel(); i++) part.setFloat(i, (float) (r.nextGaussian() * 0.3));
                cuda.copy(m.params().fcw(1), part);
            }
        });
    }

    @Test
    void aDeviceToDeviceCopyIsSeen() {
        assertWriteIsSeen("copy device -> attprojw(0)", (m, cuda) -> {
            try (TensorArena h = TensorArena.host(); TensorArena d = cuda.newArena()) {
                Tensor src = d.allocate(DType.F32, m.params().attprojw(0).numel());
                cuda.copy(src, randomParams(h, 5).view(0, src.numel()));
                cuda.copy(m.params().attprojw(0), src);
            }
        });
    }

    @Test
    void zeroingTheTiedEmbeddingIsSeen() {
        // wte is the classifier's weight too: zero logits, so the loss becomes ln V
        assertWriteIsSeen("zero wte", (m, cuda) -> cuda.zero(m.params().wte()));
    }

    @Test
    void anOpWritingIntoTheParametersIsSeen() {
        // not something a model does; any op's output inside the buffer marks the copy stale all the same
        assertWriteIsSeen("gelu in place on wte", (m, cuda) -> cuda.geluForward(m.params().wte(), m.params().wte(),
                (int) m.params().wte().numel()));
    }

    @Test
    void restoringACheckpointIsSeen(@TempDir Path run) {
        Path[] saved = new Path[1];
        assertWriteIsSeen("Checkpoints.load", (m, cuda) -> Checkpoints.load(saved[0], m, true), m -> {
            // a checkpoint of the weights after two steps; the test trains on before loading it
            saved[0] = Checkpoints.save(run, m, 2, dev.jgpt.io.Json.MAPPER.createObjectNode(), java.util.List.of(), null, 3);
        });
    }

    @Test
    void trainingAStepInFp32InBetweenIsSeen() {
        assertWriteIsSeen("setMath fp32, one step, setMath bf16", (m, cuda) -> {
            cuda.setMath(GemmMath.FP32);
            try (TensorArena h = TensorArena.host()) {
                AllocationProbe.trainingStep(m, h, B, T).run(); // the plain AdamW writes the fp32 weights only
            }
            cuda.setMath(GemmMath.BF16);
        });
    }

    private void assertWriteIsSeen(String what, java.util.function.BiConsumer<Gpt2, CudaBackend> write) {
        assertWriteIsSeen(what, write, m -> {});
    }

    /**
     * Trains two steps (the copy is then current and read), runs {@code afterTwo}, trains two more, then applies
     * {@code write} and checks that the next forward's loss (a) changed and (b) equals a fresh backend's on the
     * same fp32 weights, which converts them anew. A stale copy would give the loss of the weights before the write.
     */
    private void assertWriteIsSeen(String what, java.util.function.BiConsumer<Gpt2, CudaBackend> write, Consumer<Gpt2> afterTwo) {
        try (CudaBackend cuda = bf16Backend(true, false); Gpt2 model = new Gpt2(cuda, CFG, B, T); TensorArena host = TensorArena.host()) {
            model.initWeights(1);
            Runnable step = AllocationProbe.trainingStep(model, host, B, T);
            step.run();
            step.run();
            afterTwo.accept(model);
            step.run();
            step.run();
            int[] tokens = new int[B * T], targets = new int[B * T];
            for (int i = 0; i < B * T; i++) {
                tokens[i] = (3 * i) % CFG.vocabSize();
                targets[i] = (3 * i + 1) % CFG.vocabSize();
            }
            float before = model.forward(tokens, targets, B, T);
            long refreshes = cuda.bf16ParameterRefreshes();
            write.accept(model, cuda);
            float after = model.forward(tokens, targets, B, T);
            assertThat(after).as(what + ": the loss changed").isNotEqualTo(before);
            assertThat(cuda.bf16ParameterRefreshes() - refreshes).as(what + ": one whole-buffer refresh").isEqualTo(1);
            float[] weights = download(cuda, model.params().flat(), host);
            assertThat(after).as(what + ": loss vs a fresh backend on the same weights").isEqualTo(freshLoss(weights, tokens, targets));
        }
    }

    private static CudaBackend bf16Backend(boolean keepParameterCopy, boolean bf16Activations) {
        CudaBackend cuda = FakeCuda.bf16Backend(keepParameterCopy);
        cuda.setBf16Activations(bf16Activations);
        return cuda;
    }

    /** The loss of {@code weights} on a new backend that converts every operand per product. */
    private static float freshLoss(float[] weights, int[] tokens, int[] targets) {
        try (CudaBackend cuda = bf16Backend(false, false); Gpt2 model = new Gpt2(cuda, CFG, B, T); TensorArena host = TensorArena.host()) {
            Tensor h = host.allocate(DType.F32, weights.length);
            for (int i = 0; i < weights.length; i++) h.setFloat(i, weights[i]);
            cuda.copy(model.params().flat(), h);
            return model.forward(tokens, targets, B, T);
        }
    }

    @Test
    void freeingTheBufferForgetsIt() {
        // the copy must not outlive its fp32 buffer: a later buffer at the same addresses would read as current
        try (CudaBackend cuda = bf16Backend(true, false); TensorArena host = TensorArena.host()) {
            Gpt2 model = new Gpt2(cuda, CFG, B, T);
            model.initWeights(1);
            AllocationProbe.trainingStep(model, host, B, T).run();
            assertThat(cuda.bf16ParameterBufferBytes()).isEqualTo(4L * ParameterLayout.of(CFG).size());
            model.close(); // frees its device arenas
            assertThat(cuda.bf16ParameterBufferBytes()).as("registered bytes after the model freed them").isZero();
            try (Gpt2 next = new Gpt2(cuda, CFG, B, T)) {
                next.initWeights(2);
                long refreshes = cuda.bf16ParameterRefreshes();
                AllocationProbe.trainingStep(next, host, B, T).run();
                assertThat(cuda.bf16ParameterRefreshes() - refreshes).as("the next model's first step refreshes").isEqualTo(1);
            }
        }
    }

    // ---- (d) device memory ----------------------------------------------------------------------------------

    @Test
    void noDeviceAllocationAfterWarmUpAndTheSlotsNoLongerHoldTheLargestWeight() {
        // wte (8200 x 64) in bf16 is just over 1 MiB, the other operands far less: slots are whole MiB
        GptConfig cfg = new GptConfig(8200, 8, 1, 2, 64);
        int b = 2, t = 8;
        long[] kept = memory(cfg, b, t, true), old = memory(cfg, b, t, false);
        long params = ParameterLayout.of(cfg).size();
        assertThat(kept[1]).as("bf16 copy bytes: 2 per parameter").isEqualTo(2 * params);
        assertThat(old[1]).as("no copy when converting per product").isZero();
        assertThat(old[0]).as("the slot holding wte (2 MiB) and the one holding a bias (1 MiB)").isEqualTo(3L << 20);
        // with bf16 activations, logits, attention probabilities and every activation gradient made in bf16 (the residual
        // stream's as a bf16 copy), nothing is converted: no slot at all (one of 1 MiB while the residual gradient was
        // converted, two while attention's dout was, three before the probabilities and d(scores) were stored in bf16)
        assertThat(kept[0]).as("slots without weights").isZero();
    }

    /** {slot bytes, copy bytes} after warm-up; no cuMemAlloc in later steps. */
    private static long[] memory(GptConfig cfg, int b, int t, boolean keep) {
        try (CudaBackend cuda = FakeCuda.bf16Backend(keep); Gpt2 model = new Gpt2(cuda, cfg, b, t); TensorArena host = TensorArena.host()) {
            model.initWeights(1);
            Runnable step = AllocationProbe.trainingStep(model, host, b, t);
            step.run();
            step.run();
            long before = FakeCuda.deviceAllocations();
            for (int i = 0; i < 3; i++) step.run();
            assertThat(FakeCuda.deviceAllocations() - before).as("cuMemAlloc calls in 3 steps after warm-up").isZero();
            return cuda.bf16Bytes();
        }
    }

    // ---- (e) decode -----------------------------------------------------------------------------------------

    @Test
    void decodeConvertsNoWeightPerToken() {
        float[][] kept = decode(true), old = decode(false);
        int L = CFG.layers();
        long matmuls = 4L * L + 1; // qkv (one product for a single token), attproj, fc, fcproj per layer and the logits (tied wte)
        // every product input is stored as bf16 (Backend.activationDType: the layernorm outputs, the attention output
        // over the bf16 KV cache, the GELU), so nothing is rounded per token but the weights where they are not kept
        assertThat((long) kept[1][0]).as("f32_to_bf16 per token, weights from the copy").isZero();
        // and no bias: a decode step's products run on the row kernels (CudaBackend.setRowProducts), which add the fp32
        // bias themselves where cuBLASLt would take a bf16 copy of qkv's and fc's (their outputs are bf16; CudaBackend.ltBias)
        assertThat((long) old[1][0]).as("f32_to_bf16 per token, per-product conversion").isEqualTo(matmuls);
        assertThat((long) kept[1][1]).as("refreshes and device allocations while decoding").isZero();
        assertThat(kept[0]).as("logits of the last token").containsExactly(old[0]);
    }

    /** bf16 storage of the decode activations against fp32 storage (both bf16 products): the same logits up to bf16. */
    @Test
    void decodeWithBf16StorageTracksFp32Storage() {
        assertTracksFp32Storage("GPT-2 decode", decode(true, true)[0], decode(true, false)[0]);
    }

    /** Logits from bf16 decode storage differ from fp32 storage's (they went through it), by at most 1e-2 of the largest. */
    static void assertTracksFp32Storage(String what, float[] stored, float[] f32) {
        double worst = 0, scale = 0;
        for (int i = 0; i < f32.length; i++) {
            worst = Math.max(worst, Math.abs(stored[i] - f32[i]));
            scale = Math.max(scale, Math.abs(f32[i]));
        }
        System.out.println(what + ", bf16 vs fp32 activation storage: max |logit difference| " + worst + " of max |logit| " + scale);
        assertThat(worst).as(what + ": the logits went through bf16 storage").isPositive();
        assertThat(worst / scale).as(what + ": relative to the largest logit").isLessThanOrEqualTo(1e-2);
    }

    private static float[][] decode(boolean keep) {
        return decode(keep, true);
    }

    /**
     * Loads weights into a fresh device buffer (as LoadedModels does), decodes; {logits, {conversions per token,
     * refreshes + allocations}}. {@code bf16Storage}: the decode activations in the backend's bf16 activation type.
     */
    private static float[][] decode(boolean keep, boolean bf16Storage) {
        try (CudaBackend cuda = FakeCuda.bf16Backend(keep); TensorArena host = TensorArena.host(); TensorArena weights = cuda.newArena()) {
            cuda.setBf16Activations(bf16Storage);
            Tensor flat = weights.allocate(DType.F32, ParameterLayout.of(CFG).size());
            cuda.copy(flat, randomParams(host, 9));
            cuda.setGraphs(false); // counts each step's launches: op by op (a replayed CUDA graph is one launch)
            try (Gpt2Inference lm = new Gpt2Inference(cuda, CFG, flat)) {
                lm.prefill(new int[] {1, 2, 3});
                lm.step(4);
                long refreshes = cuda.bf16ParameterRefreshes(), allocations = FakeCuda.deviceAllocations();
                KernelTimeline timeline = cuda.timeline();
                timeline.reset();
                int tokens = 3;
                Tensor logits = null;
                for (int i = 0; i < tokens; i++) {
                    timeline.beginStep();
                    logits = lm.step(5 + i);
                    timeline.endStep();
                }
                long conversions = timeline.profile().rows().stream().filter(r -> r.name().equals("f32_to_bf16"))
                        .mapToLong(KernelTimeline.Row::calls).sum() / tokens;
                float[] out = new float[(int) logits.numel()];
                for (int i = 0; i < out.length; i++) out[i] = logits.getFloat(i);
                long extra = cuda.bf16ParameterRefreshes() - refreshes + FakeCuda.deviceAllocations() - allocations;
                return new float[][] {out, {conversions, extra}};
            }
        }
    }

    // ---- helpers --------------------------------------------------------------------------------------------

    private static double maxRelative(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) d = Math.max(d, Math.abs((double) a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-30));
        return d;
    }

    private static double maxAbs(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) d = Math.max(d, Math.abs((double) a[i] - b[i]));
        return d;
    }

    private static Tensor randomParams(TensorArena host, long seed) {
        Tensor t = host.allocate(DType.F32, ParameterLayout.of(CFG).size());
        Random r = new Random(seed);
        for (long i = 0; i < t.numel(); i++) t.setFloat(i, (float) (r.nextGaussian() * 0.2));
        return t;
    }

    private static float[] download(CudaBackend cuda, Tensor dev, TensorArena host) {
        Tensor h = host.allocate(DType.F32, dev.numel());
        cuda.copy(h, dev);
        float[] out = new float[(int) h.numel()];
        for (int i = 0; i < out.length; i++) out[i] = h.getFloat(i);
        return out;
    }
}
