/*
 * A stand-in for libcuda.so.1 and libcublas.so with the same C ABI, host memory standing in for device
 * memory, and sequential C versions of jgpt's kernels behind cuLaunchKernel. It lets the cuda backend's
 * Java side (bindings, launch-argument marshalling, cuBLAS transposes/leading dimensions/strides, pointer
 * offsets, memory handling) run the backend contract tests on a machine without a GPU
 * (FakeDriverCudaBackendTest). It says nothing about the real kernels (the .cu files in kernels/): those are
 * re-implemented here, plainly, from the same specification.
 *
 * Build: cc -shared -fPIC -O1 -o libfakecuda.so fake_cuda.c -lm
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
typedef struct { char name[96]; } fake_function;

static const char *MAGIC_NAME = "CUDA_SUCCESS";

/* ---- driver ---------------------------------------------------------------------------------- */
CUresult cuInit(unsigned flags) { (void)flags; return 0; }
CUresult cuDriverGetVersion(int *v) { *v = 13000; return 0; }
CUresult cuDeviceGetCount(int *n) { *n = 1; return 0; }
CUresult cuDeviceGet(int *d, int ordinal) { if (ordinal != 0) return 101; *d = 0; return 0; }
CUresult cuDeviceGetName(char *name, int len, int dev) { (void)dev; snprintf(name, (size_t)len, "jgpt fake GPU (host memory)"); return 0; }
CUresult cuDeviceGetAttribute(int *v, int attr, int dev) {
    (void)dev;
    switch (attr) {
        case 75: *v = 9; break;          /* compute capability major */
        case 76: *v = 0; break;          /* minor */
        case 16: *v = 4; break;          /* SMs */
        case 97: *v = 232448; break;     /* max opt-in shared memory per block */
        default: *v = 1024; break;
    }
    return 0;
}
CUresult cuDeviceTotalMem_v2(size_t *bytes, int dev) { (void)dev; *bytes = (size_t)1 << 30; return 0; }
CUresult cuDevicePrimaryCtxRetain(void **ctx, int dev) { (void)dev; *ctx = (void *)0x1000; return 0; }
CUresult cuDevicePrimaryCtxRelease_v2(int dev) { (void)dev; return 0; }
CUresult cuCtxSetCurrent(void *ctx) { return ctx == (void *)0x1000 ? 0 : 201; }
CUresult cuCtxGetCurrent(void **ctx) { *ctx = (void *)0x1000; return 0; }
CUresult cuCtxSynchronize(void) { return 0; }
CUresult cuModuleLoadData(void **module, const void *image) {
    if (*(const uint32_t *)image != 0xBA55ED50u) return 200; /* CUDA_ERROR_INVALID_IMAGE */
    *module = (void *)0x2000;
    return 0;
}
static int known_kernel(const char *name);
CUresult cuModuleGetFunction(void **f, void *module, const char *name) {
    if (module != (void *)0x2000) return 400;
    if (!known_kernel(name)) return 500; /* CUDA_ERROR_NOT_FOUND */
    fake_function *fn = calloc(1, sizeof *fn);
    snprintf(fn->name, sizeof fn->name, "%s", name);
    *f = fn;
    return 0;
}
CUresult cuModuleUnload(void *module) { (void)module; return 0; }
CUresult cuFuncSetAttribute(void *f, int attr, int value) { (void)f; (void)attr; (void)value; return 0; }
CUresult cuFuncGetAttribute(int *v, int attr, void *f) { (void)attr; (void)f; *v = 0; return 0; }
CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
    void *m = aligned_alloc(256, (bytes + 255) / 256 * 256);
    if (!m) return 2;
    memset(m, 0xA5, bytes); /* garbage, like real device memory: the arena must zero it */
    *p = (CUdeviceptr)(uintptr_t)m;
    return 0;
}
CUresult cuMemFree_v2(CUdeviceptr p) { free((void *)(uintptr_t)p); return 0; }
CUresult cuMemGetInfo_v2(size_t *free_, size_t *total) { *free_ = (size_t)1 << 29; *total = (size_t)1 << 30; return 0; }
CUresult cuMemAllocHost_v2(void **p, size_t bytes) { *p = malloc(bytes); return *p ? 0 : 2; }
CUresult cuMemFreeHost(void *p) { free(p); return 0; }
CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void *s, size_t n) { memcpy((void *)(uintptr_t)d, s, n); return 0; }
CUresult cuMemcpyDtoH_v2(void *d, CUdeviceptr s, size_t n) { memcpy(d, (void *)(uintptr_t)s, n); return 0; }
CUresult cuMemcpyDtoD_v2(CUdeviceptr d, CUdeviceptr s, size_t n) { memmove((void *)(uintptr_t)d, (void *)(uintptr_t)s, n); return 0; }
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *s, size_t n, void *st) { (void)st; return cuMemcpyHtoD_v2(d, s, n); }
CUresult cuMemcpyDtoHAsync_v2(void *d, CUdeviceptr s, size_t n, void *st) { (void)st; return cuMemcpyDtoH_v2(d, s, n); }
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, void *st) { (void)st; return cuMemcpyDtoD_v2(d, s, n); }
CUresult cuMemsetD8_v2(CUdeviceptr d, unsigned char v, size_t n) { memset((void *)(uintptr_t)d, v, n); return 0; }
CUresult cuMemsetD32_v2(CUdeviceptr d, unsigned v, size_t n) {
    uint32_t *p = (uint32_t *)(uintptr_t)d;
    for (size_t i = 0; i < n; i++) p[i] = v;
    return 0;
}
CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, void *st) { (void)st; return cuMemsetD8_v2(d, v, n); }
CUresult cuMemsetD32Async(CUdeviceptr d, unsigned v, size_t n, void *st) { (void)st; return cuMemsetD32_v2(d, v, n); }
CUresult cuStreamCreate(void **s, unsigned flags) { (void)flags; *s = (void *)0x3000; return 0; }
CUresult cuStreamDestroy_v2(void *s) { (void)s; return 0; }
CUresult cuStreamSynchronize(void *s) { return s == (void *)0x3000 || s == NULL ? 0 : 400; }
CUresult cuEventCreate(void **e, unsigned flags) { (void)flags; *e = (void *)0x4000; return 0; }
CUresult cuEventDestroy_v2(void *e) { (void)e; return 0; }
CUresult cuEventRecord(void *e, void *s) { (void)e; (void)s; return 0; }
CUresult cuEventSynchronize(void *e) { (void)e; return 0; }
CUresult cuEventElapsedTime_v2(float *ms, void *a, void *b) { (void)a; (void)b; *ms = 0; return 0; }
CUresult cuGetErrorName(CUresult r, const char **s) { *s = r == 0 ? MAGIC_NAME : "CUDA_ERROR_FAKE"; return 0; }
CUresult cuGetErrorString(CUresult r, const char **s) { *s = r == 0 ? "no error" : "an error of the fake driver"; return 0; }

/* ---- kernels, sequentially ------------------------------------------------------------------- */
#define P(i, T) (*(T *)params[i])
static const char *KERNELS[] = {
    "encoder_forward", "encoder_backward_wte", "encoder_backward_wpe", "count_bad_ids", "layernorm_forward",
    "layernorm_backward", "add_bias", "matmul_backward_bias", "attention_softmax_forward",
    "attention_softmax_backward", "attention_decode", "gelu_forward", "gelu_backward", "residual_forward",
    "residual_backward", "attention_forward_fused", "topk_row", "classifier_softmax_xent", "adamw_update", "sum_partials", "sum_finish", NULL};
/* kernels/llama.cu */
static const char *LLAMA_KERNELS[] = {
    "rmsnorm_forward", "rmsnorm_backward_dinp", "rmsnorm_backward_dweight", "rope_rotate", "swiglu_forward",
    "swiglu_backward", "gqa_attention_forward", "gqa_attention_backward_q", "gqa_attention_backward_kv", NULL};
static const char *KERNELS_BF16_FUSED[] = {"f32_to_bf16", "attention_backward_fused_dq", "attention_backward_fused_dkv", NULL};
static int known_kernel(const char *name) {
    for (int i = 0; KERNELS[i]; i++) if (!strcmp(KERNELS[i], name)) return 1;
    for (int i = 0; LLAMA_KERNELS[i]; i++) if (!strcmp(LLAMA_KERNELS[i], name)) return 1;
    for (int i = 0; KERNELS_BF16_FUSED[i]; i++) if (!strcmp(KERNELS_BF16_FUSED[i], name)) return 1;
    return 0;
}

static float gelu(float x) { return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x))); }

/* ---- bf16 operands and the fused attention backward ------------------------------------------ */
/* bf16 = the upper 16 bits of a float, rounded to nearest even (as __float2bfloat16_rn and DType.toBf16) */
static uint16_t f32_to_bf16_rne(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
static float bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
/* TF32: 10 explicit mantissa bits, nearest even (an emulation; cuBLAS's own rounding is not specified) */
static float round_tf32(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7f800000u) == 0x7f800000u) return f;
    u += 0xfffu + ((u >> 13) & 1u);
    u &= ~0x1fffu;
    memcpy(&f, &u, 4);
    return f;
}

static int launch_bf16_fused(const char *k, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned smem,
                             void **params, int *rc) {
    *rc = 0;
    if (!strcmp(k, "f32_to_bf16")) {
        uint16_t *out = P(0, uint16_t *); const float *in = P(1, float *); long long n = P(2, long long);
        for (long long i = 0; i < n; i++) out[i] = f32_to_bf16_rne(in[i]);
        return 1;
    }
    int dq = !strcmp(k, "attention_backward_fused_dq");
    if (!dq && strcmp(k, "attention_backward_fused_dkv")) return 0;
    /* dq: (dqkv, delta, dout, qkv, out, lse, B, T, C, NH); dkv: (dqkv, dout, qkv, lse, delta, B, T, C, NH) */
    float *dqkv = P(0, float *);
    float *delta = dq ? P(1, float *) : P(4, float *);
    const float *dout = dq ? P(2, float *) : P(1, float *), *qkv = dq ? P(3, float *) : P(2, float *);
    const float *out = dq ? P(4, float *) : NULL, *lse = dq ? P(5, float *) : P(3, float *);
    int a = dq ? 6 : 5;
    int B = P(a, int), T = P(a + 1, int), C = P(a + 2, int), NH = P(a + 3, int), hs = C / NH;
    if (gy != (unsigned)NH || gz != (unsigned)B || gx * (bx / 32) < (unsigned)T || smem < (bx / 32) * 2 * hs * 4) {
        *rc = 1;
        return 1;
    }
    float sc = 1.0f / sqrtf((float)hs);
    long C3 = 3L * C;
    for (int b = 0; b < B; b++) for (int h = 0; h < NH; h++) {
        const float *base = qkv + (long)b * T * C3;
        long rows = ((long)b * NH + h) * T;
        if (dq) for (int t = 0; t < T; t++) {
            const float *g = dout + ((long)b * T + t) * C + h * hs, *o = out + ((long)b * T + t) * C + h * hs;
            float D = 0;
            for (int i = 0; i < hs; i++) D += g[i] * o[i];
            delta[rows + t] = D;
        }
        for (int i = 0; i < T; i++) for (int j = 0; j <= i; j++) {
            const float *q = base + (long)i * C3 + h * hs, *kk = base + (long)j * C3 + C + h * hs, *v = kk + C;
            const float *g = dout + ((long)b * T + i) * C + h * hs;
            float s = 0, dp = 0;
            for (int c = 0; c < hs; c++) { s += q[c] * kk[c]; dp += g[c] * v[c]; }
            float p = expf(s * sc - lse[rows + i]), ds = p * (dp - delta[rows + i]);
            if (dq) {
                float *dqi = dqkv + ((long)b * T + i) * C3 + h * hs;
                for (int c = 0; c < hs; c++) dqi[c] += ds * kk[c] * sc;
            } else {
                float *dkj = dqkv + ((long)b * T + j) * C3 + C + h * hs, *dvj = dkj + C;
                for (int c = 0; c < hs; c++) { dkj[c] += ds * q[c] * sc; dvj[c] += p * g[c]; }
            }
        }
    }
    return 1;
}

CUresult cuLaunchKernel(void *fp, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned smem, void *stream, void **params, void **extra) {
    (void)by; (void)bz; (void)smem; (void)extra;
    if (stream != (void *)0x3000) return 400;
    if (gx == 0 || bx == 0) return 1;
    const char *k = ((fake_function *)fp)->name;
    int handled_rc;
    if (launch_bf16_fused(k, gx, gy, gz, bx, smem, params, &handled_rc)) return handled_rc;
    if (!strcmp(k, "encoder_forward")) {
        float *out = P(0, float *); const int *tok = P(1, int *); const float *wte = P(2, float *), *wpe = P(3, float *);
        int B = P(4, int), T = P(5, int), C = P(6, int), V = P(7, int);
        for (long bt = 0; bt < (long)B * T; bt++) for (int c = 0; c < C; c++) {
            int t = (int)(bt % T), id = tok[bt];
            out[bt * C + c] = (id >= 0 && id < V) ? wte[(long)id * C + c] + wpe[(long)t * C + c] : NAN;
        }
    } else if (!strcmp(k, "encoder_backward_wte")) {
        float *dwte = P(0, float *); const float *dout = P(1, float *); const int *tok = P(2, int *);
        int B = P(3, int), T = P(4, int), C = P(5, int), V = P(6, int);
        for (long bt = 0; bt < (long)B * T; bt++) if (tok[bt] >= 0 && tok[bt] < V)
            for (int c = 0; c < C; c++) dwte[(long)tok[bt] * C + c] += dout[bt * C + c];
    } else if (!strcmp(k, "encoder_backward_wpe")) {
        float *dwpe = P(0, float *); const float *dout = P(1, float *); int B = P(2, int), T = P(3, int), C = P(4, int);
        for (long i = 0; i < (long)T * C; i++) { float s = 0; for (int b = 0; b < B; b++) s += dout[(long)b * T * C + i]; dwpe[i] += s; }
    } else if (!strcmp(k, "count_bad_ids")) {
        int *bad = P(0, int *); const int *ids = P(1, int *); long long n = P(2, long long); int V = P(3, int), neg = P(4, int);
        for (long long i = 0; i < n; i++) if (ids[i] >= V || (ids[i] < 0 && !neg)) (*bad)++;
    } else if (!strcmp(k, "layernorm_forward")) {
        float *out = P(0, float *), *mean = P(1, float *), *rstd = P(2, float *);
        const float *inp = P(3, float *), *w = P(4, float *), *b = P(5, float *); int N = P(6, int), C = P(7, int);
        for (int r = 0; r < N; r++) {
            const float *x = inp + (long)r * C; float m = 0, v = 0;
            for (int i = 0; i < C; i++) m += x[i];
            m /= C;
            for (int i = 0; i < C; i++) v += (x[i] - m) * (x[i] - m);
            float s = 1.0f / sqrtf(v / C + 1e-5f);
            for (int i = 0; i < C; i++) out[(long)r * C + i] = (x[i] - m) * s * w[i] + b[i];
            if (mean) mean[r] = m;
            if (rstd) rstd[r] = s;
        }
    } else if (!strcmp(k, "layernorm_backward")) {
        float *dinp = P(0, float *), *dw = P(1, float *), *db = P(2, float *);
        const float *dout = P(3, float *), *inp = P(4, float *), *w = P(5, float *), *mean = P(6, float *), *rstd = P(7, float *);
        int N = P(8, int), C = P(9, int);
        for (int r = 0; r < N; r++) {
            const float *dy = dout + (long)r * C, *x = inp + (long)r * C; float *dx = dinp + (long)r * C;
            float a = 0, bb = 0;
            for (int i = 0; i < C; i++) { float n = (x[i] - mean[r]) * rstd[r], dn = w[i] * dy[i]; a += dn; bb += dn * n; }
            a /= C; bb /= C;
            for (int i = 0; i < C; i++) {
                float n = (x[i] - mean[r]) * rstd[r], dn = w[i] * dy[i];
                db[i] += dy[i]; dw[i] += n * dy[i]; dx[i] += (dn - a - n * bb) * rstd[r];
            }
        }
    } else if (!strcmp(k, "add_bias")) {
        float *out = P(0, float *); const float *bias = P(1, float *); int N = P(2, int), OC = P(3, int);
        for (long i = 0; i < (long)N * OC; i++) out[i] += bias[i % OC];
    } else if (!strcmp(k, "matmul_backward_bias")) {
        float *db = P(0, float *); const float *dout = P(1, float *); int N = P(2, int), OC = P(3, int);
        for (int c = 0; c < OC; c++) { float s = 0; for (int r = 0; r < N; r++) s += dout[(long)r * OC + c]; db[c] += s; }
    } else if (!strcmp(k, "attention_softmax_forward")) {
        float *att = P(0, float *); int BNH = P(1, int), T = P(2, int);
        for (long row = 0; row < (long)BNH * T; row++) {
            float *a = att + row * T; int t = (int)(row % T); float mx = -INFINITY, s = 0;
            for (int j = 0; j <= t; j++) mx = fmaxf(mx, a[j]);
            for (int j = 0; j <= t; j++) { a[j] = expf(a[j] - mx); s += a[j]; }
            for (int j = 0; j < T; j++) a[j] = j <= t ? a[j] / s : 0.0f;
        }
    } else if (!strcmp(k, "attention_softmax_backward")) {
        float *datt = P(0, float *); const float *att = P(1, float *); int BNH = P(2, int), T = P(3, int); float scale = P(4, float);
        for (long row = 0; row < (long)BNH * T; row++) {
            float *d = datt + row * T; const float *a = att + row * T; int t = (int)(row % T); float dot = 0;
            for (int j = 0; j <= t; j++) dot += a[j] * d[j];
            for (int j = 0; j < T; j++) d[j] = j <= t ? scale * a[j] * (d[j] - dot) : 0.0f;
        }
    } else if (!strcmp(k, "attention_decode")) {
        float *out = P(0, float *), *att = P(1, float *); const float *q = P(2, float *), *kc = P(3, float *), *vc = P(4, float *);
        int pos = P(5, int), C = P(6, int), NH = P(7, int), hs = C / NH;
        for (int h = 0; h < NH; h++) {
            float *a = att + (long)h * (pos + 1); float mx = -INFINITY, s = 0;
            for (int t = 0; t <= pos; t++) {
                float d = 0;
                for (int i = 0; i < hs; i++) d += q[h * hs + i] * kc[(long)t * C + h * hs + i];
                a[t] = d / sqrtf((float)hs); mx = fmaxf(mx, a[t]);
            }
            for (int t = 0; t <= pos; t++) { a[t] = expf(a[t] - mx); s += a[t]; }
            for (int t = 0; t <= pos; t++) a[t] /= s;
            for (int i = 0; i < hs; i++) {
                float o = 0;
                for (int t = 0; t <= pos; t++) o += a[t] * vc[(long)t * C + h * hs + i];
                out[h * hs + i] = o;
            }
        }
    } else if (!strcmp(k, "attention_forward_fused")) {
        float *out = P(0, float *), *lse = P(1, float *); const float *qkv = P(2, float *);
        int B = P(3, int), T = P(4, int), C = P(5, int), NH = P(6, int), hs = C / NH;
        if (gy != (unsigned)NH || gz != (unsigned)B || gx * (bx / 32) < (unsigned)T) return 1;
        float *s = malloc(sizeof(float) * T);
        for (int b = 0; b < B; b++) for (int h = 0; h < NH; h++) for (int t = 0; t < T; t++) {
            const float *q = qkv + ((long)b * T + t) * 3 * C + h * hs;
            float mx = -INFINITY, sum = 0;
            for (int j = 0; j <= t; j++) {
                const float *kk = qkv + ((long)b * T + j) * 3 * C + C + h * hs; float d = 0;
                for (int i = 0; i < hs; i++) d += q[i] * kk[i];
                s[j] = d / sqrtf((float)hs); mx = fmaxf(mx, s[j]);
            }
            for (int j = 0; j <= t; j++) { s[j] = expf(s[j] - mx); sum += s[j]; }
            for (int i = 0; i < hs; i++) {
                float o = 0;
                for (int j = 0; j <= t; j++) o += s[j] * qkv[((long)b * T + j) * 3 * C + 2 * C + h * hs + i];
                out[((long)b * T + t) * C + h * hs + i] = o / sum;
            }
            if (lse) lse[((long)b * NH + h) * T + t] = mx + logf(sum);
        }
        free(s);
    } else if (!strcmp(k, "topk_row")) {
        int *oi = P(0, int *); float *ov = P(1, float *); const float *lg = P(2, float *); int V = P(3, int), K = P(4, int);
        if (bx & (bx - 1)) return 1;
        for (int r = 0; r < K; r++) {
            int bi = -1;
            for (int j = 0; j < V; j++) {
                int used = 0;
                for (int q = 0; q < r; q++) used |= oi[q] == j;
                if (!used && (bi < 0 || lg[j] > lg[bi])) bi = j;
            }
            oi[r] = bi < 0 ? 0 : bi; ov[r] = lg[oi[r]];
        }
    } else if (!strcmp(k, "gelu_forward")) {
        float *out = P(0, float *); const float *inp = P(1, float *); long long n = P(2, long long);
        for (long long i = 0; i < n; i++) out[i] = gelu(inp[i]);
    } else if (!strcmp(k, "gelu_backward")) {
        float *dinp = P(0, float *); const float *inp = P(1, float *), *dout = P(2, float *); long long n = P(3, long long);
        for (long long i = 0; i < n; i++) {
            float x = inp[i], th = tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x));
            float g = 0.5f * (1 + th) + x * 0.5f * (1 - th * th) * 0.7978845608028654f * (1 + 3 * 0.044715f * x * x);
            dinp[i] += g * dout[i];
        }
    } else if (!strcmp(k, "residual_forward")) {
        float *out = P(0, float *); const float *a = P(1, float *), *b = P(2, float *); long long n = P(3, long long);
        for (long long i = 0; i < n; i++) out[i] = a[i] + b[i];
    } else if (!strcmp(k, "residual_backward")) {
        float *da = P(0, float *), *db = P(1, float *); const float *dout = P(2, float *); long long n = P(3, long long);
        for (long long i = 0; i < n; i++) { da[i] += dout[i]; db[i] += dout[i]; }
    } else if (!strcmp(k, "classifier_softmax_xent")) {
        float *lg = P(0, float *), *losses = P(1, float *); const int *tg = P(2, int *);
        int R = P(3, int), V = P(4, int); float ds = P(5, float); int bw = P(6, int);
        if ((int)gx != R) return 1;
        for (int r = 0; r < R; r++) {
            float *x = lg + (long)r * V; int t = tg[r];
            if (t < 0 || t >= V) { losses[r] = t < 0 ? 0.0f : NAN; if (bw) memset(x, 0, sizeof(float) * V); continue; }
            float mx = -INFINITY, s = 0;
            for (int j = 0; j < V; j++) mx = fmaxf(mx, x[j]);
            for (int j = 0; j < V; j++) s += expf(x[j] - mx);
            losses[r] = mx + logf(s) - x[t];
            if (bw) for (int j = 0; j < V; j++) x[j] = (expf(x[j] - mx) / s - (j == t ? 1.0f : 0.0f)) * ds;
        }
    } else if (!strcmp(k, "adamw_update")) {
        float *p = P(0, float *); const float *g = P(1, float *); float *m = P(2, float *), *v = P(3, float *);
        long long n = P(4, long long);
        float lr = P(5, float), b1 = P(6, float), b2 = P(7, float), c1 = P(8, float), c2 = P(9, float);
        float eps = P(10, float), wd = P(11, float), gs = P(12, float);
        for (long long i = 0; i < n; i++) {
            float gi = g[i] * gs;
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            p[i] -= lr * ((m[i] / c1) / (sqrtf(v[i] / c2) + eps) + wd * p[i]);
        }
    } else if (!strcmp(k, "sum_partials")) {
        double *part = P(0, double *); const float *x = P(1, float *); long long n = P(2, long long); int sq = P(3, int);
        double s = 0;
        for (long long i = 0; i < n; i++) s += sq ? (double)x[i] * x[i] : x[i];
        for (unsigned b = 0; b < gx; b++) part[b] = b == 0 ? s : 0.0;
    } else if (!strcmp(k, "sum_finish")) {
        double *out = P(0, double *); const double *part = P(1, double *); int n = P(2, int);
        double s = 0;
        for (int i = 0; i < n; i++) s += part[i];
        out[0] = s;
    } else if (!strcmp(k, "rmsnorm_forward")) {
        float *out = P(0, float *), *rstd = P(1, float *); const float *inp = P(2, float *), *w = P(3, float *);
        int N = P(4, int), C = P(5, int); float eps = P(6, float);
        if (bx % 32 || gx * (bx / 32) < (unsigned)N) return 1;
        for (int r = 0; r < N; r++) {
            const float *x = inp + (long)r * C; float ss = 0;
            for (int i = 0; i < C; i++) ss += x[i] * x[i];
            float s = 1.0f / sqrtf(ss / C + eps);
            for (int i = 0; i < C; i++) out[(long)r * C + i] = w[i] * (x[i] * s);
            rstd[r] = s;
        }
    } else if (!strcmp(k, "rmsnorm_backward_dinp")) {
        float *dinp = P(0, float *); const float *dout = P(1, float *), *inp = P(2, float *), *w = P(3, float *), *rstd = P(4, float *);
        int N = P(5, int), C = P(6, int);
        if (bx % 32 || gx * (bx / 32) < (unsigned)N) return 1;
        for (int r = 0; r < N; r++) {
            const float *x = inp + (long)r * C, *dy = dout + (long)r * C; float dot = 0, s = rstd[r];
            for (int i = 0; i < C; i++) dot += w[i] * dy[i] * x[i];
            float coef = s * s * s / C * dot;
            for (int i = 0; i < C; i++) dinp[(long)r * C + i] += s * w[i] * dy[i] - coef * x[i];
        }
    } else if (!strcmp(k, "rmsnorm_backward_dweight")) {
        float *dw = P(0, float *); const float *dout = P(1, float *), *inp = P(2, float *), *rstd = P(3, float *);
        int N = P(4, int), C = P(5, int);
        if (bx != 32 || by > 8 || gx * 32 < (unsigned)C) return 1;   /* shared memory holds 8 x 32 partial sums */
        for (int c = 0; c < C; c++) {
            float s = 0;
            for (int r = 0; r < N; r++) s += dout[(long)r * C + c] * inp[(long)r * C + c] * rstd[r];
            dw[c] += s;
        }
    } else if (!strcmp(k, "rope_rotate")) {
        float *x = P(0, float *); const float *cs = P(1, float *), *sn = P(2, float *);
        int B = P(3, int), T = P(4, int), NH = P(5, int), hs = P(6, int); float sign = P(7, float);
        int half = hs / 2;
        for (long bt = 0; bt < (long)B * T; bt++) for (int h = 0; h < NH; h++) for (int i = 0; i < half; i++) {
            int t = (int)(bt % T);
            float *v = x + (bt * NH + h) * hs + 2 * i, c = cs[(long)t * half + i], s = sign * sn[(long)t * half + i];
            float v0 = v[0], v1 = v[1];
            v[0] = v0 * c - v1 * s;
            v[1] = v0 * s + v1 * c;
        }
    } else if (!strcmp(k, "swiglu_forward")) {
        float *out = P(0, float *); const float *a = P(1, float *), *u = P(2, float *); long long n = P(3, long long);
        for (long long i = 0; i < n; i++) out[i] = a[i] / (1.0f + expf(-a[i])) * u[i];
    } else if (!strcmp(k, "swiglu_backward")) {
        float *da = P(0, float *), *du = P(1, float *); const float *d = P(2, float *), *a = P(3, float *), *u = P(4, float *);
        long long n = P(5, long long);
        for (long long i = 0; i < n; i++) {
            float sig = 1.0f / (1.0f + expf(-a[i]));
            da[i] += d[i] * u[i] * sig * (1.0f + a[i] * (1.0f - sig));
            du[i] += d[i] * a[i] * sig;
        }
    } else if (!strcmp(k, "gqa_attention_forward")) {
        float *out = P(0, float *), *att = P(1, float *); const float *q = P(2, float *), *kk = P(3, float *), *v = P(4, float *);
        int B = P(5, int), T = P(6, int), NH = P(7, int), NKV = P(8, int), hs = P(9, int);
        int Cq = NH * hs, Ckv = NKV * hs, grp = NH / NKV;
        if (bx % 32 || (long)gx * (bx / 32) < (long)B * NH * T) return 1;   /* one warp per query row */
        for (int b = 0; b < B; b++) for (int h = 0; h < NH; h++) for (int t = 0; t < T; t++) {
            const float *qr = q + ((long)b * T + t) * Cq + h * hs;
            float *a = att + (((long)b * NH + h) * T + t) * T, mx = -INFINITY, s = 0;
            for (int u = 0; u <= t; u++) {
                const float *kr = kk + ((long)b * T + u) * Ckv + (h / grp) * hs; float d = 0;
                for (int i = 0; i < hs; i++) d += qr[i] * kr[i];
                a[u] = d / sqrtf((float)hs); mx = fmaxf(mx, a[u]);
            }
            for (int u = 0; u <= t; u++) { a[u] = expf(a[u] - mx); s += a[u]; }
            for (int u = 0; u < T; u++) a[u] = u <= t ? a[u] / s : 0.0f;
            for (int i = 0; i < hs; i++) {
                float o = 0;
                for (int u = 0; u <= t; u++) o += a[u] * v[((long)b * T + u) * Ckv + (h / grp) * hs + i];
                out[((long)b * T + t) * Cq + h * hs + i] = o;
            }
        }
    } else if (!strcmp(k, "gqa_attention_backward_q")) {
        float *dq = P(0, float *), *datt = P(1, float *); const float *dout = P(2, float *), *kk = P(3, float *), *v = P(4, float *);
        const float *att = P(5, float *);
        int B = P(6, int), T = P(7, int), NH = P(8, int), NKV = P(9, int), hs = P(10, int);
        int Cq = NH * hs, Ckv = NKV * hs, grp = NH / NKV;
        if (bx % 32 || (long)gx * (bx / 32) < (long)B * NH * T) return 1;
        for (int b = 0; b < B; b++) for (int h = 0; h < NH; h++) for (int t = 0; t < T; t++) {
            const float *d = dout + ((long)b * T + t) * Cq + h * hs, *a = att + (((long)b * NH + h) * T + t) * T;
            float *da = datt + (((long)b * NH + h) * T + t) * T, dot = 0;
            for (int u = 0; u <= t; u++) {
                const float *vr = v + ((long)b * T + u) * Ckv + (h / grp) * hs; float s = 0;
                for (int i = 0; i < hs; i++) s += d[i] * vr[i];
                da[u] = s; dot += a[u] * s;
            }
            for (int u = 0; u < T; u++) da[u] = u <= t ? a[u] * (da[u] - dot) / sqrtf((float)hs) : 0.0f;
            for (int i = 0; i < hs; i++) {
                float acc = 0;
                for (int u = 0; u <= t; u++) acc += da[u] * kk[((long)b * T + u) * Ckv + (h / grp) * hs + i];
                dq[((long)b * T + t) * Cq + h * hs + i] += acc;
            }
        }
    } else if (!strcmp(k, "gqa_attention_backward_kv")) {
        float *dk = P(0, float *), *dv = P(1, float *); const float *datt = P(2, float *), *dout = P(3, float *), *q = P(4, float *);
        const float *att = P(5, float *);
        int B = P(6, int), T = P(7, int), NH = P(8, int), NKV = P(9, int), hs = P(10, int);
        int Cq = NH * hs, Ckv = NKV * hs, grp = NH / NKV;
        if (bx % 32 || (long)gx * (bx / 32) < (long)B * NKV * T) return 1;   /* one warp per key row */
        for (int b = 0; b < B; b++) for (int g = 0; g < NKV; g++) for (int u = 0; u < T; u++) for (int i = 0; i < hs; i++) {
            float ak = 0, av = 0;
            for (int h = g * grp; h < (g + 1) * grp; h++) for (int t = u; t < T; t++) {
                long ai = (((long)b * NH + h) * T + t) * T + u, qi = ((long)b * T + t) * Cq + h * hs + i;
                ak += datt[ai] * q[qi];
                av += att[ai] * dout[qi];
            }
            dk[((long)b * T + u) * Ckv + g * hs + i] += ak;
            dv[((long)b * T + u) * Ckv + g * hs + i] += av;
        }
    } else {
        return 500;
    }
    return 0;
}

/* ---- cuBLAS (column-major, host pointer mode) -------------------------------------------------- */
int cublasCreate_v2(void **h) { *h = (void *)0x5000; return 0; }
int cublasDestroy_v2(void *h) { (void)h; return 0; }
int cublasGetVersion_v2(void *h, int *v) { (void)h; *v = 130000; return 0; }
int cublasSetStream_v2(void *h, void *s) { (void)h; return s == (void *)0x3000 ? 0 : 7; }
int cublasSetMathMode(void *h, int mode) { (void)h; return mode == 0 || mode == 3 ? 0 : 7; }
int cublasSetWorkspace_v2(void *h, void *ws, size_t n) { (void)h; (void)ws; (void)n; return 0; }

static int gemm(int ta, int tb, int m, int n, int k, float alpha, const float *A, int lda, const float *B, int ldb,
                float beta, float *C, int ldc) {
    if (m < 0 || n < 0 || k < 0 || lda < (ta ? k : m) || ldb < (tb ? n : k) || ldc < m) return 7; /* INVALID_VALUE */
    for (int j = 0; j < n; j++) for (int i = 0; i < m; i++) {
        double s = 0;
        for (int p = 0; p < k; p++) {
            float a = ta ? A[p + (long)i * lda] : A[i + (long)p * lda];
            float b = tb ? B[j + (long)p * ldb] : B[p + (long)j * ldb];
            s += (double)a * b;
        }
        float *c = &C[i + (long)j * ldc];
        *c = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *c));
    }
    return 0;
}

int cublasSgemm_v2(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *A, int lda,
                   const float *B, int ldb, const float *beta, float *C, int ldc) {
    (void)h;
    return gemm(ta, tb, m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc);
}

int cublasSgemmStridedBatched(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *A, int lda,
                              long long sA, const float *B, int ldb, long long sB, const float *beta, float *C, int ldc,
                              long long sC, int batch) {
    (void)h;
    for (int b = 0; b < batch; b++) {
        int rc = gemm(ta, tb, m, n, k, *alpha, A + b * sA, lda, B + b * sB, ldb, *beta, C + b * sC, ldc);
        if (rc) return rc;
    }
    return 0;
}

/*
 * cublasGemmEx / cublasGemmStridedBatchedEx as jgpt uses them: C is fp32 (CUDA_R_32F = 0); A and B both fp32 or
 * both bf16 (CUDA_R_16BF = 14). Compute types: COMPUTE_32F (68) multiplies the stored values exactly (bf16
 * operands only with it), _FAST_TF32 (77) and _FAST_16BF (75) round fp32 operands to TF32 / bf16 first, as the
 * tensor cores do. Accumulation in double here (the GPU's is fp32).
 */
static int gemm_ex(int ta, int tb, int m, int n, int k, float alpha, const void *A, int at, int lda, const void *B, int bt,
                   int ldb, float beta, float *C, int ldc, int compute) {
    if (m < 0 || n < 0 || k < 0 || lda < (ta ? k : m) || ldb < (tb ? n : k) || ldc < m) return 7;
    for (int j = 0; j < n; j++) for (int i = 0; i < m; i++) {
        double s = 0;
        for (int p = 0; p < k; p++) {
            long ia = ta ? p + (long)i * lda : i + (long)p * lda, ib = tb ? j + (long)p * ldb : p + (long)j * ldb;
            float a = at == 14 ? bf16_to_f32(((const uint16_t *)A)[ia]) : ((const float *)A)[ia];
            float b = bt == 14 ? bf16_to_f32(((const uint16_t *)B)[ib]) : ((const float *)B)[ib];
            if (compute == 75) { a = bf16_to_f32(f32_to_bf16_rne(a)); b = bf16_to_f32(f32_to_bf16_rne(b)); }
            if (compute == 77) { a = round_tf32(a); b = round_tf32(b); }
            s += (double)a * b;
        }
        float *c = &C[i + (long)j * ldc];
        *c = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *c));
    }
    return 0;
}
static int types_ok(int at, int bt, int ct, int compute, int algo) {
    if (ct != 0 || at != bt || algo != -1) return 0;
    if (at == 0) return compute == 68 || compute == 77 || compute == 75;
    return at == 14 && compute == 68;
}
int cublasGemmEx(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const void *A, int at, int lda,
                 const void *B, int bt, int ldb, const float *beta, float *C, int ct, int ldc, int compute, int algo) {
    (void)h;
    if (!types_ok(at, bt, ct, compute, algo)) return 15;
    return gemm_ex(ta, tb, m, n, k, *alpha, A, at, lda, B, bt, ldb, *beta, C, ldc, compute);
}
int cublasGemmStridedBatchedEx(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const void *A, int at,
                               int lda, long long sA, const void *B, int bt, int ldb, long long sB, const float *beta,
                               float *C, int ct, int ldc, long long sC, int batch, int compute, int algo) {
    (void)h;
    if (!types_ok(at, bt, ct, compute, algo)) return 15;
    size_t ea = at == 14 ? 2 : 4, eb = bt == 14 ? 2 : 4;
    for (int b = 0; b < batch; b++) {
        int rc = gemm_ex(ta, tb, m, n, k, *alpha, (const char *)A + b * sA * ea, at, lda, (const char *)B + b * sB * eb, bt,
                         ldb, *beta, C + b * sC, ldc, compute);
        if (rc) return rc;
    }
    return 0;
}
