// Shared helpers for jgpt's CUDA kernels. Every kernels/*.cu includes this file; CMake compiles
// all of them as one translation unit into one fatbin, so everything here is header-safe.
//
// Conventions (match dev.jgpt.backend.Backend): fp32, row-major, contiguous. Forward kernels
// overwrite their outputs, backward kernels accumulate (+=) into gradients. Kernels that reduce
// with warps need blockDim.x to be a multiple of 32 (at most 1024); the Java side checks every
// launch configuration before it launches (dev.jgpt.backend.cuda.Kernels).
#pragma once
#include <cuda_runtime.h>
#include <math_constants.h>
#include <cuda_bf16.h>

#define JG_WARP 32

// Dynamic shared memory (the launch's sharedMemBytes), declared inside a kernel. A macro so that the host
// emulation of the kernels (java/src/test/c/cuda_host, which runs this source on the CPU in tests) can
// supply its own buffer.
#ifndef JG_DYNAMIC_SHARED
#define JG_DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif

// Marks a device function whose stores several blocks make to the same addresses with the same values (a benign race
// on a GPU: every writer stores the same bits). Nothing for nvcc; the host emulation's race tracker leaves such a
// function's accesses out (java/src/test/c/cuda_host, JG_HOST_SANITIZE=race). Not for __forceinline__ functions.
#ifndef JG_SAME_VALUE_WRITES
#define JG_SAME_VALUE_WRITES
#endif

__device__ __forceinline__ float jg_warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float jg_warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ __forceinline__ double jg_warp_sum_d(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Block-wide reductions: every thread of the block must call them (no early return before),
// and every thread gets the result. The leading __syncthreads makes back-to-back calls safe.
__device__ __forceinline__ float jg_block_sum(float v) {
    __shared__ float partial[32];
    const int lane = threadIdx.x % JG_WARP, warp = threadIdx.x / JG_WARP, warps = blockDim.x / JG_WARP;
    v = jg_warp_sum(v);
    __syncthreads();
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    v = lane < warps ? partial[lane] : 0.0f;
    return jg_warp_sum(v);
}

__device__ __forceinline__ float jg_block_max(float v) {
    __shared__ float partial[32];
    const int lane = threadIdx.x % JG_WARP, warp = threadIdx.x / JG_WARP, warps = blockDim.x / JG_WARP;
    v = jg_warp_max(v);
    __syncthreads();
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    v = lane < warps ? partial[lane] : -CUDART_INF_F;
    return jg_warp_max(v);
}

__device__ __forceinline__ double jg_block_sum_d(double v) {
    __shared__ double partial[32];
    const int lane = threadIdx.x % JG_WARP, warp = threadIdx.x / JG_WARP, warps = blockDim.x / JG_WARP;
    v = jg_warp_sum_d(v);
    __syncthreads();
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    v = lane < warps ? partial[lane] : 0.0;
    return jg_warp_sum_d(v);
}

// Column sums in a block of (32, 8) threads: thread (x, y) adds term(r) over rows r = first + y, first + y + 8, ... <
// last for its column (the caller binds the column into term; active = false past the last column), then the column's 8
// sums are added in y order: a fixed order, no atomics. The total reaches the threads with threadIdx.y == 0 (the others
// get 0). Every thread of the block calls it, once per kernel (it holds a barrier and one shared array). The weight
// and bias gradients' partial sums (RMSNorm's dweight, a product's dbias, add_partial_sums) are made with it.
template <typename Term>
__device__ __forceinline__ float jg_block_column_sum(const Term& term, bool active, int first, int last) {
    __shared__ float sums[8][JG_WARP + 1];
    float s = 0.0f;
    if (active) {
        for (int r = first + (int)threadIdx.y; r < last; r += blockDim.y) s += term(r);
    }
    sums[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    float total = 0.0f;
    if (threadIdx.y == 0) {
        for (int y = 0; y < (int)blockDim.y; y++) total += sums[y][threadIdx.x];
    }
    return total;
}

// Online softmax statistics of one thread's share of a row: the running maximum m and the sum s of exp(v - m), the sum
// rescaled whenever the maximum grows (start from m = -inf, s = 0). One pass over the values instead of two.
__device__ __forceinline__ void jg_online_max_sum(float& m, float& s, float v) {
    if (v > m) {
        s = s * expf(m - v) + 1.0f;
        m = v;
    } else {
        s += expf(v - m);
    }
}

// A thread's sum rescaled to the row's maximum mx (0 for a thread that saw no value), ready to be summed.
__device__ __forceinline__ float jg_online_sum_at(float m, float s, float mx) {
    return m == -CUDART_INF_F ? 0.0f : s * expf(m - mx);
}

// Activations a product reads may be stored as bf16 (CudaBackend in bf16 mode: layernorm outputs, qkv, the attention
// output, fc and GELU outputs): kernels templated on that element type load and store through these, computing in fp32.
__device__ __forceinline__ float jg_load(const float* p) { return *p; }
__device__ __forceinline__ float jg_load(const __nv_bfloat16* p) { return __bfloat162float(*p); }
__device__ __forceinline__ void jg_store(float* p, float v) { *p = v; }
__device__ __forceinline__ void jg_store(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

// 16 bytes at once (4 floats or 8 bf16): p must be 16-byte aligned. Rows of T elements are, where T is a multiple of
// JG_VEC16<A> and the buffer is (cuMemAlloc and the arenas align to 256 bytes; callers check the pointer too).
template <typename A> struct JgVec16 { static constexpr int N = 16 / (int)sizeof(A); };
__device__ __forceinline__ void jg_load16(const float* p, float* out) {
    const float4 v = *reinterpret_cast<const float4*>(p);
    out[0] = v.x; out[1] = v.y; out[2] = v.z; out[3] = v.w;
}
// eight bf16 seen as one 16-byte word through a union (not a pointer cast: the host emulation's C++ compiler may
// reorder accesses through a cast that breaks strict aliasing, and did)
union JgBf16x8 {
    uint4 word;
    __nv_bfloat16 h[8];
};
__device__ __forceinline__ void jg_load16(const __nv_bfloat16* p, float* out) {
    JgBf16x8 u;
    u.word = *reinterpret_cast<const uint4*>(p);
#pragma unroll
    for (int i = 0; i < 8; i++) out[i] = __bfloat162float(u.h[i]);
}
__device__ __forceinline__ void jg_store16(float* p, const float* v) {
    *reinterpret_cast<float4*>(p) = float4{v[0], v[1], v[2], v[3]};
}
__device__ __forceinline__ void jg_store16(__nv_bfloat16* p, const float* v) {
    JgBf16x8 u;
#pragma unroll
    for (int i = 0; i < 8; i++) u.h[i] = __float2bfloat16_rn(v[i]);
    *reinterpret_cast<uint4*>(p) = u.word;
}
// V consecutive elements: one (jg_load / jg_store), or 16 bytes (V = JgVec16<A>::N, p aligned).
template <int V, typename A>
__device__ __forceinline__ void jg_loadv(const A* p, float* out) {
    if constexpr (V == 1) out[0] = jg_load(p);
    else jg_load16(p, out);
}
template <int V, typename A>
__device__ __forceinline__ void jg_storev(A* p, const float* v) {
    if constexpr (V == 1) jg_store(p, v[0]);
    else jg_store16(p, v);
}
// Whether rows of T elements of type A starting at p can be read 16 bytes at a time.
template <typename A>
__device__ __forceinline__ bool jg_rows_vec16(const A* p, int T) {
    return T % JgVec16<A>::N == 0 && (reinterpret_cast<unsigned long long>(p) & 15ull) == 0;
}

// Global index of this thread in a 1-D launch, in 64 bits (grids may exceed 2^31 threads).
__device__ __forceinline__ long long jg_global_index() {
    return (long long)blockIdx.x * blockDim.x + threadIdx.x;
}

__device__ __forceinline__ long long jg_global_stride() {
    return (long long)gridDim.x * blockDim.x;
}

// A server's batched decode step: n sequences at their own positions, at most JG_DECODE_ROWS_MAX per launch, whose
// positions are passed by value in this struct (kernel parameters are copied at launch, so the host may reuse its
// staging at once; a device array would need an upload per call). Index it only with a block-uniform value read
// once (blockIdx.y): dynamic indexing inside a loop makes ptxas copy the struct to local memory.
#define JG_DECODE_ROWS_MAX 32
struct jg_positions {
    int pos[JG_DECODE_ROWS_MAX];
};
