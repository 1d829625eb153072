/* ssan-gemm-bench: a kernel table's convolution GEMM alone, on the 1x1
 * convolution shapes of ResNet-50 at T = 8, 224x224 (the columns of all 8
 * frames in slices as src/ops/conv.c cuts them for 2 threads), on
 * one thread (CPU time of that thread) and on two at once (wall time),
 * against the table's FMA peak.  It separates the kernel's own speed from
 * what the network around it adds (memory traffic, scheduling): the
 * network's figures are ssan-bench --profile's.
 *
 *   build/tools/ssan-gemm-bench [--kernels NAME] [--rounds N]
 */
#include "kernels/ssan-kernels.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* As ssan_conv2d_forward for 2 threads: 4 slices each, fewer while a
 * slice would have under 192 columns */
static int
slices_for (int cols)
{
  int n = 8;

  while (n > 2 && cols < n * 192)
    n--;
  return n;
}

typedef struct {
  const ssan_kernels *kern;
  int M, N, K, cols, slices, thread, threads;
  const float *a, *b, *bias;
  float *c, *panel;
} job;

static double
now (clockid_t clock)
{
  struct timespec t;

  clock_gettime (clock, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *
run (void *arg)
{
  job *j = arg;
  int s;

  for (s = j->thread; s < j->slices; s += j->threads)
    j->kern->gemm (j->M, j->N, j->K, j->a, (size_t)j->K,
        j->b + (size_t)s * j->N, (size_t)j->cols, j->c + (size_t)s * j->N,
        (size_t)j->cols, j->bias, 1, 0, j->panel);
  return NULL;
}

static int
cmp_double (const void *x, const void *y)
{
  double a = *(const double *)x, b = *(const double *)y;

  return a < b ? -1 : a > b;
}

int
main (int argc, char **argv)
{
  /* cout, cin, columns (8 frames) of the 1x1 stride-1 convolutions */
  static const int shapes[][3]
      = { { 64, 256, 25088 }, { 256, 64, 25088 }, { 64, 64, 25088 },
          { 128, 512, 6272 }, { 512, 128, 6272 }, { 256, 1024, 1568 },
          { 1024, 256, 1568 }, { 512, 2048, 392 }, { 2048, 512, 392 } };
  const char *name = NULL;
  const ssan_kernels *kern;
  char why[256];
  double peak = 0.0;
  int rounds = 9, i, s, t, r;
  float *panel[2];

  for (i = 1; i < argc; i++) {
    if (strcmp (argv[i], "--kernels") == 0 && i + 1 < argc)
      name = argv[++i];
    else if (strcmp (argv[i], "--rounds") == 0 && i + 1 < argc)
      rounds = atoi (argv[++i]);
    else {
      fprintf (stderr, "usage: %s [--kernels NAME] [--rounds N]\n", argv[0]);
      return 2;
    }
  }
  if (rounds < 1 || rounds > 1000) {
    fprintf (stderr, "ssan-gemm-bench: --rounds: 1..1000\n");
    return 2;
  }
  kern = name ? ssan_kernels_find (name, why, sizeof why)
              : ssan_kernels_default (why, sizeof why);
  if (kern == NULL) {
    fprintf (stderr, "ssan-gemm-bench: %s\n", why);
    return 1;
  }
  if (kern->gemm == NULL) {
    printf (
        "kernels %s: no GEMM kernel (OpenBLAS runs the GEMMs)\n", kern->name);
    return 0;
  }
  for (r = 0; kern->fma_peak && r < 3; r++) {
    float sink[64];
    double t0 = now (CLOCK_THREAD_CPUTIME_ID);
    double flops = kern->fma_peak ((int64_t)20 << 20, sink);
    double gfs = flops / (now (CLOCK_THREAD_CPUTIME_ID) - t0) * 1e-9;

    peak = gfs > peak ? gfs : peak;
  }
  printf ("kernels %s; FMA peak %.1f GFLOP per CPU second (one thread, best of "
          "3); "
          "median of %d rounds\n",
      kern->name, peak, rounds);
  printf ("cout  cin   cols   slice  1 thread GFLOP/CPU-s (of peak)  2 "
          "threads GFLOP/s per thread (of peak)\n");
  for (t = 0; t < 2; t++) {
    panel[t] = aligned_alloc (64, SSAN_GEMM_PANEL * sizeof (float));
    if (panel[t] == NULL)
      return 1;
  }
  for (s = 0; s < (int)(sizeof shapes / sizeof shapes[0]); s++) {
    int M = shapes[s][0], K = shapes[s][1], cols = shapes[s][2];
    size_t nb = (size_t)K * cols, nc = (size_t)M * cols;
    float *a = aligned_alloc (64, (size_t)M * K * sizeof (float));
    float *b = aligned_alloc (64, nb * sizeof (float));
    float *c = aligned_alloc (64, nc * sizeof (float));
    float *bias = malloc ((size_t)M * sizeof (float));
    double one[1000], two[1000], flops = 2.0 * M * K * (double)cols;
    size_t x;

    if (!a || !b || !c || !bias)
      return 1;
    for (x = 0; x < (size_t)M * K; x++)
      a[x] = (float)(x % 13) * 0.01f - 0.06f;
    for (x = 0; x < nb; x++)
      b[x] = (float)(x % 11) * 0.1f - 0.5f;
    for (x = 0; x < (size_t)M; x++)
      bias[x] = 0.1f;
    memset (c, 0, nc * sizeof (float));
    for (r = 0; r < rounds; r++) {
      job j[2];
      pthread_t th;
      double t0;

      for (t = 0; t < 2; t++)
        j[t] = (job){ kern, M, cols / slices_for (cols), K, cols,
          slices_for (cols), t, 1, a, b, bias, c, panel[t] };
      t0 = now (CLOCK_THREAD_CPUTIME_ID);
      run (&j[0]);
      one[r] = now (CLOCK_THREAD_CPUTIME_ID) - t0;
      j[0].threads = j[1].threads = 2;
      t0 = now (CLOCK_MONOTONIC);
      if (pthread_create (&th, NULL, run, &j[1]) != 0)
        return 1;
      run (&j[0]);
      pthread_join (th, NULL);
      two[r] = now (CLOCK_MONOTONIC) - t0;
    }
    qsort (one, (size_t)rounds, sizeof (double), cmp_double);
    qsort (two, (size_t)rounds, sizeof (double), cmp_double);
    printf ("%4d %4d %6d %6d  %6.1f (%3.0f %%)                  %6.1f (%3.0f "
            "%%)\n",
        M, K, cols, cols / slices_for (cols), flops / one[rounds / 2] * 1e-9,
        peak > 0 ? 100.0 * flops / one[rounds / 2] * 1e-9 / peak : 0.0,
        flops / two[rounds / 2] * 1e-9 / 2,
        peak > 0 ? 100.0 * flops / two[rounds / 2] * 1e-9 / 2 / peak : 0.0);
    free (a);
    free (b);
    free (c);
    free (bias);
  }
  free (panel[0]);
  free (panel[1]);
  return 0;
}
