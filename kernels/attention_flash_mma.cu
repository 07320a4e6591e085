// Causal flash attention on tensor cores, FlashAttention-2 style: the products are PTX mma.sync m16n8k16 (bf16
// operands, fp32 accumulators) on fragments whose register layout the PTX ISA documents (kernels/common.cuh), so the
// scores S, the probabilities P and dP/dS never leave registers: the online softmax works on S's accumulators where
// they are (each row's 4 lanes meet with two shuffles), and P, rounded to bf16 pairs, is the A operand of P V as it
// is. K, V, Q and dO tiles reach shared memory by cp.async (bf16 inputs; double-buffered: the next tile streams in
// while the current one is multiplied) and registers by ldmatrix (.trans for the operands read along keys or
// queries). The WMMA kernels (attention_flash_tc.cu) compute the same with S, P and the O rescaling staged through
// shared memory, which measured 33-44 TFLOP/s on an H200 (docs/PERFORMANCE.md); these replace them as bf16 mode's
// tensor-core attention (JGPT_CUDA_ATTENTION=fused-wmma runs the old ones).
//
// Contract, grids, element types and entry-point signatures are attention_flash_tc.cu's: separate q, k, v pointers
// with row strides (GPT-2's packed qkv, or Llama's q, k, v), query head h reading kv head h / (NH/NKV); out and dout
// (B,T,NH*hs); lse and delta (B,NH,T) fp32; fp32 inputs are rounded to bf16 as their tiles are staged (synchronously:
// no cp.async through registers). Head sizes: any hs <= 64, computed as D = 16, 32 or 64 with the extra channels zero.
//
// Work per (row tile, head, batch) block of 4 warps:
//   forward: 128 query rows, 32 per warp (two m-tiles sharing each K and V fragment); per 64-key tile, S (32 x 64 per
//   warp, 64 fp32 registers per lane), running max and sum per row in registers, O (32 x D) rescaled in registers,
//   P V accumulated into O. lse = m ln 2 + ln l.
//   backward (64 rows, 16 per warp): two kernels without atomics (a fixed summation order: bit-identical reruns), as
//   the WMMA pair:
//   _dq, query-centric, 16 keys at a time: S = Q K^T, dP = dO V^T, dS = P (dP - D), dQ += dS K;
//   _dkv, key-centric, 16 queries at a time over the group's query heads in order: S^T = K Q^T, dP^T = V dO^T,
//   dV += P^T dO, dK += dS^T Q.
// Shared memory: four (64 x (D+8)) bf16 tiles, 512(D+8) bytes (36 KiB at D 64), + 512 (dq: per-warp row statistics)
// or + 1024 (dkv: lse and delta of the two query tiles in flight); the launches use these formulas (FlashKernels.java).
// Rows of D+8 bf16 keep every row 16-byte aligned and put the 8 rows an ldmatrix reads in distinct bank groups.
#include "common.cuh"

namespace jg_fa {
typedef __nv_bfloat16 bf16;

// a tile's rows: keys (forward, dq) or queries (dkv) per step, and the backward blocks' own rows (4 warps of 16)
constexpr int ROWS = 64;
constexpr float LOG2E = 1.4426950408889634f, LN2 = 0.6931471805599453f;

// ---- tiles ----------------------------------------------------------------------------------------------------

// Block-wide: rows r0 .. r0+63 of src (row stride `stride` elements, hs channels) into dst (64 x D bf16, row stride
// D + 8), zeros for rows >= T and channels >= hs. bf16: 16-byte cp.async copies where hs, the stride and src allow
// (asynchronous: complete after the caller's commit and wait), else element by element; fp32: converted on the way.
template <int D>
__device__ __forceinline__ void load_tile(bf16* dst, const bf16* src, long long stride, int r0, int T, int hs) {
    if (hs % 8 == 0 && stride % 8 == 0 && ((unsigned long long)src & 15) == 0) {
        for (int idx = threadIdx.x; idx < ROWS * (D / 8); idx += blockDim.x) {
            const int row = idx / (D / 8), col = (idx % (D / 8)) * 8, t = r0 + row;
            const bool valid = t < T && col < hs;
            jg_cp_async16(dst + row * (D + 8) + col, valid ? src + (long long)t * stride + col : src, valid ? 16 : 0);
        }
        return;
    }
    const bf16 zero = __float2bfloat16_rn(0.0f);
    for (int idx = threadIdx.x; idx < ROWS * D; idx += blockDim.x) {
        const int row = idx / D, col = idx % D, t = r0 + row;
        dst[row * (D + 8) + col] = (t < T && col < hs) ? src[(long long)t * stride + col] : zero;
    }
}

template <int D>
__device__ __forceinline__ void load_tile(bf16* dst, const float* src, long long stride, int r0, int T, int hs) {
    if (hs % 4 == 0 && stride % 4 == 0 && ((unsigned long long)src & 15) == 0) {
        for (int idx = threadIdx.x; idx < ROWS * (D / 4); idx += blockDim.x) {
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
    for (int idx = threadIdx.x; idx < ROWS * D; idx += blockDim.x) {
        const int row = idx / D, col = idx % D, t = r0 + row;
        dst[row * (D + 8) + col] = __float2bfloat16_rn((t < T && col < hs) ? src[(long long)t * stride + col] : 0.0f);
    }
}

// ---- fragments ------------------------------------------------------------------------------------------------
// Lane l's row address for an ldmatrix.x4 over a 16 x 16 block of a tile (row stride D + 8) at (r0, c0), the four
// 8 x 8 matrices ordered (rows +0, cols +0), (rows +8, cols +0), (rows +0, cols +8), (rows +8, cols +8):
//   not transposed, the registers are an A operand of rows r0.. (a[0..3]);
//   transposed, a B operand (k = rows) for the two n-tiles c0.. and c0+8.. ({r[0], r[1]} and {r[2], r[3]}).
template <int D>
__device__ __forceinline__ const bf16* a_rows(const bf16* tile, int r0, int c0) {
    const int lane = threadIdx.x % JG_WARP, m = lane / 8;
    return tile + (r0 + (m & 1) * 8 + lane % 8) * (D + 8) + c0 + (m >> 1) * 8;
}
// ... and with the matrices ordered (rows +0, cols +0), (rows +0, cols +8), (rows +8, cols +0), (rows +8, cols +8):
// not transposed, a B operand (n = rows, k = cols: the tile's rows are the product's columns) for the n-tiles r0..
// and r0+8.. over k = c0 .. c0+15 ({r[0], r[1]} and {r[2], r[3]}).
template <int D>
__device__ __forceinline__ const bf16* b_rows(const bf16* tile, int r0, int c0) {
    const int lane = threadIdx.x % JG_WARP, m = lane / 8;
    return tile + (r0 + (m >> 1) * 8 + lane % 8) * (D + 8) + c0 + (m & 1) * 8;
}

// acc[2][4] = X (16 x D, A fragments xa) . tile rows r0 .. r0+15 transposed: 16 columns of X Y^T
template <int D>
__device__ __forceinline__ void product_xyt(float (&acc)[2][4], const uint32_t (&xa)[D / 16][4], const bf16* tile, int r0) {
#pragma unroll
    for (int n = 0; n < 2; n++)
#pragma unroll
        for (int e = 0; e < 4; e++) acc[n][e] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
        uint32_t r[4];
        jg_ldmatrix_x4(r, b_rows<D>(tile, r0, kk * 16));
        const uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
        jg_mma_bf16_16816(acc[0], xa[kk], b0);
        jg_mma_bf16_16816(acc[1], xa[kk], b1);
    }
}

// acc[D/8][4] += P (16 x 16, A fragment pa) . tile rows r0 .. r0+15 (16 x D): the k = 16 step of P Y
template <int D>
__device__ __forceinline__ void product_py(float (&acc)[D / 8][4], const uint32_t (&pa)[4], const bf16* tile, int r0) {
#pragma unroll
    for (int dp = 0; dp < D / 16; dp++) {
        uint32_t r[4];
        jg_ldmatrix_x4_trans(r, a_rows<D>(tile, r0, dp * 16));
        const uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
        jg_mma_bf16_16816(acc[2 * dp], pa, b0);
        jg_mma_bf16_16816(acc[2 * dp + 1], pa, b1);
    }
}

// The A fragment (bf16) of a 16 x 16 block whose two 16 x 8 halves are the accumulators x0 (columns 0-7) and x1,
// each value passed through f(value, half, element) first
template <typename F>
__device__ __forceinline__ void to_a(uint32_t (&a)[4], const float (&x0)[4], const float (&x1)[4], F f) {
    a[0] = jg_pack_bf16x2(f(x0[0], 0, 0), f(x0[1], 0, 1));
    a[1] = jg_pack_bf16x2(f(x0[2], 0, 2), f(x0[3], 0, 3));
    a[2] = jg_pack_bf16x2(f(x1[0], 1, 0), f(x1[1], 1, 1));
    a[3] = jg_pack_bf16x2(f(x1[2], 1, 2), f(x1[3], 1, 3));
}

// A warp's 16 x D accumulators (scaled by f[row half]) to global rows row0 + g, row0 + g + 8 (< T), columns < hs,
// written or added to (add); E float or bf16 (rounded once).
template <int D, typename E>
__device__ __forceinline__ void write_rows(E* dst, long long stride, int row0, int T, int hs, const float (&acc)[D / 8][4],
                                           float f0, float f1, bool add) {
    const int lane = threadIdx.x % JG_WARP, g = lane / 4, t = lane % 4;
#pragma unroll
    for (int n = 0; n < D / 8; n++)
#pragma unroll
        for (int e = 0; e < 4; e++) {
            const int row = row0 + g + (e >= 2 ? 8 : 0), col = n * 8 + 2 * t + (e & 1);
            if (row < T && col < hs) {
                E* p = dst + (long long)row * stride + col;
                const float v = acc[n][e] * (e >= 2 ? f1 : f0);
                jg_store(p, (add ? jg_load(p) : 0.0f) + v);  // 0 + v: the value a zeroed output would get (-0 becomes +0)
            }
        }
}

// ---- forward --------------------------------------------------------------------------------------------------
// 128 query rows per block, 32 per warp (two 16-row m-tiles): each K and V fragment read from shared memory feeds
// two mma instead of one, halving the ldmatrix traffic per product (FlashAttention-2's forward shape for hs 64).

constexpr int FWD_MT = 2;                  // 16-row m-tiles per warp
constexpr int FWD_ROWS = 4 * 16 * FWD_MT;  // query rows per block

template <int D, typename E>
__device__ void forward(E* out, float* lse, const E* q, const E* k, const E* v, int B, int T, int NH, int NKV, int hs,
                        int qs, int kvs) {
    JG_DYNAMIC_SHARED(uint4, jg_fa_fwd_smem);
    constexpr int TILE = ROWS * (D + 8), MT = FWD_MT;
    const int warp = threadIdx.x / JG_WARP, lane = threadIdx.x % JG_WARP, g = lane / 4, t = lane % 4;
    const int h = blockIdx.y, b = blockIdx.z;
    const int q0 = (gridDim.x - 1 - blockIdx.x) * FWD_ROWS;  // the longest (last) query tiles first
    const int C = NH * hs, hk = h / (NH / NKV);
    const E* qb = q + (long long)b * T * qs + (long long)h * hs;
    const E* kb = k + (long long)b * T * kvs + (long long)hk * hs;
    const E* vb = v + (long long)b * T * kvs + (long long)hk * hs;
    // buffers K0 V0 K1 V1 (TILE each); Q's 128 rows go through K1 V1, contiguous
    bf16* smem = reinterpret_cast<bf16*>(jg_fa_fwd_smem);
    const float sl2 = LOG2E / sqrtf((float)hs);
    const int w0 = q0 + warp * 16 * MT;                             // the warp's first row
    const int tiles = (min(T, q0 + FWD_ROWS) - 1) / ROWS + 1;       // causal: key tiles up to the block's last row

    load_tile<D>(smem + 2 * TILE, qb, qs, q0, T, hs);
    load_tile<D>(smem + 3 * TILE, qb, qs, q0 + ROWS, T, hs);
    load_tile<D>(smem, kb, kvs, 0, T, hs);
    load_tile<D>(smem + TILE, vb, kvs, 0, T, hs);
    jg_cp_async_commit();
    jg_cp_async_wait<0>();
    __syncthreads();
    uint32_t qa[MT][D / 16][4];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++) jg_ldmatrix_x4(qa[mt][kk], a_rows<D>(smem + 2 * TILE, warp * 16 * MT + mt * 16, kk * 16));
    __syncthreads();  // every warp has its Q before key tile 1 streams into those buffers

    float o[MT][D / 8][4];
    float m[MT][2], l[MT][2];  // per m-tile and row half: running max (log2 units), this lane's share of the sum
#pragma unroll
    for (int mt = 0; mt < MT; mt++) {
#pragma unroll
        for (int n = 0; n < D / 8; n++)
#pragma unroll
            for (int e = 0; e < 4; e++) o[mt][n][e] = 0.0f;
        m[mt][0] = m[mt][1] = -CUDART_INF_F;
        l[mt][0] = l[mt][1] = 0.0f;
    }

    for (int kt = 0; kt < tiles; kt++) {
        const int buf = kt & 1, k0 = kt * ROWS;
        if (kt + 1 < tiles) {
            load_tile<D>(smem + (buf ^ 1) * 2 * TILE, kb, kvs, k0 + ROWS, T, hs);
            load_tile<D>(smem + (buf ^ 1) * 2 * TILE + TILE, vb, kvs, k0 + ROWS, T, hs);
            jg_cp_async_commit();
            jg_cp_async_wait<1>();
        } else {
            jg_cp_async_wait<0>();
        }
        __syncthreads();
        // a warp whose rows all precede this tile's first key has nothing to add (warp-uniform)
        if (k0 <= w0 + 16 * MT - 1) {
            const bf16* Kt = smem + buf * 2 * TILE;
            const bf16* Vt = Kt + TILE;
            float s[MT][ROWS / 8][4];  // S of the warp's rows x 64 keys
#pragma unroll
            for (int mt = 0; mt < MT; mt++)
#pragma unroll
                for (int n = 0; n < ROWS / 8; n++)
#pragma unroll
                    for (int e = 0; e < 4; e++) s[mt][n][e] = 0.0f;
#pragma unroll
            for (int jp = 0; jp < ROWS / 16; jp++)
#pragma unroll
                for (int kk = 0; kk < D / 16; kk++) {
                    uint32_t r[4];
                    jg_ldmatrix_x4(r, b_rows<D>(Kt, jp * 16, kk * 16));
                    const uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
#pragma unroll
                    for (int mt = 0; mt < MT; mt++) {
                        jg_mma_bf16_16816(s[mt][2 * jp], qa[mt][kk], b0);
                        jg_mma_bf16_16816(s[mt][2 * jp + 1], qa[mt][kk], b1);
                    }
                }
            // scaled to log2 units; masked (-inf) only on the diagonal tiles and past T (block-uniform)
            const bool mask = k0 + ROWS > q0 || k0 + ROWS > T;
#pragma unroll
            for (int mt = 0; mt < MT; mt++) {
                const int i0 = w0 + mt * 16 + g;  // rows i0 and i0 + 8
                float mx[2] = {-CUDART_INF_F, -CUDART_INF_F};
#pragma unroll
                for (int n = 0; n < ROWS / 8; n++)
#pragma unroll
                    for (int e = 0; e < 4; e++) {
                        const int j = k0 + n * 8 + 2 * t + (e & 1), i = i0 + (e >= 2 ? 8 : 0);
                        float x = s[mt][n][e] * sl2;
                        if (mask && (j > i || j >= T)) x = -CUDART_INF_F;
                        s[mt][n][e] = x;
                        mx[e >> 1] = fmaxf(mx[e >> 1], x);
                    }
                float c[2];
#pragma unroll
                for (int hf = 0; hf < 2; hf++) {
                    mx[hf] = fmaxf(mx[hf], __shfl_xor_sync(0xffffffffu, mx[hf], 1));
                    mx[hf] = fmaxf(mx[hf], __shfl_xor_sync(0xffffffffu, mx[hf], 2));
                    // finite: tile 0 comes first and key 0 is <= every row (rows past T included: keys j < T count);
                    // a row this tile masks entirely keeps its max (c = 1, p = 0)
                    const float mn = fmaxf(m[mt][hf], mx[hf]);
                    c[hf] = exp2f(m[mt][hf] - mn);  // 0 on the first tile (m = -inf)
                    m[mt][hf] = mn;
                }
                float sum[2] = {0.0f, 0.0f};
#pragma unroll
                for (int n = 0; n < ROWS / 8; n++)
#pragma unroll
                    for (int e = 0; e < 4; e++) {
                        const float p = exp2f(s[mt][n][e] - m[mt][e >> 1]);
                        s[mt][n][e] = p;
                        sum[e >> 1] += p;
                    }
                // each lane keeps its share of the row sums: the row's 4 lanes add up at the end
                l[mt][0] = l[mt][0] * c[0] + sum[0];
                l[mt][1] = l[mt][1] * c[1] + sum[1];
#pragma unroll
                for (int n = 0; n < D / 8; n++) {
                    o[mt][n][0] *= c[0];
                    o[mt][n][1] *= c[0];
                    o[mt][n][2] *= c[1];
                    o[mt][n][3] *= c[1];
                }
            }
            // O += P V, 16 keys per step: S's accumulators of two n-tiles are the A operand; each V fragment serves
            // every m-tile
#pragma unroll
            for (int kk = 0; kk < ROWS / 16; kk++) {
                uint32_t pa[MT][4];
#pragma unroll
                for (int mt = 0; mt < MT; mt++) to_a(pa[mt], s[mt][2 * kk], s[mt][2 * kk + 1], [](float x, int, int) { return x; });
#pragma unroll
                for (int dp = 0; dp < D / 16; dp++) {
                    uint32_t r[4];
                    jg_ldmatrix_x4_trans(r, a_rows<D>(Vt, kk * 16, dp * 16));
                    const uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
#pragma unroll
                    for (int mt = 0; mt < MT; mt++) {
                        jg_mma_bf16_16816(o[mt][2 * dp], pa[mt], b0);
                        jg_mma_bf16_16816(o[mt][2 * dp + 1], pa[mt], b1);
                    }
                }
            }
        }
        __syncthreads();  // every warp is done with this buffer before the tile after next streams into it
    }
    E* ob = out + (long long)b * T * C + (long long)h * hs;
    const long long rows = ((long long)b * NH + h) * T;
#pragma unroll
    for (int mt = 0; mt < MT; mt++) {
#pragma unroll
        for (int hf = 0; hf < 2; hf++) {
            l[mt][hf] += __shfl_xor_sync(0xffffffffu, l[mt][hf], 1);
            l[mt][hf] += __shfl_xor_sync(0xffffffffu, l[mt][hf], 2);
        }
        write_rows<D>(ob, C, w0 + mt * 16, T, hs, o[mt], 1.0f / l[mt][0], 1.0f / l[mt][1], false);
        const int i0 = w0 + mt * 16 + g;
        if (lse != nullptr && t == 0) {
            if (i0 < T) lse[rows + i0] = m[mt][0] * LN2 + logf(l[mt][0]);
            if (i0 + 8 < T) lse[rows + i0 + 8] = m[mt][1] * LN2 + logf(l[mt][1]);
        }
    }
}

// ---- backward: query-centric dQ (and D) -----------------------------------------------------------------------

// GradT: the type of dout and dq (float, or bf16 for the _bf16_grads entry points).
template <int D, typename E, typename GradT>
__device__ void backward_dq(GradT* dq_out, float* delta, const GradT* dout, const E* q, const E* k, const E* v,
                            const E* out, const float* lse, int B, int T, int NH, int NKV, int hs, int qs, int kvs,
                            int accumulate) {
    JG_DYNAMIC_SHARED(uint4, jg_fa_dq_smem);
    constexpr int TILE = ROWS * (D + 8);
    const int warp = threadIdx.x / JG_WARP, lane = threadIdx.x % JG_WARP, g = lane / 4, t = lane % 4;
    const int h = blockIdx.y, b = blockIdx.z;
    const int q0 = (gridDim.x - 1 - blockIdx.x) * ROWS;
    const int C = NH * hs, hk = h / (NH / NKV);
    const E* qb = q + (long long)b * T * qs + (long long)h * hs;
    const E* kb = k + (long long)b * T * kvs + (long long)hk * hs;
    const E* vb = v + (long long)b * T * kvs + (long long)hk * hs;
    const GradT* gb = dout + (long long)b * T * C + (long long)h * hs;
    const E* ob = out + (long long)b * T * C + (long long)h * hs;
    bf16* Ks = reinterpret_cast<bf16*>(jg_fa_dq_smem);  // [2][TILE], then Vs [2][TILE], then per-warp statistics
    bf16* Vs = Ks + 2 * TILE;
    float* stats = reinterpret_cast<float*>(Vs + 2 * TILE) + warp * 32;  // lse (log2 units) [16], D [16]
    const float scale = 1.0f / sqrtf((float)hs), sl2 = scale * LOG2E;
    const long long rows = ((long long)b * NH + h) * T;
    const int i0 = q0 + warp * 16 + g, i1 = i0 + 8;
    const int tiles = q0 / ROWS + 1;

    load_tile<D>(Ks + TILE, qb, qs, q0, T, hs);  // Q and dO through the second buffers
    load_tile<D>(Vs + TILE, gb, C, q0, T, hs);
    load_tile<D>(Ks, kb, kvs, 0, T, hs);
    load_tile<D>(Vs, vb, kvs, 0, T, hs);
    jg_cp_async_commit();
    {  // D_i = dO_i . O_i in fp32 from global memory (two lanes per row) while the tiles stream in
        const int r = lane >> 1, half = lane & 1, i = q0 + warp * 16 + r;
        float s = 0.0f;
        if (i < T)
            for (int c = half; c < hs; c += 2) s += jg_load(&gb[(long long)i * C + c]) * jg_load(&ob[(long long)i * C + c]);
        s += __shfl_xor_sync(0xffffffffu, s, 1);
        if (half == 0) {
            stats[r] = i < T ? lse[rows + i] * LOG2E : CUDART_INF_F;  // +inf: P = 0 on rows past T
            stats[16 + r] = s;
            if (i < T) delta[rows + i] = s;
        }
    }
    jg_cp_async_wait<0>();
    __syncthreads();  // also publishes the statistics within the warp
    uint32_t qa[D / 16][4], ga[D / 16][4];
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
        jg_ldmatrix_x4(qa[kk], a_rows<D>(Ks + TILE, warp * 16, kk * 16));
        jg_ldmatrix_x4(ga[kk], a_rows<D>(Vs + TILE, warp * 16, kk * 16));
    }
    const float L0 = stats[g], L1 = stats[g + 8], D0 = stats[16 + g], D1 = stats[16 + g + 8];
    __syncthreads();

    float dq[D / 8][4];
#pragma unroll
    for (int n = 0; n < D / 8; n++)
#pragma unroll
        for (int e = 0; e < 4; e++) dq[n][e] = 0.0f;
    for (int kt = 0; kt < tiles; kt++) {
        const int buf = kt & 1, k0 = kt * ROWS;
        if (kt + 1 < tiles) {
            load_tile<D>(Ks + (buf ^ 1) * TILE, kb, kvs, k0 + ROWS, T, hs);
            load_tile<D>(Vs + (buf ^ 1) * TILE, vb, kvs, k0 + ROWS, T, hs);
            jg_cp_async_commit();
            jg_cp_async_wait<1>();
        } else {
            jg_cp_async_wait<0>();
        }
        __syncthreads();
        const bf16* Kt = Ks + buf * TILE;
        const bf16* Vt = Vs + buf * TILE;
        const bool mask = k0 + ROWS > q0 || k0 + ROWS > T;
#pragma unroll
        for (int kk = 0; kk < ROWS / 16; kk++) {  // 16 keys at a time
            float s[2][4], dp[2][4];
            product_xyt<D>(s, qa, Kt, kk * 16);   // S = Q K^T
            product_xyt<D>(dp, ga, Vt, kk * 16);  // dP = dO V^T
            uint32_t dsa[4];                      // dS = P (dP - D), P = exp2(S sl2 - lse), masked
            to_a(dsa, s[0], s[1], [&](float x, int n, int e) {
                const int j = k0 + kk * 16 + n * 8 + 2 * t + (e & 1), i = e >= 2 ? i1 : i0;
                const float p = (mask && (j > i || j >= T)) ? 0.0f : exp2f(x * sl2 - (e >= 2 ? L1 : L0));
                return p * (dp[n][e] - (e >= 2 ? D1 : D0));
            });
            product_py<D>(dq, dsa, Kt, kk * 16);  // dQ += dS K
        }
        __syncthreads();
    }
    GradT* dqb = dq_out + (long long)b * T * qs + (long long)h * hs;
    write_rows<D>(dqb, qs, q0 + warp * 16, T, hs, dq, scale, scale, accumulate != 0);
}

// ---- backward: key-centric dK, dV -----------------------------------------------------------------------------

// dkv: the (head, query tile) of step `st` into buffer `buf`: Q, dO (cp.async where bf16), lse (log2 units) and D
template <int D, typename E, typename GradT>
__device__ __forceinline__ void load_step(bf16* Qs, bf16* Gs, float* qstat, const E* q, const GradT* dout, const float* lse,
                                          const float* delta, int st, int b, int hk, int G, int j0, int qtiles, int T,
                                          int NH, int hs, int qs, int buf) {
    constexpr int TILE = ROWS * (D + 8);
    const int h = hk * G + st / qtiles, i0 = j0 + (st % qtiles) * ROWS, C = NH * hs;
    const long long rows = ((long long)b * NH + h) * T;
    load_tile<D>(Qs + buf * TILE, q + (long long)b * T * qs + (long long)h * hs, qs, i0, T, hs);
    load_tile<D>(Gs + buf * TILE, dout + (long long)b * T * C + (long long)h * hs, C, i0, T, hs);
    float* sb = qstat + buf * 2 * ROWS;
    for (int c = threadIdx.x; c < ROWS; c += blockDim.x) {
        const int i = i0 + c;
        sb[c] = i < T ? lse[rows + i] * LOG2E : CUDART_INF_F;  // +inf: P = 0 for queries past T
        sb[ROWS + c] = i < T ? delta[rows + i] : 0.0f;
    }
}

template <int D, typename E, typename GradT>
__device__ void backward_dkv(GradT* dk_out, GradT* dv_out, const GradT* dout, const E* q, const E* k, const E* v,
                             const float* lse, const float* delta, int B, int T, int NH, int NKV, int hs, int qs, int kvs,
                             int accumulate) {
    JG_DYNAMIC_SHARED(uint4, jg_fa_dkv_smem);
    constexpr int TILE = ROWS * (D + 8);
    const int warp = threadIdx.x / JG_WARP, lane = threadIdx.x % JG_WARP, g = lane / 4, t = lane % 4;
    const int hk = blockIdx.y, b = blockIdx.z;  // a kv head: dK, dV sum over the G query heads that read it
    const int j0 = blockIdx.x * ROWS;           // the first key tiles see the most queries: they start first
    const int G = NH / NKV;
    const long long kvrow = (long long)b * T * kvs + (long long)hk * hs;
    bf16* Qs = reinterpret_cast<bf16*>(jg_fa_dkv_smem);  // [2][TILE], then Gs (dO) [2][TILE], then lse/D [2][2][64]
    bf16* Gs = Qs + 2 * TILE;
    float* qstat = reinterpret_cast<float*>(Gs + 2 * TILE);
    const float scale = 1.0f / sqrtf((float)hs), sl2 = scale * LOG2E;
    const int ja = j0 + warp * 16 + g, jb = ja + 8;  // this lane's two keys
    const int qtiles = (T - j0 + ROWS - 1) / ROWS;   // causal: queries from j0 on
    const int steps = G * qtiles;                    // (head, query tile) pairs, heads in order

    load_tile<D>(Qs + TILE, k + kvrow, kvs, j0, T, hs);  // K and V through the second buffers
    load_tile<D>(Gs + TILE, v + kvrow, kvs, j0, T, hs);
    load_step<D>(Qs, Gs, qstat, q, dout, lse, delta, 0, b, hk, G, j0, qtiles, T, NH, hs, qs, 0);
    jg_cp_async_commit();
    jg_cp_async_wait<0>();
    __syncthreads();
    uint32_t ka[D / 16][4], va[D / 16][4];
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
        jg_ldmatrix_x4(ka[kk], a_rows<D>(Qs + TILE, warp * 16, kk * 16));
        jg_ldmatrix_x4(va[kk], a_rows<D>(Gs + TILE, warp * 16, kk * 16));
    }
    __syncthreads();

    float dk[D / 8][4], dv[D / 8][4];
#pragma unroll
    for (int n = 0; n < D / 8; n++)
#pragma unroll
        for (int e = 0; e < 4; e++) dk[n][e] = dv[n][e] = 0.0f;
    for (int st = 0; st < steps; st++) {
        const int buf = st & 1, i0 = j0 + (st % qtiles) * ROWS;
        if (st + 1 < steps) {
            load_step<D>(Qs, Gs, qstat, q, dout, lse, delta, st + 1, b, hk, G, j0, qtiles, T, NH, hs, qs, buf ^ 1);
            jg_cp_async_commit();
            jg_cp_async_wait<1>();
        } else {
            jg_cp_async_wait<0>();
        }
        __syncthreads();
        const bf16* Qt = Qs + buf * TILE;
        const bf16* Gt = Gs + buf * TILE;
        const float* Lq = qstat + buf * 2 * ROWS;
        const float* Dq = Lq + ROWS;
        const bool mask = i0 == j0 || i0 + ROWS > T || j0 + ROWS > T;
#pragma unroll
        for (int qq = 0; qq < ROWS / 16; qq++) {  // 16 queries at a time
            float s[2][4], dp[2][4];
            product_xyt<D>(s, ka, Qt, qq * 16);   // S^T = K Q^T (16 keys x 16 queries)
            product_xyt<D>(dp, va, Gt, qq * 16);  // dP^T = V dO^T
            float p[2][4];
#pragma unroll
            for (int n = 0; n < 2; n++)
#pragma unroll
                for (int e = 0; e < 4; e++) {
                    const int c = qq * 16 + n * 8 + 2 * t + (e & 1), i = i0 + c, j = e >= 2 ? jb : ja;
                    p[n][e] = (mask && (i < j || i >= T || j >= T)) ? 0.0f : exp2f(s[n][e] * sl2 - Lq[c]);
                }
            uint32_t pa[4], dsa[4];
            to_a(pa, p[0], p[1], [](float x, int, int) { return x; });
            product_py<D>(dv, pa, Gt, qq * 16);  // dV += P^T dO
            to_a(dsa, p[0], p[1], [&](float x, int n, int e) { return x * (dp[n][e] - Dq[qq * 16 + n * 8 + 2 * t + (e & 1)]); });
            product_py<D>(dk, dsa, Qt, qq * 16);  // dK += dS^T Q
        }
        __syncthreads();
    }
    write_rows<D>(dk_out + kvrow, kvs, j0 + warp * 16, T, hs, dk, scale, scale, accumulate != 0);
    write_rows<D>(dv_out + kvrow, kvs, j0 + warp * 16, T, hs, dv, 1.0f, 1.0f, accumulate != 0);
}
}  // namespace jg_fa

// hs <= 64 runs as the next D of 16, 32, 64; the launch (CudaBackend) sizes shared memory for that D.
#define JG_FA_DISPATCH(fn, E, args)               \
    do {                                          \
        if (hs <= 16) jg_fa::fn<16, E> args;      \
        else if (hs <= 32) jg_fa::fn<32, E> args; \
        else if (hs <= 64) jg_fa::fn<64, E> args; \
    } while (0)

// grid (ceil(T / 128), NH, B), 128 threads, 512(D+8) bytes of shared memory; out (B,T,NH*hs), lse (B,NH,T) (may be null).
extern "C" __global__ __launch_bounds__(128) void attention_flash_mma_forward(float* out, float* lse, const float* q,
                                                                             const float* k, const float* v, int B, int T,
                                                                             int NH, int NKV, int hs, int q_stride,
                                                                             int kv_stride) {
    JG_FA_DISPATCH(forward, float, (out, lse, q, k, v, B, T, NH, NKV, hs, q_stride, kv_stride));
}

// grid (ceil(T / 64), NH, B), 128 threads, 512(D+8) + 512 bytes: dq += dQ, delta (B,NH,T) = D_i. Runs before _dkv.
extern "C" __global__ __launch_bounds__(128) void attention_flash_mma_backward_dq(float* dq, float* delta, const float* dout,
                                                                                 const float* q, const float* k,
                                                                                 const float* v, const float* out,
                                                                                 const float* lse, int B, int T, int NH,
                                                                                 int NKV, int hs, int q_stride,
                                                                                 int kv_stride, int accumulate) {
    JG_FA_DISPATCH(backward_dq, float, (dq, delta, dout, q, k, v, out, lse, B, T, NH, NKV, hs, q_stride, kv_stride, accumulate));
}

// grid (ceil(T / 64), NKV, B), 128 threads, 512(D+8) + 1024 bytes: dk, dv += dK, dV of a kv head, summed over its
// NH/NKV query heads in order (reads delta from _dq). The _dkv kernels' (128, 2): left to itself ptxas (nvcc 13.0,
// sm_90a) sizes them for 168 registers (3 blocks per SM) and spills 12 bytes, which the build refuses; allowed 2 blocks
// per SM it takes 192-193 (sm_80 and sm_90a) without spilling: K, V, dK and dV fragments stay in registers.
extern "C" __global__ __launch_bounds__(128, 2) void attention_flash_mma_backward_dkv(float* dk, float* dv, const float* dout,
                                                                                  const float* q, const float* k,
                                                                                  const float* v, const float* lse,
                                                                                  const float* delta, int B, int T, int NH,
                                                                                  int NKV, int hs, int q_stride,
                                                                                  int kv_stride, int accumulate) {
    JG_FA_DISPATCH(backward_dkv, float, (dk, dv, dout, q, k, v, lse, delta, B, T, NH, NKV, hs, q_stride, kv_stride, accumulate));
}

// q, k, v and out in bf16 (bf16 activation storage); lse, delta, dout, dq, dk and dv fp32. Strides in elements.
extern "C" __global__ __launch_bounds__(128) void attention_flash_mma_forward_bf16(__nv_bfloat16* out, float* lse,
                                                                                  const __nv_bfloat16* q,
                                                                                  const __nv_bfloat16* k,
                                                                                  const __nv_bfloat16* v, int B, int T,
                                                                                  int NH, int NKV, int hs, int q_stride,
                                                                                  int kv_stride) {
    JG_FA_DISPATCH(forward, __nv_bfloat16, (out, lse, q, k, v, B, T, NH, NKV, hs, q_stride, kv_stride));
}

extern "C" __global__ __launch_bounds__(128) void attention_flash_mma_backward_dq_bf16(float* dq, float* delta,
                                                                                      const float* dout,
                                                                                      const __nv_bfloat16* q,
                                                                                      const __nv_bfloat16* k,
                                                                                      const __nv_bfloat16* v,
                                                                                      const __nv_bfloat16* out,
                                                                                      const float* lse, int B, int T,
                                                                                      int NH, int NKV, int hs,
                                                                                      int q_stride, int kv_stride, int accumulate) {
    JG_FA_DISPATCH(backward_dq, __nv_bfloat16, (dq, delta, dout, q, k, v, out, lse, B, T, NH, NKV, hs, q_stride, kv_stride, accumulate));
}

extern "C" __global__ __launch_bounds__(128, 2) void attention_flash_mma_backward_dkv_bf16(float* dk, float* dv,
                                                                                       const float* dout,
                                                                                       const __nv_bfloat16* q,
                                                                                       const __nv_bfloat16* k,
                                                                                       const __nv_bfloat16* v,
                                                                                       const float* lse,
                                                                                       const float* delta, int B, int T,
                                                                                       int NH, int NKV, int hs,
                                                                                       int q_stride, int kv_stride, int accumulate) {
    JG_FA_DISPATCH(backward_dkv, __nv_bfloat16, (dk, dv, dout, q, k, v, lse, delta, B, T, NH, NKV, hs, q_stride, kv_stride, accumulate));
}

// The backward pair with the gradients in bf16 too (GPT-2's bf16 mode): dout, dq, dk and dv bf16, added to in fp32
// and rounded once as they are written; dO tiles are copied into shared memory as they are.
extern "C" __global__ __launch_bounds__(128) void attention_flash_mma_backward_dq_bf16_grads(__nv_bfloat16* dq, float* delta,
                                                                                            const __nv_bfloat16* dout,
                                                                                            const __nv_bfloat16* q,
                                                                                            const __nv_bfloat16* k,
                                                                                            const __nv_bfloat16* v,
                                                                                            const __nv_bfloat16* out,
                                                                                            const float* lse, int B, int T,
                                                                                            int NH, int NKV, int hs,
                                                                                            int q_stride, int kv_stride, int accumulate) {
    JG_FA_DISPATCH(backward_dq, __nv_bfloat16, (dq, delta, dout, q, k, v, out, lse, B, T, NH, NKV, hs, q_stride, kv_stride, accumulate));
}

extern "C" __global__ __launch_bounds__(128, 2) void attention_flash_mma_backward_dkv_bf16_grads(__nv_bfloat16* dk,
                                                                                             __nv_bfloat16* dv,
                                                                                             const __nv_bfloat16* dout,
                                                                                             const __nv_bfloat16* q,
                                                                                             const __nv_bfloat16* k,
                                                                                             const __nv_bfloat16* v,
                                                                                             const float* lse,
                                                                                             const float* delta, int B,
                                                                                             int T, int NH, int NKV, int hs,
                                                                                             int q_stride, int kv_stride, int accumulate) {
    JG_FA_DISPATCH(backward_dkv, __nv_bfloat16, (dk, dv, dout, q, k, v, lse, delta, B, T, NH, NKV, hs, q_stride, kv_stride, accumulate));
}
