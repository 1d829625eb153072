/* Op tests: every op, on every kernel table this CPU can run, against a
 * naive implementation of the spec's formula in double precision. */
#include "ssan-ops.h"
#include "ssan-modelgen.h"
#include "ssan/ssan.h"

#include <cblas.h>
#include <pthread.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_passed, n_failed;
/* every test runs once serially and once with a pool of 3 threads */
static ssan_pool *g_pool;
/* the kernel table under test */
static const ssan_kernels *g_kern;

/* per-thread scratch of `stride` floats for g_pool's threads */
static ssan_work
make_work (size_t stride)
{
  ssan_work w;

  w.kern = g_kern;
  w.pool = g_pool;
  w.prof = NULL;
  w.stride = stride ? stride : 1;
  w.scratch = malloc (w.stride * ssan_pool_threads (g_pool) * sizeof (float));
  if (w.scratch == NULL) {
    fprintf (stderr, "out of memory\n");
    exit (2);
  }
  return w;
}
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static float
frand (void)
{
  rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((rng_state >> 40) / (double)(1 << 24)) * 2.0f - 1.0f;
}

static float *
rand_vec (size_t n, float scale)
{
  float *v = malloc ((n ? n : 1) * sizeof (float));
  size_t i;

  if (v == NULL) {
    fprintf (stderr, "out of memory\n");
    exit (2);
  }
  for (i = 0; i < n; i++)
    v[i] = frand () * scale;
  return v;
}

static void
check (const char *what, const float *got, const double *want, size_t n,
    double tol)
{
  double worst = 0.0;
  size_t i, at = 0;

  for (i = 0; i < n; i++) {
    double e = fabs (got[i] - want[i]) / (1.0 + fabs (want[i]));
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  if (worst <= tol) {
    n_passed++;
  } else {
    n_failed++;
    printf ("FAIL %s: error %g at %zu (got %g, want %g)\n", what, worst, at,
        got[at], want[at]);
  }
}

/* ---- convolution ---- */

/* wm: 0 for im2col + GEMM, else Winograd F(wm x wm, 3 x 3) (stride 1) or
 * its polyphase stride-2 form */
static void
test_conv_wm (int cin, int cout, int k, int stride, int pad, int nf, int H,
    int W, int nchw_src, int relu, int accumulate, int bias, int wm)
{
  int Ho = ssan_conv_out_size (H, k, stride, pad);
  int Wo = ssan_conv_out_size (W, k, stride, pad);
  size_t cols = (size_t)nf * Ho * Wo, ncol;
  size_t cs = nchw_src ? (size_t)H * W : (size_t)nf * H * W;
  size_t fs = nchw_src ? (size_t)cin * H * W : (size_t)H * W;
  float *src = rand_vec ((size_t)cin * nf * H * W, 1.0f);
  float *w = rand_vec ((size_t)cout * cin * k * k, 0.5f);
  float *b = rand_vec ((size_t)cout, 1.0f);
  float *dst = rand_vec ((size_t)cout * cols, 1.0f);
  double *want = malloc ((size_t)cout * cols * sizeof (double));
  float *u = NULL;
  ssan_conv cv = { cin, cout, k, stride, pad, w, bias ? b : NULL, NULL, 0 };
  ssan_work work;
  char what[200];
  double tol;
  int co, f, oy, ox, ci, ky, kx;

  if (wm) {
    u = malloc (ssan_wino_weights_size (cin, cout, wm) * sizeof (float));
    if (u == NULL) {
      fprintf (stderr, "out of memory\n");
      exit (2);
    }
    if (stride == 1)
      ssan_wino_transform (w, cin, cout, wm, u);
    else
      ssan_wino_s2_transform (w, cin, cout, wm, u);
    cv.wu = u;
    cv.wm = wm;
  }
  ncol = ssan_conv_scratch_size (&cv, nf, H, W);
  /* the im2col chunk, plus the GEMM kernel's panel where it runs */
  if (!wm && ncol < ssan_conv_chunk_cols (&cv, cols) * cin * k * k) {
    n_failed++;
    printf ("FAIL conv scratch size %zu\n", ncol);
  }
  work = make_work (ncol);
  for (co = 0; co < cout; co++)
    for (f = 0; f < nf; f++)
      for (oy = 0; oy < Ho; oy++)
        for (ox = 0; ox < Wo; ox++) {
          size_t o = (((size_t)co * nf + f) * Ho + oy) * Wo + ox;
          double s = bias ? b[co] : 0.0;
          for (ci = 0; ci < cin; ci++)
            for (ky = 0; ky < k; ky++)
              for (kx = 0; kx < k; kx++) {
                int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                  continue;
                s += (double)w[((co * cin + ci) * k + ky) * k + kx]
                     * src[ci * cs + f * fs + (size_t)iy * W + ix];
              }
          if (accumulate)
            s += dst[o];
          if (relu && s < 0)
            s = 0;
          want[o] = s;
        }
  ssan_conv2d_forward (
      &cv, src, cs, fs, nf, H, W, dst, relu, accumulate, &work);
  snprintf (what, sizeof what,
      "conv2d cin %d cout %d k %d s %d p %d nf %d %dx%d%s%s%s%s wino %d", cin,
      cout, k, stride, pad, nf, H, W, nchw_src ? " nchw" : "",
      relu ? " relu" : "", accumulate ? " residual" : "", bias ? " bias" : "",
      wm);
  /* float accumulation over K = cin*k*k terms; F(4x4)'s transforms add
   * terms up to ~10x larger than the result (measured: 10-20x the error of
   * im2col, F(2x2) about the same as im2col) */
  tol = 2e-6 * sqrt (cin * k * k);
  check (what, dst, want, (size_t)cout * cols, tol * (wm == 4 ? 5 : 1));
  free (u);
  free (src);
  free (w);
  free (b);
  free (dst);
  free (want);
  free (work.scratch);
}

static void
test_conv (int cin, int cout, int k, int stride, int pad, int nf, int H, int W,
    int nchw_src, int relu, int accumulate, int bias)
{
  test_conv_wm (
      cin, cout, k, stride, pad, nf, H, W, nchw_src, relu, accumulate, bias, 0);
}

/* Winograd for a 3x3 pad-1 convolution of the given stride (1: F(2x2) and
 * F(4x4); 2: the polyphase form with tiles of 2x2 and 4x4 outputs) */
static void
test_wino (int stride, int cin, int cout, int nf, int H, int W, int nchw_src,
    int relu, int accumulate, int bias)
{
  test_conv_wm (
      cin, cout, 3, stride, 1, nf, H, W, nchw_src, relu, accumulate, bias, 2);
  test_conv_wm (
      cin, cout, 3, stride, 1, nf, H, W, nchw_src, relu, accumulate, bias, 4);
}

static void
test_maxpool (int C, int nf, int H, int W)
{
  int Ho = ssan_conv_out_size (H, 3, 2, 1),
      Wo = ssan_conv_out_size (W, 3, 2, 1);
  size_t n = (size_t)C * nf * H * W, no = (size_t)C * nf * Ho * Wo, i;
  float *src = rand_vec (n, 1.0f), *dst = malloc (no * sizeof (float));
  double *want = malloc (no * sizeof (double));
  char what[96];
  size_t p;
  int oy, ox, y, x;

  /* all negative: zero padding would win, -inf padding must not */
  for (i = 0; i < n; i++)
    src[i] = -1.0f - fabsf (src[i]);
  for (p = 0; p < (size_t)C * nf; p++)
    for (oy = 0; oy < Ho; oy++)
      for (ox = 0; ox < Wo; ox++) {
        double m = -INFINITY;
        for (y = oy * 2 - 1; y <= oy * 2 + 1; y++)
          for (x = ox * 2 - 1; x <= ox * 2 + 1; x++)
            if (y >= 0 && y < H && x >= 0 && x < W
                && src[p * H * W + y * W + x] > m)
              m = src[p * H * W + y * W + x];
        want[(p * Ho + oy) * Wo + ox] = m;
      }
  ssan_work work = { g_kern, g_pool, NULL, 0, NULL };

  ssan_maxpool_forward (src, C, nf, H, W, dst, &work);
  snprintf (what, sizeof what, "maxpool C %d nf %d %dx%d", C, nf, H, W);
  check (what, dst, want, no, 0.0);
  free (src);
  free (dst);
  free (want);
}

static void
test_avgpool (int C, int nf, int hw)
{
  float *src = rand_vec ((size_t)C * nf * hw, 1.0f);
  float *dst = malloc ((size_t)nf * C * sizeof (float));
  double *want = malloc ((size_t)nf * C * sizeof (double));
  int c, f, i;

  for (c = 0; c < C; c++)
    for (f = 0; f < nf; f++) {
      double s = 0;
      for (i = 0; i < hw; i++)
        s += src[((size_t)c * nf + f) * hw + i];
      want[f * C + c] = s / hw;
    }
  ssan_avgpool_forward (src, C, nf, hw, dst);
  check ("avgpool", dst, want, (size_t)nf * C, 1e-6);
  free (src);
  free (dst);
  free (want);
}

/* ---- attention ---- */

/* Plain formula for one frame: a[c][i] = sum_j softmax_j(S[i][j]) v[c][j]
 * with S = q^T k / sqrt(c), the whole N x N matrix at once. */
static void
naive_position (const float *q, const float *k, const float *v, size_t ld,
    int c, int n, double *a)
{
  double *s = malloc ((size_t)n * n * sizeof (double));
  int i, j, cc;

  for (i = 0; i < n; i++) {
    double mx = -INFINITY, sum = 0;
    for (j = 0; j < n; j++) {
      double d = 0;
      for (cc = 0; cc < c; cc++)
        d += (double)q[cc * ld + i] * k[cc * ld + j];
      s[(size_t)i * n + j] = d / sqrt ((double)c);
      if (s[(size_t)i * n + j] > mx)
        mx = s[(size_t)i * n + j];
    }
    for (j = 0; j < n; j++) {
      s[(size_t)i * n + j] = exp (s[(size_t)i * n + j] - mx);
      sum += s[(size_t)i * n + j];
    }
    for (cc = 0; cc < c; cc++) {
      double o = 0;
      for (j = 0; j < n; j++)
        o += s[(size_t)i * n + j] * v[cc * ld + j];
      a[(size_t)cc * n + i] = o / sum;
    }
  }
  free (s);
}

static void
naive_channel (const float *q, const float *k, const float *v, size_t ld, int c,
    int n, double *a)
{
  double *s = malloc ((size_t)c * c * sizeof (double));
  int i, j, x;

  for (i = 0; i < c; i++) {
    double mx = -INFINITY, sum = 0;
    for (j = 0; j < c; j++) {
      double d = 0;
      for (x = 0; x < n; x++)
        d += (double)q[i * ld + x] * k[j * ld + x];
      s[i * c + j] = d / sqrt ((double)n);
      if (s[i * c + j] > mx)
        mx = s[i * c + j];
    }
    for (j = 0; j < c; j++) {
      s[i * c + j] = exp (s[i * c + j] - mx);
      sum += s[i * c + j];
    }
    for (x = 0; x < n; x++) {
      double o = 0;
      for (j = 0; j < c; j++)
        o += s[i * c + j] * v[j * ld + x];
      a[(size_t)i * n + x] = o / sum;
    }
  }
  free (s);
}

/* nf frames side by side, as in a CNHW tensor (row stride nf*n, plus a
 * guard column that must stay untouched). */
static void
test_spatial (int c, int n, int nf, float scale)
{
  size_t ld = (size_t)nf * n + 1, tot = (size_t)c * ld;
  float *q = rand_vec (tot, scale), *k = rand_vec (tot, scale);
  float *v = rand_vec (tot, 1.0f), *a = rand_vec (tot, 1.0f);
  ssan_work work = make_work (ssan_attn_spatial_scratch (c));
  double *want = malloc (tot * sizeof (double));
  double *wp = malloc ((size_t)c * n * sizeof (double));
  char what[96];
  int cc, i, f;

  for (cc = 0; cc < c; cc++)
    want[cc * ld + ld - 1] = a[cc * ld + ld - 1];
  for (f = 0; f < nf; f++) {
    size_t o = (size_t)f * n;
    naive_channel (q + o, k + o, v + o, ld, c, n, wp);
    for (cc = 0; cc < c; cc++)
      for (i = 0; i < n; i++)
        want[cc * ld + o + i] = wp[(size_t)cc * n + i];
    naive_position (q + o, k + o, v + o, ld, c, n, wp);
    for (cc = 0; cc < c; cc++)
      for (i = 0; i < n; i++)
        want[cc * ld + o + i] += wp[(size_t)cc * n + i];
  }
  float *pack = malloc (2 * (size_t)c * nf * n * sizeof (float));

  ssan_attn_spatial_forward (q, k, v, ld, c, n, nf, a, pack, &work);
  free (pack);
  snprintf (what, sizeof what, "spatial attention c %d n %d nf %d scale %g", c,
      n, nf, scale);
  /* scores carry float rounding proportional to their magnitude */
  check (what, a, want, tot, 2e-5 * scale);

  free (q);
  free (k);
  free (v);
  free (a);
  free (work.scratch);
  free (want);
  free (wp);
}

/* Temporal conv then temporal attention over nb windows of T frames, each
 * window computed on its own (as the spec's per-window view) and compared
 * with the batched kernels. */
static void
test_temporal (int c, int nb, int T, int n, float scale)
{
  size_t nf = (size_t)nb * T, ld = nf * n, tot = (size_t)c * ld;
  float *a = rand_vec (tot, scale), *v = rand_vec (tot, 1.0f);
  float *w[2], *bias[2], *qk[2], *y = malloc (tot * sizeof (float));
  float *scr = malloc (ssan_attn_temporal_scratch (T) * sizeof (float));
  double *wq[2], *wy = malloc (tot * sizeof (double));
  double *st = malloc ((size_t)T * T * sizeof (double));
  /* room for the table's GEMM panel: the temporal convolutions run on it */
  ssan_work work = make_work (SSAN_GEMM_PANEL);
  char what[96];
  int i, win, t, s, co, ci, tap, x;

  for (i = 0; i < 2; i++) {
    /* [tap][out][in] */
    w[i] = rand_vec ((size_t)3 * c * c, 0.5f);
    bias[i] = rand_vec ((size_t)c, 1.0f);
    qk[i] = malloc (tot * sizeof (float));
    wq[i] = malloc (tot * sizeof (double));
    for (co = 0; co < c; co++)
      for (win = 0; win < nb; win++)
        for (t = 0; t < T; t++)
          for (x = 0; x < n; x++) {
            double sum = bias[i][co];
            for (tap = 0; tap < 3; tap++) {
              int tt = t + tap - 1;
              if (tt < 0 || tt >= T)
                continue;
              for (ci = 0; ci < c; ci++)
                sum += (double)w[i][((size_t)tap * c + co) * c + ci]
                       * a[ci * ld + ((size_t)win * T + tt) * n + x];
            }
            wq[i][co * ld + ((size_t)win * T + t) * n + x] = sum;
          }
    ssan_temporal_conv_forward (w[i], bias[i], c, a, nb, T, n, qk[i], &work);
    snprintf (what, sizeof what, "temporal conv %d: c %d nb %d T %d n %d", i, c,
        nb, T, n);
    check (what, qk[i], wq[i], tot, 1e-5);
  }

  for (win = 0; win < nb; win++) {
    for (t = 0; t < T; t++) {
      double mx = -INFINITY, sum = 0;
      for (s = 0; s < T; s++) {
        double d = 0;
        for (ci = 0; ci < c; ci++)
          for (x = 0; x < n; x++)
            d += (double)qk[0][ci * ld + ((size_t)win * T + t) * n + x]
                 * qk[1][ci * ld + ((size_t)win * T + s) * n + x];
        st[t * T + s] = d / sqrt ((double)c * n);
        if (st[t * T + s] > mx)
          mx = st[t * T + s];
      }
      for (s = 0; s < T; s++) {
        st[t * T + s] = exp (st[t * T + s] - mx);
        sum += st[t * T + s];
      }
      for (s = 0; s < T; s++)
        st[t * T + s] /= sum;
    }
    for (ci = 0; ci < c; ci++)
      for (t = 0; t < T; t++)
        for (x = 0; x < n; x++) {
          double o = 0;
          for (s = 0; s < T; s++)
            o += st[t * T + s] * v[ci * ld + ((size_t)win * T + s) * n + x];
          wy[ci * ld + ((size_t)win * T + t) * n + x] = o;
        }
  }
  ssan_attn_temporal_forward (qk[0], qk[1], v, c, nb, T, n, y, scr);
  snprintf (what, sizeof what, "temporal attention c %d nb %d T %d n %d", c, nb,
      T, n);
  check (what, y, wy, tot, 1e-4);

  for (i = 0; i < 2; i++) {
    free (w[i]);
    free (bias[i]);
    free (qk[i]);
    free (wq[i]);
  }
  free (a);
  free (v);
  free (y);
  free (scr);
  free (work.scratch);
  free (wy);
  free (st);
}

/* ---- the network: shared models, threads, batches ---- */

typedef struct {
  const ssan_model *model;
  const float *frames;
  int T, batch, threads, rounds;
  float *logits;
  int status;
} net_job;

static void *
net_thread (void *data)
{
  net_job *j = data;
  ssan_error err;
  ssan_ctx *ctx = ssan_ctx_new (j->model, j->T, j->batch, &err);
  int r;

  j->status = ctx == NULL;
  if (ctx == NULL)
    return NULL;
  ssan_ctx_set_threads (ctx, j->threads);
  for (r = 0; r < j->rounds && j->status == 0; r++)
    j->status = ssan_ctx_forward (ctx, j->frames, j->batch, j->logits, &err);
  ssan_ctx_free (ctx);
  return NULL;
}

static void
check_same (const char *what, const float *got, const float *want, size_t n)
{
  double worst = 0.0;
  size_t i;

  for (i = 0; i < n; i++) {
    double e = fabs ((double)got[i] - want[i]);
    if (!(e <= worst))
      worst = e;
  }
  if (worst <= 1e-5) {
    n_passed++;
  } else {
    n_failed++;
    printf ("FAIL %s: logits differ by %g\n", what, worst);
  }
}

static void
test_network (const char *arch, int T, int ctx_T, int S, const char *ssa)
{
  ssan_modelgen_config cfg;
  ssan_modelgen *g;
  ssan_model *model;
  ssan_error err;
  uint8_t *bytes;
  size_t size, nfl;
  const ssan_info *info;
  float *frames, *ref, *one;
  net_job jobs[3];
  pthread_t tid[3];
  char what[160], msg[256];
  int i, nc, B = 3;

  ssan_modelgen_config_init (&cfg);
  cfg.arch = arch;
  cfg.width = 8;
  cfg.num_classes = 7;
  cfg.segments = T;
  cfg.input_size = S;
  cfg.ssa_blocks = ssa;
  g = ssan_modelgen_new (&cfg, msg, sizeof msg);
  if (g == NULL || ssan_modelgen_serialize (g, &bytes, &size) != 0) {
    n_failed++;
    printf ("FAIL modelgen %s: %s\n", arch, g ? "serialize" : msg);
    ssan_modelgen_free (g);
    return;
  }
  ssan_modelgen_free (g);
  model = ssan_model_load_memory (bytes, size, arch, &err);
  free (bytes);
  if (model == NULL) {
    n_failed++;
    printf ("FAIL load %s: %s\n", arch, err.msg);
    return;
  }
  info = ssan_model_get_info (model);
  nc = info->num_classes;
  nfl = (size_t)B * ctx_T * 3 * S * S;
  frames = rand_vec (nfl, 1.0f);
  ref = malloc ((size_t)B * nc * sizeof (float));
  one = malloc ((size_t)B * nc * sizeof (float));
  snprintf (what, sizeof what, "network %s T %d (ctx %d) S %d ssa [%s]", arch,
      T, ctx_T, S, ssa ? ssa : "");

  /* reference: one thread, one window per call (windows never mix) */
  {
    ssan_ctx *ctx = ssan_ctx_new (model, ctx_T, 1, &err);
    int b, ok = ctx != NULL;

    if (ctx)
      ssan_ctx_set_threads (ctx, 1);
    for (b = 0; ok && b < B; b++)
      ok = ssan_ctx_forward (
               ctx, frames + (size_t)b * nfl / B, 1, ref + (size_t)b * nc, &err)
           == 0;
    ssan_ctx_free (ctx);
    if (!ok) {
      n_failed++;
      printf ("FAIL %s: %s\n", what, err.msg);
      goto out;
    }
  }
  /* the same model shared by three threads, each with its own context,
   * batch and thread count, concurrently */
  for (i = 0; i < 3; i++) {
    jobs[i].model = model;
    jobs[i].frames = frames;
    jobs[i].T = ctx_T;
    jobs[i].batch = i == 0 ? 1 : B;
    jobs[i].threads = i + 1;
    jobs[i].rounds = 3;
    jobs[i].logits = malloc ((size_t)B * nc * sizeof (float));
    pthread_create (&tid[i], NULL, net_thread, &jobs[i]);
  }
  for (i = 0; i < 3; i++) {
    char w[200];
    pthread_join (tid[i], NULL);
    snprintf (w, sizeof w, "%s: batch %d, %d threads, shared", what,
        jobs[i].batch, jobs[i].threads);
    if (jobs[i].status != 0) {
      n_failed++;
      printf ("FAIL %s: forward failed\n", w);
    } else {
      check_same (w, jobs[i].logits, ref, (size_t)jobs[i].batch * nc);
    }
    free (jobs[i].logits);
  }
  /* a bigger context used with a smaller batch, threads changed between
   * calls */
  {
    ssan_ctx *ctx = ssan_ctx_new (model, ctx_T, B + 1, &err);
    int ok = ctx != NULL && ssan_ctx_get_segments (ctx) == ctx_T
             && strcmp (ssan_ctx_get_kernels (ctx), g_kern->name) == 0;

    if (ok) {
      ssan_profile prof;
      double kinds;

      ssan_ctx_set_threads (ctx, 2);
      ssan_ctx_set_profiling (ctx, 1);
      ok = ssan_ctx_forward (ctx, frames, 2, one, &err) == 0;
      ssan_ctx_get_profile (ctx, &prof);
      kinds = prof.conv_stem + prof.conv_1x1 + prof.conv_winograd
              + prof.conv_strided + prof.conv_down + prof.conv_other;
      if (prof.windows != 2 || !(prof.conv > 0) || !(prof.wall > 0)
          || !(ssan_ctx_get_flops (ctx) > 0)
          || !(fabs (kinds - prof.conv - prof.im2col)
               <= 1e-9 + 1e-6 * (prof.conv + prof.im2col))
          || !(prof.conv_stem > 0)) {
        n_failed++;
        printf ("FAIL %s: profile (%lld windows, conv %g s, im2col %g s, "
                "kinds %g s, stem %g s, %g flops)\n",
            what, (long long)prof.windows, prof.conv, prof.im2col, kinds,
            prof.conv_stem, ssan_ctx_get_flops (ctx));
      }
      ssan_ctx_set_threads (ctx, 1);
      ok = ok
           && ssan_ctx_forward (
                  ctx, frames + nfl / B * 2, 1, one + 2 * nc, &err)
                  == 0;
      ok = ok && ssan_ctx_forward (ctx, frames, B + 2, one, &err) != 0;
    }
    ssan_ctx_free (ctx);
    if (ok)
      check_same (what, one, ref, (size_t)B * nc);
    else {
      n_failed++;
      printf ("FAIL %s: reused context\n", what);
    }
  }

out:
  ssan_model_free (model);
  free (frames);
  free (ref);
  free (one);
}

/* Forcing tables: unknown names and tables the CPU lacks are errors that
 * leave the choice as it was; contexts keep the table they were made
 * with. */
static void
test_kernel_choice (void)
{
  ssan_error err = { 0 };
  const char *auto_name = ssan_get_kernels (&err);
  const char *env = getenv ("SSAN_KERNELS");
  int rc;

  if (auto_name == NULL || (env && *env && strcmp (env, auto_name) != 0)) {
    n_failed++;
    printf ("FAIL kernels: automatic choice %s (SSAN_KERNELS %s)\n",
        auto_name ? auto_name : err.msg, env ? env : "unset");
    return;
  }
  rc = ssan_set_kernels ("avx1024", &err);
  if (rc != SSAN_ERR_ARG || strstr (err.msg, "not in this build") == NULL
      || strcmp (ssan_get_kernels (NULL), auto_name) != 0) {
    n_failed++;
    printf ("FAIL kernels: unknown table gave %d '%s'\n", rc, err.msg);
  } else
    n_passed++;
  rc = ssan_set_kernels ("avx512", &err);
  if (rc != 0
      && (rc != SSAN_ERR_ARG
          || (strstr (err.msg, "this CPU lacks") == NULL
              && strstr (err.msg, "not in this build") == NULL))) {
    n_failed++;
    printf ("FAIL kernels: avx512 gave %d '%s'\n", rc, err.msg);
  } else
    n_passed++;
  ssan_set_kernels ("portable", NULL);
  if (strcmp (ssan_get_kernels (NULL), "portable") != 0) {
    n_failed++;
    printf ("FAIL kernels: forcing portable\n");
  } else
    n_passed++;
  ssan_set_kernels (NULL, NULL);
}

/* The ops whose kernels are in the tables */
static void
run_kernels (void)
{
  test_maxpool (3, 2, 12, 12);
  test_maxpool (2, 3, 7, 9);
  test_maxpool (2, 2, 1, 1);
  test_maxpool (1, 1, 2, 3);
  /* wide enough for 8 outputs at a time, odd and even sides, 2-row and
   * 1-row windows */
  test_maxpool (2, 2, 40, 37);
  test_maxpool (1, 3, 19, 50);
  test_maxpool (1, 1, 1, 64);
  test_maxpool (1, 1, 2, 35);
  {
    /* convolutions: kernel sizes, strides, paddings, odd and non-square
     * maps, tiny maps, both source layouts, all epilogues */
    test_conv (3, 8, 7, 2, 3, 2, 17, 23, 1, 1, 0, 1);
    test_conv (3, 4, 7, 2, 3, 3, 1, 1, 1, 1, 0, 1);
    test_conv (3, 4, 7, 2, 3, 1, 2, 5, 1, 0, 0, 1);
    test_conv (5, 6, 3, 1, 1, 2, 9, 7, 0, 1, 1, 1);
    test_conv (5, 6, 3, 2, 1, 3, 9, 8, 0, 1, 0, 1);
    test_conv (4, 3, 3, 2, 1, 2, 1, 1, 0, 0, 1, 1);
    test_conv (4, 3, 3, 1, 1, 1, 1, 2, 0, 1, 1, 0);
    test_conv (7, 5, 5, 3, 2, 2, 11, 13, 0, 0, 0, 1);
    test_conv (6, 8, 1, 2, 0, 3, 7, 9, 0, 0, 0, 1);
    test_conv (6, 8, 1, 2, 0, 2, 1, 1, 0, 1, 1, 1);
    /* 1x1 stride 1 fast path (direct GEMM) */
    test_conv (16, 24, 1, 1, 0, 4, 5, 7, 0, 1, 0, 1);
    test_conv (16, 24, 1, 1, 0, 4, 5, 7, 0, 1, 1, 1);
    test_conv (16, 24, 1, 1, 0, 2, 3, 3, 0, 0, 1, 0);
    /* more columns than one im2col chunk */
    test_conv (64, 8, 3, 1, 1, 2, 120, 150, 0, 1, 1, 1);
    /* with a pool: column slices (direct and im2col) and, for few columns,
     * row slices over several im2col chunks */
    test_conv (8, 12, 1, 1, 0, 3, 16, 16, 0, 1, 1, 1);
    test_conv (8, 12, 3, 1, 1, 3, 15, 17, 0, 1, 0, 1);
    test_conv (912, 4, 3, 1, 1, 1, 20, 20, 0, 1, 1, 1);
    /* GEMM kernel: depth over several blocks, ragged rows and columns,
     * several column panels */
    test_conv (300, 7, 1, 1, 0, 3, 9, 11, 0, 1, 1, 1);
    test_conv (70, 9, 1, 1, 0, 2, 13, 10, 0, 0, 1, 1);
    test_conv (20, 5, 1, 1, 0, 1, 5, 25, 0, 1, 0, 1);
    /* rows in blocks of 8, 4 and 1; a last strip shared with the one
     * before (63 columns: AVX-512 strips of 32 and 31) */
    test_conv (40, 13, 1, 1, 0, 1, 7, 9, 0, 1, 1, 1);
    /* tiles of 128 queries x 256 keys: smaller, equal, not a multiple */
    test_spatial (4, 1, 2, 1.0f);
    test_spatial (3, 7, 3, 1.0f);
    test_spatial (8, 100, 2, 1.0f);
    test_spatial (16, 128, 2, 1.0f);
    test_spatial (16, 256, 1, 1.0f);
    test_spatial (5, 300, 3, 1.0f);
    test_spatial (32, 529, 2, 1.0f);
    test_spatial (1, 9, 4, 1.0f);
    /* scores in the hundreds: only max subtraction keeps exp finite */
    test_spatial (8, 300, 2, 30.0f);
    test_spatial (32, 200, 2, 10.0f);
    /* Winograd (portable and AVX2+FMA transforms): odd maps (partial
     * tiles), 1x1 and 2x3 maps, channel counts not multiples of 8, tile
     * counts not multiples of 8, all epilogues, several chunks of tiles
     * (serial) */
    test_wino (1, 5, 6, 2, 7, 7, 0, 1, 1, 1);
    test_wino (1, 13, 11, 3, 13, 13, 0, 0, 1, 1);
    test_wino (1, 3, 9, 2, 1, 1, 0, 1, 0, 1);
    test_wino (1, 7, 5, 1, 2, 3, 1, 0, 0, 0);
    test_wino (1, 64, 70, 2, 14, 14, 0, 1, 1, 1);
    test_wino (1, 32, 40, 3, 28, 29, 0, 1, 0, 1);
    test_wino (1, 17, 24, 4, 56, 56, 0, 0, 1, 1);
    test_wino (1, 130, 8, 1, 9, 11, 1, 1, 1, 0);
    test_wino (1, 4, 4, 40, 16, 16, 0, 1, 1, 1);
    /* with the pool: few tiles split by channels and rows (above), many
     * tiles in chunks per thread (here) */
    test_wino (1, 400, 4, 15, 16, 16, 0, 1, 1, 1);
    /* stride 2: even and odd inputs (outputs 28, 14, 7, 1-3, partial
     * tiles), non-square maps, channel counts not multiples of 8, all
     * epilogues, several chunks of tiles */
    test_wino (2, 5, 6, 2, 14, 14, 0, 1, 1, 1);
    test_wino (2, 13, 11, 3, 13, 13, 0, 0, 1, 1);
    test_wino (2, 9, 7, 2, 7, 7, 0, 1, 0, 1);
    test_wino (2, 3, 9, 2, 1, 1, 0, 1, 0, 1);
    test_wino (2, 4, 5, 3, 2, 2, 0, 0, 1, 0);
    test_wino (2, 6, 3, 1, 3, 3, 1, 1, 1, 1);
    test_wino (2, 7, 5, 1, 2, 5, 1, 0, 0, 0);
    test_wino (2, 20, 17, 2, 28, 28, 0, 1, 1, 1);
    test_wino (2, 33, 40, 3, 56, 56, 0, 1, 1, 1);
    test_wino (2, 64, 70, 2, 14, 15, 0, 0, 1, 1);
    test_wino (2, 130, 8, 1, 9, 11, 1, 1, 1, 0);
    test_wino (2, 400, 4, 15, 16, 16, 0, 1, 1, 1);
  }
  /* SSA's temporal steps (their convolutions run on the table's GEMM,
   * frames over the threads): one and several windows, T = 1 to 8 */
  test_temporal (3, 2, 3, 5, 1.0f);
  test_temporal (4, 3, 1, 6, 1.0f);
  test_temporal (2, 1, 8, 7, 1.0f);
  test_temporal (5, 2, 2, 4, 10.0f);
  test_temporal (4, 2, 5, 3, 1.0f);
  test_temporal (40, 2, 8, 50, 1.0f);
}

/* The ops without table kernels */
static void
run_others (void)
{
  test_avgpool (5, 3, 49);
  test_avgpool (3, 2, 1);
}

int
main (void)
{
  static const char *const tables[]
      = { "portable", "avx2", "avx512", "avx512-emu" };
  char ran[200] = "", skipped[600] = "";
  ssan_error err;
  size_t i;

  /* the ops run their GEMMs inside their own threads */
  openblas_set_num_threads (1);
  g_kern = ssan_kernels_default (err.msg, sizeof err.msg);
  run_others ();
  for (i = 0; i < sizeof tables / sizeof tables[0]; i++) {
    int before = n_failed;

    if (ssan_set_kernels (tables[i], &err) != 0) {
      printf ("kernels %s: skipped: %s\n", tables[i], err.msg);
      snprintf (skipped + strlen (skipped), sizeof skipped - strlen (skipped),
          "%s%s (%s)", *skipped ? ", " : "", tables[i], err.msg);
      continue;
    }
    g_kern = ssan_kernels_find (tables[i], err.msg, sizeof err.msg);
    g_pool = NULL;
    run_kernels ();
    g_pool = ssan_pool_new (3);
    if (ssan_pool_threads (g_pool) != 3) {
      n_failed++;
      printf ("FAIL pool: %d threads, want 3\n", ssan_pool_threads (g_pool));
    }
    run_kernels ();
    ssan_pool_free (g_pool);
    g_pool = NULL;

    /* contexts made now run this table */
    test_network ("resnet18", 3, 3, 45, "layer1.0,layer2.0");
    test_network ("resnet50", 2, 4, 33, "layer1.0,layer3.1");
    test_network ("resnet18", 8, 1, 20, "layer2.0");
    printf ("kernels %s: ran, %d failures\n", tables[i], n_failed - before);
    snprintf (ran + strlen (ran), sizeof ran - strlen (ran), "%s%s",
        *ran ? ", " : "", tables[i]);
  }
  ssan_set_kernels (NULL, NULL);
  test_kernel_choice ();
  printf (
      "kernel tables run: %s; skipped: %s\n", ran, *skipped ? skipped : "none");

  printf ("%d passed, %d failed\n", n_passed, n_failed);
  return n_failed != 0;
}
