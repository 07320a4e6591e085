#include "jgpt.h"
#include <math.h>
#include <string.h>
#include <omp.h>

#define LN_EPS 1e-5f

void jgpt_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                            const float *weight, const float *bias, int N, int C) {
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *x = inp + (long)n * C;
        float s = 0.0f;
        #pragma omp simd reduction(+:s)
        for (int i = 0; i < C; i++) s += x[i];
        float m = s / C;
        float v = 0.0f;
        #pragma omp simd reduction(+:v)
        for (int i = 0; i < C; i++) { float d = x[i] - m; v += d * d; }
        float r = 1.0f / sqrtf(v / C + LN_EPS);
        float *o = out + (long)n * C;
        #pragma omp simd
        for (int i = 0; i < C; i++) o[i] = (x[i] - m) * r * weight[i] + bias[i];
        mean[n] = m;
        rstd[n] = r;
    }
}

/* Rows in parallel; each thread sums its rows' dweight/dbias into its own slice of scratch
 * (2*C floats per thread), then the slices are added into dweight/dbias by column blocks. */
void jgpt_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                             const float *inp, const float *weight, const float *mean,
                             const float *rstd, float *scratch, int N, int C) {
    int nthreads = 1;
    #pragma omp parallel
    {
        #pragma omp single
        nthreads = omp_get_num_threads();
        int id = omp_get_thread_num();
        float *dw = scratch + (long)id * 2 * C;
        float *db = dw + C;
        memset(dw, 0, sizeof(float) * 2 * (size_t)C);
        #pragma omp for schedule(static)
        for (int n = 0; n < N; n++) {
            const float *x = inp + (long)n * C;
            const float *d = dout + (long)n * C;
            float *dx = dinp + (long)n * C;
            float m = mean[n], r = rstd[n];
            float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
            #pragma omp simd reduction(+:dnorm_mean, dnorm_norm_mean)
            for (int i = 0; i < C; i++) {
                float norm = (x[i] - m) * r;
                float dnorm = weight[i] * d[i];
                dnorm_mean += dnorm;
                dnorm_norm_mean += dnorm * norm;
            }
            dnorm_mean /= C;
            dnorm_norm_mean /= C;
            #pragma omp simd
            for (int i = 0; i < C; i++) {
                float norm = (x[i] - m) * r;
                float dnorm = weight[i] * d[i];
                db[i] += d[i];
                dw[i] += norm * d[i];
                dx[i] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * r;
            }
        }
        /* implicit barrier of omp for: every slice is complete */
        #pragma omp for schedule(static)
        for (int i = 0; i < C; i++) {
            float sw = 0.0f, sb = 0.0f;
            for (int t = 0; t < nthreads; t++) {
                sw += scratch[(long)t * 2 * C + i];
                sb += scratch[(long)t * 2 * C + C + i];
            }
            dweight[i] += sw;
            dbias[i] += sb;
        }
    }
}
