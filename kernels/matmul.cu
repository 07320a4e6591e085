// The bias parts of matmul; the products themselves are cuBLAS calls made from Java
// (dev.jgpt.backend.cuda.CudaBackend#matmulForward), so no cuBLAS header is needed here.
#include "common.cuh"

// out (N,OC) += bias (OC) on every row.
extern "C" __global__ void add_bias(float* out, const float* bias, int N, int OC) {
    const long long n = (long long)N * OC;
    for (long long i = jg_global_index(); i < n; i += jg_global_stride()) out[i] += bias[i % OC];
}

// The same on a bf16 product output (bf16 activation storage): out = bf16(out + bias), the sum in fp32.
extern "C" __global__ void add_bias_bf16(__nv_bfloat16* out, const float* bias, int N, int OC) {
    const long long n = (long long)N * OC;
    for (long long i = jg_global_index(); i < n; i += jg_global_stride()) jg_store(out + i, jg_load(out + i) + bias[i % OC]);
}

// The bias gradient in two launches, without atomics: block (x, s), threads (32, 8), sums dout over split s of the rows
// (gridDim.y splits of ceil(N / gridDim.y) rows) for its 32 columns (jg_block_column_sum: adjacent threads read
// adjacent columns, coalesced along a row; a fixed order) and writes the sum to partials[s][col]; add_partial_sums then adds the splits to dbias in split order.
// The splits fill the GPU where one block per 32 columns (24 blocks at OC 768) would leave most SMs idle.
template <typename T>
__device__ __forceinline__ void jg_matmul_backward_bias(float* partials, const T* dout, int N, int OC) {
    const int col = blockIdx.x * JG_WARP + threadIdx.x;
    const int per = (N + gridDim.y - 1) / gridDim.y, first = blockIdx.y * per, last = min(N, first + per);
    const float total = jg_block_column_sum([&](int row) { return jg_load(dout + (long long)row * OC + col); }, col < OC,
                                            first, last);
    if (threadIdx.y == 0 && col < OC) partials[(long long)blockIdx.y * OC + col] = total;
}

extern "C" __global__ void matmul_backward_bias(float* partials, const float* dout, int N, int OC) {
    jg_matmul_backward_bias(partials, dout, N, OC);
}

// The same over a bf16 dout (GPT-2's d(fch) in bf16 mode), summed in fp32.
extern "C" __global__ void matmul_backward_bias_bf16(float* partials, const __nv_bfloat16* dout, int N, int OC) {
    jg_matmul_backward_bias(partials, dout, N, OC);
}

// Products of a few input rows (a decode step: N = 1; a server's batched step: N <= JG_ROWS_MAX) without cuBLAS:
// out (N, OC) = inp (N, C) . W^T (+ bias), W (OC, C) row-major, inp and W of one type E (float, or bf16: bf16 mode's
// operands), out fp32 or bf16. On an H100 (session 20) GPT-2 124M's 48 per-layer decode products took 8.75 µs each
// through cuBLASLt's bias epilogue, 0.42 ms a token for 340 MB of fp32 weights (0.8 TB/s), where the classifier's one
// 154 MB product ran at 2.8 TB/s: small matrices read at N = 1 are bound by the bytes in flight, not by bandwidth.
// So one warp per output row (grid-stride over rows), and each lane issues JG_ROWS_UNROLL 16-byte weight loads before
// it uses any (4 KiB a warp in flight), then multiplies them with the rows of inp (small: L1/L2 hits) into ROWS
// running sums; the warp adds its lanes (a fixed order) and lane 0 adds the bias. Needs C % (16 / sizeof(E)) == 0 and
// 16-byte aligned W and inp (the host checks); blockDim.x a multiple of 32.
#define JG_ROWS_MAX 8
#define JG_ROWS_UNROLL 8

template <int ROWS, typename E, typename Out>
__device__ __forceinline__ void jg_matmul_rows(Out* out, const E* inp, const E* w, const float* bias, int N, int C,
                                               int OC) {
    constexpr int V = JgVec16<E>::N;
    constexpr int STEP = JG_WARP * V;  // elements of a row the warp covers per load
    const int lane = threadIdx.x % JG_WARP;
    const int warps = gridDim.x * (blockDim.x / JG_WARP);
    for (int o = blockIdx.x * (blockDim.x / JG_WARP) + threadIdx.x / JG_WARP; o < OC; o += warps) {
        const E* row = w + (long long)o * C;
        float acc[ROWS];
#pragma unroll
        for (int r = 0; r < ROWS; r++) acc[r] = 0.0f;
        for (int c0 = lane * V; c0 < C; c0 += JG_ROWS_UNROLL * STEP) {
            JgWord16 raw[JG_ROWS_UNROLL];  // every load of the chunk issued before the first use
#pragma unroll
            for (int u = 0; u < JG_ROWS_UNROLL; u++) {
                if (c0 + u * STEP < C) raw[u] = jg_word16(row + c0 + u * STEP);
            }
#pragma unroll
            for (int u = 0; u < JG_ROWS_UNROLL; u++) {
                const int c = c0 + u * STEP;
                if (c < C) {
                    float wf[V];
                    jg_unpack16(raw[u], wf, row);
#pragma unroll
                    for (int r = 0; r < ROWS; r++) {
                        if (r < N) {
                            float xv[V];
                            jg_load16(inp + (long long)r * C + c, xv);
                            float d = 0.0f;
#pragma unroll
                            for (int e = 0; e < V; e++) d += wf[e] * xv[e];
                            acc[r] += d;
                        }
                    }
                }
            }
        }
        const float b = bias != nullptr ? bias[o] : 0.0f;
#pragma unroll
        for (int r = 0; r < ROWS; r++) {
            if (r < N) {
                const float v = jg_warp_sum(acc[r]);
                if (lane == 0) jg_store(out + (long long)r * OC + o, v + b);
            }
        }
    }
}

// One input row (a decode step): one running sum, fewer registers, more warps per SM.
extern "C" __global__ void matmul_row_forward(float* out, const float* inp, const float* w, const float* bias, int N,
                                              int C, int OC) {
    jg_matmul_rows<1>(out, inp, w, bias, N, C, OC);
}

// bf16 operands (bf16 mode: the weights' bf16 copy, bf16 activations), fp32 out (the products added to the residual)
extern "C" __global__ void matmul_row_forward_bf16_in(float* out, const __nv_bfloat16* inp, const __nv_bfloat16* w,
                                                      const float* bias, int N, int C, int OC) {
    jg_matmul_rows<1>(out, inp, w, bias, N, C, OC);
}

// bf16 operands, bf16 out (bf16 activation storage)
extern "C" __global__ void matmul_row_forward_bf16(__nv_bfloat16* out, const __nv_bfloat16* inp, const __nv_bfloat16* w,
                                                   const float* bias, int N, int C, int OC) {
    jg_matmul_rows<1>(out, inp, w, bias, N, C, OC);
}

// Up to JG_ROWS_MAX input rows (a batched step): each weight row read once for all of them.
extern "C" __global__ void matmul_rows_forward(float* out, const float* inp, const float* w, const float* bias, int N,
                                               int C, int OC) {
    jg_matmul_rows<JG_ROWS_MAX>(out, inp, w, bias, N, C, OC);
}

extern "C" __global__ void matmul_rows_forward_bf16_in(float* out, const __nv_bfloat16* inp, const __nv_bfloat16* w,
                                                       const float* bias, int N, int C, int OC) {
    jg_matmul_rows<JG_ROWS_MAX>(out, inp, w, bias, N, C, OC);
}

extern "C" __global__ void matmul_rows_forward_bf16(__nv_bfloat16* out, const __nv_bfloat16* inp, const __nv_bfloat16* w,
                                                    const float* bias, int N, int C, int OC) {
    jg_matmul_rows<JG_ROWS_MAX>(out, inp, w, bias, N, C, OC);
}
