// The Llama-only layers of training (dev.jgpt.backend.Backend's rmsnorm*, rope*, swiglu*,
// gqaAttention*): RMSNorm, rotary position embeddings, SwiGLU and grouped-query causal attention,
// forward and backward. Straightforward kernels (one warp per row; no tensor cores): correct first.
// They are compiled into the fatbin by every build with nvcc (spills fail the build) and checked on
// the host by FakeDriverCudaBackendTest through C emulations; they have not run on a GPU yet.
#include "common.cuh"

// ---- RMSNorm: out = weight * x * rstd, rstd = 1/sqrt(mean(x^2) + eps); one warp per row ----------

template <typename Out>
__device__ __forceinline__ void jg_rmsnorm_forward(Out* out, float* rstd, const float* inp, const float* weight,
                                                   int N, int C, float eps) {
    const int lane = threadIdx.x % JG_WARP;
    const int row = blockIdx.x * (blockDim.x / JG_WARP) + threadIdx.x / JG_WARP;
    if (row >= N) return;
    const float* x = inp + (long long)row * C;
    float ss = 0.0f;
    for (int i = lane; i < C; i += JG_WARP) ss += x[i] * x[i];
    const float r = rsqrtf(jg_warp_sum(ss) / C + eps);
    Out* o = out + (long long)row * C;
    for (int i = lane; i < C; i += JG_WARP) jg_store(o + i, weight[i] * (x[i] * r));
    if (lane == 0) rstd[row] = r;
}

extern "C" __global__ void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight,
                                           int N, int C, float eps) {
    jg_rmsnorm_forward(out, rstd, inp, weight, N, C, eps);
}

// The same with out stored as bf16 (bf16 activation storage: out is a product's input).
extern "C" __global__ void rmsnorm_forward_bf16(__nv_bfloat16* out, float* rstd, const float* inp, const float* weight,
                                                int N, int C, float eps) {
    jg_rmsnorm_forward(out, rstd, inp, weight, N, C, eps);
}

// dinp += r * w * dy - r^3 / C * x * sum(w * dy * x), one warp per row; dinp_copy (may be null): written with dinp's
// new values, rounded to its type (Llama's residual stream gradient as the next backward products' bf16 operand).
template <typename CopyT>
__device__ __forceinline__ void jg_rmsnorm_backward_dinp(float* dinp, CopyT* dinp_copy, const float* dout, const float* inp,
                                                         const float* weight, const float* rstd, int N, int C) {
    const int lane = threadIdx.x % JG_WARP;
    const int row = blockIdx.x * (blockDim.x / JG_WARP) + threadIdx.x / JG_WARP;
    if (row >= N) return;
    const long long off = (long long)row * C;
    const float* x = inp + off;
    const float* dy = dout + off;
    float dot = 0.0f;
    for (int i = lane; i < C; i += JG_WARP) dot += weight[i] * dy[i] * x[i];
    const float r = rstd[row];
    const float coef = r * r * r / C * jg_warp_sum(dot);
    float* dx = dinp + off;
    for (int i = lane; i < C; i += JG_WARP) {
        const float d = dx[i] + r * weight[i] * dy[i] - coef * x[i];
        dx[i] = d;
        if (dinp_copy != nullptr) jg_store(dinp_copy + off + i, d);
    }
}

extern "C" __global__ void rmsnorm_backward_dinp(float* dinp, const float* dout, const float* inp, const float* weight,
                                                 const float* rstd, int N, int C) {
    jg_rmsnorm_backward_dinp(dinp, (float*)nullptr, dout, inp, weight, rstd, N, C);
}

// bf16 mode: a bf16 copy of the new dinp beside it (RMSNorm's backward with a copy, Backend.rmsnormBackwardCopy).
extern "C" __global__ void rmsnorm_backward_dinp_copy_bf16(float* dinp, __nv_bfloat16* dinp_copy, const float* dout,
                                                           const float* inp, const float* weight, const float* rstd,
                                                           int N, int C) {
    jg_rmsnorm_backward_dinp(dinp, dinp_copy, dout, inp, weight, rstd, N, C);
}

// RMSNorm's dweight in two launches, without atomics: block (x, s) of this kernel, threads (32, 8), sums
// dout[n,i] * x[n,i] * rstd[n] over split s of the rows (gridDim.y splits of ceil(N / gridDim.y) rows) for its 32
// columns i (jg_block_column_sum: a fixed order) and writes the sum to partials[s][i]; add_partial_sums then adds the splits to dweight in split order. The splits spread the rows over
// enough blocks to fill the GPU: one block per 32 columns, as before, left C / 32 blocks (24 at C 768) each streaming
// all N rows, a few SMs busy for the whole (N, C) read.
extern "C" __global__ void rmsnorm_backward_dweight(float* partials, const float* dout, const float* inp,
                                                   const float* rstd, int N, int C) {
    const int col = blockIdx.x * JG_WARP + threadIdx.x;
    const int per = (N + gridDim.y - 1) / gridDim.y, first = blockIdx.y * per, last = min(N, first + per);
    const float total = jg_block_column_sum([&](int n) {
        const long long i = (long long)n * C + col;
        return dout[i] * inp[i] * rstd[n];
    }, col < C, first, last);
    if (threadIdx.y == 0 && col < C) partials[(long long)blockIdx.y * C + col] = total;
}

// ---- RoPE: pairs (2i, 2i+1) of every head rotated by (cos[t,i], sign * sin[t,i]); in place ---------

template <typename X>
__device__ __forceinline__ void jg_rope_rotate(X* x, const float* cos_t, const float* sin_t, int B, int T, int NH,
                                               int hs, float sign) {
    const int half = hs / 2;
    const long long pairs = (long long)B * T * NH * half;
    for (long long p = jg_global_index(); p < pairs; p += jg_global_stride()) {
        const int i = (int)(p % half);
        const long long bth = p / half;               // (b*T + t)*NH + h
        const int t = (int)((bth / NH) % T);
        X* v = x + bth * hs + 2 * i;
        const float c = cos_t[(long long)t * half + i], s = sign * sin_t[(long long)t * half + i];
        const float v0 = jg_load(v), v1 = jg_load(v + 1);
        jg_store(v, v0 * c - v1 * s);
        jg_store(v + 1, v0 * s + v1 * c);
    }
}

extern "C" __global__ void rope_rotate(float* x, const float* cos_t, const float* sin_t, int B, int T, int NH,
                                       int hs, float sign) {
    jg_rope_rotate(x, cos_t, sin_t, B, T, NH, hs, sign);
}

// The same on bf16 q or k (bf16 activation storage): the rotation in fp32, the result rounded once more.
extern "C" __global__ void rope_rotate_bf16(__nv_bfloat16* x, const float* cos_t, const float* sin_t, int B, int T,
                                            int NH, int hs, float sign) {
    jg_rope_rotate(x, cos_t, sin_t, B, T, NH, hs, sign);
}

// ---- SwiGLU: out = silu(gate) * up -----------------------------------------------------------------

template <typename T>
__device__ __forceinline__ void jg_swiglu_forward(T* out, const T* gate, const T* up, long long n) {
    for (long long i = jg_global_index(); i < n; i += jg_global_stride()) {
        const float a = jg_load(gate + i), sig = 1.0f / (1.0f + expf(-a));
        jg_store(out + i, a * sig * jg_load(up + i));
    }
}

extern "C" __global__ void swiglu_forward(float* out, const float* gate, const float* up, long long n) {
    jg_swiglu_forward(out, gate, up, n);
}

// bf16 activation storage: gate and up (products' outputs) and out (a product's input) are bf16.
extern "C" __global__ void swiglu_forward_bf16(__nv_bfloat16* out, const __nv_bfloat16* gate, const __nv_bfloat16* up,
                                               long long n) {
    jg_swiglu_forward(out, gate, up, n);
}

// T: gate and up; GradT: dout, dgate and dup (float, or bf16 for _bf16_grads: added to in fp32, rounded once).
template <typename T, typename GradT>
__device__ __forceinline__ void jg_swiglu_backward(GradT* dgate, GradT* dup, const GradT* dout, const T* gate,
                                                   const T* up, long long n, int accumulate) {
    for (long long i = jg_global_index(); i < n; i += jg_global_stride()) {
        const float a = jg_load(gate + i), u = jg_load(up + i), sig = 1.0f / (1.0f + expf(-a)), g = jg_load(dout + i);
        jg_store(dgate + i, (accumulate ? jg_load(dgate + i) : 0.0f) + g * u * sig * (1.0f + a * (1.0f - sig)));
        jg_store(dup + i, (accumulate ? jg_load(dup + i) : 0.0f) + g * a * sig);
    }
}

extern "C" __global__ void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
                                           const float* up, long long n, int accumulate) {
    jg_swiglu_backward(dgate, dup, dout, gate, up, n, accumulate);
}

// The same reading bf16 gate and up; gradients stay fp32.
extern "C" __global__ void swiglu_backward_bf16(float* dgate, float* dup, const float* dout, const __nv_bfloat16* gate,
                                                const __nv_bfloat16* up, long long n, int accumulate) {
    jg_swiglu_backward(dgate, dup, dout, gate, up, n, accumulate);
}

// The gradients in bf16 too (Llama's d(gate), d(up) and d(SwiGLU) in bf16 mode: the w1/w3 backward products' operands).
extern "C" __global__ void swiglu_backward_bf16_grads(__nv_bfloat16* dgate, __nv_bfloat16* dup, const __nv_bfloat16* dout,
                                                      const __nv_bfloat16* gate, const __nv_bfloat16* up, long long n, int accumulate) {
    jg_swiglu_backward(dgate, dup, dout, gate, up, n, accumulate);
}

// ---- grouped-query causal attention ---------------------------------------------------------------
// q, out (B,T,NH*hs); k, v (B,T,NKV*hs); att, datt (B,NH,T,T); query head h reads kv head h/(NH/NKV).
// One warp per query row (b, h, t): lanes stride over the keys for the scores, over the head's channels
// for the products with v.

template <typename X>
__device__ __forceinline__ void jg_gqa_attention_forward(X* out, float* att, const X* q, const X* k, const X* v, int B,
                                                         int T, int NH, int NKV, int hs) {
    const int lane = threadIdx.x % JG_WARP;
    const long long row = (long long)blockIdx.x * (blockDim.x / JG_WARP) + threadIdx.x / JG_WARP;
    if (row >= (long long)B * NH * T) return;
    const int t = (int)(row % T), h = (int)((row / T) % NH), b = (int)(row / ((long long)T * NH));
    const int Cq = NH * hs, Ckv = NKV * hs, kvh = h / (NH / NKV);
    const float scale = rsqrtf((float)hs);
    const X* qr = q + ((long long)b * T + t) * Cq + (long long)h * hs;
    const X* kb = k + (long long)b * T * Ckv + (long long)kvh * hs;
    const X* vb = v + (long long)b * T * Ckv + (long long)kvh * hs;
    float* a = att + row * T;
    float mx = -CUDART_INF_F;
    for (int u = lane; u <= t; u += JG_WARP) {
        const X* kr = kb + (long long)u * Ckv;
        float s = 0.0f;
        for (int i = 0; i < hs; i++) s += jg_load(qr + i) * jg_load(kr + i);
        s *= scale;
        a[u] = s;
        mx = fmaxf(mx, s);
    }
    mx = jg_warp_max(mx);
    float sum = 0.0f;
    for (int u = lane; u <= t; u += JG_WARP) {
        const float e = expf(a[u] - mx);
        a[u] = e;
        sum += e;
    }
    const float inv = 1.0f / jg_warp_sum(sum);
    for (int u = lane; u < T; u += JG_WARP) a[u] = u <= t ? a[u] * inv : 0.0f;
    __syncwarp();   // the row is read by every lane below
    X* o = out + ((long long)b * T + t) * Cq + (long long)h * hs;
    for (int i = lane; i < hs; i += JG_WARP) {
        float acc = 0.0f;
        for (int u = 0; u <= t; u++) acc += a[u] * jg_load(vb + (long long)u * Ckv + i);
        jg_store(o + i, acc);
    }
}

extern "C" __global__ void gqa_attention_forward(float* out, float* att, const float* q, const float* k,
                                                 const float* v, int B, int T, int NH, int NKV, int hs) {
    jg_gqa_attention_forward(out, att, q, k, v, B, T, NH, NKV, hs);
}

// bf16 activation storage: q, k, v read and out written as bf16; the probabilities and all sums stay fp32.
extern "C" __global__ void gqa_attention_forward_bf16(__nv_bfloat16* out, float* att, const __nv_bfloat16* q,
                                                      const __nv_bfloat16* k, const __nv_bfloat16* v, int B, int T,
                                                      int NH, int NKV, int hs) {
    jg_gqa_attention_forward(out, att, q, k, v, B, T, NH, NKV, hs);
}

// One query head's attention for one decode row over a KV cache of rows (maxT, NKV*hs): scores of qh against
// positions 0..last into ah, the causal softmax there (block-wide max and sum; zero from last+1 to T-1), then
// o = the mix of the kv head's values. Every thread of the block calls it.
// E, the type of q, the caches and o: float, or __nv_bfloat16 (the _bf16 kernels: bf16 decode activations and a bf16
// KV cache in bf16 mode); the scores, the probabilities ah and every sum stay fp32.
//
// A decode step launches one block per query head (12 for GPT-2 124M), so each block's loops are latency-bound:
// what matters is how many loads each thread has in flight. Where rows are 16-byte aligned (hs and the cache's row a
// multiple of 4 floats / 8 bf16: every model we ship), the scores take a thread per position reading its key row 16
// bytes at a time into four independent sums, and the mix of values takes a group of hs/V lanes per position (V
// elements each, a coalesced row read per group), blockDim/(hs/V) positions at once, unrolled by 4; the groups'
// partial sums meet in shared memory and are added in group order (a fixed order: reruns repeat bit for bit). The
// first version (a thread per channel looping over every position for the mix, 4-byte loads) stays for other shapes.
#define JG_DECODE_PARTIALS 2048  // floats of the mix's partial sums: blockDim.x * V at most (128 threads x 8 bf16 = 1024)

template <typename E>
__device__ __forceinline__ void jg_decode_head(E* o, float* ah, const E* qh, const E* kcache, const E* vcache, int last,
                                               int T, int Ckv, int kvh, int hs) {
    __shared__ float partials[JG_DECODE_PARTIALS];
    constexpr int V = JgVec16<E>::N;
    const float scale = rsqrtf((float)hs);
    const E* kb = kcache + (long long)kvh * hs;
    const E* vb = vcache + (long long)kvh * hs;
    const int G = hs / V;  // lanes per position in the mix
    const bool vec = hs % V == 0 && Ckv % V == 0 && jg_aligned16(kb, vb, qh) && G <= JG_WARP && JG_WARP % G == 0
                     && (int)blockDim.x * V <= JG_DECODE_PARTIALS;  // block-uniform
    float mx = -CUDART_INF_F;
    for (int t = threadIdx.x; t <= last; t += blockDim.x) {
        const E* k = kb + (long long)t * Ckv;
        float s = 0.0f;
        if (vec) {
            float s4[4] = {0.0f, 0.0f, 0.0f, 0.0f};  // four independent chains: four loads in flight
            int i = 0;
            for (; i + 4 * V <= hs; i += 4 * V) {
#pragma unroll
                for (int u = 0; u < 4; u++) {
                    float kv[V], qv[V];
                    jg_loadv<V>(k + i + u * V, kv);
                    jg_loadv<V>(qh + i + u * V, qv);
#pragma unroll
                    for (int e = 0; e < V; e++) s4[u] += qv[e] * kv[e];
                }
            }
            for (; i < hs; i += V) {
                float kv[V], qv[V];
                jg_loadv<V>(k + i, kv);
                jg_loadv<V>(qh + i, qv);
#pragma unroll
                for (int e = 0; e < V; e++) s4[0] += qv[e] * kv[e];
            }
            s = (s4[0] + s4[1]) + (s4[2] + s4[3]);
        } else {
            for (int i = 0; i < hs; i++) s += jg_load(qh + i) * jg_load(k + i);
        }
        s *= scale;
        ah[t] = s;
        mx = fmaxf(mx, s);
    }
    mx = jg_block_max(mx);
    float sum = 0.0f;
    for (int t = threadIdx.x; t <= last; t += blockDim.x) {
        const float e = expf(ah[t] - mx);
        ah[t] = e;
        sum += e;
    }
    const float inv = 1.0f / jg_block_sum(sum);
    for (int t = threadIdx.x; t < T; t += blockDim.x) ah[t] = t <= last ? ah[t] * inv : 0.0f;
    __syncthreads();   // every thread reads the whole row below
    if (!vec) {
        for (int i = threadIdx.x; i < hs; i += blockDim.x) {
            float s = 0.0f;
            for (int t = 0; t <= last; t++) s += ah[t] * jg_load(vb + (long long)t * Ckv + i);
            jg_store(o + i, s);
        }
        return;
    }
    const int P = blockDim.x / G, slot = threadIdx.x / G, c = (threadIdx.x % G) * V;  // P positions at a time
    float acc[V];
#pragma unroll
    for (int e = 0; e < V; e++) acc[e] = 0.0f;
    if (slot < P) {
#pragma unroll 4
        for (int t = slot; t <= last; t += P) {
            float vv[V];
            jg_loadv<V>(vb + (long long)t * Ckv + c, vv);
            const float a = ah[t];
#pragma unroll
            for (int e = 0; e < V; e++) acc[e] += a * vv[e];
        }
#pragma unroll
        for (int e = 0; e < V; e++) partials[slot * hs + c + e] = acc[e];
    }
    __syncthreads();
    for (int i = threadIdx.x; i < hs; i += blockDim.x) {
        float s = 0.0f;
        for (int g = 0; g < P; g++) s += partials[g * hs + i];
        jg_store(o + i, s);
    }
}

// Inference over a KV cache of rows (maxT, NKV*hs) that holds positions 0..pos+rows-1: a block of `rows` query
// rows q, out (rows, NH*hs) at positions pos..pos+rows-1 (rows = 1: one decode step; more: a prefill that
// continues a sequence, all rows in one launch). Row r attends over positions 0..pos+r; att (NH, rows, pos+rows)
// receives the probabilities, zero past the row's position. One block per (query head h = blockIdx.x, row r =
// blockIdx.y), reading kv head h/(NH/NKV).
template <typename E>
__device__ __forceinline__ void jg_gqa_attention_decode(E* out, float* att, const E* q, const E* kcache, const E* vcache,
                                                        int pos, int rows, int NH, int NKV, int hs) {
    const int h = blockIdx.x, r = blockIdx.y;
    const int T = pos + rows, Cq = NH * hs;
    jg_decode_head(out + (long long)r * Cq + (long long)h * hs, att + ((long long)h * rows + r) * T,
                   q + (long long)r * Cq + (long long)h * hs, kcache, vcache, pos + r, T, NKV * hs, h / (NH / NKV), hs);
}

extern "C" __global__ void gqa_attention_decode(float* out, float* att, const float* q, const float* kcache,
                                                const float* vcache, int pos, int rows, int NH, int NKV, int hs) {
    jg_gqa_attention_decode(out, att, q, kcache, vcache, pos, rows, NH, NKV, hs);
}

extern "C" __global__ void gqa_attention_decode_bf16(__nv_bfloat16* out, float* att, const __nv_bfloat16* q,
                                                     const __nv_bfloat16* kcache, const __nv_bfloat16* vcache, int pos,
                                                     int rows, int NH, int NKV, int hs) {
    jg_gqa_attention_decode(out, att, q, kcache, vcache, pos, rows, NH, NKV, hs);
}

// A server's batched decode step: n sequences (n <= JG_DECODE_ROWS_MAX per launch), each with its own caches and
// position, in one launch instead of three per sequence (two copies and an attention). Row r first writes its new
// key and value (row r of knew / vnew, NKV*hs elements) into its caches at position pos[r], then attends over
// positions 0..pos[r] as gqa_attention_decode does for one row; att (NH, n, ld) is scratch, ld >= every pos + 1.
// One block per (query head h, row r): each block writes the kv-head slice it reads (the blocks of the other
// query heads of that kv head write the same values), and the barrier inside jg_decode_head's first reduction
// comes after that write, so its own threads see it. The cache addresses are untyped here: the _bf16 kernel reads
// them as bf16 caches.
struct jg_decode_rows {
    void* kcache[JG_DECODE_ROWS_MAX];
    void* vcache[JG_DECODE_ROWS_MAX];
    int pos[JG_DECODE_ROWS_MAX];
};
// Row r's new key and value (row r of knew / vnew) into its caches at position p, kv head kvh's slice. Every block of
// that kv head's query heads stores the same values here, so that each reads its own stores after a barrier and no
// block waits on another: JG_SAME_VALUE_WRITES.
template <typename E>
__device__ JG_SAME_VALUE_WRITES void jg_store_new_kv(E* kc, E* vc, const E* knew, const E* vnew, int r, int p, int Ckv,
                                                     int kvh, int hs) {
    for (int i = threadIdx.x; i < hs; i += blockDim.x) {
        const long long src = (long long)r * Ckv + (long long)kvh * hs + i, dst = (long long)p * Ckv + (long long)kvh * hs + i;
        kc[dst] = knew[src];
        vc[dst] = vnew[src];
    }
}

template <typename E>
__device__ __forceinline__ void jg_gqa_attention_decode_rows(E* out, float* att, const E* q, const E* knew, const E* vnew,
                                                             const jg_decode_rows& rows, int n, int ld, int NH, int NKV,
                                                             int hs, const int* dpos, void* const* dcaches) {
    const int h = blockIdx.x, r = blockIdx.y;
    if (r >= n) return;  // whole blocks leave
    // the position: from the struct, or from device memory where dpos is not null (a step replayed from a CUDA graph)
    const int Cq = NH * hs, Ckv = NKV * hs, kvh = h / (NH / NKV), p = dpos != nullptr ? dpos[r] : rows.pos[r];
    // the caches likewise: from the struct, or from a device row table where dcaches is not null (a batched step
    // replayed from a graph: dcaches[r] is row r's k cache, dcaches[JG_DECODE_ROWS_MAX + r] its v cache)
    E* kc = static_cast<E*>(dcaches != nullptr ? dcaches[r] : rows.kcache[r]);
    E* vc = static_cast<E*>(dcaches != nullptr ? dcaches[JG_DECODE_ROWS_MAX + r] : rows.vcache[r]);
    jg_store_new_kv(kc, vc, knew, vnew, r, p, Ckv, kvh, hs);
    __syncthreads();   // the new key and value of this block's kv head are in the cache for every thread below
    jg_decode_head(out + (long long)r * Cq + (long long)h * hs, att + ((long long)h * n + r) * ld,
                   q + (long long)r * Cq + (long long)h * hs, kc, vc, p, p + 1, Ckv, kvh, hs);
}

extern "C" __global__ void gqa_attention_decode_rows(float* out, float* att, const float* q, const float* knew,
                                                     const float* vnew, const jg_decode_rows rows, int n, int ld, int NH,
                                                     int NKV, int hs, const int* dpos, void* const* dcaches) {
    jg_gqa_attention_decode_rows(out, att, q, knew, vnew, rows, n, ld, NH, NKV, hs, dpos, dcaches);
}

extern "C" __global__ void gqa_attention_decode_rows_bf16(__nv_bfloat16* out, float* att, const __nv_bfloat16* q,
                                                          const __nv_bfloat16* knew, const __nv_bfloat16* vnew,
                                                          const jg_decode_rows rows, int n, int ld, int NH, int NKV, int hs,
                                                          const int* dpos, void* const* dcaches) {
    jg_gqa_attention_decode_rows(out, att, q, knew, vnew, rows, n, ld, NH, NKV, hs, dpos, dcaches);
}

// RoPE for a batched decode step: row r of x (n, NH*hs), n <= JG_DECODE_ROWS_MAX, rotated by the tables' row
// pos[r] (each sequence at its own position), in one launch instead of one per row. Blocks (x, r = blockIdx.y):
// row r's NH*hs/2 pairs, grid-strided over blockIdx.x (its position read once, from the struct in parameter space).
// The position comes from the struct, or from device memory dpos[r] where dpos is not null (a step replayed from a CUDA graph).
template <typename X>
__device__ __forceinline__ void jg_rope_rotate_rows(X* x, const float* cos_t, const float* sin_t, const jg_positions& rows,
                                                    int n, int NH, int hs, const int* dpos) {
    const int r = blockIdx.y;
    if (r >= n) return;
    const int half = hs / 2, pairs = NH * half, t = dpos != nullptr ? dpos[r] : rows.pos[r];
    X* xr = x + (long long)r * NH * hs;
    for (int p = blockIdx.x * blockDim.x + threadIdx.x; p < pairs; p += gridDim.x * blockDim.x) {
        const int i = p % half;
        X* v = xr + (long long)(p / half) * hs + 2 * i;
        const float c = cos_t[(long long)t * half + i], s = sin_t[(long long)t * half + i];
        const float v0 = jg_load(v), v1 = jg_load(v + 1);
        jg_store(v, v0 * c - v1 * s);
        jg_store(v + 1, v0 * s + v1 * c);
    }
}

extern "C" __global__ void rope_rotate_rows(float* x, const float* cos_t, const float* sin_t, const jg_positions rows,
                                            int n, int NH, int hs, const int* dpos) {
    jg_rope_rotate_rows(x, cos_t, sin_t, rows, n, NH, hs, dpos);
}

// The same on bf16 q or k (bf16 decode activations): the rotation in fp32, the result rounded once more.
extern "C" __global__ void rope_rotate_rows_bf16(__nv_bfloat16* x, const float* cos_t, const float* sin_t,
                                                 const jg_positions rows, int n, int NH, int hs, const int* dpos) {
    jg_rope_rotate_rows(x, cos_t, sin_t, rows, n, NH, hs, dpos);
}

// Backward, part 1, one warp per query row: datt[u] = dout[t].v[u]; datt becomes
// d(scores) = scale * att * (datt - sum(att * datt)) (zero above the diagonal); dq[t] += d(scores) @ k.
// X: the type of q, k and v; GradT: that of dout, dq, dk and dv (float, or bf16 for the _bf16_grads pair: added to in
// fp32, rounded once). att and datt stay fp32.
template <typename X, typename GradT>
__device__ __forceinline__ void jg_gqa_attention_backward_q(GradT* dq, float* datt, const GradT* dout, const X* k,
                                                            const X* v, const float* att, int B, int T, int NH,
                                                            int NKV, int hs, int accumulate) {
    const int lane = threadIdx.x % JG_WARP;
    const long long row = (long long)blockIdx.x * (blockDim.x / JG_WARP) + threadIdx.x / JG_WARP;
    if (row >= (long long)B * NH * T) return;
    const int t = (int)(row % T), h = (int)((row / T) % NH), b = (int)(row / ((long long)T * NH));
    const int Cq = NH * hs, Ckv = NKV * hs, kvh = h / (NH / NKV);
    const float scale = rsqrtf((float)hs);
    const GradT* d = dout + ((long long)b * T + t) * Cq + (long long)h * hs;
    const X* kb = k + (long long)b * T * Ckv + (long long)kvh * hs;
    const X* vb = v + (long long)b * T * Ckv + (long long)kvh * hs;
    const float* a = att + row * T;
    float* da = datt + row * T;
    float dot = 0.0f;
    for (int u = lane; u <= t; u += JG_WARP) {
        const X* vr = vb + (long long)u * Ckv;
        float s = 0.0f;
        for (int i = 0; i < hs; i++) s += jg_load(d + i) * jg_load(vr + i);
        da[u] = s;
        dot += a[u] * s;
    }
    dot = jg_warp_sum(dot);
    for (int u = lane; u < T; u += JG_WARP) da[u] = u <= t ? scale * a[u] * (da[u] - dot) : 0.0f;
    __syncwarp();
    GradT* dqr = dq + ((long long)b * T + t) * Cq + (long long)h * hs;
    for (int i = lane; i < hs; i += JG_WARP) {
        float acc = 0.0f;
        for (int u = 0; u <= t; u++) acc += da[u] * jg_load(kb + (long long)u * Ckv + i);
        jg_store(dqr + i, (accumulate ? jg_load(dqr + i) : 0.0f) + acc);
    }
}

extern "C" __global__ void gqa_attention_backward_q(float* dq, float* datt, const float* dout, const float* k,
                                                    const float* v, const float* att, int B, int T, int NH, int NKV,
                                                    int hs, int accumulate) {
    jg_gqa_attention_backward_q(dq, datt, dout, k, v, att, B, T, NH, NKV, hs, accumulate);
}

extern "C" __global__ void gqa_attention_backward_q_bf16(float* dq, float* datt, const float* dout,
                                                         const __nv_bfloat16* k, const __nv_bfloat16* v,
                                                         const float* att, int B, int T, int NH, int NKV, int hs, int accumulate) {
    jg_gqa_attention_backward_q(dq, datt, dout, k, v, att, B, T, NH, NKV, hs, accumulate);
}

// Backward, part 2, one warp per key row (b, kv head g, u), after part 1: summed over the group's query
// heads h and the queries t >= u, dk[u] += d(scores)[h,t,u] q_h[t] and dv[u] += att[h,t,u] dout_h[t].
// Each key row is owned by one warp, so no atomics.
template <typename X, typename GradT>
__device__ __forceinline__ void jg_gqa_attention_backward_kv(GradT* dk, GradT* dv, const float* datt, const GradT* dout,
                                                             const X* q, const float* att, int B, int T, int NH,
                                                             int NKV, int hs, int accumulate) {
    const int lane = threadIdx.x % JG_WARP;
    const long long row = (long long)blockIdx.x * (blockDim.x / JG_WARP) + threadIdx.x / JG_WARP;
    if (row >= (long long)B * NKV * T) return;
    const int u = (int)(row % T), g = (int)((row / T) % NKV), b = (int)(row / ((long long)T * NKV));
    const int Cq = NH * hs, Ckv = NKV * hs, group = NH / NKV;
    GradT* dkr = dk + ((long long)b * T + u) * Ckv + (long long)g * hs;
    GradT* dvr = dv + ((long long)b * T + u) * Ckv + (long long)g * hs;
    for (int i = lane; i < hs; i += JG_WARP) {
        float ak = 0.0f, av = 0.0f;
        for (int h = g * group; h < (g + 1) * group; h++) {
            const long long arow = ((long long)b * NH + h) * T;
            for (int t = u; t < T; t++) {
                const long long qi = ((long long)b * T + t) * Cq + (long long)h * hs + i;
                ak += datt[(arow + t) * T + u] * jg_load(q + qi);
                av += att[(arow + t) * T + u] * jg_load(dout + qi);
            }
        }
        jg_store(dkr + i, (accumulate ? jg_load(dkr + i) : 0.0f) + ak);
        jg_store(dvr + i, (accumulate ? jg_load(dvr + i) : 0.0f) + av);
    }
}

extern "C" __global__ void gqa_attention_backward_kv(float* dk, float* dv, const float* datt, const float* dout,
                                                     const float* q, const float* att, int B, int T, int NH, int NKV,
                                                     int hs, int accumulate) {
    jg_gqa_attention_backward_kv(dk, dv, datt, dout, q, att, B, T, NH, NKV, hs, accumulate);
}

extern "C" __global__ void gqa_attention_backward_kv_bf16(float* dk, float* dv, const float* datt, const float* dout,
                                                          const __nv_bfloat16* q, const float* att, int B, int T, int NH,
                                                          int NKV, int hs, int accumulate) {
    jg_gqa_attention_backward_kv(dk, dv, datt, dout, q, att, B, T, NH, NKV, hs, accumulate);
}

// The pair with the gradients in bf16 too (Llama's d(attention output), dq, dk and dv in bf16 mode); att, datt fp32.
extern "C" __global__ void gqa_attention_backward_q_bf16_grads(__nv_bfloat16* dq, float* datt, const __nv_bfloat16* dout,
                                                               const __nv_bfloat16* k, const __nv_bfloat16* v,
                                                               const float* att, int B, int T, int NH, int NKV, int hs, int accumulate) {
    jg_gqa_attention_backward_q(dq, datt, dout, k, v, att, B, T, NH, NKV, hs, accumulate);
}

extern "C" __global__ void gqa_attention_backward_kv_bf16_grads(__nv_bfloat16* dk, __nv_bfloat16* dv, const float* datt,
                                                                const __nv_bfloat16* dout, const __nv_bfloat16* q,
                                                                const float* att, int B, int T, int NH, int NKV, int hs, int accumulate) {
    jg_gqa_attention_backward_kv(dk, dv, datt, dout, q, att, B, T, NH, NKV, hs, accumulate);
}
