/* gst-ssan engine kernels: position-branch products, 4x16 blocks, and
 * the online softmax, AVX2+FMA. */
#define SSAN_ISA avx2
#include "avx2.h"

#include <immintrin.h>
#include <math.h>

/* The position branch's two products with AVX2+FMA register blocking
 * (4 keys or channels x 16 queries per block), used when the CPU has them:
 * the score tile's column maxima come for free while it is written, and no
 * zeroing pass touches the tile.  Elsewhere OpenBLAS computes the same
 * products. */
#define SSAN_STORE_ROW(r, x0, x1)                                              \
  do {                                                                         \
    x0 = _mm256_mul_ps (x0, va);                                               \
    x1 = _mm256_mul_ps (x1, va);                                               \
    _mm256_storeu_ps (out + (size_t)(r)*ls, x0);                               \
    _mm256_storeu_ps (out + (size_t)(r)*ls + 8, x1);                           \
    mx0 = _mm256_max_ps (mx0, x0);                                             \
    mx1 = _mm256_max_ps (mx1, x1);                                             \
  } while (0)

/* 2^x of the shared polynomial (SSAN_VEXP2; FMAs by -ffp-contract=fast) */
static inline __m256
exp2_fma (__m256 x)
{
  v8f y;

  V8F_EXP2 (y, (v8f)x);
  return (__m256)y;
}

/* Online softmax of 16 score columns [nk][16] (row stride ls) while they
 * are in L1: as online_softmax for these columns; t0, t1 are their
 * maxima over the tile. */
static void
softmax_strip_fma (float *s, int ls, int nk, __m256 t0, __m256 t1, float *m,
    float *l, float *corr)
{
  __m256 m0 = _mm256_loadu_ps (m), m1 = _mm256_loadu_ps (m + 8);
  __m256 n0 = _mm256_max_ps (m0, t0), n1 = _mm256_max_ps (m1, t1);
  __m256 c0 = exp2_fma (_mm256_sub_ps (m0, n0));
  __m256 c1 = exp2_fma (_mm256_sub_ps (m1, n1));
  __m256 l0 = _mm256_mul_ps (_mm256_loadu_ps (l), c0);
  __m256 l1 = _mm256_mul_ps (_mm256_loadu_ps (l + 8), c1);
  int j;

  for (j = 0; j < nk; j++, s += ls) {
    __m256 e0 = exp2_fma (_mm256_sub_ps (_mm256_loadu_ps (s), n0));
    __m256 e1 = exp2_fma (_mm256_sub_ps (_mm256_loadu_ps (s + 8), n1));
    l0 = _mm256_add_ps (l0, e0);
    l1 = _mm256_add_ps (l1, e1);
    _mm256_storeu_ps (s, e0);
    _mm256_storeu_ps (s + 8, e1);
  }
  _mm256_storeu_ps (m, n0);
  _mm256_storeu_ps (m + 8, n1);
  _mm256_storeu_ps (l, l0);
  _mm256_storeu_ps (l + 8, l1);
  _mm256_storeu_ps (corr, c0);
  _mm256_storeu_ps (corr + 8, c1);
}

/* The 4x16 block of both position-branch products: acc[2r], acc[2r + 1] =
 * sum_k b[4k + r] * a[k*lda + 0..15] for r < 4, k < n (b packed 4 rows at a
 * time by pack_keys / pack_values); fma_1x16 the same for one row b[k]. */
static inline __attribute__ ((always_inline)) void
fma_4x16 (const float *b, const float *a, size_t lda, int n, __m256 *acc)
{
  __m256 a00 = _mm256_setzero_ps (), a01 = a00, a10 = a00, a11 = a00;
  __m256 a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  int k;

  for (k = 0; k < n; k++, b += 4, a += lda) {
    __m256 x0 = _mm256_loadu_ps (a), x1 = _mm256_loadu_ps (a + 8), y;
    y = _mm256_broadcast_ss (b);
    a00 = _mm256_fmadd_ps (y, x0, a00);
    a01 = _mm256_fmadd_ps (y, x1, a01);
    y = _mm256_broadcast_ss (b + 1);
    a10 = _mm256_fmadd_ps (y, x0, a10);
    a11 = _mm256_fmadd_ps (y, x1, a11);
    y = _mm256_broadcast_ss (b + 2);
    a20 = _mm256_fmadd_ps (y, x0, a20);
    a21 = _mm256_fmadd_ps (y, x1, a21);
    y = _mm256_broadcast_ss (b + 3);
    a30 = _mm256_fmadd_ps (y, x0, a30);
    a31 = _mm256_fmadd_ps (y, x1, a31);
  }
  acc[0] = a00, acc[1] = a01, acc[2] = a10, acc[3] = a11;
  acc[4] = a20, acc[5] = a21, acc[6] = a30, acc[7] = a31;
}

static inline __attribute__ ((always_inline)) void
fma_1x16 (const float *b, const float *a, size_t lda, int n, __m256 *acc)
{
  __m256 a00 = _mm256_setzero_ps (), a01 = a00;
  int k;

  for (k = 0; k < n; k++, b++, a += lda) {
    __m256 y = _mm256_broadcast_ss (b);
    a00 = _mm256_fmadd_ps (y, _mm256_loadu_ps (a), a00);
    a01 = _mm256_fmadd_ps (y, _mm256_loadu_ps (a + 8), a01);
  }
  acc[0] = a00, acc[1] = a01;
}

/* s[j][i] = alpha * sum_c k[c][j] qp[c*mp + i] for j < nk, i < mp (a
 * multiple of 16), k packed by pack_keys; then, 16 columns at a time while
 * they are in L1, the online softmax step (online_softmax): s becomes
 * 2^(s - m) with the updated running maxima m and sums l, corr the factor
 * for earlier partial outputs. */
void
SSAN_K (attn_scores) (const float *qp, int mp, const float *kp, int c, int nk,
    int ls, float alpha, float *s, float *m, float *l, float *corr)
{
  const __m256 va = _mm256_set1_ps (alpha);
  int i, j;

  for (i = 0; i < mp; i += 16) {
    __m256 mx0 = _mm256_set1_ps (-INFINITY), mx1 = mx0;

    for (j = 0; j + 4 <= nk; j += 4) {
      float *out = s + (size_t)j * ls + i;
      __m256 a[8];

      fma_4x16 (kp + (size_t)j * c, qp + i, mp, c, a);
      SSAN_STORE_ROW (0, a[0], a[1]);
      SSAN_STORE_ROW (1, a[2], a[3]);
      SSAN_STORE_ROW (2, a[4], a[5]);
      SSAN_STORE_ROW (3, a[6], a[7]);
    }
    for (; j < nk; j++) {
      float *out = s + (size_t)j * ls + i;
      __m256 a[2];

      fma_1x16 (kp + (size_t)j * c, qp + i, mp, c, a);
      SSAN_STORE_ROW (0, a[0], a[1]);
    }
    softmax_strip_fma (s + i, ls, nk, mx0, mx1, m + i, l + i, corr + i);
  }
}

#define SSAN_ADD_ROW(r, x0, x1)                                                \
  do {                                                                         \
    float *o_ = out + (size_t)(r)*mp;                                          \
    _mm256_storeu_ps (o_, _mm256_add_ps (_mm256_loadu_ps (o_), x0));           \
    _mm256_storeu_ps (o_ + 8, _mm256_add_ps (_mm256_loadu_ps (o_ + 8), x1));   \
  } while (0)

/* o[c][i] += sum_j v[c][j] p[j*mp + i] for i < mp (a multiple of 16), v
 * packed by pack_values. */
void
SSAN_K (attn_accumulate) (
    const float *vp, int c, int nk, const float *p, int ls, int mp, float *o)
{
  int i, cc;

  for (i = 0; i < mp; i += 16) {
    for (cc = 0; cc + 4 <= c; cc += 4) {
      float *out = o + (size_t)cc * mp + i;
      __m256 a[8];

      fma_4x16 (vp + (size_t)cc * nk, p + i, ls, nk, a);
      SSAN_ADD_ROW (0, a[0], a[1]);
      SSAN_ADD_ROW (1, a[2], a[3]);
      SSAN_ADD_ROW (2, a[4], a[5]);
      SSAN_ADD_ROW (3, a[6], a[7]);
    }
    for (; cc < c; cc++) {
      float *out = o + (size_t)cc * mp + i;
      __m256 a[2];

      fma_1x16 (vp + (size_t)cc * nk, p + i, ls, nk, a);
      SSAN_ADD_ROW (0, a[0], a[1]);
    }
  }
}
#undef SSAN_STORE_ROW
#undef SSAN_ADD_ROW
