/* The causal softmax of one attention row, forward and backward, shared by GPT-2's attention
 * (attention.c) and the Llama grouped-query attention (llama_ops.c): both compute a block of score
 * rows with sgemm, then run these per row. */
#ifndef JGPT_CAUSAL_SOFTMAX_H
#define JGPT_CAUSAL_SOFTMAX_H

#include <float.h>
#include <string.h>
#include "jgpt_math.h"

/* row i of a block: scale, subtract the row max, exp, normalise over 0..i; zero from i+1 to T */
static inline void causal_softmax_row(float *a, int i, int T, float scale) {
    float mx = -FLT_MAX;
    #pragma omp simd reduction(max:mx)
    for (int j = 0; j <= i; j++) mx = a[j] > mx ? a[j] : mx;
    mx *= scale;
    float sum = 0.0f;
    #pragma omp simd reduction(+:sum)
    for (int j = 0; j <= i; j++) {
        float e = jgpt_expf(a[j] * scale - mx);
        a[j] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
    #pragma omp simd
    for (int j = 0; j <= i; j++) a[j] *= inv;
    if (i + 1 < T) memset(a + i + 1, 0, sizeof(float) * (size_t)(T - i - 1));
}

/* d(scores) = scale * att * (datt - sum_j att*datt) over 0..i; zero above the diagonal */
static inline void causal_softmax_row_backward(float *d, const float *a, int i, int T, float scale) {
    float dot = 0.0f;
    #pragma omp simd reduction(+:dot)
    for (int j = 0; j <= i; j++) dot += a[j] * d[j];
    #pragma omp simd
    for (int j = 0; j <= i; j++) d[j] = scale * a[j] * (d[j] - dot);
    if (i + 1 < T) memset(d + i + 1, 0, sizeof(float) * (size_t)(T - i - 1));
}

#endif
