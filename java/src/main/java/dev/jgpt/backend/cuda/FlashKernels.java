package dev.jgpt.backend.cuda;

/**
 * One family of tensor-core attention kernels (bf16 mode's fused path) and the launch shapes its source fixes: which
 * entry point serves which element types, how many query rows a forward block takes, and the dynamic shared memory
 * of each kernel at the computed head size D (16, 32 or 64). The formulas mirror the layouts
 * documented in the .cu files.
 */
record FlashKernels(Kernel forward, Kernel forwardBf16, Kernel dq, Kernel dqBf16, Kernel dqBf16Grads, Kernel dkv,
                    Kernel dkvBf16, Kernel dkvBf16Grads, int forwardRows, Shared forwardShared, Shared dqShared,
                    Shared dkvShared) {

    /** Dynamic shared memory of a kernel: {@code perPaddedRow * (D + 8) + fixed} bytes at head size D. */
    record Shared(int perPaddedRow, int fixed) {
        int bytes(int D) {
            return perPaddedRow * (D + 8) + fixed;
        }
    }

    /** kernels/attention_flash_mma.cu: mma.sync, S, P and dS in registers; the default. */
    static final FlashKernels MMA = new FlashKernels(Kernel.ATTENTION_FLASH_MMA_FORWARD, Kernel.ATTENTION_FLASH_MMA_FORWARD_BF16,
            Kernel.ATTENTION_FLASH_MMA_BACKWARD_DQ, Kernel.ATTENTION_FLASH_MMA_BACKWARD_DQ_BF16,
            Kernel.ATTENTION_FLASH_MMA_BACKWARD_DQ_BF16_GRADS, Kernel.ATTENTION_FLASH_MMA_BACKWARD_DKV,
            Kernel.ATTENTION_FLASH_MMA_BACKWARD_DKV_BF16, Kernel.ATTENTION_FLASH_MMA_BACKWARD_DKV_BF16_GRADS,
            128, new Shared(512, 0), new Shared(512, 512), new Shared(512, 1024));

    /** kernels/attention_flash_tc.cu: WMMA, S and P through shared memory ({@code JGPT_CUDA_ATTENTION=fused-wmma}). */
    static final FlashKernels WMMA = new FlashKernels(Kernel.ATTENTION_FLASH_TC_FORWARD, Kernel.ATTENTION_FLASH_TC_FORWARD_BF16,
            Kernel.ATTENTION_FLASH_TC_BACKWARD_DQ, Kernel.ATTENTION_FLASH_TC_BACKWARD_DQ_BF16,
            Kernel.ATTENTION_FLASH_TC_BACKWARD_DQ_BF16_GRADS, Kernel.ATTENTION_FLASH_TC_BACKWARD_DKV,
            Kernel.ATTENTION_FLASH_TC_BACKWARD_DKV_BF16, Kernel.ATTENTION_FLASH_TC_BACKWARD_DKV_BF16_GRADS,
            64, new Shared(256, 27392), new Shared(256, 32256), new Shared(384, 19712));

    /** The forward for bf16 (q, k, v, out) or fp32 activations. */
    Kernel forward(boolean bf16) {
        return bf16 ? forwardBf16 : forward;
    }

    /** The dQ kernel: fp32 activations, bf16 ones, or bf16 activations and gradients. */
    Kernel dq(boolean bf16, boolean bf16Grads) {
        return bf16Grads ? dqBf16Grads : bf16 ? dqBf16 : dq;
    }

    Kernel dkv(boolean bf16, boolean bf16Grads) {
        return bf16Grads ? dkvBf16Grads : bf16 ? dkvBf16 : dkv;
    }
}
