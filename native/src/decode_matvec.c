/* Matrix-vector products for Llama decoding, one per weight dtype, and the load-time conversions.
 *
 * Decoding one token reads every weight once and does 2 flops per weight: it is bound by memory
 * bandwidth, so the only ways to go faster are fewer bytes per weight (bf16: 2, q8: 1 + 4/group)
 * and keeping the loads streaming. Each kernel computes rows [r0, r1) of out = W x so that threads
 * can split the rows between them without synchronising. The AVX-512 paths are chosen at run time
 * (the library's baseline is x86-64-v3); the portable loops below them are what gcc vectorises for
 * AVX2 and are also the definition of the arithmetic.
 *
 * q8 (like llama2.c's runq.c and ggml's Q8_0): each row is cut into groups of G consecutive
 * weights; a group stores int8 values q and one float scale s = max|w| / 127, w ~ q * s. Unlike
 * runq.c the activation x stays float32 (no quantisation of x), which costs nothing here because
 * the kernel is memory-bound, and keeps q8 closer to f32.
 */
#include "jgpt.h"
#include "decode_internal.h"
#include <immintrin.h>
#include <omp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- portable definitions --------------------------------------------------------------------- */

static void mv_f32_portable(float *out, const float *w, const float *x, int r0, int r1, int n) {
    for (int r = r0; r < r1; r++) {
        const float *row = w + (long)r * n;
        float s = 0.0f;
        #pragma omp simd reduction(+:s)
        for (int i = 0; i < n; i++) s += row[i] * x[i];
        out[r] = s;
    }
}

static inline float bf16_to_f32(uint16_t h) {
    union { uint32_t u; float f; } v;
    v.u = (uint32_t)h << 16;
    return v.f;
}

static void mv_bf16_portable(float *out, const uint16_t *w, const float *x, int r0, int r1, int n) {
    for (int r = r0; r < r1; r++) {
        const uint16_t *row = w + (long)r * n;
        float s = 0.0f;
        #pragma omp simd reduction(+:s)
        for (int i = 0; i < n; i++) s += bf16_to_f32(row[i]) * x[i];
        out[r] = s;
    }
}

static void mv_q8_portable(float *out, const int8_t *w, const float *scales, const float *x, int r0, int r1,
                           int n, int G) {
    int groups = n / G;
    for (int r = r0; r < r1; r++) {
        const int8_t *row = w + (long)r * n;
        const float *sc = scales + (long)r * groups;
        float s = 0.0f;
        for (int g = 0; g < groups; g++) {
            float gs = 0.0f;
            #pragma omp simd reduction(+:gs)
            for (int i = 0; i < G; i++) gs += (float)row[g * G + i] * x[g * G + i];
            s += gs * sc[g];
        }
        out[r] = s;
    }
}

/* ---- AVX-512 ---------------------------------------------------------------------------------- */

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

/* Four rows at a time: each load of x feeds four independent FMA chains (latency hidden, x read
 * from L1 once per four rows). The four rows come from the four quarters of [r0, r1) (rows r, r + Q,
 * r + 2Q, r + 3Q), so the weights arrive as four long sequential streams that the hardware
 * prefetchers follow from end to end. Four adjacent rows instead make four short streams that restart
 * at every block of rows: on a Zen 4 VM a q8 decode of stories110M ran at 67 tokens/s that way (with
 * a software prefetch 8 KiB ahead, which then helped) against 143-156 with quarters and no software
 * prefetch (which then only costs), llama.cpp's Q8_0 134 in the same run (docs/PERFORMANCE.md). */
#define QUARTERS(r0, r1) const int Q = ((r1) - (r0)) / 4

#define ROWS4(LOAD, T)                                                                                     \
    QUARTERS(r0, r1);                                                                                      \
    for (int q = 0; q < Q; q++) {                                                                          \
        const int r = r0 + q;                                                                              \
        const T *w0 = w + (long)r * n, *w1 = w0 + (long)Q * n, *w2 = w1 + (long)Q * n, *w3 = w2 + (long)Q * n; \
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(),              \
               a3 = _mm512_setzero_ps();                                                                   \
        int i = 0;                                                                                         \
        for (; i < n16; i += 16) {                                                                         \
            __m512 xv = _mm512_loadu_ps(x + i);                                                            \
            a0 = _mm512_fmadd_ps(LOAD(w0 + i), xv, a0);                                                    \
            a1 = _mm512_fmadd_ps(LOAD(w1 + i), xv, a1);                                                    \
            a2 = _mm512_fmadd_ps(LOAD(w2 + i), xv, a2);                                                    \
            a3 = _mm512_fmadd_ps(LOAD(w3 + i), xv, a3);                                                    \
        }                                                                                                  \
        float s0 = _mm512_reduce_add_ps(a0), s1 = _mm512_reduce_add_ps(a1), s2 = _mm512_reduce_add_ps(a2), \
              s3 = _mm512_reduce_add_ps(a3);                                                               \
        for (; i < n; i++) {                                                                               \
            s0 += SCALAR(w0[i]) * x[i];                                                                    \
            s1 += SCALAR(w1[i]) * x[i];                                                                    \
            s2 += SCALAR(w2[i]) * x[i];                                                                    \
            s3 += SCALAR(w3[i]) * x[i];                                                                    \
        }                                                                                                  \
        out[r] = s0; out[r + Q] = s1; out[r + 2 * Q] = s2; out[r + 3 * Q] = s3;                            \
    }                                                                                                      \
    for (int r = r0 + 4 * Q; r < r1; r++) {                                                                \
        const T *w0 = w + (long)r * n;                                                                     \
        __m512 a0 = _mm512_setzero_ps();                                                                   \
        int i = 0;                                                                                         \
        for (; i < n16; i += 16) a0 = _mm512_fmadd_ps(LOAD(w0 + i), _mm512_loadu_ps(x + i), a0);           \
        float s0 = _mm512_reduce_add_ps(a0);                                                               \
        for (; i < n; i++) s0 += SCALAR(w0[i]) * x[i];                                                     \
        out[r] = s0;                                                                                       \
    }

#define SCALAR(v) (v)
AVX512 static void mv_f32_avx512(float *out, const float *w, const float *x, int r0, int r1, int n) {
    int n16 = n & ~15;
    ROWS4(_mm512_loadu_ps, float)
}
#undef SCALAR

AVX512 static inline __m512 bf16x16(const uint16_t *p) {
    __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

#define SCALAR(v) bf16_to_f32(v)
AVX512 static void mv_bf16_avx512(float *out, const uint16_t *w, const float *x, int r0, int r1, int n) {
    int n16 = n & ~15;
    ROWS4(bf16x16, uint16_t)
}
#undef SCALAR

AVX512 static inline __m512 q8x16(const int8_t *p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)));
}

/* G a multiple of 16 (checked by the caller): two rows at a time, one from each half of [r0, r1) (two long
 * streams, see ROWS4), share the loads of x */
AVX512 static void mv_q8_avx512(float *out, const int8_t *w, const float *scales, const float *x, int r0, int r1,
                                int n, int G) {
    int groups = n / G, H = (r1 - r0) / 2;
    for (int h = 0; h < H; h++) {
        const int r = r0 + h;
        const int8_t *ra = w + (long)r * n, *rb = ra + (long)H * n;
        const float *sa = scales + (long)r * groups, *sb = sa + (long)H * groups;
        __m512 acc_a = _mm512_setzero_ps(), acc_b = _mm512_setzero_ps();
        for (int g = 0; g < groups; g++) {
            __m512 ga = _mm512_setzero_ps(), gb = _mm512_setzero_ps();
            for (int i = g * G; i < (g + 1) * G; i += 16) {
                __m512 xv = _mm512_loadu_ps(x + i);
                ga = _mm512_fmadd_ps(q8x16(ra + i), xv, ga);
                gb = _mm512_fmadd_ps(q8x16(rb + i), xv, gb);
            }
            acc_a = _mm512_fmadd_ps(ga, _mm512_set1_ps(sa[g]), acc_a);
            acc_b = _mm512_fmadd_ps(gb, _mm512_set1_ps(sb[g]), acc_b);
        }
        out[r] = _mm512_reduce_add_ps(acc_a);
        out[r + H] = _mm512_reduce_add_ps(acc_b);
    }
    for (int r = r0 + 2 * H; r < r1; r++) {
        const int8_t *ra = w + (long)r * n;
        const float *sa = scales + (long)r * groups;
        __m512 acc = _mm512_setzero_ps();
        for (int g = 0; g < groups; g++) {
            __m512 ga = _mm512_setzero_ps();
            for (int i = g * G; i < (g + 1) * G; i += 16) ga = _mm512_fmadd_ps(q8x16(ra + i), _mm512_loadu_ps(x + i), ga);
            acc = _mm512_fmadd_ps(ga, _mm512_set1_ps(sa[g]), acc);
        }
        out[r] = _mm512_reduce_add_ps(acc);
    }
}

/* ---- AVX-512 BF16: vdpbf16ps, 32 weights per instruction -------------------------------------
 * x is rounded to bf16 once per call (as llama.cpp does for its bf16 dot products): the products
 * then come out of the FMA unit without any widening of the weights. */

#define AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

AVX512BF16 static void mv_bf16_dp(float *out, const uint16_t *w, const float *x, int r0, int r1, int n) {
    int n32 = n & ~31;
    __m512bh xb[n32 / 32 + 1];
    for (int i = 0; i < n32; i += 32) xb[i / 32] = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
    QUARTERS(r0, r1); /* four long streams, see ROWS4 */
    for (int q = 0; q < Q; q++) {
        const int r = r0 + q;
        const uint16_t *w0 = w + (long)r * n, *w1 = w0 + (long)Q * n, *w2 = w1 + (long)Q * n, *w3 = w2 + (long)Q * n;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
        for (int i = 0; i < n32; i += 32) {
            __m512bh xv = xb[i / 32];
            a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512(w0 + i), xv);
            a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_loadu_si512(w1 + i), xv);
            a2 = _mm512_dpbf16_ps(a2, (__m512bh)_mm512_loadu_si512(w2 + i), xv);
            a3 = _mm512_dpbf16_ps(a3, (__m512bh)_mm512_loadu_si512(w3 + i), xv);
        }
        float s0 = _mm512_reduce_add_ps(a0), s1 = _mm512_reduce_add_ps(a1), s2 = _mm512_reduce_add_ps(a2),
              s3 = _mm512_reduce_add_ps(a3);
        for (int i = n32; i < n; i++) {
            s0 += bf16_to_f32(w0[i]) * x[i];
            s1 += bf16_to_f32(w1[i]) * x[i];
            s2 += bf16_to_f32(w2[i]) * x[i];
            s3 += bf16_to_f32(w3[i]) * x[i];
        }
        out[r] = s0; out[r + Q] = s1; out[r + 2 * Q] = s2; out[r + 3 * Q] = s3;
    }
    for (int r = r0 + 4 * Q; r < r1; r++) {
        const uint16_t *w0 = w + (long)r * n;
        __m512 a0 = _mm512_setzero_ps();
        for (int i = 0; i < n32; i += 32) a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512(w0 + i), xb[i / 32]);
        float s0 = _mm512_reduce_add_ps(a0);
        for (int i = n32; i < n; i++) s0 += bf16_to_f32(w0[i]) * x[i];
        out[r] = s0;
    }
}

/* ---- AVX-512 VNNI: q8 weights times x quantised to int8 per group ----------------------------
 * Like llama2.c's runq.c, x is quantised per group (scale max|x|/127) once per call, and each group's
 * dot product is an integer one: vpdpbusd multiplies unsigned by signed bytes, so the weights are
 * flipped to unsigned on the fly (w ^ 0x80 = w + 128) and the excess 128 * sum(xq) of the group is
 * subtracted by starting the accumulator at -128 * sum(xq) (in lane 0). 32 weights per instruction. */

#define AVX512VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))

AVX512VNNI static void mv_q8_vnni(float *out, const int8_t *w, const float *scales, const float *x, int r0, int r1,
                                  int n, int G) {
    int groups = n / G, per = G / 32;
    int8_t xq[n] __attribute__((aligned(64)));
    float sx[groups];
    __m256i init[groups];
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
        init[g] = _mm256_setr_epi32(-128 * sum, 0, 0, 0, 0, 0, 0, 0);
    }
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    /* four rows at a time, one from each quarter of [r0, r1): four long weight streams (see ROWS4), each
     * xq load feeding four dot products */
    QUARTERS(r0, r1);
    for (int q = 0; q < Q; q++) {
        const int r = r0 + q;
        const int8_t *wr[4] = { w + (long)r * n, w + (long)(r + Q) * n, w + (long)(r + 2 * Q) * n, w + (long)(r + 3 * Q) * n };
        const float *sr[4] = { scales + (long)r * groups, scales + (long)(r + Q) * groups,
                               scales + (long)(r + 2 * Q) * groups, scales + (long)(r + 3 * Q) * groups };
        __m256 acc[4] = { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() };
        for (int g = 0; g < groups; g++) {
            __m256i d[4] = { init[g], init[g], init[g], init[g] };
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
            __m256i d = init[g];
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

/* ---- dispatch --------------------------------------------------------------------------------- */

static int has_feature(int which) {
    static int cached[2] = {-1, -1};
    if (cached[which] < 0) {
        __builtin_cpu_init();
        cached[which] = which == 0 ? __builtin_cpu_supports("avx512bf16") : __builtin_cpu_supports("avx512vnni");
    }
    return cached[which];
}

/* JGPT_DECODE_KERNELS=portable|avx512 forces a path (tests compare them); default: the fastest. */
static int kernel_choice(void) {
    static int cached = -1;
    if (cached < 0) {
        const char *e = getenv("JGPT_DECODE_KERNELS");
        cached = e == NULL ? 2 : (e[0] == 'p' ? 0 : 1);
    }
    return cached;
}

static int use_avx512(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                 && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    }
    return cached;
}

void jgpt_decode_matvec_rows(const jgpt_qmat *m, float *out, const float *x, int r0, int r1, int n) {
    if (r0 >= r1) return;
    int choice = kernel_choice();
    int fast = choice >= 1 && use_avx512(), fastest = choice == 2 && fast;
    switch (m->dtype) {
    case JGPT_DECODE_BF16:
        if (fastest && has_feature(0)) mv_bf16_dp(out, (const uint16_t *)m->data, x, r0, r1, n);
        else if (fast) mv_bf16_avx512(out, (const uint16_t *)m->data, x, r0, r1, n);
        else mv_bf16_portable(out, (const uint16_t *)m->data, x, r0, r1, n);
        break;
    case JGPT_DECODE_GGML:
        if (m->group == 0 || m->group == 30) { /* ggml F32 / BF16: the plain dtypes' kernels */
            jgpt_qmat plain = { m->data, NULL, m->group == 0 ? JGPT_DECODE_F32 : JGPT_DECODE_BF16, 0 };
            jgpt_decode_matvec_rows(&plain, out, x, r0, r1, n);
        } else {
            jgpt_ggml_matvec_rows(m->group, m->data, out, x, r0, r1, n);
        }
        break;
    case JGPT_DECODE_Q8:
        if (fastest && has_feature(1) && m->group % 32 == 0)
            mv_q8_vnni(out, (const int8_t *)m->data, m->scales, x, r0, r1, n, m->group);
        else if (fast && m->group % 16 == 0) mv_q8_avx512(out, (const int8_t *)m->data, m->scales, x, r0, r1, n, m->group);
        else mv_q8_portable(out, (const int8_t *)m->data, m->scales, x, r0, r1, n, m->group);
        break;
    default:
        if (fast) mv_f32_avx512(out, (const float *)m->data, x, r0, r1, n);
        else mv_f32_portable(out, (const float *)m->data, x, r0, r1, n);
    }
}

/* ---- public entry points ---------------------------------------------------------------------- */

void jgpt_matvec(float *out, const void *w, const float *scales, const float *x, int rows, int cols, int dtype,
                 int group_size) {
    jgpt_qmat m = { w, scales, dtype, group_size };
    #pragma omp parallel
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        int r0 = (int)((long)rows * id / nt), r1 = (int)((long)rows * (id + 1) / nt);
        jgpt_decode_matvec_rows(&m, out, x, r0, r1, cols);
    }
}

void jgpt_convert_bf16(uint16_t *out, const float *in, long n) {
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) {
        union { float f; uint32_t u; } v = { in[i] };
        uint32_t rounding = 0x7FFFu + ((v.u >> 16) & 1u); /* round to nearest, ties to even */
        out[i] = (uint16_t)((v.u + rounding) >> 16);
    }
}

void jgpt_convert_q8(int8_t *out, float *scales, const float *in, long n, int group_size) {
    long groups = n / group_size;
    #pragma omp parallel for schedule(static)
    for (long g = 0; g < groups; g++) {
        const float *p = in + g * group_size;
        float amax = 0.0f;
        for (int i = 0; i < group_size; i++) amax = fmaxf(amax, fabsf(p[i]));
        float scale = amax / 127.0f;
        float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
        for (int i = 0; i < group_size; i++) out[g * group_size + i] = (int8_t)roundf(p[i] * inv);
        scales[g] = scale;
    }
}
