/* gst-ssan engine: the AVX-512 kernels (internal).  Built twice from the
 * same source: SSAN_ISA avx512 with AVX-512 flags, avx512_emu with AVX2+FMA
 * flags (GCC vectors of 16 floats in two halves) so that machines without
 * AVX-512 run and test the same logic. */
#ifndef SSAN_KERNELS_AVX512_H
#define SSAN_KERNELS_AVX512_H

#include "../ssan-kernels.h"
#include "../simd.h"

typedef float v16f __attribute__ ((vector_size (64)));
typedef int32_t v16i __attribute__ ((vector_size (64)));

/* x in every lane (as V8F; x a plain value).  Not (v16f){ 0 } + x: that
 * must keep -0.0 + 0 = +0, so GCC emits a scalar add before the broadcast,
 * two extra uops on the FMA ports per value instead of a broadcast load. */
#define V16F(x)                                                                \
  ((v16f){ (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x),    \
      (x), (x), (x) })

void SSAN_K (gemm) (int M, int N, int K, const float *a, size_t lda,
    const float *b, size_t ldb, float *c, size_t ldc, const float *bias,
    int relu, int accumulate, float *panel);
double SSAN_K (fma_peak) (int64_t n, float *sink);
void SSAN_K (attn_scores) (const float *qp, int mp, const float *kp, int c,
    int nk, int ls, float alpha, float *s, float *m, float *l, float *corr);
void SSAN_K (attn_accumulate) (
    const float *vp, int c, int nk, const float *p, int ls, int mp, float *o);

#endif /* SSAN_KERNELS_AVX512_H */
