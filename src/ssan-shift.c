/* gst-ssan engine: TSM's temporal shift (spec §1), in place; see
 * ssan-shift.h. */
#include "ssan-shift.h"

#include <string.h>

typedef struct shift_args {
  float *x;
  float *keep;
  double *prof;
  int fold, nb, T, restore;
  size_t hw;
} shift_args;

size_t
ssan_shift_keep_size (int fold, int nb, size_t hw)
{
  return (size_t)2 * fold * nb * hw;
}

/* Channel c (< 2*fold) of every window: its planes are contiguous,
 * x[c][b*T + t][hw] at (c*nb*T + b*T + t) * hw. */
static void
shift_channel (void *arg, int c, int thread)
{
  const shift_args *a = arg;
  size_t hw = a->hw, win = (size_t)a->T * hw, tail = win - hw;
  int back = c < a->fold; /* takes frame t+1: moves towards frame 0 */
  double t0 = ssan_prof_start (a->prof);
  int b;

  for (b = 0; b < a->nb; b++) {
    float *p = a->x + ((size_t)c * a->nb + b) * win;
    float *k = a->keep + ((size_t)c * a->nb + b) * hw;
    /* the frame pushed out of the window and the one zero-filled */
    float *out = back ? p : p + tail, *in = back ? p + tail : p;

    if (!a->restore) {
      memcpy (k, out, hw * sizeof (float));
      if (back)
        memmove (p, p + hw, tail * sizeof (float));
      else
        memmove (p + hw, p, tail * sizeof (float));
      memset (in, 0, hw * sizeof (float));
    } else {
      if (back)
        memmove (p + hw, p, tail * sizeof (float));
      else
        memmove (p, p + hw, tail * sizeof (float));
      memcpy (out, k, hw * sizeof (float));
    }
  }
  ssan_prof_stop (a->prof, thread, SSAN_PART_OTHER, t0);
}

static void
shift_run (float *x, int fold, int nb, int T, size_t hw, float *keep,
    int restore, const ssan_work *work)
{
  shift_args a = { x, keep, work->prof, fold, nb, T, restore, hw };

  ssan_pool_run (NULL, 2 * fold, shift_channel, &a); /* see the header */
}

void
ssan_shift_forward (float *x, int fold, int nb, int T, size_t hw, float *keep,
    const ssan_work *work)
{
  shift_run (x, fold, nb, T, hw, keep, 0, work);
}

void
ssan_shift_restore (float *x, int fold, int nb, int T, size_t hw,
    const float *keep, const ssan_work *work)
{
  shift_run (x, fold, nb, T, hw, (float *)keep, 1, work);
}
