// Fused classifier: softmax + cross-entropy + dlogits in one pass over a chunk of logit rows that
// cuBLAS wrote (logits = x @ wte^T), so the (N, V) probabilities never exist at once.
#include "common.cuh"

// One block per row of logits (R rows of V, ld apart: the backend pads rows to 128-byte alignment; the padding is
// neither read nor written). losses[row] = logsumexp(logits) - logits[target]. When
// backward != 0 the row is overwritten in place with dlogits = (softmax - onehot(target)) * dscale.
// A negative target is ignored (loss 0, dlogits 0); a target >= V gives a NaN loss.
// Two passes over the row: an online max-and-sum (each thread rescales its running sum when its maximum
// grows; the block then rescales every thread's sum to the block's maximum), then the dlogits. 16 bytes per load
// where the rows allow (below).
// L is the stored logit type: fp32, or bf16 where the model keeps its logits so (CudaBackend's bf16
// activations): read and written through jg_load/jg_store, everything computed in fp32.
// VW: elements a thread reads at once, 1 or JgVec16<L>::N (16 bytes: 4 floats or 8 bf16, where rows are 16-byte
// aligned, which the padded ld makes them): a row of GPT-2's 50,257 bf16 logits is 6,282 16-byte loads instead of
// 50,257 2-byte ones (on an H200 the 2-byte version took 1.84 ms for 8,192 rows, ~1.3 TB/s of its ~4.8). The elements
// past the last whole vector (V % VW) are read one at a time. Each thread folds a vector into its running maximum and
// sum at once (one rescale per vector instead of one per element).
template <int VW, typename L>
__device__ __forceinline__ void jg_classifier_softmax_xent_v(L* x, float* losses, int row, int target, int V,
                                                             float dscale, int backward) {
    const float xt = jg_load(x + target);  // read before any thread overwrites the row
    const int whole = V / VW * VW;
    float m = -CUDART_INF_F, s = 0.0f;
    for (int j = threadIdx.x * VW; j < whole; j += blockDim.x * VW) {
        float v[VW];
        jg_loadv<VW>(x + j, v);
        if constexpr (VW == 1) {
            jg_online_max_sum(m, s, v[0]);  // one exp per element
        } else {
            float vm = v[0];
#pragma unroll
            for (int e = 1; e < VW; e++) vm = fmaxf(vm, v[e]);
            const float mn = fmaxf(m, vm);
            float add = 0.0f;
#pragma unroll
            for (int e = 0; e < VW; e++) add += expf(v[e] - mn);
            s = (m == -CUDART_INF_F ? 0.0f : s * expf(m - mn)) + add;
            m = mn;
        }
    }
    for (int j = whole + threadIdx.x; j < V; j += blockDim.x) jg_online_max_sum(m, s, jg_load(x + j));
    const float mx = jg_block_max(m);
    s = jg_block_sum(jg_online_sum_at(m, s, mx));  // ends past a __syncthreads: xt reads are done
    if (threadIdx.x == 0) losses[row] = mx + logf(s) - xt;
    if (!backward) return;
    const float inv = 1.0f / s;
    for (int j = threadIdx.x * VW; j < whole; j += blockDim.x * VW) {
        float v[VW];
        jg_loadv<VW>(x + j, v);
#pragma unroll
        for (int e = 0; e < VW; e++) v[e] = (expf(v[e] - mx) * inv - (j + e == target ? 1.0f : 0.0f)) * dscale;
        jg_storev<VW>(x + j, v);
    }
    for (int j = whole + threadIdx.x; j < V; j += blockDim.x) {
        const float p = expf(jg_load(x + j) - mx) * inv;
        jg_store(x + j, (p - (j == target ? 1.0f : 0.0f)) * dscale);
    }
}

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
    if (jg_rows_vec16(logits, ld)) jg_classifier_softmax_xent_v<JgVec16<L>::N>(x, losses, row, target, V, dscale, backward);
    else jg_classifier_softmax_xent_v<1>(x, losses, row, target, V, dscale, backward);
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
