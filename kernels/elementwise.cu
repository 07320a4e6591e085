// GELU (tanh approximation) and the residual add, forward and backward. Grid-stride loops, so any
// grid size is correct; the Java side picks about 4 blocks per SM worth of threads.
#include "common.cuh"

#define JG_GELU_SCALE 0.7978845608028654f  // sqrt(2/pi)

__device__ __forceinline__ float jg_gelu(float x) {
    const float cube = 0.044715f * x * x * x;
    return 0.5f * x * (1.0f + tanhf(JG_GELU_SCALE * (x + cube)));
}

// gelu'(x): sech^2 as 1 - tanh^2 (cosh would overflow for large |x|)
__device__ __forceinline__ float jg_gelu_grad(float x) {
    const float cube = 0.044715f * x * x * x;
    const float th = tanhf(JG_GELU_SCALE * (x + cube));
    const float sech2 = 1.0f - th * th;
    return 0.5f * (1.0f + th) + x * 0.5f * sech2 * JG_GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
}

// Four elements per access where the pointers allow (then the n % 4 rest one at a time), else one: the same value per
// element either way. The H200 profile had these elementwise passes at a third of their bytes' time with 2-byte bf16
// accesses.
template <typename T>
__device__ __forceinline__ void jg_gelu_forward(T* out, const T* inp, long long n) {
    long long done = 0;
    if (jg_aligned16(out, inp)) {
        for (long long qd = jg_global_index(); qd < n / 4; qd += jg_global_stride()) {
            const float4 x = jg_load4(inp + qd * 4);
            jg_store4(out + qd * 4, float4{jg_gelu(x.x), jg_gelu(x.y), jg_gelu(x.z), jg_gelu(x.w)});
        }
        done = n / 4 * 4;
    }
    for (long long i = done + jg_global_index(); i < n; i += jg_global_stride()) jg_store(out + i, jg_gelu(jg_load(inp + i)));
}

extern "C" __global__ void gelu_forward(float* out, const float* inp, long long n) {
    jg_gelu_forward(out, inp, n);
}

// bf16 activation storage: inp (the fc output) and out (the fcproj product's input) are bf16.
extern "C" __global__ void gelu_forward_bf16(__nv_bfloat16* out, const __nv_bfloat16* inp, long long n) {
    jg_gelu_forward(out, inp, n);
}

// dinp += gelu'(inp) * dout. A bf16 dinp is added to in fp32 and rounded once. 4 elements per access as the forward.
template <typename D, typename T>
__device__ __forceinline__ void jg_gelu_backward(D* dinp, const T* inp, const float* dout, long long n) {
    long long done = 0;
    if (jg_aligned16(dinp, inp, dout)) {
        for (long long qd = jg_global_index(); qd < n / 4; qd += jg_global_stride()) {
            const long long i = qd * 4;
            const float4 x = jg_load4(inp + i), d = jg_load4(dinp + i), g = jg_load4(dout + i);
            jg_store4(dinp + i, float4{d.x + jg_gelu_grad(x.x) * g.x, d.y + jg_gelu_grad(x.y) * g.y,
                                       d.z + jg_gelu_grad(x.z) * g.z, d.w + jg_gelu_grad(x.w) * g.w});
        }
        done = n / 4 * 4;
    }
    for (long long i = done + jg_global_index(); i < n; i += jg_global_stride()) {
        jg_store(dinp + i, jg_load(dinp + i) + jg_gelu_grad(jg_load(inp + i)) * dout[i]);
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
