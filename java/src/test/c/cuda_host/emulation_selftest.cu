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

// writes one float past the launch's dynamic shared memory (n = blockDim.x floats were asked for)
extern "C" __global__ void selftest_shared_overrun(float* out) {
    JG_DYNAMIC_SHARED(float, s);
    s[threadIdx.x + 1] = 1.0f;
    __syncthreads();
    out[threadIdx.x] = s[threadIdx.x];
}

// ---- WMMA (mma.h): one warp per block ----------------------------------------------------------------
#include <cuda_bf16.h>
#include <mma.h>
namespace wm = nvcuda::wmma;

// correct: d[0..256) = A (16x32, row-major, ldm 32) B (32x16 from b as col-major, ldm 32) + C (16x16 row-major),
// stored row-major; d[256..512) = A B' + C with B' = b read as 32x16 row-major (ldm 16), stored column-major
extern "C" __global__ void selftest_wmma_product(float* d, const __nv_bfloat16* a, const __nv_bfloat16* b, const float* c) {
    wm::fragment<wm::matrix_a, 16, 16, 16, __nv_bfloat16, wm::row_major> fa;
    wm::fragment<wm::matrix_b, 16, 16, 16, __nv_bfloat16, wm::col_major> fb;
    wm::fragment<wm::matrix_b, 16, 16, 16, __nv_bfloat16, wm::row_major> fr;
    wm::fragment<wm::accumulator, 16, 16, 16, float> acc, acc2;
    wm::load_matrix_sync(acc, c, 16, wm::mem_row_major);
    wm::load_matrix_sync(acc2, c, 16, wm::mem_row_major);
    for (int k = 0; k < 32; k += 16) {
        wm::load_matrix_sync(fa, a + k, 32);
        wm::load_matrix_sync(fb, b + k, 32);
        wm::mma_sync(acc, fa, fb, acc);
        wm::load_matrix_sync(fr, b + k * 16, 16);
        wm::mma_sync(acc2, fa, fr, acc2);
    }
    wm::store_matrix_sync(d, acc, 16, wm::mem_row_major);
    wm::store_matrix_sync(d + 256, acc2, 16, wm::mem_col_major);
}

// a pointer 16 bytes past a 32-byte boundary: WMMA needs 256-bit alignment
extern "C" __global__ void selftest_wmma_misaligned(float* d, const __nv_bfloat16* a) {
    wm::fragment<wm::matrix_a, 16, 16, 16, __nv_bfloat16, wm::row_major> fa;
    wm::load_matrix_sync(fa, a + 8, 32);
    d[threadIdx.x] = __bfloat162float(fa.x[0]);
}

// ldm 12 bf16 elements (24 bytes): WMMA needs a multiple of 16 bytes
extern "C" __global__ void selftest_wmma_bad_ldm(float* d, const __nv_bfloat16* a) {
    wm::fragment<wm::matrix_a, 16, 16, 16, __nv_bfloat16, wm::row_major> fa;
    wm::load_matrix_sync(fa, a, 12);
    d[threadIdx.x] = __bfloat162float(fa.x[0]);
}

// half the warp has exited when the other half loads a fragment
extern "C" __global__ void selftest_wmma_half_warp(float* d, const __nv_bfloat16* a) {
    if (threadIdx.x % 32 >= 16) return;
    wm::fragment<wm::matrix_a, 16, 16, 16, __nv_bfloat16, wm::row_major> fa;
    wm::load_matrix_sync(fa, a, 32);
    d[threadIdx.x] = __bfloat162float(fa.x[0]);
}

// assumes an accumulator layout (one GPU's: row lane/4 (+8), column 2 (lane%4) (+1, +8)) and writes
// row * 16 + column into each element: the stored tile is 0, 1, 2, ... only where that assumption holds
extern "C" __global__ void selftest_wmma_layout_assumption(float* d) {
    wm::fragment<wm::accumulator, 16, 16, 16, float> acc;
    const int lane = threadIdx.x % 32;
    for (int e = 0; e < acc.num_elements; e++) {
        const int row = lane / 4 + 8 * ((e / 2) % 2), col = (lane % 4) * 2 + (e % 2) + 8 * (e / 4);
        acc.x[e] = (float)(row * 16 + col);
    }
    wm::store_matrix_sync(d, acc, 16, wm::mem_row_major);
}

// ---- PTX tensor-core primitives (jg_host_ptx.h): one warp per block -------------------------------------------

// correct: A (16 x 32 bf16, row-major) and two right operands reach shared memory by cp.async (rows of 40 bf16), then
// registers by ldmatrix; d[0..256) = A Bt^T + C with Bt (16 x 32, row-major: the product's columns are Bt's rows,
// ldmatrix as in attention's S = Q K^T), d[256..512) = A Bk + C with Bk (32 x 16, row-major: ldmatrix .trans, as in
// P V); C (16 x 16 row-major), both stored row-major from the accumulators' documented layout.
extern "C" __global__ void selftest_ptx_product(float* d, const __nv_bfloat16* a, const __nv_bfloat16* bt,
                                                const __nv_bfloat16* bk, const float* c) {
    JG_DYNAMIC_SHARED(uint4, smem);
    constexpr int L = 40;  // row stride (bf16) of the 16 x 32 tiles; Bk's 32 x 16 tile uses 24
    __nv_bfloat16* As = reinterpret_cast<__nv_bfloat16*>(smem);
    __nv_bfloat16* Bts = As + 16 * L;
    __nv_bfloat16* Bks = Bts + 16 * L;
    const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4, m = lane / 8;
    for (int i = lane; i < 16 * 4; i += 32) {  // 16 rows x 4 chunks of 8 bf16
        const int r = i / 4, col = (i % 4) * 8;
        jg_cp_async16(As + r * L + col, a + r * 32 + col, 16);
        jg_cp_async16(Bts + r * L + col, bt + r * 32 + col, 16);
    }
    for (int i = lane; i < 32 * 2; i += 32) {  // 32 rows x 2 chunks
        const int r = i / 2, col = (i % 2) * 8;
        jg_cp_async16(Bks + r * 24 + col, bk + r * 16 + col, 16);
    }
    jg_cp_async_commit();
    jg_cp_async_wait<0>();
    __syncwarp();
    float acc[2][2][4];  // [product][n-tile][element]
    for (int p = 0; p < 2; p++)
        for (int n = 0; n < 2; n++)
            for (int e = 0; e < 4; e++) acc[p][n][e] = c[(g + (e >= 2 ? 8 : 0)) * 16 + n * 8 + 2 * t + (e & 1)];
    for (int k0 = 0; k0 < 32; k0 += 16) {
        uint32_t af[4], br[4], bkr[4];
        jg_ldmatrix_x4(af, As + ((m & 1) * 8 + lane % 8) * L + k0 + (m >> 1) * 8);
        jg_ldmatrix_x4(br, Bts + ((m >> 1) * 8 + lane % 8) * L + k0 + (m & 1) * 8);
        jg_ldmatrix_x4_trans(bkr, Bks + (k0 + (m & 1) * 8 + lane % 8) * 24 + (m >> 1) * 8);
        const uint32_t b0[2] = {br[0], br[1]}, b1[2] = {br[2], br[3]}, k0f[2] = {bkr[0], bkr[1]}, k1f[2] = {bkr[2], bkr[3]};
        jg_mma_bf16_16816(acc[0][0], af, b0);
        jg_mma_bf16_16816(acc[0][1], af, b1);
        jg_mma_bf16_16816(acc[1][0], af, k0f);
        jg_mma_bf16_16816(acc[1][1], af, k1f);
    }
    for (int p = 0; p < 2; p++)
        for (int n = 0; n < 2; n++)
            for (int e = 0; e < 4; e++) d[p * 256 + (g + (e >= 2 ? 8 : 0)) * 16 + n * 8 + 2 * t + (e & 1)] = acc[p][n][e];
}

// cp.async without the wait: the copy has not landed when the block reads it (NaN, the block's initial shared memory);
// group 0 waited for with wait<1> while group 1 is in flight: out[0..4) the data, out[4..8) still NaN
extern "C" __global__ void selftest_cp_async_groups(float* out, const float* in) {
    JG_DYNAMIC_SHARED(float4, s);
    if (threadIdx.x == 0) {
        jg_cp_async16(&s[0], in, 16);
        jg_cp_async_commit();
        jg_cp_async16(&s[1], in + 4, 16);
        jg_cp_async_commit();
        jg_cp_async16(&s[2], in + 8, 16);  // never waited for
        jg_cp_async_wait<1>();
    }
    __syncthreads();
    if (threadIdx.x < 12) out[threadIdx.x] = reinterpret_cast<const float*>(s)[threadIdx.x];
}

// an ldmatrix row address 2 bytes past a 16-byte boundary
extern "C" __global__ void selftest_ldmatrix_misaligned(float* d, const __nv_bfloat16* a) {
    uint32_t r[4];
    jg_ldmatrix_x4(r, a + 1 + (threadIdx.x % 8) * 16);
    d[threadIdx.x] = (float)r[0];
}

// half the warp has exited when the other half issues an mma
extern "C" __global__ void selftest_mma_half_warp(float* d) {
    if (threadIdx.x % 32 >= 16) return;
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    const uint32_t a[4] = {0u, 0u, 0u, 0u}, b[2] = {0u, 0u};
    jg_mma_bf16_16816(acc, a, b);
    d[threadIdx.x] = acc[0];
}
