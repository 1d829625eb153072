/* gst-ssan engine kernels: back-to-back FMAs on 16-float vectors (the
 * machine's AVX-512 limit, for ssan-bench) */
#include "avx512.h"

double
SSAN_K (fma_peak) (int64_t n, float *sink)
{
  /* 12 independent chains: enough to cover the FMA latency on 2 pipes */
  v16f acc[12], x = (v16f){ 0 } + 0.999999f, y = (v16f){ 0 } + 1e-7f;
  int64_t i;
  int k;

  for (k = 0; k < 12; k++)
    acc[k] = (v16f){ 0 } + (float)k;
  for (i = 0; i < n; i++) {
#pragma GCC unroll 12
    for (k = 0; k < 12; k++)
      acc[k] = acc[k] * x + y;
  }
  for (k = 1; k < 12; k++)
    acc[0] += acc[k];
  memcpy (sink, &acc[0], sizeof acc[0]);
  return (double)n * 12 * 16 * 2;
}
