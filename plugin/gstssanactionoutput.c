/* gst-ssan — ssanaction's outputs: a result as a structure (bus message,
 * ROI params), as a JSON line, on a buffer (meta and ROI), and the
 * SIGPIPE-safe write of a results file.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstssanactionoutput.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <gst/video/video.h>
#include <string.h>

#include "gstssanjson.h"

GstStructure *
gst_ssan_action_result_to_structure (
    const GstSsanActionResult *r, const gchar *name)
{
  GValue labels = G_VALUE_INIT, scores = G_VALUE_INIT, v = G_VALUE_INIT;
  GstStructure *s;
  guint i;

  gst_value_array_init (&labels, r->n_top);
  gst_value_array_init (&scores, r->n_top);
  for (i = 0; i < r->n_top; i++) {
    g_value_init (&v, G_TYPE_STRING);
    g_value_set_string (&v, r->top_labels[i]);
    gst_value_array_append_and_take_value (&labels, &v);
    g_value_init (&v, G_TYPE_DOUBLE);
    g_value_set_double (&v, r->top_scores[i]);
    gst_value_array_append_and_take_value (&scores, &v);
  }

  s = gst_structure_new (name, "label", G_TYPE_STRING, r->label, "class-id",
      G_TYPE_INT, r->class_id, "confidence", G_TYPE_DOUBLE, r->confidence,
      "window-start", G_TYPE_UINT64, r->window_start, "window-end",
      G_TYPE_UINT64, r->window_end, "window-index", G_TYPE_UINT64,
      r->window_index, "inference-time", G_TYPE_UINT64, r->inference_time,
      "element", G_TYPE_STRING, r->element, "result-id", G_TYPE_UINT64,
      r->result_id, "model", G_TYPE_STRING, r->model, NULL);
  gst_structure_take_value (s, "labels", &labels);
  gst_structure_take_value (s, "scores", &scores);

  return s;
}

void
gst_ssan_action_object_to_structure (
    const GstSsanActionObjectInfo *obj, GstStructure *s)
{
  gst_structure_set (s, "object-id", G_TYPE_INT64, obj->id, "object-x",
      G_TYPE_UINT, obj->x, "object-y", G_TYPE_UINT, obj->y, "object-width",
      G_TYPE_UINT, obj->width, "object-height", G_TYPE_UINT, obj->height, NULL);
}

gchar *
gst_ssan_action_result_to_json_line (const GstSsanActionResult *r,
    const GstSsanActionObjectInfo *obj, GstClockTime st_start,
    GstClockTime st_end, gsize *length)
{
  gchar *json = gst_ssan_result_to_json (
      r, st_start, st_end, g_get_real_time (), NULL, NULL);
  gchar *line;

  /* the object's fields go in before the closing brace */
  if (obj) {
    gsize n = strlen (json);

    g_assert (n > 0 && json[n - 1] == '}');
    json[n - 1] = '\0';
    line = g_strdup_printf ("%s,\"object-id\":%" G_GINT64_FORMAT
                            ",\"object-x\":%u,\"object-y\":%u,"
                            "\"object-width\":%u,\"object-height\":%u}\n",
        json, obj->id, obj->x, obj->y, obj->width, obj->height);
  } else {
    line = g_strconcat (json, "\n", NULL);
  }
  g_free (json);
  /* one write per line: lines of several writers never interleave */
  *length = strlen (line);
  return line;
}

/* Writes all of data to fd, or sets *error to errno.  A FIFO or pipe whose
 * reader went away answers EPIPE and raises SIGPIPE, whose default action
 * would kill the host process: SIGPIPE is blocked in this thread while
 * writing, and one it raised is taken off again before it is unblocked
 * (one pending before is left alone). */
gboolean
gst_ssan_action_write_all (gint fd, const gchar *data, gsize len, gint *error)
{
  sigset_t pipe_set, old, pending;
  gboolean was_pending;

  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  sigpending (&pending);
  was_pending = sigismember (&pending, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &pipe_set, &old);

  *error = 0;
  while (len > 0) {
    ssize_t n = write (fd, data, len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      *error = n < 0 ? errno : EIO;
      break;
    }
    data += n;
    len -= n;
  }

  if (*error == EPIPE && !was_pending) {
    const struct timespec zero = { 0, 0 };

    while (sigtimedwait (&pipe_set, NULL, &zero) < 0 && errno == EINTR)
      ;
  }
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  return *error == 0;
}

void
gst_ssan_action_attach_result (GstBuffer *buf, GstSsanActionResult *result,
    GstStructure *params, gint roi_id, guint width, guint height)
{
  GstSsanActionMeta *meta;
  GstVideoRegionOfInterestMeta *roi;

  /* other ssanaction elements' metas stay; ours replaces our own */
  meta = gst_buffer_get_ssan_action_meta_for (buf, result->element);
  if (meta) {
    gst_ssan_action_result_unref (meta->result);
    meta->result = gst_ssan_action_result_ref (result);
  } else {
    gst_buffer_add_ssan_action_meta (buf, result);
  }

  roi = gst_buffer_get_video_region_of_interest_meta_id (buf, roi_id);
  if (roi && roi->roi_type == g_quark_from_static_string ("action"))
    gst_buffer_remove_meta (buf, (GstMeta *)roi);
  roi = gst_buffer_add_video_region_of_interest_meta (
      buf, "action", 0, 0, width, height);
  roi->id = roi_id;
  gst_video_region_of_interest_meta_add_param (roi, params);
}
