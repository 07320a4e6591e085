/* Prefill's products for a model that keeps no float32 matrices (a GGUF file's blocks, an import converted to bf16 or
 * q8): each weight tile is decoded to bf16, the prompt rows are rounded to bf16 once per product, and the tile times the
 * rows is computed with vdpbf16ps, two bf16 products per float lane per instruction: twice float32 FMA's rate, where
 * the float32 path (tile decoded to float32, OpenBLAS sgemm) spent 46% of a 256-token prefill in sgemm (perf,
 * docs/PERFORMANCE.md). Products are summed in float32, as llama.cpp's bf16 dot products are; the rounding of the
 * prompt rows is decode's own for bf16 weights (decode_matvec.c rounds x the same way).
 *
 * The kernel computes a block of 4 prompt rows x 6 weight rows: 24 accumulators of 16 lanes, each the partial sums of
 * one output over a 32-element step of K, reduced at the end; a block of weight rows (6 x K bf16, 9 KiB for K 768)
 * stays in L1 while every prompt row passes. Threads split the weight rows. Needs AVX512-BF16 (Zen 4, Cooper Lake,
 * Sapphire Rapids) and K a multiple of 32; elsewhere prefill keeps the float32 path. */
#include "decode_internal.h"
#include <immintrin.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

int jgpt_prefill_bf16_available(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = !portable_forced() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16");
    }
    return cached;
}

/* n floats to bf16, rounded to nearest even (vcvtne2ps2bf16) */
AVX512BF16 void jgpt_to_bf16(uint16_t *dst, const float *src, long n) {
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
        _mm512_storeu_si512(dst + i, (__m512i)v);
    }
    for (; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, src + i, sizeof bits);
        dst[i] = (uint16_t)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }
}

/* Y[r * ldy + c] (= or +=, beta 0 or 1) X[r, :] . W[c, :] for R prompt rows and C weight rows, K a multiple of 32 */
AVX512BF16 static inline __attribute__((always_inline)) void block(const int R, const int C, float *Y, int ldy, const uint16_t *X,
                                                        const uint16_t *W, int K, float beta) {
    __m512 acc[4][6];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) acc[r][c] = _mm512_setzero_ps();
    for (int k = 0; k < K; k += 32) {
        __m512bh w[6];
        for (int c = 0; c < C; c++) w[c] = (__m512bh)_mm512_loadu_si512(W + (long)c * K + k);
        for (int r = 0; r < R; r++) {
            __m512bh x = (__m512bh)_mm512_loadu_si512(X + (long)r * K + k);
            for (int c = 0; c < C; c++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], x, w[c]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            float s = _mm512_reduce_add_ps(acc[r][c]);
            float *y = Y + (long)r * ldy + c;
            *y = beta != 0.0f ? *y + s : s;
        }
}

#define BLOCK(R, C)                                                                                                    \
    AVX512BF16 static void block_##R##_##C(float *Y, int ldy, const uint16_t *X, const uint16_t *W, int K, float beta) { \
        block(R, C, Y, ldy, X, W, K, beta);                                                                            \
    }
BLOCK(4, 1) BLOCK(4, 2) BLOCK(4, 3) BLOCK(4, 4) BLOCK(4, 5) BLOCK(4, 6)
BLOCK(1, 1) BLOCK(1, 2) BLOCK(1, 3) BLOCK(1, 4) BLOCK(1, 5) BLOCK(1, 6)

typedef void (*block_fn)(float *, int, const uint16_t *, const uint16_t *, int, float);
static const block_fn BLOCKS4[7] = {NULL, block_4_1, block_4_2, block_4_3, block_4_4, block_4_5, block_4_6};
static const block_fn BLOCKS1[7] = {NULL, block_1_1, block_1_2, block_1_3, block_1_4, block_1_5, block_1_6};

/* Y (T, N; row stride ldy) = X (T, K) W^T (+ Y when beta = 1), X and W bf16 row-major, K a multiple of 32; nt threads */
void jgpt_gemm_bf16(float *Y, int ldy, const uint16_t *X, int T, const uint16_t *W, int N, int K, float beta, int nt) {
    int nb = (N + 5) / 6;
    #pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int b = 0; b < nb; b++) {
        int n0 = b * 6, C = N - n0 < 6 ? N - n0 : 6;
        const uint16_t *w = W + (long)n0 * K;
        int t = 0;
        for (; t + 4 <= T; t += 4) BLOCKS4[C](Y + (long)t * ldy + n0, ldy, X + (long)t * K, w, K, beta);
        for (; t < T; t++) BLOCKS1[C](Y + (long)t * ldy + n0, ldy, X + (long)t * K, w, K, beta);
    }
}
