/* The plain C caller of cblas_sgemm that `jgpt bench gemm` is compared with: same product
 * (C = A @ B^T, row-major, N x N x N), same library file (the libopenblas.so.0 jgpt extracted,
 * loaded with dlopen), same thread count, same timing rule (median over ~seconds of runs).
 * Usage: gemm_c_baseline <libopenblas.so.0> <N> <threads> [seconds]  -> prints one JSON line. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int,
                         float, float *, int);
typedef void (*set_threads_fn)(int);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s <libopenblas.so.0> <N> <threads> [seconds]\n", argv[0]);
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
        fprintf(stderr, "dlopen %s: %s\n", argv[1], dlerror());
        return 1;
    }
    sgemm_fn sgemm = (sgemm_fn)dlsym(lib, "cblas_sgemm");
    set_threads_fn set_threads = (set_threads_fn)dlsym(lib, "openblas_set_num_threads");
    int n = atoi(argv[2]), threads = atoi(argv[3]);
    double seconds = argc > 4 ? atof(argv[4]) : 2.0;
    set_threads(threads);
    float *a = aligned_alloc(64, sizeof(float) * n * n), *b = aligned_alloc(64, sizeof(float) * n * n),
          *c = aligned_alloc(64, sizeof(float) * n * n);
    srand(1);
    for (long i = 0; i < (long)n * n; i++) a[i] = b[i] = (float)rand() / RAND_MAX - 0.5f;
    double cpu0 = cpu_now();
    for (int i = 0; i < 3; i++) sgemm(101, 111, 112, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    double times[1000];
    int reps = 0;
    double begin = now();
    while (reps < 3 || (now() - begin < seconds && reps < 1000)) {
        double t0 = now();
        sgemm(101, 111, 112, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        times[reps++] = now() - t0;
    }
    double cpu = cpu_now() - cpu0;
    qsort(times, reps, sizeof(double), cmp);
    double med = reps % 2 ? times[reps / 2] : 0.5 * (times[reps / 2 - 1] + times[reps / 2]);
    double flops = 2.0 * n * n * n;
    printf("{\"size\":%d,\"threads\":%d,\"reps\":%d,\"gflopsMedian\":%.2f,\"gflopsBest\":%.2f,\"gflopsPerCpuSecond\":%.2f}\n",
           n, threads, reps, flops / med / 1e9, flops / times[0] / 1e9, flops * reps / cpu / 1e9);
    return 0;
}
