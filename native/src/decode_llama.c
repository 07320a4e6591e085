/* Llama-family inference: one token through the whole network (decode) and a block of prompt
 * tokens through it with matrix-matrix products (prefill). The model is described by a "plan", an
 * array of JGPT_LLAMA_PLAN_SLOTS int64 values (sizes and addresses, see jgpt.h) that Java fills
 * once at load time, so a token costs one native call and allocates nothing.
 *
 * Decode runs each token on the inference's persistent worker pool (decode_pool.c; the caller is
 * member 0), or, without a pool, in one OpenMP region. Every matrix is split by rows between the
 * threads; the small vector work (RMSNorm of dim floats) is done redundantly by every thread into its
 * own buffer, so threads meet only where a result of all of them is needed: 4 barriers per
 * layer (after q/k/v, after attention, after wo + residual, after w1/w3 + SwiGLU, and w2 + residual
 * meets the next layer's barrier); a barrier spins (up to 20 µs), then sleeps on a futex. RoPE is
 * applied by the thread that produced the rows, and the
 * residual adds are done by the thread that produced the row. The arithmetic follows llama2.c's
 * run.c (same RoPE frequencies and pairing, RMSNorm with eps inside the sqrt, softmax with max
 * subtraction), which is what the plain-Java reference decode in the tests also does.
 */
#include "jgpt.h"
#include "decode_internal.h"
#include "decode_pool.h"
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <string.h>
#include <stdlib.h>

typedef void (*sgemm_fn)(int order, int transa, int transb, int M, int N, int K, float alpha,
                         const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
enum { RowMajor = 101, NoTrans = 111, Trans = 112 };

typedef struct {
    int dim, hidden, layers, heads, kv_heads, vocab, seq, dtype, group, threads;
    float theta, eps;
    const float *emb, *rms_att, *rms_ffn, *rms_final;
    const float *f32[8];   /* wq wk wv wo w1 w2 w3 wcls, float32 (the mapped checkpoint) */
    jgpt_qmat q[8];        /* the same in the decode dtype */
    float *kcache, *vcache;
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
    m->kcache = (float *)(intptr_t)p[JGPT_LLAMA_KCACHE];
    m->vcache = (float *)(intptr_t)p[JGPT_LLAMA_VCACHE];
    m->sgemm = (sgemm_fn)(intptr_t)p[JGPT_LLAMA_SGEMM];
    m->pool = (jgpt_pool *)(intptr_t)p[JGPT_LLAMA_POOL];
}

/* The layer-l slice of a stacked (L, rows, cols) matrix in the decode dtype. */
static jgpt_qmat layer_mat(const jgpt_qmat *m, int l, long rows, long cols) {
    jgpt_qmat s = *m;
    long off = (long)l * rows * cols;
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

/* ---- small pieces shared by decode and prefill -------------------------------------------------- */

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

/* one head of single-query attention over cache positions 0..pos */
static void attend(float *out, float *att, const float *q, const float *kc, const float *vc, int pos, int kv_dim,
                   int hs) {
    float scale = 1.0f / sqrtf((float)hs);
    float mx = -3.0e38f;
    for (int t = 0; t <= pos; t++) {
        const float *k = kc + (long)t * kv_dim;
        float s = 0.0f;
        #pragma omp simd reduction(+:s)
        for (int i = 0; i < hs; i++) s += q[i] * k[i];
        s *= scale;
        att[t] = s;
        if (s > mx) mx = s;
    }
    float sum = 0.0f;
    for (int t = 0; t <= pos; t++) {
        att[t] = expf(att[t] - mx);
        sum += att[t];
    }
    float inv = 1.0f / sum;
    for (int i = 0; i < hs; i++) out[i] = 0.0f;
    for (int t = 0; t <= pos; t++) {
        const float *v = vc + (long)t * kv_dim;
        float a = att[t] * inv;
        #pragma omp simd
        for (int i = 0; i < hs; i++) out[i] += a * v[i];
    }
}

static inline float silu(float x) { return x / (1.0f + expf(-x)); }

static inline void split(int n, int id, int nt, int align, int *r0, int *r1) {
    int chunks = (n + align - 1) / align;
    *r0 = (int)((long)chunks * id / nt) * align;
    *r1 = (int)((long)chunks * (id + 1) / nt) * align;
    if (*r1 > n) *r1 = n;
    if (*r0 > n) *r0 = n;
}

/* ---- scratch ------------------------------------------------------------------------------------ */

long jgpt_llama_decode_scratch_floats(const int64_t *plan) {
    long dim = plan[JGPT_LLAMA_DIM], hidden = plan[JGPT_LLAMA_HIDDEN], seq = plan[JGPT_LLAMA_SEQ];
    long heads = plan[JGPT_LLAMA_HEADS], nt = plan[JGPT_LLAMA_THREADS] < 1 ? 1 : plan[JGPT_LLAMA_THREADS];
    /* x, xb (att out), q, hb, h3, rope table, per-thread normalised x, att scores per head */
    return dim * 3 + 2 * hidden + dim + nt * dim + heads * seq + 64;
}

long jgpt_llama_prefill_scratch_floats(const int64_t *plan, int chunk) {
    long dim = plan[JGPT_LLAMA_DIM], hidden = plan[JGPT_LLAMA_HIDDEN], seq = plan[JGPT_LLAMA_SEQ];
    long heads = plan[JGPT_LLAMA_HEADS], hs = dim / heads;
    /* X, XB, Q, H1, H3, rope tables per row, att scores per (row, head) */
    return (long)chunk * (3 * dim + 2 * hidden + hs + heads * seq) + 64;
}

/* ---- decode one token ---------------------------------------------------------------------------- */

typedef struct {
    const model_t *m;
    float *logits, *scratch;
    int pos;
} decode_ctx;

/* member id of n: its share of every phase of one token (x already holds the embedding) */
static void decode_body(void *arg, jgpt_team *team, int id, int n) {
    const decode_ctx *c = arg;
    const model_t *mp = c->m;
    const model_t m = *mp;
    const int dim = m.dim, hidden = m.hidden, hs = dim / m.heads, kv_dim = hs * m.kv_heads;
    const int kv_mul = m.heads / m.kv_heads, pos = c->pos;
    float *x = c->scratch, *xb = x + dim, *q = xb + dim, *hb = q + dim, *h3 = hb + hidden, *cs = h3 + hidden;
    float *xn_all = cs + dim, *att_all = xn_all + (long)m.threads * dim;
    float *logits = c->logits;
    float *xn = xn_all + (long)id * dim;
    int r0, r1;
    for (int l = 0; l < m.layers; l++) {
        float *kc = m.kcache + (long)l * m.seq * kv_dim, *vc = m.vcache + (long)l * m.seq * kv_dim;
        float *krow = kc + (long)pos * kv_dim, *vrow = vc + (long)pos * kv_dim;
        rmsnorm(xn, x, m.rms_att + (long)l * dim, dim, m.eps);
        jgpt_qmat wq = layer_mat(&m.q[WQ], l, dim, dim), wk = layer_mat(&m.q[WK], l, kv_dim, dim),
                  wv = layer_mat(&m.q[WV], l, kv_dim, dim);
        split(dim, id, n, 2, &r0, &r1);
        jgpt_decode_matvec_rows(&wq, q, xn, r0, r1, dim);
        rope_rows(q, cs, r0, r1, hs);
        split(kv_dim, id, n, 2, &r0, &r1);
        jgpt_decode_matvec_rows(&wk, krow, xn, r0, r1, dim);
        rope_rows(krow, cs, r0, r1, hs);
        jgpt_decode_matvec_rows(&wv, vrow, xn, r0, r1, dim);
        jgpt_team_sync(team, id);

        split(m.heads, id, n, 1, &r0, &r1);
        for (int h = r0; h < r1; h++) {
            int kvo = (h / kv_mul) * hs;
            attend(xb + h * hs, att_all + (long)h * m.seq, q + h * hs, kc + kvo, vc + kvo, pos, kv_dim, hs);
        }
        jgpt_team_sync(team, id);

        jgpt_qmat wo = layer_mat(&m.q[WO], l, dim, dim);
        split(dim, id, n, 16, &r0, &r1);
        jgpt_decode_matvec_rows(&wo, q, xb, r0, r1, dim); /* q is free again: use it for wo's output */
        for (int i = r0; i < r1; i++) x[i] += q[i];
        jgpt_team_sync(team, id);

        rmsnorm(xn, x, m.rms_ffn + (long)l * dim, dim, m.eps);
        jgpt_qmat w1 = layer_mat(&m.q[W1], l, hidden, dim), w3 = layer_mat(&m.q[W3], l, hidden, dim),
                  w2 = layer_mat(&m.q[W2], l, dim, hidden);
        split(hidden, id, n, 16, &r0, &r1);
        jgpt_decode_matvec_rows(&w1, hb, xn, r0, r1, dim);
        jgpt_decode_matvec_rows(&w3, h3, xn, r0, r1, dim);
        for (int i = r0; i < r1; i++) hb[i] = silu(hb[i]) * h3[i];
        jgpt_team_sync(team, id);

        split(dim, id, n, 16, &r0, &r1);
        jgpt_decode_matvec_rows(&w2, q, hb, r0, r1, hidden);
        for (int i = r0; i < r1; i++) x[i] += q[i];
        jgpt_team_sync(team, id);
    }
    rmsnorm(xn, x, m.rms_final, dim, m.eps);
    jgpt_qmat wcls = m.q[WCLS];
    split(m.vocab, id, n, 16, &r0, &r1);
    jgpt_decode_matvec_rows(&wcls, logits, xn, r0, r1, dim);
}

void jgpt_llama_decode(float *logits, const int64_t *plan, float *scratch, int token, int pos) {
    model_t m;
    unpack(&m, plan);
    const int dim = m.dim, hs = dim / m.heads;
    float *x = scratch, *cs = x + 3 * dim + 2 * m.hidden;
    memcpy(x, m.emb + (long)token * dim, sizeof(float) * dim);
    rope_table(cs, pos, hs, m.theta);
    /* the pool's size is the team's size; the plan's thread count sized the scratch for it */
    if (m.pool != NULL && jgpt_pool_threads(m.pool) > m.threads) m.pool = NULL;
    decode_ctx c = { &m, logits, scratch, pos };
    jgpt_team_run(m.pool, m.threads, decode_body, &c);
}

/* ---- prefill: a block of tokens with sgemm --------------------------------------------------------- */

/* Y (T, rows) = X (T, cols) W^T (+ Y when beta = 1) with OpenBLAS, W the layer-l slice of a float32 matrix */
static void gemm(const model_t *m, float *Y, const float *X, const float *W, int T, int rows, int cols, int ldy,
                 float beta) {
    m->sgemm(RowMajor, NoTrans, Trans, T, rows, cols, 1.0f, X, cols, W, cols, beta, Y, ldy);
}

void jgpt_llama_prefill(float *logits, const int64_t *plan, float *scratch, const int32_t *tokens, int T, int pos) {
    model_t m;
    unpack(&m, plan);
    const int dim = m.dim, hidden = m.hidden, hs = dim / m.heads, kv_dim = hs * m.kv_heads;
    const int kv_mul = m.heads / m.kv_heads, nt = m.threads;
    float *X = scratch, *XB = X + (long)T * dim, *Q = XB + (long)T * dim, *H1 = Q + (long)T * dim;
    float *H3 = H1 + (long)T * hidden, *CS = H3 + (long)T * hidden, *ATT = CS + (long)T * hs;

    for (int t = 0; t < T; t++) {
        memcpy(X + (long)t * dim, m.emb + (long)tokens[t] * dim, sizeof(float) * dim);
        rope_table(CS + (long)t * hs, pos + t, hs, m.theta);
    }
    for (int l = 0; l < m.layers; l++) {
        float *kc = m.kcache + (long)l * m.seq * kv_dim, *vc = m.vcache + (long)l * m.seq * kv_dim;
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (int t = 0; t < T; t++) rmsnorm(XB + (long)t * dim, X + (long)t * dim, m.rms_att + (long)l * dim, dim, m.eps);
        gemm(&m, Q, XB, m.f32[WQ] + (long)l * dim * dim, T, dim, dim, dim, 0.0f);
        gemm(&m, kc + (long)pos * kv_dim, XB, m.f32[WK] + (long)l * kv_dim * dim, T, kv_dim, dim, kv_dim, 0.0f);
        gemm(&m, vc + (long)pos * kv_dim, XB, m.f32[WV] + (long)l * kv_dim * dim, T, kv_dim, dim, kv_dim, 0.0f);
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (int t = 0; t < T; t++) {
            rope_rows(Q + (long)t * dim, CS + (long)t * hs, 0, dim, hs);
            rope_rows(kc + (long)(pos + t) * kv_dim, CS + (long)t * hs, 0, kv_dim, hs);
        }
        #pragma omp parallel for num_threads(nt) schedule(dynamic, 4) collapse(2)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < m.heads; h++) {
                int kvo = (h / kv_mul) * hs;
                attend(XB + (long)t * dim + h * hs, ATT + ((long)t * m.heads + h) * m.seq, Q + (long)t * dim + h * hs,
                       kc + kvo, vc + kvo, pos + t, kv_dim, hs);
            }
        gemm(&m, X, XB, m.f32[WO] + (long)l * dim * dim, T, dim, dim, dim, 1.0f);
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (int t = 0; t < T; t++) rmsnorm(XB + (long)t * dim, X + (long)t * dim, m.rms_ffn + (long)l * dim, dim, m.eps);
        gemm(&m, H1, XB, m.f32[W1] + (long)l * hidden * dim, T, hidden, dim, hidden, 0.0f);
        gemm(&m, H3, XB, m.f32[W3] + (long)l * hidden * dim, T, hidden, dim, hidden, 0.0f);
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (long i = 0; i < (long)T * hidden; i++) H1[i] = silu(H1[i]) * H3[i];
        gemm(&m, X, H1, m.f32[W2] + (long)l * dim * hidden, T, dim, hidden, dim, 1.0f);
    }
    /* logits of the last row only, with the decode dtype's classifier (the same as decode's) */
    float *xl = XB;
    rmsnorm(xl, X + (long)(T - 1) * dim, m.rms_final, dim, m.eps);
    jgpt_qmat wcls = m.q[WCLS];
    #pragma omp parallel num_threads(nt)
    {
        int r0, r1;
        split(m.vocab, omp_get_thread_num(), omp_get_num_threads(), 16, &r0, &r1);
        jgpt_decode_matvec_rows(&wcls, logits, xl, r0, r1, dim);
    }
}
