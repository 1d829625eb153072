/* Tests of the post-processing unit (plugin/ssanpostproc.h), no GStreamer:
 * values worked by hand, smoothing, threshold, top-k, non-finite logits,
 * and bit-for-bit agreement with the arithmetic ssanaction's evaluate had
 * inline before it was split out (reference below). */
#include "ssanpostproc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit-check.h"

/* log (3) as a float is off by 1e-8 */
#define NEAR(a, b) (fabs ((a) - (b)) < 1e-7)

static void
test_hand (void)
{
  ssan_postproc *pp = ssan_postproc_new (3, 2);
  float a[3] = { 0.0f, (float)log (3.0), -INFINITY + 0.0f };
  float l1[3] = { 0.0f, (float)log (3.0), 0.0f };
  float l2[3] = { 0.0f, 0.0f, 0.0f };
  int ids[3], cls, n;
  double sc[3];

  CHECK (ssan_postproc_new (0, 1) == NULL && ssan_postproc_new (3, 0) == NULL,
      "bad arguments refused");
  n = ssan_postproc_run (pp, a, 3, 0.0, ids, sc, &cls);
  CHECK (n == 0, "a non-finite logit gives no result");

  /* softmax (0, ln 3, 0) = (0.2, 0.6, 0.2) */
  n = ssan_postproc_run (pp, l1, 2, 0.0, ids, sc, &cls);
  CHECK (n == 2 && cls == 1 && ids[0] == 1 && NEAR (sc[0], 0.6)
             && NEAR (sc[1], 0.2) && ids[1] == 0,
      "softmax: n %d class %d ids %d %d scores %g %g", n, cls, ids[0], ids[1],
      sc[0], sc[1]);
  /* smoothing over 2: mean of (0.2, 0.6, 0.2) and (1/3, 1/3, 1/3) */
  n = ssan_postproc_run (pp, l2, 5, 0.5, ids, sc, &cls);
  CHECK (
      n == 3 && ids[0] == 1 && NEAR (sc[0], (0.6 + 1.0 / 3) / 2) && cls == -1,
      "smoothing, top-k clamped to 3, threshold 0.5 not met: n %d class %d "
      "score %g",
      n, cls, sc[0]);
  /* K = 2: the first result leaves the history */
  n = ssan_postproc_run (pp, l2, 1, 1.0 / 3 - 1e-9, ids, sc, &cls);
  CHECK (n == 1 && NEAR (sc[0], 1.0 / 3) && cls == ids[0],
      "history of 2: score %g class %d", sc[0], cls);
  ssan_postproc_reset (pp);
  n = ssan_postproc_run (pp, l1, 1, 0.0, ids, sc, &cls);
  CHECK (n == 1 && NEAR (sc[0], 0.6) && cls == 1,
      "after a reset only the new result counts: %g", sc[0]);
  ssan_postproc_reset (pp);
  n = ssan_postproc_run (pp, l2, 1, 1.0 / 3, ids, sc, &cls);
  CHECK (n == 1 && sc[0] == 1.0 / 3 && cls == 0,
      "threshold met at equality: %.17g class %d", sc[0], cls);
  ssan_postproc_free (pp);

  pp = ssan_postproc_new (2, 1);
  {
    float big[2] = { 1000.0f, 999.0f };
    n = ssan_postproc_run (pp, big, 2, 0.0, ids, sc, &cls);
    CHECK (n == 2 && NEAR (sc[0], 1.0 / (1.0 + exp (-1.0))) && cls == 0,
        "large logits do not overflow: %g", sc[0]);
  }
  ssan_postproc_free (pp);
}

/* The arithmetic of gstssanaction.c's evaluate before the split, verbatim
 * but for names: the oracle for bit-for-bit equality. */
typedef struct ref_pp {
  int C, smoothing, n_history, history_pos;
  double *probs, *avg;
  int *order;
} ref_pp;

static int
ref_run (ref_pp *r, const float *logits, int top_k, double threshold, int reset,
    int *top_ids, double *top_scores, int *class_id)
{
  int C = r->C, i, j, h;
  double max, sum, *probs;

  for (i = 0; i < C; i++)
    if (!isfinite (logits[i]))
      return 0;
  if (reset) {
    r->n_history = 0;
    r->history_pos = 0;
  }
  probs = r->probs + (size_t)r->history_pos * C;
  max = logits[0];
  for (i = 1; i < C; i++)
    max = max > logits[i] ? max : logits[i];
  sum = 0.0;
  for (i = 0; i < C; i++)
    sum += probs[i] = exp ((double)logits[i] - max);
  for (i = 0; i < C; i++)
    probs[i] /= sum;
  r->history_pos = (r->history_pos + 1) % r->smoothing;
  r->n_history
      = r->n_history + 1 < r->smoothing ? r->n_history + 1 : r->smoothing;
  for (i = 0; i < C; i++) {
    r->avg[i] = 0.0;
    for (h = 0; h < r->n_history; h++)
      r->avg[i] += r->probs[(size_t)h * C + i];
    r->avg[i] /= r->n_history;
  }
  top_k = top_k < C ? top_k : C;
  for (i = 0; i < C; i++)
    r->order[i] = i;
  for (i = 0; i < top_k; i++) {
    int best = i;
    for (j = i + 1; j < C; j++)
      if (r->avg[r->order[j]] > r->avg[r->order[best]])
        best = j;
    j = r->order[i];
    r->order[i] = r->order[best];
    r->order[best] = j;
    top_ids[i] = r->order[i];
    top_scores[i] = r->avg[r->order[i]];
  }
  *class_id = top_scores[0] >= threshold ? top_ids[0] : -1;
  return top_k;
}

static void
test_reference (int C, int K, int top_k, double threshold, unsigned seed)
{
  ref_pp r = { C, K, 0, 0, calloc ((size_t)C * K, sizeof (double)),
    calloc ((size_t)C, sizeof (double)), calloc ((size_t)C, sizeof (int)) };
  ssan_postproc *pp = ssan_postproc_new (C, K);
  float *logits = malloc (sizeof (float) * (size_t)C);
  int *ids_a = malloc (sizeof (int) * (size_t)C);
  int *ids_b = malloc (sizeof (int) * (size_t)C);
  double *sc_a = malloc (sizeof (double) * (size_t)C);
  double *sc_b = malloc (sizeof (double) * (size_t)C);
  int w, i, diff = 0, cls_a = -2, cls_b = -2;

  srand (seed);
  for (w = 0; w < 300; w++) {
    int reset = rand () % 50 == 0, na, nb;
    for (i = 0; i < C; i++)
      logits[i] = (float)(rand () % 2001 - 1000) / 100.0f;
    if (rand () % 7 == 0) /* exact ties */
      logits[rand () % C] = logits[0];
    if (reset)
      ssan_postproc_reset (pp);
    na = ssan_postproc_run (pp, logits, top_k, threshold, ids_a, sc_a, &cls_a);
    nb = ref_run (&r, logits, top_k, threshold, reset, ids_b, sc_b, &cls_b);
    diff += na != nb || cls_a != cls_b;
    for (i = 0; i < na && i < nb; i++)
      diff += ids_a[i] != ids_b[i]
              || memcmp (&sc_a[i], &sc_b[i], sizeof (double)) != 0;
  }
  CHECK (diff == 0,
      "C %d K %d top-k %d threshold %g: %d differences from the element's "
      "former arithmetic",
      C, K, top_k, threshold, diff);
  free (r.probs);
  free (r.avg);
  free (r.order);
  free (logits);
  free (ids_a);
  free (ids_b);
  free (sc_a);
  free (sc_b);
  ssan_postproc_free (pp);
}

int
main (void)
{
  test_hand ();
  test_reference (11, 1, 5, 0.0, 1);
  test_reference (11, 4, 5, 0.3, 2);
  test_reference (1, 3, 5, 0.0, 3);
  test_reference (174, 8, 10, 0.2, 4);
  test_reference (400, 1024, 1000, 0.0, 5);

  printf ("%d passed, %d failed\n", n_passed, n_failed);
  return n_failed ? 1 : 0;
}
