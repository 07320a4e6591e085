#include "jgpt.h"
#include "jgpt_math.h"
#include <math.h>
#include <float.h>
#include <string.h>

double jgpt_softmax_crossentropy(float *logits, float *losses, const int32_t *targets,
                                 int R, int V, float dloss_scale, int backward) {
    double total = 0.0;
    #pragma omp parallel for schedule(static) reduction(+:total)
    for (int r = 0; r < R; r++) {
        float *x = logits + (long)r * V;
        int target = targets[r];
        if (target < 0) {             /* masked row: no loss, no gradient */
            losses[r] = 0.0f;
            if (backward) memset(x, 0, sizeof(float) * (size_t)V);
            continue;
        }
        float mx = -FLT_MAX;
        #pragma omp simd reduction(max:mx)
        for (int j = 0; j < V; j++) mx = x[j] > mx ? x[j] : mx;
        float xt = x[target];
        float sum = 0.0f;
        if (backward) {
            #pragma omp simd reduction(+:sum)
            for (int j = 0; j < V; j++) { float e = jgpt_expf(x[j] - mx); x[j] = e; sum += e; }
        } else {
            #pragma omp simd reduction(+:sum)
            for (int j = 0; j < V; j++) sum += jgpt_expf(x[j] - mx);
        }
        float loss = logf(sum) - (xt - mx);
        losses[r] = loss;
        total += loss;
        if (backward) {
            float k = dloss_scale / sum;
            #pragma omp simd
            for (int j = 0; j < V; j++) x[j] *= k;
            x[target] -= dloss_scale;
        }
    }
    return total;
}
