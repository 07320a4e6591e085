#include "jgpt.h"
#include <math.h>

double jgpt_sum_squares(const float *x, long n) {
    double total = 0.0;
    /* float partial sums over blocks of 4096 (vectorised), added in double */
    long blocks = (n + 4095) / 4096;
    #pragma omp parallel for schedule(static) reduction(+:total)
    for (long blk = 0; blk < blocks; blk++) {
        long i0 = blk * 4096, i1 = i0 + 4096 < n ? i0 + 4096 : n;
        float s = 0.0f;
        #pragma omp simd reduction(+:s)
        for (long i = i0; i < i1; i++) s += x[i] * x[i];
        total += s;
    }
    return total;
}

void jgpt_adamw(float *params, const float *grads, float *m, float *v, long n, float lr,
                float beta1, float beta2, float eps, float weight_decay, int step, float grad_scale) {
    float c1 = 1.0f - powf(beta1, (float)step);
    float c2 = 1.0f - powf(beta2, (float)step);
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < n; i++) {
        float g = grads[i] * grad_scale;
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float mhat = mi / c1, vhat = vi / c2;
        params[i] -= lr * (mhat / (sqrtf(vhat) + eps) + weight_decay * params[i]);
    }
}
