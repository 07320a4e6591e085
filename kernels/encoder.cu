// Token + position embedding. Forward: one thread per output element. Backward: dwpe is summed
// over the batch per (t, c) without atomics; dwte needs atomics because several positions can
// hold the same token (the order of fp32 additions then varies from run to run).
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

// dwte[tokens[b,t], c] += dout[b,t,c]: one thread per element of dout.
extern "C" __global__ void encoder_backward_wte(float* dwte, const float* dout, const int* tokens,
                                                int B, int T, int C, int V) {
    const long long idx = jg_global_index();
    if (idx >= (long long)B * T * C) return;
    const int c = (int)(idx % C);
    const int tok = tokens[idx / C];
    if (tok >= 0 && tok < V) atomicAdd(&dwte[(long long)tok * C + c], dout[idx]);
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
