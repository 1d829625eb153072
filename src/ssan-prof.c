/* gst-ssan engine: CPU time of the parts of the forward pass. */
#include "ssan-prof.h"

#include <stddef.h>
#include <time.h>

double
ssan_prof_start (const double *prof)
{
  struct timespec t;

  if (prof == NULL)
    return 0.0;
  /* CPU time of the calling thread: stays meaningful on a loaded machine */
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

void
ssan_prof_stop (double *prof, int thread, int part, double t0)
{
  if (prof != NULL)
    prof[(size_t)thread * SSAN_PART_COUNT + part]
        += ssan_prof_start (prof) - t0;
}

/* ssan_prof_stop for a convolution's part, also added to its kind */
void
ssan_prof_stop_kind (double *prof, int thread, int part, int kind, double t0)
{
  double t;

  if (prof == NULL)
    return;
  t = ssan_prof_start (prof) - t0;
  prof[(size_t)thread * SSAN_PART_COUNT + part] += t;
  prof[(size_t)thread * SSAN_PART_COUNT + SSAN_PART_KIND + kind] += t;
}
