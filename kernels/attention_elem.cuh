// The element type of the fused attention kernels' activations (q, k, v and out): fp32, or bf16 when the
// model stores its activations in bf16 (--precision bf16). The kernels are templates on it; everything they
// compute (scores, softmax statistics, accumulators, lse, delta, gradients) stays fp32, so a bf16 value is
// widened once where it is read and out is rounded once (round-to-nearest-even) where it is written.
#pragma once
#include "common.cuh"
#include <cuda_bf16.h>

__device__ __forceinline__ float jg_attn_f32(float v) { return v; }
__device__ __forceinline__ float jg_attn_f32(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ void jg_attn_store(float* p, float v) { *p = v; }
__device__ __forceinline__ void jg_attn_store(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }
