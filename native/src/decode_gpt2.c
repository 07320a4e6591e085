/* GPT-2 inference in the image of decode_llama.c: one token through the whole network per native
 * call (decode) on the inference's worker pool, and blocks of prompt tokens through it with
 * cblas_sgemm (prefill; bf16 weights: prefill_bf16.c's products). The model is described by a plan of JGPT_GPT2_PLAN_SLOTS int64 values
 * (jgpt.h) filled once by Java (dev.jgpt.model.Gpt2Decoder), so a token allocates nothing.
 *
 * The arithmetic is the training model's (dev.jgpt.model.Gpt2, llm.c's): LayerNorm with eps 1e-5 and
 * the biased variance, tanh-approximated GELU, learned position embeddings, biases on every matrix
 * product, the classifier tied to the token embedding. Decode splits every matrix by rows between
 * the team's threads (the bias, GELU and residual add of a row are done by the thread that produced
 * it); LayerNorm of the C-vector is done redundantly by every thread into its own buffer, so the
 * threads meet at 5 barriers per layer (after q/k/v, after attention, after the projection +
 * residual, after fc + GELU, after fcproj + residual). Matrix-vector products in f32, bf16 or q8 are
 * decode_matvec.c's. The plan's unpacking and the per-row pieces (LayerNorm, GELU, attention) are in
 * decode_gpt2_common.h, shared with the batched decode (decode_gpt2_batch.c). */
#include "decode_gpt2_common.h"
#include <math.h>
#include <omp.h>
#include <string.h>

/* ---- scratch ------------------------------------------------------------------------------------ */

long jgpt_gpt2_decode_scratch_floats(const int64_t *plan) {
    long C = plan[JGPT_GPT2_C], NH = plan[JGPT_GPT2_HEADS], maxT = plan[JGPT_GPT2_SEQ];
    long nt = plan[JGPT_GPT2_THREADS] < 1 ? 1 : plan[JGPT_GPT2_THREADS];
    /* x, xb (attention out), q, tmp, h (4C), per-thread normalised x, attention scores per head; this position's k
     * and v rows (a cache of halves gets them rounded from these) */
    return 4 * C + 4 * C + nt * C + NH * maxT + 2 * C + 64;
}

long jgpt_gpt2_prefill_scratch_floats(const int64_t *plan, int chunk) {
    long C = plan[JGPT_GPT2_C], NH = plan[JGPT_GPT2_HEADS], maxT = plan[JGPT_GPT2_SEQ];
    /* X, XB, Q, H (4C), attention scores per (row, head); the rows' k and v as float32 where the cache holds halves;
     * the rows as bf16 for bf16 weights' products (up to 4C wide: half as many floats) */
    return (long)chunk * (3 * C + 4 * C + NH * maxT + (plan[JGPT_GPT2_KV_TYPE] == 1 ? 2 * C : 0) + 2 * C) + 96;
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
    float *kv_row = att_all + (long)NH * m->maxT;
    int r0, r1;
    for (int l = 0; l < c->layers; l++) {
        long row = ((long)l * m->maxT + pos) * C;
        /* k and v of this position: straight into a float32 cache, or into kv_row and then rounded into the halves */
        float *krow = m->kv_half ? kv_row : (float *)kv_at(m->kcache, 0, row);
        float *vrow = m->kv_half ? kv_row + C : (float *)kv_at(m->vcache, 0, row);
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
        if (m->kv_half && r1 > r0) {
            kv_store(kv_at(m->kcache, 1, row + r0), 1, krow + r0, r1 - r0);
            kv_store(kv_at(m->vcache, 1, row + r0), 1, vrow + r0, r1 - r0);
        }
        jgpt_team_sync(team, id);

        split(NH, id, n, 1, &r0, &r1);
        long layer = (long)l * m->maxT * C;
        for (int hd = r0; hd < r1; hd++) {
            kv_attend(m->kv_half, xb + hd * hs, att_all + (long)hd * m->maxT, q + hd * hs,
                      kv_at(m->kcache, m->kv_half, layer + hd * hs), kv_at(m->vcache, m->kv_half, layer + hd * hs), pos, C, hs);
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

/* ---- prefill: a block of tokens with sgemm, or bf16 products for bf16 weights ------------------------ */

/* Y (T, rows) = X (T, cols) W^T + beta Y for rows [row0, row0 + rows) of layer l's matrix k ((L, stacked, cols) with
 * stacked rows a layer). bf16 weights with AVX512-BF16 (prefill_bf16.c): the bf16 copy decode multiplies, by the
 * prompt rows rounded to bf16 into x16 (as Llama's prefill does; decode rounds x the same way); else sgemm on the
 * float32 weights every dtype keeps. */
static void gemm(const gpt2_t *m, int k, int l, long stacked, long row0, float *Y, const float *X, int T, int rows, int cols,
                 int ldy, float beta, uint16_t *x16) {
    long at = ((long)l * stacked + row0) * cols;
    if (m->dtype == JGPT_DECODE_BF16 && cols % 32 == 0 && jgpt_prefill_bf16_available()) {
        jgpt_to_bf16(x16, X, (long)T * cols);
        jgpt_gemm_bf16(Y, ldy, x16, T, (const uint16_t *)m->q[k].data + at, rows, cols, beta, m->threads);
        return;
    }
    m->sgemm(RowMajor, NoTrans, Trans, T, rows, cols, 1.0f, X, cols, m->f32[k] + at, cols, beta, Y, ldy);
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
    float *ATT = H + (long)T * 4 * C, *KV = ATT + (long)T * NH * m.maxT; /* KV: a cache of halves' rows as floats */
    uint16_t *x16 = (uint16_t *)(KV + (m.kv_half ? 2L * T * C : 0));     /* then the rows as bf16, 64-byte aligned */
    x16 += (64 - ((intptr_t)x16 & 63)) / 2 % 32;

    for (int t = 0; t < T; t++) {
        const float *te = m.wte + (long)tokens[t] * C, *pe = m.wpe + (long)(pos + t) * C;
        for (int i = 0; i < C; i++) X[(long)t * C + i] = te[i] + pe[i];
    }
    for (int l = 0; l < m.L; l++) {
        long layer = (long)l * m.maxT * C;
        /* the rows' k and v: straight into a float32 cache, or as floats into KV and then rounded into the halves */
        float *K = m.kv_half ? KV : (float *)kv_at(m.kcache, 0, layer + (long)pos * C);
        float *V = m.kv_half ? KV + (long)T * C : (float *)kv_at(m.vcache, 0, layer + (long)pos * C);
        const float *bqkv = m.qkvb + (long)l * 3 * C;
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (int t = 0; t < T; t++)
            layernorm(XB + (long)t * C, X + (long)t * C, m.ln1w + (long)l * C, m.ln1b + (long)l * C, C);
        gemm(&m, QKV, l, 3L * C, 0, Q, XB, T, C, C, C, 0.0f, x16);
        gemm(&m, QKV, l, 3L * C, C, K, XB, T, C, C, C, 0.0f, x16);
        gemm(&m, QKV, l, 3L * C, 2L * C, V, XB, T, C, C, C, 0.0f, x16);
        add_bias(Q, bqkv, T, C, C, nt);
        add_bias(K, bqkv + C, T, C, C, nt);
        add_bias(V, bqkv + 2 * C, T, C, C, nt);
        if (m.kv_half) {
            #pragma omp parallel for num_threads(nt) schedule(static)
            for (int t = 0; t < T; t++) {
                kv_store(kv_at(m.kcache, 1, layer + (long)(pos + t) * C), 1, K + (long)t * C, C);
                kv_store(kv_at(m.vcache, 1, layer + (long)(pos + t) * C), 1, V + (long)t * C, C);
            }
        }
        #pragma omp parallel for num_threads(nt) schedule(dynamic, 4) collapse(2)
        for (int t = 0; t < T; t++)
            for (int hd = 0; hd < NH; hd++)
                kv_attend(m.kv_half, XB + (long)t * C + hd * hs, ATT + ((long)t * NH + hd) * m.maxT, Q + (long)t * C + hd * hs,
                          kv_at(m.kcache, m.kv_half, layer + hd * hs), kv_at(m.vcache, m.kv_half, layer + hd * hs), pos + t, C, hs);
        gemm(&m, ATTPROJ, l, C, 0, X, XB, T, C, C, C, 1.0f, x16);
        add_bias(X, m.attprojb + (long)l * C, T, C, C, nt);
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (int t = 0; t < T; t++)
            layernorm(XB + (long)t * C, X + (long)t * C, m.ln2w + (long)l * C, m.ln2b + (long)l * C, C);
        gemm(&m, FC, l, 4L * C, 0, H, XB, T, 4 * C, C, 4 * C, 0.0f, x16);
        const float *bfc = m.fcb + (long)l * 4 * C;
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (int t = 0; t < T; t++) {
            float *hr = H + (long)t * 4 * C;
            #pragma omp simd
            for (int i = 0; i < 4 * C; i++) hr[i] = gelu(hr[i] + bfc[i]);
        }
        gemm(&m, FCPROJ, l, C, 0, X, H, T, C, 4 * C, C, 1.0f, x16);
        add_bias(X, m.fcprojb + (long)l * C, T, C, C, nt);
    }
    /* logits of the last row only, on the decode team with the decode dtype's classifier */
    memcpy(decode_scratch, X + (long)(T - 1) * C, sizeof(float) * C);
    decode_ctx c = { &m, logits, decode_scratch, pos + T - 1, 0 };
    run(&m, &c);
}
