/* gqa_attention_bench.c — is cblas_sgemm worth it inside libjgpt's grouped-query attention?
 *
 * Times jgpt_gqa_attention_forward + _backward (libjgpt: blocks of 64 query rows, per-head
 * cblas_sgemm, softmax in C) against a plain per-(batch, head) loop version written here (the same
 * OpenMP split, simd dot products, no BLAS), compiled with libjgpt's flags, on the same inputs, for
 * several T. Both are checked to agree first. Prints one line per T: milliseconds per forward +
 * backward (best of 5) for each, and the ratio.
 *
 *   cc -O3 -march=x86-64-v3 -fno-math-errno -fno-trapping-math -fopenmp -o gqa_attention_bench \
 *      bench/c/gqa_attention_bench.c -ldl -lm
 *   ./gqa_attention_bench java/target/classes/native/linux-x86_64/libjgpt.so <libopenblas.so.0> [threads]
 */
#include <dlfcn.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void (*fwd_fn)(float *, float *, const float *, const float *, const float *, int, int, int, int, int);
typedef void (*bwd_fn)(float *, float *, float *, float *, const float *, const float *, const float *, const float *,
                       const float *, int, int, int, int, int);

static void *sym(void *lib, const char *name) {
    void *p = dlsym(lib, name);
    if (!p) { fprintf(stderr, "missing %s\n", name); exit(1); }
    return p;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* plain loops: per (b, h) forward; per (b, kv head) backward so dk/dv have one writer */
static void loop_forward(float *out, float *att, const float *q, const float *k, const float *v, int B, int T, int NH,
                         int NKV, int hs) {
    int Cq = NH * hs, Ckv = NKV * hs, group = NH / NKV;
    float scale = 1.0f / sqrtf((float)hs);
    #pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * NH; bh++) {
        int b = bh / NH, h = bh % NH;
        const float *kb = k + (long)b * T * Ckv + (h / group) * hs, *vb = v + (long)b * T * Ckv + (h / group) * hs;
        for (int t = 0; t < T; t++) {
            const float *qr = q + ((long)b * T + t) * Cq + h * hs;
            float *a = att + ((long)bh * T + t) * T, mx = -INFINITY, sum = 0.0f;
            for (int u = 0; u <= t; u++) {
                float s = 0.0f;
                #pragma omp simd reduction(+:s)
                for (int i = 0; i < hs; i++) s += qr[i] * kb[(long)u * Ckv + i];
                a[u] = s * scale;
                mx = a[u] > mx ? a[u] : mx;
            }
            for (int u = 0; u <= t; u++) { a[u] = expf(a[u] - mx); sum += a[u]; }
            for (int u = 0; u < T; u++) a[u] = u <= t ? a[u] / sum : 0.0f;
            float *o = out + ((long)b * T + t) * Cq + h * hs;
            for (int i = 0; i < hs; i++) o[i] = 0.0f;
            for (int u = 0; u <= t; u++) {
                #pragma omp simd
                for (int i = 0; i < hs; i++) o[i] += a[u] * vb[(long)u * Ckv + i];
            }
        }
    }
}

static void loop_backward(float *dq, float *dk, float *dv, float *datt, const float *dout, const float *q,
                          const float *k, const float *v, const float *att, int B, int T, int NH, int NKV, int hs) {
    int Cq = NH * hs, Ckv = NKV * hs, group = NH / NKV;
    float scale = 1.0f / sqrtf((float)hs);
    #pragma omp parallel for schedule(static)
    for (int bg = 0; bg < B * NKV; bg++) {
        int b = bg / NKV, g = bg % NKV;
        const float *kb = k + (long)b * T * Ckv + g * hs, *vb = v + (long)b * T * Ckv + g * hs;
        float *dkb = dk + (long)b * T * Ckv + g * hs, *dvb = dv + (long)b * T * Ckv + g * hs;
        for (int h = g * group; h < (g + 1) * group; h++) {
            for (int t = 0; t < T; t++) {
                const float *d = dout + ((long)b * T + t) * Cq + h * hs, *qr = q + ((long)b * T + t) * Cq + h * hs;
                const float *a = att + (((long)b * NH + h) * T + t) * T;
                float *da = datt + (((long)b * NH + h) * T + t) * T, *dqr = dq + ((long)b * T + t) * Cq + h * hs;
                float dot = 0.0f;
                for (int u = 0; u <= t; u++) {
                    float s = 0.0f;
                    #pragma omp simd reduction(+:s)
                    for (int i = 0; i < hs; i++) { s += d[i] * vb[(long)u * Ckv + i]; dvb[(long)u * Ckv + i] += a[u] * d[i]; }
                    da[u] = s;
                    dot += a[u] * s;
                }
                for (int u = 0; u < T; u++) da[u] = u <= t ? scale * a[u] * (da[u] - dot) : 0.0f;
                for (int u = 0; u <= t; u++) {
                    #pragma omp simd
                    for (int i = 0; i < hs; i++) {
                        dqr[i] += da[u] * kb[(long)u * Ckv + i];
                        dkb[(long)u * Ckv + i] += da[u] * qr[i];
                    }
                }
            }
        }
    }
}

static float *randn(long n, unsigned *seed) {
    float *p = malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++) p[i] = (float)rand_r(seed) / RAND_MAX - 0.5f;
    return p;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s libjgpt.so libopenblas.so.0 [threads]\n", argv[0]); return 2; }
    int threads = argc > 3 ? atoi(argv[3]) : 1;
    void *blas = dlopen(argv[2], RTLD_NOW | RTLD_GLOBAL), *jgpt = blas ? dlopen(argv[1], RTLD_NOW) : NULL;
    if (!jgpt) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 1; }
    ((void (*)(void *, void *, void *))sym(jgpt, "jgpt_set_blas"))(sym(blas, "cblas_sgemm"),
            sym(blas, "openblas_set_num_threads"), sym(blas, "openblas_get_num_threads"));
    ((void (*)(int))sym(blas, "openblas_set_num_threads"))(threads);
    ((void (*)(int))sym(jgpt, "jgpt_set_num_threads"))(threads);
    omp_set_num_threads(threads);
    fwd_fn fwd = (fwd_fn)sym(jgpt, "jgpt_gqa_attention_forward");
    bwd_fn bwd = (bwd_fn)sym(jgpt, "jgpt_gqa_attention_backward");
    int B = 4, NH = 4, NKV = 2, hs = 64, Ts[] = {32, 64, 128, 256, 512};
    unsigned seed = 1;
    printf("B=%d NH=%d NKV=%d hs=%d threads=%d: ms per forward+backward (best of 5)\n", B, NH, NKV, hs, threads);
    for (int ti = 0; ti < 5; ti++) {
        int T = Ts[ti];
        long nq = (long)B * T * NH * hs, nkv = (long)B * T * NKV * hs, na = (long)B * NH * T * T;
        float *q = randn(nq, &seed), *k = randn(nkv, &seed), *v = randn(nkv, &seed), *dout = randn(nq, &seed);
        float *out[2], *att[2], *datt[2], *dq[2], *dk[2], *dv[2];
        for (int j = 0; j < 2; j++) {
            out[j] = calloc(nq, 4); att[j] = calloc(na, 4); datt[j] = calloc(na, 4);
            dq[j] = calloc(nq, 4); dk[j] = calloc(nkv, 4); dv[j] = calloc(nkv, 4);
        }
        double best[2] = {1e9, 1e9};
        for (int rep = 0; rep < 5; rep++) {
            for (int j = 0; j < 2; j++) {
                memset(dq[j], 0, nq * 4); memset(dk[j], 0, nkv * 4); memset(dv[j], 0, nkv * 4);
                double t0 = now();
                if (j == 0) {
                    fwd(out[0], att[0], q, k, v, B, T, NH, NKV, hs);
                    bwd(dq[0], dk[0], dv[0], datt[0], dout, q, k, v, att[0], B, T, NH, NKV, hs);
                } else {
                    loop_forward(out[1], att[1], q, k, v, B, T, NH, NKV, hs);
                    loop_backward(dq[1], dk[1], dv[1], datt[1], dout, q, k, v, att[1], B, T, NH, NKV, hs);
                }
                double ms = (now() - t0) * 1e3;
                if (ms < best[j]) best[j] = ms;
            }
        }
        double diff = 0, mag = 0;
        for (long i = 0; i < nq; i++) { diff = fmax(diff, fabs(out[0][i] - out[1][i])); diff = fmax(diff, fabs(dq[0][i] - dq[1][i])); mag = fmax(mag, fabs(dq[1][i])); }
        for (long i = 0; i < nkv; i++) { diff = fmax(diff, fabs(dk[0][i] - dk[1][i])); diff = fmax(diff, fabs(dv[0][i] - dv[1][i])); }
        printf("T=%4d  sgemm %8.3f ms  loops %8.3f ms  loops/sgemm %.2f  (max |diff| %.1e, max |dq| %.1e)\n",
               T, best[0], best[1], best[1] / best[0], diff, mag);
        free(q); free(k); free(v); free(dout);
        for (int j = 0; j < 2; j++) { free(out[j]); free(att[j]); free(datt[j]); free(dq[j]); free(dk[j]); free(dv[j]); }
    }
    return 0;
}
