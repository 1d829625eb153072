/* gst-ssan engine kernels: f32 GEMM, 8x48 (3 vectors of 16 floats), for
 * AVX-512's 32 registers: 24 accumulators, 3 rows of b, a broadcast.
 *
 * c[M][N] = act(a[M][K] b[K][N] + bias (+ c if accumulate)), as the AVX2
 * kernel (x86-avx2/f32-gemm-4x24-fma3.c): rows of a broadcast from where
 * they are, b read in place when small (the Winograd chunks) or else in
 * panels of 48-column strips, bias/ReLU/residual fused into the stores,
 * ragged columns by masked loads and stores.  Written in GCC vectors of 16
 * floats so that the avx512_emu build runs the same code on AVX2. */
#include "avx512.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#define GEMM_MR 8
#define GEMM_NR 48
#define GEMM_KC 256
#define GEMM_NC 96
_Static_assert(GEMM_KC *GEMM_NC <= SSAN_GEMM_PANEL_USE, "panel");
/* Floats of b (K * ldb) up to which the GEMM reads it in place */
#define GEMM_DIRECT_MAX ((size_t)16 << 10)

/* Loads (zero beyond) and stores of the first n (1..16) floats at p */
#if defined(__AVX512F__)
#define V16_LOADN(v, p, n)                                                     \
  ((v) = (v16f)_mm512_maskz_loadu_ps ((__mmask16)((1u << (n)) - 1), (p)))
#define V16_STOREN(p, v, n)                                                    \
  _mm512_mask_storeu_ps ((p), (__mmask16)((1u << (n)) - 1), (__m512)(v))
#else
#define V16_LOADN(v, p, n)                                                     \
  do {                                                                         \
    (v) = (v16f){ 0 };                                                         \
    memcpy (&(v), (p), (size_t)(n) * sizeof (float));                          \
  } while (0)
#define V16_STOREN(p, v, n)                                                    \
  do {                                                                         \
    v16f s_ = (v);                                                             \
    memcpy ((p), &s_, (size_t)(n) * sizeof (float));                           \
  } while (0)
#endif
#define V16_LOAD(v, p) memcpy (&(v), (p), sizeof (v16f))
#define V16_STORE(p, v) memcpy ((p), &(v), sizeof (v16f))

/* One mr x (nv*16) block of c over kc values of the depth, the last vector
 * holding tail (1..16) valid columns.  load_c: c starts from c (depth
 * blocks after the first, or accumulating); last: add bias, apply ReLU.
 * Meanwhile the rows at an (the next block's rows of a) are prefetched:
 * rows of a are short streams that the hardware prefetcher does not catch
 * in time. */
static inline __attribute__ ((always_inline)) void
gemm_micro (const int mr, const int nv, const int masked, int kc,
    const float *a, size_t lda, const float *bp, size_t ldp, float *c,
    size_t ldc, int load_c, int last, const float *bias, int relu, int tail,
    const float *an)
{
  v16f acc[GEMM_MR][3];
  int i, v, p, p0;

  /* c's rows are far apart (one per output channel): fetch them now, use
   * them after the products */
#pragma GCC unroll 8
  for (i = 0; i < mr; i++) {
    const float *cp = c + (size_t)i * ldc;
    __builtin_prefetch (cp, 1, 3);
    __builtin_prefetch (cp + 16 * nv - 1, 1, 3);
    if (nv > 1)
      __builtin_prefetch (cp + 16, 1, 3);
    if (nv > 2)
      __builtin_prefetch (cp + 32, 1, 3);
#pragma GCC unroll 3
    for (v = 0; v < nv; v++)
      acc[i][v] = (v16f){ 0 };
  }
  for (p0 = 0; p0 < kc; p0 += 16) {
    int pe = kc - p0 < 16 ? kc : p0 + 16;

#pragma GCC unroll 8
    for (i = 0; i < mr; i++)
      __builtin_prefetch (an + (size_t)i * lda + p0, 0, 3);
    for (p = p0; p < pe; p++) {
      v16f b[3];

#pragma GCC unroll 3
      for (v = 0; v < nv; v++) {
        const float *q = bp + (size_t)p * ldp + v * 16;
        if (masked && v == nv - 1)
          V16_LOADN (b[v], q, tail);
        else
          V16_LOAD (b[v], q);
      }
#pragma GCC unroll 8
      for (i = 0; i < mr; i++) {
        v16f av = V16F (a[(size_t)i * lda + p]);
#pragma GCC unroll 3
        for (v = 0; v < nv; v++)
          acc[i][v] += av * b[v];
      }
    }
  }
#pragma GCC unroll 8
  for (i = 0; i < mr; i++) {
    float bb = last && bias ? bias[i] : 0.0f;
#pragma GCC unroll 3
    for (v = 0; v < nv; v++) {
      float *cp = c + (size_t)i * ldc + v * 16;
      int part = masked && v == nv - 1;
      v16f x = acc[i][v], y;

      if (load_c) {
        if (part)
          V16_LOADN (y, cp, tail);
        else
          V16_LOAD (y, cp);
        x += y;
      }
      if (last) {
        x += bb;
        if (relu)
          x = SSAN_VMAX_v16f (x, ((v16f){ 0 }));
      }
      if (part)
        V16_STOREN (cp, x, tail);
      else
        V16_STORE (cp, x);
    }
  }
}

/* gemm_micro for mr rows at ai, ci with the strip's nv and masked as
 * compile-time constants */
#define GEMM_MICRO_NV(mr, m, ai, ci, bi)                                       \
  do {                                                                         \
    if (nv == 3)                                                               \
      gemm_micro (mr, 3, m, kc, ai, lda, bp, ldp, ci, ldc, load_c, last, bi,   \
          relu, tail, an);                                                     \
    else if (nv == 2)                                                          \
      gemm_micro (mr, 2, m, kc, ai, lda, bp, ldp, ci, ldc, load_c, last, bi,   \
          relu, tail, an);                                                     \
    else                                                                       \
      gemm_micro (mr, 1, m, kc, ai, lda, bp, ldp, ci, ldc, load_c, last, bi,   \
          relu, tail, an);                                                     \
  } while (0)
#define GEMM_MICRO(mr, ai, ci, bi)                                             \
  do {                                                                         \
    if (masked)                                                                \
      GEMM_MICRO_NV (mr, 1, ai, ci, bi);                                       \
    else                                                                       \
      GEMM_MICRO_NV (mr, 0, ai, ci, bi);                                       \
  } while (0)

/* Rows [0, M) of one strip: blocks of 8 rows, then of 4, then single
 * rows; an is the next block's first row (after the last, the strip's
 * first: the next strip starts there again; never a row outside a). */
static void
gemm_strip (int M, int nv, int masked, int tail, int kc, const float *a,
    size_t lda, const float *bp, size_t ldp, float *c, size_t ldc, int load_c,
    int last, const float *bias, int relu)
{
  int ir = 0;
  const float *an;

  for (; ir + 8 <= M; ir += 8) {
    an = ir + 8 < M ? a + (size_t)(ir + 8) * lda : a;
    GEMM_MICRO (
        8, a + (size_t)ir * lda, c + (size_t)ir * ldc, bias ? bias + ir : NULL);
  }
  for (; ir + 4 <= M; ir += 4) {
    an = ir + 4 < M ? a + (size_t)(ir + 4) * lda : a;
    GEMM_MICRO (
        4, a + (size_t)ir * lda, c + (size_t)ir * ldc, bias ? bias + ir : NULL);
  }
  for (; ir < M; ir++) {
    an = a + (size_t)(ir + 1 < M ? ir + 1 : 0) * lda;
    GEMM_MICRO (
        1, a + (size_t)ir * lda, c + (size_t)ir * ldc, bias ? bias + ir : NULL);
  }
}

/* Strips of a panel of nc columns: GEMM_NR wide, except that a last one
 * of 16 or fewer would leave the kernel load-bound, so that it and the one
 * before share the rest.  Returns their count; w[s] widths. */
static int
gemm_strips (int nc, int *w)
{
  int ns = 0, left = nc;

  while (left > 0) {
    if (left > GEMM_NR && left <= GEMM_NR + 16) {
      w[ns] = ((left + 1) / 2 + 15) & ~15;
      w[ns + 1] = left - w[ns];
      ns += 2;
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
  int pc, jc, w[GEMM_NC / 16 + 2];
  /* a small b (Winograd: the chunk's transformed tiles) stays in cache as
   * it is: read in place */
  int direct = (size_t)K * ldb <= GEMM_DIRECT_MAX;
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
          if (w[s] == GEMM_NR)
            memcpy (dst, src, GEMM_NR * sizeof (float));
          else
            memcpy (dst, src, (size_t)w[s] * sizeof (float));
          src += w[s];
        }
      }
      for (s = 0, p = jc; s < ns; p += w[s++]) {
        int nv = (w[s] + 15) / 16, tail = w[s] - (nv - 1) * 16;
        int masked = tail != 16;

        if (direct)
          gemm_strip (M, nv, masked, tail, kc, a + pc, lda, bs + (p - jc), ldb,
              c + p, ldc, load_c, last, bias, relu);
        else
          gemm_strip (M, nv, masked, tail, kc, a + pc, lda,
              panel + (size_t)s * kc * GEMM_NR, GEMM_NR, c + p, ldc, load_c,
              last, bias, relu);
      }
    }
  }
}
