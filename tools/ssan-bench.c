/* ssan-bench: speed of the SSAN engine against the machine's own limit.
 *
 *   ssan-bench [--config paper,tsn,demo] [--model FILE] [--threads N]
 *       [--windows K] [--profile] [--input FILE.f32] [--logits FILE.f32]
 *   ssan-bench --config NAME --write-model FILE
 *
 * Named configurations are random-weight models (tools/ssan-modelgen.h)
 * built in memory and loaded with ssan_model_load_memory:
 *   paper  resnet50, T = 8, 224x224, SSA in layer1.0,layer2.0 (the paper)
 *   tsn    the same without SSA (a plain TSN ResNet-50)
 *   tsm    TSN ResNet-50 with TSM's temporal shift in every block (shift_div
 *          8, mmaction2's tsm_r50): against tsn, the cost of the shift
 *   demo   the bundled demo model's configuration (tools/train.py ARCH):
 *          custom basic 1,1,1,1, width 16, T = 8, 48x48, SSA in
 *          layer1.0,layer2.0, 11 classes; models/ssan-demo.safetensors (from
 *          the current folder) is loaded instead when it exists
 * For each model: one warm-up window, then K timed windows (one window of
 * T frames per ssan_ctx_forward call, the streaming case).  Printed: median,
 * min and max wall ms per window, process CPU ms per window, GFLOP per
 * window (ssan_ctx_get_flops), achieved GFLOP/s, and the OpenBLAS sgemm peak
 * measured in the same run with the same thread count (2048^3, median of 5,
 * before and after the windows) with efficiency = achieved / peak, both on
 * wall time and on CPU time (the steadier figure on a shared machine).
 * --profile adds the engine's per-part CPU time, and that of the
 * convolutions (with their im2col) by kind.  Peak resident memory
 * (VmHWM) is printed at the end; it includes the in-memory model file
 * of a named configuration while it loads.  The kernel table the engine
 * runs (SSAN_KERNELS forces one) is named, and the FMA peak of each
 * instruction set this CPU has (back-to-back FMAs of that vector width on
 * the same threads) is measured beside the sgemm peak: fma-eff is the
 * engine's GFLOP per CPU second against the running table's FMA peak per
 * CPU second.
 *
 * --input takes the frames (float32 [T][3][S][S], normalised) instead of
 * seeded random ones; --logits writes the window logits of the last timed
 * window (float32 [num_classes]).  --write-model writes the named
 * configuration's model file and exits (tools/bench_vs_torch.py gives it to
 * both the engine and the PyTorch twin). */
#include "kernels/ssan-kernels.h"
#include "ssan-modelgen.h"
#include "ssan/ssan.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PEAK_N 2048
#define PEAK_REPS 5
#define DEMO_MODEL "models/ssan-demo.safetensors"

static const char usage[]
    = "usage: ssan-bench [--config NAMES] [--model FILE] [--threads N]\n"
      "                  [--windows K] [--profile] [--input FILE.f32]\n"
      "                  [--logits FILE.f32] [--kernels LIST]\n"
      "       ssan-bench --config NAME --write-model FILE\n"
      "\n"
      "  --config NAMES   comma-separated: paper, tsn, tsm, demo (default:\n"
      "                   paper, tsn, demo unless --model is given; a name\n"
      "                   may repeat: tsn,tsm,tsn,tsm alternates them)\n"
      "  --model FILE     also benchmark this model file\n"
      "  --threads N      engine and sgemm threads (default: all online "
      "cores)\n"
      "  --windows K      timed windows per model, >= 5 (default 7)\n"
      "  --profile        per-part CPU time (convolutions, im2col, attention,\n"
      "                   everything else; convolutions by kind)\n"
      "  --input FILE     frames float32 [T][3][S][S] (default: seeded "
      "random)\n"
      "  --logits FILE    write the last window's logits (float32)\n"
      "  --kernels LIST   comma-separated kernel tables (portable, avx2,\n"
      "                   avx512, avx512-emu): one context each, timed\n"
      "                   alternately window by window, with the ratios to\n"
      "                   the first (default: the process's choice)\n"
      "  --write-model F  write the (single) named configuration to F, exit\n";

static int
fail (const char *fmt, ...)
{
  va_list ap;

  fputs ("ssan-bench: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
  return 1;
}

static double
wall_now (void)
{
  struct timespec t;

  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static double
cpu_now (void)
{
  struct timespec t;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return (x > y) - (x < y);
}

static double
median (double *v, int n)
{
  qsort (v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Median of v[0..n) (left as it is), and its min and max if asked */
static double
median_of (const double *v, int n, double *lo, double *hi)
{
  double *c = malloc ((size_t)n * sizeof *c), m;

  if (c == NULL)
    return NAN;
  memcpy (c, v, (size_t)n * sizeof *c);
  m = median (c, n);
  if (lo != NULL)
    *lo = c[0];
  if (hi != NULL)
    *hi = c[n - 1];
  free (c);
  return m;
}

/* Named configurations; 0 if name is unknown. */
static int
config_for (const char *name, ssan_modelgen_config *c)
{
  ssan_modelgen_config_init (c);
  c->segments = 8;
  if (strcmp (name, "paper") == 0 || strcmp (name, "tsn") == 0
      || strcmp (name, "tsm") == 0) {
    c->arch = "resnet50";
    c->width = 64;
    c->num_classes = 174;
    c->input_size = 224;
    c->ssa_blocks = name[0] == 'p' ? "layer1.0,layer2.0" : NULL;
    c->shift_blocks = strcmp (name, "tsm") == 0 ? "all" : NULL;
    return 1;
  }
  if (strcmp (name, "demo") == 0) {
    c->arch = "custom";
    c->bottleneck = 0;
    c->layers[0] = c->layers[1] = c->layers[2] = c->layers[3] = 1;
    c->width = 16;
    c->num_classes = 11;
    c->input_size = 48;
    c->resize = 48;
    c->window_frames = 32;
    c->ssa_blocks = "layer1.0,layer2.0";
    c->ssa_reduction = 2;
    return 1;
  }
  return 0;
}

static ssan_model *
build_config (const char *name, ssan_error *err)
{
  ssan_modelgen_config c;
  ssan_modelgen *g;
  ssan_model *m;
  uint8_t *bytes;
  size_t size;
  char why[256];

  if (!config_for (name, &c)) {
    snprintf (err->msg, sizeof err->msg, "unknown configuration '%s'", name);
    return NULL;
  }
  g = ssan_modelgen_new (&c, why, sizeof why);
  if (g == NULL) {
    snprintf (err->msg, sizeof err->msg, "%s: %s", name, why);
    return NULL;
  }
  if (ssan_modelgen_serialize (g, &bytes, &size) != 0) {
    ssan_modelgen_free (g);
    snprintf (err->msg, sizeof err->msg, "%s: out of memory", name);
    return NULL;
  }
  ssan_modelgen_free (g);
  m = ssan_model_load_memory (bytes, size, name, err);
  free (bytes);
  return m;
}

/* Median (and spread) of OpenBLAS sgemm GFLOP/s, on wall and CPU time. */
typedef struct {
  double wall[2 * PEAK_REPS], cpu[2 * PEAK_REPS];
  int n;
} peak_runs;

static int peak_child (peak_runs *pr, int threads);

/* In a child process, so that the sgemm's buffers (and OpenBLAS's
 * multi-threaded workspace) do not count in this process's peak RSS. */
static int
measure_peak (peak_runs *pr, int threads)
{
  int fds[2], status;
  pid_t pid;
  peak_runs got;
  ssize_t n;

  if (pipe (fds) != 0)
    return -1;
  fflush (stdout);
  pid = fork ();
  if (pid < 0) {
    close (fds[0]);
    close (fds[1]);
    return -1;
  }
  if (pid == 0) {
    close (fds[0]);
    got.n = 0;
    if (peak_child (&got, threads) != 0
        || write (fds[1], &got, sizeof got) != (ssize_t)sizeof got)
      _exit (1);
    _exit (0);
  }
  close (fds[1]);
  n = read (fds[0], &got, sizeof got);
  close (fds[0]);
  if (waitpid (pid, &status, 0) != pid || !WIFEXITED (status)
      || WEXITSTATUS (status) != 0 || n != (ssize_t)sizeof got)
    return -1;
  for (int i = 0; i < got.n && pr->n < 2 * PEAK_REPS; i++, pr->n++) {
    pr->wall[pr->n] = got.wall[i];
    pr->cpu[pr->n] = got.cpu[i];
  }
  return 0;
}

static int
peak_child (peak_runs *pr, int threads)
{
  size_t nn = (size_t)PEAK_N * PEAK_N, i;
  float *a = malloc (nn * sizeof (float)), *b = malloc (nn * sizeof (float));
  float *c = malloc (nn * sizeof (float));
  double flop = 2.0 * PEAK_N * PEAK_N * (double)PEAK_N;
  int r;

  if (a == NULL || b == NULL || c == NULL) {
    free (a);
    free (b);
    free (c);
    return -1;
  }
  for (i = 0; i < nn; i++) {
    a[i] = (float)(i % 97) * 0.01f - 0.5f;
    b[i] = (float)(i % 89) * 0.01f - 0.4f;
  }
  openblas_set_num_threads (threads);
  for (r = -1; r < PEAK_REPS; r++) {
    double w = wall_now (), t = cpu_now ();
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, PEAK_N, PEAK_N,
        PEAK_N, 1.0f, a, PEAK_N, b, PEAK_N, 0.0f, c, PEAK_N);
    w = wall_now () - w;
    t = cpu_now () - t;
    if (r >= 0 && pr->n < 2 * PEAK_REPS) {
      pr->wall[pr->n] = flop / w * 1e-9;
      pr->cpu[pr->n] = flop / t * 1e-9;
      pr->n++;
    }
  }
  free (a);
  free (b);
  free (c);
  return 0;
}

typedef struct {
  const char *name, *kernels;
  double gflop, wall_med, wall_min, wall_max, cpu_med;
  /* per window, in the order run (for the A/B ratios of --kernels) */
  double *wt, *ct;
  ssan_profile prof;
  int profiled;
} result;

#define MAX_TABLES 4

/* Times `windows` windows of m on each of the n_tables kernel tables
 * (NULL: the process's choice), one context per table, alternating window
 * by window; fills res[0..n_tables). */
static int
run_model (const char *name, ssan_model *m, int threads, int windows,
    int profile, const char *input, const char *logits_out,
    const char *const *tables, int n_tables, result *res)
{
  const ssan_info *info = ssan_model_get_info (m);
  ssan_error err;
  ssan_ctx *ctx[MAX_TABLES] = { NULL };
  size_t nfl, i;
  float *x = NULL, *lg = NULL;
  int k, t, ret = 1;

  for (t = 0; t < n_tables; t++) {
    if (tables[t] != NULL && ssan_set_kernels (tables[t], &err) != 0) {
      fail ("%s: %s", name, err.msg);
      goto done;
    }
    ctx[t] = ssan_ctx_new (m, 0, 1, &err);
    ssan_set_kernels (NULL, NULL);
    if (ctx[t] == NULL) {
      fail ("%s: %s", name, err.msg);
      goto done;
    }
    ssan_ctx_set_threads (ctx[t], threads);
    res[t].wt = malloc ((size_t)windows * sizeof (double));
    res[t].ct = malloc ((size_t)windows * sizeof (double));
    if (res[t].wt == NULL || res[t].ct == NULL) {
      fail ("%s: out of memory", name);
      goto done;
    }
  }
  nfl = (size_t)ssan_ctx_get_segments (ctx[0]) * 3 * info->input_size
        * info->input_size;
  x = malloc (nfl * sizeof (float));
  lg = malloc ((size_t)info->num_classes * sizeof (float));
  if (x == NULL || lg == NULL) {
    fail ("%s: out of memory", name);
    goto done;
  }
  if (input != NULL) {
    FILE *f = fopen (input, "rb");
    struct stat st;

    if (f == NULL || fstat (fileno (f), &st) != 0
        || (size_t)st.st_size != nfl * sizeof (float)
        || fread (x, sizeof (float), nfl, f) != nfl) {
      fail ("%s: cannot read %zu floats ([T][3][S][S]) from %s", name, nfl,
          input);
      if (f != NULL)
        fclose (f);
      goto done;
    }
    fclose (f);
  } else {
    uint64_t s = 0x9e3779b97f4a7c15ull;

    for (i = 0; i < nfl; i++) {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      x[i] = (float)((s >> 40) * (2.0 / 16777216.0) - 1.0);
    }
  }
  for (t = 0; t < n_tables; t++) {
    if (ssan_ctx_forward (ctx[t], x, 1, lg, &err) != 0) {
      fail ("%s: %s", name, err.msg);
      goto done;
    }
    ssan_ctx_set_profiling (ctx[t], profile);
  }
  for (k = 0; k < windows; k++) {
    for (t = 0; t < n_tables; t++) {
      double w = wall_now (), c = cpu_now ();

      if (ssan_ctx_forward (ctx[t], x, 1, lg, &err) != 0) {
        fail ("%s: %s", name, err.msg);
        goto done;
      }
      res[t].wt[k] = wall_now () - w;
      res[t].ct[k] = cpu_now () - c;
    }
  }
  for (i = 0; i < (size_t)info->num_classes; i++)
    if (!isfinite (lg[i])) {
      fail ("%s: logit %zu is not finite", name, i);
      goto done;
    }
  if (logits_out != NULL) {
    FILE *f = fopen (logits_out, "wb");

    if (f == NULL
        || fwrite (lg, sizeof (float), (size_t)info->num_classes, f)
               != (size_t)info->num_classes
        || fclose (f) != 0) {
      fail ("%s: cannot write %s", name, logits_out);
      goto done;
    }
  }
  for (t = 0; t < n_tables; t++) {
    res[t].name = name;
    res[t].kernels = ssan_ctx_get_kernels (ctx[t]);
    res[t].gflop = ssan_ctx_get_flops (ctx[t]) * 1e-9;
    res[t].wall_med
        = median_of (res[t].wt, windows, &res[t].wall_min, &res[t].wall_max);
    res[t].cpu_med = median_of (res[t].ct, windows, NULL, NULL);
    res[t].profiled = profile;
    if (profile)
      ssan_ctx_get_profile (ctx[t], &res[t].prof);
  }
  ret = 0;

done:
  free (x);
  free (lg);
  for (t = 0; t < n_tables; t++)
    ssan_ctx_free (ctx[t]);
  return ret;
}

/* VmHWM from /proc/self/status, KiB; -1 if unavailable. */
static long
peak_rss_kib (void)
{
  char line[256];
  long kib = -1;
  FILE *f = fopen ("/proc/self/status", "r");

  if (f == NULL)
    return -1;
  while (fgets (line, sizeof line, f) != NULL)
    if (sscanf (line, "VmHWM: %ld kB", &kib) == 1)
      break;
  fclose (f);
  return kib;
}

/* FMA peak of one kernel table: its back-to-back FMA loop on `threads`
 * threads at once, GFLOP per wall second (best of 3) and per CPU second. */
typedef struct {
  const ssan_kernels *k;
  double flop;
  float sink[16];
} fma_arg;

static void *
fma_thread (void *data)
{
  fma_arg *a = data;

  a->flop = a->k->fma_peak ((int64_t)20 << 20, a->sink);
  return NULL;
}

static int
fma_peak (const ssan_kernels *k, int threads, double *wall_gfs, double *cpu_gfs)
{
  fma_arg args[256];
  pthread_t tid[256];
  int r, t, started;

  *wall_gfs = *cpu_gfs = 0.0;
  for (r = 0; r < 3; r++) {
    double w = wall_now (), c = cpu_now (), flop = 0.0;

    for (started = 0; started < threads; started++) {
      args[started].k = k;
      if (pthread_create (&tid[started], NULL, fma_thread, &args[started]) != 0)
        break;
    }
    for (t = 0; t < started; t++) {
      pthread_join (tid[t], NULL);
      flop += args[t].flop;
    }
    if (started < threads)
      return -1;
    w = wall_now () - w;
    c = cpu_now () - c;
    if (flop / w * 1e-9 > *wall_gfs)
      *wall_gfs = flop / w * 1e-9;
    if (flop / c * 1e-9 > *cpu_gfs)
      *cpu_gfs = flop / c * 1e-9;
  }
  return 0;
}

static void
print_machine (int threads)
{
  char line[4096], cpu[128] = "unknown", flags[512] = "";
  FILE *f = fopen ("/proc/cpuinfo", "r");
  double load[3] = { 0, 0, 0 };
  const char *kern;
  ssan_error err;

  if (f != NULL) {
    while (fgets (line, sizeof line, f) != NULL)
      if (strncmp (line, "model name", 10) == 0) {
        char *p = strchr (line, ':');

        if (p != NULL) {
          p += 1 + (p[1] == ' ');
          p[strcspn (p, "\n")] = '\0';
          snprintf (cpu, sizeof cpu, "%s", p);
        }
      } else if (strncmp (line, "flags", 5) == 0 && flags[0] == '\0') {
        char *save = NULL, *t = strchr (line, ':');

        /* the vector instruction sets */
        for (t = t ? strtok_r (t + 1, " \n", &save) : NULL; t != NULL;
             t = strtok_r (NULL, " \n", &save))
          if (strncmp (t, "avx", 3) == 0 || strcmp (t, "fma") == 0)
            snprintf (flags + strlen (flags), sizeof flags - strlen (flags),
                "%s%s", flags[0] ? " " : "", t);
      }
    fclose (f);
  }
  getloadavg (load, 3);
  printf ("machine: %s, %ld online cores, load average %.2f %.2f %.2f\n", cpu,
      sysconf (_SC_NPROCESSORS_ONLN), load[0], load[1], load[2]);
  printf ("CPU flags: %s\n", flags[0] ? flags : "(none of avx*, fma)");
  printf ("OpenBLAS: %s (core %s)\n", openblas_get_config (),
      openblas_get_corename ());
  printf ("threads: %d (engine pool; sgemm peak with OpenBLAS at %d "
          "threads)\n",
      threads, threads);
  kern = ssan_get_kernels (&err);
  printf ("kernels: %s (%s)\n", kern ? kern : err.msg,
      getenv ("SSAN_KERNELS") ? "SSAN_KERNELS" : "chosen for this CPU");
}

int
main (int argc, char **argv)
{
  const char *configs = NULL, *model_path = NULL, *input = NULL;
  const char *logits_out = NULL, *write_model = NULL;
  int threads = (int)sysconf (_SC_NPROCESSORS_ONLN), windows = 7;
  int profile = 0, n_res = 0, i, n_tables = 1;
  result res[8 * MAX_TABLES];
  const char *tables[MAX_TABLES] = { NULL };
  char *klist = NULL, *ksave = NULL;
  peak_runs pr;
  char *list = NULL, *tok, *save = NULL;
  double pw, pc, pw_lo = 1e30, pw_hi = 0, fma_cpu[2] = { 0, 0 };
  struct rusage ru;
  long hwm_kib;

  for (i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

    if (strcmp (a, "--help") == 0) {
      fputs (usage, stdout);
      return 0;
    } else if (strcmp (a, "--profile") == 0) {
      profile = 1;
      continue;
    } else if (v == NULL) {
      return fail ("%s needs a value\n%s", a, usage);
    } else if (strcmp (a, "--config") == 0) {
      configs = v;
    } else if (strcmp (a, "--model") == 0) {
      model_path = v;
    } else if (strcmp (a, "--input") == 0) {
      input = v;
    } else if (strcmp (a, "--logits") == 0) {
      logits_out = v;
    } else if (strcmp (a, "--write-model") == 0) {
      write_model = v;
    } else if (strcmp (a, "--kernels") == 0) {
      char *t;

      free (klist);
      klist = strdup (v);
      if (klist == NULL)
        return fail ("out of memory");
      n_tables = 0;
      for (t = strtok_r (klist, ",", &ksave); t != NULL;
           t = strtok_r (NULL, ",", &ksave)) {
        ssan_error err;

        if (n_tables == MAX_TABLES)
          return fail ("--kernels: at most %d tables", MAX_TABLES);
        if (ssan_set_kernels (t, &err) != 0)
          return fail ("--kernels: %s", err.msg);
        tables[n_tables++] = t;
      }
      ssan_set_kernels (NULL, NULL);
      if (n_tables == 0)
        return fail ("--kernels: no table named");
    } else if (strcmp (a, "--threads") == 0) {
      char *end;
      long n = strtol (v, &end, 10);
      if (*v == '\0' || *end != '\0' || n < 1 || n > 256)
        return fail ("--threads: expected 1..256, got '%s'", v);
      threads = (int)n;
    } else if (strcmp (a, "--windows") == 0) {
      char *end;
      long n = strtol (v, &end, 10);
      if (*v == '\0' || *end != '\0' || n < 5 || n > 100000)
        return fail ("--windows: expected 5..100000, got '%s'", v);
      windows = (int)n;
    } else {
      return fail ("unknown argument '%s'\n%s", a, usage);
    }
    i++;
  }
  if (threads < 1)
    threads = 1;

  if (write_model != NULL) {
    ssan_modelgen_config c;
    ssan_modelgen *g;
    char why[256];

    if (configs == NULL || !config_for (configs, &c))
      return fail ("--write-model needs one --config of paper, tsn, tsm, demo");
    g = ssan_modelgen_new (&c, why, sizeof why);
    if (g == NULL)
      return fail ("%s: %s", configs, why);
    if (ssan_modelgen_write_file (g, write_model) != 0) {
      ssan_modelgen_free (g);
      return fail ("cannot write %s", write_model);
    }
    ssan_modelgen_free (g);
    return 0;
  }
  if (configs == NULL && model_path == NULL)
    configs = "paper,tsn,demo";
  if ((input != NULL || logits_out != NULL)
      && (configs != NULL) + (model_path != NULL) != 1)
    return fail ("--input/--logits need exactly one model");

  print_machine (threads);
  pr.n = 0;
  if (measure_peak (&pr, threads) != 0)
    return fail ("out of memory for the sgemm peak");

  if (configs != NULL) {
    list = strdup (configs);
    if (list == NULL)
      return fail ("out of memory");
    for (tok = strtok_r (list, ",", &save); tok != NULL;
         tok = strtok_r (NULL, ",", &save)) {
      ssan_error err;
      ssan_model *m;
      const char *what = "random weights, built in memory";
      ssan_modelgen_config c;

      if (n_res + n_tables > 7 * MAX_TABLES)
        break;
      if (!config_for (tok, &c)) {
        free (list);
        return fail ("unknown configuration '%s' (paper, tsn, tsm, demo)", tok);
      }
      if (strcmp (tok, "demo") == 0 && access (DEMO_MODEL, R_OK) == 0) {
        m = ssan_model_load (DEMO_MODEL, &err);
        what = DEMO_MODEL;
      } else {
        m = build_config (tok, &err);
      }
      if (m == NULL) {
        free (list);
        return fail ("%s", err.msg);
      }
      {
        const ssan_info *in = ssan_model_get_info (m);
        printf ("model %s: %s, %s w %d layers %d,%d,%d,%d, T %d, %dx%d, SSA "
                "%d block(s), shift %d block(s), %.2f M parameters (%s)\n",
            tok, in->arch, in->block ? "bottleneck" : "basic", in->width,
            in->layers[0], in->layers[1], in->layers[2], in->layers[3],
            in->segments, in->input_size, in->input_size, in->n_ssa_blocks,
            in->n_shift_blocks, in->n_params * 1e-6, what);
      }
      if (run_model (tok, m, threads, windows, profile, input, logits_out,
              tables, n_tables, &res[n_res])
          != 0) {
        ssan_model_free (m);
        free (list);
        return 1;
      }
      ssan_model_free (m);
      n_res += n_tables;
    }
  }
  if (model_path != NULL) {
    ssan_error err;
    ssan_model *m = ssan_model_load (model_path, &err);

    if (m == NULL) {
      free (list);
      return fail ("%s", err.msg);
    }
    if (run_model (model_path, m, threads, windows, profile, input, logits_out,
            tables, n_tables, &res[n_res])
        != 0) {
      ssan_model_free (m);
      free (list);
      return 1;
    }
    ssan_model_free (m);
    n_res += n_tables;
  }
  getrusage (RUSAGE_SELF, &ru);
  hwm_kib = peak_rss_kib ();
  if (measure_peak (&pr, threads) != 0) {
    free (list);
    return fail ("out of memory for the sgemm peak");
  }

  for (i = 0; i < pr.n; i++) {
    if (pr.wall[i] < pw_lo)
      pw_lo = pr.wall[i];
    if (pr.wall[i] > pw_hi)
      pw_hi = pr.wall[i];
  }
  pw = median (pr.wall, pr.n);
  pc = median (pr.cpu, pr.n);
  printf ("sgemm peak: %dx%dx%d, %d runs before and after the windows (in "
          "a child process): "
          "median %.1f GFLOP/s (min %.1f, max %.1f); %.1f GFLOP per CPU "
          "second\n",
      PEAK_N, PEAK_N, PEAK_N, pr.n, pw, pw_lo, pw_hi, pc);
  {
    static const char *const isa[] = { "avx2", "avx512" };
    char why[200];

    for (i = 0; i < 2; i++) {
      const ssan_kernels *k = ssan_kernels_find (isa[i], why, sizeof why);
      double fw, fc;

      if (k == NULL || k->fma_peak == NULL
          || fma_peak (k, threads, &fw, &fc) != 0) {
        printf ("FMA peak %s: not measured (%s)\n", isa[i],
            k == NULL ? why : "no FMA loop");
        continue;
      }
      printf ("FMA peak %s: %.1f GFLOP/s on %d threads (best of 3), %.1f "
              "GFLOP per CPU second\n",
          isa[i], fw, threads, fc);
      fma_cpu[i] = fc;
    }
  }
  printf ("%d timed windows per model (1 window of T frames per call, after "
          "1 warm-up)\n",
      windows);
  printf ("%-8s %9s %9s %9s %9s %8s %8s %7s %7s %7s %7s %s\n", "model",
      "ms/window", "min", "max", "cpu-ms", "GFLOP", "GFLOP/s", "eff", "best",
      "cpu-eff", "fma-eff", "kernels");
  for (i = 0; i < n_res; i++) {
    result *r = &res[i];
    double gs = r->gflop / (r->wall_med);
    /* the FMA peak of the table's vector width (avx512-emu: AVX2's) */
    double fc = fma_cpu[strcmp (r->kernels, "avx512") == 0];

    printf ("%-8s %9.1f %9.1f %9.1f %9.1f %8.2f %8.1f %6.1f%% %6.1f%% "
            "%6.1f%% %6.1f%% %s\n",
        strlen (r->name) > 8 ? "(file)" : r->name, r->wall_med * 1e3,
        r->wall_min * 1e3, r->wall_max * 1e3, r->cpu_med * 1e3, r->gflop, gs,
        100 * gs / pw, 100 * r->gflop / r->wall_min / pw_hi,
        100 * r->gflop / r->cpu_med / pc,
        fc > 0 ? 100 * r->gflop / r->cpu_med / fc : 0.0, r->kernels);
  }
  for (i = 0; i < n_res && n_tables > 1; i++) {
    result *r = &res[i], *r0 = &res[i - i % n_tables];
    double *rw, *rc, lo_w, hi_w, lo_c, hi_c, mw, mc;
    int k;

    if (r == r0)
      continue;
    rw = malloc ((size_t)windows * sizeof *rw);
    rc = malloc ((size_t)windows * sizeof *rc);
    if (rw == NULL || rc == NULL) {
      free (rw);
      free (rc);
      break;
    }
    for (k = 0; k < windows; k++) {
      rw[k] = r->wt[k] / r0->wt[k];
      rc[k] = r->ct[k] / r0->ct[k];
    }
    mw = median_of (rw, windows, &lo_w, &hi_w);
    mc = median_of (rc, windows, &lo_c, &hi_c);
    printf ("A/B %s: %s / %s, window by window in this run: wall %.3f "
            "(%.3f-%.3f), CPU %.3f (%.3f-%.3f)\n",
        strlen (r->name) > 8 ? "(file)" : r->name, r->kernels, r0->kernels, mw,
        lo_w, hi_w, mc, lo_c, hi_c);
    free (rw);
    free (rc);
  }
  printf ("eff = (GFLOP / median wall) / median sgemm peak; best = (GFLOP / "
          "fastest window) / fastest sgemm; cpu-eff = (GFLOP / median process "
          "CPU s) / median sgemm GFLOP per CPU s; fma-eff = the same against "
          "the running table's FMA peak per CPU s (0: none measured); GFLOP "
          "count direct convolutions, so Winograd can exceed 100 %%\n");
  for (i = 0; i < n_res; i++) {
    result *r = &res[i];
    ssan_profile *p = &r->prof;
    double tot, w;

    if (!r->profiled || p->windows == 0)
      continue;
    tot = p->conv + p->im2col + p->attention + p->other;
    w = (double)p->windows;
    printf ("profile %s, kernels %s (CPU ms per window, summed over threads; "
            "%.1f wall ms):\n",
        r->name, r->kernels, p->wall / w * 1e3);
    printf ("  convolutions %8.1f  %5.1f%%\n", p->conv / w * 1e3,
        100 * p->conv / tot);
    printf ("  im2col       %8.1f  %5.1f%%\n", p->im2col / w * 1e3,
        100 * p->im2col / tot);
    printf ("  attention    %8.1f  %5.1f%%\n", p->attention / w * 1e3,
        100 * p->attention / tot);
    printf ("  other (pooling, shift, fc) %8.1f  %5.1f%%\n", p->other / w * 1e3,
        100 * p->other / tot);
    printf ("  convolutions + im2col by kind: stem %.1f, 1x1 %.1f, "
            "Winograd 3x3 %.1f, 3x3 stride 2 %.1f, 1x1 stride 2 %.1f, "
            "other %.1f\n",
        p->conv_stem / w * 1e3, p->conv_1x1 / w * 1e3,
        p->conv_winograd / w * 1e3, p->conv_strided / w * 1e3,
        p->conv_down / w * 1e3, p->conv_other / w * 1e3);
  }
  printf ("peak RSS: %.1f MiB (VmHWM of this process's own address space; "
          "ru_maxrss would also count a parent's before exec)\n",
      hwm_kib > 0 ? hwm_kib / 1024.0 : ru.ru_maxrss / 1024.0);
  for (i = 0; i < n_res; i++) {
    free (res[i].wt);
    free (res[i].ct);
  }
  free (list);
  free (klist);
  return 0;
}
