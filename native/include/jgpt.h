/*
 * jgpt.h — the C ABI of libjgpt, the only native functions of ours that Java calls (through FFM,
 * bindings in bindings/src/main/java/dev/jgpt/bindings/Jgpt.java). All pointers are host memory,
 * float tensors are row-major float32, sizes are int (elements) unless named *_bytes or typed long.
 *
 * Matrix products are not here: Java calls cblas_sgemm (OpenBLAS) for them and these kernels do
 * everything around the products (normalisation, softmax, pointwise ops, optimizer). Conventions
 * follow dev.jgpt.backend.Backend: forward functions overwrite their outputs, backward functions
 * accumulate (+=) into gradients.
 */
#ifndef JGPT_H
#define JGPT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(JGPT_BUILDING)
#define JGPT_API __attribute__((visibility("default")))
#else
#define JGPT_API
#endif

/* ABI version: bumped when any signature below changes; Java refuses a library of another version. */
#define JGPT_ABI_VERSION 16
JGPT_API int jgpt_abi_version(void);

/* ---- threads (OpenMP) ---------------------------------------------------------------------- */
JGPT_API void jgpt_set_num_threads(int n);
JGPT_API int jgpt_get_max_threads(void);

/* ---- the machine ---------------------------------------------------------------------------- */
/* FP32 GFLOP/s of the calling thread's core running nothing but independent fused multiply-adds on its widest vectors
 * (AVX-512, else AVX2+FMA, else scalar) for about `millis` ms: the peak MFU is measured against, at the clock the core
 * really runs (a VM's /proc/cpuinfo shows the nominal one, not the boost). */
JGPT_API double jgpt_peak_fma_gflops(int millis);

/* ---- encoder: out[b,t,:] = wte[tokens[b,t],:] + wpe[t,:] --------------------------------------- */
JGPT_API void jgpt_encoder_forward(float *out, const int32_t *tokens, const float *wte, const float *wpe,
                                   int B, int T, int C);
JGPT_API void jgpt_encoder_backward(float *dwte, float *dwpe, const float *dout, const int32_t *tokens,
                                    int B, int T, int C);

/* ---- layernorm (eps 1e-5) ------------------------------------------------------------------ */
JGPT_API void jgpt_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                                     const float *weight, const float *bias, int N, int C);
/* scratch: at least 2*C*max_threads floats (per-thread dweight/dbias partial sums). */
JGPT_API void jgpt_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                                      const float *inp, const float *weight, const float *mean,
                                      const float *rstd, float *scratch, int N, int C);

/* ---- matmul helpers (the product itself is cblas_sgemm) ------------------------------------ */
/* out[n,:] = bias[:] for every row (then sgemm accumulates with beta = 1). */
JGPT_API void jgpt_broadcast_rows(float *out, const float *bias, int N, int OC);
/* dbias[o] += sum_n dout[n,o] */
JGPT_API void jgpt_sum_rows(float *dbias, const float *dout, int N, int OC);

/* ---- BLAS: libjgpt does not link OpenBLAS; Java hands it the addresses of cblas_sgemm,
 * openblas_set_num_threads and openblas_get_num_threads of the OpenBLAS it loaded. */
JGPT_API void jgpt_set_blas(void *cblas_sgemm, void *openblas_set_num_threads, void *openblas_get_num_threads);

/* ---- causal multi-head attention ------------------------------------------------------------
 * qkv (B,T,3C): q, k, v of head h at channels h*hs of each third; att (B,NH,T,T); out (B,T,C).
 * Per (batch, head), in blocks of 64 query rows: scores = Q K^T with cblas_sgemm over the keys up to
 * the block's end only (the causal upper triangle is never multiplied), then scale + mask + softmax
 * in C, then att @ V with cblas_sgemm. (batch, head) pairs run in parallel on OpenMP threads, each
 * calling a single-threaded sgemm (OpenBLAS is set to 1 thread for the call and restored after).
 * att is written in full: softmax probabilities, zero above the diagonal. */
JGPT_API void jgpt_attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH);
/* dqkv += d(out)/d(qkv); datt (B,NH,T,T) is scratch, overwritten with d(scores) (zero above the diagonal). */
JGPT_API void jgpt_attention_backward(float *dqkv, float *datt, const float *dout, const float *qkv,
                                      const float *att, int B, int T, int C, int NH);

/* ---- pointwise ----------------------------------------------------------------------------- */
JGPT_API void jgpt_gelu_forward(float *out, const float *inp, long n);
JGPT_API void jgpt_gelu_backward(float *dinp, const float *inp, const float *dout, long n);
JGPT_API void jgpt_residual_forward(float *out, const float *a, const float *b, long n);
JGPT_API void jgpt_residual_backward(float *da, float *db, const float *dout, long n);
/* y[i] += x[i] */
JGPT_API void jgpt_accumulate(float *y, const float *x, long n);

/* ---- classifier: softmax + cross-entropy + dlogits over R rows of V logits ------------------- */
/* logits (R,V) are overwritten: with dlogits = (softmax - onehot) * dloss_scale when backward != 0
 * (zero rows for ignored targets < 0). losses[r] = -log softmax[target]; 0 for ignored rows.
 * Returns the sum of losses of the non-ignored rows. */
JGPT_API double jgpt_softmax_crossentropy(float *logits, float *losses, const int32_t *targets,
                                          int R, int V, float dloss_scale, int backward);
/* The fused classifier of dev.jgpt.backend.Backend#classifier, chunked over rows: for each chunk of
 * at most `rows` rows, logits = x @ wte^T into scratch (cblas_sgemm), jgpt_softmax_crossentropy in
 * place, then (backward) dx += dlogits @ wte and dwte += dlogits^T @ x (cblas_sgemm, beta 1).
 * scratch holds rows*V floats; dx and dwte may be NULL when backward is 0, and dwte alone when backward is set (a
 * frozen wte: only dx is accumulated). Targets < 0 are ignored
 * rows; targets >= V must have been rejected by the caller. Returns the sum of losses. */
JGPT_API double jgpt_classifier(float *losses, float *dx, float *dwte, const float *x, const float *wte,
                                const int32_t *targets, float *scratch, int rows, int N, int C, int V,
                                float dloss_scale, int backward);

/* ---- optimizer ----------------------------------------------------------------------------- */
JGPT_API double jgpt_sum_squares(const float *x, long n);
JGPT_API void jgpt_adamw(float *params, const float *grads, float *m, float *v, long n, float lr,
                         float beta1, float beta2, float eps, float weight_decay, int step,
                         float grad_scale);

/* ==== Llama decoding (native/src/decode_*.c) =================================================
 * Kept together at the end of the header. Weight dtypes for decoding: */
#define JGPT_DECODE_F32 0
#define JGPT_DECODE_BF16 1   /* uint16_t, the top half of a float32 (round to nearest even) */
#define JGPT_DECODE_Q8 2     /* int8_t values + one float scale per group of group_size weights */
#define JGPT_DECODE_GGML 3   /* ggml's blocks as a GGUF file stores them; group_size is the ggml type (Q4_K 12, Q5_K 13,
                              * Q6_K 14, Q4_0 2, Q8_0 8, F16 1, F32 0, BF16 30). In a Llama plan each matrix's address slot holds the address
                              * of an int64 table of per-layer addresses and its scales slot one of per-layer ggml types
                              * (the classifier: one entry each), so layers may differ in type (llama.cpp's Q4_K_M) (ABI 12) */

/* Load-time conversions (OpenMP-parallel). q8: scale = max|w| / 127 per group, q = round(w / scale);
 * n must be a multiple of group_size. */
JGPT_API void jgpt_convert_bf16(uint16_t *out, const float *in, long n);
JGPT_API void jgpt_convert_q8(int8_t *out, float *scales, const float *in, long n, int group_size);

/* Products with a frozen matrix W (rows, cols) of ggml type `type` as a GGUF file stores it (ggml_gemm.c), decoded to
 * float32 in tiles of at most tile_floats (>= cols) and multiplied with cblas_sgemm (ABI 16):
 * mode 0: Y (T, rows) = X (T, cols) W^T + beta Y; mode 1: Y (T, cols) = X (T, rows) W + beta Y. */
JGPT_API void jgpt_ggml_gemm(float *Y, const float *X, int T, const void *w, int type, int rows, int cols, int mode,
                             float beta, float *tile, long tile_floats, int threads);

/* out[r] = sum_c W[r,c] x[c] for a (rows, cols) matrix W of the given dtype (scales: q8 only,
 * (rows, cols / group_size)); rows split over the OpenMP threads. */
JGPT_API void jgpt_matvec(float *out, const void *w, const float *scales, const float *x, int rows, int cols,
                          int dtype, int group_size);

/* The plan: JGPT_LLAMA_PLAN_SLOTS int64 values describing a loaded model, filled once by Java.
 * Sizes are plain integers; rope theta and the RMSNorm epsilon are the bits of a double; every
 * pointer is an address. Weights are stacked over layers in llama2.c's order and shapes:
 * wq (L, dim, dim), wk and wv (L, kv_dim, dim), wo (L, dim, dim), w1 and w3 (L, hidden, dim),
 * w2 (L, dim, hidden), wcls (vocab, dim). Matrix k (0 wq, 1 wk, 2 wv, 3 wo, 4 w1, 5 w2, 6 w3,
 * 7 wcls) has three slots at JGPT_LLAMA_WEIGHTS + 3k: its float32 address (used by prefill; 0 where the
 * model keeps no float32 copy — an imported model converted to bf16 / q8 — and prefill then multiplies tiles
 * decoded from the decode dtype, ABI 11), its address in the decode dtype, and its q8 scales (0 otherwise). The KV caches are
 * (L, seq, kv_dim) of float32 or, with KV_TYPE 1, IEEE half floats (ABI 14). sgemm is the address of cblas_sgemm (prefill only). */
#define JGPT_LLAMA_DIM 0
#define JGPT_LLAMA_HIDDEN 1
#define JGPT_LLAMA_LAYERS 2
#define JGPT_LLAMA_HEADS 3
#define JGPT_LLAMA_KV_HEADS 4
#define JGPT_LLAMA_VOCAB 5
#define JGPT_LLAMA_SEQ 6
#define JGPT_LLAMA_DTYPE 7
#define JGPT_LLAMA_GROUP 8
#define JGPT_LLAMA_THREADS 9
#define JGPT_LLAMA_ROPE_THETA 10
#define JGPT_LLAMA_EPS 11
#define JGPT_LLAMA_EMB_TYPE 12  /* the ggml type of EMB's rows (Q4_K ...: a GGUF file's own embedding, looked up in place);
                                  * 0: float32 (ABI 12) */
#define JGPT_LLAMA_KV_TYPE 13   /* the KV caches' element: 0 float32, 1 IEEE half (uint16_t, rounded to nearest even) */
#define JGPT_LLAMA_EMB 16
#define JGPT_LLAMA_RMS_ATT 17
#define JGPT_LLAMA_RMS_FFN 18
#define JGPT_LLAMA_RMS_FINAL 19
#define JGPT_LLAMA_WEIGHTS 20
#define JGPT_LLAMA_KCACHE 44
#define JGPT_LLAMA_VCACHE 45
#define JGPT_LLAMA_SGEMM 46
#define JGPT_LLAMA_POOL 47      /* a jgpt_pool_create pool of <= THREADS threads, or 0: an OpenMP region per token */
#define JGPT_LLAMA_PLAN_SLOTS 48

/* A persistent team of decode threads (native/src/decode_pool.c), owned by one inference object:
 * threads - 1 workers are started here (the calling thread is the team's first member) and wait for
 * the next token by spinning up to JGPT_DECODE_IDLE_SPIN_US (default 300 µs; not at all for a while
 * after a spin was in vain or descheduled: a busy machine), then sleeping on a futex. Returns NULL when the threads could not be started. destroy stops and joins them and frees
 * the pool (NULL: nothing). One decode call at a time per pool. */
JGPT_API void *jgpt_pool_create(int threads);
JGPT_API void jgpt_pool_destroy(void *pool);
JGPT_API int jgpt_pool_threads(const void *pool);

/* Scratch sizes (floats) for the two calls below; the prefill's depends on the plan's float32 addresses (a tile
 * buffer where one is 0), so it is asked for once the plan is complete. */
JGPT_API long jgpt_llama_decode_scratch_floats(const int64_t *plan);
JGPT_API long jgpt_llama_prefill_scratch_floats(const int64_t *plan, int chunk);

/* One token at position pos: writes its k and v into the caches and the next-token logits (vocab
 * floats). Runs on plan[POOL]'s threads (or one OpenMP region of plan[THREADS] threads when it is 0), with
 * barriers (spin, then futex) between phases. */
JGPT_API void jgpt_llama_decode(float *logits, const int64_t *plan, float *scratch, int token, int pos);

/* T prompt tokens at positions pos..pos+T-1 (T <= the chunk the scratch was sized for) with float32
 * cblas_sgemm products; fills the caches and writes the logits after the last token. */
JGPT_API void jgpt_llama_prefill(float *logits, const int64_t *plan, float *scratch, const int32_t *tokens, int T,
                                 int pos);

/* ==== GPT-2 decoding (native/src/decode_gpt2.c) ==============================================
 * The same scheme for GPT-2 (LayerNorm, GELU, biases, learned positions, classifier tied to wte):
 * a plan of JGPT_GPT2_PLAN_SLOTS int64 values filled once by Java. Pointers are addresses of float32
 * tensors in the layout of dev.jgpt.model.ParameterLayout (stacked over layers): wte (V, C), wpe
 * (maxT, C), ln1w/ln1b/ln2w/ln2b (L, C), lnfw/lnfb (C), biases qkvb (L, 3C), attprojb (L, C),
 * fcb (L, 4C), fcprojb (L, C). Matrix k (0 qkvw (L, 3C, C), 1 attprojw (L, C, C), 2 fcw (L, 4C, C),
 * 3 fcprojw (L, C, 4C), 4 the classifier = wte (V, C)) has three slots at JGPT_GPT2_WEIGHTS + 3k:
 * float32 address (prefill), address in the decode dtype, q8 scales (0 otherwise). KV caches are
 * float32 (L, maxT, C); sgemm is cblas_sgemm's address; pool a jgpt_pool_create pool (or 0). */
#define JGPT_GPT2_C 0
#define JGPT_GPT2_LAYERS 1
#define JGPT_GPT2_HEADS 2
#define JGPT_GPT2_VOCAB 3
#define JGPT_GPT2_SEQ 4
#define JGPT_GPT2_DTYPE 5
#define JGPT_GPT2_GROUP 6
#define JGPT_GPT2_THREADS 7
#define JGPT_GPT2_WTE 8
#define JGPT_GPT2_WPE 9
#define JGPT_GPT2_LN1W 10
#define JGPT_GPT2_LN1B 11
#define JGPT_GPT2_LN2W 12
#define JGPT_GPT2_LN2B 13
#define JGPT_GPT2_LNFW 14
#define JGPT_GPT2_LNFB 15
#define JGPT_GPT2_QKVB 16
#define JGPT_GPT2_ATTPROJB 17
#define JGPT_GPT2_FCB 18
#define JGPT_GPT2_FCPROJB 19
#define JGPT_GPT2_WEIGHTS 20
#define JGPT_GPT2_KCACHE 35
#define JGPT_GPT2_VCACHE 36
#define JGPT_GPT2_SGEMM 37
#define JGPT_GPT2_POOL 38
#define JGPT_GPT2_KV_TYPE 39  /* the KV caches' element: 0 float32, 1 IEEE half (ABI 15), as JGPT_LLAMA_KV_TYPE */
#define JGPT_GPT2_PLAN_SLOTS 40

JGPT_API long jgpt_gpt2_decode_scratch_floats(const int64_t *plan);
JGPT_API long jgpt_gpt2_prefill_scratch_floats(const int64_t *plan, int chunk);
/* One token at position pos: its k and v into the caches, the next-token logits (V floats). */
JGPT_API void jgpt_gpt2_decode(float *logits, const int64_t *plan, float *scratch, int token, int pos);
/* T prompt tokens at positions pos..pos+T-1 (T <= chunk) with float32 sgemm; the logits after the last
 * one with the decode dtype's classifier (decode_scratch: the decode call's scratch). */
JGPT_API void jgpt_gpt2_prefill(float *logits, const int64_t *plan, float *scratch, float *decode_scratch,
                                const int32_t *tokens, int T, int pos);

/* ==== Llama training layers (native/src/llama_ops.c) ==========================================
 * dev.jgpt.backend.Backend's rmsnorm*, rope*, swiglu* and gqaAttention*. Forward overwrites,
 * backward accumulates (RoPE's backward rotates the gradient in place). */

/* out = weight * inp * rstd per row of inp (N,C), rstd[n] = 1 / sqrt(mean(inp[n]^2) + eps). */
JGPT_API void jgpt_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *weight, int N, int C,
                                   float eps);
/* dinp += ..., dweight += ...; scratch: at least C*max_threads floats (per-thread dweight sums). */
JGPT_API void jgpt_rmsnorm_backward(float *dinp, float *dweight, const float *dout, const float *inp,
                                    const float *weight, const float *rstd, float *scratch, int N, int C);
/* x (B,T,NH*hs) in place: pairs (2i, 2i+1) of each head rotated by the angle with cos_t[t,i], sin_t[t,i]
 * (tables (T, hs/2)); backward rotates by minus the angle. */
JGPT_API void jgpt_rope_forward(float *x, const float *cos_t, const float *sin_t, int B, int T, int NH, int hs);
JGPT_API void jgpt_rope_backward(float *dx, const float *cos_t, const float *sin_t, int B, int T, int NH, int hs);
/* out = silu(gate) * up; backward: dgate += dout * up * silu'(gate), dup += dout * silu(gate). */
JGPT_API void jgpt_swiglu_forward(float *out, const float *gate, const float *up, long n);
JGPT_API void jgpt_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate, const float *up,
                                   long n);
/* Causal grouped-query attention: q, out (B,T,NH*hs); k, v (B,T,NKV*hs); att (B,NH,T,T); query head h
 * reads kv head h / (NH/NKV). Blocks of 64 query rows with cblas_sgemm (as jgpt_attention_forward). */
JGPT_API void jgpt_gqa_attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                                         int B, int T, int NH, int NKV, int hs);
/* A block of `rows` query rows at positions pos..pos+rows-1 over a KV cache of rows (maxT, NKV*hs) that holds
 * positions 0..pos+rows-1: q, out (rows, NH*hs); row i attends over positions 0..pos+i; att (NH, rows, pos+rows)
 * receives the probabilities (zero past each row's position); query head h reads kv head h / (NH/NKV). */
JGPT_API void jgpt_gqa_attention_decode(float *out, float *att, const float *q, const float *kcache,
                                        const float *vcache, int pos, int rows, int NH, int NKV, int hs);
/* dq, dk, dv += ...; datt (B,NH,T,T) is scratch, overwritten with d(scores) (zero above the diagonal). */
JGPT_API void jgpt_gqa_attention_backward(float *dq, float *dk, float *dv, float *datt, const float *dout,
                                          const float *q, const float *k, const float *v, const float *att,
                                          int B, int T, int NH, int NKV, int hs);

/* ==== Llama decoding for a batch (native/src/decode_llama_batch.c) =============================
 * B sequences of one model advance by one token each: tokens[b] at position pos[b], with the k and v
 * caches of sequence b at caches[2b] and caches[2b+1] (float32 (L, seq, kv_dim) each, like the
 * plan's own; the plan's KCACHE/VCACHE are not used). Weights, dtype and threads come from the plan.
 * Each weight row block is read once and applied to all B vectors; each row's arithmetic is
 * jgpt_llama_decode's. logits: (B, vocab). Scratch: jgpt_llama_batch_scratch_floats(plan, B) floats. */
JGPT_API long jgpt_llama_batch_scratch_floats(const int64_t *plan, int max_batch);
JGPT_API void jgpt_llama_decode_batch(float *logits, const int64_t *plan, float *scratch, const int32_t *tokens,
                                      const int32_t *pos, const int64_t *caches, int B);

/* ==== GPT-2 decoding for a batch (native/src/decode_gpt2_batch.c) =============================
 * The Llama batch's scheme for GPT-2: B sequences of one model advance by one token each, tokens[b]
 * at position pos[b], with the k and v caches of sequence b at caches[2b] and caches[2b+1] (float32
 * (L, maxT, C) each; the plan's KCACHE/VCACHE are not used). Weights, dtype and threads come from the
 * plan. Each row's arithmetic is jgpt_gpt2_decode's. logits: (B, V). Scratch:
 * jgpt_gpt2_batch_scratch_floats(plan, B) floats, 64-byte aligned. */
JGPT_API long jgpt_gpt2_batch_scratch_floats(const int64_t *plan, int max_batch);
JGPT_API void jgpt_gpt2_decode_batch(float *logits, const int64_t *plan, float *scratch, const int32_t *tokens,
                                     const int32_t *pos, const int64_t *caches, int B);

#ifdef __cplusplus
}
#endif
#endif /* JGPT_H */
