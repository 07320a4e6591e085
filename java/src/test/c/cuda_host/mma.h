/*
 * jgpt host emulation: the part of CUDA's mma.h (nvcuda::wmma, warp matrix multiply-accumulate) that kernels/
 * uses: m16n16k16 fragments of __nv_bfloat16 (matrix_a / matrix_b, row_major / col_major) and float
 * accumulators; fill_fragment, load_matrix_sync, store_matrix_sync, mma_sync; num_elements and x[].
 *
 * Warp-collective, as on a GPU: each lane holds its own 8 of a fragment's 256 elements, under a mapping this
 * emulation chooses on purpose unlike any GPU's (an affine permutation of the tile, different for matrix_a,
 * matrix_b and accumulator), so a kernel that assumes which lane holds which element (row = lane / 4, ...)
 * computes wrong numbers here. mma_sync exchanges the lanes' shares through emulation-private per-warp storage
 * between two warp barriers. Checked, ending the launch with an error naming the thread (jg_host::fail):
 * every lane of the warp takes part in each load/store/mma (no exited or divergent lanes, no partial warps),
 * every lane passes the same pointer and ldm, the pointer is 256-bit (32-byte) aligned, ldm is a multiple of
 * 8 for bf16 / 4 for float elements (16 bytes), and the layout of an accumulator load/store is one of the two.
 * Arithmetic: bf16 x bf16 products are exact in fp32; they are summed in fp32 onto the accumulator in k order
 * (the GPU's order and internal rounding may differ slightly; tests hold results to bf16-sized bounds).
 */
#pragma once
#include <cstdint>
#include <cstdio>

#include "cuda_bf16.h"
#include "jg_host.h"

namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

namespace detail {
// Element e (0..7) of lane l sits at tile position (MUL * (e * 32 + l) + ADD) mod 256 (row = position / 16,
// column = position % 16): a bijection (MUL odd), spread over rows and columns unlike the GPU's layouts.
template <class Use> struct mapping;
template <> struct mapping<matrix_a> { static constexpr int MUL = 101, ADD = 3; };
template <> struct mapping<matrix_b> { static constexpr int MUL = 73, ADD = 200; };
template <> struct mapping<accumulator> { static constexpr int MUL = 37, ADD = 11; };

template <class Use> inline int position(int e) {
    return (mapping<Use>::MUL * (e * 32 + jg_host::current->lane) + mapping<Use>::ADD) & 255;
}

// The warp barrier of a wmma call: every lane of the warp must take part and pass the same pointer and ldm;
// the pointer must be 32-byte aligned and ldm a multiple of 16 bytes' worth of elements (element_bytes 0:
// no pointer, mma_sync).
inline void collective(const char *what, const void *ptr, unsigned ldm, unsigned element_bytes) {
    static char why[200];
    const uint64_t key = (uint64_t)(uintptr_t)ptr * 1000003u + ldm;
    uint64_t first = 0;
    const uint32_t lanes = jg_host::warp_collective(key, &first);
    if (lanes != 0xffffffffu) {
        snprintf(why, sizeof why, "wmma %s without every lane of the warp (lanes 0x%08x took part)", what, lanes);
        jg_host::fail(why);
    }
    if (first != key) {
        snprintf(why, sizeof why, "wmma %s: the lanes of the warp pass different pointers or ldm", what);
        jg_host::fail(why);
    }
    if (element_bytes == 0) return;
    if ((uintptr_t)ptr % 32 != 0) {
        snprintf(why, sizeof why, "wmma %s: pointer %p is not 256-bit (32-byte) aligned", what, ptr);
        jg_host::fail(why);
    }
    if (ldm % (16 / element_bytes) != 0) {
        snprintf(why, sizeof why, "wmma %s: ldm %u is not a multiple of %u elements (16 bytes)", what, ldm, 16 / element_bytes);
        jg_host::fail(why);
    }
}
// mma_sync's exchange: 3 x 256 floats per warp (A, B, C row-major), private to the emulation
inline float *warp_tiles() {
    static float tiles[32][3 * 256];
    return tiles[jg_host::current->warp];
}
}  // namespace detail

template <class Use, int M, int N, int K, class T, class Layout = void> class fragment {
    static_assert(M == 16 && N == 16 && K == 16, "the host emulation has m16n16k16 fragments only");

public:
    using storage_element_type = T;
    enum { num_elements = 8 };
    T x[num_elements];
};

template <class Use, class T, class Layout>
inline void fill_fragment(fragment<Use, 16, 16, 16, T, Layout> &f, T v) {
    for (int e = 0; e < 8; e++) f.x[e] = v;
}
template <class Use, class Layout>
inline void fill_fragment(fragment<Use, 16, 16, 16, __nv_bfloat16, Layout> &f, float v) {
    for (int e = 0; e < 8; e++) f.x[e] = __float2bfloat16_rn(v);
}

// matrix_a / matrix_b from bf16 memory: element (r, c) of the tile at p[r * ldm + c] (row_major) or p[c * ldm + r]
template <class Use, class Layout>
inline void load_matrix_sync(fragment<Use, 16, 16, 16, __nv_bfloat16, Layout> &f, const __nv_bfloat16 *p, unsigned ldm) {
    static_assert(std::is_same<Layout, row_major>::value || std::is_same<Layout, col_major>::value,
                  "a matrix_a/matrix_b fragment needs row_major or col_major");
    detail::collective("load_matrix_sync", p, ldm, 2);
    for (int e = 0; e < 8; e++) {
        const int pos = detail::position<Use>(e), r = pos / 16, c = pos % 16;
        f.x[e] = std::is_same<Layout, row_major>::value ? p[r * ldm + c] : p[c * ldm + r];
    }
}

inline void load_matrix_sync(fragment<accumulator, 16, 16, 16, float> &f, const float *p, unsigned ldm, layout_t layout) {
    detail::collective("load_matrix_sync", p, ldm, 4);
    if (layout != mem_row_major && layout != mem_col_major) jg_host::fail("wmma load_matrix_sync: layout is not mem_row_major/mem_col_major");
    for (int e = 0; e < 8; e++) {
        const int pos = detail::position<accumulator>(e), r = pos / 16, c = pos % 16;
        f.x[e] = layout == mem_row_major ? p[r * ldm + c] : p[c * ldm + r];
    }
}

inline void store_matrix_sync(float *p, const fragment<accumulator, 16, 16, 16, float> &f, unsigned ldm, layout_t layout) {
    detail::collective("store_matrix_sync", p, ldm, 4);
    if (layout != mem_row_major && layout != mem_col_major) jg_host::fail("wmma store_matrix_sync: layout is not mem_row_major/mem_col_major");
    for (int e = 0; e < 8; e++) {
        const int pos = detail::position<accumulator>(e), r = pos / 16, c = pos % 16;
        (layout == mem_row_major ? p[r * ldm + c] : p[c * ldm + r]) = f.x[e];
    }
    // no barrier after the store: as on a GPU, lanes that read what other lanes stored need a __syncwarp first
}

// d = a b + c (d may be c): the lanes deposit their shares, meet, each computes its share of d, meet again
template <class LA, class LB>
inline void mma_sync(fragment<accumulator, 16, 16, 16, float> &d, const fragment<matrix_a, 16, 16, 16, __nv_bfloat16, LA> &a,
                     const fragment<matrix_b, 16, 16, 16, __nv_bfloat16, LB> &b, const fragment<accumulator, 16, 16, 16, float> &c) {
    float *A = detail::warp_tiles(), *Bt = A + 256, *Ct = A + 512;
    for (int e = 0; e < 8; e++) {
        A[detail::position<matrix_a>(e)] = __bfloat162float(a.x[e]);
        Bt[detail::position<matrix_b>(e)] = __bfloat162float(b.x[e]);
        Ct[detail::position<accumulator>(e)] = c.x[e];
    }
    detail::collective("mma_sync", nullptr, 0, 0);
    float out[8];
    for (int e = 0; e < 8; e++) {
        const int pos = detail::position<accumulator>(e), r = pos / 16, col = pos % 16;
        float s = Ct[pos];
        for (int k = 0; k < 16; k++) s += A[r * 16 + k] * Bt[k * 16 + col];
        out[e] = s;
    }
    jg_host::sync_warp();  // every lane has read the tiles before any lane's next mma_sync writes them
    for (int e = 0; e < 8; e++) d.x[e] = out[e];
}
}  // namespace wmma
}  // namespace nvcuda
