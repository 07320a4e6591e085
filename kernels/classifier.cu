// Fused classifier: softmax + cross-entropy + dlogits in one pass over a chunk of logit rows that
// cuBLAS wrote (logits = x @ wte^T), so the (N, V) probabilities never exist at once.
#include "common.cuh"

// One block per row of logits (R, V). losses[row] = logsumexp(logits) - logits[target]. When
// backward != 0 the row is overwritten in place with dlogits = (softmax - onehot(target)) * dscale.
// A negative target is ignored (loss 0, dlogits 0); a target >= V gives a NaN loss.
extern "C" __global__ void classifier_softmax_xent(float* logits, float* losses, const int* targets,
                                                   int R, int V, float dscale, int backward) {
    const int row = blockIdx.x;
    if (row >= R) return;  // uniform per block
    float* x = logits + (long long)row * V;
    const int target = targets[row];
    if (target < 0 || target >= V) {
        if (threadIdx.x == 0) losses[row] = target < 0 ? 0.0f : CUDART_NAN_F;
        if (backward) for (int j = threadIdx.x; j < V; j += blockDim.x) x[j] = 0.0f;
        return;
    }
    const float xt = x[target];  // read before any thread overwrites the row
    float mx = -CUDART_INF_F;
    for (int j = threadIdx.x; j < V; j += blockDim.x) mx = fmaxf(mx, x[j]);
    mx = jg_block_max(mx);
    float s = 0.0f;
    for (int j = threadIdx.x; j < V; j += blockDim.x) s += expf(x[j] - mx);
    s = jg_block_sum(s);  // ends with every thread past a __syncthreads, so xt reads are done
    if (threadIdx.x == 0) losses[row] = mx + logf(s) - xt;
    if (backward) {
        const float inv = 1.0f / s;
        for (int j = threadIdx.x; j < V; j += blockDim.x) {
            const float p = expf(x[j] - mx) * inv;
            x[j] = (p - (j == target ? 1.0f : 0.0f)) * dscale;
        }
    }
}
