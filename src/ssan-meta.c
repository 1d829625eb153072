/* ssan-meta.c: spec §3 metadata table -> ssan_info, with every default and
 * every refusal the table names.  Numbers are read by hand because the spec
 * wants them exactly ("decimal integers with nothing around them"), which
 * strtol and friends do not enforce; upper bounds keep a hostile file from
 * asking the engine for absurd amounts of memory. */
#include "ssan-internal.h"

#include <json-glib/json-glib.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WIDTH 4096
#define MAX_CLASSES 100000
#define MAX_SEGMENTS 1024
#define MAX_INPUT_SIZE 4096
#define MAX_RESIZE 16384
#define MAX_LAYERS 1000
#define MAX_WINDOW_FRAMES 100000
#define MAX_REDUCTION 4096
#define MAX_SHIFT_DIV 65536
#define MAX_FRAME_RATE_PART 1000000
/* x = (pixel/255 - mean)/std stays far inside float range */
#define MIN_STD 1e-6

static const char *
st_fname (const ssan_st *st)
{
  return st->fname ? st->fname : "<memory>";
}

/* [-]digits, nothing else, within [lo, hi].  Returns 0, or -1 with a
 * reason. */
static int
parse_int_text (
    const char *s, size_t len, int lo, int hi, int *out, const char **why)
{
  size_t i = 0;
  int neg = 0;
  int64_t v = 0;

  if (len > 0 && s[0] == '-') {
    neg = 1;
    i = 1;
  }
  if (i == len) {
    *why = "is not a decimal integer";
    return -1;
  }
  for (; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') {
      *why = "is not a decimal integer";
      return -1;
    }
    if (v <= INT32_MAX)
      v = v * 10 + (s[i] - '0');
  }
  if (neg)
    v = -v;
  if (v < lo || v > hi) {
    *why = "is out of range";
    return -1;
  }
  *out = (int)v;
  return 0;
}

static int
get_int (const ssan_st *st, const char *key, int required, int def, int lo,
    int hi, int *out, ssan_error *err)
{
  const char *v = ssan_st_meta (st, key);
  const char *why;

  if (!v) {
    if (required) {
      ssan_set_error (err, SSAN_ERR_FORMAT,
          "%s: metadata key '%s': missing (required)", st_fname (st), key);
      return -1;
    }
    *out = def;
    return 0;
  }
  if (parse_int_text (v, strlen (v), lo, hi, out, &why)) {
    ssan_set_error (err, SSAN_ERR_FORMAT,
        "%s: metadata key '%s': '%.64s' %s (an integer in [%d, %d])",
        st_fname (st), key, v, why, lo, hi);
    return -1;
  }
  return 0;
}

/* A decimal as Python's repr writes it: [-]digits[.digits][e[+-]digits]. */
static int
parse_decimal_text (const char *s, size_t len, float *out)
{
  size_t i = 0, nd = 0;
  char buf[64];
  double d;

  if (len == 0 || len >= sizeof (buf))
    return -1;
  if (s[i] == '-')
    i++;
  for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
    nd++;
  if (nd == 0)
    return -1;
  if (i < len && s[i] == '.') {
    nd = 0;
    for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
      nd++;
    if (nd == 0)
      return -1;
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-'))
      i++;
    nd = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
      nd++;
    if (nd == 0)
      return -1;
  }
  if (i != len)
    return -1;
  memcpy (buf, s, len);
  buf[len] = '\0';
  d = g_ascii_strtod (buf, NULL);
  *out = (float)d;
  return isfinite (*out) ? 0 : -1;
}

static int
get_triple (const ssan_st *st, const char *key, const float *def, int positive,
    float *out, ssan_error *err)
{
  const char *v = ssan_st_meta (st, key);
  const char *p;
  int n = 0;

  if (!v) {
    memcpy (out, def, 3 * sizeof (float));
    return 0;
  }
  p = v;
  for (;;) {
    const char *c = strchr (p, ',');
    size_t len = c ? (size_t)(c - p) : strlen (p);
    if (n == 3 || parse_decimal_text (p, len, &out[n]))
      goto bad;
    if (positive && !(out[n] >= MIN_STD))
      goto not_positive;
    n++;
    if (!c)
      break;
    p = c + 1;
  }
  if (n != 3)
    goto bad;
  return 0;

  /* ERRORS */
bad:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: metadata key '%s': '%.64s' is not exactly three finite decimals "
      "separated by commas",
      st_fname (st), key, v);
  return -1;
not_positive:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: metadata key '%s': '%.64s' has a value below %g (std must be "
      "> 0)",
      st_fname (st), key, v, MIN_STD);
  return -1;
}

static int
parse_arch (ssan_info *info, const ssan_st *st, ssan_error *err)
{
  static const struct {
    const char *name;
    ssan_block_kind block;
    int layers[4];
  } named[] = {
    { "resnet18", SSAN_BLOCK_BASIC, { 2, 2, 2, 2 } },
    { "resnet34", SSAN_BLOCK_BASIC, { 3, 4, 6, 3 } },
    { "resnet50", SSAN_BLOCK_BOTTLENECK, { 3, 4, 6, 3 } },
    { "resnet101", SSAN_BLOCK_BOTTLENECK, { 3, 4, 23, 3 } },
  };
  const char *fn = st_fname (st);
  const char *arch = ssan_st_meta (st, "arch");
  const char *block, *layers, *p;

  if (!arch)
    goto missing_arch;
  for (size_t i = 0; i < G_N_ELEMENTS (named); i++) {
    if (strcmp (arch, named[i].name) == 0) {
      info->block = named[i].block;
      memcpy (info->layers, named[i].layers, sizeof (info->layers));
      goto done;
    }
  }
  if (strcmp (arch, "custom") != 0)
    goto unknown_arch;

  block = ssan_st_meta (st, "block");
  if (!block)
    goto missing_block;
  if (strcmp (block, "basic") == 0)
    info->block = SSAN_BLOCK_BASIC;
  else if (strcmp (block, "bottleneck") == 0)
    info->block = SSAN_BLOCK_BOTTLENECK;
  else
    goto bad_block;

  layers = ssan_st_meta (st, "layers");
  if (!layers)
    goto missing_layers;
  p = layers;
  for (int i = 0; i < 4; i++) {
    const char *c = strchr (p, ',');
    const char *why;
    size_t len = c ? (size_t)(c - p) : strlen (p);
    if ((i < 3) != (c != NULL))
      goto bad_layers;
    if (parse_int_text (p, len, 1, MAX_LAYERS, &info->layers[i], &why))
      goto bad_layers;
    p = c ? c + 1 : p;
  }
done:
  info->arch = strdup (arch);
  if (!info->arch)
    goto nomem;
  return 0;

  /* ERRORS */
nomem:
  ssan_set_error (err, SSAN_ERR_NOMEM, "%s: out of memory", fn);
  return -1;
missing_arch:
  ssan_set_error (
      err, SSAN_ERR_FORMAT, "%s: metadata key 'arch': missing (required)", fn);
  return -1;
unknown_arch:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: metadata key 'arch': unknown value '%.64s' (resnet18, resnet34, "
      "resnet50, resnet101 or custom)",
      fn, arch);
  return -1;
missing_block:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: metadata key 'block': missing (required when arch is custom)", fn);
  return -1;
bad_block:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: metadata key 'block': '%.64s' is neither basic nor bottleneck", fn,
      block);
  return -1;
missing_layers:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: metadata key 'layers': missing (required when arch is custom)", fn);
  return -1;
bad_layers:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: metadata key 'layers': '%.64s' is not four comma-separated "
      "integers in [1, %d]",
      fn, layers, MAX_LAYERS);
  return -1;
}

/* "layerI.J" with J written canonically, so that one block has one name. */
static int
parse_block_name (const char *s, size_t len, int *stage, int *index)
{
  const char *why;

  if (len < 8 || strncmp (s, "layer", 5) != 0 || s[5] < '1' || s[5] > '4'
      || s[6] != '.' || s[7] == '-' || (s[7] == '0' && len > 8))
    return -1;
  *stage = s[5] - '1';
  return parse_int_text (s + 7, len - 7, 0, MAX_LAYERS - 1, index, &why);
}

/* A comma-separated list of distinct existing blocks (ssa_blocks,
 * shift_blocks); SSA blocks must also have a width ssa_reduction divides.
 * An absent or empty value is no block. */
static int
parse_block_list (const ssan_info *info, const ssan_st *st, const char *key,
    int check_reduction, int *n_out, const char *const **out, ssan_error *err)
{
  const char *fn = st_fname (st);
  const char *v = ssan_st_meta (st, key);
  const char *p;
  char **names;
  int n = 1, k = 0, stage = 0, index = 0;
  size_t len = 0;

  *n_out = 0;
  *out = NULL;
  if (!v || v[0] == '\0')
    return 0;
  for (p = v; *p; p++)
    n += *p == ',';
  names = calloc ((size_t)n, sizeof (char *));
  if (!names)
    goto nomem;
  *out = (const char *const *)names;

  for (p = v;; k++) {
    const char *c = strchr (p, ',');
    len = c ? (size_t)(c - p) : strlen (p);
    if (parse_block_name (p, len, &stage, &index))
      goto bad_name;
    if (index >= info->layers[stage])
      goto no_such_block;
    for (int j = 0; j < k; j++)
      if (strlen (names[j]) == len && strncmp (names[j], p, len) == 0)
        goto duplicate;
    if (check_reduction && ((info->width << stage) % info->ssa_reduction) != 0)
      goto not_divisible;
    names[k] = strndup (p, len);
    if (!names[k])
      goto nomem;
    *n_out = k + 1;
    if (!c)
      break;
    p = c + 1;
  }
  return 0;

  /* ERRORS */
nomem:
  ssan_set_error (err, SSAN_ERR_NOMEM, "%s: out of memory", fn);
  return -1;
bad_name:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: metadata key '%s': '%.*s' is not a block name (layerI.J)", fn, key,
      (int)(len > 64 ? 64 : len), p);
  return -1;
no_such_block:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: metadata key '%s': block '%.*s' does not exist (layer%d has %d "
      "blocks)",
      fn, key, (int)len, p, stage + 1, info->layers[stage]);
  return -1;
duplicate:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: metadata key '%s': block '%.*s' named twice", fn, key, (int)len, p);
  return -1;
not_divisible:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: metadata key 'ssa_reduction': %d does not divide the width %d of "
      "SSA block '%.*s'",
      fn, info->ssa_reduction, info->width << stage, (int)len, p);
  return -1;
}

static void
free_block_list (int n, const char *const *names)
{
  if (names) {
    for (int i = 0; i < n; i++)
      free ((char *)names[i]);
    free ((char **)names);
  }
}

/* frame_rate: "N" or "N/D", decimal integers > 0 with nothing around them
 * (a decimal such as 29.97 is refused: the spec wants an exact rate). */
static int
parse_frame_rate (ssan_info *info, const ssan_st *st, ssan_error *err)
{
  const char *v = ssan_st_meta (st, "frame_rate");
  const char *slash, *why;
  size_t len;

  info->frame_rate_num = info->frame_rate_den = 0;
  if (!v)
    return 0;
  len = strlen (v);
  slash = strchr (v, '/');
  if (slash == NULL) {
    info->frame_rate_den = 1;
    if (parse_int_text (
            v, len, 1, MAX_FRAME_RATE_PART, &info->frame_rate_num, &why))
      goto bad;
    return 0;
  }
  if (parse_int_text (v, (size_t)(slash - v), 1, MAX_FRAME_RATE_PART,
          &info->frame_rate_num, &why)
      || parse_int_text (slash + 1, len - (size_t)(slash - v) - 1, 1,
          MAX_FRAME_RATE_PART, &info->frame_rate_den, &why))
    goto bad;
  return 0;

  /* ERRORS */
bad:
  info->frame_rate_num = info->frame_rate_den = 0;
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: metadata key 'frame_rate': '%.64s' is not an integer or an "
      "integer fraction N/D with N, D in [1, %d]",
      st_fname (st), v, MAX_FRAME_RATE_PART);
  return -1;
}

static int
parse_source (ssan_info *info, const ssan_st *st, ssan_error *err)
{
  const char *v = ssan_st_meta (st, "source");

  info->source = NULL;
  if (!v)
    return 0;
  info->source = strdup (v);
  if (!info->source) {
    ssan_set_error (err, SSAN_ERR_NOMEM, "%s: out of memory", st_fname (st));
    return -1;
  }
  return 0;
}

static int
parse_labels (ssan_info *info, const ssan_st *st, ssan_error *err)
{
  const char *fn = st_fname (st);
  const char *v = ssan_st_meta (st, "labels");
  char **labels;
  JsonNode *root = NULL;
  JsonArray *a;
  char why[256];
  int i;

  labels = calloc ((size_t)info->num_classes, sizeof (char *));
  if (!labels)
    goto nomem;
  info->labels = (const char *const *)labels;

  if (!v) {
    for (i = 0; i < info->num_classes; i++) {
      labels[i] = malloc (24);
      if (!labels[i])
        goto nomem;
      snprintf (labels[i], 24, "class %d", i);
    }
    return 0;
  }

  root = ssan_json_parse (v, strlen (v), why, sizeof (why));
  if (!root)
    goto bad_json;
  if (!JSON_NODE_HOLDS_ARRAY (root))
    goto not_array;
  a = json_node_get_array (root);
  if (json_array_get_length (a) != (guint)info->num_classes)
    goto wrong_length;
  for (i = 0; i < info->num_classes; i++) {
    JsonNode *e = json_array_get_element (a, (guint)i);
    if (!JSON_NODE_HOLDS_VALUE (e)
        || json_node_get_value_type (e) != G_TYPE_STRING)
      goto not_string;
    labels[i] = strdup (json_node_get_string (e));
    if (!labels[i])
      goto nomem;
  }
  json_node_unref (root);
  return 0;

  /* ERRORS */
nomem:
  ssan_set_error (err, SSAN_ERR_NOMEM, "%s: out of memory", fn);
  goto fail;
bad_json:
  ssan_set_error (
      err, SSAN_ERR_FORMAT, "%s: metadata key 'labels': %s", fn, why);
  goto fail;
not_array:
  ssan_set_error (
      err, SSAN_ERR_FORMAT, "%s: metadata key 'labels': not a JSON array", fn);
  goto fail;
wrong_length:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: metadata key 'labels': %u labels for num_classes %d", fn,
      json_array_get_length (a), info->num_classes);
  goto fail;
not_string:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: metadata key 'labels': element %d is not a string", fn, i);
  goto fail;
fail:
  if (root)
    json_node_unref (root);
  return -1;
}

/* Output side of a convolution or pooling window, as the network computes
 * it; the stem must leave every stage at least 1x1. */
static int
conv_out (int in, int k, int stride, int pad)
{
  return (in + 2 * pad - k) / stride + 1;
}

static int
check_spatial (const ssan_info *info, const ssan_st *st, ssan_error *err)
{
  int s = conv_out (info->input_size, 7, 2, 3);
  if (s >= 1)
    s = conv_out (s, 3, 2, 1);
  for (int i = 1; i < 4 && s >= 1; i++)
    s = conv_out (s, 3, 2, 1);
  if (s < 1) {
    ssan_set_error (err, SSAN_ERR_FORMAT,
        "%s: metadata key 'input_size': %d leaves no pixel after the stem "
        "and strides",
        st_fname (st), info->input_size);
    return -1;
  }
  return 0;
}

int
ssan_info_parse (ssan_info *info, const ssan_st *st, ssan_error *err)
{
  static const float def_mean[3] = { 0.485f, 0.456f, 0.406f };
  static const float def_std[3] = { 0.229f, 0.224f, 0.225f };
  const char *fn = st_fname (st);
  const char *format = ssan_st_meta (st, "format");

  memset (info, 0, sizeof (*info));
  if (!format)
    goto missing_format;
  if (strcmp (format, "ssan-1") != 0)
    goto bad_format;
  if (parse_arch (info, st, err))
    goto fail;
  if (get_int (st, "width", 0, 64, 1, MAX_WIDTH, &info->width, err)
      || get_int (
          st, "num_classes", 1, 0, 1, MAX_CLASSES, &info->num_classes, err)
      || get_int (st, "segments", 1, 0, 1, MAX_SEGMENTS, &info->segments, err)
      || get_int (
          st, "input_size", 1, 0, 1, MAX_INPUT_SIZE, &info->input_size, err))
    goto fail;
  if (check_spatial (info, st, err))
    goto fail;
  if (get_int (st, "resize", 0, (info->input_size * 256 + 112) / 224,
          info->input_size, MAX_RESIZE, &info->resize, err)
      || get_triple (st, "mean", def_mean, 0, info->mean, err)
      || get_triple (st, "std", def_std, 1, info->std, err)
      || get_int (st, "ssa_reduction", 0, 2, 1, MAX_REDUCTION,
          &info->ssa_reduction, err)
      || parse_block_list (info, st, "ssa_blocks", 1, &info->n_ssa_blocks,
          &info->ssa_blocks, err)
      || parse_labels (info, st, err)
      || get_int (st, "window_frames", 0, info->segments, info->segments,
          MAX_WINDOW_FRAMES, &info->window_frames, err)
      || parse_frame_rate (info, st, err)
      || parse_block_list (info, st, "shift_blocks", 0, &info->n_shift_blocks,
          &info->shift_blocks, err)
      || get_int (
          st, "shift_div", 0, 8, 2, MAX_SHIFT_DIV, &info->shift_div, err)
      || parse_source (info, st, err))
    goto fail;
  info->n_params = 0;
  return 0;

  /* ERRORS */
missing_format:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: metadata key 'format': missing (not an ssan-1 model)", fn);
  goto fail;
bad_format:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: metadata key 'format': '%.64s' is not ssan-1", fn, format);
  goto fail;
fail:
  ssan_info_clear (info);
  return -1;
}

void
ssan_info_clear (ssan_info *info)
{
  free_block_list (info->n_ssa_blocks, info->ssa_blocks);
  free_block_list (info->n_shift_blocks, info->shift_blocks);
  free ((char *)info->source);
  if (info->labels) {
    for (int i = 0; i < info->num_classes; i++)
      free ((char *)info->labels[i]);
    free ((char **)info->labels);
  }
  free ((char *)info->arch);
  memset (info, 0, sizeof (*info));
}
