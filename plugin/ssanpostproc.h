/* gst-ssan — from window logits to a result: softmax, smoothing over the
 * last K results, top-k, threshold.
 *
 * Plain C11, no GLib, no GStreamer.  One ssan_postproc per stream (it holds
 * the smoothing history); nothing is allocated after ssan_postproc_new.
 *
 *   ssan_postproc *pp = ssan_postproc_new (n_classes, K);
 *   n = ssan_postproc_run (pp, logits, top_k, threshold, ids, scores, &cls);
 *   ssan_postproc_reset (pp);   // a flush: the history starts again
 *
 * Arithmetic (in double): p = softmax (logits) after subtracting the
 * largest logit; the smoothed score of class c is the mean of p[c] over
 * the last min (K, results so far) results; the top k classes by smoothed
 * score, best first (equal scores in the order of the swapping selection
 * sort in ssanpostproc.c, as the element always had); the
 * result's class is the best one when its score is at least the threshold,
 * else -1 ("no action").
 */
#ifndef SSAN_POSTPROC_H
#define SSAN_POSTPROC_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ssan_postproc ssan_postproc;

/* n_classes >= 1, smoothing K >= 1.  NULL when out of memory or on a bad
 * argument. */
ssan_postproc *ssan_postproc_new (int n_classes, int smoothing);
void ssan_postproc_free (ssan_postproc *pp);

int ssan_postproc_n_classes (const ssan_postproc *pp);
int ssan_postproc_smoothing (const ssan_postproc *pp);

/* Forgets the smoothing history. */
void ssan_postproc_reset (ssan_postproc *pp);

/* Turns one window's logits (n_classes floats) into a result: fills
 * top_ids and top_scores (room for min (top_k, n_classes) each, top_k >= 1)
 * and *class_id, and returns how many it filled.  Returns 0 and leaves the
 * history untouched when a logit is not finite (weights from elsewhere can
 * overflow: no result rather than NaNs). */
int ssan_postproc_run (ssan_postproc *pp, const float *logits, int top_k,
    double threshold, int *top_ids, double *top_scores, int *class_id);

#ifdef __cplusplus
}
#endif
#endif /* SSAN_POSTPROC_H */
