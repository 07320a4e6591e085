#include "jgpt.h"
#include "jgpt_math.h"
#include <math.h>
#include <string.h>

/* Row i of a (T,T) block keeps columns 0..i (causal): scale, subtract the row max, exp, normalise;
 * columns above the diagonal are written as zero so att @ v can be a plain sgemm. */
void jgpt_attention_softmax_forward(float *att, int BH, int T, float scale) {
    #pragma omp parallel for schedule(static)
    for (long row = 0; row < (long)BH * T; row++) {
        int i = (int)(row % T);
        float *a = att + row * T;
        float mx = -INFINITY;
        #pragma omp simd reduction(max:mx)
        for (int j = 0; j <= i; j++) mx = fmaxf(mx, a[j]);
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
}

void jgpt_attention_softmax_backward(float *datt, const float *att, int BH, int T, float scale) {
    #pragma omp parallel for schedule(static)
    for (long row = 0; row < (long)BH * T; row++) {
        int i = (int)(row % T);
        float *d = datt + row * T;
        const float *a = att + row * T;
        float dot = 0.0f;
        #pragma omp simd reduction(+:dot)
        for (int j = 0; j <= i; j++) dot += a[j] * d[j];
        #pragma omp simd
        for (int j = 0; j <= i; j++) d[j] = scale * a[j] * (d[j] - dot);
        if (i + 1 < T) memset(d + i + 1, 0, sizeof(float) * (size_t)(T - i - 1));
    }
}

void jgpt_attention_decode(float *out, float *att, const float *q, const float *kcache,
                           const float *vcache, int pos, int C, int NH) {
    int hs = C / NH;
    int L = pos + 1;
    float scale = 1.0f / sqrtf((float)hs);
    #pragma omp parallel for schedule(static) if ((long)L * C > 32768)
    for (int h = 0; h < NH; h++) {
        const float *qh = q + h * hs;
        float *a = att + (long)h * L;
        float mx = -INFINITY;
        for (int t = 0; t < L; t++) {
            const float *k = kcache + (long)t * C + h * hs;
            float s = 0.0f;
            #pragma omp simd reduction(+:s)
            for (int i = 0; i < hs; i++) s += qh[i] * k[i];
            s *= scale;
            a[t] = s;
            mx = fmaxf(mx, s);
        }
        float sum = 0.0f;
        #pragma omp simd reduction(+:sum)
        for (int t = 0; t < L; t++) { float e = jgpt_expf(a[t] - mx); a[t] = e; sum += e; }
        float inv = 1.0f / sum;
        float *o = out + h * hs;
        for (int i = 0; i < hs; i++) o[i] = 0.0f;
        for (int t = 0; t < L; t++) {
            float w = a[t] * inv;
            a[t] = w;
            const float *v = vcache + (long)t * C + h * hs;
            #pragma omp simd
            for (int i = 0; i < hs; i++) o[i] += w * v[i];
        }
    }
}
