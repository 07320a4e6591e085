/* GPT-2 inference in the image of decode_llama.c: one token through the whole network per native
 * call (decode) on the inference's worker pool, and blocks of prompt tokens through it with
 * cblas_sgemm (prefill). The model is described by a plan of JGPT_GPT2_PLAN_SLOTS int64 values
 * (jgpt.h) filled once by Java (dev.jgpt.model.Gpt2Decoder), so a token allocates nothing.
 *
 * The arithmetic is the training model's (dev.jgpt.model.Gpt2, llm.c's): LayerNorm with eps 1e-5 and
 * the biased variance, tanh-approximated GELU, learned position embeddings, biases on every matrix
 * product, the classifier tied to the token embedding. Decode splits every matrix by rows between
 * the team's threads (the bias, GELU and residual add of a row are done by the thread that produced
 * it); LayerNorm of the C-vector is done redundantly by every thread into its own buffer, so the
 * threads meet at 5 barriers per layer (after q/k/v, after attention, after the projection +
 * residual, after fc + GELU, after fcproj + residual). Matrix-vector products in f32, bf16 or q8 are
 * decode_matvec.c's. */
#include "jgpt.h"
#include "decode_internal.h"
#include "decode_pool.h"
#include "jgpt_math.h"
#include <math.h>
#include <omp.h>
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
    float *kcache, *vcache;
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
    m->kcache = (float *)(intptr_t)p[JGPT_GPT2_KCACHE];
    m->vcache = (float *)(intptr_t)p[JGPT_GPT2_VCACHE];
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

/* one head of single-query attention over cache positions 0..pos (rows of stride C) */
static void attend(float *out, float *att, const float *q, const float *kc, const float *vc, int pos, int C, int hs) {
    float scale = 1.0f / sqrtf((float)hs);
    float mx = -3.0e38f;
    for (int t = 0; t <= pos; t++) {
        const float *k = kc + (long)t * C;
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
        const float *v = vc + (long)t * C;
        float a = att[t] * inv;
        #pragma omp simd
        for (int i = 0; i < hs; i++) out[i] += a * v[i];
    }
}


/* ---- scratch ------------------------------------------------------------------------------------ */

long jgpt_gpt2_decode_scratch_floats(const int64_t *plan) {
    long C = plan[JGPT_GPT2_C], NH = plan[JGPT_GPT2_HEADS], maxT = plan[JGPT_GPT2_SEQ];
    long nt = plan[JGPT_GPT2_THREADS] < 1 ? 1 : plan[JGPT_GPT2_THREADS];
    /* x, xb (attention out), q, tmp, h (4C), per-thread normalised x, attention scores per head */
    return 4 * C + 4 * C + nt * C + NH * maxT + 64;
}

long jgpt_gpt2_prefill_scratch_floats(const int64_t *plan, int chunk) {
    long C = plan[JGPT_GPT2_C], NH = plan[JGPT_GPT2_HEADS], maxT = plan[JGPT_GPT2_SEQ];
    /* X, XB, Q, H (4C), attention scores per (row, head) */
    return (long)chunk * (3 * C + 4 * C + NH * maxT) + 64;
}

/* ---- decode one token ---------------------------------------------------------------------------- */

typedef struct {
    const gpt2_t *m;
    float *logits, *scratch;
    int pos;
    int layers;   /* 0: only the final LayerNorm + classifier of x (the end of a prefill) */
} decode_ctx;

/* the final LayerNorm of x and the logits rows [split of V] of member id */
static void classify(const gpt2_t *m, float *logits, const float *x, float *xn, int id, int n) {
    int r0, r1;
    layernorm(xn, x, m->lnfw, m->lnfb, m->C);
    split(m->V, id, n, 16, &r0, &r1);
    jgpt_decode_matvec_rows(&m->q[CLS], logits, xn, r0, r1, m->C);
}

static void decode_body(void *arg, jgpt_team *team, int id, int n) {
    const decode_ctx *c = arg;
    const gpt2_t *m = c->m;
    const int C = m->C, NH = m->NH, hs = C / NH, pos = c->pos;
    float *x = c->scratch, *xb = x + C, *q = xb + C, *tmp = q + C, *h = tmp + C;
    float *xn = h + 4 * C + (long)id * C, *att_all = h + 4 * C + (long)m->threads * C;
    int r0, r1;
    for (int l = 0; l < c->layers; l++) {
        float *kc = m->kcache + (long)l * m->maxT * C, *vc = m->vcache + (long)l * m->maxT * C;
        float *krow = kc + (long)pos * C, *vrow = vc + (long)pos * C;
        const float *bq = m->qkvb + (long)l * 3 * C, *bk = bq + C, *bv = bk + C;
        layernorm(xn, x, m->ln1w + (long)l * C, m->ln1b + (long)l * C, C);
        long qkv0 = (long)l * 3 * C * C;
        jgpt_qmat wq = mat_at(&m->q[QKV], qkv0), wk = mat_at(&m->q[QKV], qkv0 + (long)C * C),
                  wv = mat_at(&m->q[QKV], qkv0 + 2L * C * C);
        split(C, id, n, 16, &r0, &r1);
        jgpt_decode_matvec_rows(&wq, q, xn, r0, r1, C);
        jgpt_decode_matvec_rows(&wk, krow, xn, r0, r1, C);
        jgpt_decode_matvec_rows(&wv, vrow, xn, r0, r1, C);
        for (int i = r0; i < r1; i++) {
            q[i] += bq[i];
            krow[i] += bk[i];
            vrow[i] += bv[i];
        }
        jgpt_team_sync(team, id);

        split(NH, id, n, 1, &r0, &r1);
        for (int hd = r0; hd < r1; hd++) {
            attend(xb + hd * hs, att_all + (long)hd * m->maxT, q + hd * hs, kc + hd * hs, vc + hd * hs, pos, C, hs);
        }
        jgpt_team_sync(team, id);

        jgpt_qmat wo = mat_at(&m->q[ATTPROJ], (long)l * C * C);
        const float *bo = m->attprojb + (long)l * C;
        split(C, id, n, 16, &r0, &r1);
        jgpt_decode_matvec_rows(&wo, tmp, xb, r0, r1, C);
        for (int i = r0; i < r1; i++) x[i] += tmp[i] + bo[i];
        jgpt_team_sync(team, id);

        layernorm(xn, x, m->ln2w + (long)l * C, m->ln2b + (long)l * C, C);
        jgpt_qmat wfc = mat_at(&m->q[FC], (long)l * 4 * C * C);
        const float *bfc = m->fcb + (long)l * 4 * C;
        split(4 * C, id, n, 16, &r0, &r1);
        jgpt_decode_matvec_rows(&wfc, h, xn, r0, r1, C);
        for (int i = r0; i < r1; i++) h[i] = gelu(h[i] + bfc[i]);
        jgpt_team_sync(team, id);

        jgpt_qmat wp = mat_at(&m->q[FCPROJ], (long)l * 4 * C * C);
        const float *bp = m->fcprojb + (long)l * C;
        split(C, id, n, 16, &r0, &r1);
        jgpt_decode_matvec_rows(&wp, tmp, h, r0, r1, 4 * C);
        for (int i = r0; i < r1; i++) x[i] += tmp[i] + bp[i];
        jgpt_team_sync(team, id);
    }
    classify(m, c->logits, x, xn, id, n);
}

static void run(gpt2_t *m, decode_ctx *c) {
    /* the pool's size is the team's; the plan's thread count sized the scratch for it */
    if (m->pool != NULL && jgpt_pool_threads(m->pool) > m->threads) m->pool = NULL;
    jgpt_team_run(m->pool, m->threads, decode_body, c);
}

void jgpt_gpt2_decode(float *logits, const int64_t *plan, float *scratch, int token, int pos) {
    gpt2_t m;
    unpack(&m, plan);
    const int C = m.C;
    const float *te = m.wte + (long)token * C, *pe = m.wpe + (long)pos * C;
    for (int i = 0; i < C; i++) scratch[i] = te[i] + pe[i];
    decode_ctx c = { &m, logits, scratch, pos, m.L };
    run(&m, &c);
}

/* ---- prefill: a block of tokens with sgemm --------------------------------------------------------- */

/* Y (T, rows) = X (T, cols) W^T + beta Y, W row-major (rows, cols) float32 */
static void gemm(const gpt2_t *m, float *Y, const float *X, const float *W, int T, int rows, int cols, int ldy,
                 float beta) {
    m->sgemm(RowMajor, NoTrans, Trans, T, rows, cols, 1.0f, X, cols, W, cols, beta, Y, ldy);
}

static void add_bias(float *Y, const float *b, int T, int n, int ld, int nt) {
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int t = 0; t < T; t++) {
        float *y = Y + (long)t * ld;
        #pragma omp simd
        for (int i = 0; i < n; i++) y[i] += b[i];
    }
}

void jgpt_gpt2_prefill(float *logits, const int64_t *plan, float *scratch, float *decode_scratch,
                       const int32_t *tokens, int T, int pos) {
    gpt2_t m;
    unpack(&m, plan);
    const int C = m.C, NH = m.NH, hs = C / NH, nt = m.threads;
    float *X = scratch, *XB = X + (long)T * C, *Q = XB + (long)T * C, *H = Q + (long)T * C;
    float *ATT = H + (long)T * 4 * C;

    for (int t = 0; t < T; t++) {
        const float *te = m.wte + (long)tokens[t] * C, *pe = m.wpe + (long)(pos + t) * C;
        for (int i = 0; i < C; i++) X[(long)t * C + i] = te[i] + pe[i];
    }
    for (int l = 0; l < m.L; l++) {
        float *kc = m.kcache + (long)l * m.maxT * C, *vc = m.vcache + (long)l * m.maxT * C;
        const float *wqkv = m.f32[QKV] + (long)l * 3 * C * C, *bqkv = m.qkvb + (long)l * 3 * C;
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (int t = 0; t < T; t++)
            layernorm(XB + (long)t * C, X + (long)t * C, m.ln1w + (long)l * C, m.ln1b + (long)l * C, C);
        gemm(&m, Q, XB, wqkv, T, C, C, C, 0.0f);
        gemm(&m, kc + (long)pos * C, XB, wqkv + (long)C * C, T, C, C, C, 0.0f);
        gemm(&m, vc + (long)pos * C, XB, wqkv + 2L * C * C, T, C, C, C, 0.0f);
        add_bias(Q, bqkv, T, C, C, nt);
        add_bias(kc + (long)pos * C, bqkv + C, T, C, C, nt);
        add_bias(vc + (long)pos * C, bqkv + 2 * C, T, C, C, nt);
        #pragma omp parallel for num_threads(nt) schedule(dynamic, 4) collapse(2)
        for (int t = 0; t < T; t++)
            for (int hd = 0; hd < NH; hd++)
                attend(XB + (long)t * C + hd * hs, ATT + ((long)t * NH + hd) * m.maxT, Q + (long)t * C + hd * hs,
                       kc + hd * hs, vc + hd * hs, pos + t, C, hs);
        gemm(&m, X, XB, m.f32[ATTPROJ] + (long)l * C * C, T, C, C, C, 1.0f);
        add_bias(X, m.attprojb + (long)l * C, T, C, C, nt);
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (int t = 0; t < T; t++)
            layernorm(XB + (long)t * C, X + (long)t * C, m.ln2w + (long)l * C, m.ln2b + (long)l * C, C);
        gemm(&m, H, XB, m.f32[FC] + (long)l * 4 * C * C, T, 4 * C, C, 4 * C, 0.0f);
        const float *bfc = m.fcb + (long)l * 4 * C;
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (int t = 0; t < T; t++) {
            float *hr = H + (long)t * 4 * C;
            #pragma omp simd
            for (int i = 0; i < 4 * C; i++) hr[i] = gelu(hr[i] + bfc[i]);
        }
        gemm(&m, X, H, m.f32[FCPROJ] + (long)l * 4 * C * C, T, C, 4 * C, C, 1.0f);
        add_bias(X, m.fcprojb + (long)l * C, T, C, C, nt);
    }
    /* logits of the last row only, on the decode team with the decode dtype's classifier */
    memcpy(decode_scratch, X + (long)(T - 1) * C, sizeof(float) * C);
    decode_ctx c = { &m, logits, decode_scratch, pos + T - 1, 0 };
    run(&m, &c);
}
