// Causal self-attention, the cuBLAS way (as llm.c's first CUDA version): the two products per
// head (Q K^T and att V) are strided-batched cuBLAS calls made from Java straight on the packed
// qkv buffer (lda = 3C, stride between heads = hs), and these kernels do the softmax parts.
// att rows hold the scaled scores already (the 1/sqrt(hs) is cuBLAS's alpha).
#include "common.cuh"

// In place over att (BNH*T rows of T): causal softmax of row (bnh, t) over columns 0..t, zeros
// above the diagonal. One warp per row.
extern "C" __global__ void attention_softmax_forward(float* att, int BNH, int T) {
    const int lane = threadIdx.x % JG_WARP;
    const long long row = (long long)blockIdx.x * (blockDim.x / JG_WARP) + threadIdx.x / JG_WARP;
    if (row >= (long long)BNH * T) return;
    const int t = (int)(row % T);
    float* a = att + row * T;
    float mx = -CUDART_INF_F;
    for (int j = lane; j <= t; j += JG_WARP) mx = fmaxf(mx, a[j]);
    mx = jg_warp_max(mx);
    float s = 0.0f;
    for (int j = lane; j <= t; j += JG_WARP) {
        const float e = expf(a[j] - mx);
        a[j] = e;
        s += e;
    }
    const float inv = 1.0f / jg_warp_sum(s);
    for (int j = lane; j < T; j += JG_WARP) a[j] = j <= t ? a[j] * inv : 0.0f;
}

// In place over datt: datt[j] = scale * att[j] * (datt[j] - sum_k att[k] datt[k]) for j <= t, else 0.
// The result is d(QK^T) with the softmax's scale folded in, ready for the dQ and dK products.
extern "C" __global__ void attention_softmax_backward(float* datt, const float* att, int BNH, int T, float scale) {
    const int lane = threadIdx.x % JG_WARP;
    const long long row = (long long)blockIdx.x * (blockDim.x / JG_WARP) + threadIdx.x / JG_WARP;
    if (row >= (long long)BNH * T) return;
    const int t = (int)(row % T);
    float* d = datt + row * T;
    const float* a = att + row * T;
    float dot = 0.0f;
    for (int j = lane; j <= t; j += JG_WARP) dot += a[j] * d[j];
    dot = jg_warp_sum(dot);
    for (int j = lane; j < T; j += JG_WARP) d[j] = j <= t ? scale * a[j] * (d[j] - dot) : 0.0f;
}

// Inference: one new token at position pos attends over the KV cache (maxT, C) rows 0..pos.
// One block per head; att (NH, pos+1) receives the probabilities (head-major), out (C) the mix.
extern "C" __global__ void attention_decode(float* out, float* att, const float* q, const float* kcache,
                                            const float* vcache, int pos, int C, int NH) {
    const int h = blockIdx.x;
    const int hs = C / NH;
    const float scale = 1.0f / sqrtf((float)hs);
    const float* qh = q + (long long)h * hs;
    float* ah = att + (long long)h * (pos + 1);
    float mx = -CUDART_INF_F;
    for (int t = threadIdx.x; t <= pos; t += blockDim.x) {
        const float* k = kcache + (long long)t * C + (long long)h * hs;
        float s = 0.0f;
        for (int i = 0; i < hs; i++) s += qh[i] * k[i];
        s *= scale;
        ah[t] = s;
        mx = fmaxf(mx, s);
    }
    mx = jg_block_max(mx);
    float sum = 0.0f;
    for (int t = threadIdx.x; t <= pos; t += blockDim.x) {
        const float e = expf(ah[t] - mx);
        ah[t] = e;
        sum += e;
    }
    const float inv = 1.0f / jg_block_sum(sum);
    for (int t = threadIdx.x; t <= pos; t += blockDim.x) ah[t] *= inv;
    __syncthreads();
    for (int i = threadIdx.x; i < hs; i += blockDim.x) {
        float s = 0.0f;
        for (int t = 0; t <= pos; t++) s += ah[t] * vcache[(long long)t * C + (long long)h * hs + i];
        out[(long long)h * hs + i] = s;
    }
}
