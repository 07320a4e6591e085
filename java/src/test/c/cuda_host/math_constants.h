/* jgpt host emulation: the constants of CUDA's math_constants.h that the kernels/ .cu files use. */
#pragma once
#include <cmath>
#define CUDART_INF_F INFINITY
#define CUDART_NAN_F NAN
#define CUDART_INF ((double)INFINITY)
