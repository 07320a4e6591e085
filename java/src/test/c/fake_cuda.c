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
 * Stream capture (CUDA graphs) is emulated as a GPU does it: while the stream captures, kernel launches, async copies and
 * memsets, event records and cuBLAS calls on it are recorded (kernel parameter values and cuBLAS scalars copied at record
 * time) instead of run; a call that would synchronise or allocate fails with CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED and
 * invalidates the capture (cuStreamEndCapture then answers CUDA_ERROR_STREAM_CAPTURE_INVALIDATED and no graph);
 * cuGraphLaunch replays the recorded calls in order. Counters (jg_fake_counter) let the tests see what the host
 * launched: kernels, cuBLAS calls, copies and graph launches made from the host, not counting what a replay runs.
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
void jg_host_device_memory(const void *p, size_t bytes, int added); /* for the race tracker */
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

int jg_host_param_sizes(const char *name, size_t *sizes, int max);

/* ---- stream capture state (one stream, 0x3000) ---------------------------------------------------- */
enum { OP_KERNEL, OP_COPY, OP_COPY_DTOH, OP_COPY_HTOD, OP_MEMSET8, OP_MEMSET32, OP_GEMM, OP_EVENT, OP_LT /* cuBLASLt, below */ };
#define MAX_KERNEL_PARAMS 32
typedef struct {
    int ta, tb, m, n, k, at, bt, ct, lda, ldb, ldc, batch, compute, algo;
    float alpha, beta;
    const void *A, *B;
    void *C;                      /* fp32, or bf16 when ct is CUDA_R_16BF */
    long long sA, sB, sC;
} gemm_call;
typedef struct {
    int kind;
    /* kernel */
    void *fn;
    unsigned g[3], b[3], smem;
    int nparams;
    unsigned char *param_bytes;   /* the parameters' values, copied when the launch was recorded */
    size_t param_total;
    size_t param_off[MAX_KERNEL_PARAMS];
    /* copies and memsets */
    void *dst;
    const void *src;
    size_t bytes;
    unsigned value;
    gemm_call gemm;
    void *event;
} fake_op;
typedef struct { uint32_t magic; fake_op *ops; int n, cap; } fake_graph;
#define FAKE_GRAPH_MAGIC 0x6EA9401Du
#define FAKE_EXEC_MAGIC 0x6EA9E7ECu
static fake_graph *capture;      /* the graph being recorded, or NULL */
static int capture_invalid;      /* a call broke the capture: EndCapture gives no graph */
static char capture_error[256];  /* why (cuGetErrorString of 900) */
static long counters[10];        /* see jg_fake_counter */
enum { C_KERNELS, C_CUBLAS, C_COPIES, C_GRAPH_LAUNCHES, C_RECORDED, C_GRAPHS_LIVE, C_CAPTURES, C_INVALIDATED, C_SYNCS,
       C_DEVICE_BYTES };
/* 0 kernel launches run from the host, 1 cuBLAS calls run from the host, 2 copies and memsets from the host (sync or
 * async), 3 graph launches, 4 calls recorded into graphs, 5 graphs and executable graphs alive, 6 captures begun,
 * 7 captures invalidated, 8 stream/context/event synchronisations, 9 device bytes allocated and not yet freed */
long jg_fake_counter(int which) { return which >= 0 && which < 10 ? counters[which] : -1; }

static int capturing(void) { return capture != NULL; }
/* A call that capture does not allow (it would synchronise or allocate): fails and invalidates the capture. */
static int refuse_in_capture(const char *call) {
    if (!capture_invalid) snprintf(capture_error, sizeof capture_error, "%s during stream capture (a synchronising or allocating"
                                   " call; the capture is invalidated)", call);
    if (!capture_invalid) counters[C_INVALIDATED]++;
    capture_invalid = 1;
    return 900; /* CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED */
}
/* Work queued on a stream whose capture was invalidated fails too, as on a GPU (CUDA_ERROR_STREAM_CAPTURE_INVALIDATED). */
static int capture_dead(void) { return capturing() && capture_invalid; }
static fake_op *record(int kind) {
    if (capture->n == capture->cap) {
        capture->cap = capture->cap ? 2 * capture->cap : 64;
        capture->ops = realloc(capture->ops, sizeof(fake_op) * (size_t)capture->cap);
    }
    fake_op *op = &capture->ops[capture->n++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    counters[C_RECORDED]++;
    return op;
}

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
/* The stand-in device's memory: cuMemAlloc past it fails with CUDA_ERROR_OUT_OF_MEMORY, as on a GPU */
#define FAKE_DEVICE_BYTES ((size_t)4 << 30)
CUresult cuDeviceTotalMem_v2(size_t *bytes, int dev) { (void)dev; *bytes = FAKE_DEVICE_BYTES; return 0; }
CUresult cuDevicePrimaryCtxRetain(void **ctx, int dev) { (void)dev; *ctx = (void *)0x1000; return 0; }
CUresult cuDevicePrimaryCtxRelease_v2(int dev) { (void)dev; return 0; }
CUresult cuCtxSetCurrent(void *ctx) { return ctx == (void *)0x1000 ? 0 : 201; }
CUresult cuCtxGetCurrent(void **ctx) { *ctx = (void *)0x1000; return 0; }
CUresult cuCtxSynchronize(void) { if (capturing()) return refuse_in_capture("cuCtxSynchronize"); counters[C_SYNCS]++; return 0; }
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
    if (capturing()) return refuse_in_capture("cuMemAlloc");
    if ((size_t)counters[C_DEVICE_BYTES] + bytes > FAKE_DEVICE_BYTES) return 2; /* CUDA_ERROR_OUT_OF_MEMORY */
    /* 256 bytes in front hold the size, so that cuMemFree can count what is live (jg_fake_counter 9) */
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer (cuda_host/build.sh, JG_HOST_SANITIZE=address): the allocation ends exactly at the size asked
     * for, so a kernel's access even one byte past it is reported (a GPU's allocations are rounded to 256 bytes or
     * more, and jgpt's DeviceArena packs small tensors into chunks, where such an access would read a neighbour) */
    void *raw = NULL;
    if (posix_memalign(&raw, 256, 256 + (bytes ? bytes : 1)) != 0) return 2;
    unsigned char *m = raw;
#else
    unsigned char *m = aligned_alloc(256, 256 + (bytes + 255) / 256 * 256);
    if (!m) return 2;
#endif
    device_allocations++;
    *(size_t *)m = bytes;
    counters[C_DEVICE_BYTES] += (long)bytes;
    memset(m + 256, 0xA5, bytes); /* garbage, like real device memory: the arena must zero it */
    *p = (CUdeviceptr)(uintptr_t)(m + 256);
    jg_host_device_memory(m + 256, bytes, 1);
    return 0;
}
CUresult cuMemFree_v2(CUdeviceptr p) {
    if (capturing()) return refuse_in_capture("cuMemFree");
    if (p == 0) return 0;
    unsigned char *m = (unsigned char *)(uintptr_t)p - 256;
    jg_host_device_memory(m + 256, *(size_t *)m, 0);
    counters[C_DEVICE_BYTES] -= (long)*(size_t *)m;
    free(m);
    return 0;
}
/* FAKE_DEVICE_BYTES of "device" memory, of which what cuMemAlloc handed out and cuMemFree did not take back is used */
CUresult cuMemGetInfo_v2(size_t *free_, size_t *total) {
    *total = FAKE_DEVICE_BYTES;
    long used = counters[C_DEVICE_BYTES];
    *free_ = used >= (long)*total ? 0 : *total - (size_t)used;
    return 0;
}
CUresult cuMemAllocHost_v2(void **p, size_t bytes) { if (capturing()) return refuse_in_capture("cuMemAllocHost"); *p = malloc(bytes); return *p ? 0 : 2; }
CUresult cuMemFreeHost(void *p) { if (capturing()) return refuse_in_capture("cuMemFreeHost"); free(p); return 0; }
static void run_copy(void *d, const void *src, size_t n) { memmove(d, src, n); }
static void run_memset32(void *d, unsigned v, size_t n) {
    uint32_t *p = d;
    for (size_t i = 0; i < n; i++) p[i] = v;
}
/* synchronous copies and memsets: not allowed while capturing (they wait for the stream) */
CUresult cuMemcpyHtoD_v2(CUdeviceptr d, const void *s, size_t n) {
    if (capturing()) return refuse_in_capture("cuMemcpyHtoD (synchronous)");
    counters[C_COPIES]++; run_copy((void *)(uintptr_t)d, s, n); return 0;
}
CUresult cuMemcpyDtoH_v2(void *d, CUdeviceptr s, size_t n) {
    if (capturing()) return refuse_in_capture("cuMemcpyDtoH (synchronous)");
    counters[C_COPIES]++; run_copy(d, (void *)(uintptr_t)s, n); return 0;
}
CUresult cuMemcpyDtoD_v2(CUdeviceptr d, CUdeviceptr s, size_t n) {
    if (capturing()) return refuse_in_capture("cuMemcpyDtoD (synchronous)");
    counters[C_COPIES]++; run_copy((void *)(uintptr_t)d, (void *)(uintptr_t)s, n); return 0;
}
/* async ones on the stream: recorded while capturing (the pointers, as a graph's memcpy node holds them) */
static CUresult copy_async(int kind, void *d, const void *s, size_t n, void *st) {
    if (st != (void *)0x3000) return 400;
    if (capture_dead()) return 901;
    if (capturing()) {
        fake_op *op = record(kind);
        op->dst = d; op->src = s; op->bytes = n;
        return 0;
    }
    counters[C_COPIES]++;
    run_copy(d, s, n);
    return 0;
}
CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void *s, size_t n, void *st) { return copy_async(OP_COPY_HTOD, (void *)(uintptr_t)d, s, n, st); }
CUresult cuMemcpyDtoHAsync_v2(void *d, CUdeviceptr s, size_t n, void *st) { return copy_async(OP_COPY_DTOH, d, (void *)(uintptr_t)s, n, st); }
CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, void *st) { return copy_async(OP_COPY, (void *)(uintptr_t)d, (void *)(uintptr_t)s, n, st); }
CUresult cuMemsetD8_v2(CUdeviceptr d, unsigned char v, size_t n) {
    if (capturing()) return refuse_in_capture("cuMemsetD8 (synchronous)");
    counters[C_COPIES]++; memset((void *)(uintptr_t)d, v, n); return 0;
}
CUresult cuMemsetD32_v2(CUdeviceptr d, unsigned v, size_t n) {
    if (capturing()) return refuse_in_capture("cuMemsetD32 (synchronous)");
    counters[C_COPIES]++; run_memset32((void *)(uintptr_t)d, v, n); return 0;
}
static CUresult memset_async(int kind, CUdeviceptr d, unsigned v, size_t n, void *st) {
    if (st != (void *)0x3000) return 400;
    if (capture_dead()) return 901;
    if (capturing()) {
        fake_op *op = record(kind);
        op->dst = (void *)(uintptr_t)d; op->value = v; op->bytes = n;
        return 0;
    }
    counters[C_COPIES]++;
    if (kind == OP_MEMSET8) memset((void *)(uintptr_t)d, (int)v, n);
    else run_memset32((void *)(uintptr_t)d, v, n);
    return 0;
}
CUresult cuMemsetD8Async(CUdeviceptr d, unsigned char v, size_t n, void *st) { return memset_async(OP_MEMSET8, d, v, n, st); }
CUresult cuMemsetD32Async(CUdeviceptr d, unsigned v, size_t n, void *st) { return memset_async(OP_MEMSET32, d, v, n, st); }
CUresult cuStreamCreate(void **s, unsigned flags) { (void)flags; *s = (void *)0x3000; return 0; }
CUresult cuStreamDestroy_v2(void *s) { (void)s; return 0; }
CUresult cuStreamSynchronize(void *s) {
    if (!(s == (void *)0x3000 || s == NULL)) return 400;
    if (capturing()) return refuse_in_capture("cuStreamSynchronize");
    counters[C_SYNCS]++;
    return 0;
}
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
static void stamp(fake_event *ev) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    ev->ns = (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
    ev->recorded = 1;
}
CUresult cuEventRecord(void *e, void *s) {
    fake_event *ev = event_of(e);
    if (!ev || !(s == (void *)0x3000 || s == NULL)) return 400;
    if (capture_dead()) return 901;
    if (capturing()) { /* an event record node: stamped when the graph runs */
        if (s == NULL) return refuse_in_capture("cuEventRecord on the legacy stream");
        record(OP_EVENT)->event = ev;
        return 0;
    }
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    ev->ns = (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
    ev->recorded = 1;
    return 0;
}
CUresult cuEventSynchronize(void *e) {
    if (!event_of(e)) return 400;
    if (capturing()) return refuse_in_capture("cuEventSynchronize");
    counters[C_SYNCS]++;
    return 0;
}
CUresult cuEventElapsedTime_v2(float *ms, void *a, void *b) {
    fake_event *start = event_of(a), *end = event_of(b);
    if (!start || !end) return 400;
    if (!start->recorded || !end->recorded) return 400; /* the driver's answer for an event never recorded */
    *ms = (float)((end->ns - start->ns) / 1e6);
    return 0;
}
CUresult cuGetErrorName(CUresult r, const char **s) {
    *s = r == 0 ? MAGIC_NAME : r == 719 ? "CUDA_ERROR_LAUNCH_FAILED" : r == 1 ? "CUDA_ERROR_INVALID_VALUE"
       : r == 900 ? "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED" : r == 901 ? "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED"
       : r == 401 ? "CUDA_ERROR_ILLEGAL_STATE" : "CUDA_ERROR_FAKE";
    return 0;
}
CUresult cuGetErrorString(CUresult r, const char **s) {
    *s = r == 0 ? "no error" : r == 719 ? jg_host_last_error() : r == 1 && launch_error[0] ? launch_error
       : r == 900 ? capture_error : r == 901 ? "the stream capture was invalidated by an earlier call" : "an error of the fake driver";
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
    if (capture_dead()) return 901;
    if (capturing()) { /* a kernel node: the parameters' values copied now, as the driver does */
        size_t sizes[MAX_KERNEL_PARAMS];
        int n = jg_host_param_sizes(fn->name, sizes, MAX_KERNEL_PARAMS);
        if (n < 0 || n > MAX_KERNEL_PARAMS) return 500;
        fake_op *op = record(OP_KERNEL);
        op->fn = fn;
        op->g[0] = gx; op->g[1] = gy; op->g[2] = gz;
        op->b[0] = bx; op->b[1] = by; op->b[2] = bz;
        op->smem = smem;
        op->nparams = n;
        size_t total = 0;
        for (int i = 0; i < n; i++) {
            total = (total + 15) & ~(size_t)15;
            op->param_off[i] = total;
            total += sizes[i];
        }
        op->param_total = total ? total : 1;
        op->param_bytes = malloc(op->param_total);
        for (int i = 0; i < n; i++) memcpy(op->param_bytes + op->param_off[i], params[i], sizes[i]);
        return 0;
    }
    counters[C_KERNELS]++;
    return jg_host_launch(fn->name, gx, gy, gz, bx, by, bz, smem, params);
}

/* ---- CUDA graphs: stream capture and replay ----------------------------------------------------------- */
static int run_gemm_call(const gemm_call *g);
static int run_lt_call(const void *call); /* cuBLASLt section */
CUresult cuStreamBeginCapture_v2(void *s, int mode) {
    if (s != (void *)0x3000) return 1; /* not on the legacy stream; ours is the only other */
    if (mode < 0 || mode > 2) return 1;
    if (capturing()) return 401;       /* CUDA_ERROR_ILLEGAL_STATE: already capturing */
    capture = calloc(1, sizeof *capture);
    capture->magic = FAKE_GRAPH_MAGIC;
    capture_invalid = 0;
    capture_error[0] = 0;
    counters[C_CAPTURES]++;
    return 0;
}
static void free_ops(fake_graph *g) {
    for (int i = 0; i < g->n; i++) free(g->ops[i].param_bytes);
    free(g->ops);
    g->magic = 0;
    free(g);
}
CUresult cuStreamEndCapture(void *s, void **graph) {
    if (s != (void *)0x3000) return 1;
    *graph = NULL;
    if (!capturing()) return 401;
    fake_graph *g = capture;
    capture = NULL;
    if (capture_invalid) {
        free_ops(g);
        return 901; /* CUDA_ERROR_STREAM_CAPTURE_INVALIDATED */
    }
    counters[C_GRAPHS_LIVE]++;
    *graph = g;
    return 0;
}
CUresult cuStreamIsCapturing(void *s, int *status) {
    if (!(s == (void *)0x3000 || s == NULL)) return 400;
    *status = s == NULL || !capturing() ? 0 : capture_invalid ? 2 : 1;
    return 0;
}
CUresult cuGraphInstantiateWithFlags(void **exec, void *graph, unsigned long long flags) {
    fake_graph *g = graph;
    if (!g || g->magic != FAKE_GRAPH_MAGIC || flags != 0) return 1;
    if (capturing()) return refuse_in_capture("cuGraphInstantiate");
    fake_graph *e = calloc(1, sizeof *e);
    e->magic = FAKE_EXEC_MAGIC;
    e->n = e->cap = g->n;
    e->ops = malloc(sizeof(fake_op) * (size_t)(g->n ? g->n : 1));
    for (int i = 0; i < g->n; i++) {
        e->ops[i] = g->ops[i];
        if (g->ops[i].param_bytes) {
            e->ops[i].param_bytes = malloc(g->ops[i].param_total);
            memcpy(e->ops[i].param_bytes, g->ops[i].param_bytes, g->ops[i].param_total);
        }
    }
    counters[C_GRAPHS_LIVE]++;
    *exec = e;
    return 0;
}
CUresult cuGraphDestroy(void *graph) {
    fake_graph *g = graph;
    if (!g || g->magic != FAKE_GRAPH_MAGIC) return 400;
    free_ops(g);
    counters[C_GRAPHS_LIVE]--;
    return 0;
}
CUresult cuGraphExecDestroy(void *exec) {
    fake_graph *e = exec;
    if (!e || e->magic != FAKE_EXEC_MAGIC) return 400;
    free_ops(e);
    counters[C_GRAPHS_LIVE]--;
    return 0;
}
/* Replays the recorded calls in order, on the host; the first failure ends the replay (a GPU reports it later). */
CUresult cuGraphLaunch(void *exec, void *s) {
    fake_graph *e = exec;
    if (!e || e->magic != FAKE_EXEC_MAGIC) return 400;
    if (s != (void *)0x3000) return 400;
    if (capturing()) return refuse_in_capture("cuGraphLaunch (a graph inside a capture: not used by jgpt)");
    counters[C_GRAPH_LAUNCHES]++;
    for (int i = 0; i < e->n; i++) {
        fake_op *op = &e->ops[i];
        int rc = 0;
        switch (op->kind) {
            case OP_KERNEL: {
                void *params[MAX_KERNEL_PARAMS];
                for (int p = 0; p < op->nparams; p++) params[p] = op->param_bytes + op->param_off[p];
                rc = jg_host_launch(((fake_function *)op->fn)->name, op->g[0], op->g[1], op->g[2], op->b[0], op->b[1],
                                    op->b[2], op->smem, params);
                break;
            }
            case OP_COPY: case OP_COPY_DTOH: case OP_COPY_HTOD: run_copy(op->dst, op->src, op->bytes); break;
            case OP_MEMSET8: memset(op->dst, (int)op->value, op->bytes); break;
            case OP_MEMSET32: run_memset32(op->dst, op->value, op->bytes); break;
            case OP_GEMM: rc = run_gemm_call(&op->gemm) ? 719 : 0; break;
            case OP_EVENT: stamp(op->event); break;
            case OP_LT: rc = run_lt_call(op->param_bytes) ? 719 : 0; break;
        }
        if (rc) return rc;
    }
    return 0;
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
 * cublasGemmStridedBatchedEx as jgpt uses them, A and B are both fp32 or both bf16 (CUDA_R_16BF = 14); C is fp32
 * (CUDA_R_32F = 0), or bf16 with bf16 A and B (the result rounded to nearest even once, after the fp32 sum, and a
 * bf16 C read for beta). Compute types: COMPUTE_32F (68) multiplies the stored values exactly (bf16 operands only
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
                   int ldb, float beta, void *C, int ct, int ldc, int compute) {
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
        if (ct == 14) {
            uint16_t *c = (uint16_t *)C + (long)j * ldc;
            for (int i = 0; i < m; i++) c[i] = f32_to_bf16_rne(alpha * acc[i] + (beta == 0.0f ? 0.0f : beta * bf16_to_f32(c[i])));
        } else {
            float *c = (float *)C + (long)j * ldc;
            for (int i = 0; i < m; i++) c[i] = alpha * acc[i] + (beta == 0.0f ? 0.0f : beta * c[i]);
        }
    }
    free(a);
    free(acc);
    return 0;
}
/* Every product as one call description: run now, or recorded (pointers and the alpha/beta values, read from host
 * memory at the call as cuBLAS does in host pointer mode) while the stream captures. */
static int run_gemm_call(const gemm_call *g) {
    size_t ea = g->at == 14 ? 2 : 4, eb = g->bt == 14 ? 2 : 4, ec = g->ct == 14 ? 2 : 4;
    for (int b = 0; b < g->batch; b++) {
        int rc = gemm_ex(g->ta, g->tb, g->m, g->n, g->k, g->alpha, (const char *)g->A + b * g->sA * ea, g->at, g->lda,
                         (const char *)g->B + b * g->sB * eb, g->bt, g->ldb, g->beta, (char *)g->C + b * g->sC * ec, g->ct,
                         g->ldc, g->compute);
        if (rc) return rc;
    }
    return 0;
}
static int gemm_call_now(gemm_call g) {
    if (g.m < 0 || g.n < 0 || g.k < 0 || g.batch < 0 || g.lda < (g.ta ? g.k : g.m) || g.ldb < (g.tb ? g.n : g.k) || g.ldc < g.m)
        return 7; /* CUBLAS_STATUS_INVALID_VALUE, at the call as cuBLAS checks it */
    if (capture_dead()) return 13; /* CUBLAS_STATUS_EXECUTION_FAILED: the stream's capture was invalidated */
    if (capturing()) {
        record(OP_GEMM)->gemm = g;
        return 0;
    }
    counters[C_CUBLAS]++;
    return run_gemm_call(&g);
}
int cublasSgemm_v2(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *A, int lda,
                   const float *B, int ldb, const float *beta, float *C, int ldc) {
    (void)h;
    gemm_call g = {ta, tb, m, n, k, 0, 0, 0, lda, ldb, ldc, 1, 68, -1, *alpha, *beta, A, B, C, 0, 0, 0};
    return gemm_call_now(g);
}

int cublasSgemmStridedBatched(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const float *A, int lda,
                              long long sA, const float *B, int ldb, long long sB, const float *beta, float *C, int ldc,
                              long long sC, int batch) {
    (void)h;
    gemm_call g = {ta, tb, m, n, k, 0, 0, 0, lda, ldb, ldc, batch, 68, -1, *alpha, *beta, A, B, C, sA, sB, sC};
    return gemm_call_now(g);
}

static int types_ok(int at, int bt, int ct, int compute, int algo) {
    if (at != bt || algo != -1) return 0;
    if (ct == 14) return at == 14 && compute == 68; /* bf16 output: bf16 inputs, fp32 accumulation */
    if (ct != 0) return 0;
    if (at == 0) return compute == 68 || compute == 77 || compute == 75;
    return at == 14 && compute == 68;
}
int cublasGemmEx(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const void *A, int at, int lda,
                 const void *B, int bt, int ldb, const float *beta, void *C, int ct, int ldc, int compute, int algo) {
    (void)h;
    if (!types_ok(at, bt, ct, compute, algo)) return 15;
    gemm_call g = {ta, tb, m, n, k, at, bt, ct, lda, ldb, ldc, 1, compute, algo, *alpha, *beta, A, B, C, 0, 0, 0};
    return gemm_call_now(g);
}
int cublasGemmStridedBatchedEx(void *h, int ta, int tb, int m, int n, int k, const float *alpha, const void *A, int at,
                               int lda, long long sA, const void *B, int bt, int ldb, long long sB, const float *beta,
                               void *C, int ct, int ldc, long long sC, int batch, int compute, int algo) {
    (void)h;
    if (!types_ok(at, bt, ct, compute, algo)) return 15;
    gemm_call g = {ta, tb, m, n, k, at, bt, ct, lda, ldb, ldc, batch, compute, algo, *alpha, *beta, A, B, C, sA, sB, sC};
    return gemm_call_now(g);
}

/* ---- cuBLASLt (cublasLt.h): the subset jgpt uses, with the library's semantics --------------------------------
 * Descriptors, layouts and preferences are host structs with a magic word (a wrong handle is INVALID_VALUE). Products
 * are gemm_ex above (column-major, the same type and compute rules as cublasGemmEx: A/B fp32 with COMPUTE_32F, _FAST_TF32
 * or _FAST_16BF, or both bf16 with COMPUTE_32F; C/D fp32, or bf16 with bf16 A/B), then the epilogue as cuBLASLt defines
 * it, in fp32, D rounded to bf16 once at the end where its layout is bf16. The bias (and bias gradient) is of D's type
 * (BIAS_DATA_TYPE unset or equal to it; another type is INVALID_VALUE at the heuristic, as cuBLAS 13 answered on an H200
 * on 2026-11-27 for a bf16 D with an fp32 bias); the aux matrix is fp32 or bf16 (AUX_DATA_TYPE 0 / 14; unset: D's type):
 *   BIAS (4):            D = alpha op(A) op(B) + beta C + bias (bias: m floats, one per row of D)
 *   GELU_AUX_BIAS (164): t = alpha op(A) op(B) + beta C + bias; aux = t (ld EPILOGUE_AUX_LD, a multiple of 8, type fp32);
 *                        D = gelu(t) (tanh approximation, as kernels/elementwise.cu)
 *   DGELU (192):         D = (alpha op(A) op(B) + beta C) * gelu'(aux)
 *   BGRADB (512):        D = alpha op(A) op(B) + beta C; bias = the column sums of op(B) (n floats) WRITTEN, not accumulated
 * The heuristic returns one algorithm that needs 1 MiB of workspace when the preference allows it (else none); a
 * matmul given less workspace than its algorithm asks for fails with INVALID_VALUE, as does a missing bias or aux
 * pointer. Inside a stream capture a call is recorded (descriptor and layouts copied) and run at each replay (OP_LT).
 * Each cublasLtMatmul from the host also counts as a cuBLAS call (jg_fake_counter 1). jg_fake_lt_counter (calls from the
 * host, not replays): 0 matmuls, 1 heuristic queries, 2 BIAS, 3 GELU_AUX_BIAS,
 * 4 DGELU, 5 BGRADB, 6 live handles, descriptors, layouts and preferences, 7 no epilogue. */
#define LT_DESC_MAGIC 0x17DE5C00u
#define LT_LAYOUT_MAGIC 0x17A70U
#define LT_PREF_MAGIC 0x17F8EFu
#define LT_ALGO_MAGIC 0x17A160ULL
#define LT_ALGO_WORKSPACE ((size_t)1 << 20)
typedef struct {
    uint32_t magic;
    int compute, scale, transa, transb, epilogue, aux_type, bias_type;
    void *bias, *aux;
    long long aux_ld;
} lt_desc;
typedef struct { uint32_t magic; int type; unsigned long long rows, cols; long long ld; } lt_layout;
typedef struct { uint32_t magic; unsigned long long max_ws; } lt_pref;
static long lt_counters[8];
long jg_fake_lt_counter(int which) { return which >= 0 && which < 8 ? lt_counters[which] : -1; }
/* Tests: the heuristic answers INVALID_VALUE for this epilogue (0: none), as cuBLAS 13 did on an H200 for combinations
 * it does not fuse; the product call itself is not refused (LtMatmul never makes one without an algorithm). */
static int lt_refused_epilogue;
void jg_fake_lt_refuse(int epilogue) { lt_refused_epilogue = epilogue; }

int cublasLtCreate(void **h) { *h = (void *)0x5100; lt_counters[6]++; return 0; }
int cublasLtDestroy(void *h) { if (h != (void *)0x5100) return 7; lt_counters[6]--; return 0; }
int cublasLtMatmulDescCreate(void **d, int compute, int scale) {
    if (!(compute == 68 || compute == 75 || compute == 77) || scale != 0) return 7;
    lt_desc *x = calloc(1, sizeof *x);
    x->magic = LT_DESC_MAGIC; x->compute = compute; x->scale = scale; x->epilogue = 1; x->aux_type = -1; x->bias_type = -1;
    *d = x;
    lt_counters[6]++;
    return 0;
}
int cublasLtMatmulDescDestroy(void *d) {
    lt_desc *x = d;
    if (!x || x->magic != LT_DESC_MAGIC) return 7;
    x->magic = 0; free(x); lt_counters[6]--;
    return 0;
}
int cublasLtMatmulDescSetAttribute(void *d, int attr, const void *buf, size_t n) {
    lt_desc *x = d;
    if (!x || x->magic != LT_DESC_MAGIC || !buf) return 7;
    switch (attr) {
        case 3: if (n != 4) return 7; memcpy(&x->transa, buf, 4); return x->transa == 0 || x->transa == 1 ? 0 : 7;
        case 4: if (n != 4) return 7; memcpy(&x->transb, buf, 4); return x->transb == 0 || x->transb == 1 ? 0 : 7;
        case 7: if (n != 4) return 7; memcpy(&x->epilogue, buf, 4);
                return x->epilogue == 1 || x->epilogue == 4 || x->epilogue == 164 || x->epilogue == 192 || x->epilogue == 512 ? 0 : 15;
        case 8: if (n != sizeof(void *)) return 7; memcpy(&x->bias, buf, n); return 0;
        case 11: if (n != sizeof(void *)) return 7; memcpy(&x->aux, buf, n); return 0;
        case 12: if (n != 8) return 7; memcpy(&x->aux_ld, buf, 8); return 0;
        case 22: if (n != 4) return 7; memcpy(&x->aux_type, buf, 4); return 0;
        case 26: if (n != 4) return 7; memcpy(&x->bias_type, buf, 4); return 0;
        default: return 15; /* not emulated */
    }
}
int cublasLtMatrixLayoutCreate(void **l, int type, unsigned long long rows, unsigned long long cols, long long ld) {
    if (!(type == 0 || type == 14) || ld < (long long)rows || ld < 1) return 7;
    lt_layout *x = calloc(1, sizeof *x);
    x->magic = LT_LAYOUT_MAGIC; x->type = type; x->rows = rows; x->cols = cols; x->ld = ld;
    *l = x;
    lt_counters[6]++;
    return 0;
}
int cublasLtMatrixLayoutDestroy(void *l) {
    lt_layout *x = l;
    if (!x || x->magic != LT_LAYOUT_MAGIC) return 7;
    x->magic = 0; free(x); lt_counters[6]--;
    return 0;
}
int cublasLtMatmulPreferenceCreate(void **p) {
    lt_pref *x = calloc(1, sizeof *x);
    x->magic = LT_PREF_MAGIC;
    *p = x;
    lt_counters[6]++;
    return 0;
}
int cublasLtMatmulPreferenceDestroy(void *p) {
    lt_pref *x = p;
    if (!x || x->magic != LT_PREF_MAGIC) return 7;
    x->magic = 0; free(x); lt_counters[6]--;
    return 0;
}
int cublasLtMatmulPreferenceSetAttribute(void *p, int attr, const void *buf, size_t n) {
    lt_pref *x = p;
    if (!x || x->magic != LT_PREF_MAGIC || !buf) return 7;
    if (attr != 1 || n != 8) return 15;
    memcpy(&x->max_ws, buf, 8);
    return 0;
}
/* The shapes of a product from its descriptor and layouts (D = op(A) op(B): m x n, inner k); 0 when consistent. */
static int lt_shapes(const lt_desc *d, const lt_layout *A, const lt_layout *B, const lt_layout *C, const lt_layout *D,
                     int *m, int *n, int *k) {
    if (!d || d->magic != LT_DESC_MAGIC) return 7;
    if (!A || A->magic != LT_LAYOUT_MAGIC || !B || B->magic != LT_LAYOUT_MAGIC || !C || C->magic != LT_LAYOUT_MAGIC
        || !D || D->magic != LT_LAYOUT_MAGIC) return 7;
    *m = (int)D->rows; *n = (int)D->cols;
    *k = (int)(d->transa ? A->rows : A->cols);
    if ((unsigned long long)*m != (d->transa ? A->cols : A->rows)) return 7;
    if ((unsigned long long)*k != (d->transb ? B->cols : B->rows) || (unsigned long long)*n != (d->transb ? B->rows : B->cols)) return 7;
    if (C->rows != D->rows || C->cols != D->cols || C->type != D->type) return 7;
    if (A->type != B->type) return 15;                          /* A and B of one type */
    if (D->type == 14 && A->type != 14) return 15;              /* bf16 output: from bf16 inputs */
    if (A->type == 14 && d->compute != 68) return 15;           /* bf16 inputs: COMPUTE_32F */
    int bias_type = d->bias_type == -1 ? D->type : d->bias_type, aux_type = d->aux_type == -1 ? D->type : d->aux_type;
    int ep = d->epilogue;
    if ((ep == 4 || ep == 164 || ep == 512) && bias_type != D->type) return 7;  /* the bias of D's type (INVALID_VALUE) */
    if ((ep == 164 || ep == 192) && aux_type != 0 && aux_type != 14) return 15;
    return 0;
}
int cublasLtMatmulAlgoGetHeuristic(void *h, void *desc, void *A, void *B, void *C, void *D, void *pref, int requested,
                                   void *results, int *returned) {
    if (h != (void *)0x5100 || requested < 1 || !results || !returned) return 7;
    lt_pref *p = pref;
    if (!p || p->magic != LT_PREF_MAGIC) return 7;
    int m, n, k, rc = lt_shapes(desc, A, B, C, D, &m, &n, &k);
    if (rc) return rc;
    lt_counters[1]++;
    *returned = 0;
    if (lt_refused_epilogue != 0 && ((lt_desc *)desc)->epilogue == lt_refused_epilogue) return 7;
    if (p->max_ws < LT_ALGO_WORKSPACE) return 15; /* CUBLAS_STATUS_NOT_SUPPORTED: no algorithm fits */
    unsigned char *r = results;
    memset(r, 0, 96);
    unsigned long long algo[8] = {LT_ALGO_MAGIC, (unsigned long long)m, (unsigned long long)n, (unsigned long long)k,
                                  (unsigned long long)LT_ALGO_WORKSPACE, 0, 0, 0};
    size_t ws = LT_ALGO_WORKSPACE;
    memcpy(r, algo, 64);
    memcpy(r + 64, &ws, 8);   /* workspaceSize */
    float waves = 1.0f;
    memcpy(r + 76, &waves, 4);
    *returned = 1;
    return 0;
}
static float lt_gelu(float x) { return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x))); }
static float lt_dgelu(float x) {
    const float th = tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)), sech2 = 1.0f - th * th;
    return 0.5f * (1.0f + th) + x * 0.5f * sech2 * 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * x * x);
}
/* One product with its descriptor and layouts copied (so a recorded call keeps the attributes it was made with). */
typedef struct {
    lt_desc d;
    lt_layout a, b, c, dl;
    int m, n, k;
    float alpha, beta;
    const void *A, *B, *C;
    void *D;
} lt_call;
static float lt_get(const void *M, int type, long i) { return type == 14 ? bf16_to_f32(((const uint16_t *)M)[i]) : ((const float *)M)[i]; }
static void lt_put(void *M, int type, long i, float v) {
    if (type == 14) ((uint16_t *)M)[i] = f32_to_bf16_rne(v); else ((float *)M)[i] = v;
}
static int run_lt_call(const void *call) {
    const lt_call *x = call;
    const lt_desc *d = &x->d;
    int m = x->m, n = x->n, k = x->k, ep = d->epilogue, dt = x->dl.type;
    int aux_type = d->aux_type == -1 ? dt : d->aux_type;
    long ldd = x->dl.ld, ldc = x->c.ld;
    /* the product and its epilogue in fp32 (t, m x n, ld m), then D written once in its own type */
    float *t = malloc(sizeof(float) * (size_t)m * (size_t)(n > 0 ? n : 1));
    if (!t) return 3;
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) t[i + (long)j * m] = x->beta == 0.0f ? 0.0f : lt_get(x->C, x->c.type, i + (long)j * ldc);
    int rc = gemm_ex(d->transa, d->transb, m, n, k, x->alpha, x->A, x->a.type, (int)x->a.ld, x->B, x->b.type, (int)x->b.ld,
                     x->beta, t, 0, m, d->compute);
    if (rc) { free(t); return rc; }
    const void *bias = d->bias;
    int bias_type = d->bias_type == -1 ? dt : d->bias_type;
    if (ep == 4) for (int j = 0; j < n; j++) for (int i = 0; i < m; i++) t[i + (long)j * m] += lt_get(bias, bias_type, i);
    if (ep == 164)
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                float pre = t[i + (long)j * m] + lt_get(bias, bias_type, i);
                lt_put(d->aux, aux_type, i + (long)j * d->aux_ld, pre);
                t[i + (long)j * m] = lt_gelu(pre);
            }
    if (ep == 192)
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) t[i + (long)j * m] *= lt_dgelu(lt_get(d->aux, aux_type, i + (long)j * d->aux_ld));
    if (ep == 512) { /* column sums of op(B) (k x n), in the operands' stored precision, written */
        for (int j = 0; j < n; j++) {
            double sum = 0;
            for (int p = 0; p < k; p++) sum += operand(x->B, x->b.type, d->transb ? j + (long)p * x->b.ld : p + (long)j * x->b.ld, d->compute);
            lt_put(d->bias, bias_type, j, (float)sum);
        }
    }
    for (int j = 0; j < n; j++) for (int i = 0; i < m; i++) lt_put(x->D, dt, i + (long)j * ldd, t[i + (long)j * m]);
    free(t);
    return 0;
}
int cublasLtMatmul(void *h, void *desc, const void *alpha, const void *A, void *Adesc, const void *B, void *Bdesc,
                   const void *beta, const void *C, void *Cdesc, void *D, void *Ddesc, const void *algo, void *ws,
                   size_t ws_bytes, void *stream) {
    if (h != (void *)0x5100 || stream != (void *)0x3000 || !alpha || !beta) return 7;
    lt_desc *d = desc;
    int m, n, k, rc = lt_shapes(d, Adesc, Bdesc, Cdesc, Ddesc, &m, &n, &k);
    if (rc) return rc;
    if (algo) { /* an algorithm from the heuristic for this shape, with the workspace it asked for */
        unsigned long long a[8];
        memcpy(a, algo, 64);
        if (a[0] != LT_ALGO_MAGIC || a[1] != (unsigned long long)m || a[2] != (unsigned long long)n || a[3] != (unsigned long long)k)
            return 7;
        if (ws_bytes < a[4] || !ws) return 7;
    }
    int ep = d->epilogue;
    if ((ep == 4 || ep == 164 || ep == 512) && !d->bias) return 7;
    if ((ep == 164 || ep == 192) && (!d->aux || d->aux_ld < m || d->aux_ld % 8 != 0)) return 7;
    if (capture_dead()) return 13;
    lt_call x;
    memset(&x, 0, sizeof x);
    x.d = *d;
    x.a = *(lt_layout *)Adesc; x.b = *(lt_layout *)Bdesc; x.c = *(lt_layout *)Cdesc; x.dl = *(lt_layout *)Ddesc;
    x.m = m; x.n = n; x.k = k;
    memcpy(&x.alpha, alpha, 4);
    memcpy(&x.beta, beta, 4);
    x.A = A; x.B = B; x.C = C; x.D = D;
    if (capturing()) { /* a node of the graph: the call as made now, run at each replay */
        fake_op *op = record(OP_LT);
        op->param_bytes = malloc(sizeof x);
        op->param_total = sizeof x;
        memcpy(op->param_bytes, &x, sizeof x);
        return 0;
    }
    rc = run_lt_call(&x);
    if (rc) return rc;
    counters[C_CUBLAS]++; /* a cuBLAS-library call from the host, as the driver counters see it */
    lt_counters[0]++;
    lt_counters[ep == 4 ? 2 : ep == 164 ? 3 : ep == 192 ? 4 : ep == 512 ? 5 : 7]++;
    return 0;
}
