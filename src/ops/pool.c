/* gst-ssan engine: pooling drivers (max-pool planes over the threads,
 * global average pool). */
#include "../ssan-ops.h"

typedef struct {
  const float *src;
  float *dst;
  int H, W, pieces;
  size_t planes;
  const ssan_work *work;
} pool_job;

static void
maxpool_piece (void *arg, int i, int thread)
{
  pool_job *j = arg;
  double t0 = ssan_prof_start (j->work->prof);

  j->work->kern->maxpool (j->src, j->dst, j->H, j->W,
      SSAN_PIECE_BEGIN (i, j->planes, j->pieces),
      SSAN_PIECE_BEGIN (i + 1, j->planes, j->pieces));
  ssan_prof_stop (j->work->prof, thread, SSAN_PART_OTHER, t0);
}

void
ssan_maxpool_forward (const float *src, int C, int nf, int H, int W, float *dst,
    const ssan_work *work)
{
  pool_job j = { src, dst, H, W, 0, (size_t)C * nf, work };

  j.pieces = ssan_pool_pieces (work->pool, j.planes);
  ssan_pool_run (work->pool, j.pieces, maxpool_piece, &j);
}

void
ssan_avgpool_forward (const float *src, int C, int nf, int hw, float *dst)
{
  int c, f, i;

  for (c = 0; c < C; c++) {
    for (f = 0; f < nf; f++) {
      const float *in = src + ((size_t)c * nf + f) * hw;
      double s = 0.0;

      for (i = 0; i < hw; i++)
        s += in[i];
      dst[(size_t)f * C + c] = (float)(s / hw);
    }
  }
}
