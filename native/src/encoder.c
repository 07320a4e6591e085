#include "jgpt.h"
#include <omp.h>

void jgpt_encoder_forward(float *out, const int32_t *tokens, const float *wte, const float *wpe,
                          int B, int T, int C) {
    #pragma omp parallel for schedule(static)
    for (long bt = 0; bt < (long)B * T; bt++) {
        int t = (int)(bt % T);
        float *o = out + bt * C;
        const float *we = wte + (long)tokens[bt] * C;
        const float *pe = wpe + (long)t * C;
        #pragma omp simd
        for (int i = 0; i < C; i++) o[i] = we[i] + pe[i];
    }
}

/* Parallel over channel blocks: each thread owns columns [c0, c1) of dwte and dwpe, so repeated
 * tokens never race and no atomics are needed; the order of additions per element is fixed
 * (deterministic). */
void jgpt_encoder_backward(float *dwte, float *dwpe, const float *dout, const int32_t *tokens,
                           int B, int T, int C) {
    #pragma omp parallel
    {
        int nth = omp_get_num_threads(), id = omp_get_thread_num();
        int per = (C + nth - 1) / nth;
        per = (per + 15) & ~15;              /* whole cache lines per thread */
        int c0 = id * per, c1 = c0 + per < C ? c0 + per : C;
        if (c0 < C) {
            for (int b = 0; b < B; b++) {
                for (int t = 0; t < T; t++) {
                    const float *d = dout + ((long)b * T + t) * C;
                    float *we = dwte + (long)tokens[(long)b * T + t] * C;
                    float *pe = dwpe + (long)t * C;
                    #pragma omp simd
                    for (int i = c0; i < c1; i++) { we[i] += d[i]; pe[i] += d[i]; }
                }
            }
        }
    }
}
