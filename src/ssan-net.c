/* gst-ssan engine: the network (spec §1-2) — model building with BatchNorm
 * folding, execution contexts, forward pass.
 *
 * Threads.  A context with n threads computes with exactly n threads: the
 * caller plus a pool of n-1 workers made in ssan_ctx_new (or
 * ssan_ctx_set_threads).  The work is split by the engine — column slices
 * of every convolution (each thread with its own im2col buffer, so im2col,
 * GEMM and epilogue stay in its cache), (frame, query tile) items of the
 * attention — and every GEMM runs single-threaded inside these threads.
 * ssan_ctx_forward therefore sets OpenBLAS to one thread
 * (openblas_set_num_threads (1), a process-wide setting) when it is not
 * already: OpenBLAS's own threads would only fight the engine's for the
 * cores.  Contexts in different threads never share threads, so several
 * streams each with a context of 1 thread (or cores/streams) use the cores
 * without oversubscribing them.
 *
 * Memory.  A model's folded weights live in one allocation; a context owns
 * one scratch arena sized in ssan_ctx_new for max_batch windows, and
 * ssan_ctx_forward allocates nothing.  Activations are CNHW (ssan-ops.h):
 * the frames of a whole batch go through each convolution as one GEMM.
 */
#include "ssan-internal.h"
#include "ssan-ops.h"
#include "ssan-shift.h"

#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SSAN_BN_EPS 1e-5
#define SSAN_ALIGN_FLOATS 16
#define SSAN_HUGE_PAGE ((size_t)2 << 20)
#define SSAN_HUGE_MIN ((size_t)32 << 20)

/* The big buffers (weights, Winograd weights, activations, scratch) on
 * 2 MiB boundaries and in transparent huge pages where the kernel grants
 * them (only on request on Debian): the convolutions stream over hundreds
 * of MiB per window, far beyond what the TLB covers in 4 KiB pages
 * (measured: tsn convolutions 1-3 % less CPU, Winograd 4 %).  Buffers
 * under 32 MiB (small models) stay in 4 KiB pages: there the TLB is not
 * the limit, and huge pages only round their resident memory up (8 demo
 * streams: 80-82 MiB peak RSS in 4 KiB pages, 87-90 in huge pages).
 * Freed with free (). */
static void *
big_alloc (size_t bytes)
{
  void *p;

  if (bytes < SSAN_HUGE_MIN)
    return aligned_alloc (64, (bytes + 63) & ~(size_t)63);
  if (bytes > SIZE_MAX - SSAN_HUGE_PAGE)
    return NULL;
  bytes = (bytes + SSAN_HUGE_PAGE - 1) & ~(SSAN_HUGE_PAGE - 1);
  p = aligned_alloc (SSAN_HUGE_PAGE, bytes);
#ifdef MADV_HUGEPAGE
  /* advice: where it is refused, 4 KiB pages compute the same */
  if (p != NULL)
    (void)madvise (p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

typedef struct ssan_ssa {
  int c, cr;          /* C and C' = C / ssa_reduction */
  ssan_conv qkv;      /* theta, phi, g stacked: C -> 3C' */
  const float *wt[2]; /* theta_t, phi_t: [3][C'][C'] (tap, out, in) */
  const float *bt[2]; /* their biases [C'] */
  ssan_conv out;      /* C' -> C, out_bn folded */
} ssan_ssa;

typedef struct ssan_block {
  ssan_conv conv1, conv2, conv3; /* conv3 only in bottlenecks */
  ssan_conv down;
  int has_down;
  int has_ssa;
  ssan_ssa ssa;
  int shift; /* named in shift_blocks (TSM) */
  int fold;  /* channels shifted each way: floor(cin / shift_div) */
} ssan_block;

struct ssan_model {
  ssan_info info;
  float *weights; /* every folded weight, one allocation (a Winograd
                   * convolution's 3x3 ones released once transformed) */
  float *wino;    /* Winograd-transformed weights, one allocation */
  ssan_conv stem;
  ssan_block *blocks;
  int n_blocks;
  int feat;          /* channels into fc */
  const float *fc_w; /* [num_classes][feat] */
  const float *fc_b; /* [num_classes] */
};

struct ssan_ctx {
  const ssan_model *model;
  int T, max_batch, n_threads;
  float *arena;
  /* views into arena, sizes for max_batch * T frames */
  float *x, *d, *t1, *t2; /* activations, CNHW */
  float *qkv, *att;       /* SSA: Q, K, V stacked; A (then Y) */
  float *scratch;         /* temporal attention */
  float *feat, *flog;     /* pooled features [nf][C], frame logits */
  float *keep;            /* frames the temporal shift pushes out */
  size_t thread_size;     /* per-thread scratch: im2col, attention tiles */
  ssan_work work;         /* pool of n_threads and its scratch, owned */
  double flops;           /* per window */
  double *prof;           /* [threads][SSAN_PART_COUNT] seconds */
  int profiling;
  double prof_wall;
  int64_t prof_windows;
};

/* ---- building ---- */

typedef struct builder {
  ssan_st *st;
  const char *fname;
  float *base;
  size_t cap, off; /* floats */
  int64_t n_params;
  ssan_error *err;
} builder;

static size_t
reserve (builder *b, size_t n)
{
  size_t at = b->off;
  b->off = (at + n + SSAN_ALIGN_FLOATS - 1) & ~(size_t)(SSAN_ALIGN_FLOATS - 1);
  return at;
}

static const ssan_st_tensor *
find_tensor (const ssan_st *st, const char *name)
{
  size_t i;

  for (i = 0; i < st->n_tensors; i++)
    if (strcmp (st->tensors[i].name, name) == 0)
      return &st->tensors[i];
  return NULL;
}

/* Takes tensor `name` of exactly `shape` into base[at...]. */
static int
take_at (
    builder *b, const char *name, int ndim, const int64_t *shape, size_t at)
{
  size_t numel = 1;
  int i;

  for (i = 0; i < ndim; i++) {
    if (shape[i] <= 0 || (uint64_t)shape[i] > b->cap / numel)
      goto too_big;
    numel *= (size_t)shape[i];
  }
  if (at > b->cap || numel > b->cap - at)
    goto too_big;
  if (ssan_st_take (b->st, name, ndim, shape, b->base + at, b->err) != 0)
    return -1;
  b->n_params += (int64_t)numel;
  return 0;

too_big:
  /* the file cannot hold a tensor of this shape: name the problem here,
   * without letting the loader write past the weights */
  {
    const ssan_st_tensor *t = find_tensor (b->st, name);
    if (t == NULL)
      ssan_set_error (
          b->err, SSAN_ERR_FORMAT, "%s: tensor '%s' missing", b->fname, name);
    else
      ssan_set_error (b->err, SSAN_ERR_FORMAT,
          "%s: tensor '%s' does not have the expected shape (%d dims, "
          "first %lld)",
          b->fname, name, ndim, (long long)shape[0]);
  }
  return -1;
}

static int
take_new (builder *b, const char *name, int ndim, const int64_t *shape,
    const float **out)
{
  size_t numel = 1, at;
  int i;

  for (i = 0; i < ndim; i++)
    numel *= (size_t)(shape[i] > 0 ? shape[i] : 0);
  at = b->off;
  if (take_at (b, name, ndim, shape, at) != 0)
    return -1;
  reserve (b, numel);
  *out = b->base + at;
  return 0;
}

/* Takes BatchNorm `prefix` (cout channels), scales the rows of w (rowlen
 * floats each) and returns the folded bias. */
static int
fold_bn (builder *b, const char *prefix, int cout, float *w, size_t rowlen,
    const float **bias)
{
  static const char *const parts[4]
      = { "weight", "bias", "running_mean", "running_var" };
  int64_t shape[1] = { cout };
  size_t at = b->off;
  float *v = b->base + at;
  char name[128];
  int i;

  for (i = 0; i < 4; i++) {
    snprintf (name, sizeof name, "%s.%s", prefix, parts[i]);
    if (take_at (b, name, 1, shape, at + (size_t)i * cout) != 0)
      return -1;
  }
  for (i = 0; i < cout; i++) {
    double gamma = v[i], beta = v[cout + i], mean = v[2 * cout + i];
    double var = v[3 * cout + i], s;
    size_t j;

    if (!(var + SSAN_BN_EPS > 0.0) || !isfinite (var)) {
      ssan_set_error (b->err, SSAN_ERR_FORMAT,
          "%s: tensor '%s.running_var': invalid variance %g at %d", b->fname,
          prefix, var, i);
      return -1;
    }
    s = gamma / sqrt (var + SSAN_BN_EPS);
    v[i] = (float)(beta - mean * s);
    for (j = 0; j < rowlen; j++)
      w[i * rowlen + j] = (float)(w[i * rowlen + j] * s);
  }
  reserve (b, cout);
  *bias = v;
  return 0;
}

/* conv `cname`.weight [cout][cin][k][k] (no bias) followed by BatchNorm
 * `bname`. */
static int
conv_bn (builder *b, const char *cname, const char *bname, int cin, int cout,
    int k, int stride, int pad, ssan_conv *cv)
{
  int64_t shape[4] = { cout, cin, k, k };
  char name[128];
  const float *w;

  snprintf (name, sizeof name, "%s.weight", cname);
  if (take_new (b, name, 4, shape, &w) != 0)
    return -1;
  cv->cin = cin;
  cv->cout = cout;
  cv->k = k;
  cv->stride = stride;
  cv->pad = pad;
  cv->w = w;
  return fold_bn (b, bname, cout, (float *)w, (size_t)cin * k * k, &cv->b);
}

static int
build_ssa (builder *b, const char *blk, int c, int r, ssan_ssa *ssa)
{
  static const char *const emb[3] = { "theta", "phi", "g" };
  static const char *const temb[2] = { "theta_t", "phi_t" };
  int cr = c / r, i;
  int64_t wshape[4] = { cr, c, 1, 1 }, bshape[1] = { cr };
  int64_t tshape[5] = { cr, cr, 3, 1, 1 };
  size_t wat, bat;
  float *tmp;
  char name[128], pre[128];

  ssa->c = c;
  ssa->cr = cr;
  wat = reserve (b, (size_t)3 * cr * c);
  bat = reserve (b, (size_t)3 * cr);
  for (i = 0; i < 3; i++) {
    snprintf (name, sizeof name, "%s.ssa.%s.weight", blk, emb[i]);
    if (take_at (b, name, 4, wshape, wat + (size_t)i * cr * c) != 0)
      return -1;
    snprintf (name, sizeof name, "%s.ssa.%s.bias", blk, emb[i]);
    if (take_at (b, name, 1, bshape, bat + (size_t)i * cr) != 0)
      return -1;
  }
  ssa->qkv = (ssan_conv){ c, 3 * cr, 1, 1, 0, b->base + wat, b->base + bat,
    NULL, 0 };

  tmp = malloc ((size_t)3 * cr * cr * sizeof (float));
  if (tmp == NULL) {
    ssan_set_error (b->err, SSAN_ERR_NOMEM, "%s: out of memory", b->fname);
    return -1;
  }
  for (i = 0; i < 2; i++) {
    float *w;
    int tap, co, ci;

    /* stored as [tap][out][in] so that each tap is a GEMM operand */
    wat = reserve (b, (size_t)3 * cr * cr);
    snprintf (name, sizeof name, "%s.ssa.%s.weight", blk, temb[i]);
    if (take_at (b, name, 5, tshape, wat) != 0) {
      free (tmp);
      return -1;
    }
    w = b->base + wat;
    memcpy (tmp, w, (size_t)3 * cr * cr * sizeof (float));
    for (tap = 0; tap < 3; tap++)
      for (co = 0; co < cr; co++)
        for (ci = 0; ci < cr; ci++)
          w[((size_t)tap * cr + co) * cr + ci]
              = tmp[((size_t)co * cr + ci) * 3 + tap];
    ssa->wt[i] = w;
    snprintf (name, sizeof name, "%s.ssa.%s.bias", blk, temb[i]);
    if (take_new (b, name, 1, bshape, &ssa->bt[i]) != 0) {
      free (tmp);
      return -1;
    }
  }
  free (tmp);

  snprintf (name, sizeof name, "%s.ssa.out", blk);
  snprintf (pre, sizeof pre, "%s.ssa.out_bn", blk);
  return conv_bn (b, name, pre, cr, c, 1, 1, 0, &ssa->out);
}

/* Parses "layer<i>.<j>" exactly; returns 0 and sets stage (0-based), index. */
static int
parse_block_name (const char *s, int *stage, int *index)
{
  int i = 0, j = 0, n = 0;

  if (strncmp (s, "layer", 5) != 0 || s[5] < '1' || s[5] > '4' || s[6] != '.')
    return -1;
  i = s[5] - '0';
  s += 7;
  if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] != '\0'))
    return -1;
  for (; *s >= '0' && *s <= '9'; s++) {
    if (j > (INT_MAX - 9) / 10 || ++n > 9)
      return -1;
    j = j * 10 + (*s - '0');
  }
  if (*s != '\0')
    return -1;
  *stage = i - 1;
  *index = j;
  return 0;
}

/* Sets the int flag at byte offset `field` of every block in names. */
static int
mark_blocks (ssan_model *m, builder *b, const int *first, const char *key,
    int n, const char *const *names, size_t field)
{
  int i, stage, index;

  for (i = 0; i < n; i++) {
    int *flag;

    if (parse_block_name (names[i], &stage, &index) != 0
        || index >= m->info.layers[stage]) {
      ssan_set_error (b->err, SSAN_ERR_FORMAT, "%s: %s: no block named '%s'",
          b->fname, key, names[i]);
      return -1;
    }
    flag = (int *)((char *)&m->blocks[first[stage] + index] + field);
    if (*flag) {
      ssan_set_error (b->err, SSAN_ERR_FORMAT, "%s: %s: '%s' named twice",
          b->fname, key, names[i]);
      return -1;
    }
    *flag = 1;
  }
  return 0;
}

static int
build_network (ssan_model *m, builder *b)
{
  const ssan_info *info = &m->info;
  int bottleneck = info->block == SSAN_BLOCK_BOTTLENECK;
  int expansion = bottleneck ? 4 : 1;
  int64_t cin, planes;
  int i, j, n = 0, first[4];
  char cn[128], bn[128], blk[64];

  if (info->width < 1 || (int64_t)info->width * 8 * expansion > INT_MAX / 9) {
    ssan_set_error (b->err, SSAN_ERR_FORMAT, "%s: width %d out of range",
        b->fname, info->width);
    return -1;
  }
  for (i = 0; i < 4; i++) {
    if (info->layers[i] < 1 || info->layers[i] > 100000) {
      ssan_set_error (b->err, SSAN_ERR_FORMAT,
          "%s: layers: stage %d has %d blocks", b->fname, i + 1,
          info->layers[i]);
      return -1;
    }
    first[i] = n;
    n += info->layers[i];
  }
  m->blocks = calloc ((size_t)n, sizeof (ssan_block));
  if (m->blocks == NULL) {
    ssan_set_error (b->err, SSAN_ERR_NOMEM, "%s: out of memory", b->fname);
    return -1;
  }
  m->n_blocks = n;

  if (mark_blocks (m, b, first, "ssa_blocks", info->n_ssa_blocks,
          info->ssa_blocks, offsetof (ssan_block, has_ssa))
      || mark_blocks (m, b, first, "shift_blocks", info->n_shift_blocks,
          info->shift_blocks, offsetof (ssan_block, shift)))
    return -1;

  if (conv_bn (b, "conv1", "bn1", 3, info->width, 7, 2, 3, &m->stem) != 0)
    return -1;
  cin = info->width;
  for (i = 0; i < 4; i++) {
    planes = (int64_t)info->width << i;
    for (j = 0; j < info->layers[i]; j++) {
      ssan_block *bk = &m->blocks[first[i] + j];
      int stride = i > 0 && j == 0 ? 2 : 1;
      int64_t cout = planes * expansion;

      snprintf (blk, sizeof blk, "layer%d.%d", i + 1, j);
      if (bk->shift)
        bk->fold = (int)(cin / info->shift_div);
#define CONV(field, c, ci, co, k, s, p)                                        \
  snprintf (cn, sizeof cn, "%s.conv%s", blk, c);                               \
  snprintf (bn, sizeof bn, "%s.bn%s", blk, c);                                 \
  if (conv_bn (b, cn, bn, (int)(ci), (int)(co), k, s, p, &bk->field))          \
    return -1;
      if (bottleneck) {
        CONV (conv1, "1", cin, planes, 1, 1, 0);
        CONV (conv2, "2", planes, planes, 3, stride, 1);
        CONV (conv3, "3", planes, cout, 1, 1, 0);
      } else {
        CONV (conv1, "1", cin, planes, 3, stride, 1);
        CONV (conv2, "2", planes, planes, 3, 1, 1);
      }
#undef CONV
      if (stride != 1 || cin != cout) {
        snprintf (cn, sizeof cn, "%s.downsample.0", blk);
        snprintf (bn, sizeof bn, "%s.downsample.1", blk);
        if (conv_bn (b, cn, bn, (int)cin, (int)cout, 1, stride, 0, &bk->down)
            != 0)
          return -1;
        bk->has_down = 1;
      }
      if (bk->has_ssa) {
        if (planes % info->ssa_reduction != 0 || planes < info->ssa_reduction) {
          ssan_set_error (b->err, SSAN_ERR_FORMAT,
              "%s: ssa_reduction %d does not divide the width %lld of %s",
              b->fname, info->ssa_reduction, (long long)planes, blk);
          return -1;
        }
        if (build_ssa (b, blk, (int)planes, info->ssa_reduction, &bk->ssa) != 0)
          return -1;
      }
      cin = cout;
    }
  }
  m->feat = (int)cin;

  {
    const ssan_st_tensor *fc = find_tensor (b->st, "fc.weight");
    int64_t wshape[2] = { info->num_classes, cin };
    int64_t bshape[1] = { info->num_classes };

    if (fc != NULL && fc->ndim == 2 && fc->shape[0] != info->num_classes) {
      ssan_set_error (b->err, SSAN_ERR_FORMAT,
          "%s: num_classes is %d but tensor 'fc.weight' has %lld rows",
          b->fname, info->num_classes, (long long)fc->shape[0]);
      return -1;
    }
    if (take_new (b, "fc.weight", 2, wshape, &m->fc_w) != 0
        || take_new (b, "fc.bias", 1, bshape, &m->fc_b) != 0)
      return -1;
  }
  return 0;
}

/* Gives the whole pages inside [p, p + n) back to the kernel (they read as
 * zeros afterwards). */
static void
release_floats (const float *p, size_t n)
{
#ifdef MADV_DONTNEED
  long ps = sysconf (_SC_PAGESIZE);
  uintptr_t page = ps > 0 ? (uintptr_t)ps : 4096;
  uintptr_t a = ((uintptr_t)p + page - 1) & ~(page - 1);
  uintptr_t e = (uintptr_t)(p + n) & ~(page - 1);

  if (e > a)
    (void)madvise ((void *)a, e - a, MADV_DONTNEED);
#else
  (void)p;
  (void)n;
#endif
}

/* Picks the Winograd convolutions (ssan_wino_pick for stride 1,
 * ssan_wino_s2_pick for stride 2, from their map sizes at the model's
 * input size) and, when u is not NULL, transforms their folded weights
 * into u.  Returns the floats the transformed weights need. */
static size_t
winograd_walk (ssan_model *m, float *u)
{
  int H = m->info.input_size, W, i, k;
  size_t total = 0;

  H = ssan_conv_out_size (H, 7, 2, 3);
  H = ssan_conv_out_size (H, 3, 2, 1);
  W = H;
  for (i = 0; i < m->n_blocks; i++) {
    ssan_block *bk = &m->blocks[i];
    ssan_conv *cv[3] = { &bk->conv1, &bk->conv2, &bk->conv3 };
    int n = m->info.block == SSAN_BLOCK_BOTTLENECK ? 3 : 2;

    for (k = 0; k < n; k++) {
      int Ho = ssan_conv_out_size (H, cv[k]->k, cv[k]->stride, cv[k]->pad);
      int Wo = ssan_conv_out_size (W, cv[k]->k, cv[k]->stride, cv[k]->pad);
      int wm = 0;

      if (cv[k]->k == 3 && cv[k]->stride == 1 && cv[k]->pad == 1)
        wm = ssan_wino_pick (Ho, Wo);
      else if (cv[k]->k == 3 && cv[k]->stride == 2 && cv[k]->pad == 1)
        wm = ssan_wino_s2_pick (Ho, Wo);
      if (wm != 0) {
        size_t need = ssan_wino_weights_size (cv[k]->cin, cv[k]->cout, wm);
        if (u != NULL) {
          if (cv[k]->stride == 1)
            ssan_wino_transform (cv[k]->w, cv[k]->cin, cv[k]->cout, wm, u);
          else
            ssan_wino_s2_transform (cv[k]->w, cv[k]->cin, cv[k]->cout, wm, u);
          cv[k]->wu = u;
          cv[k]->wm = wm;
          u += need;
          /* never read again (the paper model's: 35 MB) */
          release_floats (cv[k]->w, (size_t)cv[k]->cout * cv[k]->cin * 9);
          cv[k]->w = NULL;
        }
        total += need;
      }
      H = Ho;
      W = Wo;
    }
  }
  return total;
}

/* Transformed weights for the convolutions that run as Winograd: made once
 * here, after BatchNorm folding. */
static int
prepare_winograd (ssan_model *m)
{
  size_t n;

  if (m->info.input_size < 1)
    return 0;
  n = winograd_walk (m, NULL);
  if (n == 0)
    return 0;
  if (n > SIZE_MAX / sizeof (float)
      || (m->wino = big_alloc (n * sizeof (float))) == NULL)
    return -1;
  winograd_walk (m, m->wino);
  return 0;
}

ssan_model *
ssan_model_load_memory (
    const void *data, size_t size, const char *name, ssan_error *err)
{
  ssan_st st;
  ssan_model *m = NULL;
  builder b;
  size_t i, cap = 0;

  if (name == NULL)
    name = "<memory>";
  memset (&st, 0, sizeof st);
  if (data == NULL && size != 0) {
    ssan_set_error (err, SSAN_ERR_ARG, "%s: no data", name);
    return NULL;
  }
  if (ssan_st_parse (&st, data, size, name, err) != 0)
    goto fail;
  m = calloc (1, sizeof *m);
  if (m == NULL)
    goto nomem;
  if (ssan_info_parse (&m->info, &st, err) != 0) {
    free (m);
    m = NULL;
    goto fail;
  }

  /* Folded weights never need more floats than the file's tensors hold
   * (each BatchNorm's four vectors become one bias), plus alignment. */
  for (i = 0; i < st.n_tensors; i++) {
    size_t add = (size_t)st.tensors[i].numel + SSAN_ALIGN_FLOATS;
    if (cap > SIZE_MAX / sizeof (float) - add)
      goto nomem;
    cap += add;
  }
  m->weights = big_alloc ((cap ? cap : 1) * sizeof (float));
  if (m->weights == NULL)
    goto nomem;

  memset (&b, 0, sizeof b);
  b.st = &st;
  b.fname = name;
  b.base = m->weights;
  b.cap = cap;
  b.err = err;
  if (build_network (m, &b) != 0 || ssan_st_check_all_used (&st, err) != 0)
    goto fail;
  if (prepare_winograd (m) != 0)
    goto nomem;
  m->info.n_params = b.n_params;
  ssan_st_clear (&st);
  return m;

nomem:
  ssan_set_error (err, SSAN_ERR_NOMEM, "%s: out of memory", name);
fail:
  ssan_model_free (m);
  ssan_st_clear (&st);
  return NULL;
}

/* The file is read, not mapped: a file truncated while mapped (replaced in
 * place, e.g. by cp, while being loaded) would kill the process with
 * SIGBUS.  A file that changed while being read is refused. */
ssan_model *
ssan_model_load (const char *path, ssan_error *err)
{
  struct stat sb, sb2;
  uint8_t *data;
  size_t done = 0;
  ssan_model *m;
  int fd;

  if (path == NULL) {
    ssan_set_error (err, SSAN_ERR_ARG, "no model file given");
    return NULL;
  }
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    goto open_failed;
  if (fstat (fd, &sb) != 0)
    goto stat_failed;
  if (S_ISDIR (sb.st_mode))
    goto is_dir;
  if (!S_ISREG (sb.st_mode))
    goto not_regular;
  if (sb.st_size == 0)
    goto empty;
  if ((uint64_t)sb.st_size > SIZE_MAX)
    goto too_big;
  data = malloc ((size_t)sb.st_size);
  if (data == NULL)
    goto too_big;
  while (done < (size_t)sb.st_size) {
    ssize_t n = pread (fd, data + done, (size_t)sb.st_size - done, done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      goto read_failed;
    if (n == 0)
      goto changed;
    done += (size_t)n;
  }
  if (fstat (fd, &sb2) != 0)
    goto stat_failed_data;
  if (sb2.st_size != sb.st_size || sb2.st_mtim.tv_sec != sb.st_mtim.tv_sec
      || sb2.st_mtim.tv_nsec != sb.st_mtim.tv_nsec)
    goto changed;
  close (fd);
  m = ssan_model_load_memory (data, (size_t)sb.st_size, path, err);
  free (data);
  return m;

  /* ERRORS */
open_failed:
  ssan_set_error (
      err, SSAN_ERR_IO, "%s: cannot open: %s", path, strerror (errno));
  return NULL;
stat_failed:
  ssan_set_error (
      err, SSAN_ERR_IO, "%s: cannot stat: %s", path, strerror (errno));
  close (fd);
  return NULL;
is_dir:
  ssan_set_error (err, SSAN_ERR_IO, "%s: is a directory", path);
  close (fd);
  return NULL;
not_regular:
  ssan_set_error (err, SSAN_ERR_IO, "%s: not a regular file", path);
  close (fd);
  return NULL;
empty:
  ssan_set_error (err, SSAN_ERR_FORMAT, "%s: empty file", path);
  close (fd);
  return NULL;
too_big:
  ssan_set_error (err, SSAN_ERR_NOMEM, "%s: file too large", path);
  close (fd);
  return NULL;
read_failed:
  ssan_set_error (
      err, SSAN_ERR_IO, "%s: cannot read: %s", path, strerror (errno));
  free (data);
  close (fd);
  return NULL;
stat_failed_data:
  free (data);
  goto stat_failed;
changed:
  ssan_set_error (err, SSAN_ERR_IO,
      "%s: cannot read: the file changed while being read (being replaced?)",
      path);
  free (data);
  close (fd);
  return NULL;
}

void
ssan_model_free (ssan_model *model)
{
  if (model == NULL)
    return;
  ssan_info_clear (&model->info);
  free (model->blocks);
  free (model->weights);
  free (model->wino);
  free (model);
}

const ssan_info *
ssan_model_get_info (const ssan_model *model)
{
  return model ? &model->info : NULL;
}

/* ---- contexts ---- */

/* Largest scratch needs for nf frames, found by walking the network. */
typedef struct plan {
  size_t act, col, ssa_qkv, ssa_att, scratch, spatial, keep;
  double flops; /* for all nf frames */
  int ok;
} plan;

static size_t
mul3 (plan *p, size_t a, size_t b, size_t c)
{
  /* every GEMM dimension and leading dimension must fit an int */
  if (b != 0 && a > (size_t)INT_MAX / b)
    p->ok = 0;
  else if (c != 0 && a * b > (size_t)INT_MAX / c)
    p->ok = 0;
  return p->ok ? a * b * c : 0;
}

static size_t
max_sz (size_t a, size_t b)
{
  return a > b ? a : b;
}

/* Accounts for cv applied to nf frames of H x W; updates H, W. */
static void
plan_conv (plan *p, const ssan_conv *cv, int nf, int *H, int *W)
{
  int Ho = ssan_conv_out_size (*H, cv->k, cv->stride, cv->pad);
  int Wo = ssan_conv_out_size (*W, cv->k, cv->stride, cv->pad);
  size_t cols = mul3 (p, (size_t)nf, (size_t)Ho, (size_t)Wo);
  size_t chunk;

  if (Ho < 1 || Wo < 1)
    p->ok = 0;
  p->flops += 2.0 * cv->cout * cv->cin * cv->k * cv->k * (double)cols;
  p->act = max_sz (p->act, mul3 (p, cols, (size_t)cv->cout, 1));
  chunk = ssan_conv_chunk_cols (cv, cols);
  p->col = max_sz (p->col, mul3 (p, chunk, (size_t)cv->cin * cv->k * cv->k, 1));
  /* Winograd chunks; the GEMM kernel's panel */
  if (p->ok)
    p->col = max_sz (p->col, ssan_conv_scratch_size (cv, nf, *H, *W));
  *H = Ho;
  *W = Wo;
}

static void
plan_network (plan *p, const ssan_model *m, int T, int nf)
{
  int S = m->info.input_size, H = S, W = S, i;

  p->ok = S >= 1;
  mul3 (p, (size_t)nf * 3, (size_t)S, (size_t)S);
  plan_conv (p, &m->stem, nf, &H, &W);
  H = ssan_conv_out_size (H, 3, 2, 1);
  W = ssan_conv_out_size (W, 3, 2, 1);
  for (i = 0; i < m->n_blocks && p->ok; i++) {
    const ssan_block *bk = &m->blocks[i];
    int h = H, w = W;

    if (bk->has_down) {
      int dh = H, dw = W;
      plan_conv (p, &bk->down, nf, &dh, &dw);
    }
    if (bk->fold > 0)
      p->keep = max_sz (p->keep, ssan_shift_keep_size (bk->fold, nf / T,
                                     mul3 (p, (size_t)H, (size_t)W, 1)));
    plan_conv (p, &bk->conv1, nf, &h, &w);
    if (bk->has_ssa) {
      size_t n = mul3 (p, (size_t)nf, (size_t)h, (size_t)w);
      size_t cr = (size_t)bk->ssa.cr;
      p->ssa_qkv = max_sz (p->ssa_qkv, mul3 (p, n, 3 * cr, 1));
      p->ssa_att = max_sz (p->ssa_att, mul3 (p, n, cr, 1));
      p->act = max_sz (p->act, mul3 (p, n, 2 * cr, 1)); /* packed K, V */
      p->spatial = max_sz (p->spatial, ssan_attn_spatial_scratch ((int)cr));
      if (p->ok) {
        p->col
            = max_sz (p->col, ssan_conv_scratch_size (&bk->ssa.qkv, nf, h, w));
        p->col
            = max_sz (p->col, ssan_conv_scratch_size (&bk->ssa.out, nf, h, w));
      }
      {
        /* 1x1 convs, channel and position branches per frame; temporal
         * convolutions (3T-2 frame taps per window) and attention */
        double N = (double)h * w, C = bk->ssa.c, c = (double)cr;
        double nb = (double)nf / T;
        p->flops
            += (double)n * (2 * 3 * c * C + 2 * C * c + 4 * c * c + 4 * N * c);
        p->flops
            += nb * (2 * 2 * c * c * N * (3.0 * T - 2) + 4.0 * T * T * c * N);
      }
    }
    plan_conv (p, &bk->conv2, nf, &h, &w);
    if (m->info.block == SSAN_BLOCK_BOTTLENECK)
      plan_conv (p, &bk->conv3, nf, &h, &w);
    H = h;
    W = w;
  }
  p->scratch = max_sz (p->scratch, ssan_attn_temporal_scratch (T));
  p->flops += 2.0 * m->info.num_classes * m->feat * nf;
}

static int
default_threads (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);
  return n > 0 && n < 1024 ? (int)n : 1;
}

/* Replaces the context's pool and per-thread scratch; keeps the old ones
 * if the new ones cannot be made. */
static int
ctx_set_threads (ssan_ctx *ctx, int n_threads)
{
  ssan_pool *pool = n_threads > 1 ? ssan_pool_new (n_threads) : NULL;
  size_t t = (size_t)ssan_pool_threads (pool);
  float *scratch = NULL;
  double *prof = calloc (t * SSAN_PART_COUNT, sizeof (double));

  if (prof == NULL || t > SIZE_MAX / sizeof (float) / ctx->thread_size
      || (scratch = big_alloc (t * ctx->thread_size * sizeof (float)))
             == NULL) {
    free (prof);
    ssan_pool_free (pool);
    return -1;
  }
  ssan_pool_free (ctx->work.pool);
  free (ctx->work.scratch);
  free (ctx->prof);
  ctx->work.pool = pool;
  ctx->work.scratch = scratch;
  ctx->work.stride = ctx->thread_size;
  /* a new pool starts a new profile */
  ctx->prof = prof;
  ctx->work.prof = ctx->profiling ? prof : NULL;
  ctx->prof_wall = 0.0;
  ctx->prof_windows = 0;
  ctx->n_threads = n_threads;
  return 0;
}

ssan_ctx *
ssan_ctx_new (
    const ssan_model *model, int segments, int max_batch, ssan_error *err)
{
  ssan_ctx *ctx;
  plan p;
  size_t nf, total, sizes[11], offs[11];
  int i, nclasses;
  const ssan_kernels *kern;
  char why[200];

  if (model == NULL || segments < 0 || max_batch < 1) {
    ssan_set_error (err, SSAN_ERR_ARG,
        "ssan_ctx_new: invalid arguments (segments %d, max_batch %d)", segments,
        max_batch);
    return NULL;
  }
  kern = ssan_kernels_default (why, sizeof why);
  if (kern == NULL) {
    ssan_set_error (err, SSAN_ERR_ARG, "ssan_ctx_new: %s", why);
    return NULL;
  }
  if (segments == 0)
    segments = model->info.segments;
  if (segments > INT_MAX / max_batch) {
    ssan_set_error (err, SSAN_ERR_ARG, "ssan_ctx_new: batch too large");
    return NULL;
  }
  nf = (size_t)segments * max_batch;
  nclasses = model->info.num_classes;

  memset (&p, 0, sizeof p);
  plan_network (&p, model, segments, (int)nf);
  if (!p.ok) {
    ssan_set_error (err, SSAN_ERR_ARG,
        "ssan_ctx_new: input size %d with %zu frames is out of range",
        model->info.input_size, nf);
    return NULL;
  }

  sizes[0] = sizes[1] = sizes[2] = sizes[3] = p.act;
  sizes[4] = 0; /* per thread, see ctx_set_threads */
  sizes[5] = p.ssa_qkv;
  sizes[6] = p.ssa_att;
  sizes[7] = p.scratch;
  sizes[8] = nf * (size_t)model->feat;
  sizes[9] = nf * (size_t)nclasses;
  sizes[10] = p.keep;
  total = 0;
  for (i = 0; i < 11; i++) {
    size_t s
        = (sizes[i] + SSAN_ALIGN_FLOATS - 1) & ~(size_t)(SSAN_ALIGN_FLOATS - 1);
    offs[i] = total;
    if (total > SIZE_MAX / sizeof (float) - s)
      goto nomem;
    total += s;
  }

  ctx = calloc (1, sizeof *ctx);
  if (ctx == NULL)
    goto nomem;
  /* total is a non-zero multiple of SSAN_ALIGN_FLOATS (64 bytes) */
  ctx->arena = big_alloc (total * sizeof (float));
  if (ctx->arena == NULL) {
    free (ctx);
    goto nomem;
  }
  ctx->model = model;
  ctx->work.kern = kern;
  ctx->T = segments;
  ctx->max_batch = max_batch;
  ctx->flops = p.flops / max_batch;
  ctx->x = ctx->arena + offs[0];
  ctx->d = ctx->arena + offs[1];
  ctx->t1 = ctx->arena + offs[2];
  ctx->t2 = ctx->arena + offs[3];
  ctx->qkv = ctx->arena + offs[5];
  ctx->att = ctx->arena + offs[6];
  ctx->scratch = ctx->arena + offs[7];
  ctx->feat = ctx->arena + offs[8];
  ctx->flog = ctx->arena + offs[9];
  ctx->keep = ctx->arena + offs[10];
  ctx->thread_size
      = (max_sz (max_sz (p.col, p.spatial), 1) + SSAN_ALIGN_FLOATS - 1)
        & ~(size_t)(SSAN_ALIGN_FLOATS - 1);
  if (ctx_set_threads (ctx, default_threads ()) != 0
      && ctx_set_threads (ctx, 1) != 0) {
    ssan_ctx_free (ctx);
    goto nomem;
  }
  return ctx;

nomem:
  ssan_set_error (err, SSAN_ERR_NOMEM,
      "ssan_ctx_new: out of memory for %d windows of %d frames at %dx%d",
      max_batch, segments, model->info.input_size, model->info.input_size);
  return NULL;
}

void
ssan_ctx_free (ssan_ctx *ctx)
{
  if (ctx == NULL)
    return;
  ssan_pool_free (ctx->work.pool);
  free (ctx->work.scratch);
  free (ctx->prof);
  free (ctx->arena);
  free (ctx);
}

int
ssan_ctx_get_segments (const ssan_ctx *ctx)
{
  return ctx ? ctx->T : 0;
}

const char *
ssan_ctx_get_kernels (const ssan_ctx *ctx)
{
  return ctx ? ctx->work.kern->name : NULL;
}

void
ssan_ctx_set_threads (ssan_ctx *ctx, int n_threads)
{
  if (ctx == NULL)
    return;
  if (n_threads <= 0)
    n_threads = default_threads ();
  if (n_threads > 1024)
    n_threads = 1024;
  /* best effort: on failure the context keeps its threads */
  if (n_threads != ctx->n_threads)
    ctx_set_threads (ctx, n_threads);
}

double
ssan_ctx_get_flops (const ssan_ctx *ctx)
{
  return ctx ? ctx->flops : 0.0;
}

void
ssan_ctx_set_profiling (ssan_ctx *ctx, int enable)
{
  if (ctx == NULL)
    return;
  ctx->profiling = enable != 0;
  memset (ctx->prof, 0,
      (size_t)ssan_pool_threads (ctx->work.pool) * SSAN_PART_COUNT
          * sizeof (double));
  ctx->work.prof = ctx->profiling ? ctx->prof : NULL;
  ctx->prof_wall = 0.0;
  ctx->prof_windows = 0;
}

void
ssan_ctx_get_profile (const ssan_ctx *ctx, ssan_profile *profile)
{
  double sum[SSAN_PART_COUNT] = { 0 };
  int t, i;

  if (profile == NULL)
    return;
  memset (profile, 0, sizeof *profile);
  if (ctx == NULL)
    return;
  for (t = 0; t < ssan_pool_threads (ctx->work.pool); t++)
    for (i = 0; i < SSAN_PART_COUNT; i++)
      sum[i] += ctx->prof[t * SSAN_PART_COUNT + i];
  profile->conv = sum[SSAN_PART_CONV];
  profile->im2col = sum[SSAN_PART_IM2COL];
  profile->conv_stem = sum[SSAN_PART_KIND + SSAN_KIND_LARGE];
  profile->conv_1x1 = sum[SSAN_PART_KIND + SSAN_KIND_1X1];
  profile->conv_winograd = sum[SSAN_PART_KIND + SSAN_KIND_WINOGRAD];
  profile->conv_strided = sum[SSAN_PART_KIND + SSAN_KIND_STRIDED];
  profile->conv_down = sum[SSAN_PART_KIND + SSAN_KIND_DOWN];
  profile->conv_other = sum[SSAN_PART_KIND + SSAN_KIND_OTHER];
  profile->attention = sum[SSAN_PART_ATTN];
  profile->other = sum[SSAN_PART_OTHER];
  profile->wall = ctx->prof_wall;
  profile->windows = ctx->prof_windows;
}

/* ---- forward ---- */

/* Spec §2 on F (CNHW [c][nf][h*w], the block's first conv output), in
 * place: F <- F + out_bn(out(Y)). */
static void
ssa_forward (ssan_ctx *ctx, const ssan_ssa *ssa, float *f, int nb, int h, int w)
{
  int T = ctx->T, nf = nb * T, cr = ssa->cr, n = h * w;
  size_t ld = (size_t)nf * n;
  float *q = ctx->qkv, *k = q + (size_t)cr * ld, *v = k + (size_t)cr * ld;
  float *a = ctx->att;
  double t0;

  ssan_conv2d_forward (
      &ssa->qkv, f, ld, (size_t)n, nf, h, w, q, 0, 0, &ctx->work);
  /* t2 is free until the block's conv2; the plan makes it big enough */
  ssan_attn_spatial_forward (q, k, v, ld, cr, n, nf, a, ctx->t2, &ctx->work);
  /* Q, K are dead: Q' and K' take their place, then Y takes A's */
  ssan_temporal_conv_forward (
      ssa->wt[0], ssa->bt[0], cr, a, nb, T, n, q, &ctx->work);
  ssan_temporal_conv_forward (
      ssa->wt[1], ssa->bt[1], cr, a, nb, T, n, k, &ctx->work);
  t0 = ssan_prof_start (ctx->work.prof);
  ssan_attn_temporal_forward (q, k, v, cr, nb, T, n, a, ctx->scratch);
  ssan_prof_stop (ctx->work.prof, 0, SSAN_PART_ATTN, t0);
  ssan_conv2d_forward (
      &ssa->out, a, ld, (size_t)n, nf, h, w, f, 0, 1, &ctx->work);
}

static void
block_forward (ssan_ctx *ctx, const ssan_block *bk, int nb, int *H, int *W)
{
  int nf = nb * ctx->T, h = *H, w = *W;
  int bottleneck = ctx->model->info.block == SSAN_BLOCK_BOTTLENECK;
  size_t hw = (size_t)h * w;
  const ssan_conv *last;
  const float *lsrc;
  float *target;
  int h1, w1, hl, wl;

  int down_first = bk->fold > 0 && bk->has_down;

  /* TSM: conv1 sees the shifted x, the identity / downsample the original;
   * a downsample reads x first, so that x need not be restored */
  if (down_first)
    ssan_conv2d_forward (
        &bk->down, ctx->x, nf * hw, hw, nf, h, w, ctx->d, 0, 0, &ctx->work);
  if (bk->fold > 0)
    ssan_shift_forward (
        ctx->x, bk->fold, nb, ctx->T, hw, ctx->keep, &ctx->work);
  ssan_conv2d_forward (
      &bk->conv1, ctx->x, nf * hw, hw, nf, h, w, ctx->t1, 1, 0, &ctx->work);
  if (bk->fold > 0 && !bk->has_down)
    ssan_shift_restore (
        ctx->x, bk->fold, nb, ctx->T, hw, ctx->keep, &ctx->work);
  h1 = ssan_conv_out_size (h, bk->conv1.k, bk->conv1.stride, bk->conv1.pad);
  w1 = ssan_conv_out_size (w, bk->conv1.k, bk->conv1.stride, bk->conv1.pad);
  if (bk->has_ssa)
    ssa_forward (ctx, &bk->ssa, ctx->t1, nb, h1, w1);
  if (bottleneck) {
    size_t hw1 = (size_t)h1 * w1;
    ssan_conv2d_forward (&bk->conv2, ctx->t1, nf * hw1, hw1, nf, h1, w1,
        ctx->t2, 1, 0, &ctx->work);
    hl = ssan_conv_out_size (h1, 3, bk->conv2.stride, 1);
    wl = ssan_conv_out_size (w1, 3, bk->conv2.stride, 1);
    last = &bk->conv3;
    lsrc = ctx->t2;
  } else {
    hl = h1;
    wl = w1;
    last = &bk->conv2;
    lsrc = ctx->t1;
  }
  if (bk->has_down) {
    if (!down_first)
      ssan_conv2d_forward (
          &bk->down, ctx->x, nf * hw, hw, nf, h, w, ctx->d, 0, 0, &ctx->work);
    target = ctx->d;
  } else {
    target = ctx->x;
  }
  /* residual fused: the GEMM accumulates onto the identity */
  ssan_conv2d_forward (last, lsrc, (size_t)nf * hl * wl, (size_t)hl * wl, nf,
      hl, wl, target, 1, 1, &ctx->work);
  if (bk->has_down) {
    float *t = ctx->x;
    ctx->x = ctx->d;
    ctx->d = t;
  }
  *H = ssan_conv_out_size (hl, last->k, last->stride, last->pad);
  *W = ssan_conv_out_size (wl, last->k, last->stride, last->pad);
}

int
ssan_ctx_forward (ssan_ctx *ctx, const float *frames, int batch, float *logits,
    ssan_error *err)
{
  const ssan_model *m;
  int S, T, nf, H, W, i, b, t, k, nc;
  double *prof, t_wall = 0.0, t0;
  struct timespec ts;

  if (ctx == NULL || frames == NULL || logits == NULL || batch < 1
      || batch > ctx->max_batch) {
    ssan_set_error (err, SSAN_ERR_ARG,
        "ssan_ctx_forward: invalid arguments (batch %d, max %d)", batch,
        ctx ? ctx->max_batch : 0);
    return SSAN_ERR_ARG;
  }
  m = ctx->model;
  S = m->info.input_size;
  T = ctx->T;
  nf = batch * T;
  nc = m->info.num_classes;
  if (openblas_get_num_threads () != 1)
    openblas_set_num_threads (1);
  prof = ctx->work.prof;
  if (prof != NULL) {
    clock_gettime (CLOCK_MONOTONIC, &ts);
    t_wall = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
  }

  ssan_conv2d_forward (&m->stem, frames, (size_t)S * S, (size_t)3 * S * S, nf,
      S, S, ctx->t1, 1, 0, &ctx->work);
  H = ssan_conv_out_size (S, 7, 2, 3);
  W = H;
  ssan_maxpool_forward (ctx->t1, m->stem.cout, nf, H, W, ctx->x, &ctx->work);
  H = ssan_conv_out_size (H, 3, 2, 1);
  W = ssan_conv_out_size (W, 3, 2, 1);
  for (i = 0; i < m->n_blocks; i++)
    block_forward (ctx, &m->blocks[i], batch, &H, &W);

  t0 = ssan_prof_start (prof);
  ssan_avgpool_forward (ctx->x, m->feat, nf, H * W, ctx->feat);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, nf, nc, m->feat, 1.0f,
      ctx->feat, m->feat, m->fc_w, m->feat, 0.0f, ctx->flog, nc);
  for (b = 0; b < batch; b++) {
    for (k = 0; k < nc; k++) {
      double s = 0.0;
      for (t = 0; t < T; t++)
        s += ctx->flog[((size_t)b * T + t) * nc + k];
      logits[(size_t)b * nc + k] = (float)(s / T + m->fc_b[k]);
    }
  }
  if (prof != NULL) {
    ssan_prof_stop (prof, 0, SSAN_PART_OTHER, t0);
    clock_gettime (CLOCK_MONOTONIC, &ts);
    ctx->prof_wall += (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9 - t_wall;
    ctx->prof_windows += batch;
  }
  return SSAN_OK;
}
