// Fused classifier: softmax + cross-entropy + dlogits in one pass over a chunk of logit rows that
// cuBLAS wrote (logits = x @ wte^T), so the (N, V) probabilities never exist at once.
#include "common.cuh"

// One block per row of logits (R rows of V, ld apart: the backend pads rows to 128-byte alignment; the padding is
// neither read nor written). losses[row] = logsumexp(logits) - logits[target]. When
// backward != 0 the row is overwritten in place with dlogits = (softmax - onehot(target)) * dscale.
// A negative target is ignored (loss 0, dlogits 0); a target >= V gives a NaN loss.
// Two passes over the row: an online max-and-sum (each thread rescales its running sum when its maximum
// grows; the block then rescales every thread's sum to the block's maximum), then the dlogits.
// L is the stored logit type: fp32, or bf16 where the model keeps its logits so (CudaBackend's bf16
// activations): read and written through jg_load/jg_store, everything computed in fp32.
template <typename L>
__device__ __forceinline__ void jg_classifier_softmax_xent(L* logits, float* losses, const int* targets,
                                                           int R, int V, int ld, float dscale, int backward) {
    const int row = blockIdx.x;
    if (row >= R) return;  // uniform per block
    L* x = logits + (long long)row * ld;
    const int target = targets[row];
    if (target < 0 || target >= V) {
        if (threadIdx.x == 0) losses[row] = target < 0 ? 0.0f : CUDART_NAN_F;
        if (backward) for (int j = threadIdx.x; j < V; j += blockDim.x) jg_store(x + j, 0.0f);
        return;
    }
    const float xt = jg_load(x + target);  // read before any thread overwrites the row
    float m = -CUDART_INF_F, s = 0.0f;
    for (int j = threadIdx.x; j < V; j += blockDim.x) jg_online_max_sum(m, s, jg_load(x + j));
    const float mx = jg_block_max(m);
    s = jg_block_sum(jg_online_sum_at(m, s, mx));  // ends past a __syncthreads: xt reads are done
    if (threadIdx.x == 0) losses[row] = mx + logf(s) - xt;
    if (backward) {
        const float inv = 1.0f / s;
        for (int j = threadIdx.x; j < V; j += blockDim.x) {
            const float p = expf(jg_load(x + j) - mx) * inv;
            jg_store(x + j, (p - (j == target ? 1.0f : 0.0f)) * dscale);
        }
    }
}

extern "C" __global__ void classifier_softmax_xent(float* logits, float* losses, const int* targets,
                                                   int R, int V, int ld, float dscale, int backward) {
    jg_classifier_softmax_xent(logits, losses, targets, R, V, ld, dscale, backward);
}

// bf16 logits (written so by the logits product), bf16 dlogits in place: the backward products' operand as it is.
extern "C" __global__ void classifier_softmax_xent_bf16(__nv_bfloat16* logits, float* losses, const int* targets,
                                                        int R, int V, int ld, float dscale, int backward) {
    jg_classifier_softmax_xent(logits, losses, targets, R, V, ld, dscale, backward);
}
