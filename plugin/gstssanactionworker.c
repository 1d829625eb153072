/* ssanaction: evaluation and publication of windows.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A window's job (gstssanaction-private.h) goes through the scheduler
 * (evaluate: in the streaming thread in sync mode, in the worker thread in
 * async mode) and its result out (publish: post-processing, bus message,
 * JSON line, the latest result the element attaches).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstssanaction-private.h"

#include <string.h>

#define GST_CAT_DEFAULT gst_ssan_action_debug

/* With lock held. */
void
gst_ssan_action_clear_latest (GstSsanAction *self)
{
  g_clear_pointer (&self->latest, gst_ssan_action_result_unref);
  g_clear_pointer (&self->latest_params, gst_structure_free);
}

void
gst_ssan_action_wait_idle (GstSsanAction *self)
{
  g_mutex_lock (&self->lock);
  while (self->busy)
    g_cond_wait (&self->cond, &self->lock);
  g_mutex_unlock (&self->lock);
}

/* Fills a scheduler client's input, [T][3][S][S], from the converted
 * frames (in ring) of the window just completed, oldest first in time: in
 * reverse playback frames arrive latest first, so the sampled frames go in
 * the other way round. */
void
gst_ssan_action_fill_tensor (GstSsanAction *self, ssan_window *window,
    const guint8 *ring, GstSsanSchedulerClient *client, gboolean reverse)
{
  gsize plane = (gsize)self->S * self->S;
  gsize slot_size = GST_VIDEO_INFO_SIZE (&self->rgb_info);
  gint rstride = GST_VIDEO_INFO_PLANE_STRIDE (&self->rgb_info, 0);
  const gint *slots = ssan_window_slots (window);
  float *tensor = gst_ssan_scheduler_client_get_input (client);
  gint t, x, y;

  for (t = 0; t < self->T; t++) {
    const guint8 *src = ring + slots[t] * slot_size;
    float *r = tensor + (reverse ? self->T - 1 - t : t) * 3 * plane;
    float *g = r + plane, *b = g + plane;

    g_assert (slots[t] >= 0);
    for (y = 0; y < self->S; y++) {
      const guint8 *p = src + y * rstride;
      for (x = 0; x < self->S; x++, p += 3) {
        *r++ = self->lut[0][p[0]];
        *g++ = self->lut[1][p[1]];
        *b++ = self->lut[2][p[2]];
      }
    }
  }
}

static void
gst_ssan_action_write_json (GstSsanAction *self, const GstSsanActionResult *r,
    const GstSsanActionObjectInfo *obj, GstClockTime st_start,
    GstClockTime st_end)
{
  gsize len;
  gchar *line
      = gst_ssan_action_result_to_json_line (r, obj, st_start, st_end, &len);
  gint error;

  g_mutex_lock (&self->results_lock);
  if (self->results_fd >= 0
      && !gst_ssan_action_write_all (self->results_fd, line, len, &error)
      && !self->warned_write) {
    /* once per file: a full disk would otherwise warn per window */
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("Could not write to results file \"%s\".", self->results_path),
        ("%s", g_strerror (error)));
    self->warned_write = TRUE;
  }
  g_mutex_unlock (&self->results_lock);
  g_free (line);
}

/* Turns the logits of a finished window (out, from job->client) into a
 * result and publishes it: bus message, JSON line, and as the latest
 * result of the element or of job->obj.  FALSE when the engine failed
 * (posted as an error). */
gboolean
gst_ssan_action_publish (GstSsanAction *self, const GstSsanActionJob *job,
    const GstSsanSchedulerOutcome *out)
{
  GstSsanActionObject *obj = job->obj;
  GstSsanActionResult *result;
  GstStructure *params;
  GstMessage *message;
  const gchar *top_labels[GST_SSAN_ACTION_MAX_TOP_K];
  gint top_ids[GST_SSAN_ACTION_MAX_TOP_K];
  gdouble top_scores[GST_SSAN_ACTION_MAX_TOP_K];
  gint i, n_top, class_id;
  gchar *name;

  if (!out->ok)
    goto forward_failed;

  if (job->reset_history)
    ssan_postproc_reset (job->postproc);
  n_top = ssan_postproc_run (job->postproc,
      gst_ssan_scheduler_client_get_logits (job->client), job->top_k,
      job->threshold, top_ids, top_scores, &class_id);
  /* weights from elsewhere can overflow: no result rather than NaNs */
  if (n_top == 0)
    goto not_finite;
  for (i = 0; i < n_top; i++)
    top_labels[i] = self->labels[top_ids[i]];
  name = gst_object_get_name (GST_OBJECT (self));

  /* the result id counts published results only: built under the lock */
  g_mutex_lock (&self->lock);
  if (job->generation != self->generation) {
    g_mutex_unlock (&self->lock);
    GST_DEBUG_OBJECT (self,
        "dropping result of window %" G_GUINT64_FORMAT " from before a flush",
        job->index);
    g_free (name);
    return TRUE;
  }
  result = gst_ssan_action_result_new_full (class_id, top_scores[0], n_top,
      top_ids, top_labels, top_scores, job->start, job->end, job->index,
      out->inference_time, self->results_produced++, name, self->active.model);
  params = gst_ssan_action_result_to_structure (result, "ssan-action");
  if (obj)
    gst_ssan_action_object_to_structure (&job->object, params);
  if (obj) {
    g_clear_pointer (&obj->latest_params, gst_structure_free);
    obj->latest_params = gst_structure_copy (params);
  } else {
    gst_ssan_action_clear_latest (self);
    self->latest = gst_ssan_action_result_ref (result);
    self->latest_params = gst_structure_copy (params);
  }
  self->windows_evaluated++;
  message = gst_message_new_element (GST_OBJECT (self), params);
  g_mutex_unlock (&self->lock);
  g_free (name);

  GST_LOG_OBJECT (self,
      "window %" G_GUINT64_FORMAT " [%" GST_TIME_FORMAT " - %" GST_TIME_FORMAT
      "]%s: %s (%d) %.4f in %" GST_TIME_FORMAT " (batch of %d)",
      job->index, GST_TIME_ARGS (job->start), GST_TIME_ARGS (job->end),
      obj ? " of an object" : "", result->label, class_id, result->confidence,
      GST_TIME_ARGS (result->inference_time), out->batch);

  gst_element_post_message (GST_ELEMENT (self), message);
  gst_ssan_action_write_json (
      self, result, obj ? &job->object : NULL, job->start_st, job->end_st);

  gst_ssan_action_result_unref (result);
  return TRUE;

  /* ERRORS */
not_finite : {
  if (!self->warned_not_finite)
    GST_ELEMENT_WARNING (self, STREAM, FAILED,
        ("Model \"%s\" gave non-finite scores for window %" G_GUINT64_FORMAT
         "; such windows give no result.",
            gst_ssan_model_ref_get_path (self->model), job->index),
        (NULL));
  self->warned_not_finite = TRUE;
  return TRUE;
}
forward_failed : {
  GST_ELEMENT_ERROR (self, STREAM, FAILED,
      ("Inference failed on window %" G_GUINT64_FORMAT ".", job->index),
      ("%s", out->message));
  return FALSE;
}
}

/* Runs the job's input through the scheduler (batched with other
 * elements' windows) and publishes the result.  Runs in the streaming
 * thread (sync) or the worker (async), never both at once. */
gboolean
gst_ssan_action_evaluate (GstSsanAction *self, const GstSsanActionJob *job)
{
  GstSsanSchedulerOutcome out;

  if (!gst_ssan_scheduler_client_submit (job->client, job->index)
      || !gst_ssan_scheduler_client_wait (job->client, &out))
    goto not_run;
  return gst_ssan_action_publish (self, job, &out);

  /* ERRORS */
not_run : {
  GST_ELEMENT_ERROR (self, STREAM, FAILED,
      ("Inference failed on window %" G_GUINT64_FORMAT ".", job->index),
      ("the scheduler did not take the window"));
  return FALSE;
}
}

gpointer
gst_ssan_action_worker (gpointer data)
{
  GstSsanAction *self = data;

  g_mutex_lock (&self->lock);
  for (;;) {
    while (!self->quit && !self->busy)
      g_cond_wait (&self->cond, &self->lock);
    if (self->quit)
      break;
    g_mutex_unlock (&self->lock);

    if (!gst_ssan_action_evaluate (self, &self->job)) {
      g_mutex_lock (&self->lock);
      self->failed = TRUE;
      g_mutex_unlock (&self->lock);
    }

    g_mutex_lock (&self->lock);
    self->busy = FALSE;
    g_cond_broadcast (&self->cond);
  }
  g_mutex_unlock (&self->lock);

  return NULL;
}
