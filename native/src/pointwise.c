#include "jgpt.h"
#include "jgpt_math.h"

#define GELU_SCALE 0.7978845608028654f /* sqrt(2/pi) */

void jgpt_gelu_forward(float *out, const float *inp, long n) {
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        float u = GELU_SCALE * (x + 0.044715f * x * x * x);
        out[i] = 0.5f * x * (1.0f + jgpt_tanhf(u));
    }
}

void jgpt_gelu_backward(float *dinp, const float *inp, const float *dout, long n) {
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) {
        float x = inp[i];
        float u = GELU_SCALE * (x + 0.044715f * x * x * x);
        float th = jgpt_tanhf(u);
        float sech2 = 1.0f - th * th;
        float local = 0.5f * (1.0f + th) + 0.5f * x * sech2 * GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
        dinp[i] += local * dout[i];
    }
}

void jgpt_residual_forward(float *out, const float *a, const float *b, long n) {
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void jgpt_residual_backward(float *da, float *db, const float *dout, long n) {
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) { da[i] += dout[i]; db[i] += dout[i]; }
}

void jgpt_accumulate(float *y, const float *x, long n) {
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) y[i] += x[i];
}
