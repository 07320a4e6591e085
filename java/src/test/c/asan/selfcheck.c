/* bench/stand-in-asan.sh's check of itself (see selfcheck.cu): allocates 64 floats through the driver stand-in and
 * launches asan_selfcheck_write over them, shifted by argv[1] floats (with a second argument: ubsan_selfcheck_load4,
 * a float4 load argv[1] floats in; with "race": race_selfcheck in mode argv[1]). Exit 0 when the launch returned
 * normally. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned long long CUdeviceptr;
int cuMemAlloc_v2(CUdeviceptr *p, size_t bytes);
int cuMemFree_v2(CUdeviceptr p);
int jg_host_launch(const char *name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned shared_bytes, void **kernel_params);

int main(int argc, char **argv) {
    /* "selfcheck SHIFT load4": ubsan_selfcheck_load4; "selfcheck MODE race": race_selfcheck over 8 blocks */
    int n = 64, past = argc > 1 ? atoi(argv[1]) : 0, load4 = argc > 2 && !strcmp(argv[2], "load4");
    int race = argc > 2 && !strcmp(argv[2], "race");
    CUdeviceptr p;
    if (cuMemAlloc_v2(&p, (size_t)n * sizeof(float)) != 0) return 2;
    void *params[] = {&p, &n, &past};
    void *params2[] = {&p, &past};
    const char *kernel = race ? "race_selfcheck" : load4 ? "ubsan_selfcheck_load4" : "asan_selfcheck_write";
    int rc = race ? jg_host_launch(kernel, 8, 1, 1, 32, 1, 1, 0, params2)
           : load4 ? jg_host_launch(kernel, 1, 1, 1, 32, 1, 1, 0, params2)
                   : jg_host_launch(kernel, 1, 1, 1, 64, 1, 1, 0, params);
    cuMemFree_v2(p);
    printf("%s(%d): launch returned %d\n", kernel, past, rc);
    return rc == 0 ? 0 : 4;
}
