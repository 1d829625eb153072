/* gst-ssan engine: the AVX2+FMA kernels (internal), also used by the
 * avx512 table where it has no kernel of its own. */
#ifndef SSAN_KERNELS_AVX2_H
#define SSAN_KERNELS_AVX2_H

#include "../ssan-kernels.h"
#include "../simd.h"

void gemm__avx2 (int M, int N, int K, const float *a, size_t lda,
    const float *b, size_t ldb, float *c, size_t ldc, const float *bias,
    int relu, int accumulate, float *panel);

void wino_input_4_fma__avx2 (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nt, float *v);
void wino_output_4_fma__avx2 (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nt, const float *mm);
void wino2_input_2_fma__avx2 (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, float *v);
void wino2_input_4_fma__avx2 (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, float *v);
void wino2_output_2_fma__avx2 (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, const float *mm);
void wino2_output_4_fma__avx2 (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, const float *mm);

void attn_scores__avx2 (const float *qp, int mp, const float *kp, int c, int nk,
    int ls, float alpha, float *s, float *m, float *l, float *corr);
void attn_accumulate__avx2 (
    const float *vp, int c, int nk, const float *p, int ls, int mp, float *o);

double fma_peak__avx2 (int64_t n, float *sink);

#endif /* SSAN_KERNELS_AVX2_H */
