// bench/stand-in-asan.sh's check of itself: a kernel that writes `past` floats beyond the n it is given. Built with
// AddressSanitizer and run by selfcheck.c on a "device" allocation of exactly n floats from the driver stand-in: with
// past = 0 nothing may be reported, with past = 1 (one float beyond the end) the report must name this file.
#include "common.cuh"

extern "C" __global__ void asan_selfcheck_write(float* p, int n, int past) {
    const int i = (int)threadIdx.x;
    if (i < n) p[i + past] = 1.0f;
}
