// bf16 operands for the matrix products (GemmMath.BF16, --precision bf16): fp32 tensors are rounded to
// bf16 here, then cuBLAS multiplies bf16 x bf16 with fp32 accumulation into fp32 outputs
// (cublasGemmEx / cublasGemmStridedBatchedEx, CUBLAS_COMPUTE_32F). Activations, gradients and the AdamW
// state stay fp32 in memory; weights are fp32 masters with one bf16 copy of the parameter buffer beside
// them, which adamw_update_bf16 (optimizer.cu) keeps current and this kernel refreshes after other writes.
#include "common.cuh"
#include <cuda_bf16.h>

// out[i] = bf16(in[i]), round-to-nearest-even (NaN stays NaN), for i < n. Grid-stride.
extern "C" __global__ void f32_to_bf16(__nv_bfloat16* out, const float* in, long long n) {
    for (long long i = jg_global_index(); i < n; i += jg_global_stride()) out[i] = __float2bfloat16_rn(in[i]);
}
