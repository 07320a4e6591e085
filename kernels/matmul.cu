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
