package dev.jgpt.backend.cuda;

import dev.jgpt.bindings.Cublas;
import java.util.Locale;

/**
 * How the cuda backend computes matrix products ({@code --precision}, or {@code JGPT_CUDA_MATH=fp32|tf32|bf16},
 * or {@code -Djgpt.cuda.math=...}; {@code JGPT_CUDA_TF32=1} is the same as {@code tf32}). Accumulation is
 * fp32 in every mode, and weights, activations, gradients and the AdamW state are fp32 in memory in every
 * mode (the Backend contract's tensors are F32); bf16 mode adds one bf16 copy of the parameters beside them.
 */
public enum GemmMath {
    /** IEEE fp32 products ({@code cublasSgemm}): what the 1e-4 contract tests hold. */
    FP32(Cublas.CUBLAS_COMPUTE_32F),
    /** TF32 tensor cores (10-bit mantissa inputs, rounded by cuBLAS from fp32 storage), about 1e-3 relative error. */
    TF32(Cublas.CUBLAS_COMPUTE_32F_FAST_TF32),
    /**
     * Mixed precision as llm.c's matmuls: the backend rounds both inputs of every product of the contract's
     * matmul, attention and classifier to bf16 (round-to-nearest-even, kernel {@code f32_to_bf16}) and cuBLAS
     * multiplies bf16 x bf16 on tensor cores with fp32 accumulation into fp32 outputs ({@code cublasGemmEx},
     * {@code CUDA_R_16BF} inputs, {@code CUBLAS_COMPUTE_32F}). The fp32 tensors stay the masters: AdamW
     * updates fp32 weights and, for the model's registered parameter buffer, their bf16 copy in the same pass
     * ({@link Bf16Parameters}; any other write makes it refresh before the next product); other operands are
     * rounded fresh for each product.
     * About 1e-2 relative error per product. Products of other code that pass fp32 storage ({@code sgemm})
     * use {@link #computeType()} = {@code CUBLAS_COMPUTE_32F_FAST_16BF} instead (cuBLAS rounds).
     */
    BF16(Cublas.CUBLAS_COMPUTE_32F_FAST_16BF);

    private final int computeType;

    GemmMath(int computeType) {
        this.computeType = computeType;
    }

    /** The {@code cublasComputeType_t} for {@code cublasGemmEx} on fp32 storage. */
    public int computeType() {
        return computeType;
    }

    /** {@code fp32}, {@code tf32} or {@code bf16}: the spelling of {@code --precision}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** From the environment / system properties; fp32 unless asked otherwise. */
    public static GemmMath configured() {
        String v = System.getProperty("jgpt.cuda.math", System.getenv("JGPT_CUDA_MATH"));
        if (v == null || v.isBlank()) {
            return "1".equals(System.getenv("JGPT_CUDA_TF32")) || Boolean.getBoolean("jgpt.cuda.tf32") ? TF32 : FP32;
        }
        return parse(v, "JGPT_CUDA_MATH");
    }

    /** {@code fp32|tf32|bf16} (any case); a {@link dev.jgpt.JgptException} naming {@code what} otherwise. */
    public static GemmMath parse(String value, String what) {
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new dev.jgpt.JgptException(what + ": unknown precision '" + value + "', expected fp32, tf32 or bf16");
        }
    }
}
