/* gst-ssan — SSAN inference engine, public API.
 *
 * Plain C11, no GLib, no GStreamer.  The network, the weight file, frame
 * sampling and preprocessing are defined by the project's model spec
 * (shared/spec/ssan-model.md); this header is the manual for the engine.
 *
 * Life cycle:
 *   ssan_model *m = ssan_model_load ("model.safetensors", &err);   // immutable
 *   ssan_ctx *c = ssan_ctx_new (m, T, B, &err);   // per caller, owns scratch
 *   ssan_ctx_forward (c, frames, B, logits, &err); // any number of times
 *   ssan_ctx_free (c); ssan_model_free (m);
 *
 * A loaded model is never modified after ssan_model_load returns and may be
 * shared by any number of threads, each with its own ssan_ctx.  A context
 * allocates all its scratch memory in ssan_ctx_new; ssan_ctx_forward
 * allocates nothing.
 *
 * Errors are values: every function that can fail fills an ssan_error
 * (which may be NULL) with a message naming the file and the tensor or key,
 * and returns NULL or a non-zero status.  Nothing here exits or aborts on
 * bad input.
 */
#ifndef SSAN_SSAN_H
#define SSAN_SSAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ssan_status {
  SSAN_OK = 0,
  SSAN_ERR_IO,     /* file cannot be opened or read, or changed meanwhile */
  SSAN_ERR_FORMAT, /* file content violates the spec */
  SSAN_ERR_NOMEM,  /* an allocation failed or a size overflowed */
  SSAN_ERR_ARG,    /* a caller passed an invalid argument */
} ssan_status;

typedef struct ssan_error {
  ssan_status code;
  char msg[512]; /* NUL-terminated, one line, no trailing newline */
} ssan_error;

typedef enum ssan_block_kind {
  SSAN_BLOCK_BASIC = 0,
  SSAN_BLOCK_BOTTLENECK = 1,
} ssan_block_kind;

/* Model metadata, spec §3.  Owned by the model; valid until ssan_model_free. */
typedef struct ssan_info {
  const char *arch;              /* "resnet18", "resnet34", "resnet50",
                                  * "resnet101" or "custom" */
  ssan_block_kind block;         /* resolved from arch for the named ResNets */
  int layers[4];                 /* blocks per stage, each >= 1 */
  int width;                     /* stem/base width w; stage i has w*2^(i-1) */
  int num_classes;               /* rows of fc */
  int segments;                  /* T the model was trained with, >= 1 */
  int input_size;                /* S: square crop side, pixels */
  int resize;                    /* shorter side before the centre crop, >= S */
  float mean[3];                 /* per RGB channel, on pixel/255 */
  float std[3];                  /* per RGB channel, > 0 */
  int ssa_reduction;             /* C / C' in every SSA module */
  int n_ssa_blocks;              /* number of entries in ssa_blocks */
  const char *const *ssa_blocks; /* block names, e.g. "layer1.0" */
  const char *const *labels;     /* num_classes class names */
  int window_frames; /* source frames one training clip spanned, >= T */
  int64_t n_params;  /* parameters in the file (BN buffers included,
                      * num_batches_tracked excluded) */
  /* frames per second of the training clips, frame_rate_num /
   * frame_rate_den (both > 0, as written in the file: "30" is 30/1,
   * "30000/1001" 30000/1001); 0/0 when the file does not say */
  int frame_rate_num;
  int frame_rate_den;
  int n_shift_blocks;              /* number of entries in shift_blocks */
  const char *const *shift_blocks; /* blocks whose residual branch is
                                    * temporally shifted (TSM, spec §1) */
  int shift_div;      /* >= 2: floor(C / shift_div) channels shift each way */
  const char *source; /* where the weights came from (free text), or NULL */
} ssan_info;

typedef struct ssan_model ssan_model;
typedef struct ssan_ctx ssan_ctx;

/* Loads and validates a safetensors model file (read whole into a
 * temporary buffer while loading; a file that changes meanwhile is an
 * SSAN_ERR_IO error).  Returns NULL and fills err on any failure. */
ssan_model *ssan_model_load (const char *path, ssan_error *err);

/* Same, from bytes in memory (copied as needed; the caller keeps ownership).
 * name is used in error messages in place of a file name. */
ssan_model *ssan_model_load_memory (
    const void *data, size_t size, const char *name, ssan_error *err);

void ssan_model_free (ssan_model *model);

const ssan_info *ssan_model_get_info (const ssan_model *model);

/* Creates a context evaluating windows of `segments` frames (T >= 1; 0 means
 * the model's T), up to `max_batch` windows per call (>= 1).  All scratch
 * memory is allocated here. */
ssan_ctx *ssan_ctx_new (
    const ssan_model *model, int segments, int max_batch, ssan_error *err);

void ssan_ctx_free (ssan_ctx *ctx);

int ssan_ctx_get_segments (const ssan_ctx *ctx);

/* Kernel tables.  The engine's kernels come in tables, one per instruction
 * set: "portable" (plain C; OpenBLAS for the GEMMs), "avx2" (x86 AVX2+FMA),
 * "avx512" (x86 AVX-512 F/DQ/BW/VL), and "avx512-emu" (the avx512 kernels'
 * code built for AVX2+FMA: slower, for tests).  One is chosen once per
 * process: the environment variable SSAN_KERNELS if set (one of the names),
 * else the best this CPU and OS support (CPUID and XGETBV).  A context
 * keeps the table it was created with.
 *
 * ssan_get_kernels: the name of the table new contexts get, or NULL with
 * err filled when SSAN_KERNELS names one that this build or CPU cannot run
 * (then ssan_ctx_new fails with the same message).
 * ssan_set_kernels: forces table `name` for the contexts created from now
 * on (NULL: back to the automatic choice); fails with SSAN_ERR_ARG and a
 * message naming what the CPU lacks, leaving the choice as it was.  Not
 * thread-safe against concurrent ssan_ctx_new; meant for tests and
 * benchmarks.
 * ssan_ctx_get_kernels: the table a context runs. */
const char *ssan_get_kernels (ssan_error *err);
int ssan_set_kernels (const char *name, ssan_error *err);
const char *ssan_ctx_get_kernels (const ssan_ctx *ctx);

/* Number of threads this context's forward calls compute with: the caller
 * plus n_threads - 1 workers owned by the context (0 = all online cores, the
 * default).  Every GEMM runs single-threaded inside these threads, so
 * ssan_ctx_forward sets OpenBLAS to one thread (openblas_set_num_threads,
 * process-wide).  Several contexts running at once should share the cores
 * (e.g. 1 thread each).  Best effort: if the threads or their scratch memory
 * cannot be made, the context keeps its previous count.  Not to be called
 * while a forward call on the same context runs.  Policy details: top of
 * src/ssan-net.c. */
void ssan_ctx_set_threads (ssan_ctx *ctx, int n_threads);

/* Floating-point operations of one window (T frames at S x S) in this
 * context's network: the multiply-adds (counted as 2) of every convolution,
 * attention product and fc; pooling and elementwise work are not counted.
 * Convolutions count as direct convolutions, also those that run as
 * Winograd with fewer multiplies. */
double ssan_ctx_get_flops (const ssan_ctx *ctx);

/* Optional timing of the parts of the forward pass, for benchmarks.
 * Enabling (or changing the thread count) resets the counters.  Part times
 * are CPU seconds summed over the context's threads; wall is the time spent
 * in ssan_ctx_forward. */
typedef struct ssan_profile {
  double conv;      /* convolution GEMMs and epilogues, CPU seconds */
  double im2col;    /* im2col gathers, Winograd input transforms */
  double attention; /* SSA attention steps (not its 1x1 convolutions) */
  double other;     /* pooling, temporal shift, fc, consensus, CPU s */
  double wall;      /* seconds spent in ssan_ctx_forward */
  int64_t windows;  /* windows evaluated while profiling */
  /* conv + im2col by kind of convolution, CPU seconds */
  double conv_stem;     /* kernels of 5 and more (the 7x7 stride-2 stem) */
  double conv_1x1;      /* 1x1 stride 1 (also SSA's) */
  double conv_winograd; /* 3x3 stride 1 as Winograd */
  double conv_strided;  /* 3x3 stride 2 (im2col + GEMM) */
  double conv_down;     /* 1x1 stride 2 (downsample) */
  double conv_other;    /* the rest (3x3 stride 1 on 1-pixel maps) */
} ssan_profile;

void ssan_ctx_set_profiling (ssan_ctx *ctx, int enable);
void ssan_ctx_get_profile (const ssan_ctx *ctx, ssan_profile *profile);

/* Evaluates `batch` windows (1 <= batch <= max_batch).
 *   frames: float32 [batch * T][3][S][S], already normalised (spec §5),
 *           frame t of window b at index b * T + t;
 *   logits: float32 [batch][num_classes], window logits (TSN mean over T).
 * Returns 0, or a non-zero ssan_status with err filled. */
int ssan_ctx_forward (ssan_ctx *ctx, const float *frames, int batch,
    float *logits, ssan_error *err);

/* Spec §4: index (0-based, oldest first, in [0, L)) of the frame taken from
 * segment i of a window of L frames cut into T segments. */
static inline int
ssan_sample_index (int L, int T, int i)
{
  return (int)(((int64_t)L * (2 * i + 1)) / (2 * (int64_t)T));
}

#ifdef __cplusplus
}
#endif
#endif /* SSAN_SSAN_H */
