// LayerNorm (eps 1e-5) forward and backward, and residual + layernorm fused. One warp per row:
// rows of GPT-2 (C = 768..1600) are short enough that a warp streams them from L2/L1 twice.
#include "common.cuh"

#define JG_LN_EPS 1e-5f

// One row by one warp: VW consecutive elements per lane access (1, or 4 where the row allows: see jg_ln_vec4).
template <int VW, typename Out>
__device__ __forceinline__ void jg_layernorm_row_v(Out* out, float* mean, float* rstd, const float* x,
                                                   const float* weight, const float* bias, int row, int C, int lane) {
    float s = 0.0f;
    for (int i = lane * VW; i < C; i += JG_WARP * VW) {
        if constexpr (VW == 4) {
            const float4 v = jg_load4(x + i);
            s += (v.x + v.y) + (v.z + v.w);
        } else {
            s += x[i];
        }
    }
    const float m = jg_warp_sum(s) / C;
    float v = 0.0f;
    for (int i = lane * VW; i < C; i += JG_WARP * VW) {
        if constexpr (VW == 4) {
            const float4 a = jg_load4(x + i);
            const float d0 = a.x - m, d1 = a.y - m, d2 = a.z - m, d3 = a.w - m;
            v += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3);
        } else {
            const float d = x[i] - m;
            v += d * d;
        }
    }
    const float r = 1.0f / sqrtf(jg_warp_sum(v) / C + JG_LN_EPS);
    for (int i = lane * VW; i < C; i += JG_WARP * VW) {
        if constexpr (VW == 4) {
            const float4 a = jg_load4(x + i), w = jg_load4(weight + i), b = jg_load4(bias + i);
            jg_store4(out + i, float4{(a.x - m) * r * w.x + b.x, (a.y - m) * r * w.y + b.y, (a.z - m) * r * w.z + b.z,
                                         (a.w - m) * r * w.w + b.w});
        } else {
            jg_store(out + i, (x[i] - m) * r * weight[i] + bias[i]);
        }
    }
    if (lane == 0) {
        if (mean != nullptr) mean[row] = m;
        if (rstd != nullptr) rstd[row] = r;
    }
}

// Whether rows of C elements take 4-element accesses: C % 128 == 0 (every GPT-2 width) and the tensors 16-byte aligned.
template <typename... P>
__device__ __forceinline__ bool jg_ln_vec4(int C, const P*... p) {
    return C % (4 * JG_WARP) == 0 && jg_aligned16(p...);
}

// Rows of at most JG_LN_HELD x 128 elements (every GPT-2 width up to 1536) are held in registers, JG_LN_HELD float4s
// per lane: read from memory once where jg_layernorm_row_v reads them three times, each pass a round trip of latency
// when a warp has one row to itself (a decode step: an H100 took 9 µs per one-row fused residual + layernorm, session
// 20), and the fused residual's sum is normalised without being read back. The sums run in jg_layernorm_row_v<4>'s
// order, so the results are the same bits.
#define JG_LN_HELD 12

template <typename Out>
__device__ __forceinline__ void jg_layernorm_held(Out* out, float* mean, float* rstd, const float4 (&h)[JG_LN_HELD],
                                                  const float* weight, const float* bias, int row, int C, int lane) {
    float s = 0.0f;
#pragma unroll
    for (int k = 0; k < JG_LN_HELD; k++) {
        if ((k * JG_WARP + lane) * 4 < C) s += (h[k].x + h[k].y) + (h[k].z + h[k].w);
    }
    const float m = jg_warp_sum(s) / C;
    float v = 0.0f;
#pragma unroll
    for (int k = 0; k < JG_LN_HELD; k++) {
        if ((k * JG_WARP + lane) * 4 < C) {
            const float d0 = h[k].x - m, d1 = h[k].y - m, d2 = h[k].z - m, d3 = h[k].w - m;
            v += (d0 * d0 + d1 * d1) + (d2 * d2 + d3 * d3);
        }
    }
    const float r = 1.0f / sqrtf(jg_warp_sum(v) / C + JG_LN_EPS);
#pragma unroll
    for (int k = 0; k < JG_LN_HELD; k++) {
        const int i = (k * JG_WARP + lane) * 4;
        if (i < C) {
            const float4 a = h[k], w = jg_load4(weight + i), b = jg_load4(bias + i);
            jg_store4(out + i, float4{(a.x - m) * r * w.x + b.x, (a.y - m) * r * w.y + b.y, (a.z - m) * r * w.z + b.z,
                                         (a.w - m) * r * w.w + b.w});
        }
    }
    if (lane == 0) {
        if (mean != nullptr) mean[row] = m;
        if (rstd != nullptr) rstd[row] = r;
    }
}

// Whether a row takes jg_layernorm_held: 4-element accesses (jg_ln_vec4) and at most JG_LN_HELD of them per lane.
template <typename... P>
__device__ __forceinline__ bool jg_ln_held(int C, const P*... p) {
    return C <= JG_LN_HELD * 4 * JG_WARP && jg_ln_vec4(C, p...);
}

template <typename Out>
__device__ __forceinline__ void jg_layernorm_row(Out* out, float* mean, float* rstd, const float* x,
                                                 const float* weight, const float* bias, int row, int C, int lane) {
    if (jg_ln_held(C, out, x, weight, bias)) {
        float4 h[JG_LN_HELD];
#pragma unroll
        for (int k = 0; k < JG_LN_HELD; k++) {
            const int i = (k * JG_WARP + lane) * 4;
            h[k] = i < C ? jg_load4(x + i) : float4{0.0f, 0.0f, 0.0f, 0.0f};
        }
        jg_layernorm_held(out, mean, rstd, h, weight, bias, row, C, lane);
    } else if (jg_ln_vec4(C, out, x, weight, bias)) {
        jg_layernorm_row_v<4>(out, mean, rstd, x, weight, bias, row, C, lane);
    } else {
        jg_layernorm_row_v<1>(out, mean, rstd, x, weight, bias, row, C, lane);
    }
}

// out, inp (N,C); mean, rstd (N) may be null (inference). blockDim.x: multiple of 32.
template <typename Out>
__device__ __forceinline__ void jg_layernorm_forward(Out* out, float* mean, float* rstd, const float* inp,
                                                     const float* weight, const float* bias, int N, int C) {
    const int lane = threadIdx.x % JG_WARP;
    const int row = blockIdx.x * (blockDim.x / JG_WARP) + threadIdx.x / JG_WARP;
    if (row >= N) return;
    const long long off = (long long)row * C;
    jg_layernorm_row(out + off, mean, rstd, inp + off, weight, bias, row, C, lane);
}

extern "C" __global__ void layernorm_forward(float* out, float* mean, float* rstd, const float* inp,
                                             const float* weight, const float* bias, int N, int C) {
    jg_layernorm_forward(out, mean, rstd, inp, weight, bias, N, C);
}

// The same with out stored as bf16 (bf16 activation storage: out is a product's input).
extern "C" __global__ void layernorm_forward_bf16(__nv_bfloat16* out, float* mean, float* rstd, const float* inp,
                                                  const float* weight, const float* bias, int N, int C) {
    jg_layernorm_forward(out, mean, rstd, inp, weight, bias, N, C);
}

// residual = inp1 + inp2, then out = layernorm(residual): one read of each input instead of three. In2: inp2's type
// (float, or bf16: the attproj/fcproj product's output in bf16 mode, widened as it is added to the fp32 residual).
template <typename Out, typename In2>
__device__ __forceinline__ void jg_fused_residual_layernorm(float* residual, Out* out, float* mean, float* rstd,
                                                            const float* inp1, const In2* inp2,
                                                            const float* weight, const float* bias, int N, int C) {
    const int lane = threadIdx.x % JG_WARP;
    const int row = blockIdx.x * (blockDim.x / JG_WARP) + threadIdx.x / JG_WARP;
    if (row >= N) return;
    const long long off = (long long)row * C;
    if (jg_ln_held(C, residual + off, inp1 + off, inp2 + off, out + off, weight, bias)) {
        float4 h[JG_LN_HELD]; // the row's sum, normalised from registers
#pragma unroll
        for (int k = 0; k < JG_LN_HELD; k++) {
            const int i = (k * JG_WARP + lane) * 4;
            if (i < C) {
                const float4 a = jg_load4(inp1 + off + i), b = jg_load4(inp2 + off + i);
                h[k] = float4{a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w};
                jg_store4(residual + off + i, h[k]);
            } else {
                h[k] = float4{0.0f, 0.0f, 0.0f, 0.0f};
            }
        }
        jg_layernorm_held(out + off, mean, rstd, h, weight, bias, row, C, lane);
        return;
    }
    if (jg_ln_vec4(C, residual, inp1, inp2)) {
        for (int i = lane * 4; i < C; i += JG_WARP * 4) {
            const float4 a = jg_load4(inp1 + off + i), b = jg_load4(inp2 + off + i);
            jg_store4(residual + off + i, float4{a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w});
        }
    } else {
        for (int i = lane; i < C; i += JG_WARP) residual[off + i] = inp1[off + i] + jg_load(inp2 + off + i);
    }
    __syncwarp();
    jg_layernorm_row(out + off, mean, rstd, residual + off, weight, bias, row, C, lane);
}

extern "C" __global__ void fused_residual_layernorm_forward(float* residual, float* out, float* mean, float* rstd,
                                                            const float* inp1, const float* inp2,
                                                            const float* weight, const float* bias, int N, int C) {
    jg_fused_residual_layernorm(residual, out, mean, rstd, inp1, inp2, weight, bias, N, C);
}

// The same with out stored as bf16 (the residual stays fp32).
extern "C" __global__ void fused_residual_layernorm_forward_bf16(float* residual, __nv_bfloat16* out, float* mean,
                                                                 float* rstd, const float* inp1, const float* inp2,
                                                                 const float* weight, const float* bias, int N, int C) {
    jg_fused_residual_layernorm(residual, out, mean, rstd, inp1, inp2, weight, bias, N, C);
}

// bf16 mode's training blocks: out stored as bf16 and inp2 (the product's output) read as bf16; the residual stays fp32.
extern "C" __global__ void fused_residual_layernorm_forward_bf16_in(float* residual, __nv_bfloat16* out, float* mean,
                                                                    float* rstd, const float* inp1,
                                                                    const __nv_bfloat16* inp2, const float* weight,
                                                                    const float* bias, int N, int C) {
    jg_fused_residual_layernorm(residual, out, mean, rstd, inp1, inp2, weight, bias, N, C);
}

// One row of the backward with VW consecutive elements per lane access (1, or 4 where C % 128 == 0 and the rows are
// aligned: a lane reads 16 bytes of x and dx and 8 or 16 of dout at once instead of 4; on an H200 the 4-byte version
// took 81 µs per GPT-2 layernorm at B 8, T 1024, where its ~100 MB move in ~21). The same sums in the same order
// per element; the row's two reductions are warp sums of each lane's partials, which VW regroups.
template <int VW, typename DoutT, typename CopyT>
__device__ __forceinline__ void jg_layernorm_backward_row(float* dx, CopyT* dxc, const DoutT* dy, const float* x,
                                                          const float* weight, float* sdbias, float* sdweight, float m,
                                                          float r, int C, int lane) {
    float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
    for (int i = lane * VW; i < C; i += JG_WARP * VW) {
        if constexpr (VW == 4) {
            const float4 xv = jg_load4(x + i), gv = jg_load4(dy + i), wv = jg_load4(weight + i);
            const float xs[4] = {xv.x, xv.y, xv.z, xv.w}, gs[4] = {gv.x, gv.y, gv.z, gv.w}, ws[4] = {wv.x, wv.y, wv.z, wv.w};
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const float n = (xs[e] - m) * r, dn = ws[e] * gs[e];
                dnorm_mean += dn;
                dnorm_norm_mean += dn * n;
            }
        } else {
            const float n = (x[i] - m) * r;
            const float dn = weight[i] * jg_load(dy + i);
            dnorm_mean += dn;
            dnorm_norm_mean += dn * n;
        }
    }
    dnorm_mean = jg_warp_sum(dnorm_mean) / C;
    dnorm_norm_mean = jg_warp_sum(dnorm_norm_mean) / C;
    for (int i = lane * VW; i < C; i += JG_WARP * VW) {
        if constexpr (VW == 4) {
            const float4 xv = jg_load4(x + i), gv = jg_load4(dy + i), wv = jg_load4(weight + i), dv = jg_load4(dx + i);
            const float xs[4] = {xv.x, xv.y, xv.z, xv.w}, gs[4] = {gv.x, gv.y, gv.z, gv.w}, ws[4] = {wv.x, wv.y, wv.z, wv.w};
            float ds[4] = {dv.x, dv.y, dv.z, dv.w};
            float4 sb = *reinterpret_cast<float4*>(sdbias + i), sw = *reinterpret_cast<float4*>(sdweight + i);
            float bs[4] = {sb.x, sb.y, sb.z, sb.w}, wsum[4] = {sw.x, sw.y, sw.z, sw.w};
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const float n = (xs[e] - m) * r, dn = ws[e] * gs[e];
                bs[e] += gs[e];
                wsum[e] += n * gs[e];
                ds[e] = ds[e] + (dn - dnorm_mean - n * dnorm_norm_mean) * r;
            }
            *reinterpret_cast<float4*>(sdbias + i) = float4{bs[0], bs[1], bs[2], bs[3]};
            *reinterpret_cast<float4*>(sdweight + i) = float4{wsum[0], wsum[1], wsum[2], wsum[3]};
            const float4 d4 = float4{ds[0], ds[1], ds[2], ds[3]};
            jg_store4(dx + i, d4);
            if (dxc != nullptr) jg_store4(dxc + i, d4);
        } else {
            const float g = jg_load(dy + i), n = (x[i] - m) * r;
            const float dn = weight[i] * g;
            sdbias[i] += g;
            sdweight[i] += n * g;
            const float d = dx[i] + (dn - dnorm_mean - n * dnorm_norm_mean) * r;
            dx[i] = d;
            if (dxc != nullptr) jg_store(dxc + i, d);
        }
    }
}

// dinp += ... and this block's share of dweight/dbias into partials. Each block owns a stripe of rows (one warp per
// row at a time). Warp w sums its rows' dbias and dweight terms into its own slice of shared memory (2*C floats per
// warp: lane L alone touches columns L, L+32, ..., so no atomics and no barrier), then the block adds the slices up in
// warp order into partials[blockIdx.x] (dbias terms, then dweight terms). add_partial_sums adds the blocks'
// partials to dweight/dbias in block order. Every sum has one fixed order: a run repeats bit for bit (with atomics the
// order of the fp32 additions, so the low bits of dweight/dbias, changed from run to run). DoutT: dout's type (float,
// or bf16: GPT-2's gradient of a layernorm output in bf16 mode); dinp_copy (CopyT, may be null): written with dinp's
// new values, rounded to its type (the residual stream's gradient as the next backward products' bf16 operand: no
// separate conversion).
template <typename DoutT, typename CopyT>
__device__ __forceinline__ void jg_layernorm_backward(float* dinp, CopyT* dinp_copy, float* partials, const DoutT* dout,
                                                      const float* inp, const float* weight, const float* mean,
                                                      const float* rstd, int N, int C) {
    JG_DYNAMIC_SHARED(float, jg_ln_shared);
    const int lane = threadIdx.x % JG_WARP, warp = threadIdx.x / JG_WARP, warps = blockDim.x / JG_WARP;
    float* sdbias = jg_ln_shared + (long long)warp * 2 * C;
    float* sdweight = sdbias + C;
    for (int i = lane; i < C; i += JG_WARP) {
        sdbias[i] = 0.0f;
        sdweight[i] = 0.0f;
    }
    // block-uniform: rows of C % 128 == 0 elements from 16-byte aligned tensors (every GPT-2 width is a multiple of 128;
    // the shared slices are then 16-byte aligned too: 2C floats per warp from an aligned base)
    const bool vec = jg_ln_vec4(C, dinp, dinp_copy, dout, inp, weight);
    __syncwarp();  // the zeroed slice, written lane by lane, is read 4 columns per lane below
    for (int row = blockIdx.x * warps + warp; row < N; row += gridDim.x * warps) {
        const long long off = (long long)row * C;
        CopyT* dxc = dinp_copy != nullptr ? dinp_copy + off : nullptr;
        if (vec) jg_layernorm_backward_row<4>(dinp + off, dxc, dout + off, inp + off, weight, sdbias, sdweight, mean[row], rstd[row], C, lane);
        else jg_layernorm_backward_row<1>(dinp + off, dxc, dout + off, inp + off, weight, sdbias, sdweight, mean[row], rstd[row], C, lane);
    }
    __syncthreads();
    float* mine = partials + (long long)blockIdx.x * 2 * C;
    for (int i = threadIdx.x; i < 2 * C; i += blockDim.x) {
        float s = 0.0f;
        for (int w = 0; w < warps; w++) s += jg_ln_shared[(long long)w * 2 * C + i];
        mine[i] = s;
    }
}

// out0[i] += sum_r partials[r][i] and, where out1 is not null, out1[i] += sum_r partials[r][C + i] (rows of 2C then,
// else of C), r in row order (jg_block_column_sum): the second launch of the weight and bias gradients (layernorm's
// dbias and dweight from its blocks' partial sums, RMSNorm's dweight and a product's dbias from their row splits').
// Block (32, 8) covers 32 columns.
extern "C" __global__ void add_partial_sums(float* out0, float* out1, const float* partials, int rows, int C) {
    const int width = out1 != nullptr ? 2 * C : C;
    const int col = blockIdx.x * JG_WARP + threadIdx.x;
    const float total = jg_block_column_sum([&](int r) { return partials[(long long)r * width + col]; }, col < width, 0,
                                            rows);
    if (threadIdx.y == 0 && col < width) {
        if (col < C) out0[col] += total;
        else out1[col - C] += total;
    }
}

extern "C" __global__ void layernorm_backward(float* dinp, float* partials, const float* dout, const float* inp,
                                              const float* weight, const float* mean, const float* rstd, int N, int C) {
    jg_layernorm_backward(dinp, (float*)nullptr, partials, dout, inp, weight, mean, rstd, N, C);
}

// bf16 mode, GPT-2: dinp_copy (the residual stream's gradient as a bf16 operand) beside the fp32 dinp; dout fp32 (the
// final layernorm's, from the classifier) or bf16 (the blocks' layernorms, from the fc and qkv backward products).
extern "C" __global__ void layernorm_backward_copy_bf16(float* dinp, __nv_bfloat16* dinp_copy, float* partials,
                                                        const float* dout, const float* inp, const float* weight,
                                                        const float* mean, const float* rstd, int N, int C) {
    jg_layernorm_backward(dinp, dinp_copy, partials, dout, inp, weight, mean, rstd, N, C);
}

extern "C" __global__ void layernorm_backward_bf16(float* dinp, __nv_bfloat16* dinp_copy, float* partials,
                                                   const __nv_bfloat16* dout, const float* inp, const float* weight,
                                                   const float* mean, const float* rstd, int N, int C) {
    jg_layernorm_backward(dinp, dinp_copy, partials, dout, inp, weight, mean, rstd, N, C);
}
