/* Matrix-vector products over ggml's blocks as a GGUF file stores them (JGPT_DECODE_GGML): Q4_K, Q6_K and Q8_0,
 * plus F16, so that a llama.cpp file decodes from its own bytes — 4.5 bits a weight for Q4_K, 6.56 for Q6_K —
 * instead of a q8 copy at 9. The block layouts are ggml's (ggml-common.h; GgmlType.java decodes the same bytes):
 *
 *   Q8_0  per 32 weights:  f16 d, int8 q[32]                               w = d q
 *   Q4_K  per 256 weights: f16 d, f16 dmin, 12 bytes of eight 6-bit scales and mins, 128 bytes of 4-bit q;
 *         sub-block s (32 weights) has scale sc_s and min m_s:              w = d sc_s q - dmin m_s
 *   Q6_K  per 256 weights: 128 bytes of low 4 bits, 64 of high 2 bits, int8 scales[16] (one per 16), f16 d
 *                                                                          w = d sc (q - 32)
 *
 * Like the q8 VNNI kernel, x is quantised to int8 per block of 32 once per call (scale max|x| / 127) and each block's
 * dot product is an integer one (vpdpbusd: unsigned bytes times signed bytes, 32 a instruction). Q4_K's and Q6_K's
 * weights are unsigned already (0..15, 0..63); Q6_K's -32 and Q8_0's sign flip (q + 128) are taken out by starting
 * the block's accumulator at -32 (or -128) times the sums of xq; Q4_K's minimum is subtracted in float with the exact
 * sum of x over its sub-block. Four rows at a time, from the four quarters of the range (four long streams, see
 * decode_matvec.c). Without AVX-512 VNNI each row is dequantised to float32 and dotted with x (the definition).
 */
#include "jgpt.h"
#include "decode_internal.h"
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { GGML_F32 = 0, GGML_F16 = 1, GGML_Q8_0 = 8, GGML_Q4_K = 12, GGML_Q6_K = 14, GGML_BF16 = 30 };

long jgpt_ggml_row_bytes(int type, long n) {
    switch (type) {
    case GGML_F32: return 4 * n;
    case GGML_F16: case GGML_BF16: return 2 * n;
    case GGML_Q8_0: return n % 32 ? -1 : n / 32 * 34;
    case GGML_Q4_K: return n % 256 ? -1 : n / 256 * 144;
    case GGML_Q6_K: return n % 256 ? -1 : n / 256 * 210;
    default: return -1;
    }
}

static inline float f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/* sub-block j's 6-bit scale and min from the 12 packed bytes (ggml's get_scale_min_k4) */
static inline void scale_min(int j, const uint8_t *q, int *sc, int *mn) {
    if (j < 4) {
        *sc = q[j] & 63;
        *mn = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *mn = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* ---- the definition: a row as float32 ----------------------------------------------------------- */

void jgpt_ggml_dequantize_row(int type, const void *row, float *y, int n) {
    const uint8_t *b = row;
    switch (type) {
    case GGML_F32: memcpy(y, row, 4L * n); break;
    case GGML_F16: for (int i = 0; i < n; i++) y[i] = f16(b + 2L * i); break;
    case GGML_BF16:
        for (int i = 0; i < n; i++) {
            uint32_t bits = (uint32_t)(b[2L * i] | (b[2L * i + 1] << 8)) << 16;
            memcpy(y + i, &bits, 4);
        }
        break;
    case GGML_Q8_0:
        for (int k = 0; k < n / 32; k++, b += 34) {
            float d = f16(b);
            for (int i = 0; i < 32; i++) y[32 * k + i] = d * (int8_t)b[2 + i];
        }
        break;
    case GGML_Q4_K:
        for (int k = 0; k < n / 256; k++, b += 144) {
            float d = f16(b), dmin = f16(b + 2);
            const uint8_t *scales = b + 4, *qs = b + 16;
            float *o = y + 256L * k;
            for (int j = 0; j < 4; j++) {
                int s1, m1, s2, m2;
                scale_min(2 * j, scales, &s1, &m1);
                scale_min(2 * j + 1, scales, &s2, &m2);
                for (int l = 0; l < 32; l++) {
                    o[64 * j + l] = d * s1 * (qs[32 * j + l] & 0xF) - dmin * m1;
                    o[64 * j + 32 + l] = d * s2 * (qs[32 * j + l] >> 4) - dmin * m2;
                }
            }
        }
        break;
    case GGML_Q6_K:
        for (int k = 0; k < n / 256; k++, b += 210) {
            const uint8_t *ql = b, *qh = b + 128;
            const int8_t *sc = (const int8_t *)(b + 192);
            float d = f16(b + 208);
            float *o = y + 256L * k;
            for (int h = 0; h < 2; h++) {
                const uint8_t *l0 = ql + 64 * h, *h0 = qh + 32 * h;
                const int8_t *s0 = sc + 8 * h;
                float *y0 = o + 128 * h;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    y0[l] = d * s0[is] * (((l0[l] & 0xF) | ((h0[l] & 3) << 4)) - 32);
                    y0[l + 32] = d * s0[is + 2] * (((l0[l + 32] & 0xF) | (((h0[l] >> 2) & 3) << 4)) - 32);
                    y0[l + 64] = d * s0[is + 4] * (((l0[l] >> 4) | (((h0[l] >> 4) & 3) << 4)) - 32);
                    y0[l + 96] = d * s0[is + 6] * (((l0[l + 32] >> 4) | (((h0[l] >> 6) & 3) << 4)) - 32);
                }
            }
        }
        break;
    default: abort();
    }
}

static void mv_portable(int type, const uint8_t *w, long row_bytes, float *out, const float *x, int r0, int r1, int n) {
    float *y = malloc(sizeof(float) * (size_t)n);
    if (y == NULL) abort();
    for (int r = r0; r < r1; r++) {
        jgpt_ggml_dequantize_row(type, w + (long)r * row_bytes, y, n);
        float s = 0.0f;
        for (int i = 0; i < n; i++) s += y[i] * x[i];
        out[r] = s;
    }
    free(y);
}

/* ---- AVX-512 VNNI (256-bit lanes) ---------------------------------------------------------------- */

#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

/* x quantised per block of 32: int8 values, scale, the exact float sum (Q4_K's minimums), and per block the
 * accumulator starts that remove Q6_K's -32 (per half of 16: lanes 0 and 4) and Q8_0's sign flip (-128 sum, lane 0) */
typedef struct {
    int8_t *xq;
    float *sx, *sumx;
    __m256i *init6, *init8;
} xquant;

VNNI static void quantise_x(const float *x, int n, xquant *q) {
    for (int b = 0; b < n / 32; b++) {
        const float *p = x + 32 * b;
        float amax = 0.0f, sum = 0.0f;
        for (int i = 0; i < 32; i++) {
            amax = fmaxf(amax, fabsf(p[i]));
            sum += p[i];
        }
        float scale = amax / 127.0f, inv = scale > 0.0f ? 1.0f / scale : 0.0f;
        int s0 = 0, s1 = 0;
        for (int i = 0; i < 32; i++) {
            int v = (int)roundf(p[i] * inv);
            q->xq[32 * b + i] = (int8_t)v;
            if (i < 16) s0 += v; else s1 += v;
        }
        q->sx[b] = scale;
        q->sumx[b] = sum;
        q->init6[b] = _mm256_setr_epi32(-32 * s0, 0, 0, 0, -32 * s1, 0, 0, 0);
        q->init8[b] = _mm256_setr_epi32(-128 * (s0 + s1), 0, 0, 0, 0, 0, 0, 0);
    }
}

VNNI static inline float hsum(__m256 v) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_hadd_ps(h, h);
    h = _mm_hadd_ps(h, h);
    return _mm_cvtss_f32(h);
}

#define XQ(b) _mm256_loadu_si256((const __m256i *)(q->xq + 32 * (b)))

/* R rows (R = 4 or 1), row pointers w[0..R) of nb super-blocks each */
VNNI static inline __attribute__((always_inline)) void rows_q4k(const uint8_t *const *w, int R, int nb, const xquant *q,
                                                                 float *res) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    __m256 acc[4];
    float mins[4] = {0, 0, 0, 0};
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    for (int k = 0; k < nb; k++) {
        for (int r = 0; r < R; r++) {
            const uint8_t *b = w[r] + 144L * k;
            float d = f16(b), dmin = f16(b + 2);
            int sc[8], mn[8];
            for (int j = 0; j < 8; j++) scale_min(j, b + 4, &sc[j], &mn[j]);
            for (int j = 0; j < 4; j++) {
                int xb = 8 * k + 2 * j;
                __m256i v = _mm256_loadu_si256((const __m256i *)(b + 16 + 32 * j));
                __m256i lo = _mm256_and_si256(v, low), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
                __m256i il = _mm256_dpbusd_epi32(_mm256_setzero_si256(), lo, XQ(xb));
                __m256i ih = _mm256_dpbusd_epi32(_mm256_setzero_si256(), hi, XQ(xb + 1));
                acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(il), _mm256_set1_ps(d * sc[2 * j] * q->sx[xb]), acc[r]);
                acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ih), _mm256_set1_ps(d * sc[2 * j + 1] * q->sx[xb + 1]), acc[r]);
                mins[r] += dmin * (mn[2 * j] * q->sumx[xb] + mn[2 * j + 1] * q->sumx[xb + 1]);
            }
        }
    }
    for (int r = 0; r < R; r++) res[r] = hsum(acc[r]) - mins[r];
}

VNNI static inline __attribute__((always_inline)) void rows_q6k(const uint8_t *const *w, int R, int nb, const xquant *q,
                                                                 float *res) {
    const __m256i low = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(0x30);
    __m256 acc[4];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    for (int k = 0; k < nb; k++) {
        for (int r = 0; r < R; r++) {
            const uint8_t *b = w[r] + 210L * k;
            const int8_t *sc = (const int8_t *)(b + 192);
            float d = f16(b + 208);
            for (int h = 0; h < 2; h++) {
                __m256i A = _mm256_loadu_si256((const __m256i *)(b + 64 * h));
                __m256i B = _mm256_loadu_si256((const __m256i *)(b + 64 * h + 32));
                __m256i H = _mm256_loadu_si256((const __m256i *)(b + 128 + 32 * h));
                __m256i qv[4] = {
                    _mm256_or_si256(_mm256_and_si256(A, low), _mm256_and_si256(_mm256_slli_epi16(H, 4), two)),
                    _mm256_or_si256(_mm256_and_si256(B, low), _mm256_and_si256(_mm256_slli_epi16(H, 2), two)),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(A, 4), low), _mm256_and_si256(H, two)),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(B, 4), low), _mm256_and_si256(_mm256_srli_epi16(H, 2), two)),
                };
                const int8_t *s0 = sc + 8 * h;
                for (int t = 0; t < 4; t++) {
                    int xb = 8 * k + 4 * h + t;
                    __m256i i = _mm256_dpbusd_epi32(q->init6[xb], qv[t], XQ(xb));
                    float f = d * q->sx[xb];
                    __m256 s = _mm256_setr_m128(_mm_set1_ps(f * s0[2 * t]), _mm_set1_ps(f * s0[2 * t + 1]));
                    acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), s, acc[r]);
                }
            }
        }
    }
    for (int r = 0; r < R; r++) res[r] = hsum(acc[r]);
}

VNNI static inline __attribute__((always_inline)) void rows_q80(const uint8_t *const *w, int R, int nb, const xquant *q,
                                                                 float *res) {
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    __m256 acc[4];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    for (int k = 0; k < nb; k++) {
        __m256i xv = XQ(k);
        for (int r = 0; r < R; r++) {
            const uint8_t *b = w[r] + 34L * k;
            __m256i v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(b + 2)), flip);
            __m256i i = _mm256_dpbusd_epi32(q->init8[k], v, xv);
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), _mm256_set1_ps(f16(b) * q->sx[k]), acc[r]);
        }
    }
    for (int r = 0; r < R; r++) res[r] = hsum(acc[r]);
}

/* F16: no quantisation of x; 8 halves a conversion */
VNNI static inline __attribute__((always_inline)) void rows_f16(const uint8_t *const *w, int R, int n, const float *x,
                                                                 float *res) {
    __m256 acc[4];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 xv = _mm256_loadu_ps(x + i);
        for (int r = 0; r < R; r++) {
            __m256 wv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w[r] + 2L * i)));
            acc[r] = _mm256_fmadd_ps(wv, xv, acc[r]);
        }
    }
    for (int r = 0; r < R; r++) {
        res[r] = hsum(acc[r]);
        for (int j = i; j < n; j++) res[r] += f16(w[r] + 2L * j) * x[j];
    }
}

VNNI static void mv_vnni(int type, const uint8_t *w, long row_bytes, float *out, const float *x, int r0, int r1, int n) {
    int blocks = n / 32;
    int8_t xq[n] __attribute__((aligned(64)));
    float sx[blocks], sumx[blocks];
    __m256i init6[blocks], init8[blocks];
    xquant q = { xq, sx, sumx, init6, init8 };
    if (type != GGML_F16) quantise_x(x, n, &q);
    const int Q = (r1 - r0) / 4;
    for (int i = 0; i < Q; i++) {
        const int r = r0 + i;
        const uint8_t *rows[4] = { w + (long)r * row_bytes, w + (long)(r + Q) * row_bytes, w + (long)(r + 2 * Q) * row_bytes,
                                   w + (long)(r + 3 * Q) * row_bytes };
        float res[4];
        switch (type) {
        case GGML_Q4_K: rows_q4k(rows, 4, n / 256, &q, res); break;
        case GGML_Q6_K: rows_q6k(rows, 4, n / 256, &q, res); break;
        case GGML_Q8_0: rows_q80(rows, 4, n / 32, &q, res); break;
        default: rows_f16(rows, 4, n, x, res);
        }
        out[r] = res[0]; out[r + Q] = res[1]; out[r + 2 * Q] = res[2]; out[r + 3 * Q] = res[3];
    }
    for (int r = r0 + 4 * Q; r < r1; r++) {
        const uint8_t *rows[1] = { w + (long)r * row_bytes };
        switch (type) {
        case GGML_Q4_K: rows_q4k(rows, 1, n / 256, &q, out + r); break;
        case GGML_Q6_K: rows_q6k(rows, 1, n / 256, &q, out + r); break;
        case GGML_Q8_0: rows_q80(rows, 1, n / 32, &q, out + r); break;
        default: rows_f16(rows, 1, n, x, out + r);
        }
    }
}

static int vnni_available(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
                 && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("f16c");
    }
    return cached;
}

/* out[r] = W[r,:] . x for r in [r0, r1), W of ggml type `type` (Q4_K, Q6_K, Q8_0 or F16; F32 and BF16 are the
 * plain decode dtypes' kernels, see jgpt_decode_matvec_rows); JGPT_DECODE_KERNELS=portable forces the definition */
void jgpt_ggml_matvec_rows(int type, const void *w, float *out, const float *x, int r0, int r1, int n) {
    if (r0 >= r1) return;
    static int portable = -1;
    if (portable < 0) {
        const char *e = getenv("JGPT_DECODE_KERNELS");
        portable = e != NULL && e[0] == 'p';
    }
    long row_bytes = jgpt_ggml_row_bytes(type, n);
    if (row_bytes < 0) abort(); /* Java checks types and shapes before it builds a plan */
    if (!portable && vnni_available()) mv_vnni(type, w, row_bytes, out, x, r0, r1, n);
    else mv_portable(type, w, row_bytes, out, x, r0, r1, n);
}
