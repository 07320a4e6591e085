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

extern "C" __global__ void adamw_update(float* params, const float* grads, float* m, float* v, long long n,
                                        float lr, float beta1, float beta2, float bc1, float bc2,
                                        float eps, float weight_decay, float grad_scale) {
    for (long long i = jg_global_index(); i < n; i += jg_global_stride()) {
        params[i] = jg_adamw_element(params, grads, m, v, i, lr, beta1, beta2, bc1, bc2, eps, weight_decay, grad_scale);
    }
}

// adamw_update that also stores the new parameter rounded to bf16 (round-to-nearest-even, as f32_to_bf16)
// into params_bf16[i]: the bf16 copy of the parameters that --precision bf16 products read as their
// weight operand, kept current in the same pass instead of converting every weight before every product.
extern "C" __global__ void adamw_update_bf16(float* params, __nv_bfloat16* params_bf16, const float* grads, float* m,
                                             float* v, long long n, float lr, float beta1, float beta2, float bc1,
                                             float bc2, float eps, float weight_decay, float grad_scale) {
    for (long long i = jg_global_index(); i < n; i += jg_global_stride()) {
        const float p = jg_adamw_element(params, grads, m, v, i, lr, beta1, beta2, bc1, bc2, eps, weight_decay, grad_scale);
        params[i] = p;
        params_bf16[i] = __float2bfloat16_rn(p);
    }
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
