/* gst-ssan engine: the kernels of portable/generic.c, declared for the
 * library named by SSAN_ISA (internal). */
#include "ssan-kernels.h"
#include "simd.h"

#include <stddef.h>

void SSAN_K (im2col) (const float *src, size_t cs, size_t fs, int c0, int c1,
    int H, int W, int k, int stride, int pad, int Ho, int Wo, size_t j0,
    size_t n, float *col);
void SSAN_K (bias_act) (
    float *x, int c0, int c1, size_t cols, size_t ld, const float *b, int relu);
void SSAN_K (maxpool) (
    const float *src, float *dst, int H, int W, size_t p0, size_t p1);
void SSAN_K (online_softmax) (float *s, int ls, int nk, int mq, float *m,
    float *l, float *mnew, float *corr);
void SSAN_K (scale_columns) (float *o, int c, int mp, const float *corr);
void SSAN_K (wino_input_2) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, float *v);
void SSAN_K (wino_output_2) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, const float *mm);
void SSAN_K (wino_input_4) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, float *v);
void SSAN_K (wino_output_4) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, const float *mm);
void SSAN_K (wino2_input_2) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, float *v);
void SSAN_K (wino2_output_2) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, const float *mm);
void SSAN_K (wino2_input_4) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, float *v);
void SSAN_K (wino2_output_4) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, const float *mm);
