/* gst-ssan engine: Winograd driver for 3x3 stride-2 pad-1 convolutions
 * (polyphase). */
#include "winograd.h"
#include "../kernels/wino.h"

#include <cblas.h>

static size_t
wino2_products (int Ho, int Wo, int m)
{
  return (size_t)((Ho + m - 1) / m) * ((Wo + m - 1) / m) * (2 * m + 1)
         * (2 * m + 1);
}

int
ssan_wino_s2_pick (int Ho, int Wo)
{
  /* Measured per convolution (CPU time, 8 frames, 2 threads): m = 4 on
   * 28x28 outputs (128 channels, 56 % of the direct products) took 0.72x
   * the time of im2col + GEMM, m = 2 on 14x14 (256, 69 %) 0.8x; m = 4 on
   * 7x7 (512, 73 %) 0.78x (its transformed weights, 38 MB, fit the
   * paper model's memory budget since the 3x3 weights of Winograd
   * convolutions are released); the demo's 6x6 (32 channels) and 2x2
   * (128) with m = 2: 0.6x wall.  So: the m with fewer products, where
   * they are under 75 % of the direct ones. */
  size_t p2 = wino2_products (Ho, Wo, 2), p4 = wino2_products (Ho, Wo, 4);
  size_t p = p4 < p2 ? p4 : p2;

  if (p * 4 >= (size_t)9 * Ho * Wo * 3)
    return 0;
  return p4 < p2 ? 4 : 2;
}

void
ssan_wino_s2_transform (const float *w, int cin, int cout, int m, float *u)
{
  /* row 0: the even samples' tap w1; then F(m,2) (points 0, 1 for m = 2;
   * 0, 1, -1, 2 for m = 4; and infinity) on the taps w0, w2 */
  static const double g2[4][3]
      = { { 0, 1, 0 }, { 1, 0, 0 }, { 1, 0, 1 }, { 0, 0, 1 } };
  static const double g4[6][3]
      = { { 0, 1, 0 }, { 1.0 / 2, 0, 0 }, { -1.0 / 2, 0, -1.0 / 2 },
          { -1.0 / 6, 0, 1.0 / 6 }, { 1.0 / 6, 0, 1.0 / 3 }, { 0, 0, 1 } };

  ssan_wino_transform_g (w, cin, cout, m + 2, m == 2 ? g2 : g4, u);
}

/* Transform-domain points per side: m + 2 for stride 1, 2m + 1 for
 * stride 2 (the polyphase form below). */
/* ---- Winograd for 3x3 stride 2, pad 1 (polyphase) ----
 * Along one axis, output i of a tile whose 2m+1 input samples d start at
 * 2m*t - 1 is w0 d[2i] + w1 d[2i+1] + w2 d[2i+2]: the samples d[2i+1]
 * against w1 alone (m products) plus the samples d[0], d[2], ..., d[2m]
 * against (w0, w2) as F(m,2) (m+1 products).  Transform-domain position
 * r < m is sample d[2r+1], position m+k the F(m,2) point k.  All the
 * even positions have the weight row w1, so of the (2m+1)^2 positions in
 * 2-D only (m+2)^2 have distinct weights (ssan_wino_s2_transform): class
 * (cr, cs), cr = 0 for the m even rows, 1+k for point k; a class's
 * positions are the columns of one GEMM [cout][cin] x [cin][mult*nc]. */

void
ssan_wino2_product (int m, int q, int cin, int cout, size_t nc, size_t *boff,
    size_t *coff, int *w)
{
  size_t base = (size_t)wino2_base (m, q);

  *boff = base * cin * nc;
  *coff = base * cout * nc;
  *w = wino2_mult (m, q) * (int)nc;
}
