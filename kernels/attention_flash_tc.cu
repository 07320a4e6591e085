// Causal flash attention on tensor cores, for bf16 mode (GemmMath.BF16): the same results as the fused
// CUDA-core kernels (attention_forward_fused, attention_backward_fused_dq/_dkv) with the products done by
// WMMA (nvcuda::wmma, m16n16k16, bf16 operands, fp32 accumulators), and the same grouped-query layout (separate
// q, k, v pointers with row strides, query head h reading kv head h / (NH/NKV): GPT-2's packed qkv (B,T,3C) or
// Llama's q, k, v). The fp32 q, k, v and dout are rounded to bf16 as their tiles are staged into shared
// memory; no extra global buffer. Softmax statistics, lse, D = rowsum(dO o O) and every accumulator stay fp32.
// The _bf16 entry points take q, k, v and out in bf16 (bf16 activation storage): those tiles are copied into
// shared memory as they are, out is written rounded to bf16 and read back widened for D; the results are the
// fp32 entry points' given the same bf16 values as fp32 (out rounded to bf16). Shared memory is the same.
//
// Layout rules we rely on (CUDA's WMMA contract, checked by the host emulation's mma.h in tests):
// fragment pointers 256-bit (32-byte) aligned, ldm a multiple of 8 bf16 / 4 floats, every lane of the warp
// in every wmma call, and NO assumption about which lane holds which element of a fragment: elementwise
// work on S, P, dP and the rescaling of O go through shared memory (store_matrix_sync, lanes, load).
//
// Head sizes: any hs <= 64, computed as D = 16, 32 or 64 (the next one up) with the extra channels zero in
// shared memory (zeros add nothing to q.k, and the extra output channels are never written). Not 128: with
// D = 128 the dq and dkv kernels need more than 255 registers (ptxas spills: 2 x 8 accumulator fragments
// plus the operands), which the build refuses; hs > 64 takes the CUDA-core fused kernels (GPT-2's hs is 64).
// One kernel serves the three D (a switch on hs): ptxas sizes it for D 64 (126-168 registers per thread
// by kernel and architecture with nvcc 13.0, no spills; docs/gpu.md).
//
// Work per (query tile of 64, head, batch) block, 4 warps of 16 rows:
//   forward: S = Q K^T (16 x 64 per warp per key tile), online softmax per row (two lanes per row, in
//   shared memory), P (bf16) V accumulated into O fragments, O rescaled through shared memory on
//   the key tiles where a row's maximum moved.
//   FLOPs per (b, h): about 2 * 2 * T^2/2 * D for the two products over the causal half (+ the diagonal
//   tiles' masked half); bytes from global: Q once, K and V once per query tile that reaches them, i.e.
//   about T/64/2 reads of K and V per head: for GPT-2 (T 1024, D 64) ~8 x 2 x 256 KiB per (b, h) from L2.
//   backward: two kernels without atomics (see below), 7 products of the causal half in all instead of the
//   5 a single key-centric kernel with atomicAdd on dQ would need: we take the 40% more tensor-core work
//   for a fixed summation order (bit-identical reruns, like the CUDA-core fused pair) and no contention on
//   fp32 atomics into dqkv; at hs 64 we expect staging and the softmax, not the products, to set the pace
//   (an estimate: nothing here has been timed on a GPU).
// Shared memory per block (bytes; the launches in CudaBackend use these formulas): forward
// 256(D+8) + 27392 (44.75 KiB at D 64), dq 256(D+8) + 32256 (49.5 KiB), dkv 384(D+8) + 19712 (46.25 KiB):
// 3-4 blocks per SM on A100/H100. Above 48 KiB the launch needs the opt-in attribute, which CudaContext
// sets for these kernels. Nothing here has run on a GPU: no speed is claimed.
#include "common.cuh"
#include <cuda_bf16.h>
#include <mma.h>

namespace jg_tc {
using namespace nvcuda;
typedef __nv_bfloat16 bf16;

constexpr int WARPS = 4;    // 16 rows each
constexpr int ROWS = 64;    // query rows (forward, dq) or keys (dkv) per block
constexpr int KEYS = 64;    // keys per tile (forward, dq)
constexpr int QT = 32;      // queries per tile (dkv)
constexpr int LF = KEYS + 4, LP = KEYS + 8;    // row strides (floats / bf16) of S/P per warp (forward, dq)
constexpr int LFQ = QT + 4, LPQ = QT + 8;      // the same for dkv's 16 x 32 tiles
constexpr int LX = 20;                         // 16 x 16 fp32 scratch per warp
constexpr float LOG2E = 1.4426950408889634f, LN2 = 0.6931471805599453f;

typedef wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> FragA;
typedef wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> FragBRow;
typedef wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> FragBCol;
typedef wmma::fragment<wmma::accumulator, 16, 16, 16, float> FragC;

// A unit of dynamic shared memory whose alignment the compiler keeps (the fragments need 32 bytes).
struct __align__(128) SmemUnit {
    float v[32];
};

// Block-wide: rows r0 .. r0+n-1 of src (row stride `stride` floats, hs channels) into dst (n x D bf16, row
// stride D + 8), zeros for rows >= T and channels >= hs. 16-byte loads where hs, the stride and src allow
// (the packed qkv and dout of any hs % 4 == 0 from an arena), else 4-byte ones; the choice is block-uniform.
template <int D>
__device__ __forceinline__ void stage(bf16* dst, const float* src, long long stride, int r0, int n, int T, int hs) {
    if (hs % 4 == 0 && stride % 4 == 0 && ((unsigned long long)src & 15) == 0) {
        for (int idx = threadIdx.x; idx < n * (D / 4); idx += blockDim.x) {
            const int row = idx / (D / 4), col = (idx % (D / 4)) * 4, t = r0 + row;
            float4 v = {0.0f, 0.0f, 0.0f, 0.0f};
            if (t < T && col < hs) v = *reinterpret_cast<const float4*>(src + (long long)t * stride + col);
            bf16* d = dst + row * (D + 8) + col;
            d[0] = __float2bfloat16_rn(v.x);
            d[1] = __float2bfloat16_rn(v.y);
            d[2] = __float2bfloat16_rn(v.z);
            d[3] = __float2bfloat16_rn(v.w);
        }
        return;
    }
    for (int idx = threadIdx.x; idx < n * D; idx += blockDim.x) {
        const int row = idx / D, col = idx % D, t = r0 + row;
        const float v = (t < T && col < hs) ? src[(long long)t * stride + col] : 0.0f;
        dst[row * (D + 8) + col] = __float2bfloat16_rn(v);
    }
}

// The same from a bf16 src (row stride `stride` bf16), copied as it is: 16-byte loads of 8 channels where hs % 8,
// the stride % 8 and src allow (D is a multiple of 16 and rows of D + 8 bf16 keep dst 16-byte aligned), else 2-byte ones.
template <int D>
__device__ __forceinline__ void stage(bf16* dst, const bf16* src, long long stride, int r0, int n, int T, int hs) {
    if (hs % 8 == 0 && stride % 8 == 0 && ((unsigned long long)src & 15) == 0) {
        for (int idx = threadIdx.x; idx < n * (D / 8); idx += blockDim.x) {
            const int row = idx / (D / 8), col = (idx % (D / 8)) * 8, t = r0 + row;
            uint4 v = {0u, 0u, 0u, 0u};  // eight bf16 zeros
            if (t < T && col < hs) v = *reinterpret_cast<const uint4*>(src + (long long)t * stride + col);
            *reinterpret_cast<uint4*>(dst + row * (D + 8) + col) = v;
        }
        return;
    }
    const bf16 zero = __float2bfloat16_rn(0.0f);
    for (int idx = threadIdx.x; idx < n * D; idx += blockDim.x) {
        const int row = idx / D, col = idx % D, t = r0 + row;
        dst[row * (D + 8) + col] = (t < T && col < hs) ? src[(long long)t * stride + col] : zero;
    }
}

// Warp-wide: adds (or writes, add = false) scale * acc to the 16 x 16 block of global rows row0.. (row stride
// `stride`), columns col0.. < hs, rows < T, through the warp's scratch (the fragment's layout is unspecified).
// E float, or bf16 for the forward's out (written, rounded once).
template <typename E>
__device__ __forceinline__ void write_fragment(E* dst, long long stride, int row0, int col0, int T, int hs,
                                               const FragC& acc, float* scratch, const float* row_scale, bool add) {
    const int lane = threadIdx.x % JG_WARP;
    wmma::store_matrix_sync(scratch, acc, LX, wmma::mem_row_major);
    __syncwarp();
    for (int e = lane; e < 256; e += JG_WARP) {
        const int r = e / 16, c = e % 16, t = row0 + r, col = col0 + c;
        if (t < T && col < hs) {
            const float v = scratch[r * LX + c] * row_scale[r];
            E* p = dst + (long long)t * stride + col;
            jg_store(p, (add ? jg_load(p) : 0.0f) + v);  // 0 + v: the value a zeroed output would get (-0 becomes +0)
        }
    }
    __syncwarp();
}

// Warp-wide (forward and dq): S of the warp's 16 query rows x KEYS keys = Q K^T, Q in the fragments qf, K the
// staged tile (KEYS x D bf16, row stride D + 8: row-major K is K^T in column-major), stored fp32 to Fw (row stride LF).
template <int D>
__device__ __forceinline__ void scores_to_shared(float* Fw, const FragA (&qf)[D / 16], const bf16* Ks) {
    constexpr int LD = D + 8;
    FragC s[KEYS / 16];
#pragma unroll
    for (int n = 0; n < KEYS / 16; n++) wmma::fill_fragment(s[n], 0.0f);
#pragma unroll
    for (int d = 0; d < D / 16; d++) {
#pragma unroll
        for (int n = 0; n < KEYS / 16; n++) {
            FragBCol kb;
            wmma::load_matrix_sync(kb, Ks + n * 16 * LD + d * 16, LD);
            wmma::mma_sync(s[n], qf[d], kb, s[n]);
        }
    }
#pragma unroll
    for (int n = 0; n < KEYS / 16; n++) wmma::store_matrix_sync(Fw + n * 16, s[n], LF, wmma::mem_row_major);
}

// ---- forward -----------------------------------------------------------------------------------------

template <int D, typename E>
__device__ void forward(E* out, float* lse, const E* q, const E* k, const E* v, int B, int T, int NH, int NKV,
                        int hs, int qs, int kvs) {
    JG_DYNAMIC_SHARED(SmemUnit, jg_tcf_smem);
    constexpr int LD = D + 8;
    const int warp = threadIdx.x / JG_WARP, lane = threadIdx.x % JG_WARP;
    const int h = blockIdx.y, b = blockIdx.z;
    const int q0 = (gridDim.x - 1 - blockIdx.x) * ROWS;  // the longest (last) query tiles first
    const int C = NH * hs, hk = h / (NH / NKV);
    const E* qb = q + (long long)b * T * qs + (long long)h * hs;
    const E* kb = k + (long long)b * T * kvs + (long long)hk * hs;
    const E* vb = v + (long long)b * T * kvs + (long long)hk * hs;
    bf16* Ks = reinterpret_cast<bf16*>(jg_tcf_smem);
    bf16* Vs = Ks + KEYS * LD;
    float* Fw = reinterpret_cast<float*>(Vs + KEYS * LD) + warp * 16 * LF;  // this warp's S (16 x 64), then scratch
    bf16* Pw = reinterpret_cast<bf16*>(reinterpret_cast<float*>(Vs + KEYS * LD) + WARPS * 16 * LF) + warp * 16 * LP;
    float* stats = reinterpret_cast<float*>(Pw - warp * 16 * LP + WARPS * 16 * LP) + warp * 48;
    float *mrow = stats, *lrow = stats + 16, *crow = stats + 32;  // running max (log2 units), sum, this tile's factor
    const float sl2 = LOG2E / sqrtf((float)hs);

    // Q through the K buffer into fragments (registers) for the whole block's life
    stage<D>(Ks, qb, qs, q0, ROWS, T, hs);
    __syncthreads();
    FragA qf[D / 16];
#pragma unroll
    for (int d = 0; d < D / 16; d++) wmma::load_matrix_sync(qf[d], Ks + warp * 16 * LD + d * 16, LD);
    FragC of[D / 16];
#pragma unroll
    for (int d = 0; d < D / 16; d++) wmma::fill_fragment(of[d], 0.0f);
    if (lane < 16) {
        mrow[lane] = -CUDART_INF_F;
        lrow[lane] = 0.0f;
    }
    const int r = lane >> 1, half = lane & 1;  // softmax: two lanes per row, 32 alternate columns each
    const int i = q0 + warp * 16 + r;
    const int last = min(T, q0 + ROWS) - 1;    // causal: no key beyond the tile's last row
    for (int k0 = 0; k0 <= last; k0 += KEYS) {
        __syncthreads();  // everyone is done with the previous K/V (and with Q in Ks)
        stage<D>(Ks, kb, kvs, k0, KEYS, T, hs);
        stage<D>(Vs, vb, kvs, k0, KEYS, T, hs);
        __syncthreads();
        scores_to_shared<D>(Fw, qf, Ks);  // S = Q K^T
        __syncwarp();
        // the row's two lanes take alternate columns (2c + half): 2-way shared-memory bank conflicts, not 4-way
        float* srow = Fw + r * LF + half;
        bf16* prow = Pw + r * LP + half;
        float mx = -CUDART_INF_F;
        for (int c = 0; c < 64; c += 2) {
            const int j = k0 + c + half;
            const float v = (j <= i && j < T) ? srow[c] * sl2 : -CUDART_INF_F;
            srow[c] = v;
            mx = fmaxf(mx, v);
        }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        const float mold = mrow[r];
        const float mnew = fmaxf(mold, mx);  // finite: key k0 <= every row of this tile reaches it (k0 <= q0)
        float sum = 0.0f;
        for (int c = 0; c < 64; c += 2) {
            const float p = exp2f(srow[c] - mnew);
            sum += p;
            prow[c] = __float2bfloat16_rn(p);
        }
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        const float corr = exp2f(mold - mnew);  // 0 on the first tile (mold = -inf)
        __syncwarp();                           // both lanes of the row have read mrow[r]
        if (half == 0) {
            mrow[r] = mnew;
            lrow[r] = lrow[r] * corr + sum;
            crow[r] = corr;
        }
        __syncwarp();
        // whether any row's maximum moved (warp-uniform): once the maxima settle, O needs no rescaling
        const bool rescale = jg_warp_max(corr == 1.0f ? 0.0f : 1.0f) != 0.0f;
        FragA pf[KEYS / 16];
#pragma unroll
        for (int kk = 0; kk < KEYS / 16; kk++) wmma::load_matrix_sync(pf[kk], Pw + kk * 16, LP);
#pragma unroll
        for (int d = 0; d < D / 16; d++) {
            if (rescale) {  // O *= corr per row, through shared memory (Fw's S is dead: P is in Pw)
                wmma::store_matrix_sync(Fw, of[d], LX, wmma::mem_row_major);
                __syncwarp();
                for (int e = lane; e < 256; e += JG_WARP) Fw[(e / 16) * LX + e % 16] *= crow[e / 16];
                __syncwarp();
                wmma::load_matrix_sync(of[d], Fw, LX, wmma::mem_row_major);
                __syncwarp();
            }
#pragma unroll
            for (int kk = 0; kk < KEYS / 16; kk++) {
                FragBRow vb;
                wmma::load_matrix_sync(vb, Vs + kk * 16 * LD + d * 16, LD);
                wmma::mma_sync(of[d], pf[kk], vb, of[d]);
            }
        }
    }
    // out = O / l; lse = ln(sum exp(scaled scores)) = m ln2 + ln l
    if (lane < 16) crow[lane] = 1.0f / lrow[lane];
    __syncwarp();
    E* o = out + (long long)b * T * C + (long long)h * hs;
#pragma unroll
    for (int d = 0; d < D / 16; d++) write_fragment(o, C, q0 + warp * 16, d * 16, T, hs, of[d], Fw, crow, false);
    const int t = q0 + warp * 16 + lane;
    if (lse != nullptr && lane < 16 && t < T) lse[((long long)b * NH + h) * T + t] = mrow[lane] * LN2 + logf(lrow[lane]);
}

// ---- backward: query-centric dQ (and D) ------------------------------------------------------------

// GradT: the type of dout and dq (float, or bf16 for the _bf16_grads entry points), deduced from the arguments.
template <int D, typename E, typename GradT>
__device__ void backward_dq(GradT* dq_out, float* delta, const GradT* dout, const E* q, const E* k, const E* v,
                            const E* out, const float* lse, int B, int T, int NH, int NKV, int hs, int qs, int kvs, int accumulate) {
    JG_DYNAMIC_SHARED(SmemUnit, jg_tcq_smem);
    constexpr int LD = D + 8;
    const int warp = threadIdx.x / JG_WARP, lane = threadIdx.x % JG_WARP;
    const int h = blockIdx.y, b = blockIdx.z;
    const int q0 = (gridDim.x - 1 - blockIdx.x) * ROWS;
    const int C = NH * hs, hk = h / (NH / NKV);
    const E* qb = q + (long long)b * T * qs + (long long)h * hs;
    const E* kb = k + (long long)b * T * kvs + (long long)hk * hs;
    const E* vb = v + (long long)b * T * kvs + (long long)hk * hs;
    const GradT* g = dout + (long long)b * T * C + (long long)h * hs;
    const E* ob = out + (long long)b * T * C + (long long)h * hs;
    bf16* Ks = reinterpret_cast<bf16*>(jg_tcq_smem);
    bf16* Vs = Ks + KEYS * LD;
    float* F = reinterpret_cast<float*>(Vs + KEYS * LD);
    bf16* P = reinterpret_cast<bf16*>(F + WARPS * 16 * LF);
    float* X = reinterpret_cast<float*>(P + WARPS * 16 * LP);
    float* stats = X + WARPS * 16 * LX;
    float* Fw = F + warp * 16 * LF;   // S, then P (fp32)
    bf16* Pw = P + warp * 16 * LP;    // dS (bf16)
    float* Xw = X + warp * 16 * LX;   // 16 x 16 scratch: a chunk of dP, then dQ on the way out
    float* lrow = stats + warp * 32;  // lse in log2 units (+inf for rows >= T: P = 0)
    float* drow = lrow + 16;          // D_i
    const float scale = 1.0f / sqrtf((float)hs), sl2 = scale * LOG2E;
    const long long rows = ((long long)b * NH + h) * T;

    const int r = lane >> 1, half = lane & 1;
    const int i = q0 + warp * 16 + r;
    {  // D_i = dO_i . O_i in fp32 from global memory (two lanes per row)
        float s = 0.0f;
        if (i < T)
            for (int c = half; c < hs; c += 2) s += jg_load(&g[(long long)i * C + c]) * jg_load(&ob[(long long)i * C + c]);
        s += __shfl_xor_sync(0xffffffffu, s, 1);
        if (half == 0) {
            drow[r] = s;
            lrow[r] = i < T ? lse[rows + i] * LOG2E : CUDART_INF_F;
            if (i < T) delta[rows + i] = s;
        }
    }
    // Q and dO through the K and V buffers into fragments
    stage<D>(Ks, qb, qs, q0, ROWS, T, hs);
    stage<D>(Vs, g, C, q0, ROWS, T, hs);
    __syncthreads();
    FragA qf[D / 16], gf[D / 16];
#pragma unroll
    for (int d = 0; d < D / 16; d++) {
        wmma::load_matrix_sync(qf[d], Ks + warp * 16 * LD + d * 16, LD);
        wmma::load_matrix_sync(gf[d], Vs + warp * 16 * LD + d * 16, LD);
    }
    FragC dq[D / 16];
#pragma unroll
    for (int d = 0; d < D / 16; d++) wmma::fill_fragment(dq[d], 0.0f);
    const int last = min(T, q0 + ROWS) - 1;
    for (int k0 = 0; k0 <= last; k0 += KEYS) {
        __syncthreads();
        stage<D>(Ks, kb, kvs, k0, KEYS, T, hs);
        stage<D>(Vs, vb, kvs, k0, KEYS, T, hs);
        __syncthreads();
        scores_to_shared<D>(Fw, qf, Ks);  // S = Q K^T
        __syncwarp();
        {  // P = exp(scaled S - lse), masked, in place (fp32)
            float* srow = Fw + r * LF + half;  // alternate columns, as in the forward
            const float L = lrow[r];
            for (int c = 0; c < 64; c += 2) {
                const int j = k0 + c + half;
                srow[c] = (j <= i && j < T) ? exp2f(srow[c] * sl2 - L) : 0.0f;
            }
        }
        __syncwarp();
#pragma unroll
        for (int n = 0; n < KEYS / 16; n++) {  // dP = dO V^T, 16 keys at a time; dS = P (dP - D) as bf16
            FragC dp;
            wmma::fill_fragment(dp, 0.0f);
#pragma unroll
            for (int d = 0; d < D / 16; d++) {
                FragBCol vb;
                wmma::load_matrix_sync(vb, Vs + n * 16 * LD + d * 16, LD);
                wmma::mma_sync(dp, gf[d], vb, dp);
            }
            wmma::store_matrix_sync(Xw, dp, LX, wmma::mem_row_major);
            __syncwarp();
            for (int e = lane; e < 256; e += JG_WARP) {
                const int rr = e / 16, c = e % 16;
                Pw[rr * LP + n * 16 + c] = __float2bfloat16_rn(Fw[rr * LF + n * 16 + c] * (Xw[rr * LX + c] - drow[rr]));
            }
            __syncwarp();
        }
        // dQ += dS K: K (keys x D, row-major) as the right operand
#pragma unroll
        for (int kk = 0; kk < KEYS / 16; kk++) {
            FragA ds;
            wmma::load_matrix_sync(ds, Pw + kk * 16, LP);
#pragma unroll
            for (int d = 0; d < D / 16; d++) {
                FragBRow kb;
                wmma::load_matrix_sync(kb, Ks + kk * 16 * LD + d * 16, LD);
                wmma::mma_sync(dq[d], ds, kb, dq[d]);
            }
        }
    }
    if (lane < 16) drow[lane] = scale;  // D is no longer needed: reuse as the row factor
    __syncwarp();
    GradT* dqp = dq_out + (long long)b * T * qs + (long long)h * hs;
#pragma unroll
    for (int d = 0; d < D / 16; d++) write_fragment(dqp, qs, q0 + warp * 16, d * 16, T, hs, dq[d], Xw, drow, accumulate != 0);
}

// ---- backward: key-centric dK, dV ---------------------------------------------------------------------

template <int D, typename E, typename GradT>
__device__ void backward_dkv(GradT* dk_out, GradT* dv_out, const GradT* dout, const E* q, const E* k, const E* v,
                             const float* lse, const float* delta, int B, int T, int NH, int NKV, int hs, int qs, int kvs, int accumulate) {
    JG_DYNAMIC_SHARED(SmemUnit, jg_tck_smem);
    constexpr int LD = D + 8;
    const int warp = threadIdx.x / JG_WARP, lane = threadIdx.x % JG_WARP;
    const int hk = blockIdx.y, b = blockIdx.z;  // a kv head: dK, dV sum over the G query heads that read it
    const int j0 = blockIdx.x * ROWS;  // the first key tiles see the most queries: they start first
    const int C = NH * hs, G = NH / NKV;
    const long long kvrow = (long long)b * T * kvs + (long long)hk * hs;
    bf16* Ks = reinterpret_cast<bf16*>(jg_tck_smem);
    bf16* Vs = Ks + ROWS * LD;
    bf16* Qs = Vs + ROWS * LD;
    bf16* Gs = Qs + QT * LD;
    float* F = reinterpret_cast<float*>(Gs + QT * LD);
    bf16* P = reinterpret_cast<bf16*>(F + WARPS * 16 * LFQ);
    float* X = reinterpret_cast<float*>(P + WARPS * 16 * LPQ);
    float* lq = X + WARPS * 16 * LX;  // per query of the tile: lse (log2 units), D
    float* dq_ = lq + QT;
    float* Fw = F + warp * 16 * LFQ;  // S^T (16 keys x 32 queries), then P^T (fp32)
    bf16* Pw = P + warp * 16 * LPQ;   // P^T (bf16), then dS^T
    float* Xw = X + warp * 16 * LX;
    const bf16* Kw = Ks + warp * 16 * LD;
    const bf16* Vw = Vs + warp * 16 * LD;
    const float scale = 1.0f / sqrtf((float)hs), sl2 = scale * LOG2E;

    stage<D>(Ks, k + kvrow, kvs, j0, ROWS, T, hs);
    stage<D>(Vs, v + kvrow, kvs, j0, ROWS, T, hs);
    FragC dk[D / 16], dv[D / 16];
#pragma unroll
    for (int d = 0; d < D / 16; d++) {
        wmma::fill_fragment(dk[d], 0.0f);
        wmma::fill_fragment(dv[d], 0.0f);
    }
    const int r = lane >> 1, half = lane & 1;  // two lanes per key row, 16 alternate queries each
    const int j = j0 + warp * 16 + r;
    for (int h = hk * G; h < (hk + 1) * G; h++) {  // the group's query heads in order: a fixed summation order
    const long long rows = ((long long)b * NH + h) * T;
    const E* qb = q + (long long)b * T * qs + (long long)h * hs;
    const GradT* g = dout + (long long)b * T * C + (long long)h * hs;
    for (int i0 = j0; i0 < T; i0 += QT) {  // causal: queries i >= j only
        __syncthreads();  // also: the previous head's last tile is done with Qs, Gs, lq, dq_
        stage<D>(Qs, qb, qs, i0, QT, T, hs);
        stage<D>(Gs, g, C, i0, QT, T, hs);
        for (int c = threadIdx.x; c < QT; c += blockDim.x) {
            const int i = i0 + c;
            lq[c] = i < T ? lse[rows + i] * LOG2E : CUDART_INF_F;
            dq_[c] = i < T ? delta[rows + i] : 0.0f;
        }
        __syncthreads();
        {  // S^T = K Q^T (16 keys x 32 queries)
            FragC s[QT / 16];
#pragma unroll
            for (int n = 0; n < QT / 16; n++) wmma::fill_fragment(s[n], 0.0f);
#pragma unroll
            for (int d = 0; d < D / 16; d++) {
                FragA ka;
                wmma::load_matrix_sync(ka, Kw + d * 16, LD);
#pragma unroll
                for (int n = 0; n < QT / 16; n++) {
                    FragBCol qb;
                    wmma::load_matrix_sync(qb, Qs + n * 16 * LD + d * 16, LD);
                    wmma::mma_sync(s[n], ka, qb, s[n]);
                }
            }
#pragma unroll
            for (int n = 0; n < QT / 16; n++) wmma::store_matrix_sync(Fw + n * 16, s[n], LFQ, wmma::mem_row_major);
        }
        __syncwarp();
        {  // P^T, masked (i >= j, i < T, j < T), fp32 in place and bf16 for dV
            float* srow = Fw + r * LFQ + half;  // alternate columns, as in the forward
            bf16* prow = Pw + r * LPQ + half;
            for (int c = 0; c < 32; c += 2) {
                const int q = c + half, i = i0 + q;
                const float p = (i >= j && i < T && j < T) ? exp2f(srow[c] * sl2 - lq[q]) : 0.0f;
                srow[c] = p;
                prow[c] = __float2bfloat16_rn(p);
            }
        }
        __syncwarp();
        {  // dV += P^T dO
            FragA pa[QT / 16];
#pragma unroll
            for (int kk = 0; kk < QT / 16; kk++) wmma::load_matrix_sync(pa[kk], Pw + kk * 16, LPQ);
#pragma unroll
            for (int d = 0; d < D / 16; d++) {
#pragma unroll
                for (int kk = 0; kk < QT / 16; kk++) {
                    FragBRow gb;
                    wmma::load_matrix_sync(gb, Gs + kk * 16 * LD + d * 16, LD);
                    wmma::mma_sync(dv[d], pa[kk], gb, dv[d]);
                }
            }
        }
        __syncwarp();  // every lane has its P^T fragments before dS^T overwrites Pw
#pragma unroll
        for (int n = 0; n < QT / 16; n++) {  // dP^T = V dO^T, 16 queries at a time; dS^T = P^T (dP^T - D)
            FragC dp;
            wmma::fill_fragment(dp, 0.0f);
#pragma unroll
            for (int d = 0; d < D / 16; d++) {
                FragA va;
                wmma::load_matrix_sync(va, Vw + d * 16, LD);
                FragBCol gb;
                wmma::load_matrix_sync(gb, Gs + n * 16 * LD + d * 16, LD);
                wmma::mma_sync(dp, va, gb, dp);
            }
            wmma::store_matrix_sync(Xw, dp, LX, wmma::mem_row_major);
            __syncwarp();
            for (int e = lane; e < 256; e += JG_WARP) {
                const int rr = e / 16, c = e % 16;
                Pw[rr * LPQ + n * 16 + c] = __float2bfloat16_rn(Fw[rr * LFQ + n * 16 + c] * (Xw[rr * LX + c] - dq_[n * 16 + c]));
            }
            __syncwarp();
        }
        {  // dK += dS^T Q
#pragma unroll
            for (int kk = 0; kk < QT / 16; kk++) {
                FragA ds;
                wmma::load_matrix_sync(ds, Pw + kk * 16, LPQ);
#pragma unroll
                for (int d = 0; d < D / 16; d++) {
                    FragBRow qb;
                    wmma::load_matrix_sync(qb, Qs + kk * 16 * LD + d * 16, LD);
                    wmma::mma_sync(dk[d], ds, qb, dk[d]);
                }
            }
        }
    }
    }  // heads of the group
    float* fk = Fw;  // the warp's F is free: row factors for the write-out (scale for dK, 1 for dV)
    __syncwarp();
    if (lane < 16) {
        fk[lane] = scale;
        fk[16 + lane] = 1.0f;
    }
    __syncwarp();
#pragma unroll
    for (int d = 0; d < D / 16; d++) {
        write_fragment(dk_out + kvrow, kvs, j0 + warp * 16, d * 16, T, hs, dk[d], Xw, fk, accumulate != 0);
        write_fragment(dv_out + kvrow, kvs, j0 + warp * 16, d * 16, T, hs, dv[d], Xw, fk + 16, accumulate != 0);
    }
}
}  // namespace jg_tc

// hs <= 64 runs as the next D of 16, 32, 64; the launch (CudaBackend) sizes shared memory for that D.
// E: float, or bf16 for the _bf16 entry points (q, k, v and out in bf16).
#define JG_TC_DISPATCH(fn, E, args)               \
    do {                                          \
        if (hs <= 16) jg_tc::fn<16, E> args;      \
        else if (hs <= 32) jg_tc::fn<32, E> args; \
        else if (hs <= 64) jg_tc::fn<64, E> args; \
    } while (0)

// Grouped-query layout as attention_forward_fused (attention.cu): q rows q_stride floats apart, k and v rows
// kv_stride apart, query head h reading kv head h / (NH/NKV); out and dout (B,T,NH*hs). GPT-2 passes its packed
// qkv (B,T,3C) as q = qkv, k = qkv+C, v = qkv+2C with both strides 3C and NKV = NH.
// grid (ceil(T / 64), NH, B), 128 threads; out (B,T,NH*hs), lse (B,NH,T) (may be null).
extern "C" __global__ __launch_bounds__(128) void attention_flash_tc_forward(float* out, float* lse, const float* q,
                                                                            const float* k, const float* v, int B, int T,
                                                                            int NH, int NKV, int hs, int q_stride,
                                                                            int kv_stride) {
    JG_TC_DISPATCH(forward, float, (out, lse, q, k, v, B, T, NH, NKV, hs, q_stride, kv_stride));
}

// grid (ceil(T / 64), NH, B), 128 threads: dq += dQ, delta (B,NH,T) = D_i. Runs before _dkv.
extern "C" __global__ __launch_bounds__(128) void attention_flash_tc_backward_dq(float* dq, float* delta, const float* dout,
                                                                                const float* q, const float* k,
                                                                                const float* v, const float* out,
                                                                                const float* lse, int B, int T, int NH,
                                                                                int NKV, int hs, int q_stride,
                                                                                int kv_stride, int accumulate) {
    JG_TC_DISPATCH(backward_dq, float, (dq, delta, dout, q, k, v, out, lse, B, T, NH, NKV, hs, q_stride, kv_stride, accumulate));
}

// grid (ceil(T / 64), NKV, B), 128 threads: dk, dv += dK, dV of a kv head, summed over its NH/NKV query heads in
// order (reads delta from _dq).
extern "C" __global__ __launch_bounds__(128) void attention_flash_tc_backward_dkv(float* dk, float* dv, const float* dout,
                                                                                 const float* q, const float* k,
                                                                                 const float* v, const float* lse,
                                                                                 const float* delta, int B, int T, int NH,
                                                                                 int NKV, int hs, int q_stride,
                                                                                 int kv_stride, int accumulate) {
    JG_TC_DISPATCH(backward_dkv, float, (dk, dv, dout, q, k, v, lse, delta, B, T, NH, NKV, hs, q_stride, kv_stride, accumulate));
}

// The three with q, k, v and out in bf16 (bf16 activation storage): the same grids, threads and shared memory;
// lse, delta, dout, dq, dk and dv fp32. Strides in elements.
// The dkv kernel's (128, 3): left to itself, ptxas (nvcc 13.0, sm_90a) sizes the bf16 dkv for 128 registers, as it
// does the fp32 one, and then spills a word (which the build refuses); at least 3 blocks per SM lets it take 166
// (sm_80 and sm_90a) without spilling, one block per SM fewer than the fp32 dkv's 4 on sm_90a (untimed).
extern "C" __global__ __launch_bounds__(128) void attention_flash_tc_forward_bf16(__nv_bfloat16* out, float* lse,
                                                                                 const __nv_bfloat16* q,
                                                                                 const __nv_bfloat16* k,
                                                                                 const __nv_bfloat16* v, int B, int T,
                                                                                 int NH, int NKV, int hs, int q_stride,
                                                                                 int kv_stride) {
    JG_TC_DISPATCH(forward, __nv_bfloat16, (out, lse, q, k, v, B, T, NH, NKV, hs, q_stride, kv_stride));
}

extern "C" __global__ __launch_bounds__(128) void attention_flash_tc_backward_dq_bf16(float* dq, float* delta,
                                                                                     const float* dout,
                                                                                     const __nv_bfloat16* q,
                                                                                     const __nv_bfloat16* k,
                                                                                     const __nv_bfloat16* v,
                                                                                     const __nv_bfloat16* out,
                                                                                     const float* lse, int B, int T,
                                                                                     int NH, int NKV, int hs,
                                                                                     int q_stride, int kv_stride, int accumulate) {
    JG_TC_DISPATCH(backward_dq, __nv_bfloat16, (dq, delta, dout, q, k, v, out, lse, B, T, NH, NKV, hs, q_stride, kv_stride, accumulate));
}

extern "C" __global__ __launch_bounds__(128, 3) void attention_flash_tc_backward_dkv_bf16(float* dk, float* dv,
                                                                                      const float* dout,
                                                                                      const __nv_bfloat16* q,
                                                                                      const __nv_bfloat16* k,
                                                                                      const __nv_bfloat16* v,
                                                                                      const float* lse,
                                                                                      const float* delta, int B, int T,
                                                                                      int NH, int NKV, int hs,
                                                                                      int q_stride, int kv_stride, int accumulate) {
    JG_TC_DISPATCH(backward_dkv, __nv_bfloat16, (dk, dv, dout, q, k, v, lse, delta, B, T, NH, NKV, hs, q_stride, kv_stride, accumulate));
}

// The backward pair with the gradients in bf16 too: dout, dq, dk and dv bf16 (GPT-2's d(attention output) and dqkv in
// bf16 mode), added to in fp32 and rounded once as they are written; dO tiles are copied into shared memory as they
// are. lse and delta stay fp32. The same grids, threads, shared memory and launch bounds as the _bf16 pair.
extern "C" __global__ __launch_bounds__(128) void attention_flash_tc_backward_dq_bf16_grads(__nv_bfloat16* dq, float* delta,
                                                                                           const __nv_bfloat16* dout,
                                                                                           const __nv_bfloat16* q,
                                                                                           const __nv_bfloat16* k,
                                                                                           const __nv_bfloat16* v,
                                                                                           const __nv_bfloat16* out,
                                                                                           const float* lse, int B, int T,
                                                                                           int NH, int NKV, int hs,
                                                                                           int q_stride, int kv_stride, int accumulate) {
    JG_TC_DISPATCH(backward_dq, __nv_bfloat16, (dq, delta, dout, q, k, v, out, lse, B, T, NH, NKV, hs, q_stride, kv_stride, accumulate));
}

extern "C" __global__ __launch_bounds__(128, 3) void attention_flash_tc_backward_dkv_bf16_grads(__nv_bfloat16* dk,
                                                                                            __nv_bfloat16* dv,
                                                                                            const __nv_bfloat16* dout,
                                                                                            const __nv_bfloat16* q,
                                                                                            const __nv_bfloat16* k,
                                                                                            const __nv_bfloat16* v,
                                                                                            const float* lse,
                                                                                            const float* delta, int B,
                                                                                            int T, int NH, int NKV, int hs,
                                                                                            int q_stride, int kv_stride, int accumulate) {
    JG_TC_DISPATCH(backward_dkv, __nv_bfloat16, (dk, dv, dout, q, k, v, lse, delta, B, T, NH, NKV, hs, q_stride, kv_stride, accumulate));
}
