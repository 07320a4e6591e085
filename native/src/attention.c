#include "jgpt.h"
#include "jgpt_math.h"
#include <float.h>
#include <math.h>
#include <string.h>
#include "causal_softmax.h"

/* cblas_sgemm's signature (enums are ints in the C ABI) */
typedef void (*sgemm_fn)(int order, int transa, int transb, int M, int N, int K, float alpha,
                         const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
typedef void (*set_threads_fn)(int);
typedef int (*get_threads_fn)(void);

enum { RowMajor = 101, NoTrans = 111, Trans = 112 };
#ifndef BLOCK
#define BLOCK 64 /* query rows per block: the causal triangle is skipped block by block */
#endif

static sgemm_fn blas_sgemm;
static set_threads_fn blas_set_threads;
static get_threads_fn blas_get_threads;

void jgpt_set_blas(void *cblas_sgemm, void *openblas_set_num_threads, void *openblas_get_num_threads) {
    blas_sgemm = (sgemm_fn)cblas_sgemm;
    blas_set_threads = (set_threads_fn)openblas_set_num_threads;
    blas_get_threads = (get_threads_fn)openblas_get_num_threads;
}

/* OpenBLAS runs single-threaded inside our OpenMP loop over heads; its pool and ours never overlap. */
static int blas_single_begin(void) {
    int saved = blas_get_threads ? blas_get_threads() : 1;
    if (blas_set_threads && saved != 1) blas_set_threads(1);
    return saved;
}

static void blas_single_end(int saved) {
    if (blas_set_threads && saved != 1) blas_set_threads(saved);
}

void jgpt_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH) {
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    int saved = blas_single_begin();
    #pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * NH; bh++) {
        int b = bh / NH, h = bh % NH;
        const float *q = qkv + (long)b * T * C3 + h * hs;
        const float *k = q + C;
        const float *v = q + 2 * C;
        float *a = att + (long)bh * T * T;
        float *o = out + (long)b * T * C + h * hs;
        for (int i0 = 0; i0 < T; i0 += BLOCK) {
            int i1 = i0 + BLOCK < T ? i0 + BLOCK : T, m = i1 - i0;
            /* scores[i0:i1, 0:i1] = Q[i0:i1] K[0:i1]^T */
            blas_sgemm(RowMajor, NoTrans, Trans, m, i1, hs, 1.0f, q + (long)i0 * C3, C3, k, C3,
                       0.0f, a + (long)i0 * T, T);
            for (int i = i0; i < i1; i++) causal_softmax_row(a + (long)i * T, i, T, scale);
            /* out[i0:i1] = att[i0:i1, 0:i1] V[0:i1] */
            blas_sgemm(RowMajor, NoTrans, NoTrans, m, hs, i1, 1.0f, a + (long)i0 * T, T, v, C3,
                       0.0f, o + (long)i0 * C, C);
        }
    }
    blas_single_end(saved);
}

void jgpt_attention_backward(float *dqkv, float *datt, const float *dout, const float *qkv,
                             const float *att, int B, int T, int C, int NH) {
    int hs = C / NH, C3 = 3 * C;
    float scale = 1.0f / sqrtf((float)hs);
    int saved = blas_single_begin();
    #pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * NH; bh++) {
        int b = bh / NH, h = bh % NH;
        long base = (long)b * T * C3 + h * hs;
        const float *q = qkv + base, *k = q + C, *v = q + 2 * C;
        float *dq = dqkv + base, *dk = dq + C, *dv = dq + 2 * C;
        const float *a = att + (long)bh * T * T;
        float *da = datt + (long)bh * T * T;
        const float *d = dout + (long)b * T * C + h * hs;
        for (int i0 = 0; i0 < T; i0 += BLOCK) {
            int i1 = i0 + BLOCK < T ? i0 + BLOCK : T, m = i1 - i0;
            const float *ab = a + (long)i0 * T;
            float *dab = da + (long)i0 * T;
            /* datt[i0:i1, 0:i1] = dout[i0:i1] V[0:i1]^T */
            blas_sgemm(RowMajor, NoTrans, Trans, m, i1, hs, 1.0f, d + (long)i0 * C, C, v, C3, 0.0f, dab, T);
            /* dV[0:i1] += att[i0:i1, 0:i1]^T dout[i0:i1] */
            blas_sgemm(RowMajor, Trans, NoTrans, i1, hs, m, 1.0f, ab, T, d + (long)i0 * C, C, 1.0f, dv, C3);
            for (int i = i0; i < i1; i++) causal_softmax_row_backward(da + (long)i * T, a + (long)i * T, i, T, scale);
            /* dQ[i0:i1] += dscores[i0:i1, 0:i1] K[0:i1] */
            blas_sgemm(RowMajor, NoTrans, NoTrans, m, hs, i1, 1.0f, dab, T, k, C3, 1.0f, dq + (long)i0 * C3, C3);
            /* dK[0:i1] += dscores[i0:i1, 0:i1]^T Q[i0:i1] */
            blas_sgemm(RowMajor, Trans, NoTrans, i1, hs, m, 1.0f, dab, T, q + (long)i0 * C3, C3, 1.0f, dk, C3);
        }
    }
    blas_single_end(saved);
}

double jgpt_classifier(float *losses, float *dx, float *dwte, const float *x, const float *wte,
                       const int32_t *targets, float *scratch, int rows, int N, int C, int V,
                       float dloss_scale, int backward) {
    double total = 0.0;
    for (int r0 = 0; r0 < N; r0 += rows) {
        int R = rows < N - r0 ? rows : N - r0;
        const float *xr = x + (long)r0 * C;
        /* logits (R,V) = x (R,C) @ wte (V,C)^T: OpenBLAS uses its own threads here */
        blas_sgemm(RowMajor, NoTrans, Trans, R, V, C, 1.0f, xr, C, wte, C, 0.0f, scratch, V);
        total += jgpt_softmax_crossentropy(scratch, losses + r0, targets + r0, R, V, dloss_scale, backward);
        if (backward) {
            /* dx (R,C) += dlogits (R,V) @ wte (V,C) */
            blas_sgemm(RowMajor, NoTrans, NoTrans, R, C, V, 1.0f, scratch, V, wte, C, 1.0f, dx + (long)r0 * C, C);
            /* dwte (V,C) += dlogits^T (V,R) @ x (R,C); NULL: a frozen wte (LoRA), no product */
            if (dwte) blas_sgemm(RowMajor, Trans, NoTrans, V, C, R, 1.0f, scratch, V, xr, C, 1.0f, dwte, C);
        }
    }
    return total;
}

/* ---- for llama_ops.c (hidden symbols, not part of the ABI): the same OpenBLAS entry points ---- */
void *jgpt_internal_sgemm(void) { return (void *)blas_sgemm; }
int jgpt_internal_blas_single_begin(void) { return blas_single_begin(); }
void jgpt_internal_blas_single_end(int saved) { blas_single_end(saved); }
