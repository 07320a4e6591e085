/* The Llama-only layers of training (dev.jgpt.backend.Backend's rmsnorm*, rope*, swiglu*,
 * gqaAttention*): RMSNorm, rotary position embeddings, SwiGLU and grouped-query causal attention,
 * forward and backward. Rows (or heads) are split over OpenMP threads; inner loops are simd. */
#include "jgpt.h"
#include "jgpt_math.h"
#include "blas_internal.h"
#include <float.h>
#include <math.h>
#include <string.h>
#include <omp.h>
#include "causal_softmax.h"

/* ---- RMSNorm ------------------------------------------------------------------------------- */

void jgpt_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int N, int C, float eps) {
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (long)n * C;
        float ss = 0.0f;
        #pragma omp simd reduction(+:ss)
        for (int i = 0; i < C; i++) ss += x[i] * x[i];
        float r = 1.0f / sqrtf(ss / C + eps);
        float *o = out + (long)n * C;
        #pragma omp simd
        for (int i = 0; i < C; i++) o[i] = weight[i] * (x[i] * r);
        rstd[n] = r;
    }
}

/* Rows in parallel; each thread sums its rows' dweight into its own C floats of scratch, then the
 * slices are added into dweight by column blocks (as layernorm backward). */
void jgpt_rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp, const float *weight,
                           const float *rstd, float *scratch, int N, int C) {
    int nthreads = 1;
    #pragma omp parallel
    {
        #pragma omp single
        nthreads = omp_get_num_threads();
        float *dw = scratch + (long)omp_get_thread_num() * C;
        memset(dw, 0, sizeof(float) * (size_t)C);
        #pragma omp for schedule(static)
        for (int n = 0; n < N; n++) {
            const float *x = inp + (long)n * C, *d = dout + (long)n * C;
            float *dx = dinp + (long)n * C;
            float r = rstd[n], dot = 0.0f;
            #pragma omp simd reduction(+:dot)
            for (int i = 0; i < C; i++) dot += weight[i] * d[i] * x[i];
            float coef = r * r * r / C * dot;
            #pragma omp simd
            for (int i = 0; i < C; i++) {
                dx[i] += r * weight[i] * d[i] - coef * x[i];
                dw[i] += d[i] * x[i] * r;
            }
        }
        /* implicit barrier of omp for: every slice is complete */
        #pragma omp for schedule(static)
        for (int i = 0; i < C; i++) {
            float s = 0.0f;
            for (int t = 0; t < nthreads; t++) s += scratch[(long)t * C + i];
            dweight[i] += s;
        }
    }
}

/* ---- RoPE: rotate pairs (2i, 2i+1) of every head by the angle of (t, i) ----------------------- */

static void rope(float *x, const float *cos_t, const float *sin_t, int B, int T, int NH, int hs, float sign) {
    int half = hs / 2;
    long width = (long)NH * hs;
    #pragma omp parallel for schedule(static) if ((long)B * T * width > 16384)
    for (long bt = 0; bt < (long)B * T; bt++) {
        int t = (int)(bt % T);
        const float *c = cos_t + (long)t * half, *s = sin_t + (long)t * half;
        float *row = x + bt * width;
        for (int h = 0; h < NH; h++) {
            float *p = row + (long)h * hs;
            #pragma omp simd
            for (int i = 0; i < half; i++) {
                float v0 = p[2 * i], v1 = p[2 * i + 1], si = sign * s[i];
                p[2 * i] = v0 * c[i] - v1 * si;
                p[2 * i + 1] = v0 * si + v1 * c[i];
            }
        }
    }
}

void jgpt_rope_forward(float *x, const float *cos_t, const float *sin_t, int B, int T, int NH, int hs) {
    rope(x, cos_t, sin_t, B, T, NH, hs, 1.0f);
}

void jgpt_rope_backward(float *dx, const float *cos_t, const float *sin_t, int B, int T, int NH, int hs) {
    rope(dx, cos_t, sin_t, B, T, NH, hs, -1.0f);   /* the transpose of a rotation is the rotation by -angle */
}

/* ---- SwiGLU: out = silu(gate) * up ---------------------------------------------------------- */

void jgpt_swiglu_forward(float *out, const float *gate, const float *up, long n) {
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) {
        float a = gate[i], sig = 1.0f / (1.0f + jgpt_expf(-a));
        out[i] = a * sig * up[i];
    }
}

void jgpt_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up, long n) {
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) {
        float a = gate[i], sig = 1.0f / (1.0f + jgpt_expf(-a)), g = dout[i];
        dgate[i] += g * up[i] * sig * (1.0f + a * (1.0f - sig));   /* silu' = sig + a sig (1 - sig) */
        dup[i] += g * a * sig;
    }
}

/* ---- grouped-query causal attention ------------------------------------------------------------
 * As jgpt_attention_forward/backward (attention.c), with q rows NH*hs wide and k, v rows NKV*hs wide:
 * per head, in blocks of 64 query rows, cblas_sgemm for the scores up to the block's end only (the
 * causal upper triangle is never multiplied), softmax in C, cblas_sgemm for att @ v. */
#define GQA_BLOCK 64

void jgpt_gqa_attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                                int B, int T, int NH, int NKV, int hs) {
    jgpt_sgemm_fn sgemm = (jgpt_sgemm_fn)jgpt_internal_sgemm();
    int Cq = NH * hs, Ckv = NKV * hs, group = NH / NKV;
    float scale = 1.0f / sqrtf((float)hs);
    int saved = jgpt_internal_blas_single_begin();
    #pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * NH; bh++) {
        int b = bh / NH, h = bh % NH;
        const float *qh = q + (long)b * T * Cq + (long)h * hs;
        const float *kh = k + (long)b * T * Ckv + (long)(h / group) * hs;
        const float *vh = v + (long)b * T * Ckv + (long)(h / group) * hs;
        float *a = att + (long)bh * T * T;
        float *o = out + (long)b * T * Cq + (long)h * hs;
        for (int i0 = 0; i0 < T; i0 += GQA_BLOCK) {
            int i1 = i0 + GQA_BLOCK < T ? i0 + GQA_BLOCK : T, m = i1 - i0;
            /* scores[i0:i1, 0:i1] = Q[i0:i1] K[0:i1]^T */
            sgemm(JGPT_ROW_MAJOR, JGPT_NO_TRANS, JGPT_TRANS, m, i1, hs, 1.0f, qh + (long)i0 * Cq, Cq, kh, Ckv,
                  0.0f, a + (long)i0 * T, T);
            for (int i = i0; i < i1; i++) causal_softmax_row(a + (long)i * T, i, T, scale);
            /* out[i0:i1] = att[i0:i1, 0:i1] V[0:i1] */
            sgemm(JGPT_ROW_MAJOR, JGPT_NO_TRANS, JGPT_NO_TRANS, m, hs, i1, 1.0f, a + (long)i0 * T, T, vh, Ckv,
                  0.0f, o + (long)i0 * Cq, Cq);
        }
    }
    jgpt_internal_blas_single_end(saved);
}

/* Decoding and prefill over a cache: one token (or a block of rows) attends over the cache rows 0..its position, kv rows NKV*hs wide, for a
 * block of query rows; one thread per (query head, row). */
void jgpt_gqa_attention_decode(float *out, float *att, const float *q, const float *kcache, const float *vcache,
                               int pos, int rows, int NH, int NKV, int hs) {
    int T = pos + rows, Cq = NH * hs, Ckv = NKV * hs, group = NH / NKV;
    float scale = 1.0f / sqrtf((float)hs);
    #pragma omp parallel for schedule(dynamic, 1) if ((long)T * rows * NH * hs > 32768)
    for (int hr = 0; hr < NH * rows; hr++) {
        int h = hr / rows, r = hr % rows, L = pos + r + 1;   /* row r sees positions 0..pos+r */
        const float *qh = q + (long)r * Cq + (long)h * hs;
        long kvOff = (long)(h / group) * hs;
        float *a = att + (long)hr * T;
        float mx = -FLT_MAX;
        for (int t = 0; t < L; t++) {
            const float *k = kcache + (long)t * Ckv + kvOff;
            float s = 0.0f;
            #pragma omp simd reduction(+:s)
            for (int i = 0; i < hs; i++) s += qh[i] * k[i];
            s *= scale;
            a[t] = s;
            mx = fmaxf(mx, s);
        }
        float sum = 0.0f;
        for (int t = 0; t < L; t++) { float e = jgpt_expf(a[t] - mx); a[t] = e; sum += e; }
        float inv = 1.0f / sum;
        float *o = out + (long)r * Cq + (long)h * hs;
        for (int i = 0; i < hs; i++) o[i] = 0.0f;
        for (int t = 0; t < L; t++) {
            float w = a[t] * inv;
            a[t] = w;
            const float *v = vcache + (long)t * Ckv + kvOff;
            #pragma omp simd
            for (int i = 0; i < hs; i++) o[i] += w * v[i];
        }
        for (int t = L; t < T; t++) a[t] = 0.0f;
    }
}

/* Parallel over (batch, kv head): the query heads of a group run one after the other on the same
 * thread, so their sums into the shared dk, dv never race. */
void jgpt_gqa_attention_backward(float *dq, float *dk, float *dv, float *datt, const float *dout, const float *q,
                                 const float *k, const float *v, const float *att, int B, int T, int NH, int NKV,
                                 int hs) {
    jgpt_sgemm_fn sgemm = (jgpt_sgemm_fn)jgpt_internal_sgemm();
    int Cq = NH * hs, Ckv = NKV * hs, group = NH / NKV;
    float scale = 1.0f / sqrtf((float)hs);
    int saved = jgpt_internal_blas_single_begin();
    #pragma omp parallel for schedule(static)
    for (int bg = 0; bg < B * NKV; bg++) {
        int b = bg / NKV, g = bg % NKV;
        long kvBase = (long)b * T * Ckv + (long)g * hs;
        const float *kh = k + kvBase, *vh = v + kvBase;
        float *dkh = dk + kvBase, *dvh = dv + kvBase;
        for (int h = g * group; h < (g + 1) * group; h++) {
            long qBase = (long)b * T * Cq + (long)h * hs;
            const float *qh = q + qBase, *d = dout + qBase;
            float *dqh = dq + qBase;
            const float *a = att + ((long)b * NH + h) * T * T;
            float *da = datt + ((long)b * NH + h) * T * T;
            for (int i0 = 0; i0 < T; i0 += GQA_BLOCK) {
                int i1 = i0 + GQA_BLOCK < T ? i0 + GQA_BLOCK : T, m = i1 - i0;
                const float *ab = a + (long)i0 * T;
                float *dab = da + (long)i0 * T;
                /* datt[i0:i1, 0:i1] = dout[i0:i1] V[0:i1]^T */
                sgemm(JGPT_ROW_MAJOR, JGPT_NO_TRANS, JGPT_TRANS, m, i1, hs, 1.0f, d + (long)i0 * Cq, Cq, vh, Ckv,
                      0.0f, dab, T);
                /* dV[0:i1] += att[i0:i1, 0:i1]^T dout[i0:i1] */
                sgemm(JGPT_ROW_MAJOR, JGPT_TRANS, JGPT_NO_TRANS, i1, hs, m, 1.0f, ab, T, d + (long)i0 * Cq, Cq,
                      1.0f, dvh, Ckv);
                for (int i = i0; i < i1; i++) causal_softmax_row_backward(da + (long)i * T, a + (long)i * T, i, T, scale);
                /* dQ[i0:i1] += dscores[i0:i1, 0:i1] K[0:i1] */
                sgemm(JGPT_ROW_MAJOR, JGPT_NO_TRANS, JGPT_NO_TRANS, m, hs, i1, 1.0f, dab, T, kh, Ckv,
                      1.0f, dqh + (long)i0 * Cq, Cq);
                /* dK[0:i1] += dscores[i0:i1, 0:i1]^T Q[i0:i1] */
                sgemm(JGPT_ROW_MAJOR, JGPT_TRANS, JGPT_NO_TRANS, i1, hs, m, 1.0f, dab, T, qh + (long)i0 * Cq, Cq,
                      1.0f, dkh, Ckv);
            }
        }
    }
    jgpt_internal_blas_single_end(saved);
}
