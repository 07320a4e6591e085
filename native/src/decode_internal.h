/* Internal to the decode_*.c files: a weight matrix in one of the decode dtypes. */
#ifndef JGPT_DECODE_INTERNAL_H
#define JGPT_DECODE_INTERNAL_H

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    const void *data;     /* float, uint16_t (bf16), int8_t (q8) or ggml blocks (rows of whole blocks), row-major (rows, cols) */
    const float *scales;  /* q8 only: (rows, cols / group) */
    int dtype;            /* JGPT_DECODE_F32 / BF16 / Q8 / GGML */
    int group;            /* q8 group size; for JGPT_DECODE_GGML the ggml type */
} jgpt_qmat;

/* decode_ggml.c: ggml's blocks (Q4_K, Q5_K, Q6_K, Q4_0, Q8_0, F16; F32 and BF16 too for the row helpers) */
long jgpt_ggml_row_bytes(int type, long n);   /* -1 for a type or length jgpt cannot decode */
void jgpt_ggml_dequantize_row(int type, const void *row, float *y, int n);
void jgpt_ggml_matvec_rows(int type, const void *w, float *out, const float *x, int r0, int r1, int n);

/* out[r] = W[r,:] . x for r in [r0, r1); W is (rows, n). Single-threaded. */
void jgpt_decode_matvec_rows(const jgpt_qmat *m, float *out, const float *x, int r0, int r1, int n);

/* [r0, r1) of n items for thread id of nt, boundaries on multiples of align. */
static inline void split(int n, int id, int nt, int align, int *r0, int *r1) {
    int chunks = (n + align - 1) / align;
    *r0 = (int)((long)chunks * id / nt) * align;
    *r1 = (int)((long)chunks * (id + 1) / nt) * align;
    if (*r1 > n) *r1 = n;
    if (*r0 > n) *r0 = n;
}

/* JGPT_DECODE_KERNELS=portable: the plain-C paths even where wider instructions exist (tests compare the two) */
static inline int portable_forced(void) {
    const char *e = getenv("JGPT_DECODE_KERNELS");
    return e != NULL && e[0] == 'p';
}

/* att[0..pos] (scores, their maximum mx) to exp(att - mx); returns 1 / their sum, the softmax's normaliser */
static inline float softmax_unnormalised(float *att, int pos, float mx) {
    float sum = 0.0f;
    for (int t = 0; t <= pos; t++) {
        att[t] = expf(att[t] - mx);
        sum += att[t];
    }
    return 1.0f / sum;
}

/* decode_attend.c: attend() with AVX-512 for head sizes that are multiples of 16 up to 128; 0 when it cannot run */
int jgpt_attend_avx512(float *out, float *att, const float *q, const float *kc, const float *vc, int pos, int stride, int hs);

/* one head of single-query attention over cache positions 0..pos; a cache row every `stride` floats */
static inline void attend(float *out, float *att, const float *q, const float *kc, const float *vc, int pos, int stride,
                          int hs) {
    if (jgpt_attend_avx512(out, att, q, kc, vc, pos, stride, hs)) return;
    float scale = 1.0f / sqrtf((float)hs);
    float mx = -3.0e38f;
    for (int t = 0; t <= pos; t++) {
        const float *k = kc + (long)t * stride;
        float s = 0.0f;
        #pragma omp simd reduction(+:s)
        for (int i = 0; i < hs; i++) s += q[i] * k[i];
        s *= scale;
        att[t] = s;
        if (s > mx) mx = s;
    }
    float inv = softmax_unnormalised(att, pos, mx);
    for (int i = 0; i < hs; i++) out[i] = 0.0f;
    for (int t = 0; t <= pos; t++) {
        const float *v = vc + (long)t * stride;
        float a = att[t] * inv;
        #pragma omp simd
        for (int i = 0; i < hs; i++) out[i] += a * v[i];
    }
}

/* prefill_bf16.c: bf16 products for prefill (AVX512-BF16) */
int jgpt_prefill_bf16_available(void);
void jgpt_to_bf16(uint16_t *dst, const float *src, long n);
void jgpt_gemm_bf16(float *Y, int ldy, const uint16_t *X, int T, const uint16_t *W, int N, int K, float beta, int nt);

/* ---- half-float KV caches (the library's x86-64-v3 baseline has F16C) ------------------------------ */

/* n floats into IEEE halves (round to nearest even) */
static inline void to_half(uint16_t *dst, const float *src, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
}

/* decode_attend.c: attend_half() with AVX-512 (same conditions as jgpt_attend_avx512) */
int jgpt_attend_half_avx512(float *out, float *att, const float *q, const uint16_t *kc, const uint16_t *vc, int pos, int stride,
                            int hs);

/* attend() over a cache of halves: the keys and values widened to float as they are read */
static inline void attend_half(float *out, float *att, const float *q, const uint16_t *kc, const uint16_t *vc, int pos,
                               int stride, int hs) {
    if (jgpt_attend_half_avx512(out, att, q, kc, vc, pos, stride, hs)) return;
    float scale = 1.0f / sqrtf((float)hs);
    float mx = -3.0e38f;
    for (int t = 0; t <= pos; t++) {
        const uint16_t *k = kc + (long)t * stride;
        float s = 0.0f;
        int i = 0;
        __m256 acc = _mm256_setzero_ps();
        for (; i + 8 <= hs; i += 8)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k + i))), acc);
        float lanes[8];
        _mm256_storeu_ps(lanes, acc);
        for (int j = 0; j < 8; j++) s += lanes[j];
        for (; i < hs; i++) s += q[i] * _cvtsh_ss(k[i]);
        s *= scale;
        att[t] = s;
        if (s > mx) mx = s;
    }
    float inv = softmax_unnormalised(att, pos, mx);
    for (int i = 0; i < hs; i++) out[i] = 0.0f;
    for (int t = 0; t <= pos; t++) {
        const uint16_t *v = vc + (long)t * stride;
        float a = att[t] * inv;
        int i = 0;
        for (; i + 8 <= hs; i += 8)
            _mm256_storeu_ps(out + i, _mm256_fmadd_ps(_mm256_set1_ps(a), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + i))),
                                                      _mm256_loadu_ps(out + i)));
        for (; i < hs; i++) out[i] += a * _cvtsh_ss(v[i]);
    }
}

/* ---- a KV cache of float32 or halves, for the decoders that hold either ------------------------------- */

/* element e of a cache: float32, or IEEE halves when `half` */
static inline void *kv_at(void *cache, int half, long e) {
    return half ? (void *)((uint16_t *)cache + e) : (void *)((float *)cache + e);
}

/* n floats into the cache at dst: copied, or rounded to halves */
static inline void kv_store(void *dst, int half, const float *src, int n) {
    if (half) to_half((uint16_t *)dst, src, n);
    else for (int i = 0; i < n; i++) ((float *)dst)[i] = src[i];
}

/* attend() or attend_half() over a head's cache rows 0..pos (kc, vc: the layer's rows at the head's offset) */
static inline void kv_attend(int half, float *out, float *att, const float *q, const void *kc, const void *vc, int pos,
                             int stride, int hs) {
    if (half) attend_half(out, att, q, (const uint16_t *)kc, (const uint16_t *)vc, pos, stride, hs);
    else attend(out, att, q, (const float *)kc, (const float *)vc, pos, stride, hs);
}

#endif
