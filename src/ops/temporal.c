/* gst-ssan engine: the temporal 3x1x1 convolutions of SSA (spec §2 step
 * 5) as GEMMs over neighbouring frames, output channels over the
 * threads. */
#include "../ssan-ops.h"

#include <cblas.h>

typedef struct {
  const float *w, *b, *src;
  float *dst;
  int c, nb, T, n, pieces;
  const ssan_work *work;
} tconv_job;

/* Output channels piece i, all windows and taps. */
static void
tconv_item (void *arg, int i, int thread)
{
  tconv_job *j = arg;
  int c = j->c, T = j->T, n = j->n, win, tap, r;
  int r0 = (int)SSAN_PIECE_BEGIN (i, c, j->pieces);
  int r1 = (int)SSAN_PIECE_BEGIN (i + 1, c, j->pieces);
  size_t ld = (size_t)j->nb * T * n;
  const ssan_kernels *kern = j->work->kern;
  int gemm = ssan_work_has_gemm (j->work);
  double t0 = ssan_prof_start (j->work->prof);

  for (r = r0; r < r1; r++) {
    float *row = j->dst + r * ld;
    size_t x;
    for (x = 0; x < ld; x++)
      row[x] = j->b[r];
  }
  for (win = 0; win < j->nb && r1 > r0; win++) {
    for (tap = 0; tap < 3; tap++) {
      int d = tap - 1; /* output frame t reads input frame t + d */
      int f0 = d < 0 ? 1 : 0;
      int count = T - (d < 0 ? -d : d);

      if (count <= 0)
        continue;
      const float *w = j->w + ((size_t)tap * c + r0) * c;
      const float *src = j->src + ((size_t)win * T + f0 + d) * n;
      float *dst = j->dst + r0 * ld + ((size_t)win * T + f0) * n;

      if (gemm)
        kern->gemm (r1 - r0, count * n, c, w, (size_t)c, src, ld, dst, ld, NULL,
            0, 1, ssan_gemm_panel (j->work, thread));
      else
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0,
            count * n, c, 1.0f, w, c, src, (int)ld, 1.0f, dst, (int)ld);
    }
  }
  ssan_prof_stop (j->work->prof, thread, SSAN_PART_ATTN, t0);
}

void
ssan_temporal_conv_forward (const float *w, const float *b, int c,
    const float *src, int nb, int T, int n, float *dst, const ssan_work *work)
{
  tconv_job j = { w, b, src, dst, c, nb, T, n, 0, work };

  j.pieces = ssan_pool_threads (work->pool);
  if (j.pieces > c)
    j.pieces = c;
  ssan_pool_run (work->pool, j.pieces, tconv_item, &j);
}
