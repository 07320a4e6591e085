package dev.jgpt.backend.cuda;

import dev.jgpt.bindings.Cublas;
import java.util.Locale;

/**
 * How cuBLAS computes the backend's fp32 matrix products. Storage stays fp32 in every mode; the modes
 * differ in the precision the tensor cores multiply at (accumulation is fp32 in all of them).
 * Chosen with {@code JGPT_CUDA_MATH=fp32|tf32|bf16} or {@code -Djgpt.cuda.math=...}
 * ({@code JGPT_CUDA_TF32=1} is the same as {@code tf32}).
 */
public enum GemmMath {
    /** IEEE fp32 products ({@code cublasSgemm}): what the 1e-4 contract tests hold. */
    FP32(Cublas.CUBLAS_COMPUTE_32F),
    /** TF32 tensor cores (10-bit mantissa inputs), about 1e-3 relative error. */
    TF32(Cublas.CUBLAS_COMPUTE_32F_FAST_TF32),
    /** bf16 tensor cores (8-bit mantissa inputs, converted by cuBLAS), about 1e-2 relative error. */
    BF16(Cublas.CUBLAS_COMPUTE_32F_FAST_16BF);

    private final int computeType;

    GemmMath(int computeType) {
        this.computeType = computeType;
    }

    /** The {@code cublasComputeType_t} for {@code cublasGemmEx}. */
    public int computeType() {
        return computeType;
    }

    /** From the environment / system properties; fp32 unless asked otherwise. */
    public static GemmMath configured() {
        String v = System.getProperty("jgpt.cuda.math", System.getenv("JGPT_CUDA_MATH"));
        if (v == null || v.isBlank()) {
            return "1".equals(System.getenv("JGPT_CUDA_TF32")) || Boolean.getBoolean("jgpt.cuda.tf32") ? TF32 : FP32;
        }
        try {
            return valueOf(v.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new dev.jgpt.JgptException("JGPT_CUDA_MATH: unknown '" + v + "', expected fp32, tf32 or bf16");
        }
    }
}
