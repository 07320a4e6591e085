/* GPT-2 decoding for a batch, the twin of decode_llama_batch.c: B sequences advance by one token each
 * in one call (continuous batching in `jgpt serve`). Each sequence is at its own position and has its
 * own KV cache; the weights (and dtype, threads) are those of one loaded model's plan (jgpt.h).
 *
 * Every matrix product is jgpt_batch_matmul (decode_batch_matmul.c): each block of weight rows is
 * read from memory once and applied to all B vectors from cache, and each (row, vector) sum is the
 * one-sequence kernel's, so with the per-row pieces of decode_gpt2_common.h (LayerNorm, GELU,
 * attention) and the same order of bias and residual adds, the batched logits equal
 * jgpt_gpt2_decode's bit for bit.
 *
 * Attention runs per (sequence, head) over that sequence's own cache. Threads: plan[THREADS] OpenMP
 * threads split the row blocks of each product and the (sequence, head) pairs of attention. */
#include "decode_gpt2_common.h"
#include "decode_batch.h"
#include <omp.h>
#include <string.h>

long jgpt_gpt2_batch_scratch_floats(const int64_t *plan, int max_batch) {
    long C = plan[JGPT_GPT2_C], NH = plan[JGPT_GPT2_HEADS], maxT = plan[JGPT_GPT2_SEQ];
    /* per row: X, XN, Q, XB, T, K, V (C each), H (4C), attention scores (NH * maxT), and room for x
     * quantised to q8 (4C floats: more than the 1.25 * 4C bytes needed) */
    return (long)max_batch * (7 * C + 4 * C + 4 * C + NH * maxT) + 64;
}

void jgpt_gpt2_decode_batch(float *logits, const int64_t *plan, float *scratch, const int32_t *tokens,
                            const int32_t *pos, const int64_t *caches, int B) {
    gpt2_t m;
    unpack(&m, plan);
    const int C = m.C, NH = m.NH, hs = C / NH, nt = m.threads;
    const long maxT = m.maxT;
    const sgemm_fn sg = (sgemm_fn)(intptr_t)plan[JGPT_GPT2_SGEMM];
    float *X = scratch, *XN = X + (long)B * C, *Q = XN + (long)B * C, *XB = Q + (long)B * C;
    float *T = XB + (long)B * C, *K = T + (long)B * C, *V = K + (long)B * C, *H = V + (long)B * C;
    float *ATT = H + (long)B * 4 * C;
    float *QX = ATT + (long)B * NH * maxT;
    QX += (64 - ((intptr_t)QX & 63)) / 4 % 16;   /* 64-byte aligned (scratch itself is 64-aligned; +64 floats spare) */

    for (int b = 0; b < B; b++) {
        const float *te = m.wte + (long)tokens[b] * C, *pe = m.wpe + (long)pos[b] * C;
        float *x = X + (long)b * C;
        for (int i = 0; i < C; i++) x[i] = te[i] + pe[i];
    }
    for (int l = 0; l < m.L; l++) {
        const float *bq = m.qkvb + (long)l * 3 * C, *bk = bq + C, *bv = bk + C;
        for (int b = 0; b < B; b++)
            layernorm(XN + (long)b * C, X + (long)b * C, m.ln1w + (long)l * C, m.ln1b + (long)l * C, C);
        long qkv0 = (long)l * 3 * C * C;
        jgpt_qmat wq = mat_at(&m.q[QKV], qkv0), wk = mat_at(&m.q[QKV], qkv0 + (long)C * C),
                  wv = mat_at(&m.q[QKV], qkv0 + 2L * C * C);
        jgpt_batch_matmul(&wq, Q, C, XN, C, B, C, C, nt, sg, QX);
        jgpt_batch_matmul(&wk, K, C, XN, C, B, C, C, nt, sg, QX);
        jgpt_batch_matmul(&wv, V, C, XN, C, B, C, C, nt, sg, QX);
        for (int b = 0; b < B; b++) {
            float *q = Q + (long)b * C, *k = K + (long)b * C, *v = V + (long)b * C;
            for (int i = 0; i < C; i++) {
                q[i] += bq[i];
                k[i] += bk[i];
                v[i] += bv[i];
            }
            long row = ((long)l * maxT + pos[b]) * C;
            kv_store(kv_at((void *)(intptr_t)caches[2 * b], m.kv_half, row), m.kv_half, k, C);
            kv_store(kv_at((void *)(intptr_t)caches[2 * b + 1], m.kv_half, row), m.kv_half, v, C);
        }
        #pragma omp parallel for num_threads(nt) schedule(dynamic, 1) collapse(2) if (nt > 1)
        for (int b = 0; b < B; b++)
            for (int hd = 0; hd < NH; hd++) {
                long at = (long)l * maxT * C + hd * hs;
                kv_attend(m.kv_half, XB + (long)b * C + hd * hs, ATT + ((long)b * NH + hd) * maxT, Q + (long)b * C + hd * hs,
                          kv_at((void *)(intptr_t)caches[2 * b], m.kv_half, at),
                          kv_at((void *)(intptr_t)caches[2 * b + 1], m.kv_half, at), pos[b], C, hs);
            }

        jgpt_qmat wo = mat_at(&m.q[ATTPROJ], (long)l * C * C);
        const float *bo = m.attprojb + (long)l * C;
        jgpt_batch_matmul(&wo, T, C, XB, C, B, C, C, nt, sg, QX);
        for (int b = 0; b < B; b++) {
            float *x = X + (long)b * C, *t = T + (long)b * C;
            for (int i = 0; i < C; i++) x[i] += t[i] + bo[i];
        }

        for (int b = 0; b < B; b++)
            layernorm(XN + (long)b * C, X + (long)b * C, m.ln2w + (long)l * C, m.ln2b + (long)l * C, C);
        jgpt_qmat wfc = mat_at(&m.q[FC], (long)l * 4 * C * C);
        const float *bfc = m.fcb + (long)l * 4 * C;
        jgpt_batch_matmul(&wfc, H, 4L * C, XN, C, B, 4 * C, C, nt, sg, QX);
        for (int b = 0; b < B; b++) {
            float *h = H + (long)b * 4 * C;
            for (int i = 0; i < 4 * C; i++) h[i] = gelu(h[i] + bfc[i]);
        }

        jgpt_qmat wp = mat_at(&m.q[FCPROJ], (long)l * 4 * C * C);
        const float *bp = m.fcprojb + (long)l * C;
        jgpt_batch_matmul(&wp, T, C, H, 4L * C, B, C, 4 * C, nt, sg, QX);
        for (int b = 0; b < B; b++) {
            float *x = X + (long)b * C, *t = T + (long)b * C;
            for (int i = 0; i < C; i++) x[i] += t[i] + bp[i];
        }
    }
    for (int b = 0; b < B; b++) layernorm(XN + (long)b * C, X + (long)b * C, m.lnfw, m.lnfb, C);
    jgpt_batch_matmul(&m.q[CLS], logits, m.V, XN, C, B, m.V, C, nt, sg, QX);
}
