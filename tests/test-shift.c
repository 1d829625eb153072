/* TSM's temporal shift (src/ssan-shift.c) against a direct reading of spec
 * §1: every value of the shifted tensor, bit for bit, and x restored bit for
 * bit afterwards, for single and several windows, T = 1, folds of 0, 1 and
 * half the channels, one thread and a pool. */
#include "ssan-shift.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_passed, n_failed;

static void
report (const char *name, int ok, const char *detail)
{
  if (ok)
    n_passed++;
  else
    n_failed++;
  printf ("%s %s%s%s\n", ok ? "ok  " : "FAIL", name, ok ? "" : " -- ",
      ok ? "" : detail);
}

/* x CNHW [C][nb*T][hw] */
static float
reference (
    const float *x, int C, int fold, int nb, int T, int hw, int c, int f, int p)
{
  int t = f % T;
  size_t ld = (size_t)nb * T * hw;

  (void)C;
  if (c < fold)
    return t == T - 1 ? 0.0f : x[c * ld + (size_t)(f + 1) * hw + p];
  if (c < 2 * fold)
    return t == 0 ? 0.0f : x[c * ld + (size_t)(f - 1) * hw + p];
  return x[c * ld + (size_t)f * hw + p];
}

static void
check (int C, int fold, int nb, int T, int hw, ssan_pool *pool)
{
  size_t n = (size_t)C * nb * T * hw;
  float *x = malloc (n * sizeof (float)), *orig = malloc (n * sizeof (float));
  float *keep = malloc (
      (ssan_shift_keep_size (fold, nb, (size_t)hw) + 1) * sizeof (float));
  ssan_work work = { .pool = pool };
  char name[160], detail[160] = "";
  int ok = 1, restored;

  for (size_t i = 0; i < n; i++)
    orig[i] = x[i] = (float)((i * 2654435761u) % 1000) / 7.0f - 60.0f;
  ssan_shift_forward (x, fold, nb, T, (size_t)hw, keep, &work);
  for (int c = 0; c < C && ok; c++)
    for (int f = 0; f < nb * T && ok; f++)
      for (int p = 0; p < hw && ok; p++) {
        float want = reference (orig, C, fold, nb, T, hw, c, f, p);
        float got = x[((size_t)c * nb * T + f) * hw + p];
        if (memcmp (&want, &got, sizeof (float)) != 0) {
          ok = 0;
          snprintf (detail, sizeof detail,
              "channel %d frame %d pixel %d: %g, expected %g", c, f, p, got,
              want);
        }
      }
  ssan_shift_restore (x, fold, nb, T, (size_t)hw, keep, &work);
  restored = memcmp (x, orig, n * sizeof (float)) == 0;
  snprintf (name, sizeof name, "C %d fold %d windows %d T %d hw %d threads %d",
      C, fold, nb, T, hw, ssan_pool_threads (pool));
  report (name, ok, detail);
  snprintf (name + strlen (name), sizeof name - strlen (name), ": restored");
  report (name, restored, "x differs after ssan_shift_restore");
  free (x);
  free (orig);
  free (keep);
}

int
main (void)
{
  ssan_pool *pool = ssan_pool_new (2);
  ssan_pool *pools[2] = { NULL, pool };

  for (int i = 0; i < 2; i++) {
    check (16, 2, 1, 8, 9, pools[i]);
    check (16, 2, 3, 4, 5, pools[i]);
    check (8, 1, 2, 3, 1, pools[i]);
    check (8, 4, 2, 5, 7, pools[i]);  /* shift_div 2: every channel moves */
    check (6, 0, 2, 3, 4, pools[i]);  /* C < shift_div: nothing moves */
    check (16, 2, 3, 1, 6, pools[i]); /* T = 1: shifted channels all zero */
    check (12, 3, 1, 2, 49, pools[i]);
  }
  ssan_pool_free (pool);
  printf ("%d passed, %d failed\n", n_passed, n_failed);
  return n_failed ? 1 : 0;
}
