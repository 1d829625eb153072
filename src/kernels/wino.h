/* gst-ssan engine: Winograd helpers shared by the kernels of every
 * instruction set (internal): the stride-2 class layout, the 8-lane tile
 * gather and clipped scatter, and the portable transforms as templates
 * (m a compile-time constant after inlining). */
#ifndef SSAN_WINO_H
#define SSAN_WINO_H

#include "ssan-kernels.h"
#include "simd.h"

#include <stddef.h>

/* Class q's first position (in the order of the classes) and its count */
static inline int
wino2_base (int m, int q)
{
  int cr = q / (m + 2), cs = q % (m + 2);

  return WINO2_BEFORE (m, cr) * (2 * m + 1)
         + WINO2_MULT (m, cr) * WINO2_BEFORE (m, cs);
}

static inline int
wino2_mult (int m, int q)
{
  return WINO2_MULT (m, q / (m + 2)) * WINO2_MULT (m, q % (m + 2));
}

/* Where 2-D position i = r * (2m+1) + s of row (channel) 0 goes in the
 * class layout for `rows` rows and chunk width nc: off[i], and the
 * distance from one row to the next: step[i]. */
static inline void
wino2_layout (int m, int rows, size_t nc, size_t *off, size_t *step)
{
  int a = 2 * m + 1, r, s;

  for (r = 0; r < a; r++)
    for (s = 0; s < a; s++) {
      int cr = r < m ? 0 : r - m + 1, cs = s < m ? 0 : s - m + 1;
      int q = cr * (m + 2) + cs;
      int p = (cr == 0 ? r : 0) * WINO2_MULT (m, cs) + (cs == 0 ? s : 0);

      off[r * a + s] = ((size_t)wino2_base (m, q) * rows + p) * nc;
      step[r * a + s] = (size_t)wino2_mult (m, q) * nc;
    }
}

/* Where the 8 tiles from t0 start: frames and top-left input corners;
 * tiles past the end get frame 0 and a y0 never in bounds. */
static inline void
wino_lanes (const ssan_wino_job *j, size_t t0, size_t *foff, int *y0, int *x0)
{
  size_t per = (size_t)j->tH * j->tW;
  int l, m = j->step;

  for (l = 0; l < 8; l++) {
    size_t t = t0 + l, r = t % per;

    foff[l] = t < j->tiles ? t / per : 0;
    y0[l] = t < j->tiles ? (int)(r / j->tW) * m - 1 : -(1 << 29);
    x0[l] = (int)(r % j->tW) * m - 1;
  }
}

/* d[i*a + k][l] = the a x a input patch of lane l (zero outside the map),
 * for the 8 tiles whose corners wino_lanes gave; inside: all patches lie
 * within the map. */
static inline __attribute__ ((always_inline)) void
wino_gather (const ssan_wino_job *j, const float *plane, const size_t *foff,
    const int *y0, const int *x0, int inside, const int a, float (*d)[8])
{
  int H = j->H, W = j->W, l, i, k;

  if (inside) {
    for (l = 0; l < 8; l++) {
      const float *p = plane + foff[l] * j->fs + (size_t)y0[l] * W + x0[l];
      for (i = 0; i < a; i++)
        for (k = 0; k < a; k++)
          d[i * a + k][l] = p[(size_t)i * W + k];
    }
    return;
  }
  for (l = 0; l < 8; l++) {
    const float *p = plane + foff[l] * j->fs;
    for (i = 0; i < a; i++) {
      int y = y0[l] + i;
      for (k = 0; k < a; k++) {
        int xx = x0[l] + k;
        d[i * a + k][l] = y >= 0 && y < H && xx >= 0 && xx < W
                              ? p[(size_t)y * W + xx]
                              : 0.0f;
      }
    }
  }
}

/* Transformed input of tiles [t0, t0+nt) into v[a][cin][nt]. */
static inline __attribute__ ((always_inline)) void
wino_input (const ssan_wino_job *j, size_t t0, size_t nt, float *v, const int m)
{
  const int a = m + 2;
  int H = j->H, W = j->W, c, l, i, k;
  size_t g;

  for (g = 0; g < nt; g += 8) {
    size_t foff[8];
    int y0[8], x0[8], inside = 1;

    wino_lanes (j, t0 + g, foff, y0, x0);
    for (l = 0; l < 8; l++)
      inside &= y0[l] >= 0 && y0[l] + a <= H && x0[l] >= 0 && x0[l] + a <= W;
    for (c = 0; c < j->cin; c++) {
      const float *plane = j->src + (size_t)c * j->cs;
      float d[36][8];
      v8f x[36], t[36];

      wino_gather (j, plane, foff, y0, x0, inside, a, d);
      for (i = 0; i < a * a; i++)
        V8F_LOAD (x[i], d[i]);
      /* B^T d B: columns, then rows */
      for (k = 0; k < a; k++)
        WINO_BT (m, t + k, a, x + k, a);
      for (i = 0; i < a; i++)
        WINO_BT (m, x + i * a, 1, t + i * a, 1);
      for (i = 0; i < a * a; i++)
        V8F_STORE (v + ((size_t)i * j->cin + c) * j->nt + g, x[i]);
    }
  }
}

/* Writes the m x m outputs out[i*m + k][l] of the 8 lanes' tiles, whose
 * top-left outputs are (oy[l], ox[l]) of frame foff[l] (oy < 0: no tile),
 * into the output channel at plane, clipped to the map, with the residual
 * and ReLU of the epilogue. */
static inline __attribute__ ((always_inline)) void
wino_scatter (const ssan_wino_job *j, float *plane, const size_t *foff,
    const int *oy, const int *ox, const int m, float (*out)[8])
{
  size_t hw = (size_t)j->Ho * j->Wo;
  int l, i, k;

  for (l = 0; l < 8; l++) {
    int ny = j->Ho - oy[l] < m ? j->Ho - oy[l] : m;
    int nx = j->Wo - ox[l] < m ? j->Wo - ox[l] : m;
    float *p;

    if (oy[l] < 0)
      continue;
    p = plane + foff[l] * hw + (size_t)oy[l] * j->Wo + ox[l];
    for (i = 0; i < ny; i++) {
      for (k = 0; k < nx; k++) {
        float s = out[i * m + k][l];
        if (j->accumulate)
          s += p[(size_t)i * j->Wo + k];
        if (j->relu)
          s = s > 0.0f ? s : 0.0f;
        p[(size_t)i * j->Wo + k] = s;
      }
    }
  }
}

/* Output transform of mm[a][cout][nt] for tiles [t0, t0+nt) into dst with
 * the epilogue. */
static inline __attribute__ ((always_inline)) void
wino_output (
    const ssan_wino_job *j, size_t t0, size_t nt, const float *mm, const int m)
{
  const int a = m + 2;
  int o, l, i, k;
  size_t g;

  for (g = 0; g < nt; g += 8) {
    size_t foff[8];
    int y0[8], x0[8], oy[8], ox[8];

    wino_lanes (j, t0 + g, foff, y0, x0);
    for (l = 0; l < 8; l++) {
      /* past the last tile: y0 is far out of bounds */
      oy[l] = y0[l] < -1 ? -1 : y0[l] + 1;
      ox[l] = x0[l] + 1;
    }
    for (o = 0; o < j->cout; o++) {
      float *plane = j->dst + (size_t)o * j->cols;
      float bb = j->b ? j->b[o] : 0.0f;
      v8f x[36], t[24], y[16], vb = V8F (bb);
      float out[16][8];

      for (i = 0; i < a * a; i++)
        V8F_LOAD (x[i], mm + ((size_t)i * j->cout + o) * j->nt + g);
      /* A^T M A: columns, then rows */
      for (k = 0; k < a; k++)
        WINO_AT (m, t + k, a, x + k, a);
      for (i = 0; i < m; i++)
        WINO_AT (m, y + i * m, 1, t + i * a, 1);
      for (i = 0; i < m * m; i++) {
        y[i] = y[i] + vb;
        V8F_STORE (out[i], y[i]);
      }
      wino_scatter (j, plane, foff, oy, ox, m, out);
    }
  }
}

/* Transformed input of tiles [t0, t0+nc) into v (class layout). */
static inline __attribute__ ((always_inline)) void
wino2_input (
    const ssan_wino_job *j, size_t t0, size_t nc, float *v, const int m)
{
  const int a = 2 * m + 1;
  int H = j->H, W = j->W, c, l, i, k;
  size_t off[81], step[81], g;

  wino2_layout (m, j->cin, nc, off, step);
  for (g = 0; g < nc; g += 8) {
    size_t foff[8];
    int y0[8], x0[8], inside = 1;

    wino_lanes (j, t0 + g, foff, y0, x0);
    for (l = 0; l < 8; l++)
      inside &= y0[l] >= 0 && y0[l] + a <= H && x0[l] >= 0 && x0[l] + a <= W;
    for (c = 0; c < j->cin; c++) {
      const float *plane = j->src + (size_t)c * j->cs;
      float d[81][8];
      v8f x[81], t[81];

      wino_gather (j, plane, foff, y0, x0, inside, a, d);
      for (i = 0; i < a * a; i++)
        V8F_LOAD (x[i], d[i]);
      for (k = 0; k < a; k++)
        WINO2_BT (m, t + k, a, x + k, a);
      for (i = 0; i < a; i++)
        WINO2_BT (m, x + i * a, 1, t + i * a, 1);
      for (i = 0; i < a * a; i++)
        V8F_STORE (v + off[i] + (size_t)c * step[i] + g, x[i]);
    }
  }
}

/* Output transform of the products mm (class layout) for tiles
 * [t0, t0+nc) into dst with the epilogue. */
static inline __attribute__ ((always_inline)) void
wino2_output (
    const ssan_wino_job *j, size_t t0, size_t nc, const float *mm, const int m)
{
  const int a = 2 * m + 1;
  size_t off[81], step[81], g;
  int o, l, i, k;

  wino2_layout (m, j->cout, nc, off, step);
  for (g = 0; g < nc; g += 8) {
    size_t foff[8];
    int y0[8], x0[8], oy[8], ox[8];

    wino_lanes (j, t0 + g, foff, y0, x0);
    for (l = 0; l < 8; l++) {
      oy[l] = y0[l] < -1 ? -1 : (y0[l] + 1) / 2;
      ox[l] = (x0[l] + 1) / 2;
    }
    for (o = 0; o < j->cout; o++) {
      float *plane = j->dst + (size_t)o * j->cols;
      v8f x[81], t[36], y[16], vb = V8F (j->b ? j->b[o] : 0.0f);
      float out[16][8];

      for (i = 0; i < a * a; i++)
        V8F_LOAD (x[i], mm + off[i] + (size_t)o * step[i] + g);
      for (k = 0; k < a; k++)
        WINO2_AT (m, t + k, a, x + k, a);
      for (i = 0; i < m; i++)
        WINO2_AT (m, y + i * m, 1, t + i * a, 1);
      for (i = 0; i < m * m; i++) {
        y[i] = y[i] + vb;
        V8F_STORE (out[i], y[i]);
      }
      wino_scatter (j, plane, foff, oy, ox, m, out);
    }
  }
}

#endif /* SSAN_WINO_H */
