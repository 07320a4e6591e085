// GELU (tanh approximation) and the residual add, forward and backward. Grid-stride loops, so any
// grid size is correct; the Java side picks about 4 blocks per SM worth of threads.
#include "common.cuh"

#define JG_GELU_SCALE 0.7978845608028654f  // sqrt(2/pi)

template <typename T>
__device__ __forceinline__ void jg_gelu_forward(T* out, const T* inp, long long n) {
    for (long long i = jg_global_index(); i < n; i += jg_global_stride()) {
        const float x = jg_load(inp + i);
        const float cube = 0.044715f * x * x * x;
        jg_store(out + i, 0.5f * x * (1.0f + tanhf(JG_GELU_SCALE * (x + cube))));
    }
}

extern "C" __global__ void gelu_forward(float* out, const float* inp, long long n) {
    jg_gelu_forward(out, inp, n);
}

// bf16 activation storage: inp (the fc output) and out (the fcproj product's input) are bf16.
extern "C" __global__ void gelu_forward_bf16(__nv_bfloat16* out, const __nv_bfloat16* inp, long long n) {
    jg_gelu_forward(out, inp, n);
}

// dinp += gelu'(inp) * dout. sech^2 as 1 - tanh^2 (cosh would overflow for large |x|). A bf16 dinp is added to
// in fp32 and rounded once.
template <typename D, typename T>
__device__ __forceinline__ void jg_gelu_backward(D* dinp, const T* inp, const float* dout, long long n) {
    for (long long i = jg_global_index(); i < n; i += jg_global_stride()) {
        const float x = jg_load(inp + i);
        const float cube = 0.044715f * x * x * x;
        const float th = tanhf(JG_GELU_SCALE * (x + cube));
        const float sech2 = 1.0f - th * th;
        const float local = 0.5f * (1.0f + th) + x * 0.5f * sech2 * JG_GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
        jg_store(dinp + i, jg_load(dinp + i) + local * dout[i]);
    }
}

extern "C" __global__ void gelu_backward(float* dinp, const float* inp, const float* dout, long long n) {
    jg_gelu_backward(dinp, inp, dout, n);
}

// The same reading a bf16 inp (the pre-GELU activation); gradients stay fp32.
extern "C" __global__ void gelu_backward_bf16(float* dinp, const __nv_bfloat16* inp, const float* dout, long long n) {
    jg_gelu_backward(dinp, inp, dout, n);
}

// bf16 inp and a bf16 dinp: GPT-2's d(fch) in bf16 mode where cuBLASLt's DGELU epilogue is not used (the fc backward
// product reads it as its bf16 operand); dout stays fp32.
extern "C" __global__ void gelu_backward_bf16_dinp(__nv_bfloat16* dinp, const __nv_bfloat16* inp, const float* dout,
                                                   long long n) {
    jg_gelu_backward(dinp, inp, dout, n);
}

extern "C" __global__ void residual_forward(float* out, const float* a, const float* b, long long n) {
    for (long long i = jg_global_index(); i < n; i += jg_global_stride()) out[i] = a[i] + b[i];
}

// da += dout; db += dout (in this order, so da == db adds twice, as the reference does).
extern "C" __global__ void residual_backward(float* da, float* db, const float* dout, long long n) {
    for (long long i = jg_global_index(); i < n; i += jg_global_stride()) {
        const float d = dout[i];
        da[i] += d;
        db[i] += d;
    }
}
