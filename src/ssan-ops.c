/* gst-ssan engine: op kernels (convolution, pooling, SSA attention).
 * Layouts are described in ssan-ops.h. */
#include "ssan-ops.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* im2col buffers stay near this many floats (16 MiB): big enough that each
 * GEMM is wide, small enough to stay out of the memory budget. */
#define SSAN_COL_BUDGET ((size_t)4 << 20)
#define SSAN_COL_MIN_COLS 256

/* Position-branch tiles: queries per tile, keys per tile.  The score tile
 * (PK x PQ floats, 128 KiB) and the output tile stay in L2. */
#define SSAN_PQ 128
#define SSAN_PK 256

size_t
ssan_conv_chunk_cols (const ssan_conv *cv, size_t cols)
{
  size_t K = (size_t)cv->cin * cv->k * cv->k;
  size_t chunk = SSAN_COL_BUDGET / K;

  if (cv->k == 1 && cv->stride == 1 && cv->pad == 0)
    return 0;
  if (chunk < SSAN_COL_MIN_COLS)
    chunk = SSAN_COL_MIN_COLS;
  return chunk < cols ? chunk : cols;
}

/* Copies one output row segment of im2col: dst[i] = row[(ox0+i)*s - p + kx]
 * for i < n, zero where that falls outside [0, W). */
static void
im2col_row (const float *row, int W, int stride, int pad, int kx, int ox0,
    int n, float *dst)
{
  int ox_lo, ox_hi, i;

  /* valid ox: 0 <= ox*s - p + kx < W */
  ox_lo = pad - kx > 0 ? (pad - kx + stride - 1) / stride : 0;
  ox_hi = W - 1 + pad - kx >= 0 ? (W - 1 + pad - kx) / stride + 1 : 0;
  if (ox_hi < ox_lo)
    ox_hi = ox_lo;
  for (i = 0; i < n && ox0 + i < ox_lo; i++)
    dst[i] = 0.0f;
  if (stride == 1) {
    int end = ox_hi - ox0 < n ? ox_hi - ox0 : n;
    if (end > i) {
      memcpy (dst + i, row + (ox0 + i) - pad + kx,
          (size_t)(end - i) * sizeof (float));
      i = end;
    }
  } else {
    for (; i < n && ox0 + i < ox_hi; i++)
      dst[i] = row[(ox0 + i) * stride - pad + kx];
  }
  for (; i < n; i++)
    dst[i] = 0.0f;
}

void
ssan_im2col (const float *src, size_t cs, size_t fs, int cin, int H, int W,
    int k, int stride, int pad, int Ho, int Wo, size_t j0, size_t n, float *col)
{
  size_t hw = (size_t)Ho * Wo;
  int c, ky, kx;

  for (c = 0; c < cin; c++) {
    for (ky = 0; ky < k; ky++) {
      for (kx = 0; kx < k; kx++) {
        float *dst = col + ((size_t)(c * k + ky) * k + kx) * n;
        size_t j = j0, end = j0 + n;
        size_t f = j / hw;
        int oy = (int)((j % hw) / Wo), ox = (int)(j % Wo);

        while (j < end) {
          int seg = Wo - ox;
          int iy = oy * stride - pad + ky;

          if ((size_t)seg > end - j)
            seg = (int)(end - j);
          if (iy < 0 || iy >= H)
            memset (dst, 0, (size_t)seg * sizeof (float));
          else
            im2col_row (src + c * cs + f * fs + (size_t)iy * W, W, stride, pad,
                kx, ox, seg, dst);
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
ssan_bias_act (
    float *x, int c, size_t cols, size_t ld, const float *b, int relu)
{
  int i;
  size_t j;

  for (i = 0; i < c; i++) {
    float *row = x + (size_t)i * ld;
    float bb = b ? b[i] : 0.0f;

    if (relu) {
      for (j = 0; j < cols; j++) {
        float v = row[j] + bb;
        row[j] = v > 0.0f ? v : 0.0f;
      }
    } else if (b) {
      for (j = 0; j < cols; j++)
        row[j] += bb;
    }
  }
}

void
ssan_conv2d_forward (const ssan_conv *cv, const float *src, size_t cs,
    size_t fs, int nf, int H, int W, float *dst, int relu, int accumulate,
    float *col)
{
  int Ho = ssan_conv_out_size (H, cv->k, cv->stride, cv->pad);
  int Wo = ssan_conv_out_size (W, cv->k, cv->stride, cv->pad);
  size_t cols = (size_t)nf * Ho * Wo;
  int K = cv->cin * cv->k * cv->k;
  float beta = accumulate ? 1.0f : 0.0f;
  size_t chunk, j0;

  if (cv->k == 1 && cv->stride == 1 && cv->pad == 0 && fs == (size_t)H * W
      && cs == cols) {
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, cv->cout, (int)cols,
        cv->cin, 1.0f, cv->w, cv->cin, src, (int)cols, beta, dst, (int)cols);
    ssan_bias_act (dst, cv->cout, cols, cols, cv->b, relu);
    return;
  }

  chunk = ssan_conv_chunk_cols (cv, cols);
  if (chunk == 0)
    chunk = cols;
  for (j0 = 0; j0 < cols; j0 += chunk) {
    size_t n = cols - j0 < chunk ? cols - j0 : chunk;

    ssan_im2col (src, cs, fs, cv->cin, H, W, cv->k, cv->stride, cv->pad, Ho, Wo,
        j0, n, col);
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, cv->cout, (int)n, K,
        1.0f, cv->w, K, col, (int)n, beta, dst + j0, (int)cols);
    ssan_bias_act (dst + j0, cv->cout, n, cols, cv->b, relu);
  }
}

void
ssan_maxpool_forward (const float *src, int C, int nf, int H, int W, float *dst)
{
  int Ho = ssan_conv_out_size (H, 3, 2, 1);
  int Wo = ssan_conv_out_size (W, 3, 2, 1);
  size_t p, planes = (size_t)C * nf;

  for (p = 0; p < planes; p++) {
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

        for (y = y0; y < y1; y++)
          for (x = x0; x < x1; x++)
            m = in[y * W + x] > m ? in[y * W + x] : m;
        out[oy * Wo + ox] = m;
      }
    }
  }
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

/* exp on 8 floats at once (Cephes polynomial, ~1 ulp), branch-free so that
 * the softmax loops stay vectorised; arguments are clamped to the range
 * where exp is a normal float. */
#pragma GCC diagnostic ignored "-Wpsabi" /* v8f never crosses an ABI */
typedef float v8f __attribute__ ((vector_size (32)));
typedef int32_t v8i __attribute__ ((vector_size (32)));

static inline v8f
v8f_splat (float x)
{
  return (v8f){ x, x, x, x, x, x, x, x };
}

static inline v8f
v8f_max (v8f a, v8f b)
{
  v8i gt = a > b;
  return (v8f)(((v8i)a & gt) | ((v8i)b & ~gt));
}

static inline v8f
v8f_min (v8f a, v8f b)
{
  v8i lt = a < b;
  return (v8f)(((v8i)a & lt) | ((v8i)b & ~lt));
}

static inline v8f
v8f_exp (v8f x)
{
  const v8f magic = v8f_splat (12582912.0f); /* 1.5 * 2^23 */
  v8f fx, r, y;
  v8i n;

  x = v8f_min (v8f_max (x, v8f_splat (-87.3f)), v8f_splat (88.3f));
  fx = x * v8f_splat (1.44269504088896341f) + magic;
  n = (v8i)fx - (v8i)magic;
  fx = fx - magic;
  r = x - fx * v8f_splat (0.693359375f) - fx * v8f_splat (-2.12194440e-4f);
  y = v8f_splat (1.9875691500e-4f);
  y = y * r + v8f_splat (1.3981999507e-3f);
  y = y * r + v8f_splat (8.3334519073e-3f);
  y = y * r + v8f_splat (4.1665795894e-2f);
  y = y * r + v8f_splat (1.6666665459e-1f);
  y = y * r + v8f_splat (5.0000001201e-1f);
  y = y * r * r + r + v8f_splat (1.0f);
  return y * (v8f)((n + 127) << 23);
}

static inline v8f
v8f_load (const float *p)
{
  v8f v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
v8f_store (float *p, v8f v)
{
  memcpy (p, &v, sizeof v);
}

/* One key tile of the online softmax: s is [nk][mq] scores (key rows, query
 * columns).  Updates the running column maxima m and sums l, turns s into
 * exp(s - m) and returns in corr the factor by which earlier partial outputs
 * must be scaled.  mq is a multiple of 8 (padded by the caller). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__ ((target_clones ("arch=haswell", "default")))
#endif
static void
online_softmax_tile (
    float *s, int nk, int mq, float *m, float *l, float *mnew, float *corr)
{
  int j, r;

  memcpy (mnew, m, (size_t)mq * sizeof (float));
  for (j = 0; j < nk; j++) {
    const float *row = s + (size_t)j * mq;
    for (r = 0; r < mq; r += 8) {
      v8f_store (mnew + r, v8f_max (v8f_load (row + r), v8f_load (mnew + r)));
    }
  }
  for (r = 0; r < mq; r += 8) {
    v8f c = v8f_exp (v8f_load (m + r) - v8f_load (mnew + r));
    v8f_store (corr + r, c);
    v8f_store (l + r, v8f_load (l + r) * c);
    v8f_store (m + r, v8f_load (mnew + r));
  }
  for (j = 0; j < nk; j++) {
    float *row = s + (size_t)j * mq;
    for (r = 0; r < mq; r += 8) {
      v8f e = v8f_exp (v8f_load (row + r) - v8f_load (m + r));
      v8f_store (row + r, e);
      v8f_store (l + r, v8f_load (l + r) + e);
    }
  }
}

size_t
ssan_attn_position_scratch (int c)
{
  return (size_t)SSAN_PK * SSAN_PQ + (size_t)c * SSAN_PQ + 4 * SSAN_PQ;
}

void
ssan_attn_position_forward (const float *q, const float *k, const float *v,
    size_t ld, int c, int n, float *a, float *scratch)
{
  float *s = scratch;
  float *o = s + (size_t)SSAN_PK * SSAN_PQ;
  float *m = o + (size_t)c * SSAN_PQ;
  float *l = m + SSAN_PQ, *mnew = l + SSAN_PQ, *corr = mnew + SSAN_PQ;
  float scale = 1.0f / sqrtf ((float)c);
  int i0, j0, r, cc;

  for (i0 = 0; i0 < n; i0 += SSAN_PQ) {
    int mq = n - i0 < SSAN_PQ ? n - i0 : SSAN_PQ;
    /* the tile's row length, padded to the vector width; padding columns
     * hold zero scores and are never read back */
    int mp = (mq + 7) & ~7;

    for (r = 0; r < mp; r++) {
      m[r] = -INFINITY;
      l[r] = 0.0f;
    }
    memset (o, 0, (size_t)c * mp * sizeof (float));
    for (j0 = 0; j0 < n; j0 += SSAN_PK) {
      int nk = n - j0 < SSAN_PK ? n - j0 : SSAN_PK;

      if (mp != mq)
        memset (s, 0, (size_t)nk * mp * sizeof (float));
      /* s[j][i] = k[:, j0+j] . q[:, i0+i] / sqrt(c) */
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, nk, mq, c, scale,
          k + j0, (int)ld, q + i0, (int)ld, 0.0f, s, mp);
      online_softmax_tile (s, nk, mp, m, l, mnew, corr);
      for (cc = 0; cc < c; cc++) {
        float *orow = o + (size_t)cc * mp;
        for (r = 0; r < mq; r++)
          orow[r] *= corr[r];
      }
      /* o[c][i] += sum_j v[c][j0+j] s[j][i] */
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, c, mq, nk, 1.0f,
          v + j0, (int)ld, s, mp, 1.0f, o, mp);
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

void
ssan_attn_channel_forward (const float *q, const float *k, const float *v,
    size_t ld, int c, int n, float *a, float *scratch)
{
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, c, c, n,
      1.0f / sqrtf ((float)n), q, (int)ld, k, (int)ld, 0.0f, scratch, c);
  softmax_rows (scratch, c, c);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, c, n, c, 1.0f,
      scratch, c, v, (int)ld, 0.0f, a, (int)ld);
}

void
ssan_temporal_conv_forward (const float *w, const float *b, int c,
    const float *src, int nb, int T, int n, float *dst)
{
  size_t ld = (size_t)nb * T * n;
  int win, tap, i;

  for (i = 0; i < c; i++) {
    float *row = dst + i * ld;
    size_t j;
    for (j = 0; j < ld; j++)
      row[j] = b[i];
  }
  for (win = 0; win < nb; win++) {
    for (tap = 0; tap < 3; tap++) {
      int d = tap - 1; /* output frame t reads input frame t + d */
      int t0 = d < 0 ? 1 : 0;
      int count = T - (d < 0 ? -d : d);

      if (count <= 0)
        continue;
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, c, count * n, c,
          1.0f, w + (size_t)tap * c * c, c,
          src + ((size_t)win * T + t0 + d) * n, (int)ld, 1.0f,
          dst + ((size_t)win * T + t0) * n, (int)ld);
    }
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
