#include "jgpt.h"
#include <omp.h>

int jgpt_abi_version(void) { return JGPT_ABI_VERSION; }

/* One knob: Java sets OpenBLAS's threads and ours to the same n (they take turns, never overlap). */
void jgpt_set_num_threads(int n) {
    if (n < 1) n = 1;
    omp_set_num_threads(n);
}

int jgpt_get_max_threads(void) { return omp_get_max_threads(); }
