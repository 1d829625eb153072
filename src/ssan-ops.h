/* gst-ssan engine: op drivers (internal, not installed), src/ops/: what
 * each op computes and how it is sliced over the threads; the kernel
 * tables (src/kernels/) compute the slices.
 *
 * Activation layout inside the network is "CNHW": a tensor of nf frames with
 * C channels of H x W is float[C][nf][H][W], element (c, f, y, x) at
 *   c * nf*H*W + f * H*W + y * W + x,
 * so that a 1x1 convolution over all frames of a batch is one GEMM
 * [Cout][Cin] x [Cin][nf*H*W].  Kernels that read a general 4-D tensor take
 * the channel stride cs and the frame stride fs explicitly (the network's
 * input frames are NCHW: cs = H*W, fs = 3*H*W).
 *
 * Shapes are checked when the network is built; these kernels trust them.
 */
#ifndef SSAN_OPS_H
#define SSAN_OPS_H

#include "kernels/ssan-kernels.h"
#include "ssan-pool.h"
#include "ssan-prof.h"

#include <stddef.h>

/* Where ops run: a kernel table, a pool (NULL: the caller alone) and
 * per-thread scratch, thread t owning scratch[t*stride, (t+1)*stride).  The
 * GEMMs inside run in these threads, so OpenBLAS must be single-threaded while
 * ops run (openblas_set_num_threads (1)). */
typedef struct ssan_work {
  const ssan_kernels *kern;
  ssan_pool *pool;
  float *scratch;
  size_t stride;
  double *prof; /* NULL, or seconds [thread][SSAN_PART_COUNT] to add to */
} ssan_work;

/* Whether work's table has a GEMM kernel and its scratch room for the
 * kernel's panel; the panel of a thread (at the end of the thread's part,
 * 64-byte aligned) */
int ssan_work_has_gemm (const ssan_work *work);
float *ssan_gemm_panel (const ssan_work *work, int thread);

/* A convolution with BatchNorm folded in: w is [cout][cin][k][k], b [cout]
 * (b may be NULL for no bias).  A 3x3 stride-1 pad-1 convolution with wu
 * set runs as Winograd F(wm x wm, 3 x 3) (wm 2 or 4) with the transformed
 * weights wu (ssan_wino_transform) instead of im2col + GEMM; a 3x3
 * stride-2 pad-1 one as its polyphase form with tiles of wm x wm outputs
 * (ssan_wino_s2_transform). */
typedef struct ssan_conv {
  int cin, cout, k, stride, pad;
  const float *w;
  const float *b;
  const float *wu;
  int wm;
} ssan_conv;

/* The SSAN_KIND_ of a convolution (for profiling) */
int ssan_conv_kind (const ssan_conv *cv);

/* Output side of a convolution / pooling window: floor((n+2p-k)/s)+1. */
static inline int
ssan_conv_out_size (int n, int k, int stride, int pad)
{
  return (n + 2 * pad - k) / stride + 1;
}

/* Columns handled per im2col chunk for a convolution whose GEMM depth is
 * K = cin*k*k and which has `cols` output columns (nf*Ho*Wo) in total; the
 * im2col buffer must hold K * that many floats.  0 for a 1x1 stride-1
 * unpadded convolution, which needs no im2col. */
size_t ssan_conv_chunk_cols (const ssan_conv *cv, size_t cols);

/* Winograd F(m x m, 3 x 3).  The input is cut into tiles of m x m outputs
 * (tile t of nf frames of tH x tW tiles: frame t / (tH*tW), row-major), each
 * read as an (m+2) x (m+2) patch; in the transform domain the convolution is
 * (m+2)^2 GEMMs [cout][cin] x [cin][tiles], run on chunks of tiles that
 * each thread transforms in, multiplies and transforms out (with the bias,
 * residual and ReLU epilogue) in its own scratch.  It does (m+2)^2/(9 m^2)
 * of the direct convolution's multiplies (0.44 for m = 2, 0.25 for m = 4)
 * plus the transforms.
 *
 * ssan_wino_pick is the rule, from measurements (see ssan-ops.c), that
 * decides which m a 3x3 stride-1 pad-1 convolution on Ho x Wo maps uses:
 * 4 for maps of 3x3 and more, 2 for a side of 2, 0 (im2col + GEMM) for a
 * side of 1. */
int ssan_wino_pick (int Ho, int Wo);
/* Floats of transformed weights: (m+2)^2 * cout * cin. */
size_t ssan_wino_weights_size (int cin, int cout, int m);
/* u[(m+2)^2][cout][cin] = G w G^T of w [cout][cin][3][3] (in double). */
void ssan_wino_transform (const float *w, int cin, int cout, int m, float *u);

/* Winograd for 3x3 stride 2 pad 1, tiles of m x m outputs from
 * (2m+1) x (2m+1) input patches: per axis, the even samples against the
 * middle tap and the odd ones against the outer two as F(m,2), so
 * (2m+1)^2 products per tile, (2m+1)^2/(9 m^2) of the direct convolution's
 * multiplies (0.69 for m = 2, 0.56 for m = 4).  Its weights have (m+2)^2
 * distinct transforms, ssan_wino_weights_size (cin, cout, m) floats.
 * ssan_wino_s2_pick, from measurements, gives m for Ho x Wo outputs (0:
 * im2col + GEMM). */
int ssan_wino_s2_pick (int Ho, int Wo);
void ssan_wino_s2_transform (
    const float *w, int cin, int cout, int m, float *u);

/* Floats of per-thread scratch that ssan_conv2d_forward needs for cv on nf
 * frames of H x W: im2col buffer or Winograd chunk (none for a 1x1
 * stride-1 unpadded convolution), plus the panel of a table's GEMM kernel
 * (SSAN_GEMM_PANEL).  With less (or no) scratch, a 1x1 stride-1
 * convolution runs its GEMM in OpenBLAS. */
size_t ssan_conv_scratch_size (const ssan_conv *cv, int nf, int H, int W);

/* im2col of input channels [c0, c1) for columns [j0, j0+n) of the output
 * grid (nf frames of Ho x Wo, column j = (f*Ho + oy)*Wo + ox) into
 * col[cin*k*k][n] (row (c*k + ky)*k + kx). */
void ssan_im2col (const float *src, size_t cs, size_t fs, int c0, int c1, int H,
    int W, int k, int stride, int pad, int Ho, int Wo, size_t j0, size_t n,
    float *col);

/* dst[cout][nf][Ho][Wo] = act(conv(src) + b (+ dst if accumulate)).
 * src is read with channel stride cs and frame stride fs; dst must not
 * overlap src.  Each thread's scratch holds at least ssan_conv_scratch_size
 * floats.  Threads take disjoint column slices (or row slices when there
 * are few columns; Winograd: chunks of tiles). */
void ssan_conv2d_forward (const ssan_conv *cv, const float *src, size_t cs,
    size_t fs, int nf, int H, int W, float *dst, int relu, int accumulate,
    const ssan_work *work);

/* 3x3 stride 2 pad 1 max-pool (padding never wins), CNHW -> CNHW. */
void ssan_maxpool_forward (const float *src, int C, int nf, int H, int W,
    float *dst, const ssan_work *work);

/* Global average pool: src CNHW [C][nf][hw] -> dst [nf][C]. */
void ssan_avgpool_forward (const float *src, int C, int nf, int hw, float *dst);

/* SSA spatial attention (spec §2 steps 2-4) for nf frames: for each frame,
 *   a = softmax_row(q k^T/sqrt(n)) v                       (channel branch)
 *     + [sum_j softmax_j(q[:,i].k[:,j]/sqrt(c)) v[:,j]]_i  (position branch)
 * q, k, v, a: c rows of nf*n values (frame f at column f*n), row stride ld.
 * The position branch runs in tiles of queries x keys with an online softmax;
 * no n x n matrix is ever held.  Each thread's scratch holds
 * ssan_attn_spatial_scratch(c) floats; threads take (frame, query tile)
 * items.  pack holds 2*c*nf*n floats (keys and values laid out for the
 * table's attn_ kernels). */
size_t ssan_attn_spatial_scratch (int c);
void ssan_attn_spatial_forward (const float *q, const float *k, const float *v,
    size_t ld, int c, int n, int nf, float *a, float *pack,
    const ssan_work *work);

/* Temporal 3x1x1 convolution with padding (1,0,0) per window (step 5):
 * src, dst CNHW [c][nb*T][n]; w [3][c][c] (tap, out, in), b [c].  Frames
 * beyond a window's ends read as zeros.  Threads take output frames. */
void ssan_temporal_conv_forward (const float *w, const float *b, int c,
    const float *src, int nb, int T, int n, float *dst, const ssan_work *work);

/* Temporal attention (step 6): per window, s = softmax_row(q' k'^T/sqrt(c*n))
 * over its T frames, y_t = sum_s s[t][s] v_s.  q, k, v, y CNHW [c][nb*T][n].
 * scratch holds ssan_attn_temporal_scratch(T) floats. */
size_t ssan_attn_temporal_scratch (int T);
void ssan_attn_temporal_forward (const float *q, const float *k, const float *v,
    int c, int nb, int T, int n, float *y, float *scratch);

/* Adds bias b[i] to the first cols values of rows [c0, c1) of x (row
 * stride ld) and optionally clamps at 0. */
void ssan_bias_act (
    float *x, int c0, int c1, size_t cols, size_t ld, const float *b, int relu);

#endif /* SSAN_OPS_H */
