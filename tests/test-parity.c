/* Parity of the C engine with the PyTorch twin (tools/ssan_torch.py).
 *
 * Usage: test-parity DIR
 *
 * DIR/cases.txt lists "name T B num_classes" per line; for each case the
 * engine evaluates DIR/name.input.f32 with DIR/name.safetensors and must
 * reproduce DIR/name.logits.f32 (written by tools/gen_golden.py) within the
 * spec's tolerance: 1e-3 absolute, or 1e-4 relative for logits above 10.
 * Each case also runs a second time (scratch reuse must not change the
 * result) and, for B > 1, with the last window alone in a batch of one.
 * Every case runs on every kernel table this CPU can run (ssan_set_kernels);
 * the tables run and skipped, and why, are printed.
 */
#include "ssan/ssan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ABS_TOL 1e-3
#define REL_TOL 1e-4
#define REL_FROM 10.0

static float *
read_f32 (const char *path, size_t expect)
{
  FILE *f = fopen (path, "rb");
  float *buf;
  long size;

  if (!f) {
    fprintf (stderr, "%s: cannot open\n", path);
    return NULL;
  }
  if (fseek (f, 0, SEEK_END) != 0 || (size = ftell (f)) < 0
      || fseek (f, 0, SEEK_SET) != 0) {
    fprintf (stderr, "%s: cannot seek\n", path);
    fclose (f);
    return NULL;
  }
  if ((size_t)size != expect * sizeof (float)) {
    fprintf (stderr, "%s: %ld bytes, expected %zu\n", path, size,
        expect * sizeof (float));
    fclose (f);
    return NULL;
  }
  buf = malloc (expect * sizeof (float));
  if (!buf || fread (buf, sizeof (float), expect, f) != expect) {
    fprintf (stderr, "%s: cannot read\n", path);
    free (buf);
    buf = NULL;
  }
  fclose (f);
  return buf;
}

/* Largest violation ratio (diff / allowed); <= 1 passes.  *max_abs gets
 * the largest absolute difference. */
static double
compare (const float *got, const float *want, size_t n, double *max_abs)
{
  double worst = 0.0;

  *max_abs = 0.0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs ((double)got[i] - (double)want[i]);
    double allowed = ABS_TOL;

    if (isnan (got[i]))
      d = INFINITY;
    if (fabs (want[i]) > REL_FROM && REL_TOL * fabs (want[i]) > allowed)
      allowed = REL_TOL * fabs (want[i]);
    if (d > *max_abs)
      *max_abs = d;
    if (d / allowed > worst)
      worst = d / allowed;
  }
  return worst;
}

static int
run_case (const char *dir, const char *name, int T, int B, int classes)
{
  char path[4096];
  ssan_error err = { 0 };
  ssan_model *model = NULL;
  ssan_ctx *ctx = NULL;
  const ssan_info *info;
  float *input = NULL, *want = NULL, *got = NULL, *again = NULL;
  size_t frame, n_out;
  double max_abs, max_abs2, max_abs1 = 0.0;
  int ok = 0;

  snprintf (path, sizeof path, "%s/%s.safetensors", dir, name);
  model = ssan_model_load (path, &err);
  if (!model) {
    printf ("FAIL %s: load: %s\n", name, err.msg);
    goto done;
  }
  info = ssan_model_get_info (model);
  if (info->num_classes != classes) {
    printf ("FAIL %s: num_classes %d, manifest says %d\n", name,
        info->num_classes, classes);
    goto done;
  }
  ctx = ssan_ctx_new (model, T, B, &err);
  if (!ctx) {
    printf ("FAIL %s: ctx: %s\n", name, err.msg);
    goto done;
  }
  frame = (size_t)3 * info->input_size * info->input_size;
  n_out = (size_t)B * classes;
  snprintf (path, sizeof path, "%s/%s.input.f32", dir, name);
  input = read_f32 (path, (size_t)B * T * frame);
  snprintf (path, sizeof path, "%s/%s.logits.f32", dir, name);
  want = read_f32 (path, n_out);
  got = malloc (n_out * sizeof (float));
  again = malloc (n_out * sizeof (float));
  if (!input || !want || !got || !again) {
    printf ("FAIL %s: cannot read golden data\n", name);
    goto done;
  }

  if (ssan_ctx_forward (ctx, input, B, got, &err) != 0) {
    printf ("FAIL %s: forward: %s\n", name, err.msg);
    goto done;
  }
  if (compare (got, want, n_out, &max_abs) > 1.0) {
    printf ("FAIL %s: T=%d B=%d max abs diff %.3g\n", name, T, B, max_abs);
    for (int b = 0; b < B; b++)
      for (int c = 0; c < classes; c++)
        printf ("  [%d][%d] engine %.7g twin %.7g\n", b, c,
            got[b * classes + c], want[b * classes + c]);
    goto done;
  }

  if (ssan_ctx_forward (ctx, input, B, again, &err) != 0
      || compare (again, want, n_out, &max_abs2) > 1.0) {
    printf ("FAIL %s: second forward differs or failed\n", name);
    goto done;
  }

  if (B > 1) {
    const float *last = input + (size_t)(B - 1) * T * frame;

    if (ssan_ctx_forward (ctx, last, 1, again, &err) != 0
        || compare (again, want + (size_t)(B - 1) * classes, classes, &max_abs1)
               > 1.0) {
      printf ("FAIL %s: last window alone (batch 1 of %d) differs: %s\n", name,
          B, err.msg);
      goto done;
    }
  }

  printf ("ok   %-28s T=%d B=%d S=%d max abs diff %.3g (batch-1 %.3g)\n", name,
      T, B, info->input_size, max_abs, max_abs1);
  ok = 1;

done:
  free (input);
  free (want);
  free (got);
  free (again);
  ssan_ctx_free (ctx);
  ssan_model_free (model);
  return ok;
}

int
main (int argc, char **argv)
{
  static const char *const tables[]
      = { "portable", "avx2", "avx512", "avx512-emu" };
  char path[4096], line[1024];
  int passed = 0, failed = 0, ran = 0;
  size_t t;

  if (argc != 2) {
    fprintf (stderr, "usage: %s GOLDEN_DIR\n", argv[0]);
    return 2;
  }
  snprintf (path, sizeof path, "%s/cases.txt", argv[1]);
  for (t = 0; t < sizeof tables / sizeof tables[0]; t++) {
    FILE *manifest;
    ssan_error err;
    int before = failed;

    if (ssan_set_kernels (tables[t], &err) != 0) {
      printf ("kernels %s: skipped: %s\n", tables[t], err.msg);
      continue;
    }
    manifest = fopen (path, "r");
    if (!manifest) {
      fprintf (stderr, "%s: cannot open\n", path);
      return 2;
    }
    while (fgets (line, sizeof line, manifest)) {
      char name[256];
      int T, B, classes;

      if (line[0] == '#' || line[0] == '\n')
        continue;
      if (sscanf (line, "%255s %d %d %d", name, &T, &B, &classes) != 4 || T < 1
          || B < 1 || classes < 1) {
        fprintf (stderr, "%s: bad line: %s", path, line);
        fclose (manifest);
        return 2;
      }
      if (run_case (argv[1], name, T, B, classes))
        passed++;
      else
        failed++;
    }
    fclose (manifest);
    ran++;
    printf ("kernels %s: ran, %d failed\n", tables[t], failed - before);
  }
  printf ("%d passed, %d failed (%d kernel tables)\n", passed, failed, ran);
  return (failed == 0 && passed > 0) ? 0 : 1;
}
