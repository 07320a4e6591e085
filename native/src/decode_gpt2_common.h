/* Internal to decode_gpt2.c (one sequence) and decode_gpt2_batch.c (B sequences): the unpacked plan
 * and the per-row pieces both decoders share, so a batched row computes exactly what a single one does. */
#ifndef JGPT_DECODE_GPT2_COMMON_H
#define JGPT_DECODE_GPT2_COMMON_H

#include "jgpt.h"
#include "decode_internal.h"
#include "decode_pool.h"
#include "jgpt_math.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

#define GPT2_LN_EPS 1e-5f
#define GELU_SCALE 0.7978845608028654f   /* sqrt(2 / pi) */

typedef void (*sgemm_fn)(int order, int transa, int transb, int M, int N, int K, float alpha,
                         const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
enum { RowMajor = 101, NoTrans = 111, Trans = 112 };
enum { QKV, ATTPROJ, FC, FCPROJ, CLS, NMAT };

typedef struct {
    int C, L, NH, V, maxT, dtype, group, threads;
    const float *wte, *wpe, *ln1w, *ln1b, *ln2w, *ln2b, *lnfw, *lnfb;
    const float *qkvb, *attprojb, *fcb, *fcprojb;
    const float *f32[NMAT];
    jgpt_qmat q[NMAT];
    void *kcache, *vcache; /* (L, maxT, C) float32, or IEEE halves when kv_half */
    int kv_half;
    sgemm_fn sgemm;
    jgpt_pool *pool;
} gpt2_t;

static const void *ptr(const int64_t *p, int slot) { return (const void *)(intptr_t)p[slot]; }

static void unpack(gpt2_t *m, const int64_t *p) {
    m->C = (int)p[JGPT_GPT2_C];
    m->L = (int)p[JGPT_GPT2_LAYERS];
    m->NH = (int)p[JGPT_GPT2_HEADS];
    m->V = (int)p[JGPT_GPT2_VOCAB];
    m->maxT = (int)p[JGPT_GPT2_SEQ];
    m->dtype = (int)p[JGPT_GPT2_DTYPE];
    m->group = (int)p[JGPT_GPT2_GROUP];
    m->threads = p[JGPT_GPT2_THREADS] < 1 ? 1 : (int)p[JGPT_GPT2_THREADS];
    m->wte = ptr(p, JGPT_GPT2_WTE);
    m->wpe = ptr(p, JGPT_GPT2_WPE);
    m->ln1w = ptr(p, JGPT_GPT2_LN1W);
    m->ln1b = ptr(p, JGPT_GPT2_LN1B);
    m->ln2w = ptr(p, JGPT_GPT2_LN2W);
    m->ln2b = ptr(p, JGPT_GPT2_LN2B);
    m->lnfw = ptr(p, JGPT_GPT2_LNFW);
    m->lnfb = ptr(p, JGPT_GPT2_LNFB);
    m->qkvb = ptr(p, JGPT_GPT2_QKVB);
    m->attprojb = ptr(p, JGPT_GPT2_ATTPROJB);
    m->fcb = ptr(p, JGPT_GPT2_FCB);
    m->fcprojb = ptr(p, JGPT_GPT2_FCPROJB);
    for (int k = 0; k < NMAT; k++) {
        const int64_t *s = p + JGPT_GPT2_WEIGHTS + 3 * k;
        m->f32[k] = (const float *)(intptr_t)s[0];
        m->q[k].data = (const void *)(intptr_t)s[1];
        m->q[k].scales = (const float *)(intptr_t)s[2];
        m->q[k].dtype = m->dtype;
        m->q[k].group = m->group;
    }
    m->kcache = (void *)(intptr_t)p[JGPT_GPT2_KCACHE];
    m->vcache = (void *)(intptr_t)p[JGPT_GPT2_VCACHE];
    m->kv_half = p[JGPT_GPT2_KV_TYPE] == 1;
    m->sgemm = (sgemm_fn)(intptr_t)p[JGPT_GPT2_SGEMM];
    m->pool = (jgpt_pool *)(intptr_t)p[JGPT_GPT2_POOL];
}

/* The matrix that starts `off` elements into m (a layer's slice, or q/k/v's thirds of qkvw). For q8,
 * off is a multiple of the group size (every row length here is). */
static jgpt_qmat mat_at(const jgpt_qmat *m, long off) {
    jgpt_qmat s = *m;
    switch (m->dtype) {
    case JGPT_DECODE_BF16: s.data = (const uint16_t *)m->data + off; break;
    case JGPT_DECODE_Q8:
        s.data = (const int8_t *)m->data + off;
        s.scales = m->scales + off / m->group;
        break;
    default: s.data = (const float *)m->data + off;
    }
    return s;
}

static void layernorm(float *out, const float *x, const float *w, const float *b, int n) {
    float s = 0.0f;
    #pragma omp simd reduction(+:s)
    for (int i = 0; i < n; i++) s += x[i];
    float mean = s / n, v = 0.0f;
    #pragma omp simd reduction(+:v)
    for (int i = 0; i < n; i++) { float d = x[i] - mean; v += d * d; }
    float r = 1.0f / sqrtf(v / n + GPT2_LN_EPS);
    #pragma omp simd
    for (int i = 0; i < n; i++) out[i] = (x[i] - mean) * r * w[i] + b[i];
}

static inline float gelu(float x) {
    float u = GELU_SCALE * (x + 0.044715f * x * x * x);
    return 0.5f * x * (1.0f + jgpt_tanhf(u));
}


#endif
