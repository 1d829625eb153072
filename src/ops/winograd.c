/* gst-ssan engine: Winograd F(m x m, 3 x 3) driver for 3x3 stride-1
 * convolutions (and the chunking that stride 2 shares): weights
 * transformed at load, tiles in chunks that each thread transforms in,
 * multiplies and transforms out in its own scratch. */
#include "winograd.h"

#include <cblas.h>
#include <stdint.h>
#include <string.h>

int
ssan_wino_pick (int Ho, int Wo)
{
  /* Measured per convolution (CPU time, 8 frames, 2 threads, 16-512
   * channels): F(4x4) beat im2col + GEMM by 1.3-2.3x on every map of 3x3
   * or more (the paper's 56x56 to 7x7, the demo's 12x12 to 3x3); on 2x2
   * maps a 4x4 tile is mostly padding (F(4x4) 0.5-0.8x) but F(2x2) won
   * 1.2-1.6x; on 1x1 maps both lost (0.2-0.8x) from 128 channels up */
  int side = Ho < Wo ? Ho : Wo;

  return side >= 3 ? 4 : side == 2 ? 2 : 0;
}

size_t
ssan_wino_weights_size (int cin, int cout, int m)
{
  return (size_t)(m + 2) * (m + 2) * cout * cin;
}

/* u[a][a][cout][cin] = G w G^T for the a x 3 matrix G, in double. */
void
ssan_wino_transform_g (
    const float *w, int cin, int cout, int a, const double (*g)[3], float *u)
{
  int o, c, i, j, k;
  size_t plane = (size_t)cout * cin;

  for (o = 0; o < cout; o++) {
    for (c = 0; c < cin; c++) {
      const float *f = w + ((size_t)o * cin + c) * 9;
      double t[6][3];

      for (i = 0; i < a; i++)
        for (j = 0; j < 3; j++) {
          double s = 0.0;
          for (k = 0; k < 3; k++)
            s += g[i][k] * f[k * 3 + j];
          t[i][j] = s;
        }
      for (i = 0; i < a; i++)
        for (j = 0; j < a; j++) {
          double s = 0.0;
          for (k = 0; k < 3; k++)
            s += t[i][k] * g[j][k];
          u[(size_t)(i * a + j) * plane + (size_t)o * cin + c] = (float)s;
        }
    }
  }
}

void
ssan_wino_transform (const float *w, int cin, int cout, int m, float *u)
{
  /* interpolation points 0, 1, -1 (m = 2); 0, 1, -1, 2, -2 (m = 4); and
   * infinity */
  static const double g2[4][3]
      = { { 1, 0, 0 }, { 0.5, 0.5, 0.5 }, { 0.5, -0.5, 0.5 }, { 0, 0, 1 } };
  static const double g4[6][3]
      = { { 1.0 / 4, 0, 0 }, { -1.0 / 6, -1.0 / 6, -1.0 / 6 },
          { -1.0 / 6, 1.0 / 6, -1.0 / 6 }, { 1.0 / 24, 1.0 / 12, 1.0 / 6 },
          { 1.0 / 24, -1.0 / 12, 1.0 / 6 }, { 0, 0, 1 } };

  ssan_wino_transform_g (w, cin, cout, m + 2, m == 2 ? g2 : g4, u);
}

static int
wino_alpha (const ssan_conv *cv)
{
  return cv->stride == 1 ? cv->wm + 2 : 2 * cv->wm + 1;
}

/* Tiles per chunk for `tiles` tiles in all: a multiple of 8 (the
 * transforms' vector width). */
static size_t
wino_chunk_tiles (const ssan_conv *cv, size_t tiles)
{
  size_t a2 = (size_t)wino_alpha (cv) * wino_alpha (cv);
  size_t nt = SSAN_WINO_BUDGET / (a2 * (size_t)(cv->cin + cv->cout));
  size_t lo = cv->stride == 1 ? SSAN_WINO_MIN_TILES : SSAN_WINO2_MIN_TILES;

  if (nt < lo)
    nt = lo;
  if (nt > SSAN_WINO_MAX_TILES)
    nt = SSAN_WINO_MAX_TILES;
  if (nt > tiles)
    nt = tiles;
  return (nt + 7) & ~(size_t)7;
}

int
ssan_wino_applies (const ssan_conv *cv)
{
  return cv->wu != NULL && (cv->wm == 2 || cv->wm == 4) && cv->k == 3
         && (cv->stride == 1 || cv->stride == 2) && cv->pad == 1;
}

size_t
ssan_wino_scratch (const ssan_conv *cv, int nf, int Ho, int Wo)
{
  size_t tiles = (size_t)nf * ((Ho + cv->wm - 1) / cv->wm)
                 * ((Wo + cv->wm - 1) / cv->wm);
  size_t a2 = (size_t)wino_alpha (cv) * wino_alpha (cv);

  return a2 * (size_t)(cv->cin + cv->cout) * wino_chunk_tiles (cv, tiles);
}

void
ssan_wino_tiles (
    const ssan_wino_job *j, size_t t0, size_t nc, ssan_wino_tile *tl)
{
  size_t per = (size_t)j->tH * j->tW, q;

  for (q = 0; q < nc; q++) {
    size_t tt = t0 + q, r = tt % per;
    tl[q].f = tt < j->tiles ? (int)(tt / per) : 0;
    tl[q].y0 = tt < j->tiles ? (int)(r / j->tW) * j->step - 1 : -(1 << 29);
    tl[q].x0 = (int)(r % j->tW) * j->step - 1;
    tl[q].base = j->offsets32
                     ? (int)((size_t)tl[q].f * j->fs)
                           + (tt < j->tiles ? tl[q].y0 * j->W : 0) + tl[q].x0
                     : 0;
  }
}

/* Chunk i of the tiles: transform in, one GEMM per transformed weight
 * (stride 1: (m+2)^2; stride 2: per weight class, winograd-s2.c),
 * transform out. */
static void
wino_item (void *arg, int i, int thread)
{
  const wino_job *wj = arg;
  const ssan_wino_job *j = &wj->k;
  const ssan_conv *cv = wj->cv;
  const ssan_kernels *kern = wj->work->kern;
  int s2 = cv->stride == 2, m4 = cv->wm == 4, q, kind;
  size_t t0 = (size_t)i * j->nt;
  size_t n = j->tiles - t0 < j->nt ? j->tiles - t0 : j->nt;
  size_t a2 = (size_t)wino_alpha (cv) * wino_alpha (cv);
  float *v = wj->work->scratch + (size_t)thread * wj->work->stride;
  float *mm = v + a2 * cv->cin * j->nt;
  double *prof = wj->work->prof, t = ssan_prof_start (prof);
  /* the chunk's tiles rounded up to the vector width; stride 2: also the
   * layout's row length, so that a class's columns are contiguous */
  size_t nc = (n + 7) & ~(size_t)7;
  ssan_wino_tile tl[SSAN_WINO_MAX_TILES];

  kind = s2 ? SSAN_KIND_STRIDED : SSAN_KIND_WINOGRAD;
  ssan_wino_tiles (j, t0, nc, tl);
  (s2 ? kern->wino2_input : kern->wino_input)[m4](j, tl, t0, nc, v);
  ssan_prof_stop_kind (prof, thread, SSAN_PART_IM2COL, kind, t);
  t = ssan_prof_start (prof);
  for (q = 0; q < (cv->wm + 2) * (cv->wm + 2); q++) {
    const float *u = cv->wu + (size_t)q * cv->cout * cv->cin;
    size_t boff = q * cv->cin * j->nt, coff = q * cv->cout * j->nt;
    int w = (int)nc, ld = (int)j->nt;

    if (s2) {
      ssan_wino2_product (cv->wm, q, cv->cin, cv->cout, nc, &boff, &coff, &w);
      ld = w;
    }
    if (wj->gemm)
      kern->gemm (cv->cout, w, cv->cin, u, (size_t)cv->cin, v + boff,
          (size_t)ld, mm + coff, (size_t)ld, NULL, 0, 0,
          ssan_gemm_panel (wj->work, thread));
    else
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, cv->cout, w,
          cv->cin, 1.0f, u, cv->cin, v + boff, ld, 0.0f, mm + coff, ld);
  }
  (s2 ? kern->wino2_output : kern->wino_output)[m4](j, tl, t0, nc, mm);
  ssan_prof_stop_kind (prof, thread, SSAN_PART_CONV, kind, t);
}

/* Relative cost of a stride-1 chunk's GEMMs on nt columns (a multiple of
 * 8): the GEMM kernel's strips of nr (AVX2: 24, 12 accumulators) 20 per
 * column, narrower ones (8 accumulators; a last 8 is shared with the strip
 * before: two of 16) 23.  Measured (8 frames, 2 threads): layer3's 14x14 maps
 * in chunks of 24 tiles took 10 % less CPU than in chunks of 32, layer1's 56x56
 * in 120 or 72 10-15 % less than in 112. */
static size_t
wino_width_cost (size_t nt, size_t nr)
{
  size_t full = nt / nr, rest = nt % nr;

  if (rest == 8 && full > 0) {
    full--;
    rest += nr;
  }
  return full * nr * 20 + rest * 23;
}

void
ssan_wino_forward (const ssan_conv *cv, const float *src, size_t cs, size_t fs,
    int nf, int H, int W, float *dst, int relu, int accumulate,
    const ssan_work *work, int gemm)
{
  wino_job wj;
  ssan_wino_job *j = &wj.k;
  size_t items, want, nr = work->kern->gemm_nr;
  int threads = ssan_pool_threads (work->pool);

  memset (&wj, 0, sizeof wj);
  wj.cv = cv;
  wj.work = work;
  wj.gemm = gemm;
  j->src = src;
  j->cs = cs;
  j->fs = fs;
  j->b = cv->b;
  j->cin = cv->cin;
  j->cout = cv->cout;
  j->m = cv->wm;
  j->H = H;
  j->W = W;
  j->Ho = ssan_conv_out_size (H, 3, cv->stride, 1);
  j->Wo = ssan_conv_out_size (W, 3, cv->stride, 1);
  j->tH = (j->Ho + cv->wm - 1) / cv->wm;
  j->tW = (j->Wo + cv->wm - 1) / cv->wm;
  j->step = cv->wm * cv->stride;
  j->tiles = (size_t)nf * j->tH * j->tW;
  j->cols = (size_t)nf * j->Ho * j->Wo;
  j->relu = relu;
  j->accumulate = accumulate;
  j->dst = dst;
  j->offsets32 = (size_t)nf * fs + cs < (size_t)INT32_MAX;
  j->nt = wino_chunk_tiles (cv, j->tiles);
  /* a few chunks per thread, taken in turn (as the column slices of
   * im2col convolutions), as long as chunks stay wide enough */
  want = (size_t)threads * SSAN_SLICES_PER_THREAD;
  items = (j->tiles + j->nt - 1) / j->nt;
  if (threads > 1 && items < want) {
    size_t nt = ((j->tiles + want - 1) / want + 7) & ~(size_t)7;
    if (nt < SSAN_WINO_MIN_TILES)
      nt = SSAN_WINO_MIN_TILES;
    /* but at least one chunk per thread (layer4's 7x7 maps: 32 tiles) */
    if (nt * threads > j->tiles)
      nt = ((j->tiles + threads - 1) / threads + 7) & ~(size_t)7;
    if (nt < j->nt)
      j->nt = nt;
  }
  if (threads > 1) {
    /* chunks that the threads share evenly: of the widths down to half,
     * the one whose busiest thread has the fewest tiles (layer2's 28x28
     * maps: 392 tiles in 10 chunks of 40, not 7 of 56 of which one thread
     * takes 4), stride 1 counting its GEMMs' narrow strips as wider */
    size_t lo = cv->stride == 1 ? 24 : SSAN_WINO_MIN_TILES;
    size_t nt, best = j->nt, cost = SIZE_MAX;
    for (nt = j->nt; nt >= lo && nt * 2 >= j->nt; nt -= 8) {
      size_t n = (j->tiles + nt - 1) / nt;
      size_t c = (n + threads - 1) / threads
                 * (cv->stride == 1 ? wino_width_cost (nt, nr) : nt);
      if (c < cost) {
        cost = c;
        best = nt;
      }
    }
    j->nt = best;
  }
  items = (j->tiles + j->nt - 1) / j->nt;
  ssan_pool_run (work->pool, (int)items, wino_item, &wj);
}
