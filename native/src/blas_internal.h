/* Internal (hidden) access to the OpenBLAS entry points that Java handed to jgpt_set_blas
 * (attention.c keeps them), for kernels in other files that call cblas_sgemm per head. */
#ifndef JGPT_BLAS_INTERNAL_H
#define JGPT_BLAS_INTERNAL_H

/* cblas_sgemm's signature (enums are ints in the C ABI) */
typedef void (*jgpt_sgemm_fn)(int order, int transa, int transb, int M, int N, int K, float alpha,
                              const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);
enum { JGPT_ROW_MAJOR = 101, JGPT_NO_TRANS = 111, JGPT_TRANS = 112 };

void *jgpt_internal_sgemm(void);
/* OpenBLAS single-threaded for the duration of an OpenMP loop over heads; returns what to restore. */
int jgpt_internal_blas_single_begin(void);
void jgpt_internal_blas_single_end(int saved);

#endif
