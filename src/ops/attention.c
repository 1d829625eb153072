/* gst-ssan engine: SSA attention drivers: the spatial attention's
 * position branch (tiled, online softmax; never an N x N matrix) and
 * channel branch (spec §2 steps 2-4), and the temporal attention (step
 * 6). */
#include "../ssan-ops.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* Position-branch tiles: queries per tile, keys per tile.  The score tile
 * (PK x PQ floats, 128 KiB) and the output tile stay in L2. */
#ifndef SSAN_PQ
#define SSAN_PQ 128
#endif
#ifndef SSAN_PK
#define SSAN_PK 256
#endif
/* Channel branch on the table's GEMM: keys transposed this many positions
 * at a time */
#define SSAN_CK 256

/* Packs k[c][0..nk) (row stride ld) as kp: for each group of 4 keys,
 * [c][4]; then each remaining key as [c]. */
static void
pack_keys (const float *k, size_t ld, int c, int nk, float *kp)
{
  int j, cc, t, nk4 = nk & ~3;

  for (j = 0; j < nk4; j += 4)
    for (cc = 0; cc < c; cc++)
      for (t = 0; t < 4; t++)
        *kp++ = k[cc * ld + j + t];
  for (; j < nk; j++)
    for (cc = 0; cc < c; cc++)
      *kp++ = k[cc * ld + j];
}

/* Packs v[c][0..nk) (row stride ld) as vp: for each group of 4 channels,
 * [nk][4]; then each remaining channel as [nk]. */
static void
pack_values (const float *v, size_t ld, int c, int nk, float *vp)
{
  int j, cc, t, c4 = c & ~3;

  for (cc = 0; cc < c4; cc += 4)
    for (j = 0; j < nk; j++)
      for (t = 0; t < 4; t++)
        *vp++ = v[(cc + t) * ld + j];
  for (; cc < c; cc++) {
    memcpy (vp, v + cc * ld, (size_t)nk * sizeof (float));
    vp += nk;
  }
}

size_t
ssan_attn_spatial_scratch (int c)
{
  /* score tile, output and query tiles, running statistics */
  size_t pos = (size_t)SSAN_PK * (SSAN_PQ + 16) + 2 * (size_t)c * SSAN_PQ
               + 4 * SSAN_PQ;
  /* scores, a chunk of transposed keys, the GEMM panel at the end */
  size_t chan = (size_t)c * c + (size_t)SSAN_CK * c + SSAN_GEMM_PANEL;

  return pos > chan ? pos : chan;
}

/* One tile of SSAN_PQ queries starting at i0, all keys. */
static void
position_tile (const ssan_kernels *kern, const float *q, const float *k,
    const float *v, size_t ld, int c, int n, int i0, float *a, float *scratch,
    const float *kpf, const float *vpf)
{
  float *s = scratch;
  float *o = s + (size_t)SSAN_PK * (SSAN_PQ + 16);
  float *m = o + (size_t)c * SSAN_PQ;
  float *l = m + SSAN_PQ, *mnew = l + SSAN_PQ, *corr = mnew + SSAN_PQ;
  float *qp = corr + SSAN_PQ;
  int packed = kpf != NULL;
  /* scores in base-2 units: exp(x) = 2^(x log2 e), the factor folded into
   * the GEMM */
  float scale = (float)(1.4426950408889634 / sqrt ((double)c));
  int mq = n - i0 < SSAN_PQ ? n - i0 : SSAN_PQ;
  /* the tile's row length, padded to the kernels' width; padding columns
   * hold zero scores and are never read back */
  int mp = (mq + kern->attn_align - 1) / kern->attn_align * kern->attn_align;
  /* score rows 16 floats longer than a power of two apart, so that a
   * column of the tile does not sit in a few cache sets */
  int ls = mp + 16;
  int j0, r, cc;

  for (r = 0; r < mp; r++) {
    m[r] = -INFINITY;
    l[r] = 0.0f;
  }
  memset (o, 0, (size_t)c * mp * sizeof (float));
  if (packed) {
    /* the query tile, zero-padded to mp columns */
    for (cc = 0; cc < c; cc++) {
      memcpy (qp + (size_t)cc * mp, q + cc * ld + i0, mq * sizeof (float));
      for (r = mq; r < mp; r++)
        qp[(size_t)cc * mp + r] = 0.0f;
    }
  }
  for (j0 = 0; j0 < n; j0 += SSAN_PK) {
    int nk = n - j0 < SSAN_PK ? n - j0 : SSAN_PK;

    /* s[j][i] = k[:, j0+j] . q[:, i0+i] / sqrt(c) (base 2), then
     * o[c][i] += sum_j v[c][j0+j] softmax(s)[j][i] */
    if (packed) {
      kern->attn_scores (
          qp, mp, kpf + (size_t)c * j0, c, nk, ls, scale, s, m, l, corr);
      kern->scale_columns (o, c, mp, corr);
      kern->attn_accumulate (vpf + (size_t)c * j0, c, nk, s, ls, mp, o);
      continue;
    }
    if (mp != mq)
      memset (s, 0, (size_t)nk * ls * sizeof (float));
    cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, nk, mq, c, scale,
        k + j0, (int)ld, q + i0, (int)ld, 0.0f, s, ls);
    kern->online_softmax (s, ls, nk, mp, m, l, mnew, corr);
    kern->scale_columns (o, c, mp, corr);
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, c, mq, nk, 1.0f,
        v + j0, (int)ld, s, ls, 1.0f, o, mp);
  }
  for (r = 0; r < mq; r++)
    corr[r] = 1.0f / l[r];
  for (cc = 0; cc < c; cc++) {
    const float *orow = o + (size_t)cc * mp;
    float *arow = a + cc * ld + i0;
    for (r = 0; r < mq; r++)
      arow[r] += orow[r] * corr[r];
  }
}

typedef struct {
  const float *q, *k, *v;
  size_t ld, stride;
  int c, n, tiles, ktiles;
  float *a, *scratch, *pack;
  double *prof;
  const ssan_kernels *kern;
  const ssan_work *work;
} attn_job;

static void
position_item (void *arg, int item, int thread)
{
  attn_job *j = arg;
  size_t f = (size_t)(item / j->tiles), o = f * j->n;
  const float *kpf = NULL, *vpf = NULL;
  double t0 = ssan_prof_start (j->prof);

  if (j->pack) {
    kpf = j->pack + 2 * f * j->c * j->n;
    vpf = kpf + (size_t)j->c * j->n;
  }
  position_tile (j->kern, j->q + o, j->k + o, j->v + o, j->ld, j->c, j->n,
      (item % j->tiles) * SSAN_PQ, j->a + o,
      j->scratch + (size_t)thread * j->stride, kpf, vpf);
  ssan_prof_stop (j->prof, thread, SSAN_PART_ATTN, t0);
}

/* Packs key tile (item % ktiles) of frame (item / ktiles): for each frame,
 * all keys then all values, tile after tile. */
static void
pack_item (void *arg, int item, int thread)
{
  attn_job *j = arg;
  size_t f = (size_t)(item / j->ktiles), o = f * j->n;
  int j0 = (item % j->ktiles) * SSAN_PK;
  int nk = j->n - j0 < SSAN_PK ? j->n - j0 : SSAN_PK;
  float *kpf = j->pack + 2 * f * j->c * j->n;
  double t0 = ssan_prof_start (j->prof);

  pack_keys (j->k + o + j0, j->ld, j->c, nk, kpf + (size_t)j->c * j0);
  pack_values (j->v + o + j0, j->ld, j->c, nk,
      kpf + (size_t)j->c * j->n + (size_t)j->c * j0);
  ssan_prof_stop (j->prof, thread, SSAN_PART_ATTN, t0);
}

/* In-place row softmax of x[rows][cols] (row maximum subtracted). */
static void softmax_rows (float *x, int rows, int cols);

/* s[c][c] = scale q k^T on the table's GEMM: k transposed SSAN_CK
 * positions at a time into kt, the products summed over the chunks. */
static void
channel_scores (const attn_job *j, const float *q, const float *k, float *s,
    float *kt, float *panel)
{
  int c = j->c, n0, nn, x, r;

  for (n0 = 0; n0 < j->n; n0 += SSAN_CK) {
    nn = j->n - n0 < SSAN_CK ? j->n - n0 : SSAN_CK;
    for (r = 0; r < c; r++) {
      const float *kr = k + r * j->ld + n0;
      for (x = 0; x < nn; x++)
        kt[(size_t)x * c + r] = kr[x];
    }
    j->kern->gemm (c, c, nn, q + n0, j->ld, kt, (size_t)c, s, (size_t)c, NULL,
        0, n0 > 0, panel);
  }
  for (r = 0; r < c * c; r++)
    s[r] *= 1.0f / sqrtf ((float)j->n);
}

static void
channel_item (void *arg, int item, int thread)
{
  attn_job *j = arg;
  size_t o = (size_t)item * j->n;
  float *s = j->scratch + (size_t)thread * j->stride;
  int c = j->c;
  double t0 = ssan_prof_start (j->prof);

  if (ssan_work_has_gemm (j->work)
      && j->stride >= ssan_attn_spatial_scratch (c)) {
    float *panel = ssan_gemm_panel (j->work, thread);

    channel_scores (j, j->q + o, j->k + o, s, s + (size_t)c * c, panel);
    softmax_rows (s, c, c);
    j->kern->gemm (c, j->n, c, s, (size_t)c, j->v + o, j->ld, j->a + o, j->ld,
        NULL, 0, 0, panel);
  } else {
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, c, c, j->n,
        1.0f / sqrtf ((float)j->n), j->q + o, (int)j->ld, j->k + o, (int)j->ld,
        0.0f, s, c);
    softmax_rows (s, c, c);
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, c, j->n, c, 1.0f, s,
        c, j->v + o, (int)j->ld, 0.0f, j->a + o, (int)j->ld);
  }
  ssan_prof_stop (j->prof, thread, SSAN_PART_ATTN, t0);
}

void
ssan_attn_spatial_forward (const float *q, const float *k, const float *v,
    size_t ld, int c, int n, int nf, float *a, float *pack,
    const ssan_work *work)
{
  attn_job j = { q, k, v, ld, work->stride, c, n, (n + SSAN_PQ - 1) / SSAN_PQ,
    (n + SSAN_PK - 1) / SSAN_PK, a, work->scratch, NULL, work->prof, work->kern,
    work };

  ssan_pool_run (work->pool, nf, channel_item, &j);
  if (work->kern->attn_scores != NULL) {
    j.pack = pack;
    ssan_pool_run (work->pool, nf * j.ktiles, pack_item, &j);
  }
  ssan_pool_run (work->pool, nf * j.tiles, position_item, &j);
}

/* In-place row softmax of x[rows][cols] (row maximum subtracted). */
static void
softmax_rows (float *x, int rows, int cols)
{
  int i, j;

  for (i = 0; i < rows; i++) {
    float *row = x + (size_t)i * cols;
    float mx = row[0];
    double sum = 0.0;

    for (j = 1; j < cols; j++)
      mx = row[j] > mx ? row[j] : mx;
    for (j = 0; j < cols; j++) {
      row[j] = expf (row[j] - mx);
      sum += row[j];
    }
    for (j = 0; j < cols; j++)
      row[j] = (float)(row[j] / sum);
  }
}

size_t
ssan_attn_temporal_scratch (int T)
{
  /* T*T doubles, then two T*T float matrices */
  return (size_t)4 * T * T;
}

void
ssan_attn_temporal_forward (const float *q, const float *k, const float *v,
    int c, int nb, int T, int n, float *y, float *scratch)
{
  size_t ld = (size_t)nb * T * n;
  size_t tt = (size_t)T * T;
  double *acc = (double *)scratch;
  float *part = scratch + 2 * tt, *s = part + tt;
  double scale = 1.0 / sqrt ((double)c * n);
  int win, i, t, u;

  for (win = 0; win < nb; win++) {
    size_t off = (size_t)win * T * n;

    /* D = c*n terms per entry: float GEMMs over n, summed over c in double */
    for (i = 0; i < (int)tt; i++)
      acc[i] = 0.0;
    for (i = 0; i < c; i++) {
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, T, T, n, 1.0f,
          q + i * ld + off, n, k + i * ld + off, n, 0.0f, part, T);
      for (t = 0; t < (int)tt; t++)
        acc[t] += part[t];
    }
    for (t = 0; t < T; t++) {
      double mx = acc[t * T] * scale, sum = 0.0;
      for (u = 1; u < T; u++)
        mx = acc[t * T + u] * scale > mx ? acc[t * T + u] * scale : mx;
      for (u = 0; u < T; u++) {
        acc[t * T + u] = exp (acc[t * T + u] * scale - mx);
        sum += acc[t * T + u];
      }
      for (u = 0; u < T; u++)
        s[t * T + u] = (float)(acc[t * T + u] / sum);
    }
    for (i = 0; i < c; i++)
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, T, n, T, 1.0f, s,
          T, v + i * ld + off, n, 0.0f, y + i * ld + off, n);
  }
}
