/* ssanaction: one window per tracked object (inference-region=roi).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Upstream ROI metas name the objects (ssanroi.h keeps their table); each
 * object has its window, frames, smoothing history and scheduler client in
 * the slot the table gives it.  A frame's crops come from one unscaled RGB
 * copy of it (ssan_scaler), and the windows completing on a frame go to
 * the scheduler together.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstssanaction-private.h"

#include <string.h>

#define GST_CAT_DEFAULT gst_ssan_action_debug

/* An empty window and history, no result: the slot is ready for a new
 * object. */
static void
gst_ssan_action_object_restart (GstSsanActionObject *obj)
{
  if (obj->window)
    ssan_window_reset (obj->window);
  obj->window_index = 0;
  obj->history_reset = TRUE;
  g_clear_pointer (&obj->latest_params, gst_structure_free);
}

/* A flush or a new configuration: obj's slot restarted, a window of it
 * still in the scheduler dropped (waited for if running). */
static void
gst_ssan_action_object_reset (GstSsanActionObject *obj)
{
  if (obj->client)
    gst_ssan_scheduler_client_cancel (obj->client);
  obj->pending = FALSE;
  obj->orphaned = FALSE;
  gst_ssan_action_object_restart (obj);
}

static void
gst_ssan_action_object_free (GstSsanActionObject *obj)
{
  g_free (obj->ring);
  if (obj->window)
    ssan_window_free (obj->window);
  if (obj->postproc)
    ssan_postproc_free (obj->postproc);
  if (obj->client)
    gst_ssan_scheduler_client_free (obj->client);
  if (obj->latest_params)
    gst_structure_free (obj->latest_params);
  memset (obj, 0, sizeof (*obj));
}

/* Gives obj's slot its memory (once per slot): window, frames, history,
 * a client of the element's scheduler.  FALSE when memory runs out. */
static gboolean
gst_ssan_action_object_alloc (GstSsanAction *self, GstSsanActionObject *obj)
{
  gsize slot_size = GST_VIDEO_INFO_SIZE (&self->rgb_info);
  ssan_error err = {
    0,
  };

  obj->window = ssan_window_new (&self->plan);
  if (obj->window == NULL)
    goto failed;
  obj->n_slots = (guint)ssan_window_n_slots (obj->window);
  obj->ring = g_try_malloc0_n (obj->n_slots, slot_size);
  obj->postproc
      = ssan_postproc_new (self->n_classes, MAX (1, self->active.smoothing));
  obj->client = gst_ssan_scheduler_client_new (
      self->model, self->T, self->active.shared_scheduler, &err);
  if (obj->ring == NULL || obj->postproc == NULL || obj->client == NULL)
    goto failed;
  obj->allocated = TRUE;
  return TRUE;

failed:
  GST_WARNING_OBJECT (self, "no memory for an object's window: %s", err.msg);
  gst_ssan_action_object_free (obj);
  return FALSE;
}

/* Forgets every tracked object (flush, caps, configuration); their memory
 * goes too unless keep. */
void
gst_ssan_action_objects_clear (GstSsanAction *self, gboolean keep)
{
  gint i;

  if (self->objects == NULL)
    return;
  ssan_objects_clear (self->objects);
  for (i = 0; i < ssan_objects_capacity (self->objects); i++) {
    if (keep && self->obj[i].allocated)
      gst_ssan_action_object_reset (&self->obj[i]);
    else
      gst_ssan_action_object_free (&self->obj[i]);
  }
}

/* The objects' full-frame RGB copy and its scaler (set_caps). */
static void
gst_ssan_action_free_full (GstSsanAction *self)
{
  g_clear_pointer (&self->full_convert, gst_video_converter_free);
  g_clear_pointer (&self->full_buf, gst_buffer_unref);
  g_clear_pointer (&self->full_rgb, g_free);
  g_clear_pointer (&self->scaler, ssan_scaler_free);
}

void
gst_ssan_action_objects_free (GstSsanAction *self)
{
  gst_ssan_action_objects_clear (self, FALSE);
  g_clear_pointer (&self->obj, g_free);
  g_clear_pointer (&self->objects, ssan_objects_free);
  gst_ssan_action_free_full (self);
}

/* inference-region=roi: the objects' crops move from frame to frame, so
 * they are not each given a converter (made again whenever a box moves):
 * a frame an object samples is converted once, unscaled, to packed RGB
 * (already RGB input is read in place), and each object's crop of it is
 * scaled by one scaler made here.  Nothing is allocated per frame. */
gboolean
gst_ssan_action_setup_full (GstSsanAction *self, const GstVideoInfo *in)
{
  gint w = GST_VIDEO_INFO_WIDTH (in), h = GST_VIDEO_INFO_HEIGHT (in);

  gst_ssan_action_free_full (self);
  self->scaler = ssan_scaler_new (MIN (w, h), self->S);
  if (self->scaler == NULL)
    goto no_memory;
  if (GST_VIDEO_INFO_FORMAT (in) == GST_VIDEO_FORMAT_RGB)
    return TRUE;
  gst_video_info_set_format (&self->full_info, GST_VIDEO_FORMAT_RGB, w, h);
  self->full_rgb = g_try_malloc (GST_VIDEO_INFO_SIZE (&self->full_info));
  if (self->full_rgb == NULL)
    goto no_memory;
  self->full_buf = gst_buffer_new_wrapped_full (0, self->full_rgb,
      GST_VIDEO_INFO_SIZE (&self->full_info), 0,
      GST_VIDEO_INFO_SIZE (&self->full_info), NULL, NULL);
  self->full_convert
      = gst_ssan_action_new_converter (in, &self->full_info, NULL);
  if (self->full_convert == NULL)
    goto no_converter;
  return TRUE;

  /* ERRORS */
no_memory : {
  GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
      ("Not enough memory for the objects' copy of a %dx%d frame.", w, h),
      (NULL));
  gst_ssan_action_free_full (self);
  return FALSE;
}
no_converter : {
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
      ("Cannot convert %s %dx%d video to RGB.", GST_VIDEO_INFO_NAME (in), w, h),
      ("gst_video_converter_new failed"));
  gst_ssan_action_free_full (self);
  return FALSE;
}
}

/* With inference-region=roi, whether roi is one of the objects to follow:
 * of the object-class type, or of any type but ssanaction's own
 * "action". */
static gboolean
gst_ssan_action_wants_roi (
    GstSsanAction *self, const GstVideoRegionOfInterestMeta *roi)
{
  if (self->object_class)
    return roi->roi_type == self->object_class;
  return roi->roi_type != g_quark_from_static_string ("action");
}

/* Collects the finished windows of the objects (sync: waits for those in
 * the scheduler, which ran them as one batch) and publishes them. */
gboolean
gst_ssan_action_collect_objects (GstSsanAction *self, gboolean wait)
{
  GstSsanSchedulerOutcome out;
  gint i;

  for (i = 0; i < ssan_objects_capacity (self->objects); i++) {
    GstSsanActionObject *obj = &self->obj[i];
    gboolean done;

    if (!obj->pending)
      continue;
    done = wait ? gst_ssan_scheduler_client_wait (obj->client, &out)
                : gst_ssan_scheduler_client_poll (obj->client, &out);
    if (!done)
      continue;
    obj->pending = FALSE;
    if (obj->orphaned) {
      obj->orphaned = FALSE;
      continue;
    }
    if (!gst_ssan_action_publish (self, &obj->job, &out))
      return FALSE;
  }
  return TRUE;
}

/* An object is gone (or evicted), so that its slot can serve a new one:
 * its finished window is published; one still queued is dropped, and one
 * running is left to finish and dropped when collected (both counted in
 * windows-skipped): the stream never waits for it (in async mode an object
 * may vanish while its window is computed).  Until it is collected, the
 * slot's next object skips its windows, as for a window of its own. */
static gboolean
gst_ssan_action_object_gone (GstSsanAction *self, GstSsanActionObject *obj)
{
  GstSsanSchedulerOutcome out;
  gboolean ok = TRUE;

  if (obj->pending && gst_ssan_scheduler_client_poll (obj->client, &out)) {
    obj->pending = FALSE;
    if (!obj->orphaned)
      ok = gst_ssan_action_publish (self, &obj->job, &out);
    obj->orphaned = FALSE;
  } else if (obj->pending && !obj->orphaned) {
    g_mutex_lock (&self->lock);
    self->windows_skipped++;
    g_mutex_unlock (&self->lock);
    if (gst_ssan_scheduler_client_try_cancel (obj->client))
      obj->pending = FALSE;
    else
      obj->orphaned = TRUE;
  }
  gst_ssan_action_object_restart (obj);
  return ok;
}

/* Maps buf and gives its pixels as packed RGB: in place for RGB input,
 * else converted once into the objects' full-frame copy. */
static gboolean
gst_ssan_action_map_full (GstSsanAction *self, GstBuffer *buf,
    GstVideoFrame *in, const guint8 **rgb, gsize *stride)
{
  GstVideoFrame full;

  if (!gst_video_frame_map (in, &self->in_info, buf, GST_MAP_READ))
    return FALSE;
  if (self->full_convert == NULL) {
    *rgb = GST_VIDEO_FRAME_PLANE_DATA (in, 0);
    *stride = GST_VIDEO_FRAME_PLANE_STRIDE (in, 0);
    return TRUE;
  }
  if (!gst_video_frame_map (&full, &self->full_info, self->full_buf,
          GST_MAP_WRITE | GST_VIDEO_FRAME_MAP_FLAG_NO_REF)) {
    gst_video_frame_unmap (in);
    return FALSE;
  }
  gst_video_converter_frame (self->full_convert, in, &full);
  gst_video_frame_unmap (&full);
  *rgb = self->full_rgb;
  *stride = GST_VIDEO_INFO_PLANE_STRIDE (&self->full_info, 0);
  return TRUE;
}

/* inference-region=roi: pushes buf into the window of every object it
 * has a ROI meta of (spec §5 on the object's box), queues the windows that
 * complete (all objects' at once: one batch), drops the objects that are
 * gone, and publishes what is finished (sync: this frame's windows). */
GstFlowReturn
gst_ssan_action_process_objects (GstSsanAction *self, GstBuffer *buf,
    GstSsanActionMode mode, gint top_k, gdouble threshold, gboolean reverse)
{
  gint W = GST_VIDEO_INFO_WIDTH (&self->in_info);
  gint H = GST_VIDEO_INFO_HEIGHT (&self->in_info);
  GstVideoFrame in;
  gboolean mapped = FALSE, sync = mode == GST_SSAN_ACTION_MODE_SYNC;
  gpointer state = NULL;
  GstMeta *meta;
  gint64 t0 = g_get_monotonic_time ();
  gint dropped[GST_SSAN_ACTION_MAX_OBJECTS], n_dropped, i, queued = 0;
  gdouble margin;
  const guint8 *rgb = NULL;
  gsize rgb_stride = 0;

  GST_OBJECT_LOCK (self);
  margin = self->settings.roi_margin;
  GST_OBJECT_UNLOCK (self);

  ssan_objects_begin (self->objects);
  while ((meta = gst_buffer_iterate_meta_filtered (
              buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *)meta;
    GstSsanActionObject *obj;
    GstSsanActionJob job;
    GstClockTime last;
    ssan_crop crop;
    gint slot, fs, ready;

    if (!gst_ssan_action_wants_roi (self, roi))
      continue;
    if (ssan_crop_for_box (W, H, roi->x, roi->y, roi->w, roi->h, margin,
            self->S, self->info->resize, &crop)
        != 0) {
      /* outside the frame or empty: not this frame */
      g_mutex_lock (&self->lock);
      self->rois_ignored++;
      g_mutex_unlock (&self->lock);
      continue;
    }
    switch (ssan_objects_see (self->objects, roi->id, &slot, NULL)) {
      case SSAN_OBJECTS_IGNORED:
        g_mutex_lock (&self->lock);
        self->rois_ignored++;
        g_mutex_unlock (&self->lock);
        continue;
      case SSAN_OBJECTS_DUPLICATE:
        continue;
      case SSAN_OBJECTS_REPLACED:
        g_mutex_lock (&self->lock);
        self->objects_evicted++;
        g_mutex_unlock (&self->lock);
        /* fall through */
      case SSAN_OBJECTS_NEW:
        obj = &self->obj[slot];
        if (!obj->allocated && !gst_ssan_action_object_alloc (self, obj))
          goto no_memory;
        if (!gst_ssan_action_object_gone (self, obj))
          goto failed;
        break;
      default:
        obj = &self->obj[slot];
        break;
    }
    obj->box.id = roi->id;
    obj->box.x = roi->x;
    obj->box.y = roi->y;
    obj->box.width = roi->w;
    obj->box.height = roi->h;

    ready = ssan_window_push (obj->window, GST_BUFFER_PTS (buf), &fs);
    if (fs >= 0) {
      if (!mapped
          && !gst_ssan_action_map_full (self, buf, &in, &rgb, &rgb_stride))
        goto invalid_buffer;
      mapped = TRUE;
      ssan_scaler_run (self->scaler, rgb, rgb_stride, &crop,
          obj->ring + fs * GST_VIDEO_INFO_SIZE (&self->rgb_info),
          GST_VIDEO_INFO_PLANE_STRIDE (&self->rgb_info, 0));
    }
    if (!ready)
      continue;
    job.index = obj->window_index++;
    if (obj->pending) {
      /* async: its last window is still in the scheduler */
      g_mutex_lock (&self->lock);
      self->windows_skipped++;
      g_mutex_unlock (&self->lock);
      continue;
    }

    last = gst_ssan_action_job_times (self, obj->window, reverse, &job);
    job.top_k = top_k;
    job.threshold = threshold;
    job.client = obj->client;
    job.postproc = obj->postproc;
    job.obj = obj;
    job.object = obj->box;
    if (gst_ssan_action_qos_late (self, last)) {
      g_mutex_lock (&self->lock);
      self->windows_skipped++;
      g_mutex_unlock (&self->lock);
      continue;
    }
    g_mutex_lock (&self->lock);
    job.generation = self->generation;
    g_mutex_unlock (&self->lock);
    job.reset_history = obj->history_reset;
    obj->history_reset = FALSE;
    gst_ssan_action_fill_tensor (
        self, obj->window, obj->ring, obj->client, reverse);
    if (!gst_ssan_scheduler_client_submit (obj->client, job.index))
      goto not_run;
    obj->job = job;
    obj->pending = TRUE;
    queued++;
  }
  if (mapped)
    gst_video_frame_unmap (&in);

  n_dropped = ssan_objects_end (self->objects, dropped);
  for (i = 0; i < n_dropped; i++)
    if (!gst_ssan_action_object_gone (self, &self->obj[dropped[i]]))
      return GST_FLOW_ERROR;

  if (!gst_ssan_action_collect_objects (self, sync))
    return GST_FLOW_ERROR;
  if (sync && queued > 0)
    gst_ssan_action_note_delay (
        self, (g_get_monotonic_time () - t0) * GST_USECOND);
  return GST_FLOW_OK;

  /* ERRORS */
no_memory : {
  if (mapped)
    gst_video_frame_unmap (&in);
  GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
      ("Not enough memory for the window of another object."), (NULL));
  return GST_FLOW_ERROR;
}
invalid_buffer : {
  if (mapped)
    gst_video_frame_unmap (&in);
  GST_ELEMENT_ERROR (self, STREAM, FORMAT,
      ("Could not read a %s %dx%d frame (buffer of %" G_GSIZE_FORMAT " bytes).",
          GST_VIDEO_INFO_NAME (&self->in_info), W, H,
          gst_buffer_get_size (buf)),
      (NULL));
  return GST_FLOW_ERROR;
}
not_run : {
  if (mapped)
    gst_video_frame_unmap (&in);
  GST_ELEMENT_ERROR (self, STREAM, FAILED,
      ("Inference failed on an object's window."),
      ("the scheduler did not take the window"));
  return GST_FLOW_ERROR;
}
failed : {
  if (mapped)
    gst_video_frame_unmap (&in);
  return GST_FLOW_ERROR;
}
}

/* inference-region=roi: each followed ROI meta of a tracked object with a
 * result gets that result as an "ssan-action" param. */
void
gst_ssan_action_attach_objects (GstSsanAction *self, GstBuffer *buf)
{
  gpointer state = NULL;
  GstMeta *meta;
  gint i;

  while ((meta = gst_buffer_iterate_meta_filtered (
              buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *)meta;

    if (!gst_ssan_action_wants_roi (self, roi))
      continue;
    for (i = 0; i < ssan_objects_capacity (self->objects); i++) {
      gint64 id;

      if (self->obj[i].latest_params
          && ssan_objects_get_id (self->objects, i, &id) && id == roi->id) {
        gst_video_region_of_interest_meta_add_param (
            roi, gst_structure_copy (self->obj[i].latest_params));
        break;
      }
    }
  }
}
