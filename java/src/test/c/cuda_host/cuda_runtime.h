/* jgpt host emulation: stands in for CUDA's cuda_runtime.h when the kernels/ .cu files are compiled for the CPU. */
#pragma once
#include "jg_host.h"
#include "jg_host_ptx.h"
