// AdamW and the reductions behind the global gradient norm and the summed loss.
#include "common.cuh"

// One AdamW step (decoupled weight decay). bc1 = 1 - beta1^step and bc2 = 1 - beta2^step are
// computed on the host in double. The gradient is scaled by gradScale first (clipping, averaging).
extern "C" __global__ void adamw_update(float* params, const float* grads, float* m, float* v, long long n,
                                        float lr, float beta1, float beta2, float bc1, float bc2,
                                        float eps, float weight_decay, float grad_scale) {
    for (long long i = jg_global_index(); i < n; i += jg_global_stride()) {
        const float g = grads[i] * grad_scale;
        const float mi = beta1 * m[i] + (1.0f - beta1) * g;
        const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        const float mhat = mi / bc1;
        const float vhat = vi / bc2;
        const float p = params[i];
        params[i] = p - lr * (mhat / (sqrtf(vhat) + eps) + weight_decay * p);
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
