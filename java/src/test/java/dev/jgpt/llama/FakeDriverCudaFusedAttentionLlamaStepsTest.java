package dev.jgpt.llama;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.Backend;
import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.FakeCuda;
import dev.jgpt.backend.reference.ReferenceBackend;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import dev.jgpt.testing.TrainSteps;

/**
 * {@link LlamaTrainModel} training on the cuda stand-in with fused grouped-query attention: the losses of a few
 * AdamW steps track the reference backend's (1e-4 relative), also for a shorter batch (T at most the head
 * size, which takes kernels/llama.cu's kernels in the fused-sized buffers), and the model's activation arena
 * is smaller than with the default attention by exactly what {@code gqaAttentionStateFloats/ScratchFloats} save.
 * Llama decoding's prefill of a prompt longer than the head size takes the fused kernels too and keeps the oracle's logits.
 */
class FakeDriverCudaFusedAttentionLlamaStepsTest {
    // dim 32, 4 query heads over 2 kv heads (head size 8), T 32 > 8: the fused path
    static final LlamaConfig CONFIG = LlamaConfig.llama2c(32, 64, 2, 4, 2, 40, 32, false);
    static final int B = 2, T = 32;

    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    @Test
    void trainingStepsTrackTheReferenceLosses() {
        Random r = new Random(11);
        int[] tokens = new int[B * T], targets = new int[B * T];
        for (int i = 0; i < B * T; i++) {
            tokens[i] = r.nextInt(CONFIG.vocabSize());
            targets[i] = r.nextInt(CONFIG.vocabSize());
        }
        int shortT = 6;  // <= head size 8: the default kernels, in buffers sized for the fused path
        int[] shortTokens = java.util.Arrays.copyOf(tokens, B * shortT), shortTargets = java.util.Arrays.copyOf(targets, B * shortT);
        CudaBackend cuda = FakeCuda.backend();
        cuda.setFusedAttention(true);
        try (ReferenceBackend refOps = new ReferenceBackend(); cuda;
             LlamaTrainModel ref = new LlamaTrainModel(refOps, CONFIG, B, T); LlamaTrainModel fused = new LlamaTrainModel(cuda, CONFIG, B, T)) {
            ref.initWeights(5);
            fused.initWeights(5);
            for (int step = 0; step < 5; step++) {
                boolean isShort = step == 3;
                int t = isShort ? shortT : T;
                float expected = step(ref, isShort ? shortTokens : tokens, isShort ? shortTargets : targets, t);
                float got = step(fused, isShort ? shortTokens : tokens, isShort ? shortTargets : targets, t);
                System.out.printf("llama fused attention step %d (T %d): reference %.7f, fused %.7f%n", step, t, expected, got);
                assertThat((double) got).as("loss at step %d (T %d)", step, t)
                        .isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-4 * Math.abs(expected)));
            }
        }
    }

    private static float step(LlamaTrainModel model, int[] tokens, int[] targets, int t) {
        model.zeroGrad();
        float loss = model.forwardBackward(tokens, targets, B, t);
        TrainSteps.clipAndAdamw(model, 1e-2f, 0.1f);
        return loss;
    }

    /**
     * A prompt longer than the head size decoded on the fused stand-in: LlamaOpsInference's prefill at position 0
     * calls gqaAttentionForward with its decode-sized scratch, which takes the fused kernels there; the logits stay
     * the oracle's.
     */
    @Test
    void prefillLongerThanTheHeadSizeTakesTheFusedKernels() {
        LlamaConfig cfg = LlamaConfig.llama2c(16, 32, 2, 4, 2, 29, 24, false);  // head size 4
        int[] prompt = {1, 5, 20, 3, 11, 7, 2, 19, 4, 4, 8, 13};
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            LlamaWeights w = RandomLlama.create(cfg, 9, a);
            float[] expected;
            try (ReferenceLlama r = new ReferenceLlama(w)) {
                expected = r.prefill(prompt).toFloatArray();
            }
            CudaBackend cuda = FakeCuda.backend();
            cuda.setFusedAttention(true);
            try (LlamaOpsInference m = new LlamaOpsInference(cuda, w, cuda)) {
                dev.jgpt.backend.cuda.KernelTimeline timeline = cuda.timeline();
                timeline.reset();
                timeline.beginStep();
                float[] got = m.prefill(prompt).toFloatArray();
                timeline.endStep();
                java.util.Set<String> kernels = new java.util.TreeSet<>();
                for (var row : timeline.profile().rows()) kernels.add(row.name());
                timeline.reset();
                assertThat(kernels).contains("attention_forward_fused").doesNotContain("gqa_attention_forward");
                double max = 0, diff = 0;
                for (int i = 0; i < expected.length; i++) {
                    max = Math.max(max, Math.abs(expected[i]));
                    diff = Math.max(diff, Math.abs(expected[i] - got[i]));
                }
                assertThat(diff / max).as("relative logit difference").isLessThan(1e-4);
            }
        }
    }

    @Test
    void fusedModelAllocatesOnlyTheFusedState() {
        int L = CONFIG.layers(), NH = CONFIG.heads(), NKV = CONFIG.kvHeads(), hs = CONFIG.headSize();
        long plain, fused;
        try (CudaBackend cuda = FakeCuda.backend(); LlamaTrainModel m = new LlamaTrainModel(cuda, CONFIG, B, T)) {
            assertThat(cuda.gqaAttentionKeepsProbabilities(B, T, NH, NKV, hs)).isTrue();
            plain = m.offHeapBytes().get("activations");
        }
        try (CudaBackend cuda = FakeCuda.backend()) {
            cuda.setFusedAttention(true);
            try (LlamaTrainModel m = new LlamaTrainModel(cuda, CONFIG, B, T)) {
                assertThat(cuda.gqaAttentionKeepsProbabilities(B, T, NH, NKV, hs)).isFalse();
                fused = m.offHeapBytes().get("activations");
            }
        }
        long probs = (long) B * NH * T * T;
        long sized = (long) B * NH * Math.max(T, hs * hs); // att and datt alike: per-row floats, room for T <= hs batches
        long saved = 4L * (L + 1) * (probs - sized);
        assertThat(plain - fused).as("bytes the fused model does not allocate").isEqualTo(saved);
        // the reference backend keeps the probabilities: the default sizes
        Backend ref = new ReferenceBackend();
        assertThat(ref.gqaAttentionStateFloats(B, T, NH, NKV, hs)).isEqualTo(probs);
        assertThat(ref.gqaAttentionScratchFloats(B, T, NH, NKV, hs)).isEqualTo(probs);
        assertThat(ref.gqaAttentionKeepsProbabilities(B, T, NH, NKV, hs)).isTrue();
    }
}
