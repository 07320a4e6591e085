#include "jgpt.h"
#include <string.h>
#include <omp.h>

void jgpt_broadcast_rows(float *out, const float *bias, int N, int OC) {
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) memcpy(out + (long)n * OC, bias, sizeof(float) * (size_t)OC);
}

/* Column blocks in parallel (each thread owns whole columns of dbias: no race, fixed summation
 * order); the inner loop runs along a row, so it vectorises. */
void jgpt_sum_rows(float *dbias, const float *dout, int N, int OC) {
    #pragma omp parallel
    {
        int nth = omp_get_num_threads(), id = omp_get_thread_num();
        int per = (OC + nth - 1) / nth;
        per = (per + 15) & ~15;
        int o0 = id * per, o1 = o0 + per < OC ? o0 + per : OC;
        if (o0 < OC) {
            float *acc = dbias + o0;
            int w = o1 - o0;
            for (int n = 0; n < N; n++) {
                const float *d = dout + (long)n * OC + o0;
                #pragma omp simd
                for (int i = 0; i < w; i++) acc[i] += d[i];
            }
        }
    }
}
