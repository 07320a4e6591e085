/* Matrix-vector products over ggml's blocks as a GGUF file stores them (JGPT_DECODE_GGML): Q2_K, Q3_K, Q4_K, Q5_K,
 * Q6_K, Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0, plus F16, so that a llama.cpp file decodes from its own bytes — 2.6 bits a weight for Q2_K,
 * 3.4 for Q3_K, 4.5 for Q4_K, 6.56 for Q6_K — instead of a q8 copy at 9. The block layouts are ggml's (ggml-common.h;
 * GgmlType.java decodes the same bytes):
 *
 *   Q8_0  per 32 weights:  f16 d, int8 q[32]                               w = d q
 *   Q4_0  per 32 weights:  f16 d, 16 bytes of 4-bit q (low nibbles first)  w = d (q - 8)
 *   Q4_1  per 32 weights:  f16 d, f16 m, the nibbles as Q4_0's             w = d q + m
 *   Q5_0  per 32 weights:  f16 d, 32 bits qh (bit j: weight j's fifth), the nibbles    w = d (q - 16)
 *   Q5_1  per 32 weights:  f16 d, f16 m, qh, the nibbles                   w = d q + m
 *   Q4_K  per 256 weights: f16 d, f16 dmin, 12 bytes of eight 6-bit scales and mins, 128 bytes of 4-bit q;
 *         sub-block s (32 weights) has scale sc_s and min m_s:              w = d sc_s q - dmin m_s
 *   Q5_K  Q4_K with a fifth bit per weight (32 bytes qh before the nibbles): q in 0..31
 *   Q6_K  per 256 weights: 128 bytes of low 4 bits, 64 of high 2 bits, int8 scales[16] (one per 16), f16 d
 *                                                                          w = d sc (q - 32)
 *   Q3_K  per 256 weights: hmask[32] (third bits), qs[64] (low 2 bits), 12 bytes of sixteen 6-bit scales, f16 d;
 *         weight 128n + 32j + i (i < 32) has its low bits at qs[32n + i] >> 2j and its third bit at hmask[i] >> (4n + j)
 *                                                                          w = d (sc - 32) (q - 4), q in 0..7
 *   Q2_K  per 256 weights: scales[16] (low nibble scale, high nibble min, one per 16), qs[64] as Q3_K's, f16 d, dmin
 *                                                                          w = d sc q - dmin m, q in 0..3
 *   IQ4_NL per 32 weights: f16 d, the nibbles as Q4_0's, each an index into 16 levels kv (-127..113)   w = d kv[q]
 *   IQ4_XS per 256 weights: f16 d, 16 bits scales_h (2 per 32), scales_l[4] (a nibble per 32), 128 bytes of nibbles;
 *         sub-block s (32 weights, nibbles as IQ4_NL's) has the 6-bit scale ls_s:  w = d (ls_s - 32) kv[q]
 *
 * As in llama.cpp, x is quantised to int8 once per call (scale max|x| / 127): per block of 32 for Q8_0, per 256 for
 * the K types (llama.cpp's Q8_K), and the dot products are integer ones. Q8_0: vpdpbusd (unsigned bytes times signed,
 * 32 a instruction; the weights' sign flipped, q + 128, and 128 times the sum of xq taken out by the accumulator's
 * start). Q4_K and Q6_K: their unsigned quants (0..15, 0..63) times xq summed in int16 pairs (vpmaddubsw), times the
 * sub-block scales summed in int32 (vpdpwssd), one float multiply per super-block (Q5_K as Q4_K with its fifth bits
 * or-ed in; Q2_K and Q3_K the same over their 2- and 3-bit quants and per-16 scales; Q4_0, Q4_1, Q5_0 and Q5_1 per 32
 * like Q8_0: Q4_0's -8 and Q5_0's -16 through the accumulator's start, Q4_1's and Q5_1's m times the block's sum of x); Q4_K's and Q2_K's minimums, Q6_K's -32 and Q3_K's -4 from the sums of xq per 32
 * and per 16; IQ4_NL and IQ4_XS look their levels up plus 128 (vpshufb: 1..241, unsigned) and dot them with vpdpbusd,
 * the 128 times the sum of xq taken out as for Q8_0, IQ4_XS's sub-block scales applied in int32. Four rows at a time, from the four quarters of the range (four long streams,
 * see decode_matvec.c). Without AVX-512 VNNI each row is dequantised to float32 and dotted with x (the definition).
 */
#include "jgpt.h"
#include "decode_internal.h"
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { GGML_F32 = 0, GGML_F16 = 1, GGML_Q4_0 = 2, GGML_Q4_1 = 3, GGML_Q5_0 = 6, GGML_Q5_1 = 7, GGML_Q8_0 = 8, GGML_Q2_K = 10, GGML_Q3_K = 11, GGML_Q4_K = 12, GGML_Q5_K = 13,
       GGML_Q6_K = 14, GGML_IQ4_NL = 20, GGML_IQ4_XS = 23, GGML_BF16 = 30 };

/* ggml's kvalues_iq4nl: the 16 levels an IQ4 nibble stands for */
static const int8_t IQ4_LEVELS[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

long jgpt_ggml_row_bytes(int type, long n) {
    switch (type) {
    case GGML_F32: return 4 * n;
    case GGML_F16: case GGML_BF16: return 2 * n;
    case GGML_Q4_0: return n % 32 ? -1 : n / 32 * 18;
    case GGML_Q4_1: return n % 32 ? -1 : n / 32 * 20;
    case GGML_Q5_0: return n % 32 ? -1 : n / 32 * 22;
    case GGML_Q5_1: return n % 32 ? -1 : n / 32 * 24;
    case GGML_Q8_0: return n % 32 ? -1 : n / 32 * 34;
    case GGML_Q2_K: return n % 256 ? -1 : n / 256 * 84;
    case GGML_Q3_K: return n % 256 ? -1 : n / 256 * 110;
    case GGML_Q4_K: return n % 256 ? -1 : n / 256 * 144;
    case GGML_Q5_K: return n % 256 ? -1 : n / 256 * 176;
    case GGML_Q6_K: return n % 256 ? -1 : n / 256 * 210;
    case GGML_IQ4_NL: return n % 32 ? -1 : n / 32 * 18;
    case GGML_IQ4_XS: return n % 256 ? -1 : n / 256 * 136;
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

/* Q3_K's sixteen 6-bit scales, minus 32: low 4 bits in bytes 0..7 (low then high nibbles), the top 2 bits of scale j
 * in byte 8 + j % 4 at bit 2 (j / 4) */
static inline void q3k_scales(const uint8_t *s, int8_t *out) {
    for (int j = 0; j < 16; j++) {
        int lo = j < 8 ? s[j] & 0xF : s[j - 8] >> 4, hi = (s[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
        out[j] = (int8_t)((lo | hi << 4) - 32);
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
    case GGML_Q4_0:
        for (int k = 0; k < n / 32; k++, b += 18) {
            float d = f16(b);
            for (int i = 0; i < 16; i++) {
                y[32 * k + i] = d * ((b[2 + i] & 0xF) - 8);
                y[32 * k + 16 + i] = d * ((b[2 + i] >> 4) - 8);
            }
        }
        break;
    case GGML_IQ4_NL:
        for (int k = 0; k < n / 32; k++, b += 18) {
            float d = f16(b);
            for (int i = 0; i < 16; i++) {
                y[32 * k + i] = d * IQ4_LEVELS[b[2 + i] & 0xF];
                y[32 * k + 16 + i] = d * IQ4_LEVELS[b[2 + i] >> 4];
            }
        }
        break;
    case GGML_IQ4_XS:
        for (int k = 0; k < n / 256; k++, b += 136) {
            float d = f16(b);
            int scales_h = b[2] | b[3] << 8;
            for (int ib = 0; ib < 8; ib++) {
                int ls = ((b[4 + ib / 2] >> 4 * (ib % 2)) & 0xF) | ((scales_h >> 2 * ib) & 3) << 4;
                float dl = d * (ls - 32);
                const uint8_t *qs = b + 8 + 16 * ib;
                for (int i = 0; i < 16; i++) {
                    y[256 * k + 32 * ib + i] = dl * IQ4_LEVELS[qs[i] & 0xF];
                    y[256 * k + 32 * ib + 16 + i] = dl * IQ4_LEVELS[qs[i] >> 4];
                }
            }
        }
        break;
    case GGML_Q4_1:
    case GGML_Q5_0:
    case GGML_Q5_1: {
        const int five = type != GGML_Q4_1, bytes = type == GGML_Q4_1 ? 20 : type == GGML_Q5_0 ? 22 : 24;
        for (int k = 0; k < n / 32; k++, b += bytes) {
            float d = f16(b), m = type == GGML_Q5_0 ? 0.0f : f16(b + 2);
            uint32_t qh = 0;
            if (five) memcpy(&qh, b + (type == GGML_Q5_0 ? 2 : 4), 4);
            const uint8_t *qs = b + bytes - 16;
            for (int i = 0; i < 16; i++) {
                int lo = (qs[i] & 0xF) | (five ? ((qh >> i) & 1) << 4 : 0), hi = (qs[i] >> 4) | (five ? ((qh >> (i + 16)) & 1) << 4 : 0);
                y[32 * k + i] = type == GGML_Q5_0 ? d * (lo - 16) : d * lo + m;
                y[32 * k + 16 + i] = type == GGML_Q5_0 ? d * (hi - 16) : d * hi + m;
            }
        }
        break;
    }
    case GGML_Q2_K:
    case GGML_Q3_K: {
        const int three = type == GGML_Q3_K, bytes = three ? 110 : 84;
        for (int k = 0; k < n / 256; k++, b += bytes) {
            const uint8_t *qs = b + (three ? 32 : 16), *hm = b;
            int8_t sc3[16];
            if (three) q3k_scales(b + 96, sc3);
            float d = f16(b + (three ? 108 : 80)), dmin = three ? 0.0f : f16(b + 82);
            float *o = y + 256L * k;
            for (int nh = 0; nh < 2; nh++) {
                for (int j = 0; j < 4; j++) { /* weights 128 nh + 32 j + i: scales 8 nh + 2 j (i < 16) and + 1 */
                    for (int h = 0; h < 2; h++) {
                        int g = 8 * nh + 2 * j + h;
                        float dl = three ? d * sc3[g] : d * (b[g] & 0xF), ml = three ? 0.0f : dmin * (b[g] >> 4);
                        for (int i = 16 * h; i < 16 * h + 16; i++) {
                            int q = (qs[32 * nh + i] >> (2 * j)) & 3;
                            if (three) q += 4 * ((hm[i] >> (4 * nh + j)) & 1) - 4;
                            o[128 * nh + 32 * j + i] = dl * q - ml;
                        }
                    }
                }
            }
        }
        break;
    }
    case GGML_Q4_K:
    case GGML_Q5_K: {
        const int five = type == GGML_Q5_K, bytes = five ? 176 : 144;
        for (int k = 0; k < n / 256; k++, b += bytes) {
            float d = f16(b), dmin = f16(b + 2);
            const uint8_t *scales = b + 4, *qh = b + 16, *qs = b + (five ? 48 : 16);
            float *o = y + 256L * k;
            for (int j = 0; j < 4; j++) {
                int s1, m1, s2, m2;
                scale_min(2 * j, scales, &s1, &m1);
                scale_min(2 * j + 1, scales, &s2, &m2);
                for (int l = 0; l < 32; l++) {
                    int h1 = five && (qh[l] >> (2 * j)) & 1 ? 16 : 0, h2 = five && (qh[l] >> (2 * j + 1)) & 1 ? 16 : 0;
                    o[64 * j + l] = d * s1 * ((qs[32 * j + l] & 0xF) + h1) - dmin * m1;
                    o[64 * j + 32 + l] = d * s2 * ((qs[32 * j + l] >> 4) + h2) - dmin * m2;
                }
            }
        }
        break;
    }
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

/* x quantised to int8 once per call. For Q8_0: per block of 32 (scale, and the accumulator start that removes the
 * sign flip: -128 times the block's sum, lane 0). For the K types, as llama.cpp's Q8_K: per block of 256 (one scale),
 * with the sums of xq per 16 and per 32 that take out Q6_K's -32 and Q4_K's minimums in integers. */
typedef struct {
    int8_t *xq;
    float *sx;          /* per 32 (Q8_0) or per 256 (K types) */
    __m256i *init8;     /* Q8_0 */
    int16_t *sum16;     /* K types: per 16 */
    int16_t *sum32;     /* K types: per 32 */
} xquant;

VNNI static void quantise_x(const float *x, int n, int block, xquant *q) {
    for (int b = 0; b < n / block; b++) {
        const float *p = x + (long)block * b;
        float amax = 0.0f;
        for (int i = 0; i < block; i++) amax = fmaxf(amax, fabsf(p[i]));
        float scale = amax / 127.0f, inv = scale > 0.0f ? 1.0f / scale : 0.0f;
        int8_t *o = q->xq + (long)block * b;
        for (int i = 0; i < block; i++) o[i] = (int8_t)(int)roundf(p[i] * inv);
        q->sx[b] = scale;
        if (block == 32) {
            int sum = 0;
            for (int i = 0; i < 32; i++) sum += o[i];
            q->init8[b] = _mm256_setr_epi32(-128 * sum, 0, 0, 0, 0, 0, 0, 0);
        } else {
            for (int g = 0; g < 16; g++) {
                int sum = 0;
                for (int i = 0; i < 16; i++) sum += o[16 * g + i];
                q->sum16[16 * b + g] = (int16_t)sum;
            }
            for (int g = 0; g < 8; g++) q->sum32[8 * b + g] = (int16_t)(q->sum16[16 * b + 2 * g] + q->sum16[16 * b + 2 * g + 1]);
        }
    }
}

VNNI static inline float hsum(__m256 v) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_hadd_ps(h, h);
    h = _mm_hadd_ps(h, h);
    return _mm_cvtss_f32(h);
}

VNNI static inline int hsum_i128(__m128i v) {
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0x4E));
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, 0xB1));
    return _mm_cvtsi128_si32(v);
}

#define XQ(b) _mm256_loadu_si256((const __m256i *)(q->xq + 32 * (b)))

/* Each super-block of 256: the eight 32-weight products of 4-bit q and xq summed in int16 pairs (vpmaddubsw: 15 x 127
 * x 2 fits), times the sub-block's 6-bit scale and summed in int32 (vpdpwssd); one float multiply by d * dx per
 * super-block, and the minimums as dmin * dx * sum_s m_s * sum(xq of s). R rows (4 or 1), w[r] at nb super-blocks. */
VNNI static inline __attribute__((always_inline)) void rows_q4k(const uint8_t *const *w, int R, int nb, const xquant *q,
                                                                 float *res, const int five) {
    const __m256i low = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    const int bytes = five ? 176 : 144, qs = five ? 48 : 16;
    __m256 acc[4];
    float mins[4] = {0, 0, 0, 0};
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    for (int k = 0; k < nb; k++) {
        const __m128i bsum = _mm_loadu_si128((const __m128i *)(q->sum32 + 8 * k));
        const float dx = q->sx[k];
        for (int r = 0; r < R; r++) {
            const uint8_t *b = w[r] + (long)bytes * k;
            uint32_t u[3];
            memcpy(u, b + 4, 12);
            /* the eight 6-bit scales and minimums (get_scale_min_k4 for all j at once) */
            uint32_t s0 = u[0] & 0x3f3f3f3f, s1 = (u[2] & 0x0f0f0f0f) | (((u[0] >> 6) & 0x03030303) << 4);
            uint32_t m0 = u[1] & 0x3f3f3f3f, m1 = ((u[2] >> 4) & 0x0f0f0f0f) | (((u[1] >> 6) & 0x03030303) << 4);
            __m128i mins16 = _mm_cvtepu8_epi16(_mm_setr_epi32((int)m0, (int)m1, 0, 0));
            __m256i sc16 = _mm256_cvtepu8_epi16(_mm_setr_epi32((int)s0, (int)s1, 0, 0));
            __m256i isum = _mm256_setzero_si256();
            const __m256i H = five ? _mm256_loadu_si256((const __m256i *)(b + 16)) : _mm256_setzero_si256();
            for (int j = 0; j < 4; j++) {
                __m256i v = _mm256_loadu_si256((const __m256i *)(b + qs + 32 * j));
                __m256i lo = _mm256_and_si256(v, low), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
                if (five) { /* Q5_K's fifth bits: bit 2j of qh[l] for the low nibbles, 2j + 1 for the high ones */
                    lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(H, 2 * j), one), 4));
                    hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(H, 2 * j + 1), one), 4));
                }
                __m256i pl = _mm256_maddubs_epi16(lo, XQ(8 * k + 2 * j)), ph = _mm256_maddubs_epi16(hi, XQ(8 * k + 2 * j + 1));
                isum = _mm256_dpwssd_epi32(isum, pl, _mm256_permutexvar_epi16(_mm256_set1_epi16((short)(2 * j)), sc16));
                isum = _mm256_dpwssd_epi32(isum, ph, _mm256_permutexvar_epi16(_mm256_set1_epi16((short)(2 * j + 1)), sc16));
            }
            float d = f16(b) * dx;
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d), acc[r]);
            mins[r] += f16(b + 2) * dx * (float)hsum_i128(_mm_madd_epi16(mins16, bsum));
        }
    }
    for (int r = 0; r < R; r++) res[r] = hsum(acc[r]) - mins[r];
}

/* Each super-block of 256: 6-bit q (0..63) and xq summed in int16 pairs (63 x 127 x 2 fits), times the int8 scale of
 * each 16 and summed in int32; the -32 taken out as 32 * sum_g sc_g * sum(xq of g); one float multiply by d * dx. */
VNNI static inline __attribute__((always_inline)) void rows_q6k(const uint8_t *const *w, int R, int nb, const xquant *q,
                                                                 float *res) {
    const __m256i low = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(0x30);
    __m256 acc[4];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    for (int k = 0; k < nb; k++) {
        const __m256i bsum = _mm256_loadu_si256((const __m256i *)(q->sum16 + 16 * k));
        const float dx = q->sx[k];
        for (int r = 0; r < R; r++) {
            const uint8_t *b = w[r] + 210L * k;
            __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + 192)));
            __m256i corr = _mm256_madd_epi16(sc16, bsum);
            __m256i isum = _mm256_setzero_si256();
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
                for (int t = 0; t < 4; t++) {
                    int g = 8 * h + 2 * t; /* the scales of this chunk's two 16s */
                    __m256i idx = _mm256_setr_m128i(_mm_set1_epi16((short)g), _mm_set1_epi16((short)(g + 1)));
                    __m256i p = _mm256_maddubs_epi16(qv[t], XQ(8 * k + 4 * h + t));
                    isum = _mm256_dpwssd_epi32(isum, p, _mm256_permutexvar_epi16(idx, sc16));
                }
            }
            isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(corr, 5));
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(f16(b + 208) * dx), acc[r]);
        }
    }
    for (int r = 0; r < R; r++) res[r] = hsum(acc[r]);
}

/* Q2_K and Q3_K, each super-block of 256: the eight 32-weight chunks of quants (2 bits from qs, Q3_K's third from
 * hmask: 0..3 or 0..7) times xq summed in int16 pairs, times the scale of each 16 and summed in int32; Q3_K's -4 taken
 * out as 4 * sum_g sc_g * sum(xq of g), Q2_K's minimums as dmin * dx * sum_g m_g * sum(xq of g); one float multiply by
 * d * dx. */
VNNI static inline __attribute__((always_inline)) void rows_q23k(const uint8_t *const *w, int R, int nb, const xquant *q,
                                                                  float *res, const int three) {
    const __m256i two = _mm256_set1_epi8(3), bit = _mm256_set1_epi8(1);
    const int bytes = three ? 110 : 84, qs = three ? 32 : 16;
    __m256 acc[4];
    float mins[4] = {0, 0, 0, 0};
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    for (int k = 0; k < nb; k++) {
        const __m256i bsum = _mm256_loadu_si256((const __m256i *)(q->sum16 + 16 * k));
        const float dx = q->sx[k];
        for (int r = 0; r < R; r++) {
            const uint8_t *b = w[r] + (long)bytes * k;
            __m256i sc16, corr = _mm256_setzero_si256();
            if (three) {
                /* the sixteen 6-bit scales in four 32-bit steps (q3k_scales, all at once), then minus 32 */
                uint32_t a[3];
                memcpy(a, b + 96, 12);
                const uint32_t lo = 0x0f0f0f0f, hi = 0x03030303;
                /* built in registers: four 32-bit stores read back as one vector would stall store forwarding */
                __m128i s8 = _mm_setr_epi32((int)((a[0] & lo) | ((a[2] & hi) << 4)), (int)((a[1] & lo) | (((a[2] >> 2) & hi) << 4)),
                                            (int)(((a[0] >> 4) & lo) | (((a[2] >> 4) & hi) << 4)),
                                            (int)(((a[1] >> 4) & lo) | (((a[2] >> 6) & hi) << 4)));
                sc16 = _mm256_sub_epi16(_mm256_cvtepu8_epi16(s8), _mm256_set1_epi16(32));
                corr = _mm256_madd_epi16(sc16, bsum);
            } else {
                __m128i s = _mm_loadu_si128((const __m128i *)b);
                sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(s, _mm_set1_epi8(0x0F)));
                __m256i m16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s, 4), _mm_set1_epi8(0x0F)));
                __m256i mm = _mm256_madd_epi16(m16, bsum);
                mins[r] += f16(b + 82) * dx * (float)hsum_i128(_mm_add_epi32(_mm256_castsi256_si128(mm), _mm256_extracti128_si256(mm, 1)));
            }
            const __m256i H = three ? _mm256_loadu_si256((const __m256i *)b) : _mm256_setzero_si256();
            __m256i isum = _mm256_setzero_si256();
            for (int nh = 0; nh < 2; nh++) {
                __m256i Q = _mm256_loadu_si256((const __m256i *)(b + qs + 32 * nh));
                for (int j = 0; j < 4; j++) {
                    int c = 4 * nh + j; /* the chunk: weights 32c .. 32c + 31, scales 2c and 2c + 1 */
                    __m256i u = _mm256_and_si256(_mm256_srli_epi16(Q, 2 * j), two);
                    if (three) u = _mm256_or_si256(u, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(H, c), bit), 2));
                    __m256i idx = _mm256_setr_m128i(_mm_set1_epi16((short)(2 * c)), _mm_set1_epi16((short)(2 * c + 1)));
                    __m256i p = _mm256_maddubs_epi16(u, XQ(8 * k + c));
                    isum = _mm256_dpwssd_epi32(isum, p, _mm256_permutexvar_epi16(idx, sc16));
                }
            }
            if (three) isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(corr, 2));
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(f16(b + (three ? 108 : 80)) * dx), acc[r]);
        }
    }
    for (int r = 0; r < R; r++) res[r] = hsum(acc[r]) - mins[r];
}

/* Q4_0: 32 nibbles a block (low nibbles the first 16 weights, high the next 16), w = d (q - 8): unsigned q times xq
 * with the accumulator starting at -8 times the block's sum of xq (init8 holds -128 times it: shifted right by 4) */
VNNI static inline __attribute__((always_inline)) void rows_q40(const uint8_t *const *w, int R, int nb, const xquant *q,
                                                                 float *res) {
    const __m128i low = _mm_set1_epi8(0x0F);
    __m256 acc[4];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    for (int k = 0; k < nb; k++) {
        __m256i xv = XQ(k), init = _mm256_srai_epi32(q->init8[k], 4);
        for (int r = 0; r < R; r++) {
            const uint8_t *b = w[r] + 18L * k;
            __m128i v = _mm_loadu_si128((const __m128i *)(b + 2));
            __m256i qv = _mm256_setr_m128i(_mm_and_si128(v, low), _mm_and_si128(_mm_srli_epi16(v, 4), low));
            __m256i i = _mm256_dpbusd_epi32(init, qv, xv);
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), _mm256_set1_ps(f16(b) * q->sx[k]), acc[r]);
        }
    }
    for (int r = 0; r < R; r++) res[r] = hsum(acc[r]);
}

/* Q4_1, Q5_0 and Q5_1: Q4_0's nibbles with Q5's fifth bits from qh (a byte mask: bit j sets 16 in weight j); Q5_0's
 * -16 through the accumulator's start (init8 holds -128 times the block's sum of xq: shifted right by 3), Q4_1's and
 * Q5_1's m as m dx times that sum */
VNNI static inline __attribute__((always_inline)) void rows_q451(const uint8_t *const *w, int R, int nb, const xquant *q,
                                                                  float *res, const int type) {
    const __m128i low = _mm_set1_epi8(0x0F);
    const __m256i sixteen = _mm256_set1_epi8(0x10);
    const int bytes = type == GGML_Q4_1 ? 20 : type == GGML_Q5_0 ? 22 : 24, five = type != GGML_Q4_1;
    __m256 acc[4];
    float mins[4] = {0, 0, 0, 0};
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    for (int k = 0; k < nb; k++) {
        __m256i xv = XQ(k), init = type == GGML_Q5_0 ? _mm256_srai_epi32(q->init8[k], 3) : _mm256_setzero_si256();
        const float sumx = type == GGML_Q5_0 ? 0.0f : (float)(-_mm256_cvtsi256_si32(q->init8[k]) / 128) * q->sx[k];
        for (int r = 0; r < R; r++) {
            const uint8_t *b = w[r] + (long)bytes * k;
            __m128i v = _mm_loadu_si128((const __m128i *)(b + bytes - 16));
            __m256i qv = _mm256_setr_m128i(_mm_and_si128(v, low), _mm_and_si128(_mm_srli_epi16(v, 4), low));
            if (five) {
                uint32_t qh;
                memcpy(&qh, b + (type == GGML_Q5_0 ? 2 : 4), 4);
                qv = _mm256_or_si256(qv, _mm256_maskz_mov_epi8((__mmask32)qh, sixteen));
            }
            __m256i i = _mm256_dpbusd_epi32(init, qv, xv);
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), _mm256_set1_ps(f16(b) * q->sx[k]), acc[r]);
            if (type != GGML_Q5_0) mins[r] += f16(b + 2) * sumx;
        }
    }
    for (int r = 0; r < R; r++) res[r] = hsum(acc[r]) + mins[r];
}

/* IQ4 levels plus 128 (1..241: unsigned bytes for vpdpbusd), in both 128-bit lanes for vpshufb */
#define IQ4_TABLE _mm256_setr_epi8(1, 24, 45, 63, 79, 93, 106, 118, (char)129, (char)141, (char)153, (char)166, (char)181, \
    (char)197, (char)217, (char)241, 1, 24, 45, 63, 79, 93, 106, 118, (char)129, (char)141, (char)153, (char)166, (char)181, \
    (char)197, (char)217, (char)241)

/* 16 bytes of nibbles (weights j and j + 16 in byte j) as their 32 levels plus 128, in weight order */
VNNI static inline __m256i iq4_levels(const uint8_t *nibbles, __m256i table) {
    const __m128i low = _mm_set1_epi8(0x0F), v = _mm_loadu_si128((const __m128i *)nibbles);
    return _mm256_shuffle_epi8(table, _mm256_setr_m128i(_mm_and_si128(v, low), _mm_and_si128(_mm_srli_epi16(v, 4), low)));
}

/* Q8_0 and IQ4_NL, per block of 32: unsigned weight bytes times xq (vpdpbusd) from init8 (-128 times the block's sum of
 * xq): Q8_0's int8 q with the sign flipped (q + 128), IQ4_NL's levels plus 128 looked up from its nibbles */
VNNI static inline __attribute__((always_inline)) void rows_q80(const uint8_t *const *w, int R, int nb, const xquant *q,
                                                                 float *res, const int iq4) {
    const __m256i flip = _mm256_set1_epi8((char)0x80), table = IQ4_TABLE;
    const long bytes = iq4 ? 18 : 34;
    __m256 acc[4];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    for (int k = 0; k < nb; k++) {
        __m256i xv = XQ(k);
        for (int r = 0; r < R; r++) {
            const uint8_t *b = w[r] + bytes * k;
            __m256i v = iq4 ? iq4_levels(b + 2, table) : _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(b + 2)), flip);
            __m256i i = _mm256_dpbusd_epi32(q->init8[k], v, xv);
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i), _mm256_set1_ps(f16(b) * q->sx[k]), acc[r]);
        }
    }
    for (int r = 0; r < R; r++) res[r] = hsum(acc[r]);
}

/* IQ4_XS, each super-block of 256: per sub-block of 32 the levels plus 128 times xq (vpdpbusd), times ls - 32 in int32
 * (at most 32 x 241 x 127 x 32 x 8: fits), the 128 taken out as 128 sum_s (ls_s - 32) sum(xq of s); one float multiply
 * by d * dx */
VNNI static inline __attribute__((always_inline)) void rows_iq4xs(const uint8_t *const *w, int R, int nb, const xquant *q,
                                                                   float *res) {
    const __m256i table = IQ4_TABLE;
    __m256 acc[4];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    for (int k = 0; k < nb; k++) {
        const float dx = q->sx[k];
        for (int r = 0; r < R; r++) {
            const uint8_t *b = w[r] + 136L * k;
            const int scales_h = b[2] | b[3] << 8;
            __m256i isum = _mm256_setzero_si256();
            int corr = 0;
            for (int ib = 0; ib < 8; ib++) {
                const int s = (((b[4 + ib / 2] >> 4 * (ib % 2)) & 0xF) | ((scales_h >> 2 * ib) & 3) << 4) - 32;
                __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), iq4_levels(b + 8 + 16 * ib, table), XQ(8 * k + ib));
                isum = _mm256_add_epi32(isum, _mm256_mullo_epi32(dot, _mm256_set1_epi32(s)));
                corr += s * q->sum32[8 * k + ib];
            }
            isum = _mm256_sub_epi32(isum, _mm256_setr_epi32(128 * corr, 0, 0, 0, 0, 0, 0, 0));
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(f16(b) * dx), acc[r]);
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
    const int small = type == GGML_Q8_0 || type == GGML_Q4_0 || type == GGML_Q4_1 || type == GGML_Q5_0 || type == GGML_Q5_1
                      || type == GGML_IQ4_NL;
    /* x in blocks of 32 for those, else of 256 */
    int block = small ? 32 : 256, blocks = n / block;
    int8_t xq[n] __attribute__((aligned(64)));
    float sx[blocks > 0 ? blocks : 1];
    __m256i init8[small ? blocks : 1];
    int16_t sum16[small ? 1 : n / 16], sum32[small ? 1 : n / 32];
    xquant q = { xq, sx, init8, sum16, sum32 };
    if (type != GGML_F16) quantise_x(x, n, block, &q);
    const int Q = (r1 - r0) / 4;
    for (int i = 0; i < Q; i++) {
        const int r = r0 + i;
        const uint8_t *rows[4] = { w + (long)r * row_bytes, w + (long)(r + Q) * row_bytes, w + (long)(r + 2 * Q) * row_bytes,
                                   w + (long)(r + 3 * Q) * row_bytes };
        float res[4];
        switch (type) {
        case GGML_Q2_K: rows_q23k(rows, 4, n / 256, &q, res, 0); break;
        case GGML_Q3_K: rows_q23k(rows, 4, n / 256, &q, res, 1); break;
        case GGML_Q4_K: rows_q4k(rows, 4, n / 256, &q, res, 0); break;
        case GGML_Q5_K: rows_q4k(rows, 4, n / 256, &q, res, 1); break;
        case GGML_Q4_0: rows_q40(rows, 4, n / 32, &q, res); break;
        case GGML_Q4_1: case GGML_Q5_0: case GGML_Q5_1: rows_q451(rows, 4, n / 32, &q, res, type); break;
        case GGML_Q6_K: rows_q6k(rows, 4, n / 256, &q, res); break;
        case GGML_Q8_0: rows_q80(rows, 4, n / 32, &q, res, 0); break;
        case GGML_IQ4_NL: rows_q80(rows, 4, n / 32, &q, res, 1); break;
        case GGML_IQ4_XS: rows_iq4xs(rows, 4, n / 256, &q, res); break;
        default: rows_f16(rows, 4, n, x, res);
        }
        out[r] = res[0]; out[r + Q] = res[1]; out[r + 2 * Q] = res[2]; out[r + 3 * Q] = res[3];
    }
    for (int r = r0 + 4 * Q; r < r1; r++) {
        const uint8_t *rows[1] = { w + (long)r * row_bytes };
        switch (type) {
        case GGML_Q2_K: rows_q23k(rows, 1, n / 256, &q, out + r, 0); break;
        case GGML_Q3_K: rows_q23k(rows, 1, n / 256, &q, out + r, 1); break;
        case GGML_Q4_K: rows_q4k(rows, 1, n / 256, &q, out + r, 0); break;
        case GGML_Q5_K: rows_q4k(rows, 1, n / 256, &q, out + r, 1); break;
        case GGML_Q4_0: rows_q40(rows, 1, n / 32, &q, out + r); break;
        case GGML_Q4_1: case GGML_Q5_0: case GGML_Q5_1: rows_q451(rows, 1, n / 32, &q, out + r, type); break;
        case GGML_Q6_K: rows_q6k(rows, 1, n / 256, &q, out + r); break;
        case GGML_Q8_0: rows_q80(rows, 1, n / 32, &q, out + r, 0); break;
        case GGML_IQ4_NL: rows_q80(rows, 1, n / 32, &q, out + r, 1); break;
        case GGML_IQ4_XS: rows_iq4xs(rows, 1, n / 256, &q, out + r); break;
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

/* out[r] = W[r,:] . x for r in [r0, r1), W of ggml type `type` (Q2_K-Q6_K, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, IQ4_XS or F16; F32 and BF16 are the
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
