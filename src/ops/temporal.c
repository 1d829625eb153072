/* gst-ssan engine: the temporal 3x1x1 convolutions of SSA (spec §2 step
 * 5) as GEMMs over neighbouring frames, one output frame per item. */
#include "../ssan-ops.h"

#include <cblas.h>

typedef struct {
  const float *w, *b, *src;
  float *dst;
  int c, T, n;
  size_t ld;
  const ssan_work *work;
} tconv_job;

/* Output frame i (window i / T, frame t = i % T), all channels: the
 * middle tap with the bias, then the taps of the frames before and after
 * where the window has them, accumulated while the frame's c x n outputs
 * are in cache. */
static void
tconv_item (void *arg, int i, int thread)
{
  tconv_job *j = arg;
  int c = j->c, n = j->n, t = i % j->T, k;
  const ssan_kernels *kern = j->work->kern;
  int gemm = ssan_work_has_gemm (j->work);
  float *dst = j->dst + (size_t)i * n;
  double t0 = ssan_prof_start (j->work->prof);
  /* taps in the order run: frame t, t - 1, t + 1 */
  static const int taps[3] = { 1, 0, 2 };

  for (k = 0; k < 3; k++) {
    int tap = taps[k], d = tap - 1; /* output frame t reads frame t + d */
    const float *w = j->w + (size_t)tap * c * c, *src;

    if (t + d < 0 || t + d >= j->T)
      continue;
    src = j->src + (size_t)(i + d) * n;
    if (gemm)
      kern->gemm (c, n, c, w, (size_t)c, src, j->ld, dst, j->ld,
          k == 0 ? j->b : NULL, 0, k > 0, ssan_gemm_panel (j->work, thread));
    else
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, c, n, c, 1.0f, w,
          c, src, (int)j->ld, k > 0 ? 1.0f : 0.0f, dst, (int)j->ld);
    if (!gemm && k == 0)
      kern->bias_act (dst, 0, c, (size_t)n, j->ld, j->b, 0);
  }
  ssan_prof_stop (j->work->prof, thread, SSAN_PART_ATTN, t0);
}

void
ssan_temporal_conv_forward (const float *w, const float *b, int c,
    const float *src, int nb, int T, int n, float *dst, const ssan_work *work)
{
  tconv_job j = { w, b, src, dst, c, T, n, (size_t)nb * T * n, work };

  ssan_pool_run (work->pool, nb * T, tconv_item, &j);
}
