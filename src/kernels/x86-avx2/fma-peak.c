/* gst-ssan engine kernels: back-to-back FMAs on 8-float vectors (the
 * machine's AVX2 limit, for ssan-bench) */
#define SSAN_ISA avx2
#include "avx2.h"

#include <immintrin.h>

double
SSAN_K (fma_peak) (int64_t n, float *sink)
{
  /* 10 independent chains: enough to cover the FMA latency on 2 pipes */
  __m256 acc[10], x = _mm256_set1_ps (0.999999f), y = _mm256_set1_ps (1e-7f);
  int64_t i;
  int k;

  for (k = 0; k < 10; k++)
    acc[k] = _mm256_set1_ps ((float)k);
  for (i = 0; i < n; i++) {
#pragma GCC unroll 10
    for (k = 0; k < 10; k++)
      acc[k] = _mm256_fmadd_ps (acc[k], x, y);
  }
  for (k = 1; k < 10; k++)
    acc[0] = _mm256_add_ps (acc[0], acc[k]);
  _mm256_storeu_ps (sink, acc[0]);
  return (double)n * 10 * 8 * 2;
}
