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

// dbias (OC) += column sums of dout (N,OC). Block (32, 32): threadIdx.x picks the column (coalesced
// reads along a row), threadIdx.y strides over rows; the 32 partial sums per column are added in
// shared memory. One block owns its 32 columns entirely, so no atomics and a fixed order.
template <typename T>
__device__ __forceinline__ void jg_matmul_backward_bias(float* dbias, const T* dout, int N, int OC) {
    __shared__ float partial[32][33];
    const int col = blockIdx.x * 32 + threadIdx.x;
    float s = 0.0f;
    if (col < OC) {
        for (int row = threadIdx.y; row < N; row += blockDim.y) s += jg_load(dout + (long long)row * OC + col);
    }
    partial[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && col < OC) {
        float total = 0.0f;
        for (int y = 0; y < blockDim.y; y++) total += partial[y][threadIdx.x];
        dbias[col] += total;
    }
}

extern "C" __global__ void matmul_backward_bias(float* dbias, const float* dout, int N, int OC) {
    jg_matmul_backward_bias(dbias, dout, N, OC);
}

// The same over a bf16 dout (GPT-2's d(fch) in bf16 mode), summed in fp32.
extern "C" __global__ void matmul_backward_bias_bf16(float* dbias, const __nv_bfloat16* dout, int N, int OC) {
    jg_matmul_backward_bias(dbias, dout, N, OC);
}
