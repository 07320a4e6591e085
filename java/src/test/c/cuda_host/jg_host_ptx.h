/*
 * jgpt host emulation: the PTX-level tensor-core primitives of kernels/common.cuh (jg_mma_bf16_16816,
 * jg_ldmatrix_x4[_trans], jg_cp_async16 / _commit / _wait), which on a GPU are one inline-asm instruction each
 * (mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32, ldmatrix.sync.aligned.m8n8.x4[.trans].shared.b16,
 * cp.async.cg.shared.global + commit_group / wait_group).
 *
 * Unlike the WMMA emulation (mma.h), whose fragment layout is unspecified and deliberately scrambled here, these
 * instructions have a layout the PTX ISA documents, and kernels rely on it (register softmax on S, P fed back as an
 * A operand): so this emulation implements exactly that layout. With groupID g = lane / 4 and t = lane % 4:
 *   A (16 x 16, row): a[0] = (row g, cols 2t, 2t+1), a[1] = (row g+8, same cols), a[2] = (row g, cols 2t+8, 2t+9),
 *                     a[3] = (row g+8, cols 2t+8, 2t+9); the lower 16 bits hold the lower column.
 *   B (16 x 8, col):  b[0] = (rows 2t, 2t+1, col g), b[1] = (rows 2t+8, 2t+9, col g).
 *   C, D (16 x 8):    d[0], d[1] = (row g, cols 2t, 2t+1), d[2], d[3] = (row g+8, cols 2t, 2t+1).
 *   ldmatrix .x4:     lane l passes the address of row l % 8 of matrix l / 8 (16 bytes, 16-byte aligned); register
 *                     i of lane l gets matrix i's row l / 4, elements 2(l % 4) and 2(l % 4) + 1; with .trans, its
 *                     elements (2(l % 4), l / 4) and (2(l % 4) + 1, l / 4) (column l / 4).
 * Checked, ending the launch with an error naming the thread: every lane of the warp takes part in each mma and
 * ldmatrix, and ldmatrix rows are 16-byte aligned. Arithmetic as the WMMA emulation: bf16 x bf16 products are exact
 * in fp32, summed onto the accumulator in k order.
 *
 * cp.async is emulated as asynchronous as it may be on a GPU: a copy does not happen when it is issued, but when
 * the issuing thread's jg_cp_async_wait<N> retires its group (all committed groups but the newest N), so a kernel
 * that reads the destination before waiting, or before the barrier after the wait (another thread's copy), reads
 * what was there before (all-ones bits, NaN, at the start of a block). src_bytes < 16 copies that many bytes and
 * zero-fills the rest (src_bytes 0: no read at all), as cp.async's src-size operand.
 */
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "cuda_bf16.h"
#include "jg_host.h"

#define JG_HOST_EMULATION 1

namespace jg_host {
// cp.async, kept per thread of the block by the runtime (jg_host_runtime.cpp); cleared before every block
void async_copy(void *dst, const void *src, int src_bytes);
void async_commit();
void async_wait(int newest_left);

namespace ptx {
struct WarpStore {
    uint32_t a[32][4];
    uint32_t b[32][2];
    const unsigned char *row[32];
};
inline WarpStore &store() {
    static WarpStore per_warp[32];
    return per_warp[current->warp];
}
inline void all_lanes(const char *what) {
    static char why[160];
    uint64_t first = 0;
    const uint32_t lanes = warp_collective(0, &first);
    if (lanes != 0xffffffffu) {
        snprintf(why, sizeof why, "%s without every lane of the warp (lanes 0x%08x took part)", what, lanes);
        fail(why);
    }
}
inline float bf16_at(uint32_t word, int half) {
    return __bfloat162float(__nv_bfloat16{(uint16_t)(half ? word >> 16 : word & 0xffffu)});
}
}  // namespace ptx
}  // namespace jg_host

// d = A b + d, one 16 x 8 x 16 tile, fp32 accumulators
inline void jg_mma_bf16_16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    using namespace jg_host;
    ptx::WarpStore &w = ptx::store();
    const int lane = current->lane;
    for (int i = 0; i < 4; i++) w.a[lane][i] = a[i];
    for (int i = 0; i < 2; i++) w.b[lane][i] = b[i];
    ptx::all_lanes("mma.sync");
    const int g = lane / 4, t = lane % 4;
    float out[4];
    for (int i = 0; i < 4; i++) {
        const int row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i & 1);
        float s = d[i];
        for (int k = 0; k < 16; k++) {
            // A(row, k) sits in lane (row % 8) * 4 + (k % 8) / 2, register (row >= 8) + 2 (k >= 8), half k % 2;
            // B(k, col) in lane col * 4 + (k % 8) / 2, register (k >= 8), half k % 2
            const float av = ptx::bf16_at(w.a[(row % 8) * 4 + (k % 8) / 2][(row >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0)], k & 1);
            const float bv = ptx::bf16_at(w.b[col * 4 + (k % 8) / 2][k >= 8 ? 1 : 0], k & 1);
            s += av * bv;
        }
        out[i] = s;
    }
    sync_warp();  // every lane has read the others' operands before any lane's next mma writes its own
    for (int i = 0; i < 4; i++) d[i] = out[i];
}

namespace jg_host {
namespace ptx {
template <bool TRANS>
inline void ldmatrix_x4(uint32_t (&r)[4], const void *row) {
    WarpStore &w = store();
    const int lane = current->lane;
    if ((uintptr_t)row % 16 != 0) {
        static char why[120];
        snprintf(why, sizeof why, "ldmatrix: row address %p is not 16-byte aligned", row);
        fail(why);
    }
    w.row[lane] = static_cast<const unsigned char *>(row);
    all_lanes("ldmatrix");
    const int g = lane / 4, t = lane % 4;
    uint32_t out[4];
    for (int i = 0; i < 4; i++) {
        uint16_t lo, hi;
        if (!TRANS) {  // row g of matrix i, elements 2t, 2t+1
            std::memcpy(&lo, w.row[i * 8 + g] + 4 * t, 2);
            std::memcpy(&hi, w.row[i * 8 + g] + 4 * t + 2, 2);
        } else {       // column g of matrix i, rows 2t, 2t+1
            std::memcpy(&lo, w.row[i * 8 + 2 * t] + 2 * g, 2);
            std::memcpy(&hi, w.row[i * 8 + 2 * t + 1] + 2 * g, 2);
        }
        out[i] = (uint32_t)lo | (uint32_t)hi << 16;
    }
    sync_warp();  // every lane has read the row addresses before any lane's next ldmatrix writes its own
    for (int i = 0; i < 4; i++) r[i] = out[i];
}
}  // namespace ptx
}  // namespace jg_host

inline void jg_ldmatrix_x4(uint32_t (&r)[4], const __nv_bfloat16 *row) { jg_host::ptx::ldmatrix_x4<false>(r, row); }
inline void jg_ldmatrix_x4_trans(uint32_t (&r)[4], const __nv_bfloat16 *row) { jg_host::ptx::ldmatrix_x4<true>(r, row); }

inline void jg_cp_async16(void *smem_dst, const void *global_src, int src_bytes) {
    jg_host::async_copy(smem_dst, global_src, src_bytes);
}
inline void jg_cp_async_commit() { jg_host::async_commit(); }
template <int N> inline void jg_cp_async_wait() { jg_host::async_wait(N); }
