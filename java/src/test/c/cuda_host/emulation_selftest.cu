// Kernels that break CUDA's rules on purpose, for HostEmulationTest: the host emulation must report each
// (or give a visibly wrong result, as a GPU might) rather than pass it. Plus one correct kernel.
#include "common.cuh"

// correct: out[0] = sum of in[0 .. blockDim.x) through shared memory and both barrier kinds
extern "C" __global__ void selftest_block_sum(float* out, const float* in) {
    const float s = jg_block_sum(in[threadIdx.x]);
    if (threadIdx.x == 0) out[0] = s;
}

// missing __syncthreads: reads a neighbour warp's shared slot that may not be written yet
extern "C" __global__ void selftest_missing_barrier(float* out, const float* in) {
    JG_DYNAMIC_SHARED(float, s);
    const int n = blockDim.x;
    s[threadIdx.x] = in[threadIdx.x];
    out[threadIdx.x] = s[(threadIdx.x + 32) % n];
}

// __syncthreads reached by only some threads, then a common one: waits at different barriers
extern "C" __global__ void selftest_divergent_barrier(float* out) {
    if (threadIdx.x < 32) __syncthreads();
    __syncthreads();
    out[threadIdx.x] = 1.0f;
}

// half a warp reduces with shuffles while the other half waits at __syncthreads
extern "C" __global__ void selftest_divergent_shuffle(float* out) {
    float v = 1.0f;
    if (threadIdx.x % 32 < 16) v = jg_warp_sum(v);
    __syncthreads();
    out[threadIdx.x] = v;
}

// lanes 16..31 exit; lanes 0..15 read them with a shuffle: undefined on a GPU, NaN here
extern "C" __global__ void selftest_shuffle_from_exited_lane(float* out) {
    if (threadIdx.x % 32 >= 16) return;
    out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.0f, 16);
}

// lanes 0..15 meet at a warp barrier, 16..31 at two: different warp-barrier counts
extern "C" __global__ void selftest_divergent_syncwarp(float* out) {
    __syncwarp();
    if (threadIdx.x % 32 >= 16) __syncwarp();
    out[threadIdx.x] = __shfl_sync(0xffffffffu, 2.0f, 0);
}

// only block 0 writes its static shared array: block 1 reads shared memory nobody wrote in that block
extern "C" __global__ void selftest_stale_static_shared(float* out) {
    __shared__ float s[32];
    if (blockIdx.x == 0) s[threadIdx.x] = 1.0f;
    __syncthreads();
    out[blockIdx.x * blockDim.x + threadIdx.x] = s[threadIdx.x];
}
