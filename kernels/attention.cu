// Causal self-attention, the cuBLAS way (as llm.c's first CUDA version): the two products per
// head (Q K^T and att V) are strided-batched cuBLAS calls made from Java straight on the packed
// qkv buffer (lda = 3C, stride between heads = hs), and these kernels do the softmax parts.
// att rows hold the scaled scores already (the 1/sqrt(hs) is cuBLAS's alpha).
#include "common.cuh"

// In place over att (BNH*T rows of T): causal softmax of row (bnh, t) over columns 0..t, zeros
// above the diagonal. One warp per row. Two passes: each lane's online max and sum (rescaled when its
// maximum grows; the warp then rescales every lane's sum to the row's maximum), then the probabilities.
// A, the stored type of att: float, or __nv_bfloat16 (attention_softmax_forward_bf16: the probabilities in
// bf16, as the scores product wrote them in bf16 mode; arithmetic in fp32, one rounding per stored value).
// V, the columns a lane takes at once: 1, or 16 bytes (4 floats, 8 bf16) where the rows allow it (jg_rows_vec16):
// a quarter or an eighth of the load and store instructions. On an H200 the one-column kernels ran GPT-2's
// (8, 12, 1024, 1024) bf16 probabilities at about a third of the memory's bandwidth (docs/PERFORMANCE.md, "On a real
// GPU"). With V > 1 each lane's sums run over other columns than with V = 1 (a float rounding apart).
template <int V, typename A>
__device__ __forceinline__ void jg_attention_softmax_forward(A* att, int BNH, int T) {
    const int lane = threadIdx.x % JG_WARP;
    const long long row = (long long)blockIdx.x * (blockDim.x / JG_WARP) + threadIdx.x / JG_WARP;
    if (row >= (long long)BNH * T) return;
    const int t = (int)(row % T);
    A* a = att + row * T;
    float m = -CUDART_INF_F, s = 0.0f;
    for (int c0 = lane * V; c0 <= t; c0 += JG_WARP * V) {
        float x[V];
        jg_loadv<V>(a + c0, x);
#pragma unroll
        for (int i = 0; i < V; i++) {
            if (c0 + i <= t) jg_online_max_sum(m, s, x[i]);
        }
    }
    const float mx = jg_warp_max(m);
    const float inv = 1.0f / jg_warp_sum(jg_online_sum_at(m, s, mx));
    for (int c0 = lane * V; c0 < T; c0 += JG_WARP * V) {
        float y[V];
        if (c0 <= t) jg_loadv<V>(a + c0, y);
#pragma unroll
        for (int i = 0; i < V; i++) y[i] = c0 + i <= t ? expf(y[i] - mx) * inv : 0.0f;
        jg_storev<V>(a + c0, y);
    }
}

extern "C" __global__ void attention_softmax_forward(float* att, int BNH, int T) {
    if (jg_rows_vec16(att, T)) jg_attention_softmax_forward<JgVec16<float>::N>(att, BNH, T);
    else jg_attention_softmax_forward<1>(att, BNH, T);
}

extern "C" __global__ void attention_softmax_forward_bf16(__nv_bfloat16* att, int BNH, int T) {
    if (jg_rows_vec16(att, T)) jg_attention_softmax_forward<JgVec16<__nv_bfloat16>::N>(att, BNH, T);
    else jg_attention_softmax_forward<1>(att, BNH, T);
}

// In place over datt: datt[j] = scale * att[j] * (datt[j] - sum_k att[k] datt[k]) for j <= t, else 0.
// The result is d(QK^T) with the softmax's scale folded in, ready for the dQ and dK products.
// A: the stored type of att and datt (both fp32, or both bf16 in bf16 mode); V as in the forward.
template <int V, typename A>
__device__ __forceinline__ void jg_attention_softmax_backward(A* datt, const A* att, int BNH, int T, float scale) {
    const int lane = threadIdx.x % JG_WARP;
    const long long row = (long long)blockIdx.x * (blockDim.x / JG_WARP) + threadIdx.x / JG_WARP;
    if (row >= (long long)BNH * T) return;
    const int t = (int)(row % T);
    A* d = datt + row * T;
    const A* a = att + row * T;
    float dot = 0.0f;
    for (int c0 = lane * V; c0 <= t; c0 += JG_WARP * V) {
        float x[V], y[V];
        jg_loadv<V>(a + c0, x);
        jg_loadv<V>(d + c0, y);
#pragma unroll
        for (int i = 0; i < V; i++) {
            if (c0 + i <= t) dot += x[i] * y[i];
        }
    }
    dot = jg_warp_sum(dot);
    for (int c0 = lane * V; c0 < T; c0 += JG_WARP * V) {
        float x[V], y[V];
        if (c0 <= t) {
            jg_loadv<V>(a + c0, x);
            jg_loadv<V>(d + c0, y);
        }
#pragma unroll
        for (int i = 0; i < V; i++) y[i] = c0 + i <= t ? scale * x[i] * (y[i] - dot) : 0.0f;
        jg_storev<V>(d + c0, y);
    }
}

extern "C" __global__ void attention_softmax_backward(float* datt, const float* att, int BNH, int T, float scale) {
    if (jg_rows_vec16(datt, T) && jg_rows_vec16(att, T)) jg_attention_softmax_backward<JgVec16<float>::N>(datt, att, BNH, T, scale);
    else jg_attention_softmax_backward<1>(datt, att, BNH, T, scale);
}

extern "C" __global__ void attention_softmax_backward_bf16(__nv_bfloat16* datt, const __nv_bfloat16* att, int BNH, int T,
                                                           float scale) {
    if (jg_rows_vec16(datt, T) && jg_rows_vec16(att, T)) {
        jg_attention_softmax_backward<JgVec16<__nv_bfloat16>::N>(datt, att, BNH, T, scale);
    } else {
        jg_attention_softmax_backward<1>(datt, att, BNH, T, scale);
    }
}

// Fused causal attention forward, flash-style: never writes the (T, T) scores. One warp per query row
// t of head h of sequence b: the lanes take 32 keys at a time (one dot product each, q read from shared
// memory), update the running max m and denominator l with the online-softmax rescaling, then add the
// 32 values into the output accumulator, whose hs channels are spread over the lanes (hs <= 256).
// Grouped-query: q, k and v are separate pointers with their own row strides (elements between tokens):
// query head h of token t reads q[(b*T+t)*q_stride + h*hs ..] and kv head h / (NH/NKV) of token j reads
// k/v[(b*T+j)*kv_stride + (h/G)*hs ..]. GPT-2's packed qkv (B,T,3C) is q = qkv, k = qkv+C, v = qkv+2C,
// both strides 3C, NKV = NH; Llama's is q (B,T,NH*hs), k and v (B,T,NKV*hs).
// Writes out (B,T,NH*hs), heads concatenated, and lse (B,NH,T) = logsumexp of the scaled scores (may
// be null), which the fused backward (attention_backward_fused.cu) needs. grid (ceil(T / warps), NH, B);
// dynamic shared memory warps * hs floats.
// E, the element type of q, k, v and out: float, or __nv_bfloat16 (attention_forward_fused_bf16: bf16 activation
// storage; the arithmetic is the same fp32, so its out is the fp32 kernel's on the same values, rounded to bf16).
#define JG_FA_MAX_PER_LANE 8
template <typename E>
__device__ __forceinline__ void jg_attention_forward_fused(E* out, float* lse, const E* q, const E* k, const E* v, int B,
                                                           int T, int NH, int NKV, int hs, int q_stride, int kv_stride) {
    JG_DYNAMIC_SHARED(float, jg_fa_q);
    const int warps = blockDim.x / JG_WARP, warp = threadIdx.x / JG_WARP, lane = threadIdx.x % JG_WARP;
    const int h = blockIdx.y, b = blockIdx.z;
    const int t = blockIdx.x * warps + warp;
    if (t >= T || b >= B) return;  // whole warps leave; no block-wide barrier follows
    const int hk = h / (NH / NKV);
    const E* kb = k + (long long)b * T * kv_stride + (long long)hk * hs;  // key row j at kb + j * kv_stride
    const E* vb = v + (long long)b * T * kv_stride + (long long)hk * hs;
    float* qs = jg_fa_q + warp * hs;
    const float scale = 1.0f / sqrtf((float)hs);
    const E* qt = q + ((long long)b * T + t) * q_stride + (long long)h * hs;
    for (int i = lane; i < hs; i += JG_WARP) qs[i] = jg_load(&qt[i]) * scale;
    __syncwarp();
    float m = -CUDART_INF_F, l = 0.0f;
    float acc[JG_FA_MAX_PER_LANE];
#pragma unroll
    for (int r = 0; r < JG_FA_MAX_PER_LANE; r++) acc[r] = 0.0f;
    for (int j0 = 0; j0 <= t; j0 += JG_WARP) {
        const int j = j0 + lane;
        float s = -CUDART_INF_F;
        if (j <= t) {
            const E* kj = kb + (long long)j * kv_stride;
            float d = 0.0f;
            for (int i = 0; i < hs; i++) d += qs[i] * jg_load(&kj[i]);
            s = d;
        }
        const float mnew = fmaxf(m, jg_warp_max(s));  // finite: key j0 <= t is always valid
        const float p = j <= t ? expf(s - mnew) : 0.0f;
        const float corr = expf(m - mnew);             // 0 on the first chunk (m = -inf)
        l = l * corr + jg_warp_sum(p);
#pragma unroll
        for (int r = 0; r < JG_FA_MAX_PER_LANE; r++) acc[r] *= corr;
        const int nkeys = min(JG_WARP, t - j0 + 1);
        for (int kk = 0; kk < nkeys; kk++) {
            const float pk = __shfl_sync(0xffffffffu, p, kk);
            const E* vj = vb + (long long)(j0 + kk) * kv_stride;
#pragma unroll
            for (int r = 0; r < JG_FA_MAX_PER_LANE; r++) {
                const int i = lane + JG_WARP * r;
                if (i < hs) acc[r] += pk * jg_load(&vj[i]);
            }
        }
        m = mnew;
    }
    E* o = out + ((long long)b * T + t) * ((long long)NH * hs) + (long long)h * hs;
    const float inv = 1.0f / l;
#pragma unroll
    for (int r = 0; r < JG_FA_MAX_PER_LANE; r++) {
        const int i = lane + JG_WARP * r;
        if (i < hs) jg_store(o + i, acc[r] * inv);
    }
    if (lse != nullptr && lane == 0) lse[((long long)b * NH + h) * T + t] = m + logf(l);
}

extern "C" __global__ void attention_forward_fused(float* out, float* lse, const float* q, const float* k, const float* v,
                                                   int B, int T, int NH, int NKV, int hs, int q_stride, int kv_stride) {
    jg_attention_forward_fused(out, lse, q, k, v, B, T, NH, NKV, hs, q_stride, kv_stride);
}

// The same with bf16 q, k, v and out (lse fp32); strides in elements, shared memory as above (q is kept as fp32).
extern "C" __global__ void attention_forward_fused_bf16(__nv_bfloat16* out, float* lse, const __nv_bfloat16* q,
                                                        const __nv_bfloat16* k, const __nv_bfloat16* v, int B, int T,
                                                        int NH, int NKV, int hs, int q_stride, int kv_stride) {
    jg_attention_forward_fused(out, lse, q, k, v, B, T, NH, NKV, hs, q_stride, kv_stride);
}
