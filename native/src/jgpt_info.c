#include "jgpt.h"
#include <omp.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

int jgpt_abi_version(void) { return JGPT_ABI_VERSION; }

/* One knob: Java sets OpenBLAS's threads and ours to the same n (they take turns, never overlap). */
void jgpt_set_num_threads(int n) {
    if (n < 1) n = 1;
    omp_set_num_threads(n);
}

int jgpt_get_max_threads(void) { return omp_get_max_threads(); }

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Twelve independent accumulators in registers (named, so no compiler keeps them in memory) hide the FMA latency (4
 * cycles) on two pipes; the values stay finite (x * 0.999999 + 1e-7). An empty asm keeps each round's results live. */
#define PEAK_CHAINS 12
#if defined(__x86_64__)
#define PEAK_LOOP(T, SET1, FMADD, CONSTRAINT)                                                                        \
    const T a = SET1(0.999999f), b = SET1(1e-7f);                                                                      \
    T c0 = SET1(0), c1 = SET1(1), c2 = SET1(2), c3 = SET1(3), c4 = SET1(4), c5 = SET1(5), c6 = SET1(6), c7 = SET1(7), \
      c8 = SET1(8), c9 = SET1(9), c10 = SET1(10), c11 = SET1(11);                                                   \
    for (long r = 0; r < rounds; r++) {                                                                              \
        c0 = FMADD(c0, a, b); c1 = FMADD(c1, a, b); c2 = FMADD(c2, a, b); c3 = FMADD(c3, a, b);                       \
        c4 = FMADD(c4, a, b); c5 = FMADD(c5, a, b); c6 = FMADD(c6, a, b); c7 = FMADD(c7, a, b);                       \
        c8 = FMADD(c8, a, b); c9 = FMADD(c9, a, b); c10 = FMADD(c10, a, b); c11 = FMADD(c11, a, b);                   \
        __asm__ volatile("" : CONSTRAINT(c0), CONSTRAINT(c1), CONSTRAINT(c2), CONSTRAINT(c3), CONSTRAINT(c4),          \
                         CONSTRAINT(c5), CONSTRAINT(c6), CONSTRAINT(c7), CONSTRAINT(c8), CONSTRAINT(c9),               \
                         CONSTRAINT(c10), CONSTRAINT(c11));                                                          \
    }
#define VREG(x) "+v"(x)

__attribute__((target("avx512f"))) static double fma_avx512(long rounds) {
    PEAK_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps, VREG)
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                             _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)));
    __asm__ volatile("" : : "v"(s));
    return (double) rounds * PEAK_CHAINS * 16 * 2;
}

__attribute__((target("avx2,fma"))) static double fma_avx2(long rounds) {
    PEAK_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, VREG)
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                             _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
    __asm__ volatile("" : : "v"(s));
    return (double) rounds * PEAK_CHAINS * 8 * 2;
}
#endif

static double fma_scalar(long rounds) {
    volatile float seed = 0.999999f;
    float acc[PEAK_CHAINS], a = seed, b = 1e-7f;
    for (int i = 0; i < PEAK_CHAINS; i++) acc[i] = (float) i;
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < PEAK_CHAINS; i++) acc[i] = acc[i] * a + b;
    }
    volatile float sink = 0;
    for (int i = 0; i < PEAK_CHAINS; i++) sink += acc[i];
    (void) sink;
    return (double) rounds * PEAK_CHAINS * 2;
}

static double fma_run(long rounds) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return fma_avx512(rounds);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return fma_avx2(rounds);
#endif
    return fma_scalar(rounds);
}

double jgpt_peak_fma_gflops(int millis) {
    if (millis < 1) millis = 1;
    /* warm up (the core leaves its idle clock, AVX-512 units power up), then time rounds until `millis` has passed;
     * the best of the timed slices is the peak */
    long rounds = 1 << 14;
    double until = now_seconds() + millis * 1e-3 / 4, best = 0;
    while (now_seconds() < until) fma_run(rounds);
    until = now_seconds() + millis * 1e-3;
    do {
        double t0 = now_seconds();
        double flops = fma_run(rounds);
        double dt = now_seconds() - t0;
        if (dt > 0 && flops / dt > best) best = flops / dt;
        if (dt < 2e-4) rounds *= 2;
    } while (now_seconds() < until);
    return best / 1e9;
}
