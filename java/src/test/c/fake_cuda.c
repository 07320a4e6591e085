/*
 * A stand-in for libcuda.so.1 and libcublas.so with the same C ABI, host memory standing in for device
 * memory. cuLaunchKernel runs the real kernels (the kernels/ .cu files, compiled for the CPU by the host emulation in
 * cuda_host/: every CUDA thread a fiber, barriers and shuffles checked) and the cuBLAS calls are a plain
 * column-major GEMM; events stamp the host clock (KernelTimeline's tests). It lets the cuda backend (bindings, launch configurations and argument marshalling,
 * cuBLAS transposes/leading dimensions/strides, pointer offsets, memory handling, and the kernels' own
 * indexing, reductions and synchronisation) run the backend contract tests on a machine without a GPU
 * (FakeDriverCudaBackendTest and friends). What it cannot show: speed, races between blocks or inside a
 * warp that a GPU's real concurrency would expose, out-of-bounds reads that land in host memory, and
 * cuBLAS itself.
 *
 * Build: see FakeCuda.java (cc with the generated kernels_host.cpp and cuda_host/jg_host_runtime.cpp).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* the host emulation's entry points (cuda_host/jg_host_runtime.cpp) */
int jg_host_has_kernel(const char *name);
int jg_host_launch(const char *name, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned shared_bytes, void **params);
const char *jg_host_last_error(void);

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
/* max_dynamic_smem: what a launch may ask for, 48 KiB unless cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES) opted in,
 * as on a GPU (a kernel launched with more fails there with CUDA_ERROR_INVALID_VALUE) */
typedef struct { char name[96]; int max_dynamic_smem; } fake_function;
static char launch_error[256]; /* why the last launch was refused before it ran (cuGetErrorString of 1) */

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
CUresult cuModuleGetFunction(void **f, void *module, const char *name) {
    if (module != (void *)0x2000) return 400;
    if (!jg_host_has_kernel(name)) return 500; /* CUDA_ERROR_NOT_FOUND */
    fake_function *fn = calloc(1, sizeof *fn);
    snprintf(fn->name, sizeof fn->name, "%s", name);
    fn->max_dynamic_smem = 48 * 1024;
    *f = fn;
    return 0;
}
CUresult cuModuleUnload(void *module) { (void)module; return 0; }
CUresult cuFuncSetAttribute(void *f, int attr, int value) {
    if (attr == 8) { /* CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, at most what the device offers (227 KiB) */
        if (value < 0 || value > 232448) return 1;
        ((fake_function *)f)->max_dynamic_smem = value;
    }
    return 0;
}
CUresult cuFuncGetAttribute(int *v, int attr, void *f) { (void)attr; (void)f; *v = 0; return 0; }
static long device_allocations; /* cuMemAlloc calls so far: the tests check that a training step makes none */
long jg_fake_device_allocations(void) { return device_allocations; }
CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
    void *m = aligned_alloc(256, (bytes + 255) / 256 * 256);
    if (!m) return 2;
    device_allocations++;
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
/* Events: everything runs synchronously on the host, so an event's time is the host monotonic clock at
 * cuEventRecord (after all earlier work on the stream finished, as on a GPU). Counted, so the tests can check
 * that a profiled step creates none after warm-up and that every event is destroyed. */
typedef struct { uint32_t magic; int recorded; double ns; } fake_event;
#define FAKE_EVENT_MAGIC 0xE7E27E11u
static long events_created, events_live;
long jg_fake_events_created(void) { return events_created; }
long jg_fake_events_live(void) { return events_live; }
static fake_event *event_of(void *e) {
    fake_event *ev = e;
    return ev && ev->magic == FAKE_EVENT_MAGIC ? ev : NULL;
}
CUresult cuEventCreate(void **e, unsigned flags) {
    (void)flags;
    fake_event *ev = calloc(1, sizeof *ev);
    if (!ev) return 2;
    ev->magic = FAKE_EVENT_MAGIC;
    events_created++;
    events_live++;
    *e = ev;
    return 0;
}
CUresult cuEventDestroy_v2(void *e) {
    fake_event *ev = event_of(e);
    if (!ev) return 400; /* CUDA_ERROR_INVALID_HANDLE */
    ev->magic = 0;
    free(ev);
    events_live--;
    return 0;
}
CUresult cuEventRecord(void *e, void *s) {
    fake_event *ev = event_of(e);
    if (!ev || !(s == (void *)0x3000 || s == NULL)) return 400;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    ev->ns = (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
    ev->recorded = 1;
    return 0;
}
CUresult cuEventSynchronize(void *e) { return event_of(e) ? 0 : 400; }
CUresult cuEventElapsedTime_v2(float *ms, void *a, void *b) {
    fake_event *start = event_of(a), *end = event_of(b);
    if (!start || !end) return 400;
    if (!start->recorded || !end->recorded) return 400; /* the driver's answer for an event never recorded */
    *ms = (float)((end->ns - start->ns) / 1e6);
    return 0;
}
CUresult cuGetErrorName(CUresult r, const char **s) {
    *s = r == 0 ? MAGIC_NAME : r == 719 ? "CUDA_ERROR_LAUNCH_FAILED" : r == 1 ? "CUDA_ERROR_INVALID_VALUE" : "CUDA_ERROR_FAKE";
    return 0;
}
CUresult cuGetErrorString(CUresult r, const char **s) {
    *s = r == 0 ? "no error" : r == 719 ? jg_host_last_error() : r == 1 && launch_error[0] ? launch_error : "an error of the fake driver";
    return 0;
}

/* ---- kernels: the real kernels/ .cu files, run on the CPU by the host emulation (cuda_host/) ------------- */

CUresult cuLaunchKernel(void *fp, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned smem, void *stream, void **params, void **extra) {
    (void)extra;
    if (stream != (void *)0x3000) return 400;
    fake_function *fn = fp;
    launch_error[0] = 0;
    if ((int)smem > fn->max_dynamic_smem) {
        snprintf(launch_error, sizeof launch_error, "%s: %u bytes of dynamic shared memory, over the %d this function may take"
                 " (above 48 KiB a kernel must opt in with cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES))",
                 fn->name, smem, fn->max_dynamic_smem);
        return 1; /* CUDA_ERROR_INVALID_VALUE, as a GPU answers */
    }
    return jg_host_launch(fn->name, gx, gy, gz, bx, by, bz, smem, params);
}

/* ---- bf16 and TF32 rounding, for the cuBLAS stand-in ---------------------------------------------- */
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

/* ---- cuBLAS (column-major, host pointer mode) -------------------------------------------------- */
int cublasCreate_v2(void **h) { *h = (void *)0x5000; return 0; }
int cublasDestroy_v2(void *h) { (void)h; return 0; }
int cublasGetVersion_v2(void *h, int *v) { (void)h; *v = 130000; return 0; }
int cublasSetStream_v2(void *h, void *s) { (void)h; return s == (void *)0x3000 ? 0 : 7; }
int cublasSetMathMode(void *h, int mode) { (void)h; return mode == 0 || mode == 3 ? 0 : 7; }
int cublasSetWorkspace_v2(void *h, void *ws, size_t n) { (void)h; (void)ws; (void)n; return 0; }

/*
 * The products, column-major as cuBLAS: C = alpha op(A) op(B) + beta C. For cublasGemmEx /
 * cublasGemmStridedBatchedEx as jgpt uses them, C is fp32 (CUDA_R_32F = 0); A and B both fp32 or both bf16
 * (CUDA_R_16BF = 14). Compute types: COMPUTE_32F (68) multiplies the stored values exactly (bf16 operands only
 * with it), _FAST_TF32 (77) and _FAST_16BF (75) round fp32 operands to TF32 / bf16 first, as the tensor cores
 * do. Accumulation in fp32, as on the GPU (in another order). op(A) is copied once, rounded, into a
 * column-major m x k block; each column of C then gathers k scaled columns of it (an axpy the compiler
 * vectorises).
 */
static float operand(const void *M, int type, long i, int compute) {
    float x = type == 14 ? bf16_to_f32(((const uint16_t *)M)[i]) : ((const float *)M)[i];
    if (compute == 75) x = bf16_to_f32(f32_to_bf16_rne(x));
    if (compute == 77) x = round_tf32(x);
    return x;
}
static int gemm_ex(int ta, int tb, int m, int n, int k, float alpha, const void *A, int at, int lda, const void *B, int bt,
                   int ldb, float beta, float *C, int ldc, int compute) {
    if (m < 0 || n < 0 || k < 0 || lda < (ta ? k : m) || ldb < (tb ? n : k) || ldc < m) return 7; /* INVALID_VALUE */
    if (m == 0 || n == 0) return 0;
    float *a = malloc(sizeof(float) * (size_t)m * (size_t)(k > 0 ? k : 1));
    float *acc = malloc(sizeof(float) * (size_t)m);
    if (!a || !acc) { free(a); free(acc); return 3; /* ALLOC_FAILED */ }
    for (int p = 0; p < k; p++)
        for (int i = 0; i < m; i++) a[i + (long)p * m] = operand(A, at, ta ? p + (long)i * lda : i + (long)p * lda, compute);
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < m; i++) acc[i] = 0.0f;
        for (int p = 0; p < k; p++) {
            const float b = operand(B, bt, tb ? j + (long)p * ldb : p + (long)j * ldb, compute);
            const float *ap = a + (long)p * m;
            for (int i = 0; i < m; i++) acc[i] += ap[i] * b;
        }
        float *c = C + (long)j * ldc;
        for (int i = 0; i < m; i++) c[i] = alpha * acc[i] + (beta == 0.0f ? 0.0f : beta * c[i]);
    }
    free(a);
    free(acc);
    return 0;
}
static int gemm(int ta, int tb, int m, int n, int k, float alpha, const float *A, int lda, const float *B, int ldb,
                float beta, float *C, int ldc) {
    return gemm_ex(ta, tb, m, n, k, alpha, A, 0, lda, B, 0, ldb, beta, C, ldc, 68);
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
