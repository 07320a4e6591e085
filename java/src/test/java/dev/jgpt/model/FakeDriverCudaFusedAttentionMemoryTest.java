package dev.jgpt.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.DeviceArena;
import dev.jgpt.backend.cuda.FakeCuda;
import dev.jgpt.memory.DType;
import dev.jgpt.memory.Tensor;
import dev.jgpt.memory.TensorArena;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * With fused attention the model allocates only what the fused path keeps ({@code Backend.attentionStateFloats}:
 * a log-sum-exp per row per layer, the backward reading the model's own out; {@code attentionScratchFloats}: one
 * float per row for the backward; both with room for the cuBLAS path of batches of T <= head size) instead of
 * (B, NH, T, T) matrices, and trains exactly as the cuBLAS path does. Over the
 * stand-in driver (real kernels, host emulation).
 */
class FakeDriverCudaFusedAttentionMemoryTest {
    /** C 32 in 4 heads of 8, T 16 > 8: the fused path; every att/datt size a multiple of the arena's 64-float alignment. */
    private static final GptConfig CFG = new GptConfig(64, 16, 2, 4, 32);
    private static final int B = 2, T = 16, C = 32, NH = 4, L = 2;
    private static final long PROBS = (long) B * NH * T * T;
    /**
     * The fused forward keeps and the fused backward needs B*NH*T (a log-sum-exp, D = dO.O per row; out is the model's
     * own); shorter batches (T <= head size 8) take the cuBLAS path and need B*NH*T^2 <= B*NH*64, which both att and datt
     * are sized for.
     */
    private static final long SIZED = (long) B * NH * 64, FUSED_ROWS = (long) B * NH * T;

    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    private static CudaBackend fused() {
        CudaBackend cuda = FakeCuda.backend();
        cuda.setFusedAttention(true);
        return cuda;
    }

    @Test
    void fusedAttentionShrinksTheActivationsByTheAttentionMatrices() {
        try (CudaBackend plain = FakeCuda.backend(); CudaBackend fused = fused()) {
            assertThat(fused.attentionStateFloats(B, T, C, NH)).isEqualTo(SIZED);
            assertThat(fused.attentionScratchFloats(B, T, C, NH)).isEqualTo(SIZED);
            assertThat(plain.attentionStateFloats(B, T, C, NH)).isEqualTo(PROBS);
            assertThat(plain.attentionScratchFloats(B, T, C, NH)).isEqualTo(PROBS);
            long savedFloats = (L + 1) * (PROBS - SIZED);
            assertThat(Gpt2.activationFloats(CFG, B, T, plain)).isEqualTo(Gpt2.activationFloats(CFG, B, T));
            assertThat(Gpt2.activationFloats(CFG, B, T) - Gpt2.activationFloats(CFG, B, T, fused)).isEqualTo(savedFloats);
            try (Gpt2 a = new Gpt2(plain, CFG, B, T); Gpt2 b = new Gpt2(fused, CFG, B, T)) {
                assertThat(a.activationBytes() - b.activationBytes()).as("bytes the fused model does not allocate").isEqualTo(4 * savedFloats);
                // the formula is what the arena holds (each of ~30 allocations rounded up to 256 bytes)
                long predicted = 4 * Gpt2.activationFloats(CFG, B, T, fused);
                assertThat(b.activationBytes()).isBetween(predicted, predicted + 30 * DeviceArena.ALIGNMENT);
                assertThat(b.offHeapBytes().get("activations")).isEqualTo(b.activationBytes());
            }
        }
    }

    /** Three steps from the same weights: the same losses, and the same gradients at the first step. */
    @Test
    void trainsLikeTheCublasPathWithTheSmallerBuffers() {
        float[][] losses = new float[2][];
        float[][] grads = new float[2][];
        for (int run = 0; run < 2; run++) {
            try (CudaBackend cuda = run == 0 ? FakeCuda.backend() : fused(); Gpt2 model = new Gpt2(cuda, CFG, B, T);
                 TensorArena host = TensorArena.host()) {
                model.initWeights(3);
                Random rnd = new Random(5);
                int[] tokens = new int[B * T], targets = new int[B * T];
                losses[run] = new float[3];
                for (int s = 0; s < 3; s++) {
                    for (int i = 0; i < B * T; i++) {
                        tokens[i] = rnd.nextInt(CFG.vocabSize());
                        targets[i] = rnd.nextInt(CFG.vocabSize());
                    }
                    model.zeroGrad();
                    losses[run][s] = model.forwardBackward(tokens, targets, B, T);
                    if (s == 0) { // the same weights in both runs: compare the gradients
                        Tensor g = host.allocate(DType.F32, model.grads().flat().numel());
                        cuda.copy(g, model.grads().flat());
                        grads[run] = g.toFloatArray();
                    }
                    model.adamwStep(1e-2f, 0.9f, 0.95f, 1e-8f, 0.0f, 1f);
                }
            }
        }
        for (int s = 0; s < 3; s++) {
            assertThat((double) losses[1][s]).as("fused loss at step " + s)
                    .isCloseTo(losses[0][s], org.assertj.core.data.Offset.offset(1e-5 * Math.abs(losses[0][s])));
        }
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < grads[0].length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(grads[0][i] - grads[1][i]));
            maxRef = Math.max(maxRef, Math.abs(grads[0][i]));
        }
        assertThat(maxDiff / maxRef).as("fused gradients at step 0, max |diff| " + maxDiff).isLessThanOrEqualTo(1e-4);
    }

    @Test
    void buffersSizedForTheFusedPathAreRejectedOnTheCublasPath() {
        try (CudaBackend cuda = fused(); Gpt2 model = new Gpt2(cuda, CFG, B, T); TensorArena dev = cuda.newArena()) {
            model.initWeights(1);
            int[] tokens = new int[B * T];
            cuda.setFusedAttention(false); // after the model was sized for it
            assertThatThrownBy(() -> model.forward(tokens, null, B, T)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("att: needs " + PROBS).hasMessageContaining("cuBLAS attention path")
                    .hasMessageContaining("JGPT_CUDA_ATTENTION=fused");

            Tensor out = dev.allocate(DType.F32, B, T, C), qkv = dev.allocate(DType.F32, B, T, 3 * C);
            Tensor dqkv = dev.allocate(DType.F32, B, T, 3 * C), full = dev.allocate(DType.F32, PROBS);
            Tensor short1 = dev.allocate(DType.F32, PROBS - 1);
            assertThatThrownBy(() -> cuda.attentionForward(out, short1, qkv, B, T, C, NH))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("att: needs " + PROBS);
            assertThatThrownBy(() -> cuda.attentionBackward(dqkv, short1, out, qkv, full, out, B, T, C, NH))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("datt: needs " + PROBS);
            // on the fused path the exact sizes pass, one float less does not
            cuda.setFusedAttention(true);
            Tensor state = dev.allocate(DType.F32, FUSED_ROWS), scratch = dev.allocate(DType.F32, FUSED_ROWS);
            cuda.attentionForward(out, state, qkv, B, T, C, NH);
            cuda.attentionBackward(dqkv, scratch, out, qkv, state, out, B, T, C, NH);
            assertThatThrownBy(() -> cuda.attentionForward(out, state.view(0, FUSED_ROWS - 1), qkv, B, T, C, NH))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("att: needs " + FUSED_ROWS);
            assertThatThrownBy(() -> cuda.attentionBackward(dqkv, scratch.view(0, FUSED_ROWS - 1), out, qkv, state, out, B, T, C, NH))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("datt: needs " + FUSED_ROWS);
        }
    }

    /**
     * Buffers sized for (B, maxT) serve every shorter batch, on either side of the switch between the paths
     * (T <= head size 8: cuBLAS, which needs B*NH*T^2; above: fused): the backend's own size checks pass.
     */
    @Test
    void buffersSizedForTheLongestBatchServeEveryShorterOne() {
        try (CudaBackend cuda = fused(); TensorArena dev = cuda.newArena()) {
            for (int maxT : new int[] {8, 9, 12, 16}) {
                Tensor att = dev.allocate(DType.F32, cuda.attentionStateFloats(B, maxT, C, NH));
                Tensor datt = dev.allocate(DType.F32, cuda.attentionScratchFloats(B, maxT, C, NH));
                assertThat(att.numel()).as("att at maxT " + maxT).isLessThanOrEqualTo((long) B * NH * maxT * maxT);
                for (int t = 1; t <= maxT; t++) {
                    Tensor out = dev.allocate(DType.F32, B, t, C), qkv = dev.allocate(DType.F32, B, t, 3 * C);
                    cuda.attentionForward(out, att, qkv, B, t, C, NH);
                    cuda.attentionBackward(dev.allocate(DType.F32, B, t, 3 * C), datt, out, qkv, att, out, B, t, C, NH);
                    assertThat(cuda.attentionKeepsProbabilities(B, t, C, NH)).as("probabilities kept at T " + t).isEqualTo(t <= C / NH);
                }
            }
            // head size 512 > 256: the fused kernels do not take it, so the cuBLAS path and its sizes
            assertThat(cuda.attentionKeepsProbabilities(1, 600, 1024, 2)).isTrue();
            assertThat(cuda.attentionStateFloats(1, 600, 1024, 2)).isEqualTo(2L * 600 * 600);
        }
    }

    @Test
    void attentionMapsAreRefusedWhereTheFusedPathRan() {
        try (CudaBackend cuda = fused(); Gpt2 model = new Gpt2(cuda, CFG, 1, T)) {
            model.initWeights(1);
            int[] tokens = new int[T];
            for (int i = 0; i < T; i++) tokens[i] = i;
            model.forward(tokens, null, 1, T);
            assertThatThrownBy(() -> model.attention(0)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("fused attention kept no probabilities");
            // T = 8 = head size: the cuBLAS path runs in the model's smaller buffers, and att holds probabilities
            int[] eight = java.util.Arrays.copyOf(tokens, 8);
            model.forwardBackward(eight, eight, 1, 8);
            try (TensorArena host = TensorArena.host()) {
                Tensor att = host.allocate(DType.F32, (long) NH * 8 * 8);
                cuda.copy(att, model.attention(1));
                for (int h = 0; h < NH; h++) {
                    assertThat(att.getFloat((long) h * 64)).as("p(key 0 | query 0), head " + h).isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-6f));
                    double row7 = 0;
                    for (int k = 0; k < 8; k++) row7 += att.getFloat((long) h * 64 + 7 * 8 + k);
                    assertThat(row7).as("row 7 of head " + h + " sums to 1").isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
                }
            }
        }
    }
}
