// Token + position embedding. Forward: one thread per output element. Backward without atomics, so a run repeats bit
// for bit: dwpe is summed over the batch per (t, c); for dwte, where several positions hold the same token, the
// positions are sorted by token first and each token's rows summed in position order by one thread per channel
// (atomics would add them in whatever order the blocks ran: different low bits from run to run).
#include "common.cuh"

// out (B,T,C) = wte[tokens[b,t]] + wpe[t]. A token outside [0, V) writes NaN, so a bad shard
// shows up in the loss instead of reading outside wte.
extern "C" __global__ void encoder_forward(float* out, const int* tokens, const float* wte, const float* wpe,
                                           int B, int T, int C, int V) {
    const long long idx = jg_global_index();
    const long long total = (long long)B * T * C;
    if (idx >= total) return;
    const int c = (int)(idx % C);
    const long long bt = idx / C;
    const int t = (int)(bt % T);
    const int tok = tokens[bt];
    out[idx] = (tok >= 0 && tok < V) ? wte[(long long)tok * C + c] + wpe[(long long)t * C + c] : CUDART_NAN_F;
}

// A batched decode step's embeddings: row r of out (n, C) = wte[tokens[r]] + wpe[pos[r]], each sequence at its own
// position (one launch instead of one per row). Blocks (x, r = blockIdx.y) over row r's C channels. pos[r] comes
// from the struct, or, where dpos is not null, from device memory dpos[r]: a decode step replayed from a CUDA graph
// (whose parameters are frozen at capture) reads its position from a buffer uploaded before each replay.
extern "C" __global__ void encoder_forward_rows(float* out, const int* tokens, const float* wte, const float* wpe,
                                                const jg_positions rows, int n, int C, int V, const int* dpos) {
    const int r = blockIdx.y;
    if (r >= n) return;
    const int tok = tokens[r], t = dpos != nullptr ? dpos[r] : rows.pos[r];
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < C; c += gridDim.x * blockDim.x) {
        out[(long long)r * C + c] = (tok >= 0 && tok < V) ? wte[(long long)tok * C + c] + wpe[(long long)t * C + c] : CUDART_NAN_F;
    }
}

// ---- dwte: positions sorted by token (a bitonic sort), then one sum per token in position order -------------------
//
// The key of position i is token << 32 | i: unique, so the sorted order is the one order whatever the sort does. An id
// outside [0, V) becomes token 0xFFFFFFFF (after every real token; skipped: its forward wrote NaN). The P keys (P: n
// rounded up to a power of two; keys past n are ~0, last) go through the bitonic network: the stages whose strides lie
// within a chunk of JG_SORT_CHUNK keys run in shared memory (encoder_sort_keys, encoder_sort_merge), the longer strides
// one launch each (encoder_sort_step); CudaBackend.encoderBackward runs the sequence. A block of a chunk kernel has
// chunk/2 threads, one compare-exchange each per stage.

#define JG_SORT_CHUNK 2048

// Compare-exchange of pair t of the stage (k, j): elements i and i + j, where i is t with a zero bit inserted at j;
// ascending where bit k of i's global index is clear (the network's direction for that half).
__device__ __forceinline__ void jg_bitonic_pair(unsigned long long* a, long long t, long long j, long long k, long long base) {
    const long long i = ((t & ~(j - 1)) << 1) | (t & (j - 1));
    const unsigned long long x = a[i], y = a[i + j];
    const bool ascending = ((base + i) & k) == 0;
    if ((x > y) == ascending) {
        a[i] = y;
        a[i + j] = x;
    }
}

// The stages (k, j) for j = j0, j0/2, ..., 1 on the chunk in shared memory s (global index base).
__device__ __forceinline__ void jg_bitonic_chunk(unsigned long long* s, long long k, int j0, long long base) {
    for (int j = j0; j > 0; j >>= 1) {
        jg_bitonic_pair(s, threadIdx.x, j, k, base);
        __syncthreads();
    }
}

// Writes the keys of chunk blockIdx.x (2 * blockDim.x of them) and sorts it: the network's stages k = 2 .. chunk.
extern "C" __global__ void encoder_sort_keys(unsigned long long* keys, const int* tokens, int n, int V) {
    __shared__ unsigned long long s[JG_SORT_CHUNK];
    const int chunk = 2 * blockDim.x;
    const long long base = (long long)blockIdx.x * chunk;
    for (int i = threadIdx.x; i < chunk; i += blockDim.x) {
        const long long g = base + i;
        unsigned long long key = ~0ull;
        if (g < n) {
            const int tok = tokens[g];
            const unsigned long long t = (tok >= 0 && tok < V) ? (unsigned long long)tok : 0xFFFFFFFFull;
            key = (t << 32) | (unsigned long long)g;
        }
        s[i] = key;
    }
    __syncthreads();
    for (int k = 2; k <= chunk; k <<= 1) jg_bitonic_chunk(s, k, k >> 1, base);
    for (int i = threadIdx.x; i < chunk; i += blockDim.x) keys[base + i] = s[i];
}

// Stage (k, j) of the network for a stride j of a chunk or more: one thread per pair, half = P / 2 pairs.
extern "C" __global__ void encoder_sort_step(unsigned long long* keys, long long half, long long j, long long k) {
    const long long t = jg_global_index();
    if (t < half) jg_bitonic_pair(keys, t, j, k, 0);
}

// The rest of stage k (strides chunk/2 .. 1) on chunk blockIdx.x, in shared memory.
extern "C" __global__ void encoder_sort_merge(unsigned long long* keys, long long k) {
    __shared__ unsigned long long s[JG_SORT_CHUNK];
    const int chunk = 2 * blockDim.x;
    const long long base = (long long)blockIdx.x * chunk;
    for (int i = threadIdx.x; i < chunk; i += blockDim.x) s[i] = keys[base + i];
    __syncthreads();
    jg_bitonic_chunk(s, k, chunk >> 1, base);
    for (int i = threadIdx.x; i < chunk; i += blockDim.x) keys[base + i] = s[i];
}

#define JG_WTE_KEYS 32

// dwte[tok, c] += the sum of dout[i, c] over tok's positions i in increasing order, from the n sorted keys. Block
// (x, y) takes the runs of one token that start among keys [32x, 32x + 32) and channels y*blockDim.x + threadIdx.x; a
// run is summed whole by the block where it starts, however long it is. Its end is found by binary search, so the
// loads of its rows do not wait on each other (the most frequent token's run sets how long this kernel takes).
extern "C" __global__ void encoder_backward_wte(float* dwte, const float* dout, const unsigned long long* keys, int n,
                                                int C, int V) {
    const int c = blockIdx.y * blockDim.x + threadIdx.x;
    if (c >= C) return;  // no barriers below
    const int first = blockIdx.x * JG_WTE_KEYS, last = min(n, first + JG_WTE_KEYS);
    for (int i = first; i < last; i++) {
        const unsigned tok = (unsigned)(keys[i] >> 32);
        if (tok >= (unsigned)V) return;                               // the tail: ids outside the vocabulary
        if (i > 0 && (unsigned)(keys[i - 1] >> 32) == tok) continue;  // inside a run another key started
        // the run's end: the first key of a later token (keys[i] is tok's; the end lies in (i, n])
        const unsigned long long next = ((unsigned long long)tok + 1) << 32;
        int lo = i + 1, hi = n;
        while (lo < hi) {
            const int mid = lo + (hi - lo) / 2;
            if (keys[mid] < next) lo = mid + 1;
            else hi = mid;
        }
        float s = 0.0f;
#pragma unroll 8
        for (int j = i; j < lo; j++) s += dout[(long long)(unsigned)keys[j] * C + c];
        dwte[(long long)tok * C + c] += s;
    }
}

// dwpe[t, c] += sum_b dout[b,t,c]: one thread per (t, c), deterministic.
extern "C" __global__ void encoder_backward_wpe(float* dwpe, const float* dout, int B, int T, int C) {
    const long long idx = jg_global_index();
    if (idx >= (long long)T * C) return;
    float s = 0.0f;
    for (int b = 0; b < B; b++) s += dout[(long long)b * T * C + idx];
    dwpe[idx] += s;
}

// Counts ids outside the vocabulary into bad[0] (which the caller zeroed): tokens must lie in [0, V),
// targets in (-inf, V) because a negative target means "ignore this row". Lets the host refuse a bad
// shard with one 4-byte read instead of copying the ids back.
extern "C" __global__ void count_bad_ids(int* bad, const int* ids, long long n, int V, int allow_negative) {
    int mine = 0;
    for (long long i = jg_global_index(); i < n; i += jg_global_stride()) {
        const int id = ids[i];
        mine += (id >= V || (id < 0 && !allow_negative)) ? 1 : 0;
    }
    if (mine) atomicAdd(bad, mine);
}
