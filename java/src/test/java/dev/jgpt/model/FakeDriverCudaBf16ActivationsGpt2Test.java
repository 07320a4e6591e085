package dev.jgpt.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.jgpt.backend.cuda.CudaBackend;
import dev.jgpt.backend.cuda.DeviceArena;
import dev.jgpt.backend.cuda.FakeCuda;
import dev.jgpt.backend.cuda.GemmMath;
import dev.jgpt.backend.reference.ReferenceBackend;
import dev.jgpt.memory.DType;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * GPT-2 training with bf16 activation storage ({@code Backend.activationDType} BF16: cuda in bf16 mode) on the stand-in
 * driver: the model allocates exactly the predicted, smaller activations; its loss curve tracks the fp32 reference's
 * within {@value FakeDriverCudaBf16Gpt2Test#CURVE_BOUND} and the bf16-operands-only run's (fp32 activations, each
 * product's inputs rounded per product) within {@value #VS_FP32_STORAGE}, with cuBLASLt on and off; yet not identically
 * (the GELU now reads a bf16 pre-activation). FakeDriverCudaAllocationTest's bf16 steps (bf16 storage by default)
 * check that a step allocates no device memory and little heap.
 */
class FakeDriverCudaBf16ActivationsGpt2Test {
    /** BTC = 2 * 16 * 32 = 1024: each bf16 activation is a whole number of the device arena's 256-byte alignment. */
    static final GptConfig CFG = new GptConfig(64, 32, 2, 2, 32);
    static final int B = 2, T = 16;
    static final double VS_FP32_STORAGE = 5e-3;

    @BeforeAll
    static void bindStandIn() {
        FakeCuda.require();
    }

    private static CudaBackend bf16(boolean activations, boolean lt) {
        CudaBackend cuda = FakeCuda.backend(GemmMath.BF16);
        cuda.setBf16Activations(activations);
        cuda.setLt(lt);
        return cuda;
    }

    @Test
    void theActivationsTakeTheSmallerPredictedMemory() {
        long BTC = (long) B * T * CFG.channels(), L = CFG.layers(), logits = (long) B * T * CFG.vocabSize();
        long probabilities = (long) B * CFG.heads() * T * T;
        // ln1, qkv (3), atty, ln2, fch (4), fchGelu (4) and the attention probabilities per layer, lnf, proj, the gradient
        // d(fch) (4), the classifier's logits (one chunk of all B*T rows here) and the attention backward's
        // d(probabilities): 2 bytes less each; the bf16 gradients of the layernorm or attention outputs, dqkv (3) and the
        // copy of dres are 2 bytes each more (in fp32 the first two live in dbtc and d4a, and there is no copy)
        long saved = 2 * (L * 14 * BTC + BTC + BTC + 4 * BTC + logits + L * probabilities + probabilities) - 2 * 5 * BTC;
        try (CudaBackend on = bf16(true, true); CudaBackend off = bf16(false, true)) {
            assertThat(on.activationDType()).isEqualTo(DType.BF16);
            assertThat(off.activationDType()).isEqualTo(DType.F32);
            assertThat(on.classifierRows((long) B * T, CFG.vocabSize())).as("one classifier chunk").isEqualTo((long) B * T);
            assertThat(on.attentionStateDType(B, T, CFG.channels(), CFG.heads())).as("cuBLAS path: bf16 probabilities").isEqualTo(DType.BF16);
            assertThat(off.attentionStateDType(B, T, CFG.channels(), CFG.heads())).isEqualTo(DType.F32);
            assertThat(Gpt2.activationBytes(CFG, B, T, off)).isEqualTo(4 * Gpt2.activationFloats(CFG, B, T, off));
            assertThat(Gpt2.activationBytes(CFG, B, T, off) - Gpt2.activationBytes(CFG, B, T, on)).isEqualTo(saved);
            try (Gpt2 a = new Gpt2(on, CFG, B, T); Gpt2 b = new Gpt2(off, CFG, B, T)) {
                assertThat(b.activationBytes() - a.activationBytes()).as("bytes bf16 storage does not allocate").isEqualTo(saved);
                long predicted = Gpt2.activationBytes(CFG, B, T, on);
                assertThat(a.activationBytes()).isBetween(predicted, predicted + 30 * DeviceArena.ALIGNMENT);
                assertThat(a.finalHidden().dtype()).isEqualTo(DType.BF16);
                System.out.printf("GPT-2 %s, B %d, T %d: activations %d bytes with bf16 storage, %d without (%.1f%% less)%n",
                        CFG, B, T, a.activationBytes(), b.activationBytes(), 100.0 * saved / b.activationBytes());
            }
        }
    }

    @Test
    void lossCurveTracksFp32AndTheBf16OperandsPath() {
        int steps = 12;
        float[] fp32 = CudaGpt2Test.curve(new ReferenceBackend(), CFG, B, T, steps);
        for (boolean lt : new boolean[] {true, false}) {
            float[] stored = CudaGpt2Test.curve(bf16(true, lt), CFG, B, T, steps);
            float[] operands = CudaGpt2Test.curve(bf16(false, lt), CFG, B, T, steps);
            boolean differs = false;
            for (int s = 0; s < steps; s++) {
                System.out.printf("bf16 activations%s step %d: fp32 %.6f, bf16 operands %.6f, bf16 storage %.6f%n",
                        lt ? " (lt)" : "", s, fp32[s], operands[s], stored[s]);
                assertThat((double) stored[s]).as("vs fp32 at step " + s)
                        .isCloseTo(fp32[s], Offset.offset(FakeDriverCudaBf16Gpt2Test.CURVE_BOUND * Math.abs(fp32[s])));
                assertThat((double) stored[s]).as("vs bf16 operands at step " + s)
                        .isCloseTo(operands[s], Offset.offset(VS_FP32_STORAGE * Math.abs(operands[s])));
                differs |= stored[s] != operands[s];
            }
            assertThat(differs).as("bf16 storage changes the numbers somewhere (the GELU reads bf16)").isTrue();
            assertThat(stored[steps - 1]).isLessThan(stored[0]);
        }
    }
}
