/* test-loader: one case per rule of the safetensors container and the spec
 * §3 metadata table, each bad file built in memory; every failure must be
 * an error (never a crash) whose message names the file and the offending
 * tensor or key.  Plus positive cases: F32/F16/BF16 models of every arch
 * load, widening is exact, defaults are applied.
 *
 * Files are built from raw header text (container rules) or by
 * ssan-modelgen with one mutation (metadata and tensor rules).  Tensor
 * rules are checked twice: with take_all() below, an independent reading
 * of spec §1-§2 that takes every tensor through ssan_st_take, and through
 * ssan_model_load_memory, the network builder. */
#include "ssan-internal.h"
#include "ssan-modelgen.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FNAME "bad.safetensors"

static int n_passed, n_failed;

/* shown: printed after a passing case (the refusal's message), or NULL */
static void
report_full (const char *name, int ok, const char *detail, const char *shown)
{
  if (ok) {
    n_passed++;
    printf ("ok   %s%s%s\n", name, shown ? " -- " : "", shown ? shown : "");
  } else {
    n_failed++;
    printf ("FAIL %s: %s\n", name, detail);
  }
}

static void
report (const char *name, int ok, const char *detail)
{
  report_full (name, ok, detail, NULL);
}

/* ---- raw files ---------------------------------------------------------- */

typedef struct {
  uint8_t *p;
  size_t size;
} buf;

static buf
raw_file (const char *header, size_t hlen, const void *data, size_t dlen)
{
  buf b;
  b.size = 8 + hlen + dlen;
  b.p = malloc (b.size);
  for (int i = 0; i < 8; i++)
    b.p[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
  memcpy (b.p + 8, header, hlen);
  if (dlen)
    memcpy (b.p + 8 + hlen, data, dlen);
  return b;
}

static buf
raw (const char *header, size_t dlen)
{
  uint8_t *zeros = calloc (1, dlen + 1);
  buf b = raw_file (header, strlen (header), zeros, dlen);
  free (zeros);
  return b;
}

static int
msg_has (const ssan_error *err, const char *needle)
{
  return needle == NULL || strstr (err->msg, needle) != NULL;
}

/* The file must be refused by the container parser with a message naming
 * the file and `needle` (a tensor, a key or the reason). */
static void
expect_st_fail (
    const char *name, buf b, const char *needle, const char *needle2)
{
  ssan_st st;
  ssan_error err = { 0 };
  char detail[700];
  int rc = ssan_st_parse (&st, b.p, b.size, FNAME, &err);

  snprintf (detail, sizeof (detail), "rc=%d msg='%s'", rc, err.msg);
  report_full (name,
      rc != 0 && err.code == SSAN_ERR_FORMAT
          && strncmp (err.msg, FNAME ": ", strlen (FNAME) + 2) == 0
          && msg_has (&err, needle) && msg_has (&err, needle2)
          && st.n_tensors == 0,
      detail, err.msg);
  ssan_st_clear (&st);

  /* and ssan_model_load_memory passes the refusal on unchanged */
  {
    ssan_error err2 = { 0 };
    ssan_model *m = ssan_model_load_memory (b.p, b.size, FNAME, &err2);
    char n[200];
    snprintf (n, sizeof (n), "%s [ssan_model_load_memory]", name);
    report (n, m == NULL && strcmp (err.msg, err2.msg) == 0, err2.msg);
    ssan_model_free (m);
  }
  free (b.p);
}

/* ---- take_all: spec §1-§2 read independently of the network ----------- */

static int
take (ssan_st *st, const char *name, int ndim, int64_t d0, int64_t d1,
    int64_t d2, int64_t d3, int64_t d4, ssan_error *err)
{
  int64_t shape[5] = { d0, d1, d2, d3, d4 };
  int64_t n = 1;
  float *dst;
  int rc;

  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  dst = malloc ((size_t)n * sizeof (float));
  rc = ssan_st_take (st, name, ndim, shape, dst, err);
  free (dst);
  return rc;
}

static int
take_bn (ssan_st *st, const char *p, int64_t c, ssan_error *err)
{
  static const char *const parts[]
      = { "weight", "bias", "running_mean", "running_var" };
  char n[128];
  for (int i = 0; i < 4; i++) {
    snprintf (n, sizeof (n), "%s.%s", p, parts[i]);
    if (take (st, n, 1, c, 0, 0, 0, 0, err))
      return -1;
  }
  return 0;
}

static int
has_ssa (const ssan_info *info, const char *block)
{
  for (int i = 0; i < info->n_ssa_blocks; i++)
    if (strcmp (info->ssa_blocks[i], block) == 0)
      return 1;
  return 0;
}

static int
take_all (ssan_st *st, const ssan_info *info, ssan_error *err)
{
  int64_t w = info->width, inplanes = w;
  int64_t exp = info->block == SSAN_BLOCK_BOTTLENECK ? 4 : 1;
  char n[128], b[64];

  if (take (st, "conv1.weight", 4, w, 3, 7, 7, 0, err)
      || take_bn (st, "bn1", w, err))
    return -1;
  for (int i = 0; i < 4; i++) {
    int64_t planes = w << i;
    for (int j = 0; j < info->layers[i]; j++) {
      int stride = (i > 0 && j == 0) ? 2 : 1;
      int64_t k1 = exp == 4 ? 1 : 3;
      snprintf (b, sizeof (b), "layer%d.%d", i + 1, j);
#define N(s) (snprintf (n, sizeof (n), "%s.%s", b, s), n)
      if (take (st, N ("conv1.weight"), 4, planes, inplanes, k1, k1, 0, err)
          || take_bn (st, N ("bn1"), planes, err)
          || take (st, N ("conv2.weight"), 4, planes, planes, 3, 3, 0, err)
          || take_bn (st, N ("bn2"), planes, err))
        return -1;
      if (exp == 4
          && (take (st, N ("conv3.weight"), 4, planes * 4, planes, 1, 1, 0, err)
              || take_bn (st, N ("bn3"), planes * 4, err)))
        return -1;
      if ((stride != 1 || inplanes != planes * exp)
          && (take (st, N ("downsample.0.weight"), 4, planes * exp, inplanes, 1,
                  1, 0, err)
              || take_bn (st, N ("downsample.1"), planes * exp, err)))
        return -1;
      if (has_ssa (info, b)) {
        int64_t c = planes, cr = planes / info->ssa_reduction;
        if (take (st, N ("ssa.theta.weight"), 4, cr, c, 1, 1, 0, err)
            || take (st, N ("ssa.theta.bias"), 1, cr, 0, 0, 0, 0, err)
            || take (st, N ("ssa.phi.weight"), 4, cr, c, 1, 1, 0, err)
            || take (st, N ("ssa.phi.bias"), 1, cr, 0, 0, 0, 0, err)
            || take (st, N ("ssa.g.weight"), 4, cr, c, 1, 1, 0, err)
            || take (st, N ("ssa.g.bias"), 1, cr, 0, 0, 0, 0, err)
            || take (st, N ("ssa.theta_t.weight"), 5, cr, cr, 3, 1, 1, err)
            || take (st, N ("ssa.theta_t.bias"), 1, cr, 0, 0, 0, 0, err)
            || take (st, N ("ssa.phi_t.weight"), 5, cr, cr, 3, 1, 1, err)
            || take (st, N ("ssa.phi_t.bias"), 1, cr, 0, 0, 0, 0, err)
            || take (st, N ("ssa.out.weight"), 4, c, cr, 1, 1, 0, err)
            || take_bn (st, N ("ssa.out_bn"), c, err))
          return -1;
      }
#undef N
      inplanes = planes * exp;
    }
  }
  if (take (st, "fc.weight", 2, info->num_classes, inplanes, 0, 0, 0, err)
      || take (st, "fc.bias", 1, info->num_classes, 0, 0, 0, 0, err))
    return -1;
  return ssan_st_check_all_used (st, err);
}

/* Container + metadata + every tensor, as a loader would. */
static int
load_st (const uint8_t *p, size_t size, ssan_error *err)
{
  ssan_st st;
  ssan_info info;
  int rc = ssan_st_parse (&st, p, size, FNAME, err);

  if (rc == 0) {
    rc = ssan_info_parse (&info, &st, err);
    if (rc == 0) {
      rc = take_all (&st, &info, err);
      ssan_info_clear (&info);
    }
  }
  ssan_st_clear (&st);
  return rc;
}

/* ---- modelgen-based cases ---------------------------------------------- */

/* A small model: custom basic 1,1,1,1, width 8, 5 classes, T 2, 32x32. */
static void
small_config (ssan_modelgen_config *c)
{
  ssan_modelgen_config_init (c);
  c->arch = "custom";
  c->layers[0] = c->layers[1] = c->layers[2] = c->layers[3] = 1;
  c->width = 8;
  c->num_classes = 5;
  c->segments = 2;
  c->input_size = 32;
  c->num_batches_tracked = 1;
  c->seed = 7;
}

static buf
serialize (ssan_modelgen *g)
{
  buf b = { NULL, 0 };
  if (ssan_modelgen_serialize (g, &b.p, &b.size))
    abort ();
  ssan_modelgen_free (g);
  return b;
}

static ssan_modelgen *
gen (const ssan_modelgen_config *c)
{
  char e[256];
  ssan_modelgen *g = ssan_modelgen_new (c, e, sizeof (e));
  if (!g) {
    fprintf (stderr, "modelgen: %s\n", e);
    abort ();
  }
  return g;
}

static ssan_modelgen *
small_with_meta (const char *key, const char *value)
{
  ssan_modelgen_config c;
  ssan_modelgen *g;
  small_config (&c);
  g = gen (&c);
  ssan_modelgen_set_meta (g, key, value);
  return g;
}

static int
refusal_ok (
    int failed, const ssan_error *err, const char *needle, const char *needle2)
{
  return failed && err->code == SSAN_ERR_FORMAT
         && strncmp (err->msg, FNAME ": ", strlen (FNAME) + 2) == 0
         && msg_has (err, needle) && msg_has (err, needle2);
}

/* The model must be refused, naming the file and needle(s), both by the
 * loader functions with take_all and by the network builder. */
static void
expect_model_fail (
    const char *name, buf b, const char *needle, const char *needle2)
{
  ssan_error err = { 0 };
  char detail[700], n[200];
  int rc = load_st (b.p, b.size, &err);
  ssan_model *m;

  snprintf (detail, sizeof (detail), "rc=%d msg='%s'", rc, err.msg);
  report_full (
      name, refusal_ok (rc != 0, &err, needle, needle2), detail, err.msg);

  memset (&err, 0, sizeof (err));
  m = ssan_model_load_memory (b.p, b.size, FNAME, &err);
  snprintf (detail, sizeof (detail), "model=%p msg='%s'", (void *)m, err.msg);
  snprintf (n, sizeof (n), "%s [ssan_model_load_memory]", name);
  report_full (
      n, refusal_ok (m == NULL, &err, needle, needle2), detail, err.msg);
  ssan_model_free (m);
  free (b.p);
}

/* The model must load, both ways, with n_params counting every float
 * tensor the generator wrote. */
static void
expect_model_ok (const char *name, ssan_modelgen *g)
{
  int64_t n_params = ssan_modelgen_n_params (g);
  buf b = serialize (g);
  ssan_error err = { 0 };
  char detail[700], n[200];
  int rc = load_st (b.p, b.size, &err);
  ssan_model *m;

  report (name, rc == 0, err.msg);
  m = ssan_model_load_memory (b.p, b.size, FNAME, &err);
  snprintf (detail, sizeof (detail), "msg='%s' n_params=%lld, expected %lld",
      m ? "" : err.msg, m ? (long long)ssan_model_get_info (m)->n_params : -1LL,
      (long long)n_params);
  snprintf (n, sizeof (n), "%s [ssan_model_load_memory]", name);
  report (
      n, m != NULL && ssan_model_get_info (m)->n_params == n_params, detail);
  ssan_model_free (m);
  free (b.p);
}

static void
meta_fail (
    const char *name, const char *key, const char *value, const char *needle)
{
  char n[160];
  snprintf (n, sizeof (n), "meta: %s", name);
  expect_model_fail (n, serialize (small_with_meta (key, value)), needle, NULL);
}

/* ---- container cases --------------------------------------------------- */

static void
test_container (void)
{
  const char *t1 = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
                   "\"data_offsets\":[0,8]}}";
  buf b;

  b.p = calloc (1, 5);
  b.size = 5;
  expect_st_fail (
      "container: file shorter than the length field", b, "too short", NULL);

  b = raw_file ("{}", 2, NULL, 0);
  b.p[0] = 0xe8;
  b.p[1] = 0x03; /* 1000 */
  expect_st_fail (
      "container: header length past the end", b, "past the end", NULL);

  b = raw_file ("{}", 2, NULL, 0);
  memset (b.p, 0xff, 8);
  expect_st_fail ("container: header length 2^64-1", b, "exceeds", NULL);

  b = raw_file ("{}", 2, NULL, 0);
  memset (b.p, 0, 8);
  b.p[7] = 0x80;
  expect_st_fail ("container: header length 2^63", b, "exceeds", NULL);

  b = raw_file ("{}", 2, NULL, 0);
  b.p[0] = 3; /* size - 8 + 1 */
  expect_st_fail (
      "container: header length one byte too long", b, "past the end", NULL);

  expect_st_fail ("container: empty header", raw ("", 0), "invalid JSON", NULL);
  expect_st_fail (
      "container: invalid JSON", raw ("{\"a\":", 0), "invalid JSON", NULL);
  expect_st_fail ("container: trailing comma", raw ("{\"a\":{},}", 0),
      "invalid JSON", NULL);
  expect_st_fail ("container: JSON not an object", raw ("[1,2]", 0),
      "not a JSON object", NULL);
  expect_st_fail ("container: JSON string at top level", raw ("\"x\"", 0),
      "not a JSON object", NULL);
  b = raw_file ("{\"a\"\0:{}}", 8, NULL, 0);
  expect_st_fail ("container: embedded NUL byte", b, "NUL", NULL);
  expect_st_fail ("container: \\u0000 in a name", raw ("{\"a\\u0000b\":{}}", 0),
      "NUL", NULL);
  expect_st_fail ("container: data after the JSON value", raw ("{} {}", 0),
      "after the top-level", NULL);
  expect_st_fail (
      "container: comment", raw ("/*x*/{}", 0), "invalid JSON", NULL);
  expect_st_fail (
      "container: single quotes", raw ("{'a':{}}", 0), "invalid JSON", NULL);
  expect_st_fail ("container: hex number",
      raw ("{\"a\":{\"dtype\":\"F32\",\"shape\":[0x2],"
           "\"data_offsets\":[0,8]}}",
          8),
      "invalid JSON", NULL);
  expect_st_fail ("container: leading zero",
      raw ("{\"a\":{\"dtype\":\"F32\",\"shape\":[02],"
           "\"data_offsets\":[0,8]}}",
          8),
      "leading zero", NULL);
  expect_st_fail (
      "container: invalid UTF-8", raw ("{\"\xff\":{}}", 0), "UTF-8", NULL);
  expect_st_fail ("container: control character in a string",
      raw ("{\"a\tb\":{}}", 0), "control character", NULL);
  {
    size_t n = 200000;
    char *deep = malloc (n + 1);
    memset (deep, '[', n);
    deep[n] = '\0';
    expect_st_fail (
        "container: 200000 nested arrays", raw (deep, 0), "nesting", NULL);
    free (deep);
  }
  {
    size_t n = 2200000, o = 0;
    char *many = malloc (2 * n + 16);
    o += (size_t)sprintf (many, "{\"a\":[");
    for (size_t i = 0; i < n; i++) {
      many[o++] = '0';
      many[o++] = ',';
    }
    memcpy (many + o - 1, "]}", 3);
    expect_st_fail ("container: 2.2 million values (json-glib memory bound)",
        raw (many, 0), "more than", NULL);
    free (many);
  }
  expect_st_fail ("container: integer overflowing int64",
      raw ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
           "\"data_offsets\":[0,99999999999999999999]}}",
          8),
      "outside int64", NULL);
  expect_st_fail ("container: integer just past INT64_MAX",
      raw ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
           "\"data_offsets\":[0,9223372036854775808]}}",
          8),
      "outside int64", NULL);
  expect_st_fail ("container: INT64_MAX offset is read, then refused",
      raw ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
           "\"data_offsets\":[0,9223372036854775807]}}",
          8),
      "'a'", "outside the data section");
  expect_st_fail ("container: duplicate tensor name",
      raw ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
           "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
          8),
      "duplicate", "'a'");
  expect_st_fail ("container: duplicate key inside an entry",
      raw ("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[2],"
           "\"data_offsets\":[0,8]}}",
          8),
      "duplicate", "'dtype'");

  {
    /* a long non-ASCII name is cut in the message on a character boundary */
    char hdr[600] = "{\"x";
    ssan_st st;
    ssan_error err = { 0 };
    for (int i = 0; i < 100; i++)
      strcat (hdr, "\xc3\xa9");
    strcat (hdr, "\":{\"dtype\":\"F64\",\"shape\":[1],"
                 "\"data_offsets\":[0,8]}}");
    b = raw (hdr, 8);
    report ("message: long UTF-8 name cut on a character boundary",
        ssan_st_parse (&st, b.p, b.size, FNAME, &err) != 0
            && g_utf8_validate (err.msg, -1, NULL)
            && msg_has (&err, "unsupported dtype"),
        err.msg);
    free (b.p);
  }

  /* tensor entries */
  expect_st_fail ("entry: not an object", raw ("{\"w\":[1]}", 0), "'w'",
      "not a JSON object");
  expect_st_fail ("entry: missing data_offsets",
      raw ("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8), "'w'",
      "exactly the keys");
  expect_st_fail ("entry: extra key",
      raw ("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],"
           "\"x\":1}}",
          8),
      "'w'", "exactly the keys");
  expect_st_fail ("entry: empty tensor name",
      raw (
          "{\"\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
      "empty name", NULL);
  expect_st_fail ("dtype: F64 unsupported",
      raw ("{\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}",
          8),
      "'w'", "unsupported dtype 'F64'");
  expect_st_fail ("dtype: I8 unsupported",
      raw (
          "{\"w\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1),
      "'w'", "unsupported dtype 'I8'");
  expect_st_fail ("dtype: unknown",
      raw (
          "{\"w\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
      "'w'", "unknown dtype");
  expect_st_fail ("dtype: lower case f32",
      raw ("{\"w\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
          4),
      "'w'", "unknown dtype");
  expect_st_fail ("dtype: not a string",
      raw ("{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
      "'w'", "not a string");
  expect_st_fail ("dtype: I64 outside num_batches_tracked",
      raw ("{\"bn1.running_var\":{\"dtype\":\"I64\",\"shape\":[1],"
           "\"data_offsets\":[0,8]}}",
          8),
      "'bn1.running_var'", "unsupported dtype 'I64'");
  expect_st_fail ("shape: negative",
      raw ("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],"
           "\"data_offsets\":[0,8]}}",
          8),
      "'w'", "non-negative integers");
  expect_st_fail ("shape: non-integer",
      raw ("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0],"
           "\"data_offsets\":[0,8]}}",
          8),
      "'w'", "non-negative integers");
  expect_st_fail ("shape: string",
      raw ("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],"
           "\"data_offsets\":[0,8]}}",
          8),
      "'w'", "non-negative integers");
  expect_st_fail ("shape: not an array",
      raw ("{\"w\":{\"dtype\":\"F32\",\"shape\":2,"
           "\"data_offsets\":[0,8]}}",
          8),
      "'w'", "not an array");
  expect_st_fail ("shape: 9 dimensions",
      raw ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],"
           "\"data_offsets\":[0,8]}}",
          8),
      "'w'", "9 dimensions");
  expect_st_fail ("shape: element count overflows",
      raw ("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
           "\"data_offsets\":[0,8]}}",
          8),
      "'w'", "overflows");
  expect_st_fail ("shape: byte count overflows",
      raw ("{\"w\":{\"dtype\":\"F32\",\"shape\":[3,1000000000000000000],"
           "\"data_offsets\":[0,8]}}",
          8),
      "'w'", "overflows");
  expect_st_fail ("offsets: reversed",
      raw ("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],"
           "\"data_offsets\":[8,0]}}",
          8),
      "'w'", "end before");
  expect_st_fail ("offsets: past the data section",
      raw ("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],"
           "\"data_offsets\":[4,12]}}",
          8),
      "'w'", "outside the data");
  expect_st_fail ("offsets: three entries",
      raw ("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],"
           "\"data_offsets\":[0,8,8]}}",
          8),
      "'w'", "two non-negative");
  expect_st_fail ("offsets: negative",
      raw ("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],"
           "\"data_offsets\":[-8,-8]}}",
          8),
      "'w'", "two non-negative");
  expect_st_fail ("offsets: size mismatch", raw (t1, 12), "'a'",
      "data section has 12 bytes");
  expect_st_fail ("offsets: numel*size != end-begin",
      raw ("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],"
           "\"data_offsets\":[0,8]}}",
          8),
      "'w'", "needs 12 bytes");
  expect_st_fail ("offsets: F16 size mismatch",
      raw ("{\"w\":{\"dtype\":\"F16\",\"shape\":[4],"
           "\"data_offsets\":[0,16]}}",
          16),
      "'w'", "needs 8 bytes");
  expect_st_fail ("offsets: overlapping tensors",
      raw ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
           "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
          12),
      "'b'", "overlaps tensor 'a'");
  expect_st_fail ("offsets: gap between tensors",
      raw ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
           "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
          12),
      "'b'", "unused");
  expect_st_fail ("offsets: first tensor not at 0",
      raw ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
          8),
      "'a'", "unused");
  expect_st_fail (
      "offsets: data section not covered", raw (t1, 16), "'a'", "16 bytes");
  expect_st_fail (
      "offsets: data without tensors", raw ("{}", 4), "4 bytes", NULL);
  expect_st_fail ("metadata: value not a string",
      raw ("{\"__metadata__\":{\"format\":1}}", 0), "'format'", "not a string");
  expect_st_fail ("metadata: nested object value",
      raw ("{\"__metadata__\":{\"labels\":[\"a\"]}}", 0), "'labels'",
      "not a string");
  expect_st_fail ("metadata: not an object",
      raw ("{\"__metadata__\":[\"format\",\"ssan-1\"]}", 0), "__metadata__",
      "not a JSON object");
}

/* ---- positive container cases, widening -------------------------------- */

static void
test_widening (void)
{
  /* F16: subnormals, normals, extremes; data deliberately unaligned (the
   * header is 1 byte past a multiple of 4). */
  static const uint16_t h[]
      = { 0x0001, 0x03ff, 0x0400, 0x3c00, 0xc000, 0x7bff, 0x8000, 0x3555 };
  static const float hv[] = { 5.9604644775390625e-8f, 6.0975551605224609e-5f,
    6.103515625e-5f, 1.0f, -2.0f, 65504.0f, -0.0f, 0.333251953125f };
  static const uint16_t bf[] = { 0x3f80, 0xc2f7, 0x0001, 0x7f7f };
  static const float f32[] = { 1.5f, -3.25e-20f, 1e30f };
  uint8_t data[64];
  char hdr[512];
  size_t off = 0;
  ssan_st st;
  ssan_error err = { 0 };
  float out[8];
  int64_t s8 = 8, s4 = 4, s3 = 3;
  int ok;
  buf b;

  for (int i = 0; i < 8; i++) {
    data[off++] = (uint8_t)(h[i] & 0xff);
    data[off++] = (uint8_t)(h[i] >> 8);
  }
  for (int i = 0; i < 4; i++) {
    data[off++] = (uint8_t)(bf[i] & 0xff);
    data[off++] = (uint8_t)(bf[i] >> 8);
  }
  for (int i = 0; i < 3; i++) {
    uint32_t u;
    memcpy (&u, &f32[i], 4);
    for (int k = 0; k < 4; k++)
      data[off++] = (uint8_t)(u >> (8 * k));
  }
  snprintf (hdr, sizeof (hdr),
      "{\"h\":{\"dtype\":\"F16\",\"shape\":[8],\"data_offsets\":[0,16]},"
      "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[16,24]},"
      "\"f\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]}}");
  while (strlen (hdr) % 4 != 1)
    strcat (hdr, " ");
  b = raw_file (hdr, strlen (hdr), data, off);
  ok = ssan_st_parse (&st, b.p, b.size, FNAME, &err) == 0;
  report ("widen: parse F16/BF16/F32 file, unaligned data", ok, err.msg);
  if (ok) {
    ok = ssan_st_take (&st, "h", 1, &s8, out, &err) == 0;
    for (int i = 0; ok && i < 8; i++)
      ok = out[i] == hv[i] && !signbit (out[i]) == !signbit (hv[i]);
    report ("widen: F16 subnormal/normal/max/-0 exact", ok, err.msg);
    ok = ssan_st_take (&st, "b", 1, &s4, out, &err) == 0 && out[0] == 1.0f
         && out[1] == -123.5f && out[2] == 9.18354961579912115600575419705e-41f
         && out[3] == 3.38953138925153547590470800371e38f;
    report ("widen: BF16 exact", ok, err.msg);
    ok = ssan_st_take (&st, "f", 1, &s3, out, &err) == 0
         && memcmp (out, f32, sizeof (f32)) == 0;
    report ("widen: F32 exact", ok, err.msg);
    ok = ssan_st_take (&st, "f", 1, &s3, out, &err) != 0
         && msg_has (&err, FNAME ": tensor 'f'") && msg_has (&err, "twice");
    report ("take: same tensor twice", ok, err.msg);
    ok = ssan_st_check_all_used (&st, &err) == 0;
    report ("take: all used", ok, err.msg);
  }
  ssan_st_clear (&st);
  free (b.p);

  /* F16 inf / NaN and F32 NaN must be refused at take time */
  {
    static const struct {
      const char *dtype;
      uint32_t bits;
      int size;
      const char *what;
    } bad[] = {
      { "F16", 0x7c00, 2, "infinite" },
      { "F16", 0xfe00, 2, "NaN" },
      { "BF16", 0x7fc0, 2, "NaN" },
      { "F32", 0x7fc00000, 4, "NaN" },
      { "F32", 0xff800000, 4, "infinite" },
    };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
      char name[96];
      uint8_t d[8] = { 0 };
      int64_t s2 = 2;
      for (int k = 0; k < bad[i].size; k++)
        d[bad[i].size + k] = (uint8_t)(bad[i].bits >> (8 * k));
      snprintf (hdr, sizeof (hdr),
          "{\"layer1.0.bn1.weight\":{\"dtype\":\"%s\",\"shape\":[2],"
          "\"data_offsets\":[0,%d]}}",
          bad[i].dtype, 2 * bad[i].size);
      b = raw_file (hdr, strlen (hdr), d, (size_t)(2 * bad[i].size));
      ok = ssan_st_parse (&st, b.p, b.size, FNAME, &err) == 0
           && ssan_st_take (&st, "layer1.0.bn1.weight", 1, &s2, out, &err) != 0
           && msg_has (&err, FNAME ": tensor "
                                   "'layer1.0.bn1.weight': element 1 is")
           && msg_has (&err, bad[i].what);
      snprintf (name, sizeof (name), "take: %s %s weight refused", bad[i].dtype,
          bad[i].what);
      report (name, ok, err.msg);
      ssan_st_clear (&st);
      free (b.p);
    }
  }

  /* I64 num_batches_tracked: geometry validated, never taken, ignored */
  {
    uint8_t d[8] = { 1 };
    int64_t one = 1;
    const char *hn = "{\"bn1.num_batches_tracked\":{\"dtype\":\"I64\","
                     "\"shape\":[],\"data_offsets\":[0,8]}}";
    b = raw_file (hn, strlen (hn), d, 8);
    ok = ssan_st_parse (&st, b.p, b.size, FNAME, &err) == 0
         && ssan_st_check_all_used (&st, &err) == 0;
    report ("I64 num_batches_tracked accepted and ignored", ok, err.msg);
    ok = ok
         && ssan_st_take (&st, "bn1.num_batches_tracked", 0, &one, out, &err)
                != 0
         && msg_has (&err, "'bn1.num_batches_tracked'");
    report ("I64 num_batches_tracked never taken as weights", ok, err.msg);
    ssan_st_clear (&st);
    free (b.p);
  }
  {
    ssan_st st2;
    b = raw ("{\"bn1.num_batches_tracked\":{\"dtype\":\"I64\","
             "\"shape\":[],\"data_offsets\":[0,4]}}",
        4);
    ok = ssan_st_parse (&st2, b.p, b.size, FNAME, &err) != 0
         && msg_has (&err, "'bn1.num_batches_tracked'")
         && msg_has (&err, "needs 8 bytes");
    report ("I64 num_batches_tracked geometry checked", ok, err.msg);
    ssan_st_clear (&st2);
    free (b.p);
  }
}

/* ---- metadata rules ---------------------------------------------------- */

static void
test_metadata (void)
{
  static const char *const bad_ints[] = { "+8", " 8", "8 ", "0x8", "8.0", "",
    "1e3", "99999999999999999999", "-1", "0", "8,", "\xd9\xa8" };
  char name[128];

  meta_fail ("format missing", "format", NULL, "'format': missing");
  meta_fail ("format ssan-2", "format", "ssan-2", "'format': 'ssan-2'");
  meta_fail ("format with a space", "format", "ssan-1 ", "'format'");
  meta_fail ("arch missing", "arch", NULL, "'arch': missing");
  meta_fail ("arch unknown", "arch", "resnet19", "'arch': unknown value");
  meta_fail ("custom without block", "block", NULL, "'block': missing");
  meta_fail ("custom with block 'wide'", "block", "wide", "'block': 'wide'");
  meta_fail ("custom without layers", "layers", NULL, "'layers': missing");
  {
    static const char *const bad_layers[]
        = { "1,1,1", "1,1,1,1,1", "0,1,1,1", "1,,1,1", "1, 1,1,1", "1,1,1,1,",
            "a,b,c,d", "1,1,1,1001", "1,1,1,-1", "" };
    for (size_t i = 0; i < sizeof (bad_layers) / sizeof (*bad_layers); i++) {
      snprintf (name, sizeof (name), "layers '%s'", bad_layers[i]);
      meta_fail (name, "layers", bad_layers[i], "'layers'");
    }
  }
  {
    static const char *const keys[] = { "num_classes", "segments", "input_size",
      "width", "resize", "ssa_reduction", "window_frames" };
    for (size_t k = 0; k < sizeof (keys) / sizeof (*keys); k++) {
      for (size_t i = 0; i < sizeof (bad_ints) / sizeof (*bad_ints); i++) {
        char needle[64];
        snprintf (name, sizeof (name), "%s '%s'", keys[k], bad_ints[i]);
        snprintf (needle, sizeof (needle), "'%s'", keys[k]);
        meta_fail (name, keys[k], bad_ints[i], needle);
      }
    }
  }
  meta_fail (
      "num_classes missing", "num_classes", NULL, "'num_classes': missing");
  meta_fail ("segments missing", "segments", NULL, "'segments': missing");
  meta_fail ("input_size missing", "input_size", NULL, "'input_size': missing");
  meta_fail ("width above 4096", "width", "4097", "'width'");
  meta_fail (
      "num_classes above 100000", "num_classes", "100001", "'num_classes'");
  meta_fail ("segments above 1024", "segments", "1025", "'segments'");
  meta_fail ("input_size above 4096", "input_size", "4097", "'input_size'");
  meta_fail ("resize below input_size", "resize", "31", "'resize'");
  meta_fail ("window_frames below T", "window_frames", "1", "'window_frames'");
  meta_fail ("window_frames above 100000", "window_frames", "100001",
      "'window_frames'");
  {
    static const char *const bad_triples[] = { "0.5,0.5", "0.5,0.5,0.5,0.5",
      "nan,0.5,0.5", "inf,0.5,0.5", "1e999,0.5,0.5", "0.5,,0.5", " 0.5,0.5,0.5",
      "0.5,0.5,0.5 ", "+0.5,0.5,0.5", ".5,0.5,0.5", "0.5,0.5,0x1", "5.,0.5,0.5",
      "0.5;0.5;0.5", "" };
    for (size_t i = 0; i < sizeof (bad_triples) / sizeof (*bad_triples); i++) {
      snprintf (name, sizeof (name), "mean '%s'", bad_triples[i]);
      meta_fail (name, "mean", bad_triples[i], "'mean'");
      snprintf (name, sizeof (name), "std '%s'", bad_triples[i]);
      meta_fail (name, "std", bad_triples[i], "'std'");
    }
  }
  meta_fail ("std with a zero", "std", "0.2,0,0.2", "'std'");
  meta_fail ("std negative", "std", "0.2,0.2,-0.2", "'std'");
  meta_fail ("std underflowing to zero", "std", "1e-50,0.2,0.2", "'std'");
  meta_fail ("std denormal", "std", "0.2,1e-40,0.2", "'std'");
  {
    static const char *const bad_blocks[]
        = { "layer5.0", "layer1.1", "layer0.0", "layer1.00", "layer1.-0",
            "layer1.0,layer1.0", "layer1.0,", ",layer1.0", "conv1", "layer1",
            "layer1.", "Layer1.0", "layer1.0 ", "layer1.1000" };
    for (size_t i = 0; i < sizeof (bad_blocks) / sizeof (*bad_blocks); i++) {
      snprintf (name, sizeof (name), "ssa_blocks '%s'", bad_blocks[i]);
      meta_fail (name, "ssa_blocks", bad_blocks[i], "'ssa_blocks'");
    }
  }
  {
    static const char *const bad_blocks[] = { "layer5.0", "layer1.1",
      "layer1.0,layer1.0", "layer1.0,", "conv1", "layer1.0 ", "all" };
    for (size_t i = 0; i < sizeof (bad_blocks) / sizeof (*bad_blocks); i++) {
      snprintf (name, sizeof (name), "shift_blocks '%s'", bad_blocks[i]);
      meta_fail (name, "shift_blocks", bad_blocks[i], "'shift_blocks'");
    }
  }
  {
    static const char *const bad_div[]
        = { "0", "1", "-8", "8.0", " 8", "+8", "", "65537", "1e1" };
    for (size_t i = 0; i < sizeof (bad_div) / sizeof (*bad_div); i++) {
      snprintf (name, sizeof (name), "shift_div '%s'", bad_div[i]);
      meta_fail (name, "shift_div", bad_div[i], "'shift_div'");
    }
  }
  {
    static const char *const bad_rates[] = { "0", "-30", "29.97", "30.0",
      "30/0", "30/", "/1001", "30000/1001/1", "30 ", " 30", "+30", "30/-1", "",
      "1000001", "30/1000001", "30:1", "3e1", "0/1", "\xd9\xa8" };
    for (size_t i = 0; i < sizeof (bad_rates) / sizeof (*bad_rates); i++) {
      snprintf (name, sizeof (name), "frame_rate '%s'", bad_rates[i]);
      meta_fail (name, "frame_rate", bad_rates[i], "'frame_rate'");
    }
  }
  {
    ssan_modelgen *g = small_with_meta ("ssa_blocks", "layer2.0");
    ssan_modelgen_set_meta (g, "ssa_reduction", "3");
    expect_model_fail ("meta: ssa_reduction 3 does not divide width 16",
        serialize (g), "'ssa_reduction'", "layer2.0");
  }
  {
    ssan_modelgen *g = small_with_meta ("ssa_blocks", "layer1.0");
    ssan_modelgen_set_meta (g, "ssa_reduction", "16");
    expect_model_fail ("meta: ssa_reduction 16 > width 8 of layer1.0",
        serialize (g), "'ssa_reduction'", "layer1.0");
  }
  meta_fail ("labels too short", "labels", "[\"a\",\"b\"]",
      "'labels': 2 labels for num_classes 5");
  meta_fail ("labels too long", "labels",
      "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"]", "'labels'");
  meta_fail ("labels not JSON", "labels", "[\"a\",", "'labels'");
  meta_fail ("labels plain text", "labels", "a,b,c,d,e", "'labels'");
  meta_fail ("labels not an array", "labels", "{\"a\":\"b\"}",
      "'labels': not a JSON array");
  meta_fail ("labels not strings", "labels", "[1,2,3,4,5]",
      "'labels': element 0 is not a string");
  meta_fail ("labels with a null", "labels", "[\"a\",\"b\",null,\"d\",\"e\"]",
      "'labels': element 2");
  meta_fail ("labels with \\u0000", "labels",
      "[\"a\\u0000\",\"b\",\"c\",\"d\",\"e\"]", "'labels'");
  meta_fail ("labels with trailing data", "labels",
      "[\"a\",\"b\",\"c\",\"d\",\"e\"] x", "'labels'");
}

/* ---- tensor rules, through take_all ------------------------------------ */

static void
test_tensors (void)
{
  ssan_modelgen_config c;
  ssan_modelgen *g;
  int64_t s11[4] = { 8, 8, 1, 1 };

  small_config (&c);
  g = gen (&c);
  ssan_modelgen_remove_tensor (g, "layer1.0.conv2.weight");
  expect_model_fail ("tensor: missing", serialize (g),
      "tensor 'layer1.0.conv2.weight': missing", NULL);

  g = gen (&c);
  ssan_modelgen_set_shape (g, "layer1.0.conv1.weight", 4, s11);
  expect_model_fail ("tensor: wrong shape", serialize (g),
      "tensor 'layer1.0.conv1.weight': expected shape [8, 8, 3, 3], got "
      "[8, 8, 1, 1]",
      NULL);

  g = gen (&c);
  ssan_modelgen_set_shape (g, "fc.bias", 2, (int64_t[]){ 5, 1 });
  expect_model_fail ("tensor: extra dimension", serialize (g),
      "tensor 'fc.bias': expected shape [5], got [5, 1]", NULL);

  g = gen (&c);
  ssan_modelgen_add_tensor (
      g, "layer1.1.conv1.weight", 4, (int64_t[]){ 8, 8, 3, 3 });
  expect_model_fail ("tensor: extra unused", serialize (g),
      "tensor 'layer1.1.conv1.weight': unused", NULL);

  g = gen (&c);
  ssan_modelgen_set_value (g, "layer3.0.bn2.running_var", 3, NAN);
  expect_model_fail ("tensor: NaN weight", serialize (g),
      "tensor 'layer3.0.bn2.running_var': element 3 is NaN", NULL);

  g = gen (&c);
  ssan_modelgen_set_value (g, "conv1.weight", 0, -INFINITY);
  expect_model_fail ("tensor: -inf weight", serialize (g),
      "tensor 'conv1.weight': element 0 is infinite", NULL);

  c.dtype = SSAN_MODELGEN_F16;
  g = gen (&c);
  ssan_modelgen_set_value (g, "fc.weight", 7, 70000.0f);
  expect_model_fail ("tensor: F16 overflowing to inf", serialize (g),
      "tensor 'fc.weight': element 7 is infinite", NULL);
  c.dtype = SSAN_MODELGEN_F32;

  g = gen (&c);
  ssan_modelgen_set_meta (g, "num_classes", "4");
  /* the network words this one itself: both name the tensor and its rows */
  expect_model_fail ("tensor: num_classes differs from fc rows", serialize (g),
      "'fc.weight'", "5");

  g = gen (&c);
  ssan_modelgen_set_meta (g, "width", "16");
  expect_model_fail ("tensor: width differs from the weights", serialize (g),
      "tensor 'conv1.weight': expected shape [16, 3, 7, 7], got [8, 3, 7, 7]",
      NULL);

  g = gen (&c);
  ssan_modelgen_set_meta (g, "block", "bottleneck");
  expect_model_fail ("tensor: block kind differs from the weights",
      serialize (g),
      "tensor 'layer1.0.conv1.weight': expected shape "
      "[8, 8, 1, 1], got [8, 8, 3, 3]",
      NULL);

  g = gen (&c);
  ssan_modelgen_set_meta (g, "ssa_blocks", "layer1.0");
  expect_model_fail ("tensor: SSA named but absent", serialize (g),
      "tensor 'layer1.0.ssa.", "missing");

  c.ssa_blocks = "layer2.0";
  g = gen (&c);
  ssan_modelgen_set_meta (g, "ssa_blocks", NULL);
  expect_model_fail ("tensor: SSA present but not named", serialize (g),
      "tensor 'layer2.0.ssa.", "unused");

  g = gen (&c);
  ssan_modelgen_set_meta (g, "ssa_reduction", "4");
  expect_model_fail ("tensor: SSA reduction differs from the weights",
      serialize (g),
      "tensor 'layer2.0.ssa.theta.weight': expected shape "
      "[4, 16, 1, 1], got [8, 16, 1, 1]",
      NULL);

  g = gen (&c);
  ssan_modelgen_remove_tensor (g, "layer2.0.ssa.out_bn.running_var");
  expect_model_fail ("tensor: SSA out_bn.running_var missing", serialize (g),
      "tensor 'layer2.0.ssa.out_bn.running_var': missing", NULL);

  g = gen (&c);
  ssan_modelgen_set_shape (
      g, "layer2.0.ssa.theta_t.weight", 4, (int64_t[]){ 8, 8, 3, 1 });
  expect_model_fail ("tensor: SSA theta_t 4-D instead of 5-D", serialize (g),
      "tensor 'layer2.0.ssa.theta_t.weight': expected shape "
      "[8, 8, 3, 1, 1], got [8, 8, 3, 1]",
      NULL);
  c.ssa_blocks = NULL;

  g = gen (&c);
  ssan_modelgen_remove_tensor (g, "layer2.0.downsample.1.bias");
  expect_model_fail ("tensor: downsample BN bias missing", serialize (g),
      "tensor 'layer2.0.downsample.1.bias': missing", NULL);
}

/* ---- positive: every arch and dtype ------------------------------------ */

static void
check_info_defaults (void)
{
  ssan_modelgen_config c;
  ssan_st st;
  ssan_info info;
  ssan_error err = { 0 };
  buf b;
  int ok;

  ssan_modelgen_config_init (&c);
  c.width = 4;
  b = serialize (gen (&c));
  ok = ssan_st_parse (&st, b.p, b.size, FNAME, &err) == 0
       && ssan_info_parse (&info, &st, &err) == 0;
  report ("defaults: parse resnet18 w4", ok, err.msg);
  if (ok) {
    ok = strcmp (info.arch, "resnet18") == 0 && info.block == SSAN_BLOCK_BASIC
         && info.layers[0] == 2 && info.layers[3] == 2 && info.width == 4
         && info.num_classes == 10 && info.segments == 8
         && info.input_size == 224 && info.resize == 256
         && info.mean[0] == 0.485f && info.mean[2] == 0.406f
         && info.std[1] == 0.224f && info.ssa_reduction == 2
         && info.n_ssa_blocks == 0 && strcmp (info.labels[0], "class 0") == 0
         && strcmp (info.labels[9], "class 9") == 0 && info.window_frames == 8
         && info.n_params == 0 && info.frame_rate_num == 0
         && info.frame_rate_den == 0 && info.n_shift_blocks == 0
         && info.shift_blocks == NULL && info.shift_div == 8
         && info.source == NULL;
    report ("defaults: resize 256, ImageNet mean/std, labels, window, r=2", ok,
        "a default differs");
    ssan_info_clear (&info);
  }
  ssan_st_clear (&st);
  free (b.p);

  ssan_modelgen_config_init (&c);
  c.arch = "custom";
  c.bottleneck = 1;
  c.layers[0] = 2;
  c.layers[1] = c.layers[2] = c.layers[3] = 1;
  c.width = 8;
  c.num_classes = 3;
  c.segments = 3;
  c.input_size = 1;
  c.resize = 2;
  c.window_frames = 12;
  c.ssa_blocks = "layer1.1,layer4.0";
  c.ssa_reduction = 4;
  c.labels_json = "[\"\\u00e9t\\u00e9\",\"b \\\"q\\\"\",\"\"]";
  c.shift_blocks = "layer4.0,layer1.0";
  c.shift_div = 4;
  c.frame_rate = "30000/1001";
  c.source = "mmaction2:tsm \"k400\"";
  c.mean = "0.5,1e-1,-0.25";
  c.std = "2,0.5E+1,0.125";
  b = serialize (gen (&c));
  ok = ssan_st_parse (&st, b.p, b.size, FNAME, &err) == 0
       && ssan_info_parse (&info, &st, &err) == 0;
  report ("explicit: parse custom bottleneck with every key", ok, err.msg);
  if (ok) {
    ok = strcmp (info.arch, "custom") == 0
         && info.block == SSAN_BLOCK_BOTTLENECK && info.layers[0] == 2
         && info.layers[1] == 1 && info.input_size == 1 && info.resize == 2
         && info.window_frames == 12 && info.n_ssa_blocks == 2
         && strcmp (info.ssa_blocks[0], "layer1.1") == 0
         && strcmp (info.ssa_blocks[1], "layer4.0") == 0
         && info.ssa_reduction == 4
         && strcmp (info.labels[0], "\xc3\xa9t\xc3\xa9") == 0
         && strcmp (info.labels[1], "b \"q\"") == 0
         && strcmp (info.labels[2], "") == 0 && info.mean[0] == 0.5f
         && info.mean[1] == 0.1f && info.mean[2] == -0.25f
         && info.std[0] == 2.0f && info.std[1] == 5.0f && info.std[2] == 0.125f
         && info.n_shift_blocks == 2
         && strcmp (info.shift_blocks[0], "layer4.0") == 0
         && strcmp (info.shift_blocks[1], "layer1.0") == 0
         && info.shift_div == 4 && info.frame_rate_num == 30000
         && info.frame_rate_den == 1001
         && strcmp (info.source, "mmaction2:tsm \"k400\"") == 0;
    report ("explicit: every key read back", ok, "a value differs");
    ok = take_all (&st, &info, &err) == 0;
    report ("explicit: all tensors taken (input_size 1)", ok, err.msg);
    ssan_info_clear (&info);
  }
  ssan_st_clear (&st);
  free (b.p);

  /* resize default rounds input_size*256/224 */
  {
    static const int sizes[][2] = { { 224, 256 }, { 112, 128 }, { 160, 183 },
      { 7, 8 }, { 1, 1 }, { 299, 342 } };
    ok = 1;
    for (size_t i = 0; i < sizeof (sizes) / sizeof (*sizes); i++) {
      ssan_modelgen_config_init (&c);
      c.width = 4;
      c.input_size = sizes[i][0];
      b = serialize (gen (&c));
      if (ssan_st_parse (&st, b.p, b.size, FNAME, &err) == 0
          && ssan_info_parse (&info, &st, &err) == 0) {
        ok = ok && info.resize == sizes[i][1];
        ssan_info_clear (&info);
      } else {
        ok = 0;
      }
      ssan_st_clear (&st);
      free (b.p);
    }
    report ("defaults: resize = round(S*256/224)", ok, "a resize differs");
  }

  /* frame_rate: an integer is N/1; an empty shift_blocks is no block */
  {
    ssan_modelgen *g = small_with_meta ("frame_rate", "25");
    ssan_modelgen_set_meta (g, "shift_blocks", "");
    b = serialize (g);
    ok = ssan_st_parse (&st, b.p, b.size, FNAME, &err) == 0
         && ssan_info_parse (&info, &st, &err) == 0;
    if (ok) {
      ok = info.frame_rate_num == 25 && info.frame_rate_den == 1
           && info.n_shift_blocks == 0;
      ssan_info_clear (&info);
    }
    report (
        "explicit: frame_rate 25 is 25/1, shift_blocks '' none", ok, err.msg);
    ssan_st_clear (&st);
    free (b.p);
  }

  /* unknown keys are ignored */
  {
    ssan_modelgen *g = small_with_meta ("ssan_future_key", "\x01 anything");
    ssan_modelgen_set_meta (g, "format_version", "9");
    expect_model_ok ("meta: unknown keys ignored", g);
  }
}

static void
test_models (void)
{
  static const char *const archs[]
      = { "resnet18", "resnet34", "resnet50", "resnet101" };
  static const char *const dt[] = { "F32", "F16", "BF16" };
  ssan_modelgen_config c;
  char name[128];

  for (size_t a = 0; a < 4; a++) {
    for (int d = 0; d < 3; d++) {
      ssan_modelgen_config_init (&c);
      c.arch = archs[a];
      c.width = 4;
      c.num_classes = 7;
      c.segments = 3;
      c.input_size = 64;
      c.ssa_blocks = "layer1.0,layer2.0,layer3.1";
      c.dtype = (ssan_modelgen_dtype)d;
      c.num_batches_tracked = d == 1;
      snprintf (
          name, sizeof (name), "model: %s %s with SSA loads", archs[a], dt[d]);
      expect_model_ok (name, gen (&c));
    }
  }

  /* widened values are the generator's values (F32 exact, F16/BF16 within
   * their rounding) */
  for (int d = 0; d < 3; d++) {
    ssan_modelgen *g;
    ssan_st st;
    ssan_error err = { 0 };
    float w[8 * 3 * 7 * 7];
    int64_t shape[4] = { 8, 3, 7, 7 };
    double tol = d == 0 ? 0.0 : d == 1 ? 1.0 / 2048 : 1.0 / 256;
    int ok;
    buf b;

    small_config (&c);
    c.dtype = (ssan_modelgen_dtype)d;
    g = gen (&c);
    ssan_modelgen_serialize (g, &b.p, &b.size);
    ok = ssan_st_parse (&st, b.p, b.size, FNAME, &err) == 0
         && ssan_st_take (&st, "conv1.weight", 4, shape, w, &err) == 0;
    for (int i = 0; ok && i < 8 * 3 * 7 * 7; i++) {
      float v;
      ssan_modelgen_get_value (g, "conv1.weight", i, &v);
      ok = fabs ((double)w[i] - v) <= tol * fabs (v) + 1e-7;
    }
    snprintf (name, sizeof (name), "model: %s values widened correctly", dt[d]);
    report (name, ok, err.msg);
    ssan_st_clear (&st);
    ssan_modelgen_free (g);
    free (b.p);
  }
}

/* The generator's weights must give finite logits of order one even
 * through resnet101, or benchmarks and parity runs on generated models
 * would measure overflow. */
static void
test_generated_scale (void)
{
  static const char *const archs[] = { "resnet18", "resnet101" };
  for (int a = 0; a < 2; a++) {
    ssan_modelgen_config c;
    ssan_error err = { 0 };
    ssan_model *m;
    ssan_ctx *ctx = NULL;
    buf b;
    char name[128];
    float frames[2 * 3 * 48 * 48], logits[6];
    uint64_t s = 12345;
    double maxabs = 0;
    int ok;

    ssan_modelgen_config_init (&c);
    c.arch = archs[a];
    c.width = 8;
    c.num_classes = 6;
    c.segments = 2;
    c.input_size = 48;
    c.ssa_blocks = "layer1.0,layer2.0";
    b = serialize (gen (&c));
    for (size_t i = 0; i < sizeof (frames) / sizeof (*frames); i++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      frames[i] = (float)((double)(s >> 40) / (double)(1 << 24) * 4 - 2);
    }
    m = ssan_model_load_memory (b.p, b.size, FNAME, &err);
    ok = m && (ctx = ssan_ctx_new (m, 0, 1, &err))
         && ssan_ctx_forward (ctx, frames, 1, logits, &err) == 0;
    for (int i = 0; ok && i < 6; i++) {
      ok = isfinite (logits[i]);
      if (fabs (logits[i]) > maxabs)
        maxabs = fabs (logits[i]);
    }
    ok = ok && maxabs > 0.01 && maxabs < 100;
    snprintf (name, sizeof (name),
        "modelgen: %s w8 with SSA gives logits of order one (max |l| %.3g)",
        archs[a], maxabs);
    report (name, ok, err.msg);
    ssan_ctx_free (ctx);
    ssan_model_free (m);
    free (b.p);
  }
}

/* ---- a file replaced in place while being loaded ------------------- */

typedef struct {
  const char *path;
  buf files[2];
  gint stop;
  gint rewrites; /* files written whole so far */
} rewriter;

/* Rewrites the file in place (truncate, then 64 KiB writes, as cp does),
 * alternating two models, until told to stop. */
static gpointer
rewrite_loop (gpointer data)
{
  rewriter *r = data;
  unsigned k = 0;

  while (!g_atomic_int_get (&r->stop)) {
    const buf *b = &r->files[k++ % 2];
    FILE *f = fopen (r->path, "wb");
    size_t off;

    if (f == NULL)
      abort ();
    for (off = 0; off < b->size; off += 65536)
      fwrite (b->p + off, 1, MIN ((size_t)65536, b->size - off), f);
    fclose (f);
    g_atomic_int_inc (&r->rewrites);
    /* leave room for whole loads too (the outcome is checked either way) */
    g_usleep (2000);
  }
  return NULL;
}

/* ssan_model_load on a file being replaced (cp over a model while an
 * element starts): one of the two models or an error naming the file,
 * never a crash (it was mapped: SIGBUS when truncated under the map). */
static void
test_replaced_while_loading (void)
{
  ssan_modelgen_config c;
  int64_t n_params[2];
  rewriter r = { 0 };
  GThread *thread;
  char *path = NULL, detail[700] = "";
  int i, fd, loaded = 0, refused = 0, bad = 0;

  ssan_modelgen_config_init (&c);
  c.width = 16;
  c.num_classes = 5;
  c.segments = 2;
  c.input_size = 32;
  c.seed = 3;
  {
    ssan_modelgen *g = gen (&c);
    n_params[0] = ssan_modelgen_n_params (g);
    r.files[0] = serialize (g);
  }
  small_config (&c);
  {
    ssan_modelgen *g = gen (&c);
    n_params[1] = ssan_modelgen_n_params (g);
    r.files[1] = serialize (g);
  }
  fd = g_file_open_tmp ("ssan-replaced-XXXXXX.safetensors", &path, NULL);
  if (fd < 0)
    abort ();
  close (fd);
  r.path = path;
  thread = g_thread_new ("rewrite", rewrite_loop, &r);

  /* loads while the file is rewritten 100 times, however long that takes */
  while (g_atomic_int_get (&r.rewrites) < 1)
    g_thread_yield ();
  for (i = 0; g_atomic_int_get (&r.rewrites) < 101; i++) {
    ssan_error err = { 0 };
    ssan_model *m = ssan_model_load (path, &err);

    if (m) {
      int64_t n = ssan_model_get_info (m)->n_params;
      loaded++;
      if (n != n_params[0] && n != n_params[1]) {
        bad++;
        snprintf (detail, sizeof (detail), "loaded %lld params", (long long)n);
      }
      ssan_model_free (m);
    } else {
      refused++;
      if (strncmp (err.msg, path, strlen (path)) != 0
          || (err.code != SSAN_ERR_IO && err.code != SSAN_ERR_FORMAT)) {
        bad++;
        snprintf (detail, sizeof (detail), "code %d: %s", err.code, err.msg);
      }
    }
  }
  g_atomic_int_set (&r.stop, 1);
  g_thread_join (thread);
  printf (
      "     replaced while loading: %d loaded, %d refused\n", loaded, refused);
  report ("model file replaced in place while loading", bad == 0, detail);

  unlink (path);
  g_free (path);
  free (r.files[0].p);
  free (r.files[1].p);
}

int
main (void)
{
  setvbuf (stdout, NULL, _IOLBF, 0);
  test_container ();
  test_widening ();
  test_metadata ();
  test_tensors ();
  check_info_defaults ();
  test_models ();
  test_generated_scale ();
  test_replaced_while_loading ();
  printf ("%d passed, %d failed\n", n_passed, n_failed);
  return n_failed ? 1 : 0;
}
