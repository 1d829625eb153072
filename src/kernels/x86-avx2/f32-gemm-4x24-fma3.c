/* gst-ssan engine kernels: f32 GEMM, 4x24, AVX2+FMA. */
#define SSAN_ISA avx2
#include "avx2.h"

#include <immintrin.h>

/* The convolutions' GEMM for AVX2+FMA, 4 x 24 register blocks:
 * c[M][N] = act(a[M][K] b[K][N] + bias (+ c if accumulate)), a and b read
 * in place (rows of a are broadcast, strips of b copied to the stack): no
 * packing of the weights per call, no separate zeroing or epilogue pass
 * over c.  Used for the 1x1 convolutions and the Winograd products, where
 * OpenBLAS spends a third of its time outside its kernel (weights packed
 * again for every narrow GEMM, C zeroed, bias and ReLU in another pass). */
#define GEMM_MR 4
#define GEMM_NR 24
#define GEMM_KC 256
#define GEMM_NC 96
_Static_assert(GEMM_KC *GEMM_NC <= SSAN_GEMM_PANEL_USE, "panel");
/* Floats of b (K * ldb) up to which the GEMM reads it in place */
#define GEMM_DIRECT_MAX ((size_t)16 << 10)

/* One mr x (nv*8) block of c over kc values of the depth; the last vector
 * is masked to its valid columns when masked.  first: c starts from 0 (or
 * from c when accumulating), else from c; last: add bias, apply ReLU.
 * Meanwhile the GEMM_MR rows at an (the next block's rows of a) are
 * prefetched: rows of a are short streams that the hardware prefetcher
 * does not catch in time (measured: the 36 Winograd products of a layer
 * ran at 45-75 % of the rate they reach with a in cache, 75-97 % with
 * this). */
static inline __attribute__ ((always_inline)) void
gemm_micro (const int mr, const int nv, const int masked, int kc,
    const float *a, size_t lda, const float *bp, size_t ldp, float *c,
    size_t ldc, int load_c, int last, const float *bias, int relu, __m256i mask,
    const float *an)
{
  __m256 acc[GEMM_MR][3];
  int i, v, p, p0;

  /* c's rows are far apart (one per output channel): fetch them now, use
   * them after the products */
#pragma GCC unroll 4
  for (i = 0; i < mr; i++) {
    const char *cp = (const char *)(c + (size_t)i * ldc);
    _mm_prefetch (cp, _MM_HINT_T0);
    _mm_prefetch (cp + 64, _MM_HINT_T0);
    if (nv == 3)
      _mm_prefetch (cp + 95, _MM_HINT_T0);
#pragma GCC unroll 3
    for (v = 0; v < nv; v++)
      acc[i][v] = _mm256_setzero_ps ();
  }
  for (p0 = 0; p0 < kc; p0 += 16) {
    int pe = kc - p0 < 16 ? kc : p0 + 16;

#pragma GCC unroll 4
    for (i = 0; i < mr; i++)
      _mm_prefetch ((const char *)(an + (size_t)i * lda + p0), _MM_HINT_T0);
    for (p = p0; p < pe; p++) {
      __m256 b[3];

#pragma GCC unroll 3
      for (v = 0; v < nv; v++)
        b[v] = _mm256_loadu_ps (bp + (size_t)p * ldp + v * 8);
#pragma GCC unroll 4
      for (i = 0; i < mr; i++) {
        __m256 av = _mm256_broadcast_ss (a + (size_t)i * lda + p);
#pragma GCC unroll 3
        for (v = 0; v < nv; v++)
          acc[i][v] = _mm256_fmadd_ps (av, b[v], acc[i][v]);
      }
    }
  }
#pragma GCC unroll 4
  for (i = 0; i < mr; i++) {
    __m256 bb = _mm256_set1_ps (last && bias ? bias[i] : 0.0f);
#pragma GCC unroll 3
    for (v = 0; v < nv; v++) {
      float *cp = c + (size_t)i * ldc + v * 8;
      __m256 x = acc[i][v];
      if (load_c)
        x = _mm256_add_ps (x, masked && v == nv - 1
                                  ? _mm256_maskload_ps (cp, mask)
                                  : _mm256_loadu_ps (cp));
      if (last) {
        x = _mm256_add_ps (x, bb);
        if (relu)
          x = _mm256_max_ps (x, _mm256_setzero_ps ());
      }
      if (masked && v == nv - 1)
        _mm256_maskstore_ps (cp, mask, x);
      else
        _mm256_storeu_ps (cp, x);
    }
  }
}

/* gemm_micro for mr rows at ai, ci with the strip's nv and masked as
 * compile-time constants */
#define GEMM_MICRO(mr, ai, ci, bi)                                             \
  do {                                                                         \
    if (!masked && nv == 3)                                                    \
      gemm_micro (mr, 3, 0, kc, ai, lda, bp, ldp, ci, ldc, load_c, last, bi,   \
          relu, mask, an);                                                     \
    else if (!masked && nv == 2)                                               \
      gemm_micro (mr, 2, 0, kc, ai, lda, bp, ldp, ci, ldc, load_c, last, bi,   \
          relu, mask, an);                                                     \
    else if (!masked)                                                          \
      gemm_micro (mr, 1, 0, kc, ai, lda, bp, ldp, ci, ldc, load_c, last, bi,   \
          relu, mask, an);                                                     \
    else if (nv == 3)                                                          \
      gemm_micro (mr, 3, 1, kc, ai, lda, bp, ldp, ci, ldc, load_c, last, bi,   \
          relu, mask, an);                                                     \
    else if (nv == 2)                                                          \
      gemm_micro (mr, 2, 1, kc, ai, lda, bp, ldp, ci, ldc, load_c, last, bi,   \
          relu, mask, an);                                                     \
    else                                                                       \
      gemm_micro (mr, 1, 1, kc, ai, lda, bp, ldp, ci, ldc, load_c, last, bi,   \
          relu, mask, an);                                                     \
  } while (0)

/* Rows [ir, M) of one strip: blocks of GEMM_MR rows, then single rows. */
static void
gemm_strip (int M, int nv, int masked, int kc, const float *a, size_t lda,
    const float *bp, size_t ldp, float *c, size_t ldc, int load_c, int last,
    const float *bias, int relu, __m256i mask)
{
  int ir, r;
  const float *an;

  /* the next block's rows; after the last block, the first (the next
   * strip starts there again); never a row outside a */
  for (ir = 0; ir + GEMM_MR <= M; ir += GEMM_MR) {
    an = ir + 2 * GEMM_MR <= M ? a + (size_t)(ir + GEMM_MR) * lda : a;
    GEMM_MICRO (GEMM_MR, a + (size_t)ir * lda, c + (size_t)ir * ldc,
        bias ? bias + ir : NULL);
  }
  for (r = ir; r < M; r++) {
    an = a + (size_t)(r + 1 < M ? r + 1 : 0) * lda;
    GEMM_MICRO (
        1, a + (size_t)r * lda, c + (size_t)r * ldc, bias ? bias + r : NULL);
  }
}

/* Lanes k < n set. */
static inline __m256i
gemm_mask (int n)
{
  int e[8], k;

  for (k = 0; k < 8; k++)
    e[k] = k < n ? -1 : 0;
  return _mm256_loadu_si256 ((const __m256i *)e);
}

/* Strips of a panel of nc columns: GEMM_NR wide, except that a last one
 * of 8 or fewer would leave the kernel load-bound, so that it and the one
 * before become two of 16 or fewer.  Returns their count; w[s] widths. */
static int
gemm_strips (int nc, int *w)
{
  int ns = 0, left = nc;

  while (left > 0) {
    if (left > GEMM_NR && left <= GEMM_NR + 8) {
      w[ns++] = (left + 1) / 2;
      w[ns++] = left / 2;
      break;
    }
    w[ns] = left < GEMM_NR ? left : GEMM_NR;
    left -= w[ns++];
  }
  return ns;
}

void
SSAN_K (gemm) (int M, int N, int K, const float *a, size_t lda, const float *b,
    size_t ldb, float *c, size_t ldc, const float *bias, int relu,
    int accumulate, float *panel)
{
  int pc, jc, w[GEMM_NC / GEMM_NR + 2];
  /* a small b (Winograd: the chunk's transformed tiles) stays in cache as
   * it is: read in place, whole vectors */
  int direct = N % 8 == 0 && (size_t)K * ldb <= GEMM_DIRECT_MAX;
  /* panels of equal width (whole strips) rather than a narrow last one:
   * each panel is a pass over a */
  int np = (N + GEMM_NC - 1) / GEMM_NC;
  int pw;

  if (M <= 0 || N <= 0)
    return;
  pw = ((N + np - 1) / np + GEMM_NR - 1) / GEMM_NR * GEMM_NR;

  for (pc = 0; pc < K; pc += GEMM_KC) {
    int kc = K - pc < GEMM_KC ? K - pc : GEMM_KC;
    int load_c = pc > 0 || accumulate, last = pc + kc == K;

    for (jc = 0; jc < N; jc += pw) {
      int nc = N - jc < pw ? N - jc : pw;
      int ns = gemm_strips (nc, w), p, s;
      const float *bs = b + (size_t)pc * ldb + jc;

      /* the panel's strips [kc][GEMM_NR], read along b's rows */
      for (p = 0; p < kc && !direct; p++) {
        const float *src = bs + (size_t)p * ldb;
        for (s = 0; s < ns; s++) {
          float *dst = panel + ((size_t)s * kc + p) * GEMM_NR;
          int n = w[s], v;
          if (n == GEMM_NR) {
            _mm256_store_ps (dst, _mm256_loadu_ps (src));
            _mm256_store_ps (dst + 8, _mm256_loadu_ps (src + 8));
            _mm256_store_ps (dst + 16, _mm256_loadu_ps (src + 16));
          } else {
            for (v = 0; v * 8 < n; v++) {
              __m256 x = n - v * 8 >= 8 ? _mm256_loadu_ps (src + v * 8)
                                        : _mm256_maskload_ps (
                                            src + v * 8, gemm_mask (n - v * 8));
              _mm256_store_ps (dst + v * 8, x);
            }
          }
          src += n;
        }
      }
      for (s = 0, p = jc; s < ns; p += w[s++]) {
        int nv = (w[s] + 7) / 8, masked = w[s] % 8 != 0;

        if (direct)
          gemm_strip (M, nv, 0, kc, a + pc, lda, bs + (p - jc), ldb, c + p, ldc,
              load_c, last, bias, relu, gemm_mask (8));
        else
          gemm_strip (M, nv, masked, kc, a + pc, lda,
              panel + (size_t)s * kc * GEMM_NR, GEMM_NR, c + p, ldc, load_c,
              last, bias, relu, gemm_mask (w[s] - (nv - 1) * 8));
      }
    }
  }
}
