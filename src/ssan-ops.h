/* gst-ssan engine: op kernels (internal, not installed).
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

#include <stddef.h>

/* A convolution with BatchNorm folded in: w is [cout][cin][k][k], b [cout]
 * (b may be NULL for no bias). */
typedef struct ssan_conv {
  int cin, cout, k, stride, pad;
  const float *w;
  const float *b;
} ssan_conv;

/* Output side of a convolution / pooling window: floor((n+2p-k)/s)+1. */
static inline int
ssan_conv_out_size (int n, int k, int stride, int pad)
{
  return (n + 2 * pad - k) / stride + 1;
}

/* Columns handled per im2col chunk for a convolution whose GEMM depth is
 * K = cin*k*k and which has `cols` output columns (nf*Ho*Wo) in total; the
 * im2col buffer must hold K * that many floats. */
size_t ssan_conv_chunk_cols (const ssan_conv *cv, size_t cols);

/* im2col of columns [j0, j0+n) of the output grid (nf frames of Ho x Wo,
 * column j = (f*Ho + oy)*Wo + ox) into col[cin*k*k][n]. */
void ssan_im2col (const float *src, size_t cs, size_t fs, int cin, int H, int W,
    int k, int stride, int pad, int Ho, int Wo, size_t j0, size_t n,
    float *col);

/* dst[cout][nf][Ho][Wo] = act(conv(src) + b (+ dst if accumulate)).
 * src is read with channel stride cs and frame stride fs.  col is scratch of
 * at least cin*k*k * ssan_conv_chunk_cols floats (unused, may be NULL, for a
 * 1x1 stride-1 unpadded convolution over a CNHW source). */
void ssan_conv2d_forward (const ssan_conv *cv, const float *src, size_t cs,
    size_t fs, int nf, int H, int W, float *dst, int relu, int accumulate,
    float *col);

/* 3x3 stride 2 pad 1 max-pool (padding never wins), CNHW -> CNHW. */
void ssan_maxpool_forward (
    const float *src, int C, int nf, int H, int W, float *dst);

/* Global average pool: src CNHW [C][nf][hw] -> dst [nf][C]. */
void ssan_avgpool_forward (const float *src, int C, int nf, int hw, float *dst);

/* SSA position branch for one frame (spec §2 step 2), tiled with an online
 * softmax: a[c][i] += sum_j softmax_j(q[:,i].k[:,j]/sqrt(c)) v[c][j].
 * q, k, v, a: c rows of n values, row stride ld.  scratch holds
 * ssan_attn_position_scratch(c) floats. */
size_t ssan_attn_position_scratch (int c);
void ssan_attn_position_forward (const float *q, const float *k, const float *v,
    size_t ld, int c, int n, float *a, float *scratch);

/* SSA channel branch for one frame (step 3): a = softmax_row(q k^T/sqrt(n)) v
 * (a overwritten).  scratch holds c*c floats. */
void ssan_attn_channel_forward (const float *q, const float *k, const float *v,
    size_t ld, int c, int n, float *a, float *scratch);

/* Temporal 3x1x1 convolution with padding (1,0,0) per window (step 5):
 * src, dst CNHW [c][nb*T][n]; w [3][c][c] (tap, out, in), b [c].  Frames
 * beyond a window's ends read as zeros. */
void ssan_temporal_conv_forward (const float *w, const float *b, int c,
    const float *src, int nb, int T, int n, float *dst);

/* Temporal attention (step 6): per window, s = softmax_row(q' k'^T/sqrt(c*n))
 * over its T frames, y_t = sum_s s[t][s] v_s.  q, k, v, y CNHW [c][nb*T][n].
 * scratch holds ssan_attn_temporal_scratch(T) floats. */
size_t ssan_attn_temporal_scratch (int T);
void ssan_attn_temporal_forward (const float *q, const float *k, const float *v,
    int c, int nb, int T, int n, float *y, float *scratch);

/* Adds bias b[c] to every value of row c of x[c][cols] and optionally
 * clamps at 0. */
void ssan_bias_act (
    float *x, int c, size_t cols, size_t ld, const float *b, int relu);

#endif /* SSAN_OPS_H */
