// Fused causal attention backward, flash-style, paired with attention_forward_fused (attention.cu): the
// (T, T) probabilities are never stored; each kernel recomputes P[i][j] = exp(scale * q_i.k_j - lse_i)
// from the forward's per-row log-sum-exp. With dP[i][j] = dO_i.v_j and D_i = dO_i.O_i (= sum_j P dP):
//   dS = P * (dP - D),  dQ_i += scale * sum_j dS[i][j] k_j,  dK_j += scale * sum_i dS[i][j] q_i,
//   dV_j += sum_i P[i][j] dO_i
// Two kernels, no atomics: the first is query-centric (warp per query row: D_i, then dQ_i), the second
// key-centric (warp per key row of a kv head: dK_j and dV_j over the queries i >= j of every query head
// that shares it, heads in order), so every output element has one writer and a fixed summation order.
// Both accumulate (+=) into their outputs, like the contract's attention backward.
// Grouped-query layout as attention_forward_fused: q and dq rows q_stride elements apart, k, v, dk and dv
// rows kv_stride apart, out and dout (B,T,NH*hs); query head h reads kv head h / (NH/NKV). GPT-2 passes
// its packed qkv/dqkv (B,T,3C) as three pointers C apart, both strides 3C, NKV = NH.
// grid (ceil(T / warps), NH, B) for dq, (ceil(T / warps), NKV, B) for dkv; dynamic shared memory
// warps * 2 * hs floats; hs <= 256.
#include "common.cuh"

#define JG_FB_MAX_PER_LANE 8

// E, the element type of q, k, v and out: float, or __nv_bfloat16 for the _bf16 kernels (bf16 activation storage);
// GradT, that of dout, dq, dk and dv: float, or __nv_bfloat16 for the _bf16_grads pair (added to in fp32, rounded once).
// lse and delta stay fp32, and so does the arithmetic (a bf16 value is widened where it is read).

// Query-centric half: delta (B,NH,T) receives D_i (the second kernel reads it), dq += dQ.
template <typename E, typename GradT>
__device__ __forceinline__ void jg_attention_backward_fused_dq(GradT* dq, float* delta, const GradT* dout, const E* q,
                                                               const E* k, const E* v, const E* out, const float* lse,
                                                               int B, int T, int NH, int NKV, int hs, int q_stride,
                                                               int kv_stride, int accumulate) {
    JG_DYNAMIC_SHARED(float, jg_fbq_smem);
    const int warps = blockDim.x / JG_WARP, warp = threadIdx.x / JG_WARP, lane = threadIdx.x % JG_WARP;
    const int h = blockIdx.y, b = blockIdx.z;
    const int t = blockIdx.x * warps + warp;
    if (t >= T || b >= B) return;  // whole warps leave; no block-wide barrier follows
    const int hk = h / (NH / NKV);
    const long long C = (long long)NH * hs;  // row length of out and dout
    const E* kb = k + (long long)b * T * kv_stride + (long long)hk * hs;  // key row j at kb + j * kv_stride
    const E* vb = v + (long long)b * T * kv_stride + (long long)hk * hs;
    const long long tok = (long long)b * T + t;
    float* qs = jg_fbq_smem + warp * 2 * hs;  // q_t, pre-scaled
    float* g = qs + hs;                       // dO_t
    const float scale = 1.0f / sqrtf((float)hs);
    const E* qt = q + tok * q_stride + (long long)h * hs;
    float dsum = 0.0f;
    for (int i = lane; i < hs; i += JG_WARP) {
        qs[i] = jg_load(&qt[i]) * scale;
        const float go = jg_load(&dout[tok * C + h * hs + i]);
        g[i] = go;
        dsum += go * jg_load(&out[tok * C + h * hs + i]);
    }
    const float D = jg_warp_sum(dsum);
    __syncwarp();
    const long long r = ((long long)b * NH + h) * T + t;
    const float L = lse[r];
    if (lane == 0) delta[r] = D;
    float acc[JG_FB_MAX_PER_LANE];
#pragma unroll
    for (int c = 0; c < JG_FB_MAX_PER_LANE; c++) acc[c] = 0.0f;
    for (int j0 = 0; j0 <= t; j0 += JG_WARP) {
        const int j = j0 + lane;
        float ds = 0.0f;
        if (j <= t) {
            const E* kj = kb + (long long)j * kv_stride;
            const E* vj = vb + (long long)j * kv_stride;
            float s = 0.0f, dp = 0.0f;
            for (int i = 0; i < hs; i++) {
                s += qs[i] * jg_load(&kj[i]);
                dp += g[i] * jg_load(&vj[i]);
            }
            ds = expf(s - L) * (dp - D);
        }
        const int nkeys = min(JG_WARP, t - j0 + 1);  // the same for the whole warp
        for (int kk = 0; kk < nkeys; kk++) {
            const float dsk = __shfl_sync(0xffffffffu, ds, kk);
            const E* kj = kb + (long long)(j0 + kk) * kv_stride;
#pragma unroll
            for (int c = 0; c < JG_FB_MAX_PER_LANE; c++) {
                const int i = lane + JG_WARP * c;
                if (i < hs) acc[c] += dsk * jg_load(&kj[i]);
            }
        }
    }
    GradT* dqt = dq + tok * q_stride + (long long)h * hs;
#pragma unroll
    for (int c = 0; c < JG_FB_MAX_PER_LANE; c++) {
        const int i = lane + JG_WARP * c;
        if (i < hs) jg_store(&dqt[i], (accumulate ? jg_load(&dqt[i]) : 0.0f) + acc[c] * scale);
    }
}

// Key-centric half: dk and dv += dK, dV of key row j of kv head hk, over the queries i >= j of the
// NH/NKV query heads that read it. Runs after the first kernel on the same stream (it reads delta).
template <typename E, typename GradT>
__device__ __forceinline__ void jg_attention_backward_fused_dkv(GradT* dk, GradT* dv, const GradT* dout, const E* q,
                                                                const E* k, const E* v, const float* lse,
                                                                const float* delta, int B, int T, int NH, int NKV,
                                                                int hs, int q_stride, int kv_stride, int accumulate) {
    JG_DYNAMIC_SHARED(float, jg_fbkv_smem);
    const int warps = blockDim.x / JG_WARP, warp = threadIdx.x / JG_WARP, lane = threadIdx.x % JG_WARP;
    const int hk = blockIdx.y, b = blockIdx.z;
    const int j = blockIdx.x * warps + warp;
    if (j >= T || b >= B) return;
    const int G = NH / NKV;
    const long long C = (long long)NH * hs;  // row length of dout
    const long long kvrow = ((long long)b * T + j) * kv_stride + (long long)hk * hs;
    float* ks = jg_fbkv_smem + warp * 2 * hs;  // k_j, pre-scaled
    float* vs = ks + hs;                       // v_j
    const float scale = 1.0f / sqrtf((float)hs);
    for (int i = lane; i < hs; i += JG_WARP) {
        ks[i] = jg_load(&k[kvrow + i]) * scale;
        vs[i] = jg_load(&v[kvrow + i]);
    }
    __syncwarp();
    float dka[JG_FB_MAX_PER_LANE], dva[JG_FB_MAX_PER_LANE];
#pragma unroll
    for (int c = 0; c < JG_FB_MAX_PER_LANE; c++) {
        dka[c] = 0.0f;
        dva[c] = 0.0f;
    }
    for (int h = hk * G; h < (hk + 1) * G; h++) {
        const long long rows = ((long long)b * NH + h) * T;
        const E* qb = q + (long long)b * T * q_stride + (long long)h * hs;  // query row i at qb + i * q_stride
        const GradT* gb = dout + (long long)b * T * C + (long long)h * hs;          // its dO at gb + i * C
        for (int i0 = j; i0 < T; i0 += JG_WARP) {
            const int i = i0 + lane;
            float p = 0.0f, ds = 0.0f;
            if (i < T) {
                const E* qi = qb + (long long)i * q_stride;
                const GradT* gi = gb + (long long)i * C;
                float s = 0.0f, dp = 0.0f;
                for (int c = 0; c < hs; c++) {
                    s += jg_load(&qi[c]) * ks[c];
                    dp += jg_load(&gi[c]) * vs[c];
                }
                p = expf(s - lse[rows + i]);
                ds = p * (dp - delta[rows + i]);
            }
            const int nq = min(JG_WARP, T - i0);  // the same for the whole warp
            for (int qq = 0; qq < nq; qq++) {
                const float pq = __shfl_sync(0xffffffffu, p, qq);
                const float dsq = __shfl_sync(0xffffffffu, ds, qq);
                const E* qi = qb + (long long)(i0 + qq) * q_stride;
                const GradT* gi = gb + (long long)(i0 + qq) * C;
#pragma unroll
                for (int c = 0; c < JG_FB_MAX_PER_LANE; c++) {
                    const int ch = lane + JG_WARP * c;
                    if (ch < hs) {
                        dva[c] += pq * jg_load(&gi[ch]);
                        dka[c] += dsq * jg_load(&qi[ch]);
                    }
                }
            }
        }
    }
    GradT* dkp = dk + kvrow;
    GradT* dvp = dv + kvrow;
#pragma unroll
    for (int c = 0; c < JG_FB_MAX_PER_LANE; c++) {
        const int ch = lane + JG_WARP * c;
        if (ch < hs) {
            jg_store(&dkp[ch], (accumulate ? jg_load(&dkp[ch]) : 0.0f) + dka[c] * scale);
            jg_store(&dvp[ch], (accumulate ? jg_load(&dvp[ch]) : 0.0f) + dva[c]);
        }
    }
}

extern "C" __global__ void attention_backward_fused_dq(float* dq, float* delta, const float* dout, const float* q,
                                                       const float* k, const float* v, const float* out, const float* lse,
                                                       int B, int T, int NH, int NKV, int hs, int q_stride, int kv_stride, int accumulate) {
    jg_attention_backward_fused_dq(dq, delta, dout, q, k, v, out, lse, B, T, NH, NKV, hs, q_stride, kv_stride, accumulate);
}

extern "C" __global__ void attention_backward_fused_dkv(float* dk, float* dv, const float* dout, const float* q,
                                                        const float* k, const float* v, const float* lse, const float* delta,
                                                        int B, int T, int NH, int NKV, int hs, int q_stride, int kv_stride, int accumulate) {
    jg_attention_backward_fused_dkv(dk, dv, dout, q, k, v, lse, delta, B, T, NH, NKV, hs, q_stride, kv_stride, accumulate);
}

// The same pair with bf16 q, k, v and out (the forward's bf16 output, read for D = dO.O); dout, lse, delta, dq, dk,
// dv fp32. Strides in elements; shared memory as above (q, dO, k and v are kept there as fp32).
extern "C" __global__ void attention_backward_fused_dq_bf16(float* dq, float* delta, const float* dout,
                                                            const __nv_bfloat16* q, const __nv_bfloat16* k,
                                                            const __nv_bfloat16* v, const __nv_bfloat16* out,
                                                            const float* lse, int B, int T, int NH, int NKV, int hs,
                                                            int q_stride, int kv_stride, int accumulate) {
    jg_attention_backward_fused_dq(dq, delta, dout, q, k, v, out, lse, B, T, NH, NKV, hs, q_stride, kv_stride, accumulate);
}

extern "C" __global__ void attention_backward_fused_dkv_bf16(float* dk, float* dv, const float* dout,
                                                             const __nv_bfloat16* q, const __nv_bfloat16* k,
                                                             const __nv_bfloat16* v, const float* lse, const float* delta,
                                                             int B, int T, int NH, int NKV, int hs, int q_stride,
                                                             int kv_stride, int accumulate) {
    jg_attention_backward_fused_dkv(dk, dv, dout, q, k, v, lse, delta, B, T, NH, NKV, hs, q_stride, kv_stride, accumulate);
}

// The pair with the gradients in bf16 too: dout, dq, dk and dv bf16 (GPT-2's d(attention output) and dqkv in bf16
// mode); q, k, v and out bf16 as in the _bf16 pair. Shared memory as above.
extern "C" __global__ void attention_backward_fused_dq_bf16_grads(__nv_bfloat16* dq, float* delta, const __nv_bfloat16* dout,
                                                                  const __nv_bfloat16* q, const __nv_bfloat16* k,
                                                                  const __nv_bfloat16* v, const __nv_bfloat16* out,
                                                                  const float* lse, int B, int T, int NH, int NKV, int hs,
                                                                  int q_stride, int kv_stride, int accumulate) {
    jg_attention_backward_fused_dq(dq, delta, dout, q, k, v, out, lse, B, T, NH, NKV, hs, q_stride, kv_stride, accumulate);
}

extern "C" __global__ void attention_backward_fused_dkv_bf16_grads(__nv_bfloat16* dk, __nv_bfloat16* dv,
                                                                   const __nv_bfloat16* dout, const __nv_bfloat16* q,
                                                                   const __nv_bfloat16* k, const __nv_bfloat16* v,
                                                                   const float* lse, const float* delta, int B, int T,
                                                                   int NH, int NKV, int hs, int q_stride, int kv_stride, int accumulate) {
    jg_attention_backward_fused_dkv(dk, dv, dout, q, k, v, lse, delta, B, T, NH, NKV, hs, q_stride, kv_stride, accumulate);
}
