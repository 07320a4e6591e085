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

#include "decode_llama_common.h"

/* ---- scratch ------------------------------------------------------------------------------------ */

long jgpt_llama_decode_scratch_floats(const int64_t *plan) {
    long dim = plan[JGPT_LLAMA_DIM], hidden = plan[JGPT_LLAMA_HIDDEN], seq = plan[JGPT_LLAMA_SEQ];
    long heads = plan[JGPT_LLAMA_HEADS], nt = plan[JGPT_LLAMA_THREADS] < 1 ? 1 : plan[JGPT_LLAMA_THREADS];
    /* x, xb (att out), q, hb, h3, rope table, per-thread normalised x, att scores per head; this position's k and v
     * rows (a cache of halves gets them rounded from these) */
    return dim * 3 + 2 * hidden + dim + nt * dim + heads * seq + 2 * dim + 64;
}

/* Floats of a weight tile decoded from the decode dtype for sgemm, when a matrix has no float32 copy: 4 MiB, as
 * many whole rows as fit (at least one). Stories110M, 2 threads, 256-token prompt in q8: tiles of 64 rows prefilled
 * 365 tokens/s, 256 rows 445, 4 MiB (1,365 or 512 rows) 762, against 787 from float32 weights. */
#define PREFILL_TILE_FLOATS (1L << 20)

long jgpt_llama_prefill_scratch_floats(const int64_t *plan, int chunk) {
    long dim = plan[JGPT_LLAMA_DIM], hidden = plan[JGPT_LLAMA_HIDDEN], seq = plan[JGPT_LLAMA_SEQ];
    long heads = plan[JGPT_LLAMA_HEADS], hs = dim / heads;
    /* X, XB, Q, H1, H3, rope tables per row, att scores per (row, head); the rows' k and v as float32 where the cache
     * holds halves; a weight tile where a matrix has no float32 */
    int tiles = plan[JGPT_LLAMA_DTYPE] == JGPT_DECODE_Q8 && jgpt_prefill_bf16_available(); /* q8: tiles even with float32 */
    for (int k = 0; k < 7; k++) tiles |= plan[JGPT_LLAMA_WEIGHTS + 3 * k] == 0;
    /* with tiles: the tile as float32 and as bf16, and the prompt rows as bf16 (prefill_bf16.c) */
    long widest = dim > hidden ? dim : hidden;
    long tile = tiles ? PREFILL_TILE_FLOATS + widest + PREFILL_TILE_FLOATS / 2 + widest + (long)chunk * widest / 2 + 64
                      : plan[JGPT_LLAMA_DTYPE] == JGPT_DECODE_BF16 ? (long)chunk * widest / 2 + 64 : 0;
    long kv = plan[JGPT_LLAMA_KV_TYPE] == 1 ? 2L * chunk * (hs * plan[JGPT_LLAMA_KV_HEADS]) : 0;
    return (long)chunk * (3 * dim + 2 * hidden + hs + heads * seq) + tile + kv + 64;
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
    float *xn_all = cs + dim, *att_all = xn_all + (long)m.threads * dim, *kv_row = att_all + (long)m.heads * m.seq;
    float *logits = c->logits;
    float *xn = xn_all + (long)id * dim;
    int r0, r1;
    for (int l = 0; l < m.layers; l++) {
        /* k and v of this position: straight into a float32 cache, or into kv_row and then rounded into the halves */
        float *krow = m.kv_half ? kv_row : (float *)cache_at(&m, m.kcache, l, pos, kv_dim, 0);
        float *vrow = m.kv_half ? kv_row + kv_dim : (float *)cache_at(&m, m.vcache, l, pos, kv_dim, 0);
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
        if (m.kv_half && r1 > r0) {
            cache_store(&m, cache_at(&m, m.kcache, l, pos, kv_dim, r0), krow + r0, r1 - r0);
            cache_store(&m, cache_at(&m, m.vcache, l, pos, kv_dim, r0), vrow + r0, r1 - r0);
        }
        jgpt_team_sync(team, id);

        split(m.heads, id, n, 1, &r0, &r1);
        for (int h = r0; h < r1; h++) {
            attend_cache(&m, xb + h * hs, att_all + (long)h * m.seq, q + h * hs, m.kcache, m.vcache, l, (h / kv_mul) * hs, pos,
                         kv_dim, hs);
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
    jgpt_qmat wcls = layer_mat(&m.q[WCLS], 0, m.vocab, dim);
    split(m.vocab, id, n, 16, &r0, &r1);
    jgpt_decode_matvec_rows(&wcls, logits, xn, r0, r1, dim);
}

void jgpt_llama_decode(float *logits, const int64_t *plan, float *scratch, int token, int pos) {
    model_t m;
    unpack(&m, plan);
    const int dim = m.dim, hs = dim / m.heads;
    float *x = scratch, *cs = x + 3 * dim + 2 * m.hidden;
    embed(&m, token, x);
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

/* Rows [r0, r0 + n) of w (bf16, q8 or ggml blocks) as float32, the same values the decode kernels multiply. */
static void decode_rows(const jgpt_qmat *w, long r0, int n, int cols, float *out, int nt) {
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int r = 0; r < n; r++) {
        long base = (r0 + r) * (long)cols;
        float *o = out + (long)r * cols;
        if (w->dtype == JGPT_DECODE_GGML) {
            jgpt_ggml_dequantize_row(w->group, (const uint8_t *)w->data + (r0 + r) * jgpt_ggml_row_bytes(w->group, cols), o, cols);
        } else if (w->dtype == JGPT_DECODE_BF16) {
            const uint16_t *b = (const uint16_t *)w->data + base;
            for (int i = 0; i < cols; i++) {
                uint32_t bits = (uint32_t)b[i] << 16;
                memcpy(o + i, &bits, sizeof bits);
            }
        } else {
            const int8_t *q = (const int8_t *)w->data + base;
            const float *sc = w->scales + base / w->group;
            const int G = w->group;
            for (int g = 0; g < cols / G; g++) {
                const float s = sc[g];
                #pragma omp simd
                for (int i = 0; i < G; i++) o[g * G + i] = q[g * G + i] * s;
            }
        }
    }
}

/* Rows [r0, r0 + n) of w as bf16 (through float32, one row at a time: the row is still in L1 when it is rounded). */
static void decode_rows_bf16(const jgpt_qmat *w, long r0, int n, int cols, float *rowbuf, uint16_t *out, int nt) {
    #pragma omp parallel for num_threads(nt) schedule(static)
    for (int r = 0; r < n; r++) {
        float *o = rowbuf + (long)omp_get_thread_num() * cols;
        decode_rows(w, r0 + r, 1, cols, o, 1);
        jgpt_to_bf16(out + (long)r * cols, o, cols);
    }
}

/* Y (T, rows) = X (T, cols) W_l^T (+ Y when beta = 1) for matrix k of layer l. With AVX512-BF16 (prefill_bf16.c) and a
 * dtype other than f32, the products are bf16 ones of the prompt rows rounded to bf16 and the weights decode multiplies:
 * bf16 weights as they are, the others (q8, a GGUF file's blocks) tile by tile decoded to bf16 — never the mapped
 * float32 file, which then stays out of memory. Otherwise sgemm on the float32 copy, or, where the model has none (an
 * import converted to bf16 or q8, GGUF blocks in place), on float32 tiles decoded from the decode dtype. */
static void gemm_layer(const model_t *m, int k, int l, float *Y, const float *X, int T, int rows, int cols, int ldy,
                       float beta, float *tile) {
    int widest = m->dim > m->hidden ? m->dim : m->hidden, bf16 = jgpt_prefill_bf16_available() && cols % 32 == 0;
    if (m->dtype == JGPT_DECODE_BF16 && bf16) {
        /* bf16 weights: multiplied as they are, with the prompt rows rounded to bf16 (as decode rounds x) */
        uint16_t *x16 = (uint16_t *)tile;
        x16 += (64 - ((intptr_t)x16 & 63)) / 2 % 32;
        jgpt_to_bf16(x16, X, (long)T * cols);
        jgpt_qmat w = layer_mat(&m->q[k], l, rows, cols);
        jgpt_gemm_bf16(Y, ldy, x16, T, (const uint16_t *)w.data, rows, cols, beta, m->threads);
        return;
    }
    if (m->f32[k] != NULL && !(m->dtype == JGPT_DECODE_Q8 && bf16)) { /* q8 with bf16 products: tiles beat float32 */
        gemm(m, Y, X, m->f32[k] + (long)l * rows * cols, T, rows, cols, ldy, beta);
        return;
    }
    jgpt_qmat w = layer_mat(&m->q[k], l, rows, cols);
    int tile_rows = PREFILL_TILE_FLOATS / cols > 0 ? (int)(PREFILL_TILE_FLOATS / cols) : 1;
    if (bf16 && m->threads * cols <= PREFILL_TILE_FLOATS + widest) {
        /* scratch after the float32 tile: the bf16 tile, then the prompt rows as bf16 (64-byte aligned) */
        uint16_t *tile16 = (uint16_t *)(tile + PREFILL_TILE_FLOATS + widest);
        uint16_t *x16 = tile16 + PREFILL_TILE_FLOATS + 2L * widest;
        x16 += (64 - ((intptr_t)x16 & 63)) / 2 % 32;
        jgpt_to_bf16(x16, X, (long)T * cols);
        for (int r0 = 0; r0 < rows; r0 += tile_rows) {
            int n = rows - r0 < tile_rows ? rows - r0 : tile_rows;
            decode_rows_bf16(&w, r0, n, cols, tile, tile16, m->threads);
            jgpt_gemm_bf16(Y + r0, ldy, x16, T, tile16, n, cols, beta, m->threads);
        }
        return;
    }
    for (int r0 = 0; r0 < rows; r0 += tile_rows) {
        int n = rows - r0 < tile_rows ? rows - r0 : tile_rows;
        decode_rows(&w, r0, n, cols, tile, m->threads);
        m->sgemm(RowMajor, NoTrans, Trans, T, n, cols, 1.0f, X, cols, tile, cols, beta, Y + r0, ldy);
    }
}

void jgpt_llama_prefill(float *logits, const int64_t *plan, float *scratch, const int32_t *tokens, int T, int pos) {
    model_t m;
    unpack(&m, plan);
    const int dim = m.dim, hidden = m.hidden, hs = dim / m.heads, kv_dim = hs * m.kv_heads;
    const int kv_mul = m.heads / m.kv_heads, nt = m.threads;
    float *X = scratch, *XB = X + (long)T * dim, *Q = XB + (long)T * dim, *H1 = Q + (long)T * dim;
    float *H3 = H1 + (long)T * hidden, *CS = H3 + (long)T * hidden, *ATT = CS + (long)T * hs;
    float *KV = ATT + (long)T * m.heads * m.seq;                /* a cache of halves: the rows' K, V as floats first */
    float *TILE = KV + (m.kv_half ? 2L * T * kv_dim : 0);       /* then the weight tiles (gemm_layer) */

    for (int t = 0; t < T; t++) {
        embed(&m, tokens[t], X + (long)t * dim);
        rope_table(CS + (long)t * hs, pos + t, hs, m.theta);
    }
    for (int l = 0; l < m.layers; l++) {
        /* the rows' k and v: straight into a float32 cache, or as floats into KV and then rounded into the halves */
        float *K = m.kv_half ? KV : (float *)cache_at(&m, m.kcache, l, pos, kv_dim, 0);
        float *V = m.kv_half ? KV + (long)T * kv_dim : (float *)cache_at(&m, m.vcache, l, pos, kv_dim, 0);
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (int t = 0; t < T; t++) rmsnorm(XB + (long)t * dim, X + (long)t * dim, m.rms_att + (long)l * dim, dim, m.eps);
        gemm_layer(&m, WQ, l, Q, XB, T, dim, dim, dim, 0.0f, TILE);
        gemm_layer(&m, WK, l, K, XB, T, kv_dim, dim, kv_dim, 0.0f, TILE);
        gemm_layer(&m, WV, l, V, XB, T, kv_dim, dim, kv_dim, 0.0f, TILE);
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (int t = 0; t < T; t++) {
            rope_rows(Q + (long)t * dim, CS + (long)t * hs, 0, dim, hs);
            rope_rows(K + (long)t * kv_dim, CS + (long)t * hs, 0, kv_dim, hs);
            if (m.kv_half) {
                cache_store(&m, cache_at(&m, m.kcache, l, pos + t, kv_dim, 0), K + (long)t * kv_dim, kv_dim);
                cache_store(&m, cache_at(&m, m.vcache, l, pos + t, kv_dim, 0), V + (long)t * kv_dim, kv_dim);
            }
        }
        #pragma omp parallel for num_threads(nt) schedule(dynamic, 4) collapse(2)
        for (int t = 0; t < T; t++)
            for (int h = 0; h < m.heads; h++) {
                attend_cache(&m, XB + (long)t * dim + h * hs, ATT + ((long)t * m.heads + h) * m.seq, Q + (long)t * dim + h * hs,
                             m.kcache, m.vcache, l, (h / kv_mul) * hs, pos + t, kv_dim, hs);
            }
        gemm_layer(&m, WO, l, X, XB, T, dim, dim, dim, 1.0f, TILE);
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (int t = 0; t < T; t++) rmsnorm(XB + (long)t * dim, X + (long)t * dim, m.rms_ffn + (long)l * dim, dim, m.eps);
        gemm_layer(&m, W1, l, H1, XB, T, hidden, dim, hidden, 0.0f, TILE);
        gemm_layer(&m, W3, l, H3, XB, T, hidden, dim, hidden, 0.0f, TILE);
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (long i = 0; i < (long)T * hidden; i++) H1[i] = silu(H1[i]) * H3[i];
        gemm_layer(&m, W2, l, X, H1, T, dim, hidden, dim, 1.0f, TILE);
    }
    /* logits of the last row only, with the decode dtype's classifier (the same as decode's) */
    float *xl = XB;
    rmsnorm(xl, X + (long)(T - 1) * dim, m.rms_final, dim, m.eps);
    jgpt_qmat wcls = layer_mat(&m.q[WCLS], 0, m.vocab, dim);
    #pragma omp parallel num_threads(nt)
    {
        int r0, r1;
        split(m.vocab, omp_get_thread_num(), omp_get_num_threads(), 16, &r0, &r1);
        jgpt_decode_matvec_rows(&wcls, logits, xl, r0, r1, dim);
    }
}
