/* gst-ssan engine: the kernels written once in GCC vectors of 8 floats
 * (loops that are not GEMMs: GCC's -O2 vectoriser leaves loops of unknown
 * length alone).  Built as the portable table at the build's baseline, and
 * again by each x86 library with its flags (SSAN_ISA names the copy). */
#ifndef SSAN_ISA
#define SSAN_ISA portable
#endif

#include "../generic.h"
#include "../wino.h"

#include <math.h>

/* Copies one output row segment of im2col: dst[i] = row[(ox0+i)*s - p + kx]
 * for i < n, zero where ox0+i is outside [ox_lo, ox_hi), the output
 * columns whose input column lies inside the row. */
static inline void
im2col_row (const float *row, int stride, int pad, int kx, int ox_lo, int ox_hi,
    int ox0, int n, float *dst)
{
  int a = ox_lo - ox0, b = ox_hi - ox0, i;
  const float *in;

  a = a < 0 ? 0 : (a > n ? n : a);
  b = b < a ? a : (b > n ? n : b);
  for (i = 0; i < a; i++)
    dst[i] = 0.0f;
  in = row + (ptrdiff_t)(ox0 + a) * stride - pad + kx;
  if (stride == 1) {
    for (i = a; i + 8 <= b; i += 8) {
      v8f x;
      V8F_LOAD (x, in + (i - a));
      V8F_STORE (dst + i, x);
    }
    for (; i < b; i++)
      dst[i] = in[i - a];
  } else {
    i = a;
    if (stride == 2) {
      /* even elements of 16; never reads past the last element used */
      for (; i + 8 < b; i += 8) {
        v8f x0, x1, e;
        V8F_LOAD (x0, in + 2 * (i - a));
        V8F_LOAD (x1, in + 2 * (i - a) + 8);
        e = V8F_EVEN (x0, x1);
        V8F_STORE (dst + i, e);
      }
    }
    for (; i < b; i++)
      dst[i] = in[(ptrdiff_t)(i - a) * stride];
  }
  for (i = b; i < n; i++)
    dst[i] = 0.0f;
}

void
SSAN_K (im2col) (const float *src, size_t cs, size_t fs, int c0, int c1, int H,
    int W, int k, int stride, int pad, int Ho, int Wo, size_t j0, size_t n,
    float *col)
{
  size_t hw = (size_t)Ho * Wo;
  int c, ky, kx;

  for (c = c0; c < c1; c++) {
    for (ky = 0; ky < k; ky++) {
      for (kx = 0; kx < k; kx++) {
        float *dst = col + ((size_t)(c * k + ky) * k + kx) * n;
        size_t j = j0, end = j0 + n;
        size_t f = j / hw;
        int oy = (int)((j % hw) / Wo), ox = (int)(j % Wo);
        /* output columns whose input column 0 <= ox*s - p + kx < W */
        int ox_lo = pad - kx > 0 ? (pad - kx + stride - 1) / stride : 0;
        int ox_hi = W - 1 + pad - kx >= 0 ? (W - 1 + pad - kx) / stride + 1 : 0;

        if (ox_hi > Wo)
          ox_hi = Wo;
        while (j < end) {
          int seg = Wo - ox, i;
          int iy = oy * stride - pad + ky;

          if ((size_t)seg > end - j)
            seg = (int)(end - j);
          if (iy < 0 || iy >= H) {
            for (i = 0; i < seg; i++)
              dst[i] = 0.0f;
          } else {
            im2col_row (src + c * cs + f * fs + (size_t)iy * W, stride, pad, kx,
                ox_lo, ox_hi, ox, seg, dst);
          }
          dst += seg;
          j += seg;
          ox = 0;
          if (++oy == Ho) {
            oy = 0;
            f++;
          }
        }
      }
    }
  }
}

void
SSAN_K (bias_act) (
    float *x, int c0, int c1, size_t cols, size_t ld, const float *b, int relu)
{
  const v8f zero = V8F (0.0f);
  int i;
  size_t j;

  for (i = c0; i < c1; i++) {
    float *row = x + (size_t)i * ld;
    float bb = b ? b[i] : 0.0f;
    v8f vb = V8F (bb), v;

    if (relu) {
      for (j = 0; j + 8 <= cols; j += 8) {
        V8F_LOAD (v, row + j);
        v = v + vb;
        v = V8F_MAX (v, zero);
        V8F_STORE (row + j, v);
      }
      for (; j < cols; j++) {
        float f = row[j] + bb;
        row[j] = f > 0.0f ? f : 0.0f;
      }
    } else if (b) {
      for (j = 0; j + 8 <= cols; j += 8) {
        V8F_LOAD (v, row + j);
        v = v + vb;
        V8F_STORE (row + j, v);
      }
      for (; j < cols; j++)
        row[j] += bb;
    }
  }
}

/* v = vertical maxima of rows r0, r1, r2 at the 8 columns from off (t:
 * scratch) */
#define MAX3_ROWS(v, off)                                                      \
  do {                                                                         \
    V8F_LOAD (v, r0 + (off));                                                  \
    V8F_LOAD (t, r1 + (off));                                                  \
    v = V8F_MAX (v, t);                                                        \
    V8F_LOAD (t, r2 + (off));                                                  \
    v = V8F_MAX (v, t);                                                        \
  } while (0)

void
SSAN_K (maxpool) (
    const float *src, float *dst, int H, int W, size_t p0, size_t p1)
{
  int Ho = (H - 1) / 2 + 1, Wo = (W - 1) / 2 + 1;
  size_t p;

  for (p = p0; p < p1; p++) {
    const float *in = src + p * H * W;
    float *out = dst + p * Ho * Wo;
    int oy, ox, y, x;

    for (oy = 0; oy < Ho; oy++) {
      int y0 = oy * 2 - 1 < 0 ? 0 : oy * 2 - 1;
      int y1 = oy * 2 + 2 > H ? H : oy * 2 + 2;

      for (ox = 0; ox < Wo; ox++) {
        int x0 = ox * 2 - 1 < 0 ? 0 : ox * 2 - 1;
        int x1 = ox * 2 + 2 > W ? W : ox * 2 + 2;
        float m = -INFINITY;

        /* 8 outputs at once where columns 2*ox-1 .. 2*ox+16 are inside */
        if (ox >= 1 && 2 * ox + 16 < W && y1 - y0 >= 2) {
          const float *r0 = in + y0 * W + 2 * ox - 1, *r1 = r0 + W;
          const float *r2 = y1 - y0 == 3 ? r1 + W : r1;
          v8f a0, a1, b0, b1, t, l, c, r;

          for (; ox >= 1 && 2 * ox + 16 < W;
               ox += 8, r0 += 16, r1 += 16, r2 += 16) {
            MAX3_ROWS (a0, 0);
            MAX3_ROWS (a1, 8);
            MAX3_ROWS (b0, 2);
            MAX3_ROWS (b1, 10);
            /* columns 2*ox-1, 2*ox, 2*ox+1 of the 3 rows' maxima */
            l = V8F_EVEN (a0, a1);
            c = V8F_ODD (a0, a1);
            r = V8F_EVEN (b0, b1);
            l = V8F_MAX (l, c);
            l = V8F_MAX (l, r);
            V8F_STORE (out + oy * Wo + ox, l);
          }
          ox--;
          continue;
        }
        for (y = y0; y < y1; y++)
          for (x = x0; x < x1; x++)
            m = in[y * W + x] > m ? in[y * W + x] : m;
        out[oy * Wo + ox] = m;
      }
    }
  }
}

/* One key tile of the online softmax: s is [nk][mq] scores in base-2 units
 * (key rows, query columns).  Updates the running column maxima m and sums
 * l, turns s into 2^(s - m) and returns in corr the factor by which earlier
 * partial outputs must be scaled.  mq is a multiple of 8 (padded by the
 * caller); mnew is scratch of mq floats. */
void
SSAN_K (online_softmax) (float *s, int ls, int nk, int mq, float *m, float *l,
    float *mnew, float *corr)
{
  int j, r;

  memcpy (mnew, m, (size_t)mq * sizeof (float));
  for (j = 0; j < nk; j++) {
    const float *row = s + (size_t)j * ls;
    for (r = 0; r < mq; r += 8) {
      v8f a, b;
      V8F_LOAD (a, row + r);
      V8F_LOAD (b, mnew + r);
      a = V8F_MAX (a, b);
      V8F_STORE (mnew + r, a);
    }
  }
  for (r = 0; r < mq; r += 8) {
    v8f mo, mn, c, sum;
    V8F_LOAD (mo, m + r);
    V8F_LOAD (mn, mnew + r);
    V8F_LOAD (sum, l + r);
    V8F_EXP2 (c, mo - mn);
    sum = sum * c;
    V8F_STORE (corr + r, c);
    V8F_STORE (l + r, sum);
    V8F_STORE (m + r, mn);
  }
  for (j = 0; j < nk; j++) {
    float *row = s + (size_t)j * ls;
    for (r = 0; r < mq; r += 8) {
      v8f x, mx, e, sum;
      V8F_LOAD (x, row + r);
      V8F_LOAD (mx, m + r);
      V8F_LOAD (sum, l + r);
      V8F_EXP2 (e, x - mx);
      sum = sum + e;
      V8F_STORE (row + r, e);
      V8F_STORE (l + r, sum);
    }
  }
}

/* o[i][r] *= corr[r] for o[c][mp], mp a multiple of 8. */
void
SSAN_K (scale_columns) (float *o, int c, int mp, const float *corr)
{
  int i, r;

  for (i = 0; i < c; i++) {
    float *row = o + (size_t)i * mp;
    for (r = 0; r < mp; r += 8) {
      v8f a, f;
      V8F_LOAD (a, row + r);
      V8F_LOAD (f, corr + r);
      a = a * f;
      V8F_STORE (row + r, a);
    }
  }
}

void
SSAN_K (wino_input_2) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, float *v)
{
  (void)tl;
  wino_input (j, t0, nc, v, 2);
}

void
SSAN_K (wino_input_4) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, float *v)
{
  (void)tl;
  wino_input (j, t0, nc, v, 4);
}

void
SSAN_K (wino_output_2) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, const float *mm)
{
  (void)tl;
  wino_output (j, t0, nc, mm, 2);
}

void
SSAN_K (wino_output_4) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, const float *mm)
{
  (void)tl;
  wino_output (j, t0, nc, mm, 4);
}

void
SSAN_K (wino2_input_2) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, float *v)
{
  (void)tl;
  wino2_input (j, t0, nc, v, 2);
}

void
SSAN_K (wino2_input_4) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, float *v)
{
  (void)tl;
  wino2_input (j, t0, nc, v, 4);
}

void
SSAN_K (wino2_output_2) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, const float *mm)
{
  (void)tl;
  wino2_output (j, t0, nc, mm, 2);
}

void
SSAN_K (wino2_output_4) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, const float *mm)
{
  (void)tl;
  wino2_output (j, t0, nc, mm, 4);
}
