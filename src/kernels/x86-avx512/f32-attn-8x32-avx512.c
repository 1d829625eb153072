/* gst-ssan engine kernels: the position branch's two products in blocks
 * of 8 keys (or channels) x 32 queries (two vectors of 16 floats, 16
 * accumulators; tails in blocks of 4 and 1), and the online softmax step on 32
 * score columns while they are in L1, with the shared 16-wide exp (SSAN_VEXP2).
 * Keys and values packed in groups of 4 (src/ops/attention.c); tiles padded to
 * 32 queries (attn_align). */
#include "avx512.h"

#include <math.h>

#define V16_LOAD(v, p) memcpy (&(v), (p), sizeof (v16f))
#define V16_STORE(p, v) memcpy ((p), &(v), sizeof (v16f))

/* acc[2r], acc[2r + 1] = sum_k b[R*k + r] * a[k*lda + 0..31] for r < R
 * (R = 4: b packed 4 rows at a time; R = 1: one row), k < n; with G = 2
 * also rows R..2R-1 from the next group at b + gs (16 accumulators: each
 * row of a loaded once for 8 rows of b) */
static inline __attribute__ ((always_inline)) void
fma_rx32 (const int R, const int G, const float *b, size_t gs, const float *a,
    size_t lda, int n, v16f *acc)
{
  v16f s[16];
  int k, r, g;

#pragma GCC unroll 8
  for (r = 0; r < R * G; r++)
    s[2 * r] = s[2 * r + 1] = (v16f){ 0 };
  for (k = 0; k < n; k++, b += R, a += lda) {
    v16f x0, x1;

    V16_LOAD (x0, a);
    V16_LOAD (x1, a + 16);
#pragma GCC unroll 2
    for (g = 0; g < G; g++) {
#pragma GCC unroll 4
      for (r = 0; r < R; r++) {
        v16f y = V16F (b[g * gs + r]);
        s[2 * (g * R + r)] += y * x0;
        s[2 * (g * R + r) + 1] += y * x1;
      }
    }
  }
#pragma GCC unroll 8
  for (r = 0; r < R * G; r++) {
    acc[2 * r] = s[2 * r];
    acc[2 * r + 1] = s[2 * r + 1];
  }
}

/* Online softmax of 32 score columns [nk][32] (row stride ls): t[0..32)
 * are their maxima over the tile; as the portable online_softmax. */
static void
softmax_strip (
    float *s, int ls, int nk, const float *t, float *m, float *l, float *corr)
{
  v16f m0, m1, n0, n1, c0, c1, l0, l1, t0, t1;
  int j;

  V16_LOAD (t0, t);
  V16_LOAD (t1, t + 16);
  V16_LOAD (m0, m);
  V16_LOAD (m1, m + 16);
  n0 = SSAN_VMAX_v16f (m0, t0);
  n1 = SSAN_VMAX_v16f (m1, t1);
  SSAN_VEXP2 (v16f, v16i, c0, m0 - n0);
  SSAN_VEXP2 (v16f, v16i, c1, m1 - n1);
  V16_LOAD (l0, l);
  V16_LOAD (l1, l + 16);
  l0 *= c0;
  l1 *= c1;
  for (j = 0; j < nk; j++, s += ls) {
    v16f x0, x1, e0, e1;

    V16_LOAD (x0, s);
    V16_LOAD (x1, s + 16);
    SSAN_VEXP2 (v16f, v16i, e0, x0 - n0);
    SSAN_VEXP2 (v16f, v16i, e1, x1 - n1);
    l0 += e0;
    l1 += e1;
    V16_STORE (s, e0);
    V16_STORE (s + 16, e1);
  }
  V16_STORE (m, n0);
  V16_STORE (m + 16, n1);
  V16_STORE (l, l0);
  V16_STORE (l + 16, l1);
  V16_STORE (corr, c0);
  V16_STORE (corr + 16, c1);
}

/* Scales the R rows of a block by alpha, stores them at out (row stride
 * ls) and raises the column maxima mx0, mx1. */
#define STORE_ROWS(R)                                                          \
  do {                                                                         \
    int r_;                                                                    \
    for (r_ = 0; r_ < (R); r_++) {                                             \
      v16f x0_ = a[2 * r_] * alpha, x1_ = a[2 * r_ + 1] * alpha;               \
      V16_STORE (out + (size_t)r_ * ls, x0_);                                  \
      V16_STORE (out + (size_t)r_ * ls + 16, x1_);                             \
      mx0 = SSAN_VMAX_v16f (mx0, x0_);                                         \
      mx1 = SSAN_VMAX_v16f (mx1, x1_);                                         \
    }                                                                          \
  } while (0)

/* Rows [0, n) of b in blocks of 8 (two packed groups of 4), then 4, then
 * single rows: BLOCK (R, G) for each, r its first row */
#define FOR_BLOCKS(r, n, BLOCK)                                                \
  do {                                                                         \
    for (r = 0; r + 8 <= (n); r += 8)                                          \
      BLOCK (4, 2);                                                            \
    for (; r + 4 <= (n); r += 4)                                               \
      BLOCK (4, 1);                                                            \
    for (; r < (n); r++)                                                       \
      BLOCK (1, 1);                                                            \
  } while (0)

#define SCORE_BLOCK(R, G)                                                      \
  do {                                                                         \
    float *out = s + (size_t)j * ls + i;                                       \
    fma_rx32 (R, G, kp + (size_t)j * c, (size_t)4 * c, qp + i, mp, c, a);      \
    STORE_ROWS ((R) * (G));                                                    \
  } while (0)

void
SSAN_K (attn_scores) (const float *qp, int mp, const float *kp, int c, int nk,
    int ls, float alpha, float *s, float *m, float *l, float *corr)
{
  int i, j;

  for (i = 0; i < mp; i += 32) {
    v16f mx0 = (v16f){ 0 } - INFINITY, mx1 = mx0, a[16];
    float mx[32];

    FOR_BLOCKS (j, nk, SCORE_BLOCK);
    V16_STORE (mx, mx0);
    V16_STORE (mx + 16, mx1);
    softmax_strip (s + i, ls, nk, mx, m + i, l + i, corr + i);
  }
}

/* Adds the R rows of a block to out (row stride mp). */
#define ADD_ROWS(R)                                                            \
  do {                                                                         \
    int r_;                                                                    \
    for (r_ = 0; r_ < (R); r_++) {                                             \
      float *o_ = out + (size_t)r_ * mp;                                       \
      v16f y0_, y1_;                                                           \
      V16_LOAD (y0_, o_);                                                      \
      V16_LOAD (y1_, o_ + 16);                                                 \
      y0_ += a[2 * r_];                                                        \
      y1_ += a[2 * r_ + 1];                                                    \
      V16_STORE (o_, y0_);                                                     \
      V16_STORE (o_ + 16, y1_);                                                \
    }                                                                          \
  } while (0)

#define ACCUMULATE_BLOCK(R, G)                                                 \
  do {                                                                         \
    float *out = o + (size_t)cc * mp + i;                                      \
    fma_rx32 (R, G, vp + (size_t)cc * nk, (size_t)4 * nk, p + i, ls, nk, a);   \
    ADD_ROWS ((R) * (G));                                                      \
  } while (0)

void
SSAN_K (attn_accumulate) (
    const float *vp, int c, int nk, const float *p, int ls, int mp, float *o)
{
  int i, cc;

  for (i = 0; i < mp; i += 32) {
    v16f a[16];

    FOR_BLOCKS (cc, c, ACCUMULATE_BLOCK);
  }
}
