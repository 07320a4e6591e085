/* Internal helpers shared by the kernels: a vectorisable expf and tanhf.
 * glibc's expf is not vectorised without -ffast-math, and softmax over the vocabulary and the
 * attention rows calls exp tens of millions of times per training step, so we use a
 * Cephes-style range reduction + degree-6 polynomial (max relative error ~2 ulp on [-87, 88])
 * that gcc turns into AVX2 code inside `#pragma omp simd` loops. */
#ifndef JGPT_MATH_H
#define JGPT_MATH_H

#include <stdint.h>
#include <math.h>

#pragma omp declare simd notinbranch
static inline float jgpt_expf(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500E-4f;
    p = p * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    p = p * r * r + r + 1.0f;
    union { int32_t i; float f; } scale;
    scale.i = ((int32_t)n + 127) << 23;
    return p * scale.f;
}

#pragma omp declare simd notinbranch
static inline float jgpt_tanhf(float x) {
    /* tanh(x) = 1 - 2 / (exp(2x) + 1); exact enough for |x| large (saturates to +-1) */
    float e = jgpt_expf(2.0f * x);
    return 1.0f - 2.0f / (e + 1.0f);
}

#endif
