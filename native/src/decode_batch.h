/* Internal to the batched decoders (decode_llama_batch.c, decode_gpt2_batch.c): the product of one
 * weight matrix with the B vectors of a step, in decode_batch_matmul.c.
 *
 * One token of a small model is bound by the bytes of weights it reads. The rows of the matrix are
 * cut into blocks small enough to stay in the core's cache (32 KiB; JGPT_BATCH_BLOCK_KB overrides)
 * and each block is applied to all B vectors before the next block is read, so the weights come from
 * memory once per step, not once per sequence. f32 (AVX-512) and q8 (VNNI) apply each weight load to
 * two vectors at once; q8 quantises each x once per product. Each (row, vector) sum runs through the
 * same instructions in the same order as jgpt_decode_matvec_rows (decode_matvec.c), so a batched row
 * equals the one-sequence decode's bit for bit. */
#ifndef JGPT_DECODE_BATCH_H
#define JGPT_DECODE_BATCH_H

#include "decode_internal.h"

typedef void (*sgemm_fn)(int order, int transa, int transb, int M, int N, int K, float alpha,
                         const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* Y[b, r] = W[r, :] . X[b, :] for b < B, r < rows (W is (rows, n)); X rows ldx apart, Y rows ldy
 * apart. nt OpenMP threads split the row blocks. qx: room for B vectors of n quantised to q8 (q8 only:
 * B * n * 1.25 bytes, 64-byte aligned). sgemm: cblas_sgemm, used for float32 from JGPT_BATCH_SGEMM=N
 * rows on (for measuring; NULL: never). */
void jgpt_batch_matmul(const jgpt_qmat *w, float *Y, long ldy, const float *X, long ldx, int B, int rows, int n,
                       int nt, sgemm_fn sgemm, void *qx);

#endif
