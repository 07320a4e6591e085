// AdamW and the reductions behind the global gradient norm and the summed loss.
#include "common.cuh"
#include <cuda_bf16.h>

// One AdamW step (decoupled weight decay). bc1 = 1 - beta1^step and bc2 = 1 - beta2^step are
// computed on the host in double. The gradient is scaled by gradScale first (clipping, averaging).
// Updates m[i] and v[i] and returns the new parameter i; both kernels below share it, so the fp32
// masters come out the same whichever runs.
__device__ __forceinline__ float jg_adamw_element(const float* params, const float* grads, float* m, float* v,
                                                  long long i, float lr, float beta1, float beta2, float bc1,
                                                  float bc2, float eps, float weight_decay, float grad_scale) {
    const float g = grads[i] * grad_scale;
    const float mi = beta1 * m[i] + (1.0f - beta1) * g;
    const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const float mhat = mi / bc1;
    const float vhat = vi / bc2;
    const float p = params[i];
    return p - lr * (mhat / (sqrtf(vhat) + eps) + weight_decay * p);
}

// The update over all n elements: 4 at a time (16-byte accesses to params, grads, m and v; 8 bytes of params_bf16)
// where every pointer allows, then one at a time for the rest; each element's arithmetic is jg_adamw_element's either
// way, so the results are the same bit for bit. On an H200 the 4-byte version moved GPT-2's 30 bytes per parameter at
// about two thirds of the memory bandwidth (1.16 ms a step). params_bf16 may be null.
__device__ __forceinline__ void jg_adamw_all(float* params, __nv_bfloat16* params_bf16, const float* grads, float* m,
                                             float* v, long long n, float lr, float beta1, float beta2, float bc1,
                                             float bc2, float eps, float weight_decay, float grad_scale) {
    const bool vec = jg_aligned16(params, grads, m, v) && (reinterpret_cast<unsigned long long>(params_bf16) & 7) == 0;
    long long done = 0;
    if (vec) {
        const long long quads = n / 4;
        for (long long qd = jg_global_index(); qd < quads; qd += jg_global_stride()) {
            const long long i = qd * 4;
            const float4 p4 = *reinterpret_cast<const float4*>(params + i), g4 = *reinterpret_cast<const float4*>(grads + i);
            const float4 m4 = *reinterpret_cast<const float4*>(m + i), v4 = *reinterpret_cast<const float4*>(v + i);
            const float ps[4] = {p4.x, p4.y, p4.z, p4.w}, gs[4] = {g4.x, g4.y, g4.z, g4.w};
            float ms[4] = {m4.x, m4.y, m4.z, m4.w}, vs[4] = {v4.x, v4.y, v4.z, v4.w}, out[4];
#pragma unroll
            for (int e = 0; e < 4; e++) {
                // jg_adamw_element on registers: the same operations in the same order
                out[e] = jg_adamw_element(ps + e, gs + e, ms + e, vs + e, 0, lr, beta1, beta2, bc1, bc2, eps, weight_decay, grad_scale);
            }
            *reinterpret_cast<float4*>(m + i) = float4{ms[0], ms[1], ms[2], ms[3]};
            *reinterpret_cast<float4*>(v + i) = float4{vs[0], vs[1], vs[2], vs[3]};
            *reinterpret_cast<float4*>(params + i) = float4{out[0], out[1], out[2], out[3]};
            if (params_bf16 != nullptr) jg_store4(params_bf16 + i, float4{out[0], out[1], out[2], out[3]});
        }
        done = quads * 4;
    }
    for (long long i = done + jg_global_index(); i < n; i += jg_global_stride()) {
        const float p = jg_adamw_element(params, grads, m, v, i, lr, beta1, beta2, bc1, bc2, eps, weight_decay, grad_scale);
        params[i] = p;
        if (params_bf16 != nullptr) params_bf16[i] = __float2bfloat16_rn(p);
    }
}

extern "C" __global__ void adamw_update(float* params, const float* grads, float* m, float* v, long long n,
                                        float lr, float beta1, float beta2, float bc1, float bc2,
                                        float eps, float weight_decay, float grad_scale) {
    jg_adamw_all(params, nullptr, grads, m, v, n, lr, beta1, beta2, bc1, bc2, eps, weight_decay, grad_scale);
}

// adamw_update that also stores the new parameter rounded to bf16 (round-to-nearest-even, as f32_to_bf16)
// into params_bf16[i]: the bf16 copy of the parameters that --precision bf16 products read as their
// weight operand, kept current in the same pass instead of converting every weight before every product.
extern "C" __global__ void adamw_update_bf16(float* params, __nv_bfloat16* params_bf16, const float* grads, float* m,
                                             float* v, long long n, float lr, float beta1, float beta2, float bc1,
                                             float bc2, float eps, float weight_decay, float grad_scale) {
    jg_adamw_all(params, params_bf16, grads, m, v, n, lr, beta1, beta2, bc1, bc2, eps, weight_decay, grad_scale);
}

// First pass of a deterministic sum: partials[blockIdx.x] = sum over this block's grid-stride
// share of x (squared when square != 0), accumulated in double.
extern "C" __global__ void sum_partials(double* partials, const float* x, long long n, int square) {
    double s = 0.0;
    for (long long i = jg_global_index(); i < n; i += jg_global_stride()) {
        const double v = x[i];
        s += square ? v * v : v;
    }
    s = jg_block_sum_d(s);
    if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

// Second pass: one block adds the n partials into out[0].
extern "C" __global__ void sum_finish(double* out, const double* partials, int n) {
    double s = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += partials[i];
    s = jg_block_sum_d(s);
    if (threadIdx.x == 0) out[0] = s;
}
