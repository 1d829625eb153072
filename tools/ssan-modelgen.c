/* ssan-modelgen.c: spec-conformant SSAN models with seeded random weights.
 *
 * Scales are chosen so that a deep random network still gives logits of
 * order one: He init for convolutions followed by ReLU, BatchNorm with
 * non-trivial statistics, the last BN of each residual branch damped so the
 * residual stream does not explode over 33 blocks, and a non-zero SSA
 * out_bn so that the SSA modules change the logits. */
#include "ssan-modelgen.h"

#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MG_MAX_DIMS 8

typedef enum {
  INIT_CONV_RELU,         /* N(0, 2/fan_in) */
  INIT_CONV_LINEAR,       /* N(0, 1/fan_in) */
  INIT_BN_WEIGHT,         /* U(0.5, 1.0) */
  INIT_BN_WEIGHT_LAST,    /* U(0.1, 0.4) */
  INIT_SSA_OUT_BN_WEIGHT, /* U(0.3, 0.7) */
  INIT_SMALL,             /* U(-0.1, 0.1): biases, running means */
  INIT_BN_VAR,            /* U(0.5, 1.5) */
  INIT_FC,                /* U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
  INIT_COUNT,             /* I64 num_batches_tracked */
} init_kind;

typedef struct {
  int64_t index;
  float value;
} mg_override;

typedef struct {
  char *name;
  int ndim;
  int64_t shape[MG_MAX_DIMS];
  int64_t numel;
  init_kind init;
  int64_t fan_in;
  mg_override *ov;
  size_t n_ov;
} mg_tensor;

struct ssan_modelgen {
  ssan_modelgen_dtype dtype;
  uint64_t seed;
  mg_tensor *t;
  size_t n, cap;
  char **mkeys, **mvals;
  size_t nmeta, mcap;
};

void
ssan_modelgen_config_init (ssan_modelgen_config *cfg)
{
  memset (cfg, 0, sizeof (*cfg));
  cfg->arch = "resnet18";
  cfg->width = 64;
  cfg->num_classes = 10;
  cfg->segments = 8;
  cfg->input_size = 224;
  cfg->dtype = SSAN_MODELGEN_F32;
  cfg->seed = 1;
}

static mg_tensor *
find (const ssan_modelgen *g, const char *name)
{
  for (size_t i = 0; i < g->n; i++)
    if (strcmp (g->t[i].name, name) == 0)
      return &g->t[i];
  return NULL;
}

/* Shapes are the caller's: refuse what cannot be a tensor in memory. */
static int
shape_ok (int ndim, const int64_t *shape)
{
  int64_t n = 1;

  if (ndim < 0 || ndim > MG_MAX_DIMS)
    return 0;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0 || (shape[i] && n > ((int64_t)1 << 40) / shape[i]))
      return 0;
    n *= shape[i];
  }
  return 1;
}

static int
add (ssan_modelgen *g, const char *name, init_kind init, int64_t fan_in,
    int ndim, const int64_t *shape)
{
  mg_tensor *t;

  if (!shape_ok (ndim, shape))
    return -1;
  if (g->n == g->cap) {
    size_t cap = g->cap ? 2 * g->cap : 64;
    mg_tensor *nt = realloc (g->t, cap * sizeof (mg_tensor));
    if (!nt)
      return -1;
    g->t = nt;
    g->cap = cap;
  }
  t = &g->t[g->n];
  memset (t, 0, sizeof (*t));
  t->name = strdup (name);
  if (!t->name)
    return -1;
  t->ndim = ndim;
  t->numel = 1;
  for (int i = 0; i < ndim; i++) {
    t->shape[i] = shape[i];
    t->numel *= shape[i];
  }
  t->init = init;
  t->fan_in = fan_in > 0 ? fan_in : 1;
  g->n++;
  return 0;
}

static int
add4 (ssan_modelgen *g, const char *prefix, const char *suffix, init_kind init,
    int64_t fan_in, int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
  char name[512];
  int64_t shape[5] = { d0, d1, d2, d3, 1 };
  snprintf (name, sizeof (name), "%s%s", prefix, suffix);
  return add (g, name, init, fan_in, ndim, shape);
}

static int
add_conv (ssan_modelgen *g, const char *prefix, int64_t cout, int64_t cin,
    int64_t k, init_kind init)
{
  return add4 (g, prefix, ".weight", init, cin * k * k, 4, cout, cin, k, k);
}

static int
add_bn (
    ssan_modelgen *g, const char *prefix, int64_t c, init_kind wkind, int nbt)
{
  if (add4 (g, prefix, ".weight", wkind, 1, 1, c, 0, 0, 0)
      || add4 (g, prefix, ".bias", INIT_SMALL, 1, 1, c, 0, 0, 0)
      || add4 (g, prefix, ".running_mean", INIT_SMALL, 1, 1, c, 0, 0, 0)
      || add4 (g, prefix, ".running_var", INIT_BN_VAR, 1, 1, c, 0, 0, 0))
    return -1;
  if (nbt)
    return add4 (
        g, prefix, ".num_batches_tracked", INIT_COUNT, 1, 0, 0, 0, 0, 0);
  return 0;
}

static int
add_ssa (ssan_modelgen *g, const char *block, int64_t c, int64_t cr, int nbt)
{
  static const char *const emb[] = { "theta", "phi", "g" };
  static const char *const temb[] = { "theta_t", "phi_t" };
  char p[256];

  for (int i = 0; i < 3; i++) {
    snprintf (p, sizeof (p), "%s.ssa.%s", block, emb[i]);
    if (add_conv (g, p, cr, c, 1, INIT_CONV_LINEAR)
        || add4 (g, p, ".bias", INIT_SMALL, 1, 1, cr, 0, 0, 0))
      return -1;
  }
  for (int i = 0; i < 2; i++) {
    int64_t shape[5] = { cr, cr, 3, 1, 1 };
    char name[512];
    snprintf (p, sizeof (p), "%s.ssa.%s", block, temb[i]);
    snprintf (name, sizeof (name), "%s.weight", p);
    if (add (g, name, INIT_CONV_LINEAR, cr * 3, 5, shape)
        || add4 (g, p, ".bias", INIT_SMALL, 1, 1, cr, 0, 0, 0))
      return -1;
  }
  snprintf (p, sizeof (p), "%s.ssa.out", block);
  if (add_conv (g, p, c, cr, 1, INIT_CONV_LINEAR))
    return -1;
  snprintf (p, sizeof (p), "%s.ssa.out_bn", block);
  return add_bn (g, p, c, INIT_SSA_OUT_BN_WEIGHT, nbt);
}

/* Whether "layerI.J" is in the comma list. */
static int
in_list (const char *list, const char *name)
{
  size_t n = strlen (name);
  const char *p = list;

  if (!list)
    return 0;
  while (*p) {
    const char *c = strchr (p, ',');
    size_t len = c ? (size_t)(c - p) : strlen (p);
    if (len == n && strncmp (p, name, n) == 0)
      return 1;
    if (!c)
      break;
    p = c + 1;
  }
  return 0;
}

static int
set_error (char *err, size_t err_size, const char *msg)
{
  if (err && err_size)
    snprintf (err, err_size, "%s", msg);
  return -1;
}

static int
meta_int (ssan_modelgen *g, const char *key, int v)
{
  char buf[32];
  snprintf (buf, sizeof (buf), "%d", v);
  return ssan_modelgen_set_meta (g, key, buf);
}

static int
build (ssan_modelgen *g, const ssan_modelgen_config *cfg, char *err,
    size_t err_size)
{
  static const struct {
    const char *name;
    int bottleneck;
    int layers[4];
  } named[] = {
    { "resnet18", 0, { 2, 2, 2, 2 } },
    { "resnet34", 0, { 3, 4, 6, 3 } },
    { "resnet50", 1, { 3, 4, 6, 3 } },
    { "resnet101", 1, { 3, 4, 23, 3 } },
  };
  int bottleneck = -1, layers[4], nbt = cfg->num_batches_tracked;
  int w = cfg->width, red = cfg->ssa_reduction ? cfg->ssa_reduction : 2;
  int64_t inplanes, exp;
  int n_ssa_found = 0, n_ssa_listed = 0;
  char buf[128];

  if (!cfg->arch)
    return set_error (err, err_size, "no arch");
  for (size_t i = 0; i < sizeof (named) / sizeof (named[0]); i++) {
    if (strcmp (cfg->arch, named[i].name) == 0) {
      bottleneck = named[i].bottleneck;
      memcpy (layers, named[i].layers, sizeof (layers));
    }
  }
  if (strcmp (cfg->arch, "custom") == 0) {
    bottleneck = cfg->bottleneck != 0;
    memcpy (layers, cfg->layers, sizeof (layers));
  }
  if (bottleneck < 0)
    return set_error (err, err_size, "unknown arch");
  for (int i = 0; i < 4; i++)
    if (layers[i] < 1 || layers[i] > 1000)
      return set_error (err, err_size, "layers must be in [1, 1000]");
  if (w < 1 || w > 4096 || cfg->num_classes < 1 || cfg->segments < 1
      || cfg->input_size < 1 || red < 1)
    return set_error (err, err_size,
        "width, num_classes, segments, input_size, ssa_reduction must be >= 1");
  if (cfg->ssa_blocks && cfg->ssa_blocks[0]) {
    n_ssa_listed = 1;
    for (const char *p = cfg->ssa_blocks; *p; p++)
      n_ssa_listed += *p == ',';
  }

  if (ssan_modelgen_set_meta (g, "format", "ssan-1")
      || ssan_modelgen_set_meta (g, "arch", cfg->arch))
    goto nomem;
  if (strcmp (cfg->arch, "custom") == 0) {
    snprintf (buf, sizeof (buf), "%d,%d,%d,%d", layers[0], layers[1], layers[2],
        layers[3]);
    if (ssan_modelgen_set_meta (g, "block", bottleneck ? "bottleneck" : "basic")
        || ssan_modelgen_set_meta (g, "layers", buf))
      goto nomem;
  }
  if (meta_int (g, "width", w) || meta_int (g, "num_classes", cfg->num_classes)
      || meta_int (g, "segments", cfg->segments)
      || meta_int (g, "input_size", cfg->input_size)
      || (cfg->resize && meta_int (g, "resize", cfg->resize))
      || (cfg->window_frames
          && meta_int (g, "window_frames", cfg->window_frames))
      || (n_ssa_listed
          && ssan_modelgen_set_meta (g, "ssa_blocks", cfg->ssa_blocks))
      || (cfg->ssa_reduction
          && meta_int (g, "ssa_reduction", cfg->ssa_reduction))
      || (cfg->labels_json
          && ssan_modelgen_set_meta (g, "labels", cfg->labels_json))
      || (cfg->mean && ssan_modelgen_set_meta (g, "mean", cfg->mean))
      || (cfg->std && ssan_modelgen_set_meta (g, "std", cfg->std))
      || (cfg->shift_div && meta_int (g, "shift_div", cfg->shift_div))
      || (cfg->frame_rate
          && ssan_modelgen_set_meta (g, "frame_rate", cfg->frame_rate))
      || (cfg->source && ssan_modelgen_set_meta (g, "source", cfg->source)))
    goto nomem;
  if (cfg->shift_blocks && strcmp (cfg->shift_blocks, "all") == 0) {
    /* at most 4000 names of at most 11 characters and a comma each */
    char *all
        = malloc ((size_t)12 * (layers[0] + layers[1] + layers[2] + layers[3]));
    size_t at = 0;
    int rc;

    if (!all)
      goto nomem;
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < layers[i]; j++)
        at += (size_t)sprintf (
            all + at, "%slayer%d.%d", at ? "," : "", i + 1, j);
    rc = ssan_modelgen_set_meta (g, "shift_blocks", all);
    free (all);
    if (rc)
      goto nomem;
  } else if (cfg->shift_blocks
             && ssan_modelgen_set_meta (g, "shift_blocks", cfg->shift_blocks)) {
    goto nomem;
  }

  if (add_conv (g, "conv1", w, 3, 7, INIT_CONV_RELU)
      || add_bn (g, "bn1", w, INIT_BN_WEIGHT, nbt))
    goto nomem;
  exp = bottleneck ? 4 : 1;
  inplanes = w;
  for (int i = 0; i < 4; i++) {
    int64_t planes = (int64_t)w << i;
    for (int j = 0; j < layers[i]; j++) {
      int stride = (i > 0 && j == 0) ? 2 : 1;
      char b[64], p[96];
      snprintf (b, sizeof (b), "layer%d.%d", i + 1, j);
#define P(s) (snprintf (p, sizeof (p), "%s.%s", b, s), p)
      if (bottleneck) {
        if (add_conv (g, P ("conv1"), planes, inplanes, 1, INIT_CONV_RELU)
            || add_bn (g, P ("bn1"), planes, INIT_BN_WEIGHT, nbt)
            || add_conv (g, P ("conv2"), planes, planes, 3, INIT_CONV_RELU)
            || add_bn (g, P ("bn2"), planes, INIT_BN_WEIGHT, nbt)
            || add_conv (g, P ("conv3"), planes * 4, planes, 1, INIT_CONV_RELU)
            || add_bn (g, P ("bn3"), planes * 4, INIT_BN_WEIGHT_LAST, nbt))
          goto nomem;
      } else {
        if (add_conv (g, P ("conv1"), planes, inplanes, 3, INIT_CONV_RELU)
            || add_bn (g, P ("bn1"), planes, INIT_BN_WEIGHT, nbt)
            || add_conv (g, P ("conv2"), planes, planes, 3, INIT_CONV_RELU)
            || add_bn (g, P ("bn2"), planes, INIT_BN_WEIGHT_LAST, nbt))
          goto nomem;
      }
      if (stride != 1 || inplanes != planes * exp) {
        if (add_conv (g, P ("downsample.0"), planes * exp, inplanes, 1,
                INIT_CONV_LINEAR)
            || add_bn (
                g, P ("downsample.1"), planes * exp, INIT_BN_WEIGHT, nbt))
          goto nomem;
      }
#undef P
      if (in_list (cfg->ssa_blocks, b)) {
        if (planes % red != 0)
          return set_error (err, err_size,
              "ssa_reduction does not divide an SSA block's width");
        if (add_ssa (g, b, planes, planes / red, nbt))
          goto nomem;
        n_ssa_found++;
      }
      inplanes = planes * exp;
    }
  }
  if (n_ssa_found != n_ssa_listed)
    return set_error (err, err_size,
        "ssa_blocks names a block that does not exist (or twice)");
  if (add4 (g, "fc", ".weight", INIT_FC, inplanes, 2, cfg->num_classes,
          inplanes, 0, 0)
      || add4 (
          g, "fc", ".bias", INIT_FC, inplanes, 1, cfg->num_classes, 0, 0, 0))
    goto nomem;
  return 0;

nomem:
  return set_error (err, err_size, "out of memory");
}

ssan_modelgen *
ssan_modelgen_new (const ssan_modelgen_config *cfg, char *err, size_t err_size)
{
  ssan_modelgen *g = calloc (1, sizeof (*g));

  if (!g) {
    set_error (err, err_size, "out of memory");
    return NULL;
  }
  g->dtype = cfg->dtype;
  g->seed = cfg->seed;
  if (build (g, cfg, err, err_size)) {
    ssan_modelgen_free (g);
    return NULL;
  }
  return g;
}

void
ssan_modelgen_free (ssan_modelgen *g)
{
  if (!g)
    return;
  for (size_t i = 0; i < g->n; i++) {
    free (g->t[i].name);
    free (g->t[i].ov);
  }
  free (g->t);
  for (size_t i = 0; i < g->nmeta; i++) {
    free (g->mkeys[i]);
    free (g->mvals[i]);
  }
  free (g->mkeys);
  free (g->mvals);
  free (g);
}

int
ssan_modelgen_set_meta (ssan_modelgen *g, const char *key, const char *value)
{
  char *v;

  for (size_t i = 0; i < g->nmeta; i++) {
    if (strcmp (g->mkeys[i], key) != 0)
      continue;
    if (!value) {
      free (g->mkeys[i]);
      free (g->mvals[i]);
      memmove (
          &g->mkeys[i], &g->mkeys[i + 1], (g->nmeta - i - 1) * sizeof (char *));
      memmove (
          &g->mvals[i], &g->mvals[i + 1], (g->nmeta - i - 1) * sizeof (char *));
      g->nmeta--;
      return 0;
    }
    v = strdup (value);
    if (!v)
      return -1;
    free (g->mvals[i]);
    g->mvals[i] = v;
    return 0;
  }
  if (!value)
    return 0;
  if (g->nmeta == g->mcap) {
    size_t cap = g->mcap ? 2 * g->mcap : 16;
    char **k = realloc (g->mkeys, cap * sizeof (char *));
    char **v2;
    if (!k)
      return -1;
    g->mkeys = k;
    v2 = realloc (g->mvals, cap * sizeof (char *));
    if (!v2)
      return -1;
    g->mvals = v2;
    g->mcap = cap;
  }
  g->mkeys[g->nmeta] = strdup (key);
  g->mvals[g->nmeta] = strdup (value);
  if (!g->mkeys[g->nmeta] || !g->mvals[g->nmeta]) {
    free (g->mkeys[g->nmeta]);
    free (g->mvals[g->nmeta]);
    return -1;
  }
  g->nmeta++;
  return 0;
}

int
ssan_modelgen_remove_tensor (ssan_modelgen *g, const char *name)
{
  mg_tensor *t = find (g, name);
  size_t i;

  if (!t)
    return -1;
  i = (size_t)(t - g->t);
  free (t->name);
  free (t->ov);
  memmove (&g->t[i], &g->t[i + 1], (g->n - i - 1) * sizeof (mg_tensor));
  g->n--;
  return 0;
}

int
ssan_modelgen_add_tensor (
    ssan_modelgen *g, const char *name, int ndim, const int64_t *shape)
{
  if (find (g, name))
    return -1;
  return add (g, name, INIT_SMALL, 1, ndim, shape);
}

int
ssan_modelgen_set_shape (
    ssan_modelgen *g, const char *name, int ndim, const int64_t *shape)
{
  mg_tensor *t = find (g, name);

  if (!t || !shape_ok (ndim, shape))
    return -1;
  t->ndim = ndim;
  t->numel = 1;
  for (int i = 0; i < ndim; i++) {
    t->shape[i] = shape[i];
    t->numel *= shape[i];
  }
  return 0;
}

int
ssan_modelgen_set_value (
    ssan_modelgen *g, const char *name, int64_t index, float value)
{
  mg_tensor *t = find (g, name);
  mg_override *ov;

  if (!t || index < 0 || index >= t->numel)
    return -1;
  ov = realloc (t->ov, (t->n_ov + 1) * sizeof (mg_override));
  if (!ov)
    return -1;
  t->ov = ov;
  t->ov[t->n_ov].index = index;
  t->ov[t->n_ov].value = value;
  t->n_ov++;
  return 0;
}

size_t
ssan_modelgen_n_tensors (const ssan_modelgen *g)
{
  return g->n;
}

const char *
ssan_modelgen_tensor_name (const ssan_modelgen *g, size_t i)
{
  return i < g->n ? g->t[i].name : NULL;
}

int64_t
ssan_modelgen_n_params (const ssan_modelgen *g)
{
  int64_t n = 0;
  for (size_t i = 0; i < g->n; i++)
    if (g->t[i].init != INIT_COUNT)
      n += g->t[i].numel;
  return n;
}

/* splitmix64: a seed per tensor from (seed, name, shape). */
static uint64_t
mix (uint64_t x)
{
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

static double
uniform (uint64_t *s)
{
  *s = mix (*s);
  return (double)(*s >> 11) * (1.0 / 9007199254740992.0);
}

static double
normal (uint64_t *s)
{
  double u1 = uniform (s), u2 = uniform (s);
  return sqrt (-2.0 * log (1.0 - u1)) * cos (6.283185307179586 * u2);
}

static void
generate (const ssan_modelgen *g, const mg_tensor *t, float *dst)
{
  uint64_t s = g->seed * 0x100000001b3ull;
  double a;

  for (const char *p = t->name; *p; p++)
    s = (s ^ (unsigned char)*p) * 0x100000001b3ull;
  for (int i = 0; i < t->ndim; i++)
    s = mix (s ^ (uint64_t)t->shape[i]);

  for (int64_t i = 0; i < t->numel; i++) {
    switch (t->init) {
      case INIT_CONV_RELU:
        dst[i] = (float)(normal (&s) * sqrt (2.0 / (double)t->fan_in));
        break;
      case INIT_CONV_LINEAR:
        dst[i] = (float)(normal (&s) * sqrt (1.0 / (double)t->fan_in));
        break;
      case INIT_BN_WEIGHT:
        dst[i] = (float)(0.5 + 0.5 * uniform (&s));
        break;
      case INIT_BN_WEIGHT_LAST:
        dst[i] = (float)(0.1 + 0.3 * uniform (&s));
        break;
      case INIT_SSA_OUT_BN_WEIGHT:
        dst[i] = (float)(0.3 + 0.4 * uniform (&s));
        break;
      case INIT_SMALL:
        dst[i] = (float)(0.2 * uniform (&s) - 0.1);
        break;
      case INIT_BN_VAR:
        dst[i] = (float)(0.5 + uniform (&s));
        break;
      case INIT_FC:
        a = 1.0 / sqrt ((double)t->fan_in);
        dst[i] = (float)((2.0 * uniform (&s) - 1.0) * a);
        break;
      case INIT_COUNT:
        dst[i] = 0.0f;
        break;
    }
  }
  for (size_t k = 0; k < t->n_ov; k++)
    dst[t->ov[k].index] = t->ov[k].value;
}

int
ssan_modelgen_get_value (
    const ssan_modelgen *g, const char *name, int64_t index, float *value)
{
  const mg_tensor *t = find (g, name);
  float *buf;

  if (!t || index < 0 || index >= t->numel || t->init == INIT_COUNT)
    return -1;
  buf = malloc ((size_t)t->numel * sizeof (float));
  if (!buf)
    return -1;
  generate (g, t, buf);
  *value = buf[index];
  free (buf);
  return 0;
}

static uint16_t
float_to_half (float f)
{
  uint32_t x, sign, exp, man;
  memcpy (&x, &f, 4);
  sign = (x >> 16) & 0x8000;
  exp = (x >> 23) & 0xff;
  man = x & 0x7fffff;

  if (exp == 0xff)
    return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
  if (exp > 142) /* >= 2^16: overflow to inf */
    return (uint16_t)(sign | 0x7c00);
  if (exp >= 113) { /* normal half */
    uint32_t h = ((exp - 112) << 10) | (man >> 13);
    uint32_t rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
      h++; /* may carry into the exponent: correct */
    return (uint16_t)(sign | h);
  }
  if (exp < 102) /* below half the smallest subnormal */
    return (uint16_t)sign;
  {
    uint32_t m = man | 0x800000;
    int shift = 126 - (int)exp; /* 14..24 */
    uint32_t h = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1)))
      h++;
    return (uint16_t)(sign | h);
  }
}

static uint16_t
float_to_bf16 (float f)
{
  uint32_t x;
  memcpy (&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000)
    return (uint16_t)((x >> 16) | 0x40);
  x += 0x7fff + ((x >> 16) & 1);
  return (uint16_t)(x >> 16);
}

typedef struct {
  int (*reserve) (void *ctx, size_t total); /* may be NULL */
  int (*write) (void *ctx, const void *p, size_t n);
  void *ctx;
} sink;

typedef struct {
  char *s;
  size_t len, cap;
} strbuf;

static int
sb_add (strbuf *b, const char *s, size_t n)
{
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    char *ns;
    while (cap < b->len + n + 1)
      cap *= 2;
    ns = realloc (b->s, cap);
    if (!ns)
      return -1;
    b->s = ns;
    b->cap = cap;
  }
  memcpy (b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
  return 0;
}

static int sb_printf (strbuf *b, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
sb_printf (strbuf *b, const char *fmt, ...)
{
  char buf[512];
  va_list ap;
  int n;
  va_start (ap, fmt);
  n = vsnprintf (buf, sizeof (buf), fmt, ap);
  va_end (ap);
  if (n < 0 || (size_t)n >= sizeof (buf))
    return -1;
  return sb_add (b, buf, (size_t)n);
}

static int
sb_json_string (strbuf *b, const char *s)
{
  if (sb_add (b, "\"", 1))
    return -1;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      char e[2] = { '\\', (char)c };
      if (sb_add (b, e, 2))
        return -1;
    } else if (c < 0x20) {
      if (sb_printf (b, "\\u%04x", c))
        return -1;
    } else if (sb_add (b, (const char *)&c, 1)) {
      return -1;
    }
  }
  return sb_add (b, "\"", 1);
}

static size_t
elem_size (const ssan_modelgen *g, const mg_tensor *t)
{
  if (t->init == INIT_COUNT)
    return 8;
  return g->dtype == SSAN_MODELGEN_F32 ? 4 : 2;
}

static const char *
dtype_name (const ssan_modelgen *g, const mg_tensor *t)
{
  if (t->init == INIT_COUNT)
    return "I64";
  switch (g->dtype) {
    case SSAN_MODELGEN_F16:
      return "F16";
    case SSAN_MODELGEN_BF16:
      return "BF16";
    default:
      return "F32";
  }
}

static int
emit (const ssan_modelgen *g, sink *out)
{
  strbuf h = { 0 };
  uint64_t off = 0, hlen;
  uint8_t len8[8];
  float *vals = NULL;
  uint8_t *bytes = NULL;
  int64_t maxn = 1;
  int ret = -1;

  if (sb_add (&h, "{\"__metadata__\":{", 17))
    goto out;
  for (size_t i = 0; i < g->nmeta; i++) {
    if ((i && sb_add (&h, ",", 1)) || sb_json_string (&h, g->mkeys[i])
        || sb_add (&h, ":", 1) || sb_json_string (&h, g->mvals[i]))
      goto out;
  }
  if (sb_add (&h, "}", 1))
    goto out;
  for (size_t i = 0; i < g->n; i++) {
    const mg_tensor *t = &g->t[i];
    uint64_t nb = (uint64_t)t->numel * elem_size (g, t);
    if (sb_add (&h, ",", 1) || sb_json_string (&h, t->name)
        || sb_printf (&h, ":{\"dtype\":\"%s\",\"shape\":[", dtype_name (g, t)))
      goto out;
    for (int d = 0; d < t->ndim; d++)
      if (sb_printf (&h, "%s%lld", d ? "," : "", (long long)t->shape[d]))
        goto out;
    if (sb_printf (&h, "],\"data_offsets\":[%llu,%llu]}",
            (unsigned long long)off, (unsigned long long)(off + nb)))
      goto out;
    off += nb;
    if (t->numel > maxn)
      maxn = t->numel;
  }
  if (sb_add (&h, "}", 1))
    goto out;
  while (h.len % 8)
    if (sb_add (&h, " ", 1))
      goto out;

  hlen = h.len;
  if (out->reserve && out->reserve (out->ctx, (size_t)(8 + hlen + off)))
    goto out;
  for (int i = 0; i < 8; i++)
    len8[i] = (uint8_t)(hlen >> (8 * i));
  if (out->write (out->ctx, len8, 8) || out->write (out->ctx, h.s, h.len))
    goto out;

  vals = malloc ((size_t)maxn * sizeof (float));
  bytes = malloc ((size_t)maxn * 8);
  if (!vals || !bytes)
    goto out;
  for (size_t i = 0; i < g->n; i++) {
    const mg_tensor *t = &g->t[i];
    size_t es = elem_size (g, t);
    generate (g, t, vals);
    for (int64_t k = 0; k < t->numel; k++) {
      uint8_t *p = bytes + (size_t)k * es;
      uint64_t u = 0;
      if (t->init == INIT_COUNT) {
        u = 1000;
      } else if (es == 4) {
        uint32_t u32;
        memcpy (&u32, &vals[k], 4);
        u = u32;
      } else if (g->dtype == SSAN_MODELGEN_F16) {
        u = float_to_half (vals[k]);
      } else {
        u = float_to_bf16 (vals[k]);
      }
      for (size_t b = 0; b < es; b++)
        p[b] = (uint8_t)(u >> (8 * b));
    }
    if (out->write (out->ctx, bytes, (size_t)t->numel * es))
      goto out;
  }
  ret = 0;
out:
  free (h.s);
  free (vals);
  free (bytes);
  return ret;
}

/* The whole file in one exact allocation: a resnet50 is ~100 MB, and a
 * growing buffer would briefly need twice that. */
static int
reserve_mem (void *ctx, size_t total)
{
  strbuf *b = ctx;
  char *p = malloc (total + 1);

  if (!p)
    return -1;
  b->s = p;
  b->len = 0;
  b->cap = total + 1;
  return 0;
}

static int
write_mem (void *ctx, const void *p, size_t n)
{
  return sb_add (ctx, p, n);
}

static int
write_file (void *ctx, const void *p, size_t n)
{
  return fwrite (p, 1, n, ctx) == n ? 0 : -1;
}

int
ssan_modelgen_serialize (
    const ssan_modelgen *g, uint8_t **out, size_t *out_size)
{
  strbuf b = { 0 };
  sink s = { reserve_mem, write_mem, &b };

  if (emit (g, &s)) {
    free (b.s);
    return -1;
  }
  *out = (uint8_t *)b.s;
  *out_size = b.len;
  return 0;
}

int
ssan_modelgen_write_file (const ssan_modelgen *g, const char *path)
{
  FILE *f = fopen (path, "wb");
  sink s = { NULL, write_file, NULL };
  int ret;

  if (!f)
    return -1;
  s.ctx = f;
  ret = emit (g, &s);
  if (fclose (f) != 0)
    ret = -1;
  if (ret)
    remove (path);
  return ret;
}
