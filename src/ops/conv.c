/* gst-ssan engine: convolution driver: 1x1 GEMMs on the feature map,
 * im2col + GEMM elsewhere, Winograd where it applies (winograd.c); the
 * output columns (or, when they are few, the rows) sliced over the
 * threads. */
#include "winograd.h"

#include <cblas.h>
#include <stdint.h>
#include <string.h>

/* Below this many output columns per thread, threads split the rows. */
#define SSAN_MIN_SLICE_COLS 192

int
ssan_conv_kind (const ssan_conv *cv)
{
  if (ssan_wino_applies (cv) && cv->stride == 1)
    return SSAN_KIND_WINOGRAD;
  if (cv->k == 1)
    return cv->stride == 1 ? SSAN_KIND_1X1 : SSAN_KIND_DOWN;
  if (cv->k >= 5)
    return SSAN_KIND_LARGE;
  return cv->stride > 1 ? SSAN_KIND_STRIDED : SSAN_KIND_OTHER;
}

size_t
ssan_conv_scratch_size (const ssan_conv *cv, int nf, int H, int W)
{
  int Ho = ssan_conv_out_size (H, cv->k, cv->stride, cv->pad);
  int Wo = ssan_conv_out_size (W, cv->k, cv->stride, cv->pad);

  if (ssan_wino_applies (cv))
    return ssan_wino_scratch (cv, nf, Ho, Wo) + SSAN_GEMM_PANEL;
  return ssan_conv_chunk_cols (cv, (size_t)nf * Ho * Wo)
             * ((size_t)cv->cin * cv->k * cv->k)
         + SSAN_GEMM_PANEL;
}

float *
ssan_gemm_panel (const ssan_work *work, int thread)
{
  uintptr_t end
      = (uintptr_t)(work->scratch + (size_t)(thread + 1) * work->stride);

  return (
      float *)((end - SSAN_GEMM_PANEL_USE * sizeof (float)) & ~(uintptr_t)63);
}

int
ssan_work_has_gemm (const ssan_work *work)
{
  return work->kern->gemm != NULL && work->scratch != NULL
         && work->stride >= SSAN_GEMM_PANEL;
}

int
ssan_conv_use_gemm_kernel (
    const ssan_conv *cv, int nf, int H, int W, const ssan_work *work)
{
  return ssan_work_has_gemm (work)
         && work->stride >= ssan_conv_scratch_size (cv, nf, H, W);
}

typedef struct {
  const ssan_conv *cv;
  const ssan_work *work;
  const float *src;
  size_t cs, fs, cols, chunk;
  int H, W, Ho, Wo, relu, direct, slices, pieces, cpieces, gemm, kind;
  float beta;
  float *dst;
  size_t j0, n; /* row-split mode: the current chunk */
} conv_job;

/* rows [r0, r1) of dst[][n] (row stride ldc) = act(w b + bias (+ dst)),
 * b [K][n] with row stride ldb */
static void
conv_gemm (const conv_job *j, int r0, int r1, size_t n, const float *b,
    size_t ldb, float *dst, int thread)
{
  const ssan_conv *cv = j->cv;
  const ssan_kernels *kern = j->work->kern;
  int K = cv->cin * cv->k * cv->k;

  if (j->gemm) {
    const float *bias = cv->b ? cv->b + r0 : NULL;
    kern->gemm (r1 - r0, (int)n, K, cv->w + (size_t)r0 * K, (size_t)K, b, ldb,
        dst + (size_t)r0 * j->cols, j->cols, bias, j->relu, j->beta != 0.0f,
        ssan_gemm_panel (j->work, thread));
    return;
  }
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, (int)n, K,
      1.0f, cv->w + (size_t)r0 * K, K, b, (int)ldb, j->beta,
      dst + (size_t)r0 * j->cols, (int)j->cols);
  kern->bias_act (dst, r0, r1, n, j->cols, cv->b, j->relu);
}

/* Output columns [c0, c1), all rows, by one thread with its own im2col
 * buffer: im2col, GEMM and epilogue chunk by chunk while it is in cache. */
static void
conv_columns (const conv_job *j, size_t c0, size_t c1, int thread)
{
  const ssan_conv *cv = j->cv;
  float *col = j->work->scratch + (size_t)thread * j->work->stride;
  double *prof = j->work->prof, t0 = ssan_prof_start (prof);
  size_t j0;

  if (j->direct) {
    conv_gemm (
        j, 0, cv->cout, c1 - c0, j->src + c0, j->cols, j->dst + c0, thread);
    ssan_prof_stop_kind (prof, thread, SSAN_PART_CONV, j->kind, t0);
    return;
  }
  for (j0 = c0; j0 < c1; j0 += j->chunk) {
    size_t n = c1 - j0 < j->chunk ? c1 - j0 : j->chunk;

    t0 = ssan_prof_start (prof);
    j->work->kern->im2col (j->src, j->cs, j->fs, 0, cv->cin, j->H, j->W, cv->k,
        cv->stride, cv->pad, j->Ho, j->Wo, j0, n, col);
    ssan_prof_stop_kind (prof, thread, SSAN_PART_IM2COL, j->kind, t0);
    t0 = ssan_prof_start (prof);
    conv_gemm (j, 0, cv->cout, n, col, n, j->dst + j0, thread);
    ssan_prof_stop_kind (prof, thread, SSAN_PART_CONV, j->kind, t0);
  }
}

/* Slice i of the columns, boundaries on multiples of 16 columns. */
static size_t
slice_begin (size_t cols, int i, int slices)
{
  size_t b = ((size_t)i * cols / (size_t)slices + 15) & ~(size_t)15;
  return i >= slices || b > cols ? cols : b;
}

static void
conv_slice_item (void *arg, int i, int thread)
{
  const conv_job *j = arg;

  conv_columns (j, slice_begin (j->cols, i, j->slices),
      slice_begin (j->cols, i + 1, j->slices), thread);
}

static void
conv_im2col_item (void *arg, int i, int thread)
{
  const conv_job *j = arg;
  int c0 = (int)SSAN_PIECE_BEGIN (i, j->cv->cin, j->cpieces);
  int c1 = (int)SSAN_PIECE_BEGIN (i + 1, j->cv->cin, j->cpieces);
  double t0 = ssan_prof_start (j->work->prof);

  j->work->kern->im2col (j->src, j->cs, j->fs, c0, c1, j->H, j->W, j->cv->k,
      j->cv->stride, j->cv->pad, j->Ho, j->Wo, j->j0, j->n, j->work->scratch);
  ssan_prof_stop_kind (j->work->prof, thread, SSAN_PART_IM2COL, j->kind, t0);
}

/* Rows [r0, r1) of the current chunk (from the shared im2col buffer). */
static void
conv_rows_item (void *arg, int i, int thread)
{
  const conv_job *j = arg;
  const ssan_conv *cv = j->cv;
  int r0 = (int)SSAN_PIECE_BEGIN (i, cv->cout, j->pieces);
  int r1 = (int)SSAN_PIECE_BEGIN (i + 1, cv->cout, j->pieces);
  const float *b = j->direct ? j->src + j->j0 : j->work->scratch;
  double t0 = ssan_prof_start (j->work->prof);

  if (r1 == r0)
    return;
  conv_gemm (
      j, r0, r1, j->n, b, j->direct ? j->cols : j->n, j->dst + j->j0, thread);
  ssan_prof_stop_kind (j->work->prof, thread, SSAN_PART_CONV, j->kind, t0);
}

/* Below this many output columns per thread, threads split the rows. */

void
ssan_conv2d_forward (const ssan_conv *cv, const float *src, size_t cs,
    size_t fs, int nf, int H, int W, float *dst, int relu, int accumulate,
    const ssan_work *work)
{
  int threads = ssan_pool_threads (work->pool);
  conv_job j;

  if (ssan_wino_applies (cv)) {
    ssan_wino_forward (cv, src, cs, fs, nf, H, W, dst, relu, accumulate, work,
        ssan_conv_use_gemm_kernel (cv, nf, H, W, work));
    return;
  }
  memset (&j, 0, sizeof j);
  j.cv = cv;
  j.work = work;
  j.src = src;
  j.cs = cs;
  j.fs = fs;
  j.H = H;
  j.W = W;
  j.Ho = ssan_conv_out_size (H, cv->k, cv->stride, cv->pad);
  j.Wo = ssan_conv_out_size (W, cv->k, cv->stride, cv->pad);
  j.cols = (size_t)nf * j.Ho * j.Wo;
  j.relu = relu;
  j.beta = accumulate ? 1.0f : 0.0f;
  j.dst = dst;
  j.gemm = ssan_conv_use_gemm_kernel (cv, nf, H, W, work);
  j.kind = ssan_conv_kind (cv);
  j.direct = cv->k == 1 && cv->stride == 1 && cv->pad == 0
             && fs == (size_t)H * W && cs == j.cols;
  j.chunk = j.direct ? j.cols : ssan_conv_chunk_cols (cv, j.cols);

  if (threads == 1) {
    conv_columns (&j, 0, j.cols, 0);
  } else if (j.cols >= (size_t)threads * SSAN_MIN_SLICE_COLS) {
    /* a few slices per thread, taken in turn: a thread that the machine
     * holds back leaves its share to the others */
    j.slices = threads * SSAN_SLICES_PER_THREAD;
    while (
        j.slices > threads && j.cols < (size_t)j.slices * SSAN_MIN_SLICE_COLS)
      j.slices--;
    ssan_pool_run (work->pool, j.slices, conv_slice_item, &j);
  } else {
    j.pieces = threads;
    j.cpieces = ssan_pool_pieces (work->pool, (size_t)cv->cin);
    for (j.j0 = 0; j.j0 < j.cols; j.j0 += j.chunk) {
      j.n = j.cols - j.j0 < j.chunk ? j.cols - j.j0 : j.chunk;
      if (!j.direct)
        ssan_pool_run (work->pool, j.cpieces, conv_im2col_item, &j);
      ssan_pool_run (work->pool, j.pieces, conv_rows_item, &j);
    }
  }
}
