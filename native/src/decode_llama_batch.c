/* Llama decoding for a batch: B sequences advance by one token each in one call (continuous batching
 * in `jgpt serve`). Each sequence is at its own position and has its own KV cache; the weights are
 * those of one loaded model (its plan, see jgpt.h), shared by all B.
 *
 * Why it is faster than B calls of jgpt_llama_decode: one token of a small model is bound by the
 * bytes of weights it reads (every weight once, 2 flops each). Here the rows of each matrix are cut
 * into blocks small enough to stay in the core's cache (L1/L2), and each block is applied to all B
 * vectors before the next block is read: the weights come from memory once per step instead of once
 * per sequence, and the B-1 other products read them from cache.
 *
 * The products are jgpt_batch_matmul (decode_batch_matmul.c, shared with the GPT-2 batch). The
 * product of one block with one vector is jgpt_decode_matvec_rows, the very kernel the
 * one-sequence decode uses (bf16 with vdpbf16ps); for f32 and q8 (vpdpbusd) two vectors share each
 * weight load in copies of those kernels there (q8 also quantises x once per product, not per block).
 * Either way each row of the result is computed by the same instructions in the same order as in
 * jgpt_llama_decode: the batched logits equal the one-sequence ones bit for bit. (A float32
 * cblas_sgemm over the B rows was measured against this and lost at the batch sizes a server sees,
 * see docs/PERFORMANCE.md; JGPT_BATCH_SGEMM=N turns it on from N rows, for measuring.)
 *
 * Attention runs per sequence and head over that sequence's own cache (the caches differ in
 * length); RoPE uses each sequence's own position. The small per-row pieces below (RMSNorm, RoPE,
 * single-query attention) are decode_llama.c's own, from decode_llama_common.h, so the arithmetic
 * is the same.
 *
 * Threads: plan[THREADS] OpenMP threads split the row blocks of each product (and the
 * (sequence, head) pairs of attention); one thread runs no parallel region at all.
 */
#include "decode_llama_common.h"
#include "decode_batch.h"
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* ---- the step ------------------------------------------------------------------------------------ */

long jgpt_llama_batch_scratch_floats(const int64_t *plan, int max_batch) {
    long dim = plan[JGPT_LLAMA_DIM], hidden = plan[JGPT_LLAMA_HIDDEN], seq = plan[JGPT_LLAMA_SEQ];
    long heads = plan[JGPT_LLAMA_HEADS], kv_heads = plan[JGPT_LLAMA_KV_HEADS], hs = dim / heads;
    long kv_dim = hs * kv_heads;
    /* per row: X, XN, Q, XB, T (dim each), K, V (kv_dim), H1, H3 (hidden), rope table (hs), scores
     * (heads*seq), and room for x quantised to q8 (n floats: more than the 1.25 n bytes needed) */
    long widest = hidden > dim ? hidden : dim;
    return (long)max_batch * (5 * dim + 2 * kv_dim + 2 * hidden + widest + hs + heads * seq) + 64;
}

void jgpt_llama_decode_batch(float *logits, const int64_t *plan, float *scratch, const int32_t *tokens,
                             const int32_t *pos, const int64_t *caches, int B) {
    model_t m;
    unpack(&m, plan);
    const sgemm_fn sg = (sgemm_fn)(intptr_t)plan[JGPT_LLAMA_SGEMM];
    const int dim = m.dim, hidden = m.hidden, hs = dim / m.heads, kv_dim = hs * m.kv_heads;
    const int kv_mul = m.heads / m.kv_heads, nt = m.threads, heads = m.heads;
    const long seq = m.seq;
    float *X = scratch, *XN = X + (long)B * dim, *Q = XN + (long)B * dim, *XB = Q + (long)B * dim;
    float *T = XB + (long)B * dim, *K = T + (long)B * dim, *V = K + (long)B * kv_dim, *H1 = V + (long)B * kv_dim;
    float *H3 = H1 + (long)B * hidden, *CS = H3 + (long)B * hidden, *ATT = CS + (long)B * hs;
    float *QX = ATT + (long)B * heads * seq;
    QX += (64 - ((intptr_t)QX & 63)) / 4 % 16;   /* 64-byte aligned (scratch itself is 64-aligned; +64 floats spare) */

    for (int b = 0; b < B; b++) {
        embed(&m, tokens[b], X + (long)b * dim);
        rope_table(CS + (long)b * hs, pos[b], hs, m.theta);
    }
    for (int l = 0; l < m.layers; l++) {
        for (int b = 0; b < B; b++) rmsnorm(XN + (long)b * dim, X + (long)b * dim, m.rms_att + (long)l * dim, dim, m.eps);
        jgpt_qmat wq = layer_mat(&m.q[WQ], l, dim, dim), wk = layer_mat(&m.q[WK], l, kv_dim, dim),
                  wv = layer_mat(&m.q[WV], l, kv_dim, dim);
        jgpt_batch_matmul(&wq, Q, dim, XN, dim, B, dim, dim, nt, sg, QX);
        jgpt_batch_matmul(&wk, K, kv_dim, XN, dim, B, kv_dim, dim, nt, sg, QX);
        jgpt_batch_matmul(&wv, V, kv_dim, XN, dim, B, kv_dim, dim, nt, sg, QX);
        for (int b = 0; b < B; b++) {
            const float *cs = CS + (long)b * hs;
            rope_rows(Q + (long)b * dim, cs, 0, dim, hs);
            rope_rows(K + (long)b * kv_dim, cs, 0, kv_dim, hs);
            cache_store(&m, cache_at(&m, (void *)(intptr_t)caches[2 * b], l, pos[b], kv_dim, 0), K + (long)b * kv_dim, kv_dim);
            cache_store(&m, cache_at(&m, (void *)(intptr_t)caches[2 * b + 1], l, pos[b], kv_dim, 0), V + (long)b * kv_dim, kv_dim);
        }
        #pragma omp parallel for num_threads(nt) schedule(dynamic, 1) collapse(2) if (nt > 1)
        for (int b = 0; b < B; b++)
            for (int h = 0; h < heads; h++) {
                attend_cache(&m, XB + (long)b * dim + h * hs, ATT + ((long)b * heads + h) * seq, Q + (long)b * dim + h * hs,
                             (void *)(intptr_t)caches[2 * b], (void *)(intptr_t)caches[2 * b + 1], l, (h / kv_mul) * hs, pos[b],
                             kv_dim, hs);
            }
        jgpt_qmat wo = layer_mat(&m.q[WO], l, dim, dim);
        jgpt_batch_matmul(&wo, T, dim, XB, dim, B, dim, dim, nt, sg, QX);
        for (long i = 0; i < (long)B * dim; i++) X[i] += T[i];

        for (int b = 0; b < B; b++) rmsnorm(XN + (long)b * dim, X + (long)b * dim, m.rms_ffn + (long)l * dim, dim, m.eps);
        jgpt_qmat w1 = layer_mat(&m.q[W1], l, hidden, dim), w3 = layer_mat(&m.q[W3], l, hidden, dim),
                  w2 = layer_mat(&m.q[W2], l, dim, hidden);
        jgpt_batch_matmul(&w1, H1, hidden, XN, dim, B, hidden, dim, nt, sg, QX);
        jgpt_batch_matmul(&w3, H3, hidden, XN, dim, B, hidden, dim, nt, sg, QX);
        for (long i = 0; i < (long)B * hidden; i++) H1[i] = silu(H1[i]) * H3[i];
        jgpt_batch_matmul(&w2, T, dim, H1, hidden, B, dim, hidden, nt, sg, QX);
        for (long i = 0; i < (long)B * dim; i++) X[i] += T[i];
    }
    for (int b = 0; b < B; b++) rmsnorm(XN + (long)b * dim, X + (long)b * dim, m.rms_final, dim, m.eps);
    jgpt_qmat wcls = layer_mat(&m.q[WCLS], 0, m.vocab, dim);
    jgpt_batch_matmul(&wcls, logits, m.vocab, XN, dim, B, m.vocab, dim, nt, sg, QX);
}
