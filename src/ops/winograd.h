/* gst-ssan engine: the Winograd convolutions' drivers, shared by stride 1
 * (winograd.c) and stride 2 (winograd-s2.c) (internal). */
#ifndef SSAN_OPS_WINOGRAD_H
#define SSAN_OPS_WINOGRAD_H

#include "../ssan-ops.h"

/* Each thread's chunk of tiles stays near this many floats of transformed
 * input and output (2 MiB): wide enough GEMMs, and in L3. */
#ifndef SSAN_WINO_BUDGET
#define SSAN_WINO_BUDGET ((size_t)512 << 10)
#endif
#ifndef SSAN_WINO_MIN_TILES
#define SSAN_WINO_MIN_TILES 32
#endif
#define SSAN_WINO_MAX_TILES 1024
/* stride 2: most of the products are GEMMs of one chunk's width */
#ifndef SSAN_WINO2_MIN_TILES
#define SSAN_WINO2_MIN_TILES 64
#endif

/* Slices (im2col convolutions) or chunks (Winograd) per thread, taken in
 * turn: a thread that the machine holds back leaves its share to the
 * others. */
#ifndef SSAN_SLICES_PER_THREAD
#define SSAN_SLICES_PER_THREAD 4
#endif

typedef struct {
  ssan_wino_job k; /* what the transforms see */
  const ssan_conv *cv;
  const ssan_work *work;
  int gemm; /* the products in the table's GEMM (else OpenBLAS) */
} wino_job;

/* u[a][a][cout][cin] = G w G^T of w [cout][cin][3][3] for the a x 3
 * matrix G, in double */
void ssan_wino_transform_g (
    const float *w, int cin, int cout, int a, const double (*g)[3], float *u);
/* Whether cv runs as Winograd (stride 1 or 2) */
int ssan_wino_applies (const ssan_conv *cv);
/* Floats of per-thread scratch of a Winograd convolution on nf frames of
 * Ho x Wo outputs (without the GEMM's panel) */
size_t ssan_wino_scratch (const ssan_conv *cv, int nf, int Ho, int Wo);
/* tl[q] for the tiles t0 + q, q < nc, of the job */
void ssan_wino_tiles (
    const ssan_wino_job *j, size_t t0, size_t nc, ssan_wino_tile *tl);
/* dst = the convolution, as ssan_conv2d_forward */
void ssan_wino_forward (const ssan_conv *cv, const float *src, size_t cs,
    size_t fs, int nf, int H, int W, float *dst, int relu, int accumulate,
    const ssan_work *work, int gemm);
/* Stride 2: product q of the (m+2)^2 weight classes on a chunk of nc
 * (rounded) tiles multiplies [cout][cin] by the transformed input at
 * offset boff into the products at offset coff, both w columns wide. */
void ssan_wino2_product (int m, int q, int cin, int cout, size_t nc,
    size_t *boff, size_t *coff, int *w);
/* Whether a convolution's GEMMs run in the table's kernel: the table has
 * one and the caller's scratch room for its panel */
int ssan_conv_use_gemm_kernel (
    const ssan_conv *cv, int nf, int H, int W, const ssan_work *work);

#endif /* SSAN_OPS_WINOGRAD_H */
