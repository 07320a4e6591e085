// Fused causal attention backward, flash-style, paired with attention_forward_fused (attention.cu): the
// (T, T) probabilities are never stored; each kernel recomputes P[i][j] = exp(scale * q_i.k_j - lse_i)
// from the forward's per-row log-sum-exp. With dP[i][j] = dO_i.v_j and D_i = dO_i.O_i (= sum_j P dP):
//   dS = P * (dP - D),  dQ_i += scale * sum_j dS[i][j] k_j,  dK_j += scale * sum_i dS[i][j] q_i,
//   dV_j += sum_i P[i][j] dO_i
// Two kernels, no atomics: the first is query-centric (warp per query row: D_i, then dQ_i), the second
// key-centric (warp per key row: dK_j and dV_j over the queries i >= j), so every output element has
// one writer. Both accumulate (+=) into dqkv (B,T,3C), like the contract's attention backward.
// grid (ceil(T / warps), NH, B); dynamic shared memory warps * 2 * hs floats; hs <= 256.
#include "common.cuh"

#define JG_FB_MAX_PER_LANE 8

// Query-centric half: delta (B,NH,T) receives D_i (the second kernel reads it), dqkv's q part += dQ.
extern "C" __global__ void attention_backward_fused_dq(float* dqkv, float* delta, const float* dout, const float* qkv,
                                                       const float* out, const float* lse, int B, int T, int C, int NH) {
    JG_DYNAMIC_SHARED(float, jg_fbq_smem);
    const int warps = blockDim.x / JG_WARP, warp = threadIdx.x / JG_WARP, lane = threadIdx.x % JG_WARP;
    const int h = blockIdx.y, b = blockIdx.z;
    const int t = blockIdx.x * warps + warp;
    const int hs = C / NH;
    if (t >= T || b >= B) return;  // whole warps leave; no block-wide barrier follows
    const long long C3 = 3LL * C;
    const float* base = qkv + (long long)b * T * C3;
    const long long tok = (long long)b * T + t;
    float* q = jg_fbq_smem + warp * 2 * hs;  // q_t, pre-scaled
    float* g = q + hs;                       // dO_t
    const float scale = 1.0f / sqrtf((float)hs);
    float dsum = 0.0f;
    for (int i = lane; i < hs; i += JG_WARP) {
        q[i] = base[(long long)t * C3 + h * hs + i] * scale;
        const float go = dout[tok * C + h * hs + i];
        g[i] = go;
        dsum += go * out[tok * C + h * hs + i];
    }
    const float D = jg_warp_sum(dsum);
    __syncwarp();
    const long long r = ((long long)b * NH + h) * T + t;
    const float L = lse[r];
    if (lane == 0) delta[r] = D;
    float acc[JG_FB_MAX_PER_LANE];
#pragma unroll
    for (int k = 0; k < JG_FB_MAX_PER_LANE; k++) acc[k] = 0.0f;
    for (int j0 = 0; j0 <= t; j0 += JG_WARP) {
        const int j = j0 + lane;
        float ds = 0.0f;
        if (j <= t) {
            const float* kj = base + (long long)j * C3 + C + h * hs;
            const float* vj = kj + C;
            float s = 0.0f, dp = 0.0f;
            for (int i = 0; i < hs; i++) {
                s += q[i] * kj[i];
                dp += g[i] * vj[i];
            }
            ds = expf(s - L) * (dp - D);
        }
        const int nkeys = min(JG_WARP, t - j0 + 1);  // the same for the whole warp
        for (int kk = 0; kk < nkeys; kk++) {
            const float dsk = __shfl_sync(0xffffffffu, ds, kk);
            const float* kj = base + (long long)(j0 + kk) * C3 + C + h * hs;
#pragma unroll
            for (int k = 0; k < JG_FB_MAX_PER_LANE; k++) {
                const int i = lane + JG_WARP * k;
                if (i < hs) acc[k] += dsk * kj[i];
            }
        }
    }
    float* dq = dqkv + tok * C3 + h * hs;
#pragma unroll
    for (int k = 0; k < JG_FB_MAX_PER_LANE; k++) {
        const int i = lane + JG_WARP * k;
        if (i < hs) dq[i] += acc[k] * scale;
    }
}

// Key-centric half: dqkv's k and v parts += dK, dV, over the queries i >= j. Runs after the first
// kernel on the same stream (it reads delta).
extern "C" __global__ void attention_backward_fused_dkv(float* dqkv, const float* dout, const float* qkv, const float* lse,
                                                        const float* delta, int B, int T, int C, int NH) {
    JG_DYNAMIC_SHARED(float, jg_fbkv_smem);
    const int warps = blockDim.x / JG_WARP, warp = threadIdx.x / JG_WARP, lane = threadIdx.x % JG_WARP;
    const int h = blockIdx.y, b = blockIdx.z;
    const int j = blockIdx.x * warps + warp;
    const int hs = C / NH;
    if (j >= T || b >= B) return;
    const long long C3 = 3LL * C;
    const float* base = qkv + (long long)b * T * C3;
    float* k = jg_fbkv_smem + warp * 2 * hs;  // k_j, pre-scaled
    float* v = k + hs;                        // v_j
    const float scale = 1.0f / sqrtf((float)hs);
    for (int i = lane; i < hs; i += JG_WARP) {
        k[i] = base[(long long)j * C3 + C + h * hs + i] * scale;
        v[i] = base[(long long)j * C3 + 2LL * C + h * hs + i];
    }
    __syncwarp();
    const long long rows = ((long long)b * NH + h) * T;
    float dk[JG_FB_MAX_PER_LANE], dv[JG_FB_MAX_PER_LANE];
#pragma unroll
    for (int c = 0; c < JG_FB_MAX_PER_LANE; c++) {
        dk[c] = 0.0f;
        dv[c] = 0.0f;
    }
    for (int i0 = j; i0 < T; i0 += JG_WARP) {
        const int i = i0 + lane;
        float p = 0.0f, ds = 0.0f;
        if (i < T) {
            const float* qi = base + (long long)i * C3 + h * hs;
            const float* gi = dout + ((long long)b * T + i) * C + h * hs;
            float s = 0.0f, dp = 0.0f;
            for (int c = 0; c < hs; c++) {
                s += qi[c] * k[c];
                dp += gi[c] * v[c];
            }
            p = expf(s - lse[rows + i]);
            ds = p * (dp - delta[rows + i]);
        }
        const int nq = min(JG_WARP, T - i0);  // the same for the whole warp
        for (int qq = 0; qq < nq; qq++) {
            const float pq = __shfl_sync(0xffffffffu, p, qq);
            const float dsq = __shfl_sync(0xffffffffu, ds, qq);
            const float* qi = base + (long long)(i0 + qq) * C3 + h * hs;
            const float* gi = dout + ((long long)b * T + i0 + qq) * C + h * hs;
#pragma unroll
            for (int c = 0; c < JG_FB_MAX_PER_LANE; c++) {
                const int ch = lane + JG_WARP * c;
                if (ch < hs) {
                    dv[c] += pq * gi[ch];
                    dk[c] += dsq * qi[ch];
                }
            }
        }
    }
    float* dkp = dqkv + ((long long)b * T + j) * C3 + C + h * hs;
    float* dvp = dkp + C;
#pragma unroll
    for (int c = 0; c < JG_FB_MAX_PER_LANE; c++) {
        const int ch = lane + JG_WARP * c;
        if (ch < hs) {
            dkp[ch] += dk[c] * scale;
            dvp[ch] += dv[c];
        }
    }
}
