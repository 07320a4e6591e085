/* Internal to decode_llama.c (one sequence) and decode_llama_batch.c (B sequences): the unpacked plan
 * and the per-row pieces both decoders share, so a batched row computes exactly what a single one does. */
#ifndef JGPT_DECODE_LLAMA_COMMON_H
#define JGPT_DECODE_LLAMA_COMMON_H

#include "jgpt.h"
#include "decode_internal.h"
#include "decode_pool.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef void (*sgemm_fn)(int order, int transa, int transb, int M, int N, int K, float alpha,
                         const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
enum { RowMajor = 101, NoTrans = 111, Trans = 112 };

typedef struct {
    int dim, hidden, layers, heads, kv_heads, vocab, seq, dtype, group, threads;
    float theta, eps;
    const float *emb, *rms_att, *rms_ffn, *rms_final;
    int emb_type;          /* ggml type of emb's rows; 0: float32 */
    const float *f32[8];   /* wq wk wv wo w1 w2 w3 wcls, float32 (the mapped checkpoint) */
    jgpt_qmat q[8];        /* the same in the decode dtype */
    void *kcache, *vcache; /* (L, seq, kv_dim) float32, or IEEE halves when kv_half */
    int kv_half;
    sgemm_fn sgemm;
    jgpt_pool *pool;       /* the inference's decode workers (NULL: an OpenMP region per token) */
} model_t;

enum { WQ, WK, WV, WO, W1, W2, W3, WCLS };

static float as_double(int64_t bits) {
    double d;
    memcpy(&d, &bits, sizeof d);
    return (float)d;
}

static void unpack(model_t *m, const int64_t *p) {
    m->dim = (int)p[JGPT_LLAMA_DIM];
    m->hidden = (int)p[JGPT_LLAMA_HIDDEN];
    m->layers = (int)p[JGPT_LLAMA_LAYERS];
    m->heads = (int)p[JGPT_LLAMA_HEADS];
    m->kv_heads = (int)p[JGPT_LLAMA_KV_HEADS];
    m->vocab = (int)p[JGPT_LLAMA_VOCAB];
    m->seq = (int)p[JGPT_LLAMA_SEQ];
    m->dtype = (int)p[JGPT_LLAMA_DTYPE];
    m->group = (int)p[JGPT_LLAMA_GROUP];
    m->threads = (int)p[JGPT_LLAMA_THREADS];
    if (m->threads < 1) m->threads = 1;
    m->theta = as_double(p[JGPT_LLAMA_ROPE_THETA]);
    m->eps = as_double(p[JGPT_LLAMA_EPS]);
    m->emb = (const float *)(intptr_t)p[JGPT_LLAMA_EMB];
    m->emb_type = (int)p[JGPT_LLAMA_EMB_TYPE];
    m->rms_att = (const float *)(intptr_t)p[JGPT_LLAMA_RMS_ATT];
    m->rms_ffn = (const float *)(intptr_t)p[JGPT_LLAMA_RMS_FFN];
    m->rms_final = (const float *)(intptr_t)p[JGPT_LLAMA_RMS_FINAL];
    for (int k = 0; k < 8; k++) {
        const int64_t *s = p + JGPT_LLAMA_WEIGHTS + 3 * k;
        m->f32[k] = (const float *)(intptr_t)s[0];
        m->q[k].data = (const void *)(intptr_t)s[1];
        m->q[k].scales = (const float *)(intptr_t)s[2];
        m->q[k].dtype = m->dtype;
        m->q[k].group = m->group;
    }
    m->kcache = (void *)(intptr_t)p[JGPT_LLAMA_KCACHE];
    m->vcache = (void *)(intptr_t)p[JGPT_LLAMA_VCACHE];
    m->kv_half = p[JGPT_LLAMA_KV_TYPE] == 1;
    m->sgemm = (sgemm_fn)(intptr_t)p[JGPT_LLAMA_SGEMM];
    m->pool = (jgpt_pool *)(intptr_t)p[JGPT_LLAMA_POOL];
}

/* The layer-l slice of a stacked (L, rows, cols) matrix in the decode dtype (ggml: layer l's entry of the matrix's
 * tables of addresses and types; the classifier is "layer" 0 of one). */
static jgpt_qmat layer_mat(const jgpt_qmat *m, int l, long rows, long cols) {
    jgpt_qmat s = *m;
    long off = (long)l * rows * cols;
    switch (m->dtype) {
    case JGPT_DECODE_GGML:
        s.data = (const void *)(intptr_t)((const int64_t *)m->data)[l];
        s.group = (int)((const int64_t *)m->scales)[l];
        s.scales = NULL;
        break;
    case JGPT_DECODE_BF16: s.data = (const uint16_t *)m->data + off; break;
    case JGPT_DECODE_Q8:
        s.data = (const int8_t *)m->data + off;
        s.scales = m->scales + off / m->group;
        break;
    default: s.data = (const float *)m->data + off;
    }
    return s;
}

/* ---- small pieces shared by decode and prefill -------------------------------------------------- */

/* token's embedding row into out: copied, or dequantised from a GGUF file's own blocks */
static void embed(const model_t *m, int token, float *out) {
    if (m->emb_type == 0) {
        memcpy(out, m->emb + (long)token * m->dim, sizeof(float) * m->dim);
    } else {
        const uint8_t *rows = (const uint8_t *)m->emb;
        jgpt_ggml_dequantize_row(m->emb_type, rows + (long)token * jgpt_ggml_row_bytes(m->emb_type, m->dim), out, m->dim);
    }
}

static void rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
    float ss = 0.0f;
    #pragma omp simd reduction(+:ss)
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    ss = 1.0f / sqrtf(ss / n + eps);
    #pragma omp simd
    for (int i = 0; i < n; i++) out[i] = w[i] * (ss * x[i]);
}

/* cos/sin of position pos for the head_size/2 frequencies, as run.c computes them */
static void rope_table(float *cs, int pos, int hs, float theta) {
    for (int i = 0; i < hs; i += 2) {
        float freq = 1.0f / powf(theta, i / (float)hs);
        float val = pos * freq;
        cs[i] = cosf(val);
        cs[i + 1] = sinf(val);
    }
}

/* rotate the pairs (2j, 2j+1) of rows [r0, r1) of a vector of whole heads; r0 even */
static void rope_rows(float *v, const float *cs, int r0, int r1, int hs) {
    for (int i = r0; i + 1 < r1; i += 2) {
        int hd = i % hs;
        float fcr = cs[hd], fci = cs[hd + 1];
        float v0 = v[i], v1 = v[i + 1];
        v[i] = v0 * fcr - v1 * fci;
        v[i + 1] = v0 * fci + v1 * fcr;
    }
}


static inline float silu(float x) { return x / (1.0f + expf(-x)); }

/* ---- the KV cache: float32 or IEEE halves ----------------------------------------------------------- */

/* the address of element (l, pos, i) of a cache of `kv_dim` a position (float32 or halves as the model's caches) */
static inline void *cache_at(const model_t *m, void *cache, int l, long pos, int kv_dim, int i) {
    return kv_at(cache, m->kv_half, ((long)l * m->seq + pos) * kv_dim + i);
}

/* n floats into the cache at dst: copied, or rounded to halves */
static inline void cache_store(const model_t *m, void *dst, const float *src, int n) {
    kv_store(dst, m->kv_half, src, n);
}

/* one head's single-query attention over layer l's cache rows 0..pos (the head's kv offset kvo) */
static inline void attend_cache(const model_t *m, float *out, float *att, const float *q, void *kcache, void *vcache, int l,
                                int kvo, int pos, int kv_dim, int hs) {
    kv_attend(m->kv_half, out, att, q, cache_at(m, kcache, l, 0, kv_dim, kvo), cache_at(m, vcache, l, 0, kv_dim, kvo), pos,
              kv_dim, hs);
}

#endif
