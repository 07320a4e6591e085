/*
 * The device side of jgpt's host emulation of CUDA: what the kernels/ .cu files need from CUDA, for a plain C++
 * compiler, so the real kernel source runs on the CPU (java/src/test/c/cuda_host/README.md).
 *
 * Every CUDA thread of a block is a fiber on the calling OS thread; blocks run one after another. So
 * shared memory is a static (one block at a time; NaN-filled before each block), atomics are plain read-modify-writes, and the only
 * points where threads meet are the barriers below, which the scheduler (jg_host_runtime.cpp) checks:
 * every live thread of the block must wait at the same __syncthreads (same source line, same count), every
 * live lane of a warp must have passed the same number of warp barriers, or the launch fails naming the
 * kernel, block and threads. Shuffles read other lanes through a double-buffered
 * per-warp slot; a lane that has exited reads as all-ones bits (NaN for floats), as undefined on a GPU.
 */
#pragma once
#include <math.h>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

struct uint3 { unsigned x, y, z; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(8) uint2 { unsigned x, y; };
struct alignas(16) uint4 { unsigned x, y, z, w; };
struct dim3 { unsigned x = 1, y = 1, z = 1; };

namespace jg_host {
struct Thread {
    uint3 idx;        // threadIdx
    int linear;       // x + y*Dx + z*Dx*Dy
    int lane, warp;   // linear % 32, linear / 32
};
extern Thread *current;
extern uint3 block_idx;
extern dim3 block_dim, grid_dim;
extern unsigned char *dynamic_shared;

void sync_block(const char *file, int line);  // __syncthreads at file:line
void sync_warp();                   // __syncwarp (full mask)
uint64_t exchange(uint64_t bits, int src_lane);  // write my bits, meet the warp, read src_lane's
// a warp barrier for a warp-collective call (mma.h): returns the lanes that took part, *lane0 = lane 0's bits
uint32_t warp_collective(uint64_t bits, uint64_t *lane0);
[[noreturn]] void fail(const char *why);          // ends the launch with an error naming the thread

template <class T> T shuffle(T v, int src_lane) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffle of a value wider than 8 bytes");
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    bits = exchange(bits, src_lane);
    T out;
    std::memcpy(&out, &bits, sizeof(T));
    return out;
}
inline void check_full_mask(unsigned mask) {
    if (mask != 0xffffffffu) fail("a warp primitive with a partial mask (not emulated)");
}
}  // namespace jg_host

#define __global__
#define __device__
#define __host__
#define __forceinline__ static inline __attribute__((always_inline))  // static: its shared arrays are not COMDAT
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
// static shared arrays all live in one section, so the scheduler can fill them with all-ones bits (NaN)
// before every block, as a GPU leaves shared memory undefined
#define __shared__ static __attribute__((section("jg_shared"), used))
#define threadIdx (jg_host::current->idx)
#define blockIdx (jg_host::block_idx)
#define blockDim (jg_host::block_dim)
#define gridDim (jg_host::grid_dim)
#define warpSize 32
// dynamic shared memory (kernels declare it with JG_DYNAMIC_SHARED, see kernels/common.cuh)
#define JG_DYNAMIC_SHARED(type, name) type *const name = reinterpret_cast<type *>(jg_host::dynamic_shared)
// stores that several blocks make with the same values (kernels/common.cuh): not instrumented for the race tracker
#define JG_SAME_VALUE_WRITES __attribute__((no_sanitize_thread))

#define __syncthreads() jg_host::sync_block(__FILE__, __LINE__)
inline void __syncwarp(unsigned mask = 0xffffffffu) { jg_host::check_full_mask(mask); jg_host::sync_warp(); }
template <class T> T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    jg_host::check_full_mask(mask);
    const int base = jg_host::current->lane & ~(width - 1);
    return jg_host::shuffle(v, base + (src & (width - 1)));
}
template <class T> T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    jg_host::check_full_mask(mask);
    const int lane = jg_host::current->lane, src = lane ^ lane_mask;
    return jg_host::shuffle(v, (src & ~(width - 1)) == (lane & ~(width - 1)) ? src : lane);
}
template <class T> T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    jg_host::check_full_mask(mask);
    const int lane = jg_host::current->lane, src = lane + (int)delta;
    return jg_host::shuffle(v, (src & ~(width - 1)) == (lane & ~(width - 1)) ? src : lane);
}

// one OS thread runs every CUDA thread: read-modify-write is atomic here (and, being atomic on a GPU too, not a race
// between blocks: the race tracker's instrumentation leaves these out)
#define JG_ATOMIC template <class T> __attribute__((no_sanitize_thread)) T
JG_ATOMIC atomicAdd(T *address, T v) { T old = *address; *address = old + v; return old; }
JG_ATOMIC atomicMax(T *address, T v) { T old = *address; if (v > old) *address = v; return old; }
JG_ATOMIC atomicMin(T *address, T v) { T old = *address; if (v < old) *address = v; return old; }
#undef JG_ATOMIC

// CUDA's device overloads of min/max for integer and mixed arguments
template <class A, class B> inline typename std::common_type<A, B>::type min(A a, B b) { return b < a ? b : a; }
template <class A, class B> inline typename std::common_type<A, B>::type max(A a, B b) { return a < b ? b : a; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
template <class T> inline T __ldg(const T *p) { return *p; }
