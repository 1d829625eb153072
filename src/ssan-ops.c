/* gst-ssan engine: op kernels (convolution, pooling, SSA attention).
 * Layouts are described in ssan-ops.h. */
#include "ssan-ops.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Each thread's im2col buffer stays near this many floats (2 MiB): the
 * GEMM reads it back while it is still in cache (measured: the 7x7 stem
 * 10-25 % faster than with 8 MiB, the strided 3x3 ones unchanged). */
#define SSAN_COL_BUDGET ((size_t)512 << 10)
#define SSAN_COL_MIN_COLS 192

/* Position-branch tiles: queries per tile, keys per tile.  The score tile
 * (PK x PQ floats, 128 KiB) and the output tile stay in L2. */
#ifndef SSAN_PQ
#define SSAN_PQ 128
#endif
#ifndef SSAN_PK
#define SSAN_PK 256
#endif

/* ---- thread pool ---- */

struct ssan_pool {
  int n_threads; /* workers + the calling thread */
  pthread_t *workers;
  pthread_mutex_t mu;
  pthread_cond_t start, done;
  uint64_t generation;
  int pending, stop;
  ssan_pool_fn fn;
  void *arg;
  int n_items;
  atomic_int next;
};

static void
pool_work (ssan_pool *pool, int thread)
{
  int i;

  while ((i = atomic_fetch_add (&pool->next, 1)) < pool->n_items)
    pool->fn (pool->arg, i, thread);
}

typedef struct {
  ssan_pool *pool;
  int thread;
} worker_arg;

static void *
pool_worker (void *data)
{
  worker_arg wa = *(worker_arg *)data;
  ssan_pool *pool = wa.pool;
  uint64_t seen = 0;

  free (data);
  pthread_mutex_lock (&pool->mu);
  for (;;) {
    while (!pool->stop && pool->generation == seen)
      pthread_cond_wait (&pool->start, &pool->mu);
    if (pool->stop)
      break;
    seen = pool->generation;
    pthread_mutex_unlock (&pool->mu);
    pool_work (pool, wa.thread);
    pthread_mutex_lock (&pool->mu);
    if (--pool->pending == 0)
      pthread_cond_signal (&pool->done);
  }
  pthread_mutex_unlock (&pool->mu);
  return NULL;
}

ssan_pool *
ssan_pool_new (int n_threads)
{
  ssan_pool *pool = calloc (1, sizeof *pool);
  int i;

  if (pool == NULL)
    return NULL;
  pool->n_threads = 1;
  pthread_mutex_init (&pool->mu, NULL);
  pthread_cond_init (&pool->start, NULL);
  pthread_cond_init (&pool->done, NULL);
  if (n_threads > 1)
    pool->workers = calloc ((size_t)n_threads - 1, sizeof (pthread_t));
  for (i = 1; pool->workers && i < n_threads; i++) {
    worker_arg *wa = malloc (sizeof *wa);
    if (wa == NULL)
      break;
    wa->pool = pool;
    wa->thread = i;
    /* a pool with fewer threads than asked still computes the same */
    if (pthread_create (&pool->workers[i - 1], NULL, pool_worker, wa) != 0) {
      free (wa);
      break;
    }
    pool->n_threads++;
  }
  return pool;
}

void
ssan_pool_free (ssan_pool *pool)
{
  int i;

  if (pool == NULL)
    return;
  pthread_mutex_lock (&pool->mu);
  pool->stop = 1;
  pthread_cond_broadcast (&pool->start);
  pthread_mutex_unlock (&pool->mu);
  for (i = 0; i < pool->n_threads - 1; i++)
    pthread_join (pool->workers[i], NULL);
  pthread_mutex_destroy (&pool->mu);
  pthread_cond_destroy (&pool->start);
  pthread_cond_destroy (&pool->done);
  free (pool->workers);
  free (pool);
}

int
ssan_pool_threads (const ssan_pool *pool)
{
  return pool ? pool->n_threads : 1;
}

void
ssan_pool_run (ssan_pool *pool, int n_items, ssan_pool_fn fn, void *arg)
{
  int i;

  if (pool == NULL || pool->n_threads == 1 || n_items == 1) {
    for (i = 0; i < n_items; i++)
      fn (arg, i, 0);
    return;
  }
  pthread_mutex_lock (&pool->mu);
  pool->fn = fn;
  pool->arg = arg;
  pool->n_items = n_items;
  atomic_store (&pool->next, 0);
  pool->pending = pool->n_threads - 1;
  pool->generation++;
  pthread_cond_broadcast (&pool->start);
  pthread_mutex_unlock (&pool->mu);
  pool_work (pool, 0);
  pthread_mutex_lock (&pool->mu);
  while (pool->pending > 0)
    pthread_cond_wait (&pool->done, &pool->mu);
  pthread_mutex_unlock (&pool->mu);
}

/* Splits [0, n) into about 4 pieces per thread; piece i is
 * [i*n/pieces, (i+1)*n/pieces). */
static int
pool_pieces (const ssan_pool *pool, size_t n)
{
  size_t p = (size_t)ssan_pool_threads (pool) * 4;
  return (int)(p < n ? p : (n ? n : 1));
}

#define PIECE_BEGIN(i, n, pieces) ((size_t)(i) * (n) / (size_t)(pieces))

double
ssan_prof_start (const double *prof)
{
  struct timespec t;

  if (prof == NULL)
    return 0.0;
  /* CPU time of the calling thread: stays meaningful on a loaded machine */
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void
ssan_prof_stop (double *prof, int thread, int part, double t0)
{
  if (prof != NULL)
    prof[(size_t)thread * SSAN_PART_COUNT + part]
        += ssan_prof_start (prof) - t0;
}

/* ssan_prof_stop for a convolution's part, also added to its kind */
static void
conv_prof_stop (double *prof, int thread, int part, int kind, double t0)
{
  double t;

  if (prof == NULL)
    return;
  t = ssan_prof_start (prof) - t0;
  prof[(size_t)thread * SSAN_PART_COUNT + part] += t;
  prof[(size_t)thread * SSAN_PART_COUNT + SSAN_PART_KIND + kind] += t;
}

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

/* 8-float vectors for the loops that are not GEMMs (GCC's -O2 vectoriser
 * leaves loops of unknown length alone).  Macros rather than functions: a
 * vector argument would tie the code to one vector ABI, and the hot loops
 * are compiled twice (SSAN_CLONES: AVX2 when the CPU has it, else the
 * build's baseline). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define SSAN_CLONES __attribute__ ((target_clones ("avx2", "default")))
#else
#define SSAN_CLONES
#endif

/* Kernels written for AVX2+FMA, used when the CPU has them (see
 * use_fma_kernels); elsewhere the portable code computes the same. */
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define SSAN_FMA_KERNELS 1
#define SSAN_FMA __attribute__ ((target ("avx2,fma")))
#endif
static int use_fma_kernels (void);

typedef float v8f __attribute__ ((vector_size (32)));
typedef int32_t v8i __attribute__ ((vector_size (32)));

#define V8F(x) ((v8f){ (x), (x), (x), (x), (x), (x), (x), (x) })
/* a, b must be plain variables */
#define V8F_MAX(a, b)                                                          \
  ((v8f)(((v8i)(a) & ((a) > (b))) | ((v8i)(b) & ~((a) > (b)))))
#define V8F_MIN(a, b)                                                          \
  ((v8f)(((v8i)(a) & ((a) < (b))) | ((v8i)(b) & ~((a) < (b)))))
#define V8F_LOAD(v, p) memcpy (&(v), (p), sizeof (v8f))
#ifdef __clang__
#define V8F_EVEN(a, b) __builtin_shufflevector (a, b, 0, 2, 4, 6, 8, 10, 12, 14)
#else
#define V8F_EVEN(a, b)                                                         \
  __builtin_shuffle (a, b, (v8i){ 0, 2, 4, 6, 8, 10, 12, 14 })
#endif
#ifdef __clang__
#define V8F_ODD(a, b) __builtin_shufflevector (a, b, 1, 3, 5, 7, 9, 11, 13, 15)
#else
#define V8F_ODD(a, b)                                                          \
  __builtin_shuffle (a, b, (v8i){ 1, 3, 5, 7, 9, 11, 13, 15 })
#endif
#define V8F_STORE(p, v) memcpy ((p), &(v), sizeof (v8f))
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

SSAN_CLONES void
ssan_im2col (const float *src, size_t cs, size_t fs, int c0, int c1, int H,
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

/* 2^x (degree-6 polynomial on the fraction, relative error ~1e-7),
 * branch-free; arguments are clamped to the range where 2^x is a normal
 * float */
#define V8F_EXP2(y, x)                                                         \
  do {                                                                         \
    const v8f lo_ = V8F (-126.0f), hi_ = V8F (127.0f);                         \
    const v8f magic_ = V8F (12582912.0f); /* 1.5 * 2^23 */                     \
    v8f x_ = (x), n_, f_;                                                      \
    v8i i_;                                                                    \
    x_ = V8F_MAX (x_, lo_);                                                    \
    x_ = V8F_MIN (x_, hi_);                                                    \
    n_ = x_ + magic_;                                                          \
    i_ = (v8i)n_ - (v8i)magic_;                                                \
    n_ = n_ - magic_;                                                          \
    f_ = x_ - n_; /* in [-0.5, 0.5] */                                         \
    (y) = V8F (1.5403530e-4f);                                                 \
    (y) = (y)*f_ + V8F (1.3333558e-3f);                                        \
    (y) = (y)*f_ + V8F (9.6181291e-3f);                                        \
    (y) = (y)*f_ + V8F (5.5504109e-2f);                                        \
    (y) = (y)*f_ + V8F (2.4022651e-1f);                                        \
    (y) = (y)*f_ + V8F (6.9314718e-1f);                                        \
    (y) = (y)*f_ + V8F (1.0f);                                                 \
    (y) = (y) * (v8f)((i_ + 127) << 23);                                       \
  } while (0)

SSAN_CLONES void
ssan_bias_act (
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

/* ---- fused GEMM for AVX2+FMA ----
 *
 * c[M][N] = act(a[M][K] b[K][N] + bias (+ c if accumulate)), a and b read
 * in place (rows of a are broadcast, strips of b copied to the stack): no
 * packing of the weights per call, no separate zeroing or epilogue pass
 * over c.  Used for the 1x1 convolutions and the Winograd products, where
 * OpenBLAS spends a third of its time outside its kernel (weights packed
 * again for every narrow GEMM, C zeroed, bias and ReLU in another pass). */
#ifdef SSAN_FMA_KERNELS
#define GEMM_MR 4
#define GEMM_NR 24
#define GEMM_KC 256
#define GEMM_NC 96
/* Floats of b (K * ldb) up to which gemm_fma reads it in place */
#define GEMM_DIRECT_MAX ((size_t)16 << 10)

/* One mr x (nv*8) block of c over kc values of the depth; the last vector
 * is masked to its valid columns when masked.  first: c starts from 0 (or
 * from c when accumulating), else from c; last: add bias, apply ReLU.
 * Meanwhile the GEMM_MR rows at an (the next block's rows of a) are
 * prefetched: rows of a are short streams that the hardware prefetcher
 * does not catch in time (measured: the 36 Winograd products of a layer
 * ran at 45-75 % of the rate they reach with a in cache, 75-97 % with
 * this). */
SSAN_FMA static inline __attribute__ ((always_inline)) void
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
SSAN_FMA static void
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

/* Floats of each thread's scratch that gemm_fma's panel takes (at the end
 * of the thread's part, 32-byte aligned). */
#define GEMM_PANEL ((size_t)GEMM_KC * GEMM_NC + 8)

static float *
gemm_panel (const ssan_work *work, int thread)
{
  uintptr_t end
      = (uintptr_t)(work->scratch + (size_t)(thread + 1) * work->stride);

  return (float *)((end - GEMM_KC * GEMM_NC * sizeof (float)) & ~(uintptr_t)31);
}

/* Lanes k < n set. */
SSAN_FMA static inline __m256i
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

SSAN_FMA static void
gemm_fma (int M, int N, int K, const float *a, size_t lda, const float *b,
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
#define SSAN_GEMM_SCRATCH GEMM_PANEL
#else
#define SSAN_GEMM_SCRATCH 0
#endif

/* Whether the convolution's GEMMs can run in gemm_fma: AVX2+FMA, and room
 * for its panel in the caller's scratch. */
static int
conv_use_gemm_fma (
    const ssan_conv *cv, int nf, int H, int W, const ssan_work *work)
{
  return SSAN_GEMM_SCRATCH > 0 && use_fma_kernels () && work->scratch != NULL
         && work->stride >= ssan_conv_scratch_size (cv, nf, H, W);
}

typedef struct {
  const ssan_conv *cv;
  const ssan_work *work;
  const float *src;
  size_t cs, fs, cols, chunk;
  int H, W, Ho, Wo, relu, direct, slices, pieces, cpieces, fma, kind;
  float beta;
  float *dst;
  size_t j0, n; /* row-split mode: the current chunk */
} conv_job;

/* rows [r0, r1) of dst[][n] (row stride ldc) = act(w b + bias (+ dst)),
 * b [K][n] with row stride ldb */
static void
conv_gemm (const conv_job *j, int r0, int r1, size_t n, const float *b,
    size_t ldb, float *dst, int thread)
{
  const ssan_conv *cv = j->cv;
  int K = cv->cin * cv->k * cv->k;

#ifdef SSAN_FMA_KERNELS
  if (j->fma) {
    const float *bias = cv->b ? cv->b + r0 : NULL;
    gemm_fma (r1 - r0, (int)n, K, cv->w + (size_t)r0 * K, (size_t)K, b, ldb,
        dst + (size_t)r0 * j->cols, j->cols, bias, j->relu, j->beta != 0.0f,
        gemm_panel (j->work, thread));
    return;
  }
#endif
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, (int)n, K,
      1.0f, cv->w + (size_t)r0 * K, K, b, (int)ldb, j->beta,
      dst + (size_t)r0 * j->cols, (int)j->cols);
  ssan_bias_act (dst, r0, r1, n, j->cols, cv->b, j->relu);
  (void)thread;
}

/* Output columns [c0, c1), all rows, by one thread with its own im2col
 * buffer: im2col, GEMM and epilogue chunk by chunk while it is in cache. */
static void
conv_columns (const conv_job *j, size_t c0, size_t c1, int thread)
{
  const ssan_conv *cv = j->cv;
  float *col = j->work->scratch + (size_t)thread * j->work->stride;
  double *prof = j->work->prof, t0 = ssan_prof_start (prof);
  size_t j0;

  if (j->direct) {
    conv_gemm (
        j, 0, cv->cout, c1 - c0, j->src + c0, j->cols, j->dst + c0, thread);
    conv_prof_stop (prof, thread, SSAN_PART_CONV, j->kind, t0);
    return;
  }
  for (j0 = c0; j0 < c1; j0 += j->chunk) {
    size_t n = c1 - j0 < j->chunk ? c1 - j0 : j->chunk;

    t0 = ssan_prof_start (prof);
    ssan_im2col (j->src, j->cs, j->fs, 0, cv->cin, j->H, j->W, cv->k,
        cv->stride, cv->pad, j->Ho, j->Wo, j0, n, col);
    conv_prof_stop (prof, thread, SSAN_PART_IM2COL, j->kind, t0);
    t0 = ssan_prof_start (prof);
    conv_gemm (j, 0, cv->cout, n, col, n, j->dst + j0, thread);
    conv_prof_stop (prof, thread, SSAN_PART_CONV, j->kind, t0);
  }
}

/* Slice i of the columns, boundaries on multiples of 16 columns. */
static size_t
slice_begin (size_t cols, int i, int slices)
{
  size_t b = ((size_t)i * cols / (size_t)slices + 15) & ~(size_t)15;
  return i >= slices || b > cols ? cols : b;
}

static void
conv_slice_item (void *arg, int i, int thread)
{
  const conv_job *j = arg;

  conv_columns (j, slice_begin (j->cols, i, j->slices),
      slice_begin (j->cols, i + 1, j->slices), thread);
}

static void
conv_im2col_item (void *arg, int i, int thread)
{
  const conv_job *j = arg;
  int c0 = (int)PIECE_BEGIN (i, j->cv->cin, j->cpieces);
  int c1 = (int)PIECE_BEGIN (i + 1, j->cv->cin, j->cpieces);
  double t0 = ssan_prof_start (j->work->prof);

  ssan_im2col (j->src, j->cs, j->fs, c0, c1, j->H, j->W, j->cv->k,
      j->cv->stride, j->cv->pad, j->Ho, j->Wo, j->j0, j->n, j->work->scratch);
  conv_prof_stop (j->work->prof, thread, SSAN_PART_IM2COL, j->kind, t0);
}

/* Rows [r0, r1) of the current chunk (from the shared im2col buffer). */
static void
conv_rows_item (void *arg, int i, int thread)
{
  const conv_job *j = arg;
  const ssan_conv *cv = j->cv;
  int r0 = (int)PIECE_BEGIN (i, cv->cout, j->pieces);
  int r1 = (int)PIECE_BEGIN (i + 1, cv->cout, j->pieces);
  const float *b = j->direct ? j->src + j->j0 : j->work->scratch;
  double t0 = ssan_prof_start (j->work->prof);

  if (r1 == r0)
    return;
  conv_gemm (
      j, r0, r1, j->n, b, j->direct ? j->cols : j->n, j->dst + j->j0, thread);
  conv_prof_stop (j->work->prof, thread, SSAN_PART_CONV, j->kind, t0);
}

/* Below this many output columns per thread, threads split the rows. */
#define SSAN_MIN_SLICE_COLS 192
#ifndef SSAN_SLICES_PER_THREAD
#define SSAN_SLICES_PER_THREAD 4
#endif

/* ---- Winograd F(m x m, 3 x 3) ---- */

/* Each thread's chunk of tiles stays near this many floats of transformed
 * input and output (2 MiB): wide enough GEMMs, and in L3. */
#ifndef SSAN_WINO_BUDGET
#define SSAN_WINO_BUDGET ((size_t)512 << 10)
#endif
#ifndef SSAN_WINO_MIN_TILES
#define SSAN_WINO_MIN_TILES 32
#endif
#define SSAN_WINO_MAX_TILES 1024
/* stride 2: most of the products are GEMMs of one chunk's width */
#ifndef SSAN_WINO2_MIN_TILES
#define SSAN_WINO2_MIN_TILES 64
#endif

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
static void
wino_transform_g (
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

  wino_transform_g (w, cin, cout, m + 2, m == 2 ? g2 : g4, u);
}

/* Products of stride-2 Winograd with tiles of m x m outputs on Ho x Wo */
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

  wino_transform_g (w, cin, cout, m + 2, m == 2 ? g2 : g4, u);
}

/* Transform-domain points per side: m + 2 for stride 1, 2m + 1 for
 * stride 2 (the polyphase form below). */
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

static int
is_wino (const ssan_conv *cv)
{
  return cv->wu != NULL && (cv->wm == 2 || cv->wm == 4) && cv->k == 3
         && (cv->stride == 1 || cv->stride == 2) && cv->pad == 1;
}

int
ssan_conv_kind (const ssan_conv *cv)
{
  if (is_wino (cv) && cv->stride == 1)
    return SSAN_KIND_WINOGRAD;
  if (cv->k == 1)
    return cv->stride == 1 ? SSAN_KIND_1X1 : SSAN_KIND_DOWN;
  if (cv->k >= 5)
    return SSAN_KIND_LARGE;
  return cv->stride > 1 ? SSAN_KIND_STRIDED : SSAN_KIND_OTHER;
}

size_t
ssan_conv_scratch_size (const ssan_conv *cv, int nf, int H, int W)
{
  int Ho = ssan_conv_out_size (H, cv->k, cv->stride, cv->pad);
  int Wo = ssan_conv_out_size (W, cv->k, cv->stride, cv->pad);

  if (is_wino (cv)) {
    size_t tiles = (size_t)nf * ((Ho + cv->wm - 1) / cv->wm)
                   * ((Wo + cv->wm - 1) / cv->wm);
    size_t a2 = (size_t)wino_alpha (cv) * wino_alpha (cv);
    return a2 * (size_t)(cv->cin + cv->cout) * wino_chunk_tiles (cv, tiles)
           + SSAN_GEMM_SCRATCH;
  }
  return ssan_conv_chunk_cols (cv, (size_t)nf * Ho * Wo)
             * ((size_t)cv->cin * cv->k * cv->k)
         + SSAN_GEMM_SCRATCH;
}

/* 1-D transforms on v8f x[0], x[s], ...: B^T (input), A^T (output). */
#define WINO_BT2(y, ys, x, xs)                                                 \
  do {                                                                         \
    v8f d0_ = (x)[0], d1_ = (x)[(xs)], d2_ = (x)[2 * (xs)];                    \
    v8f d3_ = (x)[3 * (xs)];                                                   \
    (y)[0] = d0_ - d2_;                                                        \
    (y)[(ys)] = d1_ + d2_;                                                     \
    (y)[2 * (ys)] = d2_ - d1_;                                                 \
    (y)[3 * (ys)] = d1_ - d3_;                                                 \
  } while (0)
#define WINO_AT2(y, ys, x, xs)                                                 \
  do {                                                                         \
    v8f m1_ = (x)[(xs)], m2_ = (x)[2 * (xs)];                                  \
    (y)[0] = (x)[0] + m1_ + m2_;                                               \
    (y)[(ys)] = m1_ - m2_ - (x)[3 * (xs)];                                     \
  } while (0)
#define WINO_BT4(y, ys, x, xs)                                                 \
  do {                                                                         \
    v8f d0_ = (x)[0], d1_ = (x)[(xs)], d2_ = (x)[2 * (xs)];                    \
    v8f d3_ = (x)[3 * (xs)], d4_ = (x)[4 * (xs)], d5_ = (x)[5 * (xs)];         \
    v8f p_ = d4_ - V8F (4.0f) * d2_, q_ = d3_ - V8F (4.0f) * d1_;              \
    v8f r_ = d4_ - d2_, s_ = V8F (2.0f) * (d3_ - d1_);                         \
    (y)[0] = V8F (4.0f) * d0_ - V8F (5.0f) * d2_ + d4_;                        \
    (y)[(ys)] = p_ + q_;                                                       \
    (y)[2 * (ys)] = p_ - q_;                                                   \
    (y)[3 * (ys)] = r_ + s_;                                                   \
    (y)[4 * (ys)] = r_ - s_;                                                   \
    (y)[5 * (ys)] = V8F (4.0f) * d1_ - V8F (5.0f) * d3_ + d5_;                 \
  } while (0)
#define WINO_AT4(y, ys, x, xs)                                                 \
  do {                                                                         \
    v8f m1_ = (x)[(xs)], m2_ = (x)[2 * (xs)], m3_ = (x)[3 * (xs)];             \
    v8f m4_ = (x)[4 * (xs)];                                                   \
    v8f sa_ = m1_ + m2_, da_ = m1_ - m2_, sb_ = m3_ + m4_, db_ = m3_ - m4_;    \
    (y)[0] = (x)[0] + sa_ + sb_;                                               \
    (y)[(ys)] = da_ + V8F (2.0f) * db_;                                        \
    (y)[2 * (ys)] = sa_ + V8F (4.0f) * sb_;                                    \
    (y)[3 * (ys)] = da_ + V8F (8.0f) * db_ + (x)[5 * (xs)];                    \
  } while (0)

/* The F(2x2) or F(4x4) transform, m known at compile time after inlining. */
#define WINO_BT(m, y, ys, x, xs)                                               \
  do {                                                                         \
    if ((m) == 2)                                                              \
      WINO_BT2 (y, ys, x, xs);                                                 \
    else                                                                       \
      WINO_BT4 (y, ys, x, xs);                                                 \
  } while (0)
#define WINO_AT(m, y, ys, x, xs)                                               \
  do {                                                                         \
    if ((m) == 2)                                                              \
      WINO_AT2 (y, ys, x, xs);                                                 \
    else                                                                       \
      WINO_AT4 (y, ys, x, xs);                                                 \
  } while (0)

typedef struct {
  const ssan_conv *cv;
  const ssan_work *work;
  const float *src;
  size_t cs, fs, cols, tiles, nt;
  int H, W, Ho, Wo, tH, tW, step, relu, accumulate, fma, gemm;
  float *dst;
} wino_job;

/* Where the 8 tiles from t0 start: frames and top-left input corners;
 * tiles past the end get frame 0 and a y0 never in bounds. */
static void
wino_lanes (const wino_job *j, size_t t0, size_t *foff, int *y0, int *x0)
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
wino_gather (const wino_job *j, const float *plane, const size_t *foff,
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
wino_input (const wino_job *j, size_t t0, size_t nt, float *v, const int m)
{
  const int a = m + 2;
  const ssan_conv *cv = j->cv;
  int H = j->H, W = j->W, c, l, i, k;
  size_t g;

  for (g = 0; g < nt; g += 8) {
    size_t foff[8];
    int y0[8], x0[8], inside = 1;

    wino_lanes (j, t0 + g, foff, y0, x0);
    for (l = 0; l < 8; l++)
      inside &= y0[l] >= 0 && y0[l] + a <= H && x0[l] >= 0 && x0[l] + a <= W;
    for (c = 0; c < cv->cin; c++) {
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
        V8F_STORE (v + ((size_t)i * cv->cin + c) * j->nt + g, x[i]);
    }
  }
}

/* Writes the m x m outputs out[i*m + k][l] of the 8 lanes' tiles, whose
 * top-left outputs are (oy[l], ox[l]) of frame foff[l] (oy < 0: no tile),
 * into the output channel at plane, clipped to the map, with the residual
 * and ReLU of the epilogue. */
static inline __attribute__ ((always_inline)) void
wino_scatter (const wino_job *j, float *plane, const size_t *foff,
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
    const wino_job *j, size_t t0, size_t nt, const float *mm, const int m)
{
  const int a = m + 2;
  const ssan_conv *cv = j->cv;
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
    for (o = 0; o < cv->cout; o++) {
      float *plane = j->dst + (size_t)o * j->cols;
      float bb = cv->b ? cv->b[o] : 0.0f;
      v8f x[36], t[24], y[16], vb = V8F (bb);
      float out[16][8];

      for (i = 0; i < a * a; i++)
        V8F_LOAD (x[i], mm + ((size_t)i * cv->cout + o) * j->nt + g);
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

SSAN_CLONES static void
wino_input_2 (const wino_job *j, size_t t0, size_t nt, float *v)
{
  wino_input (j, t0, nt, v, 2);
}

SSAN_CLONES static void
wino_input_4 (const wino_job *j, size_t t0, size_t nt, float *v)
{
  wino_input (j, t0, nt, v, 4);
}

SSAN_CLONES static void
wino_output_2 (const wino_job *j, size_t t0, size_t nt, const float *mm)
{
  wino_output (j, t0, nt, mm, 2);
}

SSAN_CLONES static void
wino_output_4 (const wino_job *j, size_t t0, size_t nt, const float *mm)
{
  wino_output (j, t0, nt, mm, 4);
}

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

/* B^T: d[0..2m] -> even samples, then F(m,2)'s input transform */
#define WINO2_BT2(y, ys, x, xs)                                                \
  do {                                                                         \
    v8f d0_ = (x)[0], d1_ = (x)[(xs)], d2_ = (x)[2 * (xs)];                    \
    v8f d3_ = (x)[3 * (xs)], d4_ = (x)[4 * (xs)];                              \
    (y)[0] = d1_;                                                              \
    (y)[(ys)] = d3_;                                                           \
    (y)[2 * (ys)] = d0_ - d2_;                                                 \
    (y)[3 * (ys)] = d2_;                                                       \
    (y)[4 * (ys)] = d4_ - d2_;                                                 \
  } while (0)
#define WINO2_AT2(y, ys, x, xs)                                                \
  do {                                                                         \
    v8f m1_ = (x)[3 * (xs)];                                                   \
    (y)[0] = (x)[0] + (x)[2 * (xs)] + m1_;                                     \
    (y)[(ys)] = (x)[(xs)] + m1_ + (x)[4 * (xs)];                               \
  } while (0)
#define WINO2_BT4(y, ys, x, xs)                                                \
  do {                                                                         \
    v8f o0_ = (x)[0], o1_ = (x)[2 * (xs)], o2_ = (x)[4 * (xs)];                \
    v8f o3_ = (x)[6 * (xs)], o4_ = (x)[8 * (xs)], r_ = o3_ - o1_;              \
    (y)[0] = (x)[(xs)];                                                        \
    (y)[(ys)] = (x)[3 * (xs)];                                                 \
    (y)[2 * (ys)] = (x)[5 * (xs)];                                             \
    (y)[3 * (ys)] = (x)[7 * (xs)];                                             \
    (y)[4 * (ys)] = V8F (2.0f) * (o0_ - o2_) + r_;                             \
    (y)[5 * (ys)] = r_ - o1_ - o2_;                                            \
    (y)[6 * (ys)] = r_ + V8F (3.0f) * (o1_ - o2_);                             \
    (y)[7 * (ys)] = r_;                                                        \
    (y)[8 * (ys)] = o4_ - o2_ - V8F (2.0f) * r_;                               \
  } while (0)
#define WINO2_AT4(y, ys, x, xs)                                                \
  do {                                                                         \
    v8f m1_ = (x)[5 * (xs)], m2_ = (x)[6 * (xs)], m3_ = (x)[7 * (xs)];         \
    v8f s_ = m1_ + m2_, d_ = m1_ - m2_;                                        \
    (y)[0] = (x)[0] + (x)[4 * (xs)] + s_ + m3_;                                \
    (y)[(ys)] = (x)[(xs)] + d_ + V8F (2.0f) * m3_;                             \
    (y)[2 * (ys)] = (x)[2 * (xs)] + s_ + V8F (4.0f) * m3_;                     \
    (y)[3 * (ys)] = (x)[3 * (xs)] + d_ + V8F (8.0f) * m3_ + (x)[8 * (xs)];     \
  } while (0)
#define WINO2_BT(m, y, ys, x, xs)                                              \
  do {                                                                         \
    if ((m) == 2)                                                              \
      WINO2_BT2 (y, ys, x, xs);                                                \
    else                                                                       \
      WINO2_BT4 (y, ys, x, xs);                                                \
  } while (0)
#define WINO2_AT(m, y, ys, x, xs)                                              \
  do {                                                                         \
    if ((m) == 2)                                                              \
      WINO2_AT2 (y, ys, x, xs);                                                \
    else                                                                       \
      WINO2_AT4 (y, ys, x, xs);                                                \
  } while (0)

/* Positions before class c along one axis, and in class c */
#define WINO2_BEFORE(m, c) ((c) == 0 ? 0 : (m) + (c)-1)
#define WINO2_MULT(m, c) ((c) == 0 ? (m) : 1)

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
static void
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

/* Transformed input of tiles [t0, t0+nc) into v (class layout). */
static inline __attribute__ ((always_inline)) void
wino2_input (const wino_job *j, size_t t0, size_t nc, float *v, const int m)
{
  const int a = 2 * m + 1;
  const ssan_conv *cv = j->cv;
  int H = j->H, W = j->W, c, l, i, k;
  size_t off[81], step[81], g;

  wino2_layout (m, cv->cin, nc, off, step);
  for (g = 0; g < nc; g += 8) {
    size_t foff[8];
    int y0[8], x0[8], inside = 1;

    wino_lanes (j, t0 + g, foff, y0, x0);
    for (l = 0; l < 8; l++)
      inside &= y0[l] >= 0 && y0[l] + a <= H && x0[l] >= 0 && x0[l] + a <= W;
    for (c = 0; c < cv->cin; c++) {
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
    const wino_job *j, size_t t0, size_t nc, const float *mm, const int m)
{
  const int a = 2 * m + 1;
  const ssan_conv *cv = j->cv;
  size_t off[81], step[81], g;
  int o, l, i, k;

  wino2_layout (m, cv->cout, nc, off, step);
  for (g = 0; g < nc; g += 8) {
    size_t foff[8];
    int y0[8], x0[8], oy[8], ox[8];

    wino_lanes (j, t0 + g, foff, y0, x0);
    for (l = 0; l < 8; l++) {
      oy[l] = y0[l] < -1 ? -1 : (y0[l] + 1) / 2;
      ox[l] = (x0[l] + 1) / 2;
    }
    for (o = 0; o < cv->cout; o++) {
      float *plane = j->dst + (size_t)o * j->cols;
      v8f x[81], t[36], y[16], vb = V8F (cv->b ? cv->b[o] : 0.0f);
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

SSAN_CLONES static void
wino2_input_2 (const wino_job *j, size_t t0, size_t nc, float *v)
{
  wino2_input (j, t0, nc, v, 2);
}

SSAN_CLONES static void
wino2_input_4 (const wino_job *j, size_t t0, size_t nc, float *v)
{
  wino2_input (j, t0, nc, v, 4);
}

SSAN_CLONES static void
wino2_output_2 (const wino_job *j, size_t t0, size_t nc, const float *mm)
{
  wino2_output (j, t0, nc, mm, 2);
}

SSAN_CLONES static void
wino2_output_4 (const wino_job *j, size_t t0, size_t nc, const float *mm)
{
  wino2_output (j, t0, nc, mm, 4);
}

#ifdef SSAN_FMA_KERNELS
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

/* Where tile t0 + i of a chunk sits: frame, top-left input corner (its
 * output corner is one further right and down); y0 out of range past the
 * last tile. */
typedef struct {
  int f, y0, x0;
} wino_tile;

/* tl[q] for the tiles t0 + q, q < nc, of a job whose tiles' input corners
 * are j->step apart */
static void
wino_tiles (const wino_job *j, size_t t0, size_t nc, wino_tile *tl)
{
  size_t per = (size_t)j->tH * j->tW, q;

  for (q = 0; q < nc; q++) {
    size_t tt = t0 + q, r = tt % per;
    tl[q].f = tt < j->tiles ? (int)(tt / per) : 0;
    tl[q].y0 = tt < j->tiles ? (int)(r / j->tW) * j->step - 1 : -(1 << 29);
    tl[q].x0 = (int)(r % j->tW) * j->step - 1;
  }
}

/* Columns k < 6 of the patch row starting at x0 that lie inside [0, W):
 * a maskload/maskstore mask, all set when the whole 8-float load fits. */
SSAN_FMA static inline __m256i
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
SSAN_FMA static void
wino_input_4_fma (const wino_job *j, const wino_tile *tl, size_t nt, float *v)
{
  const ssan_conv *cv = j->cv;
  int H = j->H, W = j->W, c, l, i, k;
  size_t g;

  for (c = 0; c < cv->cin; c++) {
    const float *plane = j->src + (size_t)c * j->cs;

    for (g = 0; g < nt; g += 8) {
      const wino_tile *tg = tl + g;
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
          if ((l == 0 || l == 4 || l == 7) && c + 1 < cv->cin)
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
            v + ((size_t)i * cv->cin + c) * j->nt + g, (__m256)x[i]);
    }
  }
}

/* wino_output for m = 4: each output row of 8 tiles transposed into 8
 * 4-float rows, stored (with residual and ReLU) 4 floats at a time, masked
 * at the map's right edge. */
SSAN_FMA static void
wino_output_4_fma (
    const wino_job *j, const wino_tile *tl, size_t nt, const float *mm)
{
  const ssan_conv *cv = j->cv;
  size_t hw = (size_t)j->Ho * j->Wo;
  const __m128 zero = _mm_setzero_ps ();
  int o, l, i, k;
  size_t g;

  for (o = 0; o < cv->cout; o++) {
    float *plane = j->dst + (size_t)o * j->cols;
    v8f vb = V8F (cv->b ? cv->b[o] : 0.0f);

    for (g = 0; g < nt; g += 8) {
      const wino_tile *tg = tl + g;
      v8f x[36], t[24], y[16];
      int ny[8], nx[8];
      __m128i mask[8];

      for (l = 0; l < 8; l++) {
        int oy0 = tg[l].y0 + 1, ox0 = tg[l].x0 + 1;
        ny[l] = oy0 < 0 ? 0 : (j->Ho - oy0 < 4 ? j->Ho - oy0 : 4);
        nx[l] = j->Wo - ox0 < 4 ? j->Wo - ox0 : 4;
        mask[l] = _mm256_castsi256_si128 (wino_mask (0, nx[l], 4));
      }
      for (i = 0; i < 36; i++) {
        const float *q = mm + ((size_t)i * cv->cout + o) * j->nt + g;
        /* 36 load streams, more than the hardware prefetcher follows:
         * two groups ahead */
        if ((g & 8) == 0 && (g + 16 < nt || o + 1 < cv->cout))
          _mm_prefetch ((const char *)(q + 16), _MM_HINT_T0);
        x[i] = (v8f)_mm256_loadu_ps (q);
      }
      for (k = 0; k < 6; k++)
        WINO_AT4 (t + k, 6, x + k, 6);
      for (i = 0; i < 4; i++)
        WINO_AT4 (y + i * 4, 1, t + i * 6, 1);
      for (i = 0; i < 4; i++) {
        __m256 a = (__m256)(y[i * 4] + vb), b = (__m256)(y[i * 4 + 1] + vb);
        __m256 c = (__m256)(y[i * 4 + 2] + vb);
        __m256 d = (__m256)(y[i * 4 + 3] + vb);
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
          p = plane + (size_t)tg[l].f * hw + (size_t)(tg[l].y0 + 1 + i) * j->Wo
              + tg[l].x0 + 1;
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
  }
}
#endif

#ifdef SSAN_FMA_KERNELS
/* wino2_input with AVX2+FMA, channel by channel (the 81 output streams
 * written in order): each lane's patch row is one 8-float load (masked at
 * the map's edges, so nothing outside the map is read) and, for m = 4, a
 * gather of its ninth sample; 8 lanes' rows transposed in registers.
 * base[t]: offset of tile t's patch corner from its channel's plane. */
SSAN_FMA static inline __attribute__ ((always_inline)) void
wino2_input_fma (const wino_job *j, const wino_tile *tl, const int *base,
    size_t nc, float *v, const int m)
{
  const int a = 2 * m + 1;
  const ssan_conv *cv = j->cv;
  const __m256i iota = _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i lim = _mm256_set1_epi32 (j->W);
  int H = j->H, W = j->W, c, l, i, k;
  size_t off[81], step[81], g;

  wino2_layout (m, cv->cin, nc, off, step);
  for (c = 0; c < cv->cin; c++) {
    const float *plane = j->src + (size_t)c * j->cs;
    int more = c + 1 < cv->cin;

    for (g = 0; g < nc; g += 8) {
      const wino_tile *tg = tl + g;
      v8f x[81], t[81];
      __m256i gidx = _mm256_loadu_si256 ((const __m256i *)(base + g));
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
          p = plane + base[g + l] + (ptrdiff_t)i * W;
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

SSAN_FMA static void
wino2_input_2_fma (const wino_job *j, const wino_tile *tl, const int *base,
    size_t nc, float *v)
{
  wino2_input_fma (j, tl, base, nc, v, 2);
}

SSAN_FMA static void
wino2_input_4_fma (const wino_job *j, const wino_tile *tl, const int *base,
    size_t nc, float *v)
{
  wino2_input_fma (j, tl, base, nc, v, 4);
}

/* Stores the 4x4 outputs y (+ vb) of the 8 tiles tg in their channel's
 * plane with the epilogue: each output row of the 8 tiles transposed into
 * 8 rows of 4 floats, masked at the map's right edge. */
SSAN_FMA static inline __attribute__ ((always_inline)) void
wino2_store_4 (
    const wino_job *j, const wino_tile *tg, float *plane, const v8f *y, v8f vb)
{
  size_t hw = (size_t)j->Ho * j->Wo;
  const __m128 zero = _mm_setzero_ps ();
  int ny[8], nx[8], oy[8], ox[8], l, i;
  __m128i mask[8];

  for (l = 0; l < 8; l++) {
    oy[l] = (tg[l].y0 + 1) / 2;
    ox[l] = (tg[l].x0 + 1) / 2;
    ny[l] = tg[l].y0 < -1 ? 0 : (j->Ho - oy[l] < 4 ? j->Ho - oy[l] : 4);
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

/* wino2_output with AVX2+FMA, output channel by output channel so that
 * the 81 load streams advance in order (prefetched: more streams than the
 * hardware prefetcher follows). */
SSAN_FMA static inline __attribute__ ((always_inline)) void
wino2_output_fma (const wino_job *j, const wino_tile *tl, size_t nc,
    const float *mm, const int m)
{
  const int a = 2 * m + 1;
  const ssan_conv *cv = j->cv;
  size_t off[81], step[81], foff[8], g;
  int oy[8], ox[8], o, l, i, k;

  wino2_layout (m, cv->cout, nc, off, step);
  for (o = 0; o < cv->cout; o++) {
    float *plane = j->dst + (size_t)o * j->cols;
    v8f vb = V8F (cv->b ? cv->b[o] : 0.0f);

    for (g = 0; g < nc; g += 8) {
      const wino_tile *tg = tl + g;
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
      if (m == 4) {
        wino2_store_4 (j, tg, plane, y, vb);
        continue;
      }
      for (i = 0; i < m * m; i++)
        _mm256_storeu_ps (out[i], (__m256)(y[i] + vb));
      for (l = 0; l < 8; l++) {
        foff[l] = (size_t)tg[l].f;
        oy[l] = tg[l].y0 < -1 ? -1 : (tg[l].y0 + 1) / 2;
        ox[l] = (tg[l].x0 + 1) / 2;
      }
      wino_scatter (j, plane, foff, oy, ox, m, out);
    }
  }
}

SSAN_FMA static void
wino2_output_2_fma (
    const wino_job *j, const wino_tile *tl, size_t nc, const float *mm)
{
  wino2_output_fma (j, tl, nc, mm, 2);
}

SSAN_FMA static void
wino2_output_4_fma (
    const wino_job *j, const wino_tile *tl, size_t nc, const float *mm)
{
  wino2_output_fma (j, tl, nc, mm, 4);
}
#endif

/* Chunk i of the tiles of a stride-2 convolution: transform in, one GEMM
 * per weight class, transform out. */
static void
wino2_item (void *arg, int i, int thread)
{
  const wino_job *j = arg;
  const ssan_conv *cv = j->cv;
  const int m = cv->wm;
  size_t t0 = (size_t)i * j->nt;
  size_t n = j->tiles - t0 < j->nt ? j->tiles - t0 : j->nt;
  size_t a2 = (size_t)(2 * m + 1) * (2 * m + 1);
  float *v = j->work->scratch + (size_t)thread * j->work->stride;
  float *mm = v + a2 * cv->cin * j->nt;
  double *prof = j->work->prof, t = ssan_prof_start (prof);
  /* the chunk's tiles rounded up to the vector width, also the layout's
   * row length, so that a class's columns are contiguous */
  size_t nc = (n + 7) & ~(size_t)7;
  int q;
#ifdef SSAN_FMA_KERNELS
  wino_tile tl[SSAN_WINO_MAX_TILES];
  int base[SSAN_WINO_MAX_TILES];

  if (j->fma) {
    size_t r;

    wino_tiles (j, t0, nc, tl);
    for (r = 0; r < nc; r++)
      base[r] = (int)((size_t)tl[r].f * j->fs)
                + (t0 + r < j->tiles ? tl[r].y0 * j->W : 0) + tl[r].x0;
    if (m == 2)
      wino2_input_2_fma (j, tl, base, nc, v);
    else
      wino2_input_4_fma (j, tl, base, nc, v);
  } else
#endif
      if (m == 2)
    wino2_input_2 (j, t0, nc, v);
  else
    wino2_input_4 (j, t0, nc, v);
  conv_prof_stop (prof, thread, SSAN_PART_IM2COL, SSAN_KIND_STRIDED, t);
  t = ssan_prof_start (prof);
  for (q = 0; q < (m + 2) * (m + 2); q++) {
    size_t base = (size_t)wino2_base (m, q);
    int w = wino2_mult (m, q) * (int)nc;
    const float *u = cv->wu + (size_t)q * cv->cout * cv->cin;
    const float *b = v + base * cv->cin * nc;
    float *c = mm + base * cv->cout * nc;

#ifdef SSAN_FMA_KERNELS
    if (j->gemm) {
      gemm_fma (cv->cout, w, cv->cin, u, (size_t)cv->cin, b, (size_t)w, c,
          (size_t)w, NULL, 0, 0, gemm_panel (j->work, thread));
      continue;
    }
#endif
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, cv->cout, w,
        cv->cin, 1.0f, u, cv->cin, b, w, 0.0f, c, w);
  }
#ifdef SSAN_FMA_KERNELS
  if (j->fma && m == 2)
    wino2_output_2_fma (j, tl, nc, mm);
  else if (j->fma)
    wino2_output_4_fma (j, tl, nc, mm);
  else
#endif
      if (m == 2)
    wino2_output_2 (j, t0, nc, mm);
  else
    wino2_output_4 (j, t0, nc, mm);
  conv_prof_stop (prof, thread, SSAN_PART_CONV, SSAN_KIND_STRIDED, t);
}

/* Chunk i of the tiles: transform in, (m+2)^2 GEMMs, transform out. */
static void
wino_item (void *arg, int i, int thread)
{
  const wino_job *j = arg;
  const ssan_conv *cv = j->cv;
  size_t t0 = (size_t)i * j->nt;
  size_t n = j->tiles - t0 < j->nt ? j->tiles - t0 : j->nt;
  size_t a2 = (size_t)(cv->wm + 2) * (cv->wm + 2), k;
  float *v = j->work->scratch + (size_t)thread * j->work->stride;
  float *mm = v + a2 * cv->cin * j->nt;
  double *prof = j->work->prof, t = ssan_prof_start (prof);
  /* GEMM width: the chunk's tiles rounded up to the vector width */
  int nc = (int)((n + 7) & ~(size_t)7);
#ifdef SSAN_FMA_KERNELS
  wino_tile tl[SSAN_WINO_MAX_TILES];

  if (j->fma && cv->wm == 4)
    wino_tiles (j, t0, (size_t)nc, tl);
#endif

  if (cv->wm == 2)
    wino_input_2 (j, t0, (size_t)nc, v);
#ifdef SSAN_FMA_KERNELS
  else if (j->fma && cv->wm == 4)
    wino_input_4_fma (j, tl, (size_t)nc, v);
#endif
  else
    wino_input_4 (j, t0, (size_t)nc, v);
  conv_prof_stop (prof, thread, SSAN_PART_IM2COL, SSAN_KIND_WINOGRAD, t);
  t = ssan_prof_start (prof);
  for (k = 0; k < a2; k++) {
#ifdef SSAN_FMA_KERNELS
    if (j->gemm) {
      gemm_fma (cv->cout, nc, cv->cin, cv->wu + k * cv->cout * cv->cin,
          (size_t)cv->cin, v + k * cv->cin * j->nt, j->nt,
          mm + k * cv->cout * j->nt, j->nt, NULL, 0, 0,
          gemm_panel (j->work, thread));
      continue;
    }
#endif
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, cv->cout, nc,
        cv->cin, 1.0f, cv->wu + k * cv->cout * cv->cin, cv->cin,
        v + k * cv->cin * j->nt, (int)j->nt, 0.0f, mm + k * cv->cout * j->nt,
        (int)j->nt);
  }
  if (cv->wm == 2)
    wino_output_2 (j, t0, (size_t)nc, mm);
#ifdef SSAN_FMA_KERNELS
  else if (j->fma && cv->wm == 4)
    wino_output_4_fma (j, tl, (size_t)nc, mm);
#endif
  else
    wino_output_4 (j, t0, (size_t)nc, mm);
  conv_prof_stop (prof, thread, SSAN_PART_CONV, SSAN_KIND_WINOGRAD, t);
}

/* Relative cost of a stride-1 chunk's GEMMs on nt columns (a multiple of
 * 8): gemm_fma's strips of 24 (12 accumulators) 20 per column, narrower
 * ones (8 accumulators; a last 8 is shared with the strip before: two of
 * 16) 23.  Measured (8 frames, 2 threads): layer3's 14x14 maps in chunks
 * of 24 tiles took 10 % less CPU than in chunks of 32, layer1's 56x56 in
 * 120 or 72 10-15 % less than in 112. */
static size_t
wino_width_cost (size_t nt)
{
  size_t full = nt / 24, rest = nt % 24;

  if (rest == 8 && full > 0) {
    full--;
    rest += 24;
  }
  return full * 24 * 20 + rest * 23;
}

static void
wino_forward (const ssan_conv *cv, const float *src, size_t cs, size_t fs,
    int nf, int H, int W, float *dst, int relu, int accumulate,
    const ssan_work *work)
{
  wino_job j;
  size_t items, want;
  int threads = ssan_pool_threads (work->pool);

  memset (&j, 0, sizeof j);
  j.cv = cv;
  j.work = work;
  j.src = src;
  j.cs = cs;
  j.fs = fs;
  j.H = H;
  j.W = W;
  j.Ho = ssan_conv_out_size (H, 3, cv->stride, 1);
  j.Wo = ssan_conv_out_size (W, 3, cv->stride, 1);
  j.tH = (j.Ho + cv->wm - 1) / cv->wm;
  j.tW = (j.Wo + cv->wm - 1) / cv->wm;
  j.step = cv->wm * cv->stride;
  j.tiles = (size_t)nf * j.tH * j.tW;
  j.cols = (size_t)nf * j.Ho * j.Wo;
  j.relu = relu;
  j.accumulate = accumulate;
  j.dst = dst;
  /* (stride 2: its gathers index a channel's plane with 32-bit offsets) */
  j.fma = use_fma_kernels ()
          && (cv->stride == 1 || (size_t)nf * fs + cs < (size_t)INT32_MAX);
  j.gemm = conv_use_gemm_fma (cv, nf, H, W, work);
  j.nt = wino_chunk_tiles (cv, j.tiles);
  /* a few chunks per thread, taken in turn (as the column slices of
   * im2col convolutions), as long as chunks stay wide enough */
  want = (size_t)threads * SSAN_SLICES_PER_THREAD;
  items = (j.tiles + j.nt - 1) / j.nt;
  if (threads > 1 && items < want) {
    size_t nt = ((j.tiles + want - 1) / want + 7) & ~(size_t)7;
    if (nt < SSAN_WINO_MIN_TILES)
      nt = SSAN_WINO_MIN_TILES;
    /* but at least one chunk per thread (layer4's 7x7 maps: 32 tiles) */
    if (nt * threads > j.tiles)
      nt = ((j.tiles + threads - 1) / threads + 7) & ~(size_t)7;
    if (nt < j.nt)
      j.nt = nt;
  }
  if (threads > 1) {
    /* chunks that the threads share evenly: of the widths down to half,
     * the one whose busiest thread has the fewest tiles (layer2's 28x28
     * maps: 392 tiles in 10 chunks of 40, not 7 of 56 of which one thread
     * takes 4), stride 1 counting its GEMMs' narrow strips as wider */
    size_t lo = cv->stride == 1 ? 24 : SSAN_WINO_MIN_TILES;
    size_t nt, best = j.nt, cost = SIZE_MAX;
    for (nt = j.nt; nt >= lo && nt * 2 >= j.nt; nt -= 8) {
      size_t n = (j.tiles + nt - 1) / nt;
      size_t c = (n + threads - 1) / threads
                 * (cv->stride == 1 ? wino_width_cost (nt) : nt);
      if (c < cost) {
        cost = c;
        best = nt;
      }
    }
    j.nt = best;
  }
  items = (j.tiles + j.nt - 1) / j.nt;
  ssan_pool_run (
      work->pool, (int)items, cv->stride == 1 ? wino_item : wino2_item, &j);
}

void
ssan_conv2d_forward (const ssan_conv *cv, const float *src, size_t cs,
    size_t fs, int nf, int H, int W, float *dst, int relu, int accumulate,
    const ssan_work *work)
{
  int threads = ssan_pool_threads (work->pool);
  conv_job j;

  if (is_wino (cv)) {
    wino_forward (cv, src, cs, fs, nf, H, W, dst, relu, accumulate, work);
    return;
  }
  memset (&j, 0, sizeof j);
  j.cv = cv;
  j.work = work;
  j.src = src;
  j.cs = cs;
  j.fs = fs;
  j.H = H;
  j.W = W;
  j.Ho = ssan_conv_out_size (H, cv->k, cv->stride, cv->pad);
  j.Wo = ssan_conv_out_size (W, cv->k, cv->stride, cv->pad);
  j.cols = (size_t)nf * j.Ho * j.Wo;
  j.relu = relu;
  j.beta = accumulate ? 1.0f : 0.0f;
  j.dst = dst;
  j.fma = conv_use_gemm_fma (cv, nf, H, W, work);
  j.kind = ssan_conv_kind (cv);
  j.direct = cv->k == 1 && cv->stride == 1 && cv->pad == 0
             && fs == (size_t)H * W && cs == j.cols;
  j.chunk = j.direct ? j.cols : ssan_conv_chunk_cols (cv, j.cols);

  if (threads == 1) {
    conv_columns (&j, 0, j.cols, 0);
  } else if (j.cols >= (size_t)threads * SSAN_MIN_SLICE_COLS) {
    /* a few slices per thread, taken in turn: a thread that the machine
     * holds back leaves its share to the others */
    j.slices = threads * SSAN_SLICES_PER_THREAD;
    while (
        j.slices > threads && j.cols < (size_t)j.slices * SSAN_MIN_SLICE_COLS)
      j.slices--;
    ssan_pool_run (work->pool, j.slices, conv_slice_item, &j);
  } else {
    j.pieces = threads;
    j.cpieces = pool_pieces (work->pool, (size_t)cv->cin);
    for (j.j0 = 0; j.j0 < j.cols; j.j0 += j.chunk) {
      j.n = j.cols - j.j0 < j.chunk ? j.cols - j.j0 : j.chunk;
      if (!j.direct)
        ssan_pool_run (work->pool, j.cpieces, conv_im2col_item, &j);
      ssan_pool_run (work->pool, j.pieces, conv_rows_item, &j);
    }
  }
}

typedef struct {
  const float *src;
  float *dst;
  int H, W, pieces;
  size_t planes;
  double *prof;
} pool_job;

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

SSAN_CLONES static void
maxpool_piece (void *arg, int i, int thread)
{
  pool_job *j = arg;
  int H = j->H, W = j->W;
  int Ho = ssan_conv_out_size (H, 3, 2, 1);
  int Wo = ssan_conv_out_size (W, 3, 2, 1);
  size_t p, p1 = PIECE_BEGIN (i + 1, j->planes, j->pieces);
  double t0 = ssan_prof_start (j->prof);

  for (p = PIECE_BEGIN (i, j->planes, j->pieces); p < p1; p++) {
    const float *in = j->src + p * H * W;
    float *out = j->dst + p * Ho * Wo;
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
  ssan_prof_stop (j->prof, thread, SSAN_PART_OTHER, t0);
}

void
ssan_maxpool_forward (const float *src, int C, int nf, int H, int W, float *dst,
    const ssan_work *work)
{
  pool_job j = { src, dst, H, W, 0, (size_t)C * nf, work->prof };

  j.pieces = pool_pieces (work->pool, j.planes);
  ssan_pool_run (work->pool, j.pieces, maxpool_piece, &j);
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

/* One key tile of the online softmax: s is [nk][mq] scores in base-2 units
 * (key rows, query columns).  Updates the running column maxima m and sums
 * l, turns s into 2^(s - m) and returns in corr the factor by which earlier
 * partial outputs must be scaled.  mq is a multiple of 8 (padded by the
 * caller); mnew is scratch of mq floats. */
SSAN_CLONES static void
online_softmax_tile (float *s, int ls, int nk, int mq, float *m, float *l,
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
SSAN_CLONES static void
scale_columns (float *o, int c, int mp, const float *corr)
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

/* The position branch's two products with AVX2+FMA register blocking
 * (4 keys or channels x 16 queries per block), used when the CPU has them:
 * the score tile's column maxima come for free while it is written, and no
 * zeroing pass touches the tile.  Elsewhere OpenBLAS computes the same
 * products. */
#ifdef SSAN_FMA_KERNELS
/* Packs k[c][0..nk) (row stride ld) as kp: for each group of 4 keys,
 * [c][4]; then each remaining key as [c]. */
static void
pack_keys (const float *k, size_t ld, int c, int nk, float *kp)
{
  int j, cc, t, nk4 = nk & ~3;

  for (j = 0; j < nk4; j += 4)
    for (cc = 0; cc < c; cc++)
      for (t = 0; t < 4; t++)
        *kp++ = k[cc * ld + j + t];
  for (; j < nk; j++)
    for (cc = 0; cc < c; cc++)
      *kp++ = k[cc * ld + j];
}

/* Packs v[c][0..nk) (row stride ld) as vp: for each group of 4 channels,
 * [nk][4]; then each remaining channel as [nk]. */
static void
pack_values (const float *v, size_t ld, int c, int nk, float *vp)
{
  int j, cc, t, c4 = c & ~3;

  for (cc = 0; cc < c4; cc += 4)
    for (j = 0; j < nk; j++)
      for (t = 0; t < 4; t++)
        *vp++ = v[(cc + t) * ld + j];
  for (; cc < c; cc++) {
    memcpy (vp, v + cc * ld, (size_t)nk * sizeof (float));
    vp += nk;
  }
}

#define SSAN_STORE_ROW(r, x0, x1)                                              \
  do {                                                                         \
    x0 = _mm256_mul_ps (x0, va);                                               \
    x1 = _mm256_mul_ps (x1, va);                                               \
    _mm256_storeu_ps (out + (size_t)(r)*ls, x0);                               \
    _mm256_storeu_ps (out + (size_t)(r)*ls + 8, x1);                           \
    mx0 = _mm256_max_ps (mx0, x0);                                             \
    mx1 = _mm256_max_ps (mx1, x1);                                             \
  } while (0)

/* 2^x for x in base-2 score units, the polynomial of V8F_EXP2 with FMAs. */
SSAN_FMA static inline __m256
exp2_fma (__m256 x)
{
  const __m256 magic = _mm256_set1_ps (12582912.0f); /* 1.5 * 2^23 */
  __m256 n, f, y;
  __m256i i;

  x = _mm256_min_ps (
      _mm256_max_ps (x, _mm256_set1_ps (-126.0f)), _mm256_set1_ps (127.0f));
  n = _mm256_add_ps (x, magic);
  i = _mm256_sub_epi32 (_mm256_castps_si256 (n), _mm256_castps_si256 (magic));
  n = _mm256_sub_ps (n, magic);
  f = _mm256_sub_ps (x, n);
  y = _mm256_set1_ps (1.5403530e-4f);
  y = _mm256_fmadd_ps (y, f, _mm256_set1_ps (1.3333558e-3f));
  y = _mm256_fmadd_ps (y, f, _mm256_set1_ps (9.6181291e-3f));
  y = _mm256_fmadd_ps (y, f, _mm256_set1_ps (5.5504109e-2f));
  y = _mm256_fmadd_ps (y, f, _mm256_set1_ps (2.4022651e-1f));
  y = _mm256_fmadd_ps (y, f, _mm256_set1_ps (6.9314718e-1f));
  y = _mm256_fmadd_ps (y, f, _mm256_set1_ps (1.0f));
  return _mm256_mul_ps (
      y, _mm256_castsi256_ps (_mm256_slli_epi32 (
             _mm256_add_epi32 (i, _mm256_set1_epi32 (127)), 23)));
}

/* Online softmax of 16 score columns [nk][16] (row stride ls) while they
 * are in L1: as online_softmax_tile for these columns; t0, t1 are their
 * maxima over the tile. */
SSAN_FMA static void
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
SSAN_FMA static inline __attribute__ ((always_inline)) void
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

SSAN_FMA static inline __attribute__ ((always_inline)) void
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
 * they are in L1, the online softmax step (online_softmax_tile): s becomes
 * 2^(s - m) with the updated running maxima m and sums l, corr the factor
 * for earlier partial outputs. */
SSAN_FMA static void
scores_fma (const float *qp, int mp, const float *kp, int c, int nk, int ls,
    float alpha, float *s, float *m, float *l, float *corr)
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
SSAN_FMA static void
accumulate_fma (
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
#endif

static int attn_generic_forced;

void
ssan_attn_force_generic (int on)
{
  attn_generic_forced = on;
}

static int
use_fma_kernels (void)
{
#ifdef SSAN_FMA_KERNELS
  return !attn_generic_forced && __builtin_cpu_supports ("avx2")
         && __builtin_cpu_supports ("fma");
#else
  return 0;
#endif
}

size_t
ssan_attn_spatial_scratch (int c)
{
  /* score tile, output and query tiles, running statistics */
  size_t pos = (size_t)SSAN_PK * (SSAN_PQ + 16) + 2 * (size_t)c * SSAN_PQ
               + 4 * SSAN_PQ;
  size_t chan = (size_t)c * c;

  return pos > chan ? pos : chan;
}

/* One tile of SSAN_PQ queries starting at i0, all keys. */
static void
position_tile (const float *q, const float *k, const float *v, size_t ld, int c,
    int n, int i0, float *a, float *scratch, const float *kpf, const float *vpf)
{
  float *s = scratch;
  float *o = s + (size_t)SSAN_PK * (SSAN_PQ + 16);
  float *m = o + (size_t)c * SSAN_PQ;
  float *l = m + SSAN_PQ, *mnew = l + SSAN_PQ, *corr = mnew + SSAN_PQ;
  float *qp = corr + SSAN_PQ;
  int fma = kpf != NULL;
  /* scores in base-2 units: exp(x) = 2^(x log2 e), the factor folded into
   * the GEMM */
  float scale = (float)(1.4426950408889634 / sqrt ((double)c));
  int mq = n - i0 < SSAN_PQ ? n - i0 : SSAN_PQ;
  /* the tile's row length, padded to the kernels' width; padding columns
   * hold zero scores and are never read back */
  int mp = (mq + 15) & ~15;
  /* score rows 16 floats longer than a power of two apart, so that a
   * column of the tile does not sit in a few cache sets */
  int ls = mp + 16;
  int j0, r, cc;

  for (r = 0; r < mp; r++) {
    m[r] = -INFINITY;
    l[r] = 0.0f;
  }
  memset (o, 0, (size_t)c * mp * sizeof (float));
  if (fma) {
    /* the query tile, zero-padded to mp columns */
    for (cc = 0; cc < c; cc++) {
      memcpy (qp + (size_t)cc * mp, q + cc * ld + i0, mq * sizeof (float));
      for (r = mq; r < mp; r++)
        qp[(size_t)cc * mp + r] = 0.0f;
    }
  }
  for (j0 = 0; j0 < n; j0 += SSAN_PK) {
    int nk = n - j0 < SSAN_PK ? n - j0 : SSAN_PK;

    /* s[j][i] = k[:, j0+j] . q[:, i0+i] / sqrt(c) (base 2), then
     * o[c][i] += sum_j v[c][j0+j] softmax(s)[j][i] */
#ifdef SSAN_FMA_KERNELS
    if (fma) {
      scores_fma (
          qp, mp, kpf + (size_t)c * j0, c, nk, ls, scale, s, m, l, corr);
      scale_columns (o, c, mp, corr);
      accumulate_fma (vpf + (size_t)c * j0, c, nk, s, ls, mp, o);
      continue;
    }
#endif
    if (mp != mq)
      memset (s, 0, (size_t)nk * ls * sizeof (float));
    cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, nk, mq, c, scale,
        k + j0, (int)ld, q + i0, (int)ld, 0.0f, s, ls);
    online_softmax_tile (s, ls, nk, mp, m, l, mnew, corr);
    scale_columns (o, c, mp, corr);
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, c, mq, nk, 1.0f,
        v + j0, (int)ld, s, ls, 1.0f, o, mp);
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

typedef struct {
  const float *q, *k, *v;
  size_t ld, stride;
  int c, n, tiles, ktiles;
  float *a, *scratch, *pack;
  double *prof;
} attn_job;

static void
position_item (void *arg, int item, int thread)
{
  attn_job *j = arg;
  size_t f = (size_t)(item / j->tiles), o = f * j->n;
  const float *kpf = NULL, *vpf = NULL;
  double t0 = ssan_prof_start (j->prof);

  if (j->pack) {
    kpf = j->pack + 2 * f * j->c * j->n;
    vpf = kpf + (size_t)j->c * j->n;
  }
  position_tile (j->q + o, j->k + o, j->v + o, j->ld, j->c, j->n,
      (item % j->tiles) * SSAN_PQ, j->a + o,
      j->scratch + (size_t)thread * j->stride, kpf, vpf);
  ssan_prof_stop (j->prof, thread, SSAN_PART_ATTN, t0);
}

#ifdef SSAN_FMA_KERNELS
/* Packs key tile (item % ktiles) of frame (item / ktiles): for each frame,
 * all keys then all values, tile after tile. */
static void
pack_item (void *arg, int item, int thread)
{
  attn_job *j = arg;
  size_t f = (size_t)(item / j->ktiles), o = f * j->n;
  int j0 = (item % j->ktiles) * SSAN_PK;
  int nk = j->n - j0 < SSAN_PK ? j->n - j0 : SSAN_PK;
  float *kpf = j->pack + 2 * f * j->c * j->n;
  double t0 = ssan_prof_start (j->prof);

  pack_keys (j->k + o + j0, j->ld, j->c, nk, kpf + (size_t)j->c * j0);
  pack_values (j->v + o + j0, j->ld, j->c, nk,
      kpf + (size_t)j->c * j->n + (size_t)j->c * j0);
  ssan_prof_stop (j->prof, thread, SSAN_PART_ATTN, t0);
}
#endif

/* In-place row softmax of x[rows][cols] (row maximum subtracted). */
static void softmax_rows (float *x, int rows, int cols);

static void
channel_item (void *arg, int item, int thread)
{
  attn_job *j = arg;
  size_t o = (size_t)item * j->n;
  float *s = j->scratch + (size_t)thread * j->stride;
  int c = j->c;
  double t0 = ssan_prof_start (j->prof);

  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, c, c, j->n,
      1.0f / sqrtf ((float)j->n), j->q + o, (int)j->ld, j->k + o, (int)j->ld,
      0.0f, s, c);
  softmax_rows (s, c, c);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, c, j->n, c, 1.0f, s,
      c, j->v + o, (int)j->ld, 0.0f, j->a + o, (int)j->ld);
  ssan_prof_stop (j->prof, thread, SSAN_PART_ATTN, t0);
}

void
ssan_attn_spatial_forward (const float *q, const float *k, const float *v,
    size_t ld, int c, int n, int nf, float *a, float *pack,
    const ssan_work *work)
{
  attn_job j = { q, k, v, ld, work->stride, c, n, (n + SSAN_PQ - 1) / SSAN_PQ,
    (n + SSAN_PK - 1) / SSAN_PK, a, work->scratch, NULL, work->prof };

  ssan_pool_run (work->pool, nf, channel_item, &j);
#ifdef SSAN_FMA_KERNELS
  if (use_fma_kernels ()) {
    j.pack = pack;
    ssan_pool_run (work->pool, nf * j.ktiles, pack_item, &j);
  }
#endif
  ssan_pool_run (work->pool, nf * j.tiles, position_item, &j);
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

typedef struct {
  const float *w, *b, *src;
  float *dst;
  int c, nb, T, n, pieces;
  double *prof;
} tconv_job;

/* Output channels piece i, all windows and taps. */
static void
tconv_item (void *arg, int i, int thread)
{
  tconv_job *j = arg;
  int c = j->c, T = j->T, n = j->n, win, tap, r;
  int r0 = (int)PIECE_BEGIN (i, c, j->pieces);
  int r1 = (int)PIECE_BEGIN (i + 1, c, j->pieces);
  size_t ld = (size_t)j->nb * T * n;
  double t0 = ssan_prof_start (j->prof);

  for (r = r0; r < r1; r++) {
    float *row = j->dst + r * ld;
    size_t x;
    for (x = 0; x < ld; x++)
      row[x] = j->b[r];
  }
  for (win = 0; win < j->nb && r1 > r0; win++) {
    for (tap = 0; tap < 3; tap++) {
      int d = tap - 1; /* output frame t reads input frame t + d */
      int f0 = d < 0 ? 1 : 0;
      int count = T - (d < 0 ? -d : d);

      if (count <= 0)
        continue;
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0,
          count * n, c, 1.0f, j->w + ((size_t)tap * c + r0) * c, c,
          j->src + ((size_t)win * T + f0 + d) * n, (int)ld, 1.0f,
          j->dst + r0 * ld + ((size_t)win * T + f0) * n, (int)ld);
    }
  }
  ssan_prof_stop (j->prof, thread, SSAN_PART_ATTN, t0);
}

void
ssan_temporal_conv_forward (const float *w, const float *b, int c,
    const float *src, int nb, int T, int n, float *dst, const ssan_work *work)
{
  tconv_job j = { w, b, src, dst, c, nb, T, n, 0, work->prof };

  j.pieces = ssan_pool_threads (work->pool);
  if (j.pieces > c)
    j.pieces = c;
  ssan_pool_run (work->pool, j.pieces, tconv_item, &j);
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
