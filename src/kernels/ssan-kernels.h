/* gst-ssan engine: kernel tables (internal, not installed).
 *
 * The op drivers (src/ops/) decide what to compute and how to slice it over
 * the threads; the kernels here compute one slice.  A table holds one
 * function per kernel for one instruction set, each built in its own static
 * library with its own compiler flags (src/kernels/<isa>/):
 *
 *   portable  C11 with GCC vectors of 8 floats at the build's baseline;
 *             convolution GEMMs and position-branch products in OpenBLAS
 *   avx2      x86 AVX2+FMA intrinsics (4x24 GEMM, 8-lane Winograd,
 *             4x16 position-branch blocks)
 *   avx512    x86 AVX-512F/VL/DQ/BW: GCC vectors of 16 floats (8x48 GEMM,
 *             8x32 position-branch blocks, one 16-wide exp), the AVX2
 *             Winograd transforms
 *
 * The avx512 kernels' source is also built with AVX2+FMA flags as the table
 * "avx512-emu" (each 16-float vector in two halves): slower, the same
 * logic, so that a machine without AVX-512 tests it.
 *
 * One table is chosen once per process (ssan_kernels_default: SSAN_KERNELS
 * if set, else the best the CPU and OS support); a context keeps the table
 * it was made with.  NULL entries mean "the driver's OpenBLAS path". */
#ifndef SSAN_KERNELS_H
#define SSAN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* One 3x3 Winograd convolution's geometry for the transforms.  Input
 * src: channel c, frame f at src + c*cs + f*fs, H x W; output dst
 * [cout][cols] (cols = frames * Ho*Wo).  Tiles of m x m outputs, tH x tW
 * per frame, input corners step apart; a chunk holds nt tiles (its
 * transformed rows are nt long). */
typedef struct ssan_wino_job {
  const float *src;
  size_t cs, fs;
  float *dst;
  size_t cols;
  const float *b; /* bias [cout] or NULL */
  int cin, cout, m;
  int H, W, Ho, Wo, tH, tW, step;
  size_t tiles, nt;
  int relu, accumulate;
  int offsets32; /* whole input addressable by 32-bit float offsets */
} ssan_wino_job;

/* Where tile t0 + i of a chunk sits: frame, top-left input corner (y0 out
 * of range past the last tile), offset of the corner from its channel's
 * plane (when offsets32). */
typedef struct ssan_wino_tile {
  int f, y0, x0, base;
} ssan_wino_tile;

/* Transforms of tiles [t0, t0 + nc) (nc a multiple of 8), tl[0..nc) their
 * positions: input into v (stride 1: [a^2][cin][nt]; stride 2: the class
 * layout of src/ops/winograd-s2.c), output from mm with bias, residual and
 * ReLU into dst. */
typedef void (*ssan_wino_in_fn) (const ssan_wino_job *j,
    const ssan_wino_tile *tl, size_t t0, size_t nc, float *v);
typedef void (*ssan_wino_out_fn) (const ssan_wino_job *j,
    const ssan_wino_tile *tl, size_t t0, size_t nc, const float *mm);

/* Floats of a thread's scratch kept for a table's GEMM panel (the same for
 * every table, so scratch sizes do not depend on it): the GEMM uses up to
 * SSAN_GEMM_PANEL_USE of them from a 64-byte aligned start. */
#define SSAN_GEMM_PANEL_USE ((size_t)256 * 96)
#define SSAN_GEMM_PANEL (SSAN_GEMM_PANEL_USE + 16)

typedef struct ssan_kernels {
  const char *name;

  /* c[M][N] = act(a[M][K] b[K][N] + bias (+ c if accumulate)); panel:
   * SSAN_GEMM_PANEL_USE floats, 64-byte aligned */
  void (*gemm) (int M, int N, int K, const float *a, size_t lda, const float *b,
      size_t ldb, float *c, size_t ldc, const float *bias, int relu,
      int accumulate, float *panel);
  int gemm_nr; /* its full strip width (columns); chunks are sized by it */
  int gemm_vw; /* its vector width (floats): narrower strips are padded */

  /* rows [c0, c1) of x (row stride ld), first cols values: += b[i], ReLU */
  void (*bias_act) (float *x, int c0, int c1, size_t cols, size_t ld,
      const float *b, int relu);
  /* im2col: see ssan_im2col in ssan-ops.h */
  void (*im2col) (const float *src, size_t cs, size_t fs, int c0, int c1, int H,
      int W, int k, int stride, int pad, int Ho, int Wo, size_t j0, size_t n,
      float *col);
  /* 3x3 stride 2 pad 1 max-pool of planes [p0, p1) of H x W */
  void (*maxpool) (
      const float *src, float *dst, int H, int W, size_t p0, size_t p1);

  /* [0]: m = 2, [1]: m = 4 */
  ssan_wino_in_fn wino_input[2], wino2_input[2];
  ssan_wino_out_fn wino_output[2], wino2_output[2];

  /* Position branch (spec §2 step 2) on one tile of mp queries (a multiple
   * of attn_align):
   * online_softmax (s [nk][mq] base-2 scores, row stride ls): running
   * column maxima m and sums l updated, s becomes 2^(s - m), corr the
   * factor for earlier partial outputs (mnew: mq floats of scratch);
   * scale_columns: o[c][mp] *= corr per column. */
  void (*online_softmax) (float *s, int ls, int nk, int mq, float *m, float *l,
      float *mnew, float *corr);
  void (*scale_columns) (float *o, int c, int mp, const float *corr);
  /* With keys and values packed in groups of 4 (src/ops/attention.c), or
   * NULL (OpenBLAS): scores s[j][i] = alpha k[:,j].qp[:,i] and the online
   * softmax step; accumulate o[c][i] += sum_j v[c][j] s[j][i]. */
  void (*attn_scores) (const float *qp, int mp, const float *kp, int c, int nk,
      int ls, float alpha, float *s, float *m, float *l, float *corr);
  void (*attn_accumulate) (
      const float *vp, int c, int nk, const float *p, int ls, int mp, float *o);
  int attn_align;

  /* back-to-back FMAs of this table's vector width (for ssan-bench's peak):
   * n rounds, returns the floating-point operations done; NULL: none */
  double (*fma_peak) (int64_t n, float *sink);
} ssan_kernels;

extern const ssan_kernels ssan_kernels_portable;
#if defined(SSAN_HAVE_X86_KERNELS)
extern const ssan_kernels ssan_kernels_avx2, ssan_kernels_avx512,
    ssan_kernels_avx512_emu;
#endif

/* The table by name ("portable", "avx2", "avx512", "avx512-emu") if this
 * build has it and this CPU can run it; else NULL with the reason in why. */
const ssan_kernels *ssan_kernels_find (
    const char *name, char *why, size_t why_size);

/* The process's table: the forced one (ssan_kernels_force), else
 * SSAN_KERNELS's, else the best for this CPU; NULL with the reason in why
 * when SSAN_KERNELS names a table this build or CPU cannot run. */
const ssan_kernels *ssan_kernels_default (char *why, size_t why_size);

#endif /* SSAN_KERNELS_H */
