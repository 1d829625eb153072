/* gst-ssan engine internals shared by the loader (ssan-st.c, ssan-meta.c)
 * and the network (ssan-net.c).  Not installed. */
#ifndef SSAN_INTERNAL_H
#define SSAN_INTERNAL_H

#include "ssan/ssan.h"

#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>

#define SSAN_ST_MAX_DIMS 8

typedef enum ssan_dtype {
  SSAN_DTYPE_F32 = 0,
  SSAN_DTYPE_F16,
  SSAN_DTYPE_BF16,
  SSAN_DTYPE_I64, /* only num_batches_tracked: never taken */
} ssan_dtype;

/* One tensor of a parsed safetensors file.  data points into the file's
 * bytes (little-endian, possibly unaligned); it is valid while the ssan_st
 * that holds it is. */
typedef struct ssan_st_tensor {
  char *name;
  ssan_dtype dtype;
  int ndim;
  int64_t shape[SSAN_ST_MAX_DIMS];
  int64_t numel;
  const uint8_t *data;
  size_t nbytes;
  int used; /* set by ssan_st_take */
} ssan_st_tensor;

/* A parsed, fully validated safetensors file (spec §3 container rules:
 * header JSON, dtypes, shapes, offsets inside the data section, no overlap,
 * full coverage).  Does not own the bytes it points into. */
typedef struct ssan_st {
  const char *fname; /* for error messages, borrowed */
  ssan_st_tensor *tensors;
  size_t n_tensors;
  char **meta_keys; /* __metadata__, string -> string */
  char **meta_values;
  size_t n_meta;
} ssan_st;

/* Parses and validates the container.  On failure returns non-zero with err
 * filled and st left empty (safe to ssan_st_clear). */
int ssan_st_parse (ssan_st *st, const uint8_t *bytes, size_t size,
    const char *fname, ssan_error *err);
void ssan_st_clear (ssan_st *st);

/* Value of a __metadata__ key, or NULL. */
const char *ssan_st_meta (const ssan_st *st, const char *key);

/* Finds tensor `name`, checks its shape is exactly shape[0..ndim), widens it
 * to float32 into dst (numel floats) and marks it used.  Errors name the
 * file and the tensor (missing, wrong shape, used twice). */
int ssan_st_take (ssan_st *st, const char *name, int ndim, const int64_t *shape,
    float *dst, ssan_error *err);

/* Fails, naming the first one, if any tensor was not taken
 * (num_batches_tracked entries excepted). */
int ssan_st_check_all_used (const ssan_st *st, ssan_error *err);

/* Spec §3 metadata -> info.  Fills every field (defaults applied), checks
 * every rule of the table that can be checked without the tensors.  Strings
 * are allocated; release with ssan_info_clear. */
int ssan_info_parse (ssan_info *info, const ssan_st *st, ssan_error *err);
void ssan_info_clear (ssan_info *info);

/* Parses JSON text of exactly len bytes with json-glib after a strict scan
 * that json-glib lacks (RFC 8259 tokens only, no NUL, valid UTF-8, bounded
 * nesting, no int64 overflow, nothing after the value, no duplicate keys).
 * Returns a new reference to the root (release with json_node_unref) or
 * NULL with a one-line reason in why. */
struct _JsonNode *ssan_json_parse (
    const char *s, size_t len, char *why, size_t why_size);

/* Fills err (if not NULL) with code and a printf-style message. */
void ssan_set_error (ssan_error *err, ssan_status code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

#endif /* SSAN_INTERNAL_H */
