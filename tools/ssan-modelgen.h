/* ssan-modelgen: writes spec-conformant SSAN safetensors models
 * (shared/spec/ssan-model.md §1-§3) with seeded random weights.
 *
 * Used by the loader tests (a valid model, then one mutation per rule), by
 * ssan-bench (random-weight models of any size) and for fuzz seeds.  Plain
 * C11, no GLib.
 *
 *   ssan_modelgen_config c;
 *   ssan_modelgen_config_init (&c);            // resnet18, w 64, 10 classes
 *   c.ssa_blocks = "layer1.0";
 *   ssan_modelgen *g = ssan_modelgen_new (&c, errbuf, sizeof errbuf);
 *   ssan_modelgen_set_meta (g, "format", "ssan-2");  // optional mutations
 *   ssan_modelgen_serialize (g, &bytes, &size);      // or _write_file
 *   ssan_modelgen_free (g); free (bytes);
 *
 * Weights are generated tensor by tensor when serialising (peak memory is
 * one tensor, plus the output when serialising to memory); the values of a
 * tensor depend only on the seed, its name and its shape, not on the dtype
 * or on the other tensors. */
#ifndef SSAN_MODELGEN_H
#define SSAN_MODELGEN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ssan_modelgen_dtype {
  SSAN_MODELGEN_F32 = 0,
  SSAN_MODELGEN_F16,
  SSAN_MODELGEN_BF16,
} ssan_modelgen_dtype;

typedef struct ssan_modelgen_config {
  const char *arch; /* resnet18/34/50/101 or "custom" */
  int bottleneck;   /* custom only: 0 basic, 1 bottleneck */
  int layers[4];    /* custom only: blocks per stage, >= 1 */
  int width;        /* base width w (always written) */
  int num_classes;
  int segments;              /* T */
  int input_size;            /* S */
  int resize;                /* 0: key not written (reader's default) */
  int window_frames;         /* 0: key not written */
  const char *ssa_blocks;    /* e.g. "layer1.0,layer2.0"; NULL: none */
  int ssa_reduction;         /* 0: key not written, 2 used */
  const char *labels_json;   /* written verbatim; NULL: not written */
  const char *mean, *std;    /* written verbatim; NULL: not written */
  const char *shift_blocks;  /* TSM blocks, written verbatim ("all": every
                              * block of the network); NULL: none */
  int shift_div;             /* 0: key not written */
  const char *frame_rate;    /* written verbatim; NULL: not written */
  const char *source;        /* written verbatim; NULL: not written */
  ssan_modelgen_dtype dtype; /* of every weight */
  int num_batches_tracked;   /* also emit I64 *.num_batches_tracked [] */
  uint64_t seed;
} ssan_modelgen_config;

typedef struct ssan_modelgen ssan_modelgen;

/* resnet18, width 64, 10 classes, T 8, 224, no SSA, F32, seed 1. */
void ssan_modelgen_config_init (ssan_modelgen_config *cfg);

/* Lays out every tensor of the configured network.  Returns NULL with a
 * message in err (if not NULL) on an invalid configuration. */
ssan_modelgen *ssan_modelgen_new (
    const ssan_modelgen_config *cfg, char *err, size_t err_size);
void ssan_modelgen_free (ssan_modelgen *g);

/* Mutations, for building bad files.  Return 0, or -1 if the tensor does not
 * exist / memory runs out. */
int ssan_modelgen_set_meta (ssan_modelgen *g, const char *key,
    const char *value /* NULL removes the key */);
int ssan_modelgen_remove_tensor (ssan_modelgen *g, const char *name);
/* Adds a tensor of random values (dtype of the model). */
int ssan_modelgen_add_tensor (
    ssan_modelgen *g, const char *name, int ndim, const int64_t *shape);
/* Changes a tensor's shape (its values are regenerated). */
int ssan_modelgen_set_shape (
    ssan_modelgen *g, const char *name, int ndim, const int64_t *shape);
/* Overrides element `index` (row-major) of a tensor, after generation. */
int ssan_modelgen_set_value (
    ssan_modelgen *g, const char *name, int64_t index, float value);

size_t ssan_modelgen_n_tensors (const ssan_modelgen *g);
const char *ssan_modelgen_tensor_name (const ssan_modelgen *g, size_t i);
/* Elements of all float tensors (num_batches_tracked excluded). */
int64_t ssan_modelgen_n_params (const ssan_modelgen *g);

/* The whole file in a malloc'ed buffer (release with free()). */
int ssan_modelgen_serialize (
    const ssan_modelgen *g, uint8_t **out, size_t *out_size);
/* Streams the file to path.  Returns 0 or -1 (errno set). */
int ssan_modelgen_write_file (const ssan_modelgen *g, const char *path);

/* Reads element `index` of tensor `name` as generated (after overrides, in
 * float32 before any narrowing to the file's dtype).  For tests. */
int ssan_modelgen_get_value (
    const ssan_modelgen *g, const char *name, int64_t index, float *value);

#ifdef __cplusplus
}
#endif
#endif /* SSAN_MODELGEN_H */
