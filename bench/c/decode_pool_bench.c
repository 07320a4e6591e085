/* The fixed cost of starting and ending one decoded token on 2 threads: the decode pool
 * (native/src/decode_pool.c) against an OpenMP region (what decoding used before the pool), with a
 * gap between "tokens" that stands for Java sampling the next one. The body does a little work
 * (~20 µs) and one barrier, like a very small model's token.
 *
 *   gcc -O2 -fopenmp -Inative/include -Inative/src -o /tmp/pool_bench bench/c/decode_pool_bench.c native/src/decode_pool.c
 *   OMP_WAIT_POLICY=PASSIVE /tmp/pool_bench [tokens] [gap_us]
 * Prints µs per token (wall) for: pool, OpenMP region (libgomp's policy from the environment). */
#define _GNU_SOURCE
#include "jgpt.h"
#include "decode_pool.h"
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static volatile float sink[2 * 16];

static void busy(double us) {
    double end = now_us() + us;
    while (now_us() < end) {}
}

static void body(void *ctx, jgpt_team *team, int id, int n) {
    busy(10);
    jgpt_team_sync(team, id);
    busy(10);
    sink[id * 16] += 1.0f;
}

int main(int argc, char **argv) {
    int tokens = argc > 1 ? atoi(argv[1]) : 20000;
    double gap = argc > 2 ? atof(argv[2]) : 40;
    void *pool = jgpt_pool_create(2);
    for (int round = 0; round < 3; round++) {
        double t0 = now_us();
        for (int i = 0; i < tokens; i++) {
            jgpt_team_run(pool, 2, body, NULL);
            busy(gap);
        }
        double pool_us = (now_us() - t0) / tokens - gap;
        t0 = now_us();
        for (int i = 0; i < tokens; i++) {
            jgpt_team_run(NULL, 2, body, NULL);
            busy(gap);
        }
        double omp_us = (now_us() - t0) / tokens - gap;
        printf("{\"round\":%d,\"gapUs\":%.0f,\"poolUsPerToken\":%.2f,\"ompRegionUsPerToken\":%.2f,\"bodyUs\":20}\n", round, gap,
               pool_us, omp_us);
    }
    jgpt_pool_destroy(pool);
    return 0;
}
