/* gst-ssan — softmax, smoothing, top-k, threshold.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ssanpostproc.h"

#include <math.h>
#include <stdlib.h>

struct ssan_postproc {
  int C;
  int smoothing;
  double *probs; /* [smoothing][C]: the last results' probabilities */
  int n_history, history_pos;
  double *avg; /* [C] */
  int *order;  /* [C] */
};

ssan_postproc *
ssan_postproc_new (int n_classes, int smoothing)
{
  ssan_postproc *pp;

  if (n_classes < 1 || smoothing < 1)
    return NULL;
  pp = calloc (1, sizeof (*pp));
  if (pp == NULL)
    return NULL;
  pp->C = n_classes;
  pp->smoothing = smoothing;
  pp->probs = calloc ((size_t)smoothing * (size_t)n_classes, sizeof (double));
  pp->avg = calloc ((size_t)n_classes, sizeof (double));
  pp->order = calloc ((size_t)n_classes, sizeof (int));
  if (pp->probs == NULL || pp->avg == NULL || pp->order == NULL) {
    ssan_postproc_free (pp);
    return NULL;
  }
  return pp;
}

void
ssan_postproc_free (ssan_postproc *pp)
{
  if (pp == NULL)
    return;
  free (pp->probs);
  free (pp->avg);
  free (pp->order);
  free (pp);
}

int
ssan_postproc_n_classes (const ssan_postproc *pp)
{
  return pp->C;
}

int
ssan_postproc_smoothing (const ssan_postproc *pp)
{
  return pp->smoothing;
}

void
ssan_postproc_reset (ssan_postproc *pp)
{
  pp->n_history = 0;
  pp->history_pos = 0;
}

int
ssan_postproc_run (ssan_postproc *pp, const float *logits, int top_k,
    double threshold, int *top_ids, double *top_scores, int *class_id)
{
  int C = pp->C, i, j, h;
  double max, sum, *probs;

  for (i = 0; i < C; i++) {
    if (!isfinite (logits[i]))
      return 0;
  }

  probs = pp->probs + (size_t)pp->history_pos * C;
  max = logits[0];
  for (i = 1; i < C; i++)
    max = fmax (max, logits[i]);
  sum = 0.0;
  for (i = 0; i < C; i++)
    sum += probs[i] = exp ((double)logits[i] - max);
  for (i = 0; i < C; i++)
    probs[i] /= sum;
  pp->history_pos = (pp->history_pos + 1) % pp->smoothing;
  if (pp->n_history < pp->smoothing)
    pp->n_history++;

  /* history rows in slot order, not age: the mean is the same */
  for (i = 0; i < C; i++) {
    pp->avg[i] = 0.0;
    for (h = 0; h < pp->n_history; h++)
      pp->avg[i] += pp->probs[(size_t)h * C + i];
    pp->avg[i] /= pp->n_history;
  }

  /* partial selection sort: top_k is small */
  if (top_k > C)
    top_k = C;
  if (top_k < 1)
    top_k = 1;
  for (i = 0; i < C; i++)
    pp->order[i] = i;
  for (i = 0; i < top_k; i++) {
    int best = i;
    for (j = i + 1; j < C; j++)
      if (pp->avg[pp->order[j]] > pp->avg[pp->order[best]])
        best = j;
    j = pp->order[i];
    pp->order[i] = pp->order[best];
    pp->order[best] = j;
    top_ids[i] = pp->order[i];
    top_scores[i] = pp->avg[pp->order[i]];
  }
  *class_id = top_scores[0] >= threshold ? top_ids[0] : -1;
  return top_k;
}
