/* The product of one weight matrix with a few vectors (B sequences of a batched decode step), shared
 * by decode_llama_batch.c and decode_gpt2_batch.c; see decode_batch.h for why it is blocked and how
 * each row stays bit-identical to the one-sequence kernel (decode_matvec.c). */
#include "jgpt.h"
#include "decode_batch.h"
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* ---- q8 with x quantised once per product -------------------------------------------------------
 * The one-sequence q8 kernel (decode_matvec.c's mv_q8_vnni) quantises x to int8 per group at every
 * call; called per row block that would be paid once per block and vector and dominate. Here each
 * of the B vectors is quantised once per product (the same arithmetic: scale max|x|/127, round to
 * nearest), and the row loop below is mv_q8_vnni's, so results are bit-identical to it. Used exactly
 * when jgpt_decode_matvec_rows would pick mv_q8_vnni (AVX-512 VNNI, group a multiple of 32, no
 * JGPT_DECODE_KERNELS override). */

#define AVX512VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

static int q8_vnni_available(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = getenv("JGPT_DECODE_KERNELS") == NULL && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                 && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")
                 && __builtin_cpu_supports("avx512vnni");
    }
    return cached;
}

/* xq (n int8), sx (groups scales), xs (groups values -128 * sum(xq of the group)) of one vector */
static void quantise_x(int8_t *xq, float *sx, int *xs, const float *x, int n, int G) {
    int groups = n / G;
    for (int g = 0; g < groups; g++) {
        const float *p = x + g * G;
        float amax = 0.0f;
        for (int i = 0; i < G; i++) amax = fmaxf(amax, fabsf(p[i]));
        float scale = amax / 127.0f, inv = scale > 0.0f ? 1.0f / scale : 0.0f;
        int sum = 0;
        for (int i = 0; i < G; i++) {
            int q = (int)roundf(p[i] * inv);
            xq[g * G + i] = (int8_t)q;
            sum += q;
        }
        sx[g] = scale;
        xs[g] = -128 * sum;
    }
}

AVX512VNNI static void q8_rows_vnni(float *out, const int8_t *w, const float *scales, const int8_t *xq, const float *sx,
                                    const int *xs, int r0, int r1, int n, int G) {
    int groups = n / G, per = G / 32;
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    const int Q = (r1 - r0) / 4; /* one row from each quarter: four long streams (decode_matvec.c's ROWS4) */
    for (int q = 0; q < Q; q++) {
        const int r = r0 + q;
        const int8_t *wr[4] = { w + (long)r * n, w + (long)(r + Q) * n, w + (long)(r + 2 * Q) * n, w + (long)(r + 3 * Q) * n };
        const float *sr[4] = { scales + (long)r * groups, scales + (long)(r + Q) * groups,
                               scales + (long)(r + 2 * Q) * groups, scales + (long)(r + 3 * Q) * groups };
        __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
        for (int g = 0; g < groups; g++) {
            __m256i init = _mm256_setr_epi32(xs[g], 0, 0, 0, 0, 0, 0, 0);
            __m256i d[4] = { init, init, init, init };
            for (int k = 0; k < per; k++) {
                int off = g * G + k * 32;
                __m256i xv = _mm256_loadu_si256((const __m256i *)(xq + off));
                for (int j = 0; j < 4; j++) {
                    d[j] = _mm256_dpbusd_epi32(d[j], _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(wr[j] + off)), flip), xv);
                }
            }
            for (int j = 0; j < 4; j++) acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d[j]), _mm256_set1_ps(sr[j][g] * sx[g]), acc[j]);
        }
        for (int j = 0; j < 4; j++) {
            __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc[j]), _mm256_extractf128_ps(acc[j], 1));
            h = _mm_hadd_ps(h, h);
            h = _mm_hadd_ps(h, h);
            out[r + j * Q] = _mm_cvtss_f32(h);
        }
    }
    for (int r = r0 + 4 * Q; r < r1; r++) {
        const int8_t *wa = w + (long)r * n;
        const float *sa = scales + (long)r * groups;
        __m256 acc = _mm256_setzero_ps();
        for (int g = 0; g < groups; g++) {
            __m256i d = _mm256_setr_epi32(xs[g], 0, 0, 0, 0, 0, 0, 0);
            for (int k = 0; k < per; k++) {
                int off = g * G + k * 32;
                d = _mm256_dpbusd_epi32(d, _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(wa + off)), flip),
                                        _mm256_loadu_si256((const __m256i *)(xq + off)));
            }
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), _mm256_set1_ps(sa[g] * sx[g]), acc);
        }
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
        h = _mm_hadd_ps(h, h);
        h = _mm_hadd_ps(h, h);
        out[r] = _mm_cvtss_f32(h);
    }
}

/* Rows [r0, r1) for two vectors at once: each weight load (and its flip to unsigned) feeds both
 * vectors' dot products, so the batch costs fewer instructions per weight than two calls of the
 * kernel above. Every (row, vector) sum runs through the same operations in the same order as there. */
AVX512VNNI static void q8_rows_vnni_x2(float *out0, float *out1, const int8_t *w, const float *scales, const int8_t *xq0,
                                       const int8_t *xq1, const float *sx0, const float *sx1, const int *xs0,
                                       const int *xs1, int r0, int r1, int n, int G) {
    int groups = n / G, per = G / 32;
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    const int Q = (r1 - r0) / 4; /* one row from each quarter: four long streams (decode_matvec.c's ROWS4) */
    for (int q = 0; q < Q; q++) {
        const int r = r0 + q;
        const int8_t *wr[4] = { w + (long)r * n, w + (long)(r + Q) * n, w + (long)(r + 2 * Q) * n, w + (long)(r + 3 * Q) * n };
        const float *sr[4] = { scales + (long)r * groups, scales + (long)(r + Q) * groups,
                               scales + (long)(r + 2 * Q) * groups, scales + (long)(r + 3 * Q) * groups };
        __m256 a0[4], a1[4];
        for (int j = 0; j < 4; j++) a0[j] = a1[j] = _mm256_setzero_ps();
        for (int g = 0; g < groups; g++) {
            __m256i i0 = _mm256_setr_epi32(xs0[g], 0, 0, 0, 0, 0, 0, 0), i1 = _mm256_setr_epi32(xs1[g], 0, 0, 0, 0, 0, 0, 0);
            __m256i d0[4] = { i0, i0, i0, i0 }, d1[4] = { i1, i1, i1, i1 };
            for (int k = 0; k < per; k++) {
                int off = g * G + k * 32;
                __m256i x0 = _mm256_loadu_si256((const __m256i *)(xq0 + off)), x1 = _mm256_loadu_si256((const __m256i *)(xq1 + off));
                for (int j = 0; j < 4; j++) {
                    __m256i wv = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(wr[j] + off)), flip);
                    d0[j] = _mm256_dpbusd_epi32(d0[j], wv, x0);
                    d1[j] = _mm256_dpbusd_epi32(d1[j], wv, x1);
                }
            }
            for (int j = 0; j < 4; j++) {
                a0[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d0[j]), _mm256_set1_ps(sr[j][g] * sx0[g]), a0[j]);
                a1[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d1[j]), _mm256_set1_ps(sr[j][g] * sx1[g]), a1[j]);
            }
        }
        for (int j = 0; j < 4; j++) {
            __m128 h = _mm_add_ps(_mm256_castps256_ps128(a0[j]), _mm256_extractf128_ps(a0[j], 1));
            h = _mm_hadd_ps(h, h);
            h = _mm_hadd_ps(h, h);
            out0[r + j * Q] = _mm_cvtss_f32(h);
            h = _mm_add_ps(_mm256_castps256_ps128(a1[j]), _mm256_extractf128_ps(a1[j], 1));
            h = _mm_hadd_ps(h, h);
            h = _mm_hadd_ps(h, h);
            out1[r + j * Q] = _mm_cvtss_f32(h);
        }
    }
    if (r0 + 4 * Q < r1) {
        q8_rows_vnni(out0, w, scales, xq0, sx0, xs0, r0 + 4 * Q, r1, n, G);
        q8_rows_vnni(out1, w, scales, xq1, sx1, xs1, r0 + 4 * Q, r1, n, G);
    }
}

/* ---- f32, two vectors per weight load ------------------------------------------------------------
 * decode_matvec.c's mv_f32_avx512 for two vectors at once: each 16-weight load of four rows feeds
 * both vectors' FMA chains (8 accumulators), so a pair of sequences costs 6 loads per 8 FMAs instead
 * of 10. Per (row, vector) the operations and their order are mv_f32_avx512's (same accumulator
 * chain, same reduction, same scalar tail), so the sums are bit-identical. Used exactly when
 * jgpt_decode_matvec_rows would pick mv_f32_avx512. */

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

static int f32_avx512_available(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        const char *e = getenv("JGPT_DECODE_KERNELS");
        cached = (e == NULL || e[0] != 'p') && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                 && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    }
    return cached;
}

AVX512 static void f32_rows_x2(float *out0, float *out1, const float *w, const float *x0, const float *x1, int r0, int r1,
                               int n) {
    int n16 = n & ~15;
    const int Q = (r1 - r0) / 4; /* one row from each quarter: four long streams (decode_matvec.c's ROWS4) */
    for (int q = 0; q < Q; q++) {
        const int r = r0 + q;
        const float *w0 = w + (long)r * n, *w1 = w0 + (long)Q * n, *w2 = w1 + (long)Q * n, *w3 = w2 + (long)Q * n;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
        __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps(), b2 = _mm512_setzero_ps(), b3 = _mm512_setzero_ps();
        int i = 0;
        for (; i < n16; i += 16) {
            __m512 xa = _mm512_loadu_ps(x0 + i), xb = _mm512_loadu_ps(x1 + i);
            __m512 v0 = _mm512_loadu_ps(w0 + i), v1 = _mm512_loadu_ps(w1 + i), v2 = _mm512_loadu_ps(w2 + i),
                   v3 = _mm512_loadu_ps(w3 + i);
            a0 = _mm512_fmadd_ps(v0, xa, a0);
            a1 = _mm512_fmadd_ps(v1, xa, a1);
            a2 = _mm512_fmadd_ps(v2, xa, a2);
            a3 = _mm512_fmadd_ps(v3, xa, a3);
            b0 = _mm512_fmadd_ps(v0, xb, b0);
            b1 = _mm512_fmadd_ps(v1, xb, b1);
            b2 = _mm512_fmadd_ps(v2, xb, b2);
            b3 = _mm512_fmadd_ps(v3, xb, b3);
        }
        float s0 = _mm512_reduce_add_ps(a0), s1 = _mm512_reduce_add_ps(a1), s2 = _mm512_reduce_add_ps(a2),
              s3 = _mm512_reduce_add_ps(a3);
        float t0 = _mm512_reduce_add_ps(b0), t1 = _mm512_reduce_add_ps(b1), t2 = _mm512_reduce_add_ps(b2),
              t3 = _mm512_reduce_add_ps(b3);
        for (; i < n; i++) {
            s0 += w0[i] * x0[i]; s1 += w1[i] * x0[i]; s2 += w2[i] * x0[i]; s3 += w3[i] * x0[i];
            t0 += w0[i] * x1[i]; t1 += w1[i] * x1[i]; t2 += w2[i] * x1[i]; t3 += w3[i] * x1[i];
        }
        out0[r] = s0; out0[r + Q] = s1; out0[r + 2 * Q] = s2; out0[r + 3 * Q] = s3;
        out1[r] = t0; out1[r + Q] = t1; out1[r + 2 * Q] = t2; out1[r + 3 * Q] = t3;
    }
    if (r0 + 4 * Q < r1) {
        jgpt_qmat m = { w, NULL, JGPT_DECODE_F32, 0 };
        jgpt_decode_matvec_rows(&m, out0, x0, r0 + 4 * Q, r1, n);
        jgpt_decode_matvec_rows(&m, out1, x1, r0 + 4 * Q, r1, n);
    }
}

/* ---- the product of one matrix with B vectors ---------------------------------------------------- */

/* Weight bytes per row block: the block is read from memory by the first vector and from cache by the
 * others. JGPT_BATCH_BLOCK_KB overrides it (for measuring). */
#define DEFAULT_BLOCK_BYTES (32L * 1024)

static long block_bytes(void) {
    static long cached = -1;   /* a benign race: every thread computes the same value */
    if (cached < 0) {
        const char *e = getenv("JGPT_BATCH_BLOCK_KB");
        long kb = e != NULL && *e ? atol(e) : 0;
        cached = kb > 0 ? kb * 1024 : DEFAULT_BLOCK_BYTES;
    }
    return cached;
}

static int rows_per_block(const jgpt_qmat *w, int n) {
    long row_bytes = w->dtype == JGPT_DECODE_F32 ? 4L * n : w->dtype == JGPT_DECODE_BF16 ? 2L * n
                     : w->dtype == JGPT_DECODE_GGML ? jgpt_ggml_row_bytes(w->group, n) : (long)n + 4L * n / w->group;
    long r = block_bytes() / row_bytes;
    /* at least 32 rows: bf16/q8 convert x once per call, which must stay small next to the rows */
    if (r < 32) r = 32;
    return (int)(r & ~15L);
}

/* JGPT_BATCH_SGEMM=N: float32 products of N or more rows go to cblas_sgemm instead (for measuring). */
static int sgemm_from(void) {
    static int cached = -1;
    if (cached < 0) {
        const char *e = getenv("JGPT_BATCH_SGEMM");
        cached = e != NULL && *e ? atoi(e) : 0;
    }
    return cached;
}

/* Y[b, r] = W[r, :] . X[b, :] for b < B, r < rows; X rows ldx apart, Y rows ldy apart. qx: room for
 * B quantised vectors of n (q8 only: B * n * 1.25 bytes, 64-byte aligned). */
void jgpt_batch_matmul(const jgpt_qmat *w, float *Y, long ldy, const float *X, long ldx, int B, int rows, int n,
                       int nt, sgemm_fn sgemm, void *qx) {
    int from = sgemm_from();
    if (w->dtype == JGPT_DECODE_F32 && from > 0 && B >= from && sgemm != NULL) {
        sgemm(101, 111, 112, B, rows, n, 1.0f, X, (int)ldx, (const float *)w->data, n, 0.0f, Y, (int)ldy);
        return;
    }
    int rb = rows_per_block(w, n);
    int blocks = (rows + rb - 1) / rb;
    if (w->dtype == JGPT_DECODE_Q8 && w->group % 32 == 0 && q8_vnni_available()) {
        int G = w->group, groups = n / G;
        int8_t *xq = (int8_t *)qx;
        float *sx = (float *)(xq + (long)B * n);
        int *xs = (int *)(sx + (long)B * groups);
        for (int b = 0; b < B; b++) quantise_x(xq + (long)b * n, sx + (long)b * groups, xs + (long)b * groups, X + b * ldx, n, G);
        #pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
        for (int k = 0; k < blocks; k++) {
            int r0 = k * rb, r1 = r0 + rb < rows ? r0 + rb : rows;
            int b = 0;
            for (; b + 1 < B; b += 2)
                q8_rows_vnni_x2(Y + b * ldy, Y + (b + 1) * ldy, (const int8_t *)w->data, w->scales, xq + (long)b * n,
                                xq + (long)(b + 1) * n, sx + (long)b * groups, sx + (long)(b + 1) * groups,
                                xs + (long)b * groups, xs + (long)(b + 1) * groups, r0, r1, n, G);
            for (; b < B; b++)
                q8_rows_vnni(Y + b * ldy, (const int8_t *)w->data, w->scales, xq + (long)b * n, sx + (long)b * groups,
                             xs + (long)b * groups, r0, r1, n, G);
        }
        return;
    }
    int pairs = w->dtype == JGPT_DECODE_F32 && f32_avx512_available() ? B / 2 : 0;
    #pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int k = 0; k < blocks; k++) {
        int r0 = k * rb, r1 = r0 + rb < rows ? r0 + rb : rows;
        for (int p = 0; p < pairs; p++)
            f32_rows_x2(Y + 2 * p * ldy, Y + (2 * p + 1) * ldy, (const float *)w->data, X + 2 * p * ldx, X + (2 * p + 1) * ldx,
                        r0, r1, n);
        for (int b = 2 * pairs; b < B; b++) jgpt_decode_matvec_rows(w, Y + b * ldy, X + b * ldx, r0, r1, n);
    }
}

