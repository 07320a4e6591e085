// q8 decode products (Backend.matmulQ8Forward): a weight matrix W (OC, C) stored as int8 with one fp32 scale per
// group of `group` consecutive weights along a row (libjgpt's q8: scale = max|w| / 127 over the group), the
// activations fp32 or bf16. Decoding is bound by the bytes of weights it reads: 1 + 4/group bytes a weight here,
// against 2 for bf16 and 4 for fp32. And the embedding rows a decoder reads from its bf16 or q8 table.
#include "common.cuh"

// Input rows one pass over a weight row serves (the PASS of the kernels below): their running sums live in registers.
// More rows take more passes (the weight row is read again, from L2), so the host sends larger products through
// q8_to_* and cuBLAS instead. A decode step has one row: its kernels (matmul_q8_row*, matmul_q8_row_impl below) keep
// one sum per output row and take several output rows per warp instead, to keep more weight loads in flight.
#define JG_Q8_PASS 8
// Weights a lane reads at once: one 16-byte load, inside one group (the group is a multiple of 16).
#define JG_Q8_VEC 16

// out (N, OC) = inp (N, C) . W^T. One warp per output row (grid-stride over rows, so any grid size is correct): lane l
// multiplies weights [16 l, 16 l + 16) + 512 k of the row with each input row, scales each 16-weight partial by its
// group's scale, and the warp adds up the lanes. Needs C % group == 0, group % 16 == 0, rows 16-byte aligned (C % 16
// == 0 and a 16-byte aligned weight pointer), blockDim.x a multiple of 32. Each row's sum is the same whatever PASS.
template <int PASS, typename TIn, typename TOut>
__device__ __forceinline__ void matmul_q8_rows_impl(TOut* out, const TIn* inp, const signed char* w, const float* scales,
                                                    int N, int C, int OC, int group) {
    const int lane = threadIdx.x % JG_WARP, warps = blockDim.x / JG_WARP;
    const int groups = C / group;
    for (long long o = (long long)blockIdx.x * warps + threadIdx.x / JG_WARP; o < OC; o += (long long)gridDim.x * warps) {
        const signed char* row = w + o * C;
        const float* sc = scales + o * groups;
        for (int n0 = 0; n0 < N; n0 += PASS) {
            const int rows = min(PASS, N - n0); // the same for the whole warp: every lane joins the sums below
            float acc[PASS];
#pragma unroll
            for (int r = 0; r < PASS; r++) acc[r] = 0.0f;
            for (int c = lane * JG_Q8_VEC; c < C; c += JG_WARP * JG_Q8_VEC) {
                const uint4 packed = *reinterpret_cast<const uint4*>(row + c);
                const signed char* q = reinterpret_cast<const signed char*>(&packed);
                float wf[JG_Q8_VEC];
#pragma unroll
                for (int i = 0; i < JG_Q8_VEC; i++) wf[i] = (float)q[i];
                const float s = sc[c / group];
#pragma unroll
                for (int r = 0; r < PASS; r++) {
                    if (r < rows) {
                        const TIn* x = inp + (long long)(n0 + r) * C + c;
                        float d = 0.0f;
#pragma unroll
                        for (int i = 0; i < JG_Q8_VEC; i++) d += wf[i] * jg_load(x + i);
                        acc[r] += d * s;
                    }
                }
            }
#pragma unroll
            for (int r = 0; r < PASS; r++) {
                if (r < rows) {
                    const float v = jg_warp_sum(acc[r]);
                    if (lane == 0) jg_store(out + (long long)(n0 + r) * OC + o, v);
                }
            }
        }
    }
}

extern "C" __global__ void matmul_q8_rows(float* out, const float* inp, const signed char* w, const float* scales, int N,
                                          int C, int OC, int group) {
    matmul_q8_rows_impl<JG_Q8_PASS>(out, inp, w, scales, N, C, OC, group);
}

// bf16 activations in and out (the decoder's q, k, v, gate and up in bf16 mode)
extern "C" __global__ void matmul_q8_rows_bf16(__nv_bfloat16* out, const __nv_bfloat16* inp, const signed char* w,
                                               const float* scales, int N, int C, int OC, int group) {
    matmul_q8_rows_impl<JG_Q8_PASS>(out, inp, w, scales, N, C, OC, group);
}

// bf16 in, fp32 out (the products added to the fp32 residual stream, and the logits)
extern "C" __global__ void matmul_q8_rows_bf16_in(float* out, const __nv_bfloat16* inp, const signed char* w,
                                                  const float* scales, int N, int C, int OC, int group) {
    matmul_q8_rows_impl<JG_Q8_PASS>(out, inp, w, scales, N, C, OC, group);
}

// fp32 in, bf16 out (bf16 mode with fp32 activation storage)
extern "C" __global__ void matmul_q8_rows_bf16_out(__nv_bfloat16* out, const float* inp, const signed char* w,
                                                   const float* scales, int N, int C, int OC, int group) {
    matmul_q8_rows_impl<JG_Q8_PASS>(out, inp, w, scales, N, C, OC, group);
}

// Output rows a warp takes at once in a decode step (matmul_q8_row*): the host sizes the grid with it (CudaBackend).
#define JG_Q8_OUT 4

// One input row (a decode step): each warp takes JG_Q8_OUT consecutive output rows, so a lane has JG_Q8_OUT 16-byte
// weight loads in flight per step along the rows, where one row each gave it one or two for a 768-wide matrix (a warp
// reads 512 weights per load): on an H100 (session 20) that kernel decoded stories110M at 0.82x bf16's speed from 0.56x
// its bytes, bound by the loads in flight. The input's 16 values per step are read once for the JG_Q8_OUT rows, 16
// bytes at a time where aligned. Each row's sum is the same as matmul_q8_rows_impl's, in the same order.
template <typename TIn, typename TOut>
__device__ __forceinline__ void matmul_q8_row_impl(TOut* out, const TIn* inp, const signed char* w, const float* scales,
                                                   int C, int OC, int group) {
    constexpr int VI = JgVec16<TIn>::N;
    const int lane = threadIdx.x % JG_WARP, warps = blockDim.x / JG_WARP;
    const int groups = C / group;
    const bool vec = jg_aligned16(inp);  // grid-uniform
    for (long long o0 = ((long long)blockIdx.x * warps + threadIdx.x / JG_WARP) * JG_Q8_OUT; o0 < OC;
         o0 += (long long)gridDim.x * warps * JG_Q8_OUT) {
        float acc[JG_Q8_OUT];
#pragma unroll
        for (int j = 0; j < JG_Q8_OUT; j++) acc[j] = 0.0f;
        for (int c = lane * JG_Q8_VEC; c < C; c += JG_WARP * JG_Q8_VEC) {
            uint4 packed[JG_Q8_OUT];
            float s[JG_Q8_OUT];
#pragma unroll
            for (int j = 0; j < JG_Q8_OUT; j++) {  // every row's weights and scale asked for before any is used
                if (o0 + j < OC) {
                    packed[j] = *reinterpret_cast<const uint4*>(w + (o0 + j) * C + c);
                    s[j] = scales[(o0 + j) * groups + c / group];
                }
            }
            float x[JG_Q8_VEC];
            if (vec) {
#pragma unroll
                for (int k = 0; k < JG_Q8_VEC; k += VI) jg_load16(inp + c + k, x + k);
            } else {
#pragma unroll
                for (int i = 0; i < JG_Q8_VEC; i++) x[i] = jg_load(inp + c + i);
            }
#pragma unroll
            for (int j = 0; j < JG_Q8_OUT; j++) {
                if (o0 + j < OC) {
                    const signed char* q = reinterpret_cast<const signed char*>(&packed[j]);
                    float d = 0.0f;
#pragma unroll
                    for (int i = 0; i < JG_Q8_VEC; i++) d += (float)q[i] * x[i];
                    acc[j] += d * s[j];
                }
            }
        }
#pragma unroll
        for (int j = 0; j < JG_Q8_OUT; j++) {
            if (o0 + j < OC) {  // warp-uniform
                const float v = jg_warp_sum(acc[j]);
                if (lane == 0) jg_store(out + o0 + j, v);
            }
        }
    }
}

// One input row (a decode step): matmul_q8_row_impl. N is 1 (kept for the same parameter list as matmul_q8_rows).
extern "C" __global__ void matmul_q8_row(float* out, const float* inp, const signed char* w, const float* scales, int N,
                                         int C, int OC, int group) {
    matmul_q8_row_impl(out, inp, w, scales, C, OC, group);
}

extern "C" __global__ void matmul_q8_row_bf16(__nv_bfloat16* out, const __nv_bfloat16* inp, const signed char* w,
                                              const float* scales, int N, int C, int OC, int group) {
    matmul_q8_row_impl(out, inp, w, scales, C, OC, group);
}

extern "C" __global__ void matmul_q8_row_bf16_in(float* out, const __nv_bfloat16* inp, const signed char* w,
                                                 const float* scales, int N, int C, int OC, int group) {
    matmul_q8_row_impl(out, inp, w, scales, C, OC, group);
}

extern "C" __global__ void matmul_q8_row_bf16_out(__nv_bfloat16* out, const float* inp, const signed char* w,
                                                  const float* scales, int N, int C, int OC, int group) {
    matmul_q8_row_impl(out, inp, w, scales, C, OC, group);
}

// W dequantised into a product operand (a prompt's rows: one cuBLAS product instead of many passes over W).
template <typename T>
__device__ __forceinline__ void q8_dequantize_impl(T* out, const signed char* w, const float* scales, long long n, int group) {
    for (long long i = jg_global_index(); i < n; i += jg_global_stride()) jg_store(out + i, (float)w[i] * scales[i / group]);
}

extern "C" __global__ void q8_to_f32(float* out, const signed char* w, const float* scales, long long n, int group) {
    q8_dequantize_impl(out, w, scales, n, group);
}

extern "C" __global__ void q8_to_bf16(__nv_bfloat16* out, const signed char* w, const float* scales, long long n, int group) {
    q8_dequantize_impl(out, w, scales, n, group);
}

// A decoder's embedding rows from its converted table (V, C) (the bf16 or q8 classifier, or a table converted beside it):
// out (N, C) fp32, row r = table[tokens[r]]; an id outside [0, V) writes NaN, as encoder_forward does. One thread per
// output element.
extern "C" __global__ void embedding_rows_bf16(float* out, const int* tokens, const __nv_bfloat16* table, int N, int C, int V) {
    for (long long i = jg_global_index(); i < (long long)N * C; i += jg_global_stride()) {
        const int tok = tokens[i / C];
        out[i] = (tok >= 0 && tok < V) ? __bfloat162float(table[(long long)tok * C + i % C]) : CUDART_NAN_F;
    }
}

extern "C" __global__ void embedding_rows_q8(float* out, const int* tokens, const signed char* table, const float* scales,
                                             int N, int C, int V, int group) {
    for (long long i = jg_global_index(); i < (long long)N * C; i += jg_global_stride()) {
        const int tok = tokens[i / C];
        const long long at = (long long)tok * C + i % C;
        out[i] = (tok >= 0 && tok < V) ? (float)table[at] * scales[at / group] : CUDART_NAN_F;
    }
}
