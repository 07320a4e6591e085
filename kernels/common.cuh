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
#include <stdint.h>
#include <string.h>

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
// A 16-byte word seen as 4 floats or 8 bf16 through a union (not a pointer cast: the host emulation's C++ compiler may
// reorder accesses through a cast that breaks strict aliasing, and did). Held as read, it is 4 registers whatever its
// type (bf16 stays packed until jg_unpack16 widens it).
union JgWord16 {
    uint4 word;
    float f[4];
    __nv_bfloat16 h[8];
};
template <typename A>
__device__ __forceinline__ JgWord16 jg_word16(const A* p) {
    JgWord16 u;
    u.word = *reinterpret_cast<const uint4*>(p);
    return u;
}
// The word's elements as floats; the pointer's type says how to read it (4 floats or 8 bf16).
__device__ __forceinline__ void jg_unpack16(const JgWord16& u, float* out, const float*) {
#pragma unroll
    for (int i = 0; i < 4; i++) out[i] = u.f[i];
}
__device__ __forceinline__ void jg_unpack16(const JgWord16& u, float* out, const __nv_bfloat16*) {
#pragma unroll
    for (int i = 0; i < 8; i++) out[i] = __bfloat162float(u.h[i]);
}
template <typename A>
__device__ __forceinline__ void jg_load16(const A* p, float* out) {
    jg_unpack16(jg_word16(p), out, p);
}
__device__ __forceinline__ void jg_store16(float* p, const float* v) {
    *reinterpret_cast<float4*>(p) = float4{v[0], v[1], v[2], v[3]};
}
__device__ __forceinline__ void jg_store16(__nv_bfloat16* p, const float* v) {
    JgWord16 u;
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
// Whether every pointer given is 16-byte aligned (null counts as aligned): the block- or grid-uniform test before a
// kernel takes its 16-byte (or 4-element) access path.
template <typename... P>
__device__ __forceinline__ bool jg_aligned16(const P*... p) {
    return ((reinterpret_cast<unsigned long long>(p) | ... | 0ull) & 15ull) == 0;
}

// Four consecutive elements at once (16 bytes of fp32, 8 of bf16): p 4-element aligned.
__device__ __forceinline__ float4 jg_load4(const float* p) { return *reinterpret_cast<const float4*>(p); }
union JgBf16x4 {
    uint2 word;
    __nv_bfloat16 h[4];
};
__device__ __forceinline__ float4 jg_load4(const __nv_bfloat16* p) {
    JgBf16x4 u;
    u.word = *reinterpret_cast<const uint2*>(p);
    return float4{__bfloat162float(u.h[0]), __bfloat162float(u.h[1]), __bfloat162float(u.h[2]), __bfloat162float(u.h[3])};
}
__device__ __forceinline__ void jg_store4(__nv_bfloat16* p, float4 v) {
    JgBf16x4 u;
    u.h[0] = __float2bfloat16_rn(v.x);
    u.h[1] = __float2bfloat16_rn(v.y);
    u.h[2] = __float2bfloat16_rn(v.z);
    u.h[3] = __float2bfloat16_rn(v.w);
    *reinterpret_cast<uint2*>(p) = u.word;
}
__device__ __forceinline__ void jg_store4(float* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }
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

// ---- tensor-core primitives of sm_80 and later (kernels/attention_flash_mma.cu) ------------------------------------
// One PTX instruction each; their register layouts are the PTX ISA's (the host emulation, java/src/test/c/cuda_host/
// jg_host_ptx.h, implements the same layouts and documents them): with g = lane / 4 and t = lane % 4,
//   A (16 x 16 bf16, row-major): a[0] (row g, cols 2t..2t+1), a[1] (row g+8), a[2] (row g, cols 2t+8..), a[3] (row g+8, cols 2t+8..)
//   B (16 x 8 bf16, k x n): b[0] (k 2t..2t+1, col g), b[1] (k 2t+8..2t+9, col g)
//   C/D (16 x 8 fp32): d[0..1] (row g, cols 2t..2t+1), d[2..3] (row g+8, cols 2t..2t+1)
// so an S tile's accumulators for 16 consecutive columns, rounded to bf16 pairs, are an A operand as they are.
#ifndef JG_HOST_EMULATION
// d = A b + d: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
__device__ __forceinline__ void jg_mma_bf16_16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}
// Four 8 x 8 bf16 matrices from shared memory: lane l passes row l % 8 of matrix l / 8 (16 bytes, 16-byte aligned);
// register i gets matrix i's row l / 4, elements 2(l % 4) and 2(l % 4) + 1 (_trans: column l / 4, rows 2(l % 4), +1).
__device__ __forceinline__ void jg_ldmatrix_x4(uint32_t (&r)[4], const __nv_bfloat16* row) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    const unsigned a = (unsigned)__cvta_generic_to_shared(row);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
#endif
}
__device__ __forceinline__ void jg_ldmatrix_x4_trans(uint32_t (&r)[4], const __nv_bfloat16* row) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    const unsigned a = (unsigned)__cvta_generic_to_shared(row);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(a));
#endif
}
// 16 bytes global -> shared without passing through registers (both 16-byte aligned); src_bytes < 16 copies that many
// and zero-fills the rest (0: reads nothing). Complete only after jg_cp_async_commit and jg_cp_async_wait<N> (all
// committed groups but the newest N), and visible to other threads after a barrier that follows the wait.
__device__ __forceinline__ void jg_cp_async16(void* smem_dst, const void* global_src, int src_bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    const unsigned d = (unsigned)__cvta_generic_to_shared(smem_dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(global_src), "r"(src_bytes));
#endif
}
__device__ __forceinline__ void jg_cp_async_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.commit_group;\n" ::);
#endif
}
template <int N>
__device__ __forceinline__ void jg_cp_async_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}
#endif  // JG_HOST_EMULATION

// Two fp32 values as one bf16 pair (lo in the lower 16 bits): an A or B operand register.
__device__ __forceinline__ uint32_t jg_pack_bf16x2(float lo, float hi) {
    const __nv_bfloat16 l = __float2bfloat16_rn(lo), h = __float2bfloat16_rn(hi);
    uint16_t lb, hb;
    memcpy(&lb, &l, 2);
    memcpy(&hb, &h, 2);
    return (uint32_t)lb | (uint32_t)hb << 16;
}
