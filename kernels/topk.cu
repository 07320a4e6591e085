// Inference: the k largest logits of each of n rows, largest first (ties: lowest index first; -0 equals +0;
// NaN never), so the host samples from k candidates per sequence instead of copying n whole vocabularies
// back (one generate call: n = 1; a server's batched decode step: n = the sequences in the step).
//
// Two stages, so that a row is read by many blocks at once instead of one:
//   topk_partial  grid (parts, n): block (part, row) stages its slice of the row (at most `chunk` values)
//                 in shared memory and writes the slice's own k best (value, index) pairs;
//   topk_merge    grid (n): block row merges the parts * k candidates of its row into the final k.
// The k best of a row are among the k best of the slices they sit in, so the merge sees all of them.
// Each stage runs k rounds of a block-wide "best pair after the previous round's pick" (in the order
// above, so nothing is taken twice and no list of taken indices is kept). When fewer than k non-NaN values
// exist, the remaining slots hold -inf and index 0. blockDim.x = JG_TOPK_THREADS for both. Not yet timed on
// a GPU. For V = 50,257 the Java side picks 25 parts of <= 2,048 values (8 KB of shared memory each); the
// merge reads 25 * k candidates (<= JG_TOPK_MERGE_MAX).
#include "common.cuh"

#define JG_TOPK_MAX 64
#define JG_TOPK_THREADS 256
#define JG_TOPK_MERGE_MAX 2048
#define JG_TOPK_NONE 0x7fffffff  // the index of "no value left": after every real index in the order

// (v, i) comes before (bv, bi): a larger value, or the same value (-0 == +0) at a lower index. A NaN value
// is before nothing and nothing is before it, so a NaN is never picked (bv starts at -inf, never NaN).
__device__ __forceinline__ bool jg_topk_before(float v, int i, float bv, int bi) {
    return v > bv || (v == bv && i < bi);
}

__device__ __forceinline__ void jg_topk_warp_best(float& v, int& i) {
    for (int o = 16; o > 0; o >>= 1) {
        const float ov = __shfl_xor_sync(0xffffffffu, v, o);
        const int oi = __shfl_xor_sync(0xffffffffu, i, o);
        if (jg_topk_before(ov, oi, v, i)) {
            v = ov;
            i = oi;
        }
    }
}

// The block's first pair in the order; every thread gets it. The leading barrier lets back-to-back calls
// reuse the shared slots.
__device__ __forceinline__ void jg_topk_block_best(float& v, int& i) {
    __shared__ float warp_v[JG_TOPK_THREADS / JG_WARP];
    __shared__ int warp_i[JG_TOPK_THREADS / JG_WARP];
    const int lane = threadIdx.x % JG_WARP, warp = threadIdx.x / JG_WARP;
    jg_topk_warp_best(v, i);
    __syncthreads();
    if (lane == 0) {
        warp_v[warp] = v;
        warp_i[warp] = i;
    }
    __syncthreads();
    v = lane < JG_TOPK_THREADS / JG_WARP ? warp_v[lane] : -CUDART_INF_F;
    i = lane < JG_TOPK_THREADS / JG_WARP ? warp_i[lane] : JG_TOPK_NONE;
    jg_topk_warp_best(v, i);
}

// k rounds over n (value, index) pairs in shared memory: vals[j] with index ids[j], or first_id + j when ids
// is null. Writes the k best, in order, to out_idx/out_val; "none left" as JG_TOPK_NONE, or as index 0
// when final (what the caller of topk_merge sees).
__device__ __forceinline__ void jg_topk_rounds(int* out_idx, float* out_val, const float* vals, const int* ids,
                                               int first_id, int n, int k, bool final) {
    float last_v = CUDART_INF_F;  // the previous round's pick; (+inf, -1) first: every pair comes after it
    int last_i = -1;
    for (int round = 0; round < k; round++) {
        float bv = -CUDART_INF_F;
        int bi = JG_TOPK_NONE;
        for (int j = threadIdx.x; j < n; j += JG_TOPK_THREADS) {
            const float v = vals[j];
            const int id = ids != nullptr ? ids[j] : first_id + j;
            const bool after_last = v < last_v || (v == last_v && id > last_i);
            if (after_last && jg_topk_before(v, id, bv, bi)) {
                bv = v;
                bi = id;
            }
        }
        jg_topk_block_best(bv, bi);
        last_v = bv;
        last_i = bi;
        if (threadIdx.x == 0) {
            out_idx[round] = final && bi == JG_TOPK_NONE ? 0 : bi;
            out_val[round] = bv;
        }
    }
}

// Stage 1. Row r of logits starts at r * ld; its first V values count. Block (part, row) takes the values
// [part * chunk, min(V, (part + 1) * chunk)) and writes its k best to part_idx/part_val at
// (row * gridDim.x + part) * k. Dynamic shared memory: chunk floats.
extern "C" __global__ void topk_partial(int* part_idx, float* part_val, const float* logits, int V, int ld, int chunk,
                                        int k) {
    JG_DYNAMIC_SHARED(float, jg_topk_slice);
    const int part = blockIdx.x, row = blockIdx.y;
    const int begin = min(V, part * chunk), end = min(V, begin + chunk);
    const float* x = logits + (long long)row * ld;
    for (int j = begin + threadIdx.x; j < end; j += JG_TOPK_THREADS) jg_topk_slice[j - begin] = x[j];
    __syncthreads();
    const long long out = ((long long)row * gridDim.x + part) * k;
    jg_topk_rounds(part_idx + out, part_val + out, jg_topk_slice, nullptr, begin, end - begin, k, false);
}

// Stage 2: block row merges the parts * k pairs of its row (parts * k <= JG_TOPK_MERGE_MAX) into out_idx/out_val
// at row * k.
extern "C" __global__ void topk_merge(int* out_idx, float* out_val, const int* part_idx, const float* part_val,
                                      int parts, int k) {
    __shared__ float vals[JG_TOPK_MERGE_MAX];
    __shared__ int ids[JG_TOPK_MERGE_MAX];
    const int row = blockIdx.x, n = parts * k;
    const long long in = (long long)row * n;
    for (int j = threadIdx.x; j < n; j += JG_TOPK_THREADS) {
        vals[j] = part_val[in + j];
        ids[j] = part_idx[in + j];
    }
    __syncthreads();
    jg_topk_rounds(out_idx + (long long)row * k, out_val + (long long)row * k, vals, ids, 0, n, k, true);
}
