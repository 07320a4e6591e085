/* Products with a frozen matrix kept as a GGUF file's blocks: LoRA fine-tuning of a quantized model (QLoRA's idea on
 * the CPU) holds the weights at their file's 2.6 to 8.5 bits and trains only the adapters. The matrix W (rows, cols)
 * is decoded to float32 a tile of rows at a time with ggml's own definition (jgpt_ggml_dequantize_row, decode_ggml.c)
 * and multiplied by OpenBLAS, so a training step reads the file's bytes twice (forward, input gradient) and never
 * holds more than one tile of float32 weights:
 *
 *   mode 0, forward:         Y (T, rows) = X (T, cols) W^T + beta Y     (each tile: its columns of Y)
 *   mode 1, input gradient:  Y (T, cols) = X (T, rows) W + beta Y       (each tile: its share of the sum over rows)
 *
 * The weight gradient of a frozen matrix is never wanted, so there is no mode for it. */
#include "jgpt.h"
#include "decode_internal.h"
#include "blas_internal.h"
#include <omp.h>

void jgpt_ggml_gemm(float *Y, const float *X, int T, const void *w, int type, int rows, int cols, int mode, float beta,
                    float *tile, long tile_floats, int threads) {
    jgpt_sgemm_fn sgemm = (jgpt_sgemm_fn)jgpt_internal_sgemm();
    long row_bytes = jgpt_ggml_row_bytes(type, cols);
    if (row_bytes < 0 || tile_floats < cols) abort(); /* Java checks types, shapes and the tile first */
    int tile_rows = (int)(tile_floats / cols);
    for (int r0 = 0; r0 < rows; r0 += tile_rows) {
        int n = rows - r0 < tile_rows ? rows - r0 : tile_rows;
        #pragma omp parallel for num_threads(threads) schedule(static)
        for (int r = 0; r < n; r++)
            jgpt_ggml_dequantize_row(type, (const uint8_t *)w + (long)(r0 + r) * row_bytes, tile + (long)r * cols, cols);
        if (mode == 0)
            sgemm(JGPT_ROW_MAJOR, JGPT_NO_TRANS, JGPT_TRANS, T, n, cols, 1.0f, X, cols, tile, cols, beta, Y + r0, rows);
        else
            sgemm(JGPT_ROW_MAJOR, JGPT_NO_TRANS, JGPT_NO_TRANS, T, cols, n, 1.0f, X + r0, rows, tile, cols,
                  r0 == 0 ? beta : 1.0f, Y, cols);
    }
}
