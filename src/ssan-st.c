/* ssan-st.c: safetensors container (spec §3), validated while parsing.
 *
 * Layout: u64 little-endian header length n, n bytes of JSON header, data
 * section.  Every rule is checked here, before any tensor is used:
 * header length against the file, strict JSON, dtypes from a whitelist,
 * shapes and their byte sizes, offsets inside the data section and the
 * tensors covering it exactly, without overlap or gap (safetensors' own
 * rule).  The file's bytes are only borrowed. */
#include "ssan-internal.h"

#include <json-glib/json-glib.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Far above any real header (resnet101 with SSA and 100000 labels stays
 * below 16 MiB) and low enough that json-glib's tree for a hostile header
 * cannot exhaust memory. */
#define SSAN_ST_MAX_HEADER (16u << 20)
/* Our header nests 3 deep; json-glib recurses without a limit. */
#define SSAN_ST_MAX_JSON_DEPTH 32
/* About 10 per tensor: resnet101 with SSA everywhere needs ~20000.  Bounds
 * json-glib's tree (about 100 bytes per value) for a hostile header. */
#define SSAN_ST_MAX_JSON_TOKENS (1u << 21)

static const char *
st_fname (const ssan_st *st)
{
  return st->fname ? st->fname : "<memory>";
}

void
ssan_set_error (ssan_error *err, ssan_status code, const char *fmt, ...)
{
  va_list ap;
  char *p;
  const char *end;

  if (!err)
    return;
  err->code = code;
  va_start (ap, fmt);
  vsnprintf (err->msg, sizeof (err->msg), fmt, ap);
  va_end (ap);
  /* Names come from the file: keep the message on one printable line, and
   * valid UTF-8 even where a name was cut short. */
  for (p = err->msg; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
  for (p = err->msg; !g_utf8_validate (p, -1, &end); p = (char *)end + 1)
    *(char *)end = '?';
}

/* json-glib alone accepts comments, single quotes, hex and octal numbers,
 * trailing data, wraps overflowing integers and recurses without limit:
 * this scan refuses all of that before json-glib builds the tree. */
static int
json_check_strict (
    const char *s, size_t len, int max_depth, char *why, size_t why_size)
{
  size_t i = 0, n_tokens = 0;
  int depth = 0, seen_value = 0;

#define FAIL(...)                                                              \
  do {                                                                         \
    int o_ = snprintf (why, why_size, "invalid JSON: ");                       \
    snprintf (why + o_, why_size - (size_t)o_, __VA_ARGS__);                   \
    return -1;                                                                 \
  } while (0)
  while (i < len) {
    unsigned char c = (unsigned char)s[i];

    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      i++;
    } else if (depth == 0 && seen_value) {
      FAIL ("unexpected data after the top-level value at byte %zu", i);
    } else if (c != ',' && c != ':' && c != '}' && c != ']'
               && ++n_tokens > SSAN_ST_MAX_JSON_TOKENS) {
      FAIL ("more than %u values and keys", SSAN_ST_MAX_JSON_TOKENS);
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth)
        FAIL ("nesting deeper than %d at byte %zu", max_depth, i);
      i++;
    } else if (c == '}' || c == ']') {
      if (depth == 0)
        FAIL ("unbalanced '%c' at byte %zu", c, i);
      if (--depth == 0)
        seen_value = 1;
      i++;
    } else if (c == ',' || c == ':') {
      i++;
    } else if (c == '"') {
      size_t start = i++;
      for (;;) {
        if (i >= len)
          FAIL ("unterminated string starting at byte %zu", start);
        c = (unsigned char)s[i];
        if (c == '"') {
          i++;
          break;
        }
        if (c < 0x20)
          FAIL ("control character in a string at byte %zu", i);
        if (c == '\\') {
          if (i + 1 >= len)
            FAIL ("unterminated string starting at byte %zu", start);
          c = (unsigned char)s[i + 1];
          if (c == 'u') {
            unsigned v = 0;
            if (i + 6 > len)
              FAIL ("bad \\u escape at byte %zu", i);
            for (int k = 2; k < 6; k++) {
              int h = g_ascii_xdigit_value (s[i + k]);
              if (h < 0)
                FAIL ("bad \\u escape at byte %zu", i);
              v = v * 16 + (unsigned)h;
            }
            if (v == 0)
              FAIL ("\\u0000 (NUL) in a string at byte %zu", i);
            i += 6;
          } else if (strchr ("\"\\/bfnrt", c) && c != '\0') {
            i += 2;
          } else {
            FAIL ("bad escape in a string at byte %zu", i);
          }
        } else {
          i++;
        }
      }
      if (depth == 0)
        seen_value = 1;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t start = i, ndig = 0;
      int is_int = 1;
      if (s[i] == '-')
        i++;
      if (i < len && s[i] == '0') {
        i++;
        ndig = 1;
        if (i < len && s[i] >= '0' && s[i] <= '9')
          FAIL ("number with a leading zero at byte %zu", start);
      } else {
        while (i < len && s[i] >= '0' && s[i] <= '9') {
          i++;
          ndig++;
        }
      }
      if (ndig == 0)
        FAIL ("malformed number at byte %zu", start);
      if (i < len && s[i] == '.') {
        size_t nf = 0;
        is_int = 0;
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
          nf++;
        if (nf == 0)
          FAIL ("malformed number at byte %zu", start);
      }
      if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t ne = 0;
        is_int = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
          i++;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
          ne++;
        if (ne == 0)
          FAIL ("malformed number at byte %zu", start);
      }
      /* json-glib wraps integers that overflow int64 silently. */
      if (is_int
          && (ndig > 19
              || (ndig == 19
                  && memcmp (s + i - 19,
                         s[start] == '-' ? "9223372036854775808"
                                         : "9223372036854775807",
                         19)
                         > 0)))
        FAIL ("integer outside int64 at byte %zu", start);
      if (depth == 0)
        seen_value = 1;
    } else if (len - i >= 4
               && (memcmp (s + i, "true", 4) == 0
                   || memcmp (s + i, "null", 4) == 0)) {
      i += 4;
      if (depth == 0)
        seen_value = 1;
    } else if (len - i >= 5 && memcmp (s + i, "false", 5) == 0) {
      i += 5;
      if (depth == 0)
        seen_value = 1;
    } else {
      FAIL ("unexpected character 0x%02x at byte %zu", c, i);
    }
  }
  if (depth != 0)
    FAIL ("unterminated object or array");
  if (!seen_value)
    FAIL ("empty document");
#undef FAIL
  return 0;
}

typedef struct {
  GHashTable *seen; /* "objptr:name" */
  char *dup;        /* first duplicated key */
} dup_finder;

static void
on_object_member (JsonParser *parser, JsonObject *object,
    const char *member_name, gpointer user_data)
{
  dup_finder *df = user_data;
  char *k;

  (void)parser;
  if (df->dup)
    return;
  k = g_strdup_printf ("%p:%s", (void *)object, member_name);
  if (!g_hash_table_add (df->seen, k))
    df->dup = g_strdup (member_name);
}

JsonNode *
ssan_json_parse (const char *s, size_t len, char *why, size_t why_size)
{
  JsonParser *parser;
  JsonNode *root = NULL;
  GError *gerr = NULL;
  dup_finder df;

  if (memchr (s, '\0', len)) {
    snprintf (why, why_size, "invalid JSON: NUL byte at byte %zu",
        (size_t)((const char *)memchr (s, '\0', len) - s));
    return NULL;
  }
  if (len > G_MAXSSIZE || !g_utf8_validate (s, (gssize)len, NULL)) {
    snprintf (why, why_size, "invalid JSON: not valid UTF-8");
    return NULL;
  }
  if (json_check_strict (s, len, SSAN_ST_MAX_JSON_DEPTH, why, why_size))
    return NULL;

  df.seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  df.dup = NULL;
  parser = json_parser_new_immutable ();
  g_signal_connect (
      parser, "object-member", G_CALLBACK (on_object_member), &df);
  if (!json_parser_load_from_data (parser, s, (gssize)len, &gerr)) {
    snprintf (why, why_size, "invalid JSON: %s", gerr->message);
    g_error_free (gerr);
  } else if (df.dup) {
    snprintf (why, why_size, "duplicate key '%.100s'", df.dup);
  } else if (!json_parser_get_root (parser)) {
    snprintf (why, why_size, "invalid JSON: empty document");
  } else {
    root = json_node_ref (json_parser_get_root (parser));
  }
  g_object_unref (parser);
  g_hash_table_unref (df.seen);
  g_free (df.dup);
  return root;
}

static int
is_num_batches_tracked (const char *name)
{
  const char *dot = strrchr (name, '.');
  return strcmp (dot ? dot + 1 : name, "num_batches_tracked") == 0;
}

typedef struct {
  const char *name;
  int supported; /* 1: widened to F32; 2: num_batches_tracked only */
  ssan_dtype dtype;
  size_t size;
} dtype_desc;

static const dtype_desc dtypes[] = {
  { "F32", 1, SSAN_DTYPE_F32, 4 },
  { "F16", 1, SSAN_DTYPE_F16, 2 },
  { "BF16", 1, SSAN_DTYPE_BF16, 2 },
  { "I64", 2, SSAN_DTYPE_I64, 8 },
  { "F64", 0, 0, 8 },
  { "I32", 0, 0, 4 },
  { "U32", 0, 0, 4 },
  { "U64", 0, 0, 8 },
  { "I16", 0, 0, 2 },
  { "U16", 0, 0, 2 },
  { "I8", 0, 0, 1 },
  { "U8", 0, 0, 1 },
  { "BOOL", 0, 0, 1 },
  { "F8_E4M3", 0, 0, 1 },
  { "F8_E5M2", 0, 0, 1 },
};

static size_t
dtype_size (ssan_dtype d)
{
  switch (d) {
    case SSAN_DTYPE_F32:
      return 4;
    case SSAN_DTYPE_F16:
    case SSAN_DTYPE_BF16:
      return 2;
    case SSAN_DTYPE_I64:
      return 8;
  }
  return 0;
}

/* A JSON integer: json-glib gives G_TYPE_INT64 only for literals without
 * fraction or exponent (the strict scan has already refused overflow). */
static int
node_int (JsonNode *n, int64_t *v)
{
  if (!n || !JSON_NODE_HOLDS_VALUE (n)
      || json_node_get_value_type (n) != G_TYPE_INT64)
    return -1;
  *v = json_node_get_int (n);
  return 0;
}

static void
format_shape (char *buf, size_t size, int ndim, const int64_t *shape)
{
  size_t o = 0;
  o += (size_t)snprintf (buf + o, size - o, "[");
  for (int i = 0; i < ndim && o < size; i++)
    o += (size_t)snprintf (
        buf + o, size - o, "%s%lld", i ? ", " : "", (long long)shape[i]);
  if (o < size)
    snprintf (buf + o, size - o, "]");
}

typedef struct {
  uint64_t begin, end;
} st_range;

static int
parse_tensor (ssan_st *st, ssan_st_tensor *t, const char *name, JsonNode *node,
    const uint8_t *data, uint64_t data_size, st_range *r, ssan_error *err)
{
  const char *fn = st_fname (st);
  JsonObject *o;
  JsonNode *dn, *sn, *on;
  JsonArray *sa, *oa;
  const char *dts;
  const dtype_desc *dd = NULL;
  int64_t b, e;
  uint64_t nbytes;
  size_t esize;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    goto not_object;
  o = json_node_get_object (node);
  dn = json_object_get_member (o, "dtype");
  sn = json_object_get_member (o, "shape");
  on = json_object_get_member (o, "data_offsets");
  if (!dn || !sn || !on || json_object_get_size (o) != 3)
    goto bad_keys;

  if (!JSON_NODE_HOLDS_VALUE (dn)
      || json_node_get_value_type (dn) != G_TYPE_STRING)
    goto dtype_not_string;
  dts = json_node_get_string (dn);
  for (size_t i = 0; i < G_N_ELEMENTS (dtypes); i++)
    if (strcmp (dts, dtypes[i].name) == 0)
      dd = &dtypes[i];
  if (!dd)
    goto unknown_dtype;
  if (dd->supported == 0
      || (dd->supported == 2 && !is_num_batches_tracked (name)))
    goto unsupported_dtype;
  t->dtype = dd->dtype;
  esize = dtype_size (t->dtype);

  if (!JSON_NODE_HOLDS_ARRAY (sn))
    goto shape_not_array;
  sa = json_node_get_array (sn);
  if (json_array_get_length (sa) > SSAN_ST_MAX_DIMS)
    goto too_many_dims;
  t->ndim = (int)json_array_get_length (sa);
  t->numel = 1;
  for (int i = 0; i < t->ndim; i++) {
    int64_t d;
    if (node_int (json_array_get_element (sa, (guint)i), &d) || d < 0)
      goto bad_dim;
    t->shape[i] = d;
    if (d != 0 && t->numel > INT64_MAX / (int64_t)esize / d)
      goto shape_overflow;
    t->numel *= d;
  }

  if (!JSON_NODE_HOLDS_ARRAY (on))
    goto bad_offsets;
  oa = json_node_get_array (on);
  if (json_array_get_length (oa) != 2
      || node_int (json_array_get_element (oa, 0), &b)
      || node_int (json_array_get_element (oa, 1), &e) || b < 0 || e < 0)
    goto bad_offsets;
  if (b > e)
    goto reversed_offsets;
  if ((uint64_t)e > data_size)
    goto offsets_outside;
  nbytes = (uint64_t)t->numel * esize;
  if (nbytes != (uint64_t)(e - b))
    goto size_mismatch;

  t->data = data + b;
  t->nbytes = (size_t)nbytes;
  r->begin = (uint64_t)b;
  r->end = (uint64_t)e;
  return 0;

  /* ERRORS */
not_object:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: tensor '%.128s': entry is not a JSON object", fn, name);
  return -1;
bad_keys:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: tensor '%.128s': entry must have exactly the keys dtype, shape "
      "and data_offsets",
      fn, name);
  return -1;
dtype_not_string:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: tensor '%.128s': dtype is not a string", fn, name);
  return -1;
unknown_dtype:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: tensor '%.128s': unknown dtype '%.32s'", fn, name, dts);
  return -1;
unsupported_dtype:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: tensor '%.128s': unsupported dtype '%s' (supported: F32, F16, "
      "BF16; I64 only for num_batches_tracked)",
      fn, name, dd->name);
  return -1;
shape_not_array:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: tensor '%.128s': shape is not an array", fn, name);
  return -1;
too_many_dims:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: tensor '%.128s': shape has %u dimensions (at most %d)", fn, name,
      json_array_get_length (sa), SSAN_ST_MAX_DIMS);
  return -1;
bad_dim:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: tensor '%.128s': shape entries must be non-negative integers", fn,
      name);
  return -1;
shape_overflow:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: tensor '%.128s': shape's element count overflows", fn, name);
  return -1;
bad_offsets:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: tensor '%.128s': data_offsets must be two non-negative integers", fn,
      name);
  return -1;
reversed_offsets:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: tensor '%.128s': data_offsets [%lld, %lld] end before they begin",
      fn, name, (long long)b, (long long)e);
  return -1;
offsets_outside:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: tensor '%.128s': data_offsets [%lld, %lld] outside the data "
      "section (%llu bytes)",
      fn, name, (long long)b, (long long)e, (unsigned long long)data_size);
  return -1;
size_mismatch : {
  char sh[160];
  format_shape (sh, sizeof (sh), t->ndim, t->shape);
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: tensor '%.128s': %s %s needs %llu bytes but data_offsets span "
      "%lld",
      fn, name, dd->name, sh, (unsigned long long)nbytes, (long long)(e - b));
}
  return -1;
}

static int
cmp_tensor_name (const void *a, const void *b)
{
  return strcmp (
      ((const ssan_st_tensor *)a)->name, ((const ssan_st_tensor *)b)->name);
}

typedef struct {
  st_range r;
  const char *name;
} range_ref;

static int
cmp_range (const void *a, const void *b)
{
  const st_range *x = &((const range_ref *)a)->r;
  const st_range *y = &((const range_ref *)b)->r;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return 0;
}

static int
parse_metadata (ssan_st *st, JsonNode *node, ssan_error *err)
{
  const char *fn = st_fname (st);
  JsonObject *o;
  GList *members, *l;
  size_t n, i = 0;
  int ret = -1;

  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    ssan_set_error (
        err, SSAN_ERR_FORMAT, "%s: __metadata__ is not a JSON object", fn);
    return -1;
  }
  o = json_node_get_object (node);
  n = json_object_get_size (o);
  st->meta_keys = calloc (n ? n : 1, sizeof (char *));
  st->meta_values = calloc (n ? n : 1, sizeof (char *));
  if (!st->meta_keys || !st->meta_values) {
    ssan_set_error (err, SSAN_ERR_NOMEM, "%s: out of memory", fn);
    return -1;
  }
  members = json_object_get_members (o);
  for (l = members; l; l = l->next, i++) {
    const char *k = l->data;
    JsonNode *v = json_object_get_member (o, k);
    if (!JSON_NODE_HOLDS_VALUE (v)
        || json_node_get_value_type (v) != G_TYPE_STRING) {
      ssan_set_error (err, SSAN_ERR_FORMAT,
          "%s: metadata key '%.128s': value is not a string", fn, k);
      goto out;
    }
    st->meta_keys[i] = strdup (k);
    st->meta_values[i] = strdup (json_node_get_string (v));
    st->n_meta = i + 1;
    if (!st->meta_keys[i] || !st->meta_values[i]) {
      ssan_set_error (err, SSAN_ERR_NOMEM, "%s: out of memory", fn);
      goto out;
    }
  }
  ret = 0;
out:
  g_list_free (members);
  return ret;
}

int
ssan_st_parse (ssan_st *st, const uint8_t *bytes, size_t size,
    const char *fname, ssan_error *err)
{
  const char *fn;
  uint64_t hlen = 0, data_size;
  const uint8_t *data;
  JsonNode *root = NULL;
  JsonObject *top;
  GList *members = NULL, *l;
  range_ref *ranges = NULL;
  size_t n, i;
  char why[256];

  memset (st, 0, sizeof (*st));
  st->fname = fname;
  fn = st_fname (st);

  if (!bytes && size)
    goto too_short;
  if (size < 8)
    goto too_short;
  for (i = 0; i < 8; i++)
    hlen |= (uint64_t)bytes[i] << (8 * i);
  if (hlen > SSAN_ST_MAX_HEADER)
    goto header_too_big;
  if (hlen > size - 8)
    goto header_past_end;
  data = bytes + 8 + hlen;
  data_size = size - 8 - hlen;

  root = ssan_json_parse (
      (const char *)bytes + 8, (size_t)hlen, why, sizeof (why));
  if (!root)
    goto bad_json;
  if (!JSON_NODE_HOLDS_OBJECT (root))
    goto not_object;
  top = json_node_get_object (root);

  n = json_object_get_size (top);
  st->tensors = calloc (n ? n : 1, sizeof (ssan_st_tensor));
  ranges = calloc (n ? n : 1, sizeof (range_ref));
  if (!st->tensors || !ranges)
    goto nomem;

  members = json_object_get_members (top);
  for (l = members; l; l = l->next) {
    const char *name = l->data;
    JsonNode *node = json_object_get_member (top, name);
    ssan_st_tensor *t;

    if (strcmp (name, "__metadata__") == 0) {
      if (parse_metadata (st, node, err))
        goto fail;
      continue;
    }
    if (name[0] == '\0')
      goto empty_name;
    t = &st->tensors[st->n_tensors];
    t->name = strdup (name);
    if (!t->name)
      goto nomem;
    ranges[st->n_tensors].name = t->name;
    st->n_tensors++;
    if (parse_tensor (st, t, name, node, data, data_size,
            &ranges[st->n_tensors - 1].r, err))
      goto fail;
  }

  qsort (ranges, st->n_tensors, sizeof (range_ref), cmp_range);
  {
    uint64_t pos = 0;
    for (i = 0; i < st->n_tensors; i++) {
      if (ranges[i].r.begin < pos)
        goto overlap;
      if (ranges[i].r.begin > pos)
        goto gap;
      pos = ranges[i].r.end;
    }
    if (pos != data_size)
      goto not_covered;
  }
  qsort (st->tensors, st->n_tensors, sizeof (ssan_st_tensor), cmp_tensor_name);

  g_list_free (members);
  free (ranges);
  json_node_unref (root);
  return 0;

  /* ERRORS */
too_short:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: %zu bytes, too short for the 8-byte header length", fn, size);
  goto fail;
header_too_big:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: header length %llu exceeds the %u-byte limit", fn,
      (unsigned long long)hlen, SSAN_ST_MAX_HEADER);
  goto fail;
header_past_end:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: header length %llu runs past the end of the file (%zu bytes)", fn,
      (unsigned long long)hlen, size);
  goto fail;
bad_json:
  ssan_set_error (err, SSAN_ERR_FORMAT, "%s: header: %s", fn, why);
  goto fail;
not_object:
  ssan_set_error (err, SSAN_ERR_FORMAT, "%s: header is not a JSON object", fn);
  goto fail;
empty_name:
  ssan_set_error (err, SSAN_ERR_FORMAT, "%s: tensor with an empty name", fn);
  goto fail;
overlap:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: tensor '%.128s': data [%llu, %llu) overlaps tensor '%.128s'", fn,
      ranges[i].name, (unsigned long long)ranges[i].r.begin,
      (unsigned long long)ranges[i].r.end, ranges[i - 1].name);
  goto fail;
gap:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: tensor '%.128s': data begins at %llu, leaving bytes [%llu, %llu) "
      "of the data section unused",
      fn, ranges[i].name, (unsigned long long)ranges[i].r.begin,
      (unsigned long long)(i ? ranges[i - 1].r.end : 0),
      (unsigned long long)ranges[i].r.begin);
  goto fail;
not_covered:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: data section has %llu bytes but its tensors end at %llu%s%.128s%s",
      fn, (unsigned long long)data_size,
      (unsigned long long)(st->n_tensors ? ranges[st->n_tensors - 1].r.end : 0),
      st->n_tensors ? " (tensor '" : "",
      st->n_tensors ? ranges[st->n_tensors - 1].name : "",
      st->n_tensors ? "')" : "");
  goto fail;
nomem:
  ssan_set_error (err, SSAN_ERR_NOMEM, "%s: out of memory", fn);
  goto fail;
fail:
  g_list_free (members);
  free (ranges);
  if (root)
    json_node_unref (root);
  ssan_st_clear (st);
  st->fname = fname;
  return -1;
}

void
ssan_st_clear (ssan_st *st)
{
  size_t i;

  for (i = 0; i < st->n_tensors; i++)
    free (st->tensors[i].name);
  free (st->tensors);
  for (i = 0; i < st->n_meta; i++) {
    free (st->meta_keys[i]);
    free (st->meta_values[i]);
  }
  free (st->meta_keys);
  free (st->meta_values);
  memset (st, 0, sizeof (*st));
}

const char *
ssan_st_meta (const ssan_st *st, const char *key)
{
  for (size_t i = 0; i < st->n_meta; i++)
    if (strcmp (st->meta_keys[i], key) == 0)
      return st->meta_values[i];
  return NULL;
}

static float
half_to_float (uint16_t h)
{
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  float f;

  if (exp == 0) {
    /* zero or subnormal: man * 2^-24, exact in float */
    f = ldexpf ((float)man, -24);
    return sign ? -f : f;
  }
  if (exp == 31)
    bits = sign | 0x7f800000u | (man << 13);
  else
    bits = sign | ((exp + 112) << 23) | (man << 13);
  memcpy (&f, &bits, 4);
  return f;
}

static void
widen (const ssan_st_tensor *t, float *dst)
{
  const uint8_t *p = t->data;
  int64_t i;

  switch (t->dtype) {
    case SSAN_DTYPE_F32:
      for (i = 0; i < t->numel; i++, p += 4) {
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16
                     | (uint32_t)p[3] << 24;
        memcpy (&dst[i], &u, 4);
      }
      break;
    case SSAN_DTYPE_F16:
      for (i = 0; i < t->numel; i++, p += 2)
        dst[i] = half_to_float ((uint16_t)(p[0] | p[1] << 8));
      break;
    case SSAN_DTYPE_BF16:
      for (i = 0; i < t->numel; i++, p += 2) {
        uint32_t u = ((uint32_t)p[0] | (uint32_t)p[1] << 8) << 16;
        memcpy (&dst[i], &u, 4);
      }
      break;
    case SSAN_DTYPE_I64:
      break;
  }
}

static ssan_st_tensor *
find_tensor (ssan_st *st, const char *name)
{
  ssan_st_tensor key;

  if (st->n_tensors == 0)
    return NULL;
  key.name = (char *)name;
  return bsearch (&key, st->tensors, st->n_tensors, sizeof (ssan_st_tensor),
      cmp_tensor_name);
}

int
ssan_st_take (ssan_st *st, const char *name, int ndim, const int64_t *shape,
    float *dst, ssan_error *err)
{
  const char *fn = st_fname (st);
  ssan_st_tensor *t = find_tensor (st, name);
  char want[160], got[160];
  int64_t i;

  if (!t)
    goto missing;
  if (t->used)
    goto used_twice;
  if (t->dtype == SSAN_DTYPE_I64)
    goto not_float;
  if (t->ndim != ndim)
    goto bad_shape;
  for (i = 0; i < ndim; i++)
    if (t->shape[i] != shape[i])
      goto bad_shape;

  widen (t, dst);
  for (i = 0; i < t->numel; i++)
    if (!isfinite (dst[i]))
      goto nonfinite;
  t->used = 1;
  return 0;

  /* ERRORS */
missing:
  ssan_set_error (
      err, SSAN_ERR_FORMAT, "%s: tensor '%.128s': missing", fn, name);
  return -1;
used_twice:
  ssan_set_error (
      err, SSAN_ERR_FORMAT, "%s: tensor '%.128s': used twice", fn, name);
  return -1;
not_float:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: tensor '%.128s': dtype I64 where a float tensor is expected", fn,
      name);
  return -1;
bad_shape:
  format_shape (want, sizeof (want), ndim, shape);
  format_shape (got, sizeof (got), t->ndim, t->shape);
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: tensor '%.128s': expected shape %s, got %s", fn, name, want, got);
  return -1;
nonfinite:
  ssan_set_error (err, SSAN_ERR_FORMAT,
      "%s: tensor '%.128s': element %lld is %s", fn, name, (long long)i,
      isnan (dst[i]) ? "NaN" : "infinite");
  return -1;
}

int
ssan_st_check_all_used (const ssan_st *st, ssan_error *err)
{
  for (size_t i = 0; i < st->n_tensors; i++) {
    const ssan_st_tensor *t = &st->tensors[i];
    if (!t->used && !is_num_batches_tracked (t->name)) {
      ssan_set_error (err, SSAN_ERR_FORMAT,
          "%s: tensor '%.128s': unused (not part of the network the "
          "metadata describes)",
          st_fname (st), t->name);
      return -1;
    }
  }
  return 0;
}
