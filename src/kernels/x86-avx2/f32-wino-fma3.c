/* gst-ssan engine kernels: Winograd transforms (stride 1 m = 4, stride 2
 * m = 2, 4), 8 tiles at a time, AVX2+FMA. */
#define SSAN_ISA avx2
#include "avx2.h"
#include "../generic.h"
#include "../wino.h"

#include <immintrin.h>

/* In place: r[k][l] <- r[l][k] for the 8x8 block r[8]. */
#define SSAN_TRANSPOSE8(r)                                                     \
  do {                                                                         \
    __m256 t0_ = _mm256_unpacklo_ps (r[0], r[1]);                              \
    __m256 t1_ = _mm256_unpackhi_ps (r[0], r[1]);                              \
    __m256 t2_ = _mm256_unpacklo_ps (r[2], r[3]);                              \
    __m256 t3_ = _mm256_unpackhi_ps (r[2], r[3]);                              \
    __m256 t4_ = _mm256_unpacklo_ps (r[4], r[5]);                              \
    __m256 t5_ = _mm256_unpackhi_ps (r[4], r[5]);                              \
    __m256 t6_ = _mm256_unpacklo_ps (r[6], r[7]);                              \
    __m256 t7_ = _mm256_unpackhi_ps (r[6], r[7]);                              \
    __m256 s0_ = _mm256_shuffle_ps (t0_, t2_, 0x44);                           \
    __m256 s1_ = _mm256_shuffle_ps (t0_, t2_, 0xee);                           \
    __m256 s2_ = _mm256_shuffle_ps (t1_, t3_, 0x44);                           \
    __m256 s3_ = _mm256_shuffle_ps (t1_, t3_, 0xee);                           \
    __m256 s4_ = _mm256_shuffle_ps (t4_, t6_, 0x44);                           \
    __m256 s5_ = _mm256_shuffle_ps (t4_, t6_, 0xee);                           \
    __m256 s6_ = _mm256_shuffle_ps (t5_, t7_, 0x44);                           \
    __m256 s7_ = _mm256_shuffle_ps (t5_, t7_, 0xee);                           \
    r[0] = _mm256_permute2f128_ps (s0_, s4_, 0x20);                            \
    r[1] = _mm256_permute2f128_ps (s1_, s5_, 0x20);                            \
    r[2] = _mm256_permute2f128_ps (s2_, s6_, 0x20);                            \
    r[3] = _mm256_permute2f128_ps (s3_, s7_, 0x20);                            \
    r[4] = _mm256_permute2f128_ps (s0_, s4_, 0x31);                            \
    r[5] = _mm256_permute2f128_ps (s1_, s5_, 0x31);                            \
    r[6] = _mm256_permute2f128_ps (s2_, s6_, 0x31);                            \
    r[7] = _mm256_permute2f128_ps (s3_, s7_, 0x31);                            \
  } while (0)

/* Columns k < n of the patch row starting at x0 that lie inside [0, W):
 * a maskload/maskstore mask, all set when the whole 8-float load fits. */
static inline __m256i
wino_mask (int x0, int W, int n)
{
  int e[8], k;

  for (k = 0; k < 8; k++)
    e[k] = k < n && x0 + k >= 0 && x0 + k < W ? -1 : 0;
  return _mm256_loadu_si256 ((const __m256i *)e);
}

/* wino_input for m = 4: each lane's patch row is one 8-float load (masked
 * at the map's edges, so nothing outside the map is read), 8 lanes' rows
 * transposed in registers; channel by channel so that the 36 output
 * streams are written in order. */
void
SSAN_K (wino_input_4_fma) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nt, float *v)
{
  int H = j->H, W = j->W, c, l, i, k;
  size_t g;

  (void)t0;
  for (c = 0; c < j->cin; c++) {
    const float *plane = j->src + (size_t)c * j->cs;

    for (g = 0; g < nt; g += 8) {
      const ssan_wino_tile *tg = tl + g;
      v8f x[36], t[36];
      int full[8];
      __m256i mask[8];

      for (l = 0; l < 8; l++) {
        full[l] = tg[l].x0 >= 0 && tg[l].x0 + 8 <= W;
        mask[l] = wino_mask (tg[l].x0, W, 6);
      }
      for (i = 0; i < 6; i++) {
        __m256 r[8];

        for (l = 0; l < 8; l++) {
          int y = tg[l].y0 + i;
          const float *p
              = plane + (size_t)tg[l].f * j->fs + (ptrdiff_t)y * W + tg[l].x0;

          if (y < 0 || y >= H) {
            r[l] = _mm256_setzero_ps ();
            continue;
          }
          /* the same rows of the next channel (the 8 lanes' rows span 3
           * cache lines): the chunk's rows of one channel are too short a
           * stream for the hardware prefetcher */
          if ((l == 0 || l == 4 || l == 7) && c + 1 < j->cin)
            _mm_prefetch (
                (const char *)(p + j->cs + (l == 7 ? 7 : 0)), _MM_HINT_T0);
          if (full[l])
            r[l] = _mm256_loadu_ps (p);
          else
            r[l] = _mm256_maskload_ps (p, mask[l]);
        }
        SSAN_TRANSPOSE8 (r);
        for (k = 0; k < 6; k++)
          x[i * 6 + k] = (v8f)r[k];
      }
      for (k = 0; k < 6; k++)
        WINO_BT4 (t + k, 6, x + k, 6);
      for (i = 0; i < 6; i++)
        WINO_BT4 (x + i * 6, 1, t + i * 6, 1);
      for (i = 0; i < 36; i++)
        _mm256_storeu_ps (
            v + ((size_t)i * j->cin + c) * j->nt + g, (__m256)x[i]);
    }
  }
}

/* Stores the 4x4 outputs y (+ vb) of the 8 tiles tg in their channel's
 * plane with the epilogue: lane l's output rows from oy[l], columns from
 * ox[l] of its frame (none where oy[l] < 0: past the last tile), clipped to
 * the map; each output row of the 8 tiles transposed into 8 rows of 4
 * floats, masked at the map's right edge. */
static inline __attribute__ ((always_inline)) void
wino_store_4 (const ssan_wino_job *j, const ssan_wino_tile *tg, float *plane,
    const v8f *y, v8f vb, const int *oy, const int *ox)
{
  size_t hw = (size_t)j->Ho * j->Wo;
  const __m128 zero = _mm_setzero_ps ();
  int ny[8], nx[8], l, i;
  __m128i mask[8];

  for (l = 0; l < 8; l++) {
    ny[l] = oy[l] < 0 ? 0 : (j->Ho - oy[l] < 4 ? j->Ho - oy[l] : 4);
    nx[l] = j->Wo - ox[l] < 4 ? j->Wo - ox[l] : 4;
    mask[l] = _mm256_castsi256_si128 (wino_mask (0, nx[l], 4));
  }
  for (i = 0; i < 4; i++) {
    __m256 a = (__m256)(y[i * 4] + vb), b = (__m256)(y[i * 4 + 1] + vb);
    __m256 c = (__m256)(y[i * 4 + 2] + vb), d = (__m256)(y[i * 4 + 3] + vb);
    __m256 p0 = _mm256_unpacklo_ps (a, b), p1 = _mm256_unpackhi_ps (a, b);
    __m256 p2 = _mm256_unpacklo_ps (c, d), p3 = _mm256_unpackhi_ps (c, d);
    __m256 u0 = _mm256_shuffle_ps (p0, p2, 0x44);
    __m256 u1 = _mm256_shuffle_ps (p0, p2, 0xee);
    __m256 u2 = _mm256_shuffle_ps (p1, p3, 0x44);
    __m256 u3 = _mm256_shuffle_ps (p1, p3, 0xee);
    __m128 w[8];

    w[0] = _mm256_castps256_ps128 (u0);
    w[1] = _mm256_castps256_ps128 (u1);
    w[2] = _mm256_castps256_ps128 (u2);
    w[3] = _mm256_castps256_ps128 (u3);
    w[4] = _mm256_extractf128_ps (u0, 1);
    w[5] = _mm256_extractf128_ps (u1, 1);
    w[6] = _mm256_extractf128_ps (u2, 1);
    w[7] = _mm256_extractf128_ps (u3, 1);
    for (l = 0; l < 8; l++) {
      float *p;
      __m128 s = w[l];

      if (i >= ny[l])
        continue;
      p = plane + (size_t)tg[l].f * hw + (size_t)(oy[l] + i) * j->Wo + ox[l];
      if (nx[l] == 4) {
        if (j->accumulate)
          s = _mm_add_ps (s, _mm_loadu_ps (p));
        if (j->relu)
          s = _mm_max_ps (s, zero);
        _mm_storeu_ps (p, s);
      } else {
        if (j->accumulate)
          s = _mm_add_ps (s, _mm_maskload_ps (p, mask[l]));
        if (j->relu)
          s = _mm_max_ps (s, zero);
        _mm_maskstore_ps (p, mask[l], s);
      }
    }
  }
}

/* wino_output for m = 4, stored by wino_store_4. */
void
SSAN_K (wino_output_4_fma) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nt, const float *mm)
{
  int o, l, i, k;
  size_t g;

  (void)t0;
  for (o = 0; o < j->cout; o++) {
    float *plane = j->dst + (size_t)o * j->cols;
    v8f vb = V8F (j->b ? j->b[o] : 0.0f);

    for (g = 0; g < nt; g += 8) {
      const ssan_wino_tile *tg = tl + g;
      v8f x[36], t[24], y[16];
      int oy[8], ox[8];

      for (l = 0; l < 8; l++) {
        /* past the last tile: y0 is far out of bounds */
        oy[l] = tg[l].y0 < -1 ? -1 : tg[l].y0 + 1;
        ox[l] = tg[l].x0 + 1;
      }
      for (i = 0; i < 36; i++) {
        const float *q = mm + ((size_t)i * j->cout + o) * j->nt + g;
        /* 36 load streams, more than the hardware prefetcher follows:
         * two groups ahead */
        if ((g & 8) == 0 && (g + 16 < nt || o + 1 < j->cout))
          _mm_prefetch ((const char *)(q + 16), _MM_HINT_T0);
        x[i] = (v8f)_mm256_loadu_ps (q);
      }
      for (k = 0; k < 6; k++)
        WINO_AT4 (t + k, 6, x + k, 6);
      for (i = 0; i < 4; i++)
        WINO_AT4 (y + i * 4, 1, t + i * 6, 1);
      wino_store_4 (j, tg, plane, y, vb, oy, ox);
    }
  }
}

/* wino2_input with AVX2+FMA, channel by channel (the 81 output streams
 * written in order): each lane's patch row is one 8-float load (masked at
 * the map's edges, so nothing outside the map is read) and, for m = 4, a
 * gather of its ninth sample; 8 lanes' rows transposed in registers.
 * tl[t].base: offset of tile t's patch corner from its channel's plane. */
static inline __attribute__ ((always_inline)) void
wino2_input_fma (const ssan_wino_job *j, const ssan_wino_tile *tl, size_t nc,
    float *v, const int m)
{
  const int a = 2 * m + 1;
  const __m256i iota = _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i lim = _mm256_set1_epi32 (j->W);
  int H = j->H, W = j->W, c, l, i, k;
  size_t off[81], step[81], g;

  wino2_layout (m, j->cin, nc, off, step);
  for (c = 0; c < j->cin; c++) {
    const float *plane = j->src + (size_t)c * j->cs;
    int more = c + 1 < j->cin;

    for (g = 0; g < nc; g += 8) {
      const ssan_wino_tile *tg = tl + g;
      v8f x[81], t[81];
      __m256i gidx = _mm256_setr_epi32 (tg[0].base, tg[1].base, tg[2].base,
          tg[3].base, tg[4].base, tg[5].base, tg[6].base, tg[7].base);
      __m256i gx = _mm256_setr_epi32 (tg[0].x0, tg[1].x0, tg[2].x0, tg[3].x0,
          tg[4].x0, tg[5].x0, tg[6].x0, tg[7].x0);
      __m256i gy = _mm256_setr_epi32 (tg[0].y0, tg[1].y0, tg[2].y0, tg[3].y0,
          tg[4].y0, tg[5].y0, tg[6].y0, tg[7].y0);
      /* lanes whose ninth sample is inside the map's width */
      __m256i last = _mm256_cmpgt_epi32 (
          lim, _mm256_add_epi32 (gx, _mm256_set1_epi32 (8)));

      gidx = _mm256_add_epi32 (gidx, _mm256_set1_epi32 (8));
      for (i = 0; i < a; i++) {
        __m256 r[8];

        for (l = 0; l < 8; l++) {
          int y = tg[l].y0 + i, x0 = tg[l].x0;
          const float *p;

          if (y < 0 || y >= H) {
            r[l] = _mm256_setzero_ps ();
            continue;
          }
          p = plane + tg[l].base + (ptrdiff_t)i * W;
          /* the same rows of the next channel: the chunk's rows of one
           * channel are too short a stream for the hardware prefetcher.
           * Every other lane (lanes start 8 floats apart) and the last
           * one's end cover the lines (measured: 10 % faster than every
           * lane) */
          if (more && ((l & 1) == 0 || l == 7))
            _mm_prefetch (
                (const char *)(p + j->cs + (l == 7 ? 8 : 0)), _MM_HINT_T0);
          if (x0 >= 0 && x0 + 8 <= W) {
            r[l] = _mm256_loadu_ps (p);
          } else {
            __m256i xs = _mm256_add_epi32 (_mm256_set1_epi32 (x0), iota);
            __m256i in = _mm256_andnot_si256 (
                _mm256_cmpgt_epi32 (_mm256_setzero_si256 (), xs),
                _mm256_cmpgt_epi32 (lim, xs));
            r[l] = _mm256_maskload_ps (p, in);
          }
        }
        SSAN_TRANSPOSE8 (r);
        for (k = 0; k < a && k < 8; k++)
          x[i * a + k] = (v8f)r[k];
        if (a > 8) {
          __m256i ys = _mm256_add_epi32 (gy, _mm256_set1_epi32 (i));
          __m256i rv = _mm256_andnot_si256 (
              _mm256_cmpgt_epi32 (_mm256_setzero_si256 (), ys),
              _mm256_cmpgt_epi32 (_mm256_set1_epi32 (H), ys));
          __m256i gm = _mm256_and_si256 (last, rv);

          x[i * a + 8] = (v8f)_mm256_mask_i32gather_ps (
              _mm256_setzero_ps (), plane, gidx, _mm256_castsi256_ps (gm), 4);
          gidx = _mm256_add_epi32 (gidx, _mm256_set1_epi32 (W));
        }
      }
      for (k = 0; k < a; k++)
        WINO2_BT (m, t + k, a, x + k, a);
      for (i = 0; i < a; i++)
        WINO2_BT (m, x + i * a, 1, t + i * a, 1);
      for (i = 0; i < a * a; i++)
        _mm256_storeu_ps (v + off[i] + (size_t)c * step[i] + g, (__m256)x[i]);
    }
  }
}

/* (its gathers index a channel's plane with 32-bit offsets) */
void
SSAN_K (wino2_input_2_fma) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, float *v)
{
  if (j->offsets32)
    wino2_input_fma (j, tl, nc, v, 2);
  else
    SSAN_K (wino2_input_2) (j, tl, t0, nc, v);
}

/* (its gathers index a channel's plane with 32-bit offsets) */
void
SSAN_K (wino2_input_4_fma) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, float *v)
{
  if (j->offsets32)
    wino2_input_fma (j, tl, nc, v, 4);
  else
    SSAN_K (wino2_input_4) (j, tl, t0, nc, v);
}

/* wino2_output with AVX2+FMA, output channel by output channel so that
 * the 81 load streams advance in order (prefetched: more streams than the
 * hardware prefetcher follows). */
static inline __attribute__ ((always_inline)) void
wino2_output_fma (const ssan_wino_job *j, const ssan_wino_tile *tl, size_t nc,
    const float *mm, const int m)
{
  const int a = 2 * m + 1;
  size_t off[81], step[81], foff[8], g;
  int oy[8], ox[8], o, l, i, k;

  wino2_layout (m, j->cout, nc, off, step);
  for (o = 0; o < j->cout; o++) {
    float *plane = j->dst + (size_t)o * j->cols;
    v8f vb = V8F (j->b ? j->b[o] : 0.0f);

    for (g = 0; g < nc; g += 8) {
      const ssan_wino_tile *tg = tl + g;
      v8f x[81], t[36], y[16];
      float out[16][8];

      for (i = 0; i < a * a; i++) {
        const float *q = mm + off[i] + (size_t)o * step[i] + g;
        if ((g & 8) == 0)
          _mm_prefetch ((const char *)(q + 16), _MM_HINT_T0);
        x[i] = (v8f)_mm256_loadu_ps (q);
      }
      for (k = 0; k < a; k++)
        WINO2_AT (m, t + k, a, x + k, a);
      for (i = 0; i < m; i++)
        WINO2_AT (m, y + i * m, 1, t + i * a, 1);
      for (l = 0; l < 8; l++) {
        oy[l] = tg[l].y0 < -1 ? -1 : (tg[l].y0 + 1) / 2;
        ox[l] = (tg[l].x0 + 1) / 2;
      }
      if (m == 4) {
        wino_store_4 (j, tg, plane, y, vb, oy, ox);
        continue;
      }
      for (i = 0; i < m * m; i++)
        _mm256_storeu_ps (out[i], (__m256)(y[i] + vb));
      for (l = 0; l < 8; l++)
        foff[l] = (size_t)tg[l].f;
      wino_scatter (j, plane, foff, oy, ox, m, out);
    }
  }
}

void
SSAN_K (wino2_output_2_fma) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, const float *mm)
{
  (void)t0;
  wino2_output_fma (j, tl, nc, mm, 2);
}

void
SSAN_K (wino2_output_4_fma) (const ssan_wino_job *j, const ssan_wino_tile *tl,
    size_t t0, size_t nc, const float *mm)
{
  (void)t0;
  wino2_output_fma (j, tl, nc, mm, 4);
}
