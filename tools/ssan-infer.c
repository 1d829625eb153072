/* ssan-infer: run an SSAN model (spec shared/spec/ssan-model.md) on raw
 * frames, or print its metadata.
 *
 *   ssan-infer --model model.safetensors --info
 *   ssan-infer --model model.safetensors --input frames.f32 [--segments T]
 *       [--threads N]
 *
 * frames.f32 holds little-endian float32 frames (B*T, 3, S, S), already
 * normalised (spec §5); one line of num_classes window logits is printed per
 * window.  Any failure: exit status 1 and one line on stderr.
 */
#include "ssan/ssan.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Windows per forward call: up to MAX_BATCH (small models run faster in
 * batches) while a call holds at most BATCH_PIXELS input pixels per channel
 * (one resnet50 window of 8 frames at 224x224), so memory stays bounded for
 * inputs of any length and model size. */
#define MAX_BATCH 4
#define BATCH_PIXELS (8 * 224 * 224)

static const char usage[]
    = "usage: ssan-infer --model FILE --info\n"
      "       ssan-infer --model FILE --input FILE.f32 [--segments T] "
      "[--threads N]\n"
      "\n"
      "  --model FILE     SSAN model (safetensors, format ssan-1)\n"
      "  --info           print the model's metadata as 'key: value' lines,\n"
      "                   and the kernel table the engine runs here\n"
      "                   ('kernels: avx2'; SSAN_KERNELS forces one)\n"
      "  --input FILE     raw little-endian float32 frames (B*T, 3, S, S),\n"
      "                   normalised; prints B lines of window logits\n"
      "  --segments T     frames per window (default: the model's segments)\n"
      "  --threads N      threads (default: all online cores)\n"
      "  --help           this text\n";

static int
fail (const char *fmt, ...)
{
  va_list ap;

  fputs ("ssan-infer: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  return 1;
}

static int
parse_int (const char *s, int min, int *out)
{
  char *end;
  long v;

  errno = 0;
  v = strtol (s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > INT_MAX)
    return -1;
  *out = (int)v;
  return 0;
}

/* Shortest decimal that reads back as the same float. */
static void
print_float (float v)
{
  char buf[32];
  int p;

  for (p = 1; p < 9; p++) {
    snprintf (buf, sizeof buf, "%.*g", p, v);
    if (strtof (buf, NULL) == v)
      break;
  }
  snprintf (buf, sizeof buf, "%.*g", p, v);
  fputs (buf, stdout);
}

static void
print_json_string (const char *s)
{
  const unsigned char *p;

  putchar ('"');
  for (p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      printf ("\\%c", *p);
    else if (*p < 0x20)
      printf ("\\u%04x", *p);
    else
      putchar (*p);
  }
  putchar ('"');
}

static void
print_info (const ssan_info *info)
{
  int i;

  printf ("arch: %s\n", info->arch);
  printf ("block: %s\n",
      info->block == SSAN_BLOCK_BOTTLENECK ? "bottleneck" : "basic");
  printf ("layers: %d,%d,%d,%d\n", info->layers[0], info->layers[1],
      info->layers[2], info->layers[3]);
  printf ("width: %d\n", info->width);
  printf ("num_classes: %d\n", info->num_classes);
  printf ("segments: %d\n", info->segments);
  printf ("input_size: %d\n", info->input_size);
  printf ("resize: %d\n", info->resize);
  printf ("mean: ");
  for (i = 0; i < 3; i++) {
    print_float (info->mean[i]);
    putchar (i < 2 ? ',' : '\n');
  }
  printf ("std: ");
  for (i = 0; i < 3; i++) {
    print_float (info->std[i]);
    putchar (i < 2 ? ',' : '\n');
  }
  printf ("ssa_blocks: ");
  for (i = 0; i < info->n_ssa_blocks; i++)
    printf ("%s%s", i ? "," : "", info->ssa_blocks[i]);
  putchar ('\n');
  printf ("ssa_reduction: %d\n", info->ssa_reduction);
  printf ("labels: [");
  for (i = 0; i < info->num_classes; i++) {
    if (i)
      printf (", ");
    print_json_string (info->labels[i]);
  }
  printf ("]\n");
  printf ("window_frames: %d\n", info->window_frames);
  if (info->frame_rate_den == 0)
    printf ("frame_rate: unknown\n");
  else if (info->frame_rate_den == 1)
    printf ("frame_rate: %d\n", info->frame_rate_num);
  else
    printf ("frame_rate: %d/%d\n", info->frame_rate_num, info->frame_rate_den);
  printf ("shift_blocks: ");
  for (i = 0; i < info->n_shift_blocks; i++)
    printf ("%s%s", i ? "," : "", info->shift_blocks[i]);
  putchar ('\n');
  printf ("shift_div: %d\n", info->shift_div);
  printf ("source: ");
  if (info->source)
    print_json_string (info->source);
  putchar ('\n');
  printf ("params: %lld\n", (long long)info->n_params);
}

static int
host_is_little_endian (void)
{
  const uint16_t one = 1;
  return *(const uint8_t *)&one == 1;
}

static int
run (const ssan_model *model, const char *input, int segments, int threads)
{
  const ssan_info *info = ssan_model_get_info (model);
  size_t frame_floats = (size_t)3 * info->input_size * info->input_size;
  size_t window_floats, window_bytes;
  uint64_t n_windows, done = 0;
  ssan_ctx *ctx = NULL;
  ssan_error err;
  float *frames = NULL, *logits = NULL;
  struct stat sb;
  FILE *fp;
  int status = 1, max_batch;

  if (segments == 0)
    segments = info->segments;
  window_floats = frame_floats * (size_t)segments;
  window_bytes = window_floats * sizeof (float);

  fp = fopen (input, "rb");
  if (fp == NULL)
    return fail ("%s: cannot open: %s", input, strerror (errno));
  if (fstat (fileno (fp), &sb) != 0 || !S_ISREG (sb.st_mode)) {
    fclose (fp);
    return fail ("%s: not a regular file", input);
  }
  if (sb.st_size == 0 || (uint64_t)sb.st_size % window_bytes != 0) {
    fclose (fp);
    return fail ("%s: size %lld bytes is not a positive multiple of one "
                 "window (%d frames of 3x%dx%d float32 = %zu bytes)",
        input, (long long)sb.st_size, segments, info->input_size,
        info->input_size, window_bytes);
  }
  n_windows = (uint64_t)sb.st_size / window_bytes;

  max_batch = (int)(BATCH_PIXELS / (window_floats / 3));
  max_batch
      = max_batch < 1 ? 1 : (max_batch > MAX_BATCH ? MAX_BATCH : max_batch);
  if ((uint64_t)max_batch > n_windows)
    max_batch = (int)n_windows;
  ctx = ssan_ctx_new (model, segments, max_batch, &err);
  if (ctx == NULL) {
    fclose (fp);
    return fail ("%s", err.msg);
  }
  if (threads > 0)
    ssan_ctx_set_threads (ctx, threads);
  frames = malloc (window_bytes * max_batch);
  logits = malloc ((size_t)max_batch * info->num_classes * sizeof (float));
  if (frames == NULL || logits == NULL) {
    fail ("%s: out of memory", input);
    goto out;
  }

  while (done < n_windows) {
    int batch = n_windows - done < (uint64_t)max_batch ? (int)(n_windows - done)
                                                       : max_batch;
    size_t n = window_floats * batch, i;
    int b, k;

    if (fread (frames, sizeof (float), n, fp) != n) {
      fail ("%s: read error at window %llu", input, (unsigned long long)done);
      goto out;
    }
    if (!host_is_little_endian ()) {
      for (i = 0; i < n; i++) {
        uint32_t u;
        memcpy (&u, &frames[i], 4);
        u = __builtin_bswap32 (u);
        memcpy (&frames[i], &u, 4);
      }
    }
    if (ssan_ctx_forward (ctx, frames, batch, logits, &err) != 0) {
      fail ("%s", err.msg);
      goto out;
    }
    for (b = 0; b < batch; b++) {
      for (k = 0; k < info->num_classes; k++)
        printf (k ? " %.9g" : "%.9g", logits[b * info->num_classes + k]);
      putchar ('\n');
    }
    done += batch;
  }
  if (fflush (stdout) != 0 || ferror (stdout)) {
    fail ("write error on standard output");
    goto out;
  }
  status = 0;

out:
  free (frames);
  free (logits);
  ssan_ctx_free (ctx);
  fclose (fp);
  return status;
}

int
main (int argc, char **argv)
{
  const char *model_path = NULL, *input = NULL;
  int info = 0, segments = 0, threads = 0, i, status;
  ssan_model *model;
  ssan_error err;

  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;

    if (strcmp (a, "--help") == 0 || strcmp (a, "-h") == 0) {
      fputs (usage, stdout);
      return 0;
    } else if (strcmp (a, "--info") == 0) {
      info = 1;
      continue;
    }
    if (strcmp (a, "--model") != 0 && strcmp (a, "--input") != 0
        && strcmp (a, "--segments") != 0 && strcmp (a, "--threads") != 0)
      return fail ("unknown option '%s' (see --help)", a);
    if (val == NULL)
      return fail ("option %s needs a value", a);
    i++;
    if (strcmp (a, "--model") == 0) {
      model_path = val;
    } else if (strcmp (a, "--input") == 0) {
      input = val;
    } else if (strcmp (a, "--segments") == 0) {
      if (parse_int (val, 1, &segments) != 0)
        return fail ("--segments: '%s' is not an integer >= 1", val);
    } else if (parse_int (val, 1, &threads) != 0) {
      return fail ("--threads: '%s' is not an integer >= 1", val);
    }
  }
  if (model_path == NULL)
    return fail ("no --model given (see --help)");
  if (info == (input != NULL))
    return fail ("give exactly one of --info and --input (see --help)");

  model = ssan_model_load (model_path, &err);
  if (model == NULL)
    return fail ("%s", err.msg);
  if (info) {
    const char *kern = ssan_get_kernels (&err);

    if (kern == NULL) {
      ssan_model_free (model);
      return fail ("%s", err.msg);
    }
    print_info (ssan_model_get_info (model));
    printf ("kernels: %s\n", kern);
    status = fflush (stdout) != 0 ? fail ("write error on standard output") : 0;
  } else {
    status = run (model, input, segments, threads);
  }
  ssan_model_free (model);
  return status;
}
