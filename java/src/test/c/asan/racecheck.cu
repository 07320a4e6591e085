// The race tracker's check of itself (JG_HOST_SANITIZE=race): with `mode` 0 each block writes its own element of p;
// with 1 every block writes p[0] (a race between blocks); with 2 block 0 writes p[0] and the others read it.
#include "common.cuh"

extern "C" __global__ void race_selfcheck(float* p, int mode) {
    if (threadIdx.x != 0) return;
    const int b = (int)blockIdx.x;
    if (mode == 0) p[b] = (float)b;
    else if (mode == 1) p[0] = (float)b;
    else if (b == 0) p[0] = 1.0f;
    else p[b] = p[0];
}
