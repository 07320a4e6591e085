// bench/stand-in-asan.sh's check of itself: a kernel that writes `past` floats beyond the n it is given. Built with
// AddressSanitizer and run by selfcheck.c on a "device" allocation of exactly n floats from the driver stand-in: with
// past = 0 nothing may be reported, with past = 1 (one float beyond the end) the report must name this file.
#include "common.cuh"

extern "C" __global__ void asan_selfcheck_write(float* p, int n, int past) {
    const int i = (int)threadIdx.x;
    if (i < n) p[i + past] = 1.0f;
}

// The UndefinedBehaviorSanitizer half: a float4 load `shift` floats from a 256-byte aligned p; shift 1 is 4 bytes off
// the 16 a float4 needs (a misaligned-address fault on a GPU, silently fine on x86) and must be reported.
extern "C" __global__ void ubsan_selfcheck_load4(float* p, int shift) {
    const float4 v = *reinterpret_cast<const float4*>(p + shift);
    if (threadIdx.x == 0) p[63] = v.x + v.y + v.z + v.w;
}
