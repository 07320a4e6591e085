package dev.jgpt.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.llama.LlamaConfig;
import dev.jgpt.llama.LlamaOpsInference;
import dev.jgpt.llama.LlamaTrainModel;
import dev.jgpt.llama.RandomLlama;
import dev.jgpt.llama.LlamaWeights;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import dev.jgpt.testing.TrainSteps;

/**
 * The bf16 copy of the parameters ({@link Bf16Parameters}) under the Llama models on the stand-in driver: training
 * ({@link LlamaTrainModel}, weights written through its host mirror) gives the same losses as converting every
 * operand per product, and decoding ({@link LlamaOpsInference}, weights copied in before it registers them)
 * converts only the activations, with the same logits. And bf16 activation storage (the default in bf16 mode: the
 * RMSNorm outputs, q, k, v, the attention output, gate, up and their SwiGLU as bf16) takes the predicted smaller arena
 * and trains like fp32 storage.
 */
class FakeDriverCudaBf16LlamaTest {
    /** Untied classifier, grouped-query attention. */
    static final LlamaConfig CFG = LlamaConfig.llama2c(32, 48, 2, 4, 2, 40, 16, false);

    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Test
    void trainingGivesTheSameLossesAsPerProductConversion() {
        float[] kept = train(true), old = train(false);
        assertThat(kept).as("Llama losses, bf16 copy kept vs converted per product").containsExactly(old);
        assertThat(kept[kept.length - 1]).isLessThan(kept[0]);
    }

    @Test
    void bf16ActivationStorageTakesLessMemoryAndTrainsLikeFp32Storage() {
        int B = 2, T = 8;
        long N = (long) B * T, d = CFG.dim(), hd = CFG.hiddenDim(), kv = CFG.kvDim();
        try (CudaBackend on = FakeCuda.bf16Backend(true); CudaBackend off = FakeCuda.bf16Backend(true)) {
            off.setBf16Activations(false);
            try (LlamaTrainModel a = new LlamaTrainModel(on, CFG, B, T); LlamaTrainModel b = new LlamaTrainModel(off, CFG, B, T)) {
                // xn1, xn2, q, atty (d), k, v (kv), h1, h3, hg (hidden) per layer, the final RMSNorm's output and the
                // classifier's logits (all N rows in one chunk, rows padded to the backend's stride): 2 bytes less per
                // element
                assertThat(on.classifierRows(N, CFG.vocabSize())).isEqualTo(N);
                // and the gradients d(attention output), dq (d each), dk and dv (kv each), d(SwiGLU), d(gate), d(up) (hidden);
                // less the bf16 copy of dres (d) that only bf16 mode allocates
                long saved = 2 * N * (CFG.layers() * (4 * d + 2 * kv + 3 * hd) + d + on.classifierRowStride(CFG.vocabSize())
                        + 2 * d + 2 * kv + 3 * hd) - 2 * N * d;
                assertThat(b.offHeapBytes().get("activations") - a.offHeapBytes().get("activations")).isEqualTo(saved);
            }
        }
        float[] fp32 = train(new dev.jgpt.backend.reference.ReferenceBackend()), stored = train(true);
        float[] operands;
        try (CudaBackend off = FakeCuda.bf16Backend(true)) {
            off.setBf16Activations(false);
            operands = train(off);
        }
        boolean differs = false;
        for (int s = 0; s < stored.length; s++) {
            System.out.printf("Llama bf16 step %d: fp32 %.6f, bf16 operands %.6f, bf16 storage %.6f%n", s, fp32[s], operands[s], stored[s]);
            assertThat((double) stored[s]).as("vs fp32 at step " + s).isCloseTo(fp32[s], org.assertj.core.data.Offset.offset(3e-2 * fp32[s]));
            assertThat((double) stored[s]).as("vs fp32 storage at step " + s)
                    .isCloseTo(operands[s], org.assertj.core.data.Offset.offset(5e-3 * operands[s]));
            differs |= stored[s] != operands[s];
        }
        assertThat(differs).as("bf16 storage changes the numbers somewhere").isTrue();
    }

    private static float[] train(boolean keep) {
        try (CudaBackend cuda = FakeCuda.bf16Backend(keep)) {
            float[] losses = train(cuda);
            assertThat(cuda.bf16ParameterRefreshes()).as("whole-buffer refreshes: the upload before the first step only")
                    .isEqualTo(keep ? 1 : 0);
            return losses;
        }
    }

    private static float[] train(dev.jgpt.backend.Backend backend) {
        int B = 2, T = 8, steps = 6;
        try (LlamaTrainModel model = new LlamaTrainModel(backend, CFG, B, T)) {
            model.initWeights(3);
            Random rnd = new Random(5);
            float[] losses = new float[steps];
            int[] tokens = new int[B * T], targets = new int[B * T];
            for (int s = 0; s < steps; s++) {
                dev.jgpt.testing.CountingBatches.next(rnd, tokens, targets, B, T, CFG.vocabSize());
                model.zeroGrad();
                losses[s] = model.forwardBackward(tokens, targets, B, T);
                TrainSteps.clipAndAdamw(model, 3e-3f, 0.1f);
            }
            return losses;
        }
    }

    /**
     * A bf16 training step rounds no gradient for the products: attention's (d(attention output), dq, dk, dv) and
     * SwiGLU's (d(SwiGLU), d(gate), d(up)) are made in bf16, and the residual stream's (the w2 and wo backward products'
     * dout) has a bf16 copy that RMSNorm's backward writes beside it.
     */
    @Test
    void aTrainingStepConvertsNoGradient() {
        int B = 2, T = 8;
        try (CudaBackend cuda = FakeCuda.bf16Backend(true); LlamaTrainModel model = new LlamaTrainModel(cuda, CFG, B, T)) {
            model.initWeights(3);
            int[] tokens = new int[B * T], targets = new int[B * T];
            dev.jgpt.testing.CountingBatches.next(new Random(5), tokens, targets, B, T, CFG.vocabSize());
            model.zeroGrad();
            model.forwardBackward(tokens, targets, B, T); // warm-up: the parameter copy's first refresh
            KernelTimeline timeline = cuda.timeline();
            timeline.beginStep();
            model.zeroGrad();
            model.forwardBackward(tokens, targets, B, T);
            timeline.endStep();
            long conversions = timeline.profile().rows().stream().filter(r -> r.name().equals("f32_to_bf16"))
                    .mapToLong(KernelTimeline.Row::calls).sum();
            assertThat(conversions).as("f32_to_bf16 per bf16 Llama forward + backward").isZero();
        }
    }

    @Test
    void decodeConvertsNothingPerToken() {
        long matmuls = 7L * CFG.layers() + 1; // q, k, v, o, w1, w3, w2 per layer and the classifier
        long[] keptCount = new long[1], oldCount = new long[1];
        // float32 weights: products read the copy kept beside them (or, the old path, round each weight per product)
        float[] kept = decode(true, true, DType.F32, keptCount), old = decode(false, true, DType.F32, oldCount);
        // every product input is stored as bf16 (Backend.activationDType: the RMSNorm outputs, the attention output
        // over the bf16 KV cache, the SwiGLU), so nothing is rounded per token but the weights where they are not kept
        assertThat(keptCount[0]).as("f32_to_bf16 per token, weights from the copy").isZero();
        assertThat(oldCount[0]).as("f32_to_bf16 per token, per-product conversion").isEqualTo(matmuls);
        assertThat(kept).as("logits").containsExactly(old);
    }

    /**
     * The decoder's default in bf16 mode ({@link CudaBackend#decodeWeightDType}): the matrices and the embedding table
     * uploaded as bf16, no float32 copy of them on the device and no bf16 copy of the parameters beside it: the same
     * logits as the float32 weights' bf16 copy (for an embedding table that bf16 holds exactly: the copy's lookup reads
     * float32), converting nothing per token, in the computed number of bytes.
     */
    @Test
    void bf16WeightsDecodeLikeTheParametersCopyWithoutTheFloat32Matrices() {
        dev.jgpt.llama.LlamaBackendWeightsAccess.uploadChunk(1000); // several staging chunks per matrix, and a short last one
        try {
            long[] copyCount = new long[1], storedCount = new long[1];
            long[][] copyBytes = new long[1][], storedBytes = new long[1][];
            float[] copy = decode(true, true, DType.F32, copyCount, copyBytes);
            float[] stored = decode(true, true, DType.BF16, storedCount, storedBytes);
            assertThat(stored).as("logits, bf16 matrices vs the float32 weights' bf16 copy").containsExactly(copy);
            assertThat(storedCount[0]).as("f32_to_bf16 per token").isZero();
            long d = CFG.dim(), V = CFG.vocabSize(), L = CFG.layers(), kv = CFG.kvDim(), h = CFG.hiddenDim();
            long matrices = L * (2 * d * d + 2 * kv * d + 3 * h * d) + 2 * V * d; // the untied classifier and the table
            long f32 = 2 * L * d + d;                                              // the RMSNorm weights
            assertThat(copyBytes[0]).as("float32 weights, then the bf16 copy of them all").containsExactly(4 * (f32 + matrices),
                    2 * (f32 + matrices));
            assertThat(storedBytes[0]).as("float32 norms, bf16 matrices and table; no copy").containsExactly(4 * f32 + 2 * matrices, 0);
        } finally {
            dev.jgpt.llama.LlamaBackendWeightsAccess.uploadChunk(1L << 22);
        }
    }

    /** bf16 storage of the decode activations against fp32 storage (both bf16 products): the same logits up to bf16. */
    @Test
    void decodeWithBf16StorageTracksFp32Storage() {
        FakeDriverCudaBf16ParametersTest.assertTracksFp32Storage("Llama decode", decode(true, true, DType.BF16, new long[1]),
                decode(true, false, DType.BF16, new long[1]));
    }

    private static float[] decode(boolean keep, boolean bf16Storage, DType matrices, long[] conversionsPerToken) {
        return decode(keep, bf16Storage, matrices, conversionsPerToken, new long[1][]);
    }

    /**
     * Decodes a prompt and three tokens with the matrices stored as {@code matrices}; the last logits, and into
     * {@code weightBytes} the weights' device bytes (as the decoder counts them) and the bf16 parameter copy's.
     */
    private static float[] decode(boolean keep, boolean bf16Storage, DType matrices, long[] conversionsPerToken,
                                  long[][] weightBytes) {
        try (Arena a = Arena.ofConfined()) {
            LlamaWeights w = RandomLlama.create(CFG, 5, a);
            // an embedding table bf16 holds exactly: bf16 storage looks up the same rows as the float32 table
            java.lang.foreign.MemorySegment table = w.tokenEmbedding();
            for (long i = 0; i < table.byteSize() / 4; i++) {
                float f = table.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i);
                table.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, DType.fromBf16(DType.toBf16(f)));
            }
            CudaBackend cuda = FakeCuda.bf16Backend(keep);
            cuda.setBf16Activations(bf16Storage);
            cuda.setGraphs(false); // counts each step's launches: op by op (a replayed CUDA graph is one launch)
            try (LlamaOpsInference lm = new LlamaOpsInference(cuda, w, matrices, 0, cuda)) {
                lm.prefill(new int[] {1, 2, 3});
                lm.step(4);
                KernelTimeline timeline = cuda.timeline();
                timeline.reset();
                int tokens = 2;
                Tensor logits = null;
                for (int i = 0; i < tokens; i++) {
                    timeline.beginStep();
                    logits = lm.step(5 + i);
                    timeline.endStep();
                }
                conversionsPerToken[0] = timeline.profile().rows().stream().filter(r -> r.name().equals("f32_to_bf16"))
                        .mapToLong(KernelTimeline.Row::calls).sum() / tokens;
                weightBytes[0] = new long[] {lm.offHeapBytes().get("weights"), cuda.bf16Bytes()[1]};
                float[] out = new float[(int) logits.numel()];
                for (int i = 0; i < out.length; i++) out[i] = logits.getFloat(i);
                return out;
            }
        }
    }
}
