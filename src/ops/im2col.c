/* gst-ssan engine: how im2col convolutions are chunked (the gathers are
 * kernels: ssan_kernels.im2col). */
#include "../ssan-ops.h"

/* Each thread's im2col buffer stays near this many floats (2 MiB): the
 * GEMM reads it back while it is still in cache (measured: the 7x7 stem
 * 10-25 % faster than with 8 MiB, the strided 3x3 ones unchanged). */
#define SSAN_COL_BUDGET ((size_t)512 << 10)
#define SSAN_COL_MIN_COLS 192

size_t
ssan_conv_chunk_cols (const ssan_conv *cv, size_t cols)
{
  size_t K = (size_t)cv->cin * cv->k * cv->k;
  size_t chunk = SSAN_COL_BUDGET / K;

  if (cv->k == 1 && cv->stride == 1 && cv->pad == 0)
    return 0;
  if (chunk < SSAN_COL_MIN_COLS)
    chunk = SSAN_COL_MIN_COLS;
  return chunk < cols ? chunk : cols;
}
