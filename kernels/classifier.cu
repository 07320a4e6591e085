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

// Inference: the k largest logits of one row (V), largest first (ties: lowest index first; -0 equals +0;
// NaN never), so the host samples from k candidates instead of copying the whole vocabulary back. k rounds
// of a block-wide argmax over the values below the previous round's pick in that order (so nothing is
// taken twice, with no list of taken indices to scan): k passes over the row, which stays in L2. When only
// NaN is left, a slot gets index 0 and -inf. k = 1 is greedy decoding. One block; blockDim.x a power of
// two, at most 1024. Not yet timed on a GPU.
#define JG_TOPK_MAX 64
extern "C" __global__ void topk_row(int* out_idx, float* out_val, const float* logits, int V, int k) {
    __shared__ float best_val[1024];
    __shared__ int best_idx[1024];
    float last_v = CUDART_INF_F;  // the previous round's pick, (+inf, -1) before the first: every value is below it
    int last_i = -1;
    for (int round = 0; round < k; round++) {
        float bv = -CUDART_INF_F;
        int bi = 0x7fffffff;
        for (int j = threadIdx.x; j < V; j += blockDim.x) {
            const float v = logits[j];
            const bool below = v < last_v || (v == last_v && j > last_i);  // not picked in an earlier round
            if (below && (v > bv || (v == bv && j < bi))) { bv = v; bi = j; }
        }
        best_val[threadIdx.x] = bv;
        best_idx[threadIdx.x] = bi;
        __syncthreads();
        for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
            if (threadIdx.x < stride) {
                const float ov = best_val[threadIdx.x + stride];
                const int oi = best_idx[threadIdx.x + stride];
                if (ov > best_val[threadIdx.x] || (ov == best_val[threadIdx.x] && oi < best_idx[threadIdx.x])) {
                    best_val[threadIdx.x] = ov;
                    best_idx[threadIdx.x] = oi;
                }
            }
            __syncthreads();
        }
        last_v = best_val[0];
        last_i = best_idx[0];  // 0x7fffffff when only NaN was left: then nothing is below it either
        if (threadIdx.x == 0) {
            out_idx[round] = last_i == 0x7fffffff ? 0 : last_i;
            out_val[round] = last_v;
        }
        __syncthreads();  // everyone has read best_*[0] before the next round overwrites it
    }
}
