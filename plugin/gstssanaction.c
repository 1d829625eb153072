/* GStreamer SSAN action recognition element.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/* clang-format off */
/**
 * SECTION:element-ssanaction
 * @title: ssanaction
 *
 * Recognises actions in a video stream with an SSAN model.  Frames pass
 * through untouched (never copied, never altered; a buffer that is not
 * writable is replaced by a new buffer object sharing its memory, so that
 * metas can be added).  The element keeps the sliding window of the model
 * spec §4: a window spans the last #GstSsanAction:window-frames frames (L),
 * is cut into #GstSsanAction:segments (T) equal segments whose centre
 * frames are fed to the network; the first window ends on frame L-1 and
 * then a window ends every #GstSsanAction:stride frames.  Only the sampled
 * frames are preprocessed (spec §5), by one GstVideoConverter pass from the
 * input format: the centre square of side round(shorter side * input_size
 * / resize) (offset rounded down) is scaled (linear resampling, no
 * dithering) to input_size x input_size RGB; frames whose shorter side is
 * the model's resize are thus only cropped, not scaled.  With
 * inference-region=roi the same rule applies to each object's box, but the
 * frame is converted once, unscaled, to RGB and each crop of it scaled by
 * ssan_scaler (ssanroi.h): boxes move, and a converter per box position
 * would be made anew on every sampled frame.
 *
 * Windows by time (#GstSsanAction:window-by-time): when the model states
 * the frame rate r of its training clips, a fixed-rate stream of another
 * rate f gets L' = max (T, round (L f / r)) and stride' = max (1, round
 * (stride f / r)) unless window-frames is set; a variable-rate stream
 * (framerate 0/1) gets windows of duration L / r every stride / r, each
 * segment taking the frame whose PTS is nearest its centre (see
 * ssanwindow.h).  #GstSsanAction:active-window-frames and
 * #GstSsanAction:active-stride tell what was chosen.
 *
 * Inference: the elements of a process naming the same model file and
 * segments queue their windows in one shared scheduler, which evaluates
 * them in batches on the process's thread budget (#GstSsanAction:threads,
 * GST_SSAN_THREADS, else the online cores; see gstssanscheduler.h);
 * #GstSsanAction:shared-scheduler=false gives the element its own.
 *
 * Each result (label, class id, smoothed confidence, top-k labels and
 * scores, window start/end PTS, window index, inference time, result id,
 * element name, model) is
 * - attached as a #GstSsanActionMeta to every buffer from the first result
 *   on (the latest result, shared by reference; see gstssanactionmeta.h),
 *   one meta per ssanaction element (an element replaces only its own;
 *   gst_buffer_get_ssan_action_meta_for() finds one element's), together
 *   with a full-frame #GstVideoRegionOfInterestMeta of type "action" whose
 *   id is the element's #GstSsanAction:roi-id (distinct per element) and
 *   whose params hold an "ssan-action" structure with the message's fields;
 * - posted as an element message named "ssan-action" with the fields
 *   `label` (string), `class-id` (int), `confidence` (double),
 *   `window-start`, `window-end` (uint64 PTS, GST_CLOCK_TIME_NONE when the
 *   frames had none), `window-index` (uint64), `inference-time` (uint64, ns),
 *   `labels` and `scores` (GstValueArray, top-k, most probable first),
 *   `element` (string, the element's name), `result-id` (uint64: results
 *   this element produced before, never reset over its life) and `model`
 *   (string, the #GstSsanAction:model property);
 * - written as one JSON object per line to #GstSsanAction:results-location
 *   (same fields, times in ns or null, plus `stream-time` and
 *   `stream-time-end`, the stream time of the window's first and last frame,
 *   and `timestamp`, UTC wall-clock time; the schema, shared with
 *   ssanpublish, is docs/ssan-result.schema.json).
 *
 * In sync mode a window's result is out (message, file, meta) before its
 * last frame is pushed on.  In async mode a worker thread evaluates while
 * frames flow on; a window due while it is busy is skipped and counted
 * (#GstSsanAction:windows-skipped), and results are attached from the next
 * buffer after they arrive.
 *
 * Latency: in sync mode the last frame of a window leaves late by its
 * evaluation, so LATENCY queries get the larger of #GstSsanAction:latency
 * and the worst evaluation time measured added to upstream's, and a
 * LATENCY message is posted when that grows.  Async mode adds none.
 *
 * QoS: with #GstSsanAction:qos, a window whose last frame is already late
 * downstream (QoS events) is skipped and counted in windows-skipped; frames
 * are never dropped.
 *
 * A flush, a DISCONT buffer or a caps change empties the window: the next
 * window ends on the L-th frame after it, window indices restart at 0 and
 * the smoothing history is cleared.  A flush also drops the latest result
 * (buffers after a seek carry no stale meta); DISCONT and caps changes keep
 * it until the next result.  EOS never evaluates a partial window (in async
 * mode it waits for the window being evaluated).  In reverse playback
 * (rate < 0) a DISCONT buffer whose PTS goes back does not empty the window
 * (sources mark every reverse buffer so), and each window is fed to the
 * network oldest first in time, as in forward playback; window-start and
 * window-end stay the oldest and newest PTS.  Changes of model, labels,
 * segments, window-frames, stride, threads and smoothing while streaming
 * take effect at the next buffer, once the worker is idle, and empty the
 * window; a failure then (say a bad model file) is a stream error.
 * results-location set while streaming (log rotation) is opened at the next
 * buffer and keeps the window and the smoothing history.  mode, threshold,
 * top-k, latency and qos apply at once.  Elements of one process
 * that name the same model file (same canonical path) share one loaded copy
 * of it, read when the first of them starts.  An element keeps its model
 * (and the engine's scratch memory) from one start to the next unless the
 * file changed on disk (size, modification time or inode), so state cycles
 * do not reload it; the model is released when the element is disposed.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m ssantestsrc num-buffers=64 ! video/x-raw,width=320,height=240 ! ssanaction model=models/ssan-demo.safetensors results-location=results.jsonl ! fakesink
 * ]| prints one ssan-action element message per window (9 windows for 64
 * frames with the demo model: L = 32, T = 8, stride 4) and writes them to
 * results.jsonl.
 */
/* clang-format on */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstssanaction-private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

GST_DEBUG_CATEGORY (gst_ssan_action_debug);
#define GST_CAT_DEFAULT gst_ssan_action_debug

#define DEFAULT_MODEL NULL
#define DEFAULT_LABELS NULL
#define DEFAULT_SEGMENTS 0
#define DEFAULT_WINDOW_FRAMES 0
#define DEFAULT_STRIDE 0
#define DEFAULT_THREADS 0
#define DEFAULT_MODE GST_SSAN_ACTION_MODE_SYNC
#define DEFAULT_SMOOTHING 1
#define DEFAULT_THRESHOLD 0.0
#define DEFAULT_TOP_K 5
#define DEFAULT_RESULTS_LOCATION NULL
#define DEFAULT_RESULTS_APPEND FALSE
#define DEFAULT_LATENCY 0
#define DEFAULT_QOS FALSE
#define DEFAULT_WINDOW_BY_TIME TRUE
#define DEFAULT_SHARED_SCHEDULER TRUE
#define DEFAULT_INFERENCE_REGION GST_SSAN_ACTION_REGION_FULL_FRAME
#define DEFAULT_OBJECT_CLASS NULL
#define DEFAULT_MAX_OBJECTS 16
#define DEFAULT_MAX_MISSING 2
#define DEFAULT_ROI_MARGIN 0.0

#define MAX_OBJECTS GST_SSAN_ACTION_MAX_OBJECTS
#define MAX_MISSING 1000

#define MAX_SEGMENTS SSAN_WINDOW_MAX_SEGMENTS
#define MAX_WINDOW_FRAMES SSAN_WINDOW_MAX_FRAMES
#define MAX_STRIDE SSAN_WINDOW_MAX_STRIDE
#define MAX_SMOOTHING 1024
#define MAX_TOP_K GST_SSAN_ACTION_MAX_TOP_K

enum {
  PROP_0,
  PROP_MODEL,
  PROP_LABELS,
  PROP_SEGMENTS,
  PROP_WINDOW_FRAMES,
  PROP_STRIDE,
  PROP_THREADS,
  PROP_MODE,
  PROP_SMOOTHING,
  PROP_THRESHOLD,
  PROP_TOP_K,
  PROP_RESULTS_LOCATION,
  PROP_WINDOWS_EVALUATED,
  PROP_WINDOWS_SKIPPED,
  PROP_ROI_ID,
  PROP_LATENCY,
  PROP_QOS,
  PROP_RESULTS_APPEND,
  PROP_WINDOW_BY_TIME,
  PROP_ACTIVE_WINDOW_FRAMES,
  PROP_ACTIVE_STRIDE,
  PROP_SHARED_SCHEDULER,
  PROP_INFERENCE_REGION,
  PROP_OBJECT_CLASS,
  PROP_MAX_OBJECTS,
  PROP_ROI_MARGIN,
  PROP_OBJECTS_EVICTED,
  PROP_ROIS_IGNORED,
  PROP_MAX_MISSING,
};

#define VIDEO_CAPS                                                             \
  GST_VIDEO_CAPS_MAKE (                                                        \
      "{ I420, YV12, NV12, NV21, NV16, "                                       \
      "NV61, NV24, YUY2, UYVY, YVYU, VYUY, Y41B, Y42B, Y444, AYUV, v308, "     \
      "A420, RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, ABGR, "       \
      "RGB16, BGR16, RGB15, BGR15, GRAY8, GRAY16_LE, GRAY16_BE, GBR, GBRA, "   \
      "I420_10LE, I420_10BE, I422_10LE, Y444_10LE, P010_10LE, v210, r210, "    \
      "UYVP, IYU1, Y210 }")

static GstStaticPadTemplate gst_ssan_action_sink_template
    = GST_STATIC_PAD_TEMPLATE (
        "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (VIDEO_CAPS));

static GstStaticPadTemplate gst_ssan_action_src_template
    = GST_STATIC_PAD_TEMPLATE (
        "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (VIDEO_CAPS));

/* ssanaction elements made so far: each one's ROI id */
static gint gst_ssan_action_n_instances;

#define gst_ssan_action_parent_class parent_class
G_DEFINE_TYPE (GstSsanAction, gst_ssan_action, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (
    ssanaction, "ssanaction", GST_RANK_NONE, GST_TYPE_SSAN_ACTION);

GType
gst_ssan_action_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_SSAN_ACTION_MODE_SYNC,
        "Evaluate each window before its last frame is pushed on", "sync" },
    { GST_SSAN_ACTION_MODE_ASYNC,
        "Evaluate on a worker thread, skip windows while it is busy", "async" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType _type = g_enum_register_static ("GstSsanActionMode", values);
    g_once_init_leave (&type, _type);
  }
  return type;
}

GType
gst_ssan_action_region_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { GST_SSAN_ACTION_REGION_FULL_FRAME, "One window over the whole frame",
        "full-frame" },
    { GST_SSAN_ACTION_REGION_ROI,
        "One window per tracked object (upstream ROI metas)", "roi" },
    { 0, NULL, NULL },
  };

  if (g_once_init_enter (&type)) {
    GType _type = g_enum_register_static ("GstSsanActionRegion", values);
    g_once_init_leave (&type, _type);
  }
  return type;
}

static void
gst_ssan_action_settings_clear (GstSsanActionSettings *s)
{
  g_clear_pointer (&s->model, g_free);
  g_clear_pointer (&s->labels, g_free);
  g_clear_pointer (&s->results_location, g_free);
  g_clear_pointer (&s->object_class, g_free);
}

static void
gst_ssan_action_settings_copy (
    GstSsanActionSettings *dst, const GstSsanActionSettings *src)
{
  gst_ssan_action_settings_clear (dst);
  *dst = *src;
  dst->model = g_strdup (src->model);
  dst->labels = g_strdup (src->labels);
  dst->results_location = g_strdup (src->results_location);
  dst->object_class = g_strdup (src->object_class);
}

static void
gst_ssan_action_reset_window (GstSsanAction *self)
{
  if (self->window)
    ssan_window_reset (self->window);
  gst_ssan_action_objects_clear (self, TRUE);
  self->n_frames = 0;
  self->window_index = 0;
  self->history_reset = TRUE;
}

static void
gst_ssan_action_free_window (GstSsanAction *self)
{
  guint i;

  if (self->slot_bufs) {
    for (i = 0; i < self->n_slots; i++)
      gst_buffer_unref (self->slot_bufs[i]);
  }
  g_clear_pointer (&self->slot_bufs, g_free);
  g_clear_pointer (&self->ring, g_free);
  g_clear_pointer (&self->window, ssan_window_free);
  self->n_slots = 0;
}

static void
gst_ssan_action_free_buffers (GstSsanAction *self)
{
  gst_ssan_action_objects_free (self);
  gst_ssan_action_free_window (self);
  g_clear_pointer (&self->postproc, ssan_postproc_free);
}

/* Makes location (NULL: none) the results file, truncated or appended to;
 * posts an error and keeps the old file when it cannot be opened.  Opening
 * a FIFO waits for its reader, as filesink does. */
static gboolean
gst_ssan_action_open_results (
    GstSsanAction *self, const gchar *location, gboolean append)
{
  gint fd = -1, old;

  if (location && location[0] != '\0') {
    fd = open (location,
        O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0666);
    if (fd < 0)
      goto open_failed;
  }

  g_mutex_lock (&self->results_lock);
  old = self->results_fd;
  self->results_fd = fd;
  g_free (self->results_path);
  self->results_path = g_strdup (location);
  self->warned_write = FALSE;
  g_mutex_unlock (&self->results_lock);
  if (old >= 0)
    close (old);
  return TRUE;

  /* ERRORS */
open_failed : {
  GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
      ("Could not open results file \"%s\" for writing.", location),
      ("%s", g_strerror (errno)));
  return FALSE;
}
}

/* What stop() lets go: the model, its context and labels stay for the
 * next start() (state cycles do not reload; start() checks the file). */
static void
gst_ssan_action_stop_stream (GstSsanAction *self)
{
  gst_ssan_action_free_buffers (self);
  g_clear_pointer (&self->convert, gst_video_converter_free);
  self->negotiated = FALSE;
  gst_ssan_action_open_results (self, NULL, FALSE);
}

static void
gst_ssan_action_free_stream (GstSsanAction *self)
{
  gst_ssan_action_free_buffers (self);
  g_clear_pointer (&self->convert, gst_video_converter_free);
  self->negotiated = FALSE;
  g_clear_pointer (&self->labels, g_strfreev);
  g_clear_pointer (&self->client, gst_ssan_scheduler_client_free);
  if (self->model)
    gst_ssan_model_ref_release (self->model);
  self->model = NULL;
  self->info = NULL;
  gst_ssan_action_open_results (self, NULL, FALSE);
  gst_ssan_action_settings_clear (&self->active);
  self->T = self->S = self->n_classes = 0;
}

/* A converter of the negotiated input to rgb: the crop (ssanroi.h; NULL:
 * the whole frame) scaled, linear resampling, no dither; NULL on failure. */
GstVideoConverter *
gst_ssan_action_new_converter (
    const GstVideoInfo *in, const GstVideoInfo *rgb, const ssan_crop *crop)
{
  GstVideoInfo out = *rgb;
  GstStructure *config;

  /* the converter insists on matching rates and layouts */
  GST_VIDEO_INFO_FPS_N (&out) = GST_VIDEO_INFO_FPS_N (in);
  GST_VIDEO_INFO_FPS_D (&out) = GST_VIDEO_INFO_FPS_D (in);
  GST_VIDEO_INFO_INTERLACE_MODE (&out) = GST_VIDEO_INFO_INTERLACE_MODE (in);
  GST_VIDEO_INFO_FIELD_ORDER (&out) = GST_VIDEO_INFO_FIELD_ORDER (in);

  config = gst_structure_new ("GstVideoConverter",
      GST_VIDEO_CONVERTER_OPT_RESAMPLER_METHOD, GST_TYPE_VIDEO_RESAMPLER_METHOD,
      GST_VIDEO_RESAMPLER_METHOD_LINEAR, GST_VIDEO_CONVERTER_OPT_DITHER_METHOD,
      GST_TYPE_VIDEO_DITHER_METHOD, GST_VIDEO_DITHER_NONE,
      GST_VIDEO_CONVERTER_OPT_THREADS, G_TYPE_UINT, 1, NULL);
  if (crop)
    gst_structure_set (config, GST_VIDEO_CONVERTER_OPT_SRC_X, G_TYPE_INT,
        crop->x, GST_VIDEO_CONVERTER_OPT_SRC_Y, G_TYPE_INT, crop->y,
        GST_VIDEO_CONVERTER_OPT_SRC_WIDTH, G_TYPE_INT, crop->side,
        GST_VIDEO_CONVERTER_OPT_SRC_HEIGHT, G_TYPE_INT, crop->side, NULL);
  return gst_video_converter_new ((GstVideoInfo *)in, &out, config);
}

/* Rebuilds the converter for the negotiated input: the full-frame crop of
 * spec §5, centre square of side shorter * S / resize (rounded, at least
 * 1), scaled to S x S RGB. */
static gboolean
gst_ssan_action_setup_converter (GstSsanAction *self, const GstVideoInfo *in)
{
  gint w = GST_VIDEO_INFO_WIDTH (in), h = GST_VIDEO_INFO_HEIGHT (in);
  ssan_crop crop;

  g_clear_pointer (&self->convert, gst_video_converter_free);
  if (ssan_crop_for_box (
          w, h, 0, 0, w, h, 0.0, self->S, self->info->resize, &crop)
      == 0)
    self->convert = gst_ssan_action_new_converter (in, &self->rgb_info, &crop);
  if (self->convert == NULL) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Cannot convert %s %dx%d video to the model's %dx%d RGB input.",
            GST_VIDEO_INFO_NAME (in), w, h, self->S, self->S),
        ("gst_video_converter_new failed"));
    return FALSE;
  }
  GST_DEBUG_OBJECT (self, "%s %dx%d: crop %d at %d,%d -> RGB %dx%d",
      GST_VIDEO_INFO_NAME (in), w, h, crop.side, crop.x, crop.y, self->S,
      self->S);
  return self->objects == NULL || gst_ssan_action_setup_full (self, in);
}

static gchar **
gst_ssan_action_read_labels (
    GstSsanAction *self, const gchar *path, gint n_classes)
{
  gchar *contents = NULL, **lines, **labels;
  GError *error = NULL;
  gsize length;
  gint n, i;

  if (!g_file_get_contents (path, &contents, &length, &error)) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not read labels file \"%s\".", path), ("%s", error->message));
    g_error_free (error);
    return NULL;
  }
  /* labels end up in structures and JSON: UTF-8 text only */
  if (strlen (contents) != length || !g_utf8_validate (contents, -1, NULL)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Labels file \"%s\" is not UTF-8 text.", path), (NULL));
    g_free (contents);
    return NULL;
  }
  lines = g_strsplit (contents, "\n", -1);
  g_free (contents);

  n = g_strv_length (lines);
  while (n > 0 && g_strstrip (lines[n - 1])[0] == '\0')
    n--;
  for (i = 0; i < n; i++)
    g_strchomp (lines[i]);

  if (n != n_classes) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Labels file \"%s\" has %d lines, the model has %d classes.", path, n,
            n_classes),
        (NULL));
    g_strfreev (lines);
    return NULL;
  }

  for (i = 0; i < n; i++) {
    if (lines[i][0] == '\0') {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("Labels file \"%s\": line %d is empty.", path, i + 1), (NULL));
      g_strfreev (lines);
      return NULL;
    }
  }

  labels = g_new0 (gchar *, n + 1);
  for (i = 0; i < n; i++)
    labels[i] = g_strdup (lines[i]);
  g_strfreev (lines);

  return labels;
}

/* Cuts windows for the negotiated stream: L and stride (scaled to the
 * stream's rate, or by time on variable-rate streams, spec §4), the frame
 * slots, the converter.  Runs in configure () once caps are known and in
 * set_caps (); the worker never touches the window or the slots.  Posts an
 * error and returns FALSE on failure. */
static gboolean
gst_ssan_action_setup_window (GstSsanAction *self)
{
  ssan_window_request q = {
    0,
  };
  ssan_window_plan plan;
  ssan_window_status status;
  gint bad_length = 0;
  gsize slot_size;
  guint slot;

  q.segments = self->T;
  q.window_frames = self->active.window_frames;
  q.stride = self->active.stride;
  q.model_window_frames = self->info->window_frames;
  q.model_rate_num = self->info->frame_rate_num;
  q.model_rate_den = self->info->frame_rate_den;
  q.stream_rate_num = GST_VIDEO_INFO_FPS_N (&self->in_info);
  q.stream_rate_den = GST_VIDEO_INFO_FPS_D (&self->in_info);
  q.by_time = self->active.window_by_time;
  status = ssan_window_plan_make (&q, &plan, &bad_length);
  if (status != SSAN_WINDOW_OK)
    goto bad_plan;

  gst_ssan_action_free_window (self);
  /* the objects' windows follow the plan */
  gst_ssan_action_objects_clear (self, FALSE);
  self->plan = plan;
  self->window = ssan_window_new (&plan);
  if (self->window == NULL)
    goto no_memory;
  self->n_slots = (guint)ssan_window_n_slots (self->window);
  slot_size = GST_VIDEO_INFO_SIZE (&self->rgb_info);
  self->ring = g_try_malloc0_n (self->n_slots, slot_size);
  if (self->ring == NULL)
    goto no_memory;
  self->slot_bufs = g_new0 (GstBuffer *, self->n_slots);
  for (slot = 0; slot < self->n_slots; slot++)
    self->slot_bufs[slot] = gst_buffer_new_wrapped_full (
        0, self->ring + slot * slot_size, slot_size, 0, slot_size, NULL, NULL);

  GST_OBJECT_LOCK (self);
  self->active_L = plan.L;
  self->active_stride = plan.stride;
  GST_OBJECT_UNLOCK (self);
  if (plan.mode == SSAN_WINDOW_BY_TIME)
    GST_INFO_OBJECT (self,
        "variable-rate stream: windows of %" GST_TIME_FORMAT
        " (%d frames at the model's %d/%d fps) every %" GST_TIME_FORMAT
        ", T %d, %u frame slots",
        GST_TIME_ARGS (plan.duration), plan.L, self->info->frame_rate_num,
        self->info->frame_rate_den, GST_TIME_ARGS (plan.step), plan.T,
        self->n_slots);
  else
    GST_INFO_OBJECT (self,
        "windows of L %d frames every %d (%s), T %d, %u frame slots", plan.L,
        plan.stride,
        plan.scaled ? "scaled from the model's rate to the stream's"
                    : "as set or the model's",
        plan.T, self->n_slots);

  return gst_ssan_action_setup_converter (self, &self->in_info);

  /* ERRORS */
bad_plan : {
  if (status == SSAN_WINDOW_ERR_LENGTH)
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("A window of %d frames at %d/%d fps is longer than %d frames.",
            bad_length, q.stream_rate_num, q.stream_rate_den,
            MAX_WINDOW_FRAMES),
        ("the model's %d frames at %d/%d fps, scaled to the stream's rate; "
         "set window-frames, or window-by-time=false",
            q.model_window_frames, q.model_rate_num, q.model_rate_den));
  else
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("A stride of more than %d frames at %d/%d fps.", MAX_STRIDE,
            q.stream_rate_num, q.stream_rate_den),
        ("the stride scaled from the model's %d/%d fps to the stream's; set "
         "stride, or window-by-time=false",
            q.model_rate_num, q.model_rate_den));
  return FALSE;
}
no_memory : {
  GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
      ("Not enough memory for %u frames of %dx%d.", self->n_slots, self->S,
          self->S),
      (NULL));
  gst_ssan_action_free_window (self);
  return FALSE;
}
}

/* Brings the running configuration in line with the settings.  Runs in
 * start() and, after a property change, in the streaming thread before the
 * next buffer; the worker is idle while it runs.  Posts an error and
 * returns FALSE on failure. */
static gboolean
gst_ssan_action_configure (GstSsanAction *self)
{
  GstSsanActionSettings s = {
    0,
  };
  gboolean model_changed, reopen;
  ssan_error err = {
    0,
  };
  ssan_window_request q = {
    0,
  };
  ssan_window_plan plan;
  gint T, L = 0, c, i, p;

  GST_OBJECT_LOCK (self);
  gst_ssan_action_settings_copy (&s, &self->settings);
  self->reconfigure = FALSE;
  reopen = self->reopen_results;
  self->reopen_results = FALSE;
  GST_OBJECT_UNLOCK (self);

  gst_ssan_action_wait_idle (self);

  if (s.model == NULL || s.model[0] == '\0')
    goto no_model;

  model_changed = self->model == NULL
                  || g_strcmp0 (s.model, self->active.model) != 0
                  || !gst_ssan_model_ref_is_current (self->model);
  if (model_changed) {
    GstSsanModelRef *ref = gst_ssan_model_ref_acquire (s.model, &err);
    if (ref == NULL)
      goto load_failed;
    g_clear_pointer (&self->client, gst_ssan_scheduler_client_free);
    g_clear_pointer (&self->labels, g_strfreev);
    if (self->model)
      gst_ssan_model_ref_release (self->model);
    self->model = ref;
    self->info = gst_ssan_model_ref_get_info (ref);
  }

  /* the bounds of T, L and stride before the stream's rate is known */
  T = s.segments > 0 ? s.segments : self->info->segments;
  q.segments = T;
  q.window_frames = s.window_frames;
  q.stride = s.stride;
  q.model_window_frames = self->info->window_frames;
  if (ssan_window_plan_make (&q, &plan, &L) != SSAN_WINDOW_OK)
    goto bad_window;

  if (self->client == NULL || self->T != T
      || s.shared_scheduler != self->active.shared_scheduler) {
    g_clear_pointer (&self->client, gst_ssan_scheduler_client_free);
    self->client = gst_ssan_scheduler_client_new (
        self->model, T, s.shared_scheduler, &err);
    if (self->client == NULL)
      goto ctx_failed;
  }
  if (s.threads > 0)
    gst_ssan_scheduler_set_thread_budget (s.threads);

  if (model_changed || g_strcmp0 (s.labels, self->active.labels) != 0) {
    gchar **labels;

    if (s.labels && s.labels[0] != '\0') {
      labels = gst_ssan_action_read_labels (
          self, s.labels, self->info->num_classes);
      if (labels == NULL)
        goto failed;
    } else {
      labels = g_new0 (gchar *, self->info->num_classes + 1);
      for (i = 0; i < self->info->num_classes; i++)
        labels[i] = g_strdup (self->info->labels[i]);
    }
    g_strfreev (self->labels);
    self->labels = labels;
  }

  if (self->results_fd < 0 || reopen
      || g_strcmp0 (s.results_location, self->active.results_location) != 0) {
    if (!gst_ssan_action_open_results (
            self, s.results_location, s.results_append))
      goto failed;
  }

  gst_ssan_action_free_buffers (self);
  self->T = T;
  self->S = self->info->input_size;
  self->n_classes = self->info->num_classes;
  self->postproc = ssan_postproc_new (self->n_classes, MAX (1, s.smoothing));
  if (self->postproc == NULL)
    goto no_memory;
  if (s.inference_region == GST_SSAN_ACTION_REGION_ROI) {
    gint max_objects = CLAMP (s.max_objects, 1, MAX_OBJECTS);

    self->objects
        = ssan_objects_new (max_objects, CLAMP (s.max_missing, 0, MAX_MISSING));
    self->obj = g_new0 (GstSsanActionObject, max_objects);
    if (self->objects == NULL)
      goto no_memory;
  }
  self->object_class = s.object_class && s.object_class[0] != '\0'
                           ? g_quark_from_string (s.object_class)
                           : 0;

  gst_video_info_set_format (
      &self->rgb_info, GST_VIDEO_FORMAT_RGB, self->S, self->S);
  for (c = 0; c < 3; c++)
    for (p = 0; p < 256; p++)
      self->lut[c][p]
          = (float)((p / 255.0 - self->info->mean[c]) / self->info->std[c]);

  gst_ssan_action_settings_copy (&self->active, &s);
  gst_ssan_action_settings_clear (&s);
  if (self->negotiated && !gst_ssan_action_setup_window (self))
    goto failed;
  gst_ssan_action_reset_window (self);

  GST_INFO_OBJECT (self, "model %s: T %d, S %d, %d classes, %s scheduler",
      gst_ssan_model_ref_get_path (self->model), T, self->S, self->n_classes,
      self->active.shared_scheduler ? "shared" : "own");
  return TRUE;

  /* ERRORS */
no_model : {
  GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("No model file given."),
      ("set the \"model\" property"));
  goto failed;
}
load_failed : {
  if (err.code == SSAN_ERR_IO)
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not load model file \"%s\": %s", s.model, err.msg),
        ("%s", err.msg));
  else
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        ("Invalid model file \"%s\": %s", s.model, err.msg), ("%s", err.msg));
  goto failed;
}
bad_window : {
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("window-frames must be between segments (%d) and %d, not %d.", T,
          MAX_WINDOW_FRAMES, L),
      (NULL));
  goto failed;
}
ctx_failed : {
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Could not set up model \"%s\" for %d segments.", s.model, T),
      ("%s", err.msg));
  goto failed;
}
no_memory : {
  GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
      ("Not enough memory for the results of %d classes.", self->n_classes),
      (NULL));
  goto failed;
}
failed : {
  gst_ssan_action_settings_clear (&s);
  gst_ssan_action_free_stream (self);
  return FALSE;
}
}

/* results-location set while streaming (log rotation): the next line goes
 * to the file it names now, opened again even when the name is the same;
 * the window and the smoothing history stay. */
static gboolean
gst_ssan_action_reopen_results (GstSsanAction *self)
{
  gchar *location;
  gboolean append;

  GST_OBJECT_LOCK (self);
  location = g_strdup (self->settings.results_location);
  append = self->settings.results_append;
  self->reopen_results = FALSE;
  GST_OBJECT_UNLOCK (self);

  if (!gst_ssan_action_open_results (self, location, append)) {
    g_free (location);
    return FALSE;
  }
  GST_INFO_OBJECT (self, "results now go to %s", GST_STR_NULL (location));
  g_free (self->active.results_location);
  self->active.results_location = location;
  return TRUE;
}

static gboolean
gst_ssan_action_start (GstBaseTransform *trans)
{
  GstSsanAction *self = GST_SSAN_ACTION (trans);
  GError *error = NULL;
  gboolean ret = FALSE;

  /* The sink pad stops flushing before start() runs: keep buffers pushed
   * meanwhile out until the stream is set up. */
  GST_PAD_STREAM_LOCK (GST_BASE_TRANSFORM_SINK_PAD (trans));
  if (!gst_ssan_action_configure (self))
    goto done;

  g_mutex_lock (&self->lock);
  self->quit = FALSE;
  self->busy = FALSE;
  self->failed = FALSE;
  self->warned_not_finite = FALSE;
  self->generation++;
  gst_ssan_action_clear_latest (self);
  self->windows_evaluated = 0;
  self->windows_skipped = 0;
  self->objects_evicted = 0;
  self->rois_ignored = 0;
  self->worst_delay = 0;
  self->latency_answered = 0;
  g_mutex_unlock (&self->lock);
  GST_OBJECT_LOCK (self);
  self->qos_earliest = GST_CLOCK_TIME_NONE;
  GST_OBJECT_UNLOCK (self);

  self->worker
      = g_thread_try_new ("ssanaction", gst_ssan_action_worker, self, &error);
  if (self->worker == NULL)
    goto no_thread;
  ret = TRUE;

done:
  GST_PAD_STREAM_UNLOCK (GST_BASE_TRANSFORM_SINK_PAD (trans));
  return ret;

  /* ERRORS */
no_thread : {
  GST_ELEMENT_ERROR (self, RESOURCE, FAILED,
      ("Could not start the worker thread."), ("%s", error->message));
  g_error_free (error);
  gst_ssan_action_free_stream (self);
  goto done;
}
}

static gboolean
gst_ssan_action_stop (GstBaseTransform *trans)
{
  GstSsanAction *self = GST_SSAN_ACTION (trans);

  if (self->worker) {
    g_mutex_lock (&self->lock);
    while (self->busy)
      g_cond_wait (&self->cond, &self->lock);
    self->quit = TRUE;
    g_cond_broadcast (&self->cond);
    g_mutex_unlock (&self->lock);
    g_thread_join (self->worker);
    self->worker = NULL;
  }

  gst_ssan_action_stop_stream (self);

  g_mutex_lock (&self->lock);
  gst_ssan_action_clear_latest (self);
  g_mutex_unlock (&self->lock);

  return TRUE;
}

static gboolean
gst_ssan_action_set_caps (
    GstBaseTransform *trans, GstCaps *incaps, GstCaps *outcaps)
{
  GstSsanAction *self = GST_SSAN_ACTION (trans);
  GstVideoInfo info;

  self->negotiated = FALSE;
  if (!gst_video_info_from_caps (&info, incaps))
    goto invalid_caps;

  /* the worker never touches the window, the frame slots or the
   * converter */
  self->in_info = info;
  self->negotiated = TRUE;
  /* before start() (caps may overtake it), start() sets the window up */
  if (self->info && !gst_ssan_action_setup_window (self)) {
    self->negotiated = FALSE;
    return FALSE;
  }
  gst_ssan_action_reset_window (self);
  return TRUE;

  /* ERRORS */
invalid_caps : {
  GST_ERROR_OBJECT (self, "invalid caps %" GST_PTR_FORMAT, incaps);
  return FALSE;
}
}

/* Pass-through: the output is the input buffer itself, or, when that is
 * not writable, a new buffer sharing its memory (metadata-writable; no
 * pixel is copied) so that metas can be added. */
static GstFlowReturn
gst_ssan_action_prepare_output_buffer (
    GstBaseTransform *trans, GstBuffer *input, GstBuffer **outbuf)
{
  if (gst_buffer_is_writable (input))
    *outbuf = input;
  else
    *outbuf = gst_buffer_copy (input);

  return *outbuf ? GST_FLOW_OK : GST_FLOW_ERROR;
}

static void
gst_ssan_action_attach (GstSsanAction *self, GstBuffer *buf)
{
  GstSsanActionResult *result = NULL;
  GstStructure *params = NULL;

  g_mutex_lock (&self->lock);
  if (self->latest) {
    result = gst_ssan_action_result_ref (self->latest);
    params = gst_structure_copy (self->latest_params);
  }
  g_mutex_unlock (&self->lock);

  if (result == NULL)
    return;
  gst_ssan_action_attach_result (buf, result, params, self->roi_id,
      GST_VIDEO_INFO_WIDTH (&self->in_info),
      GST_VIDEO_INFO_HEIGHT (&self->in_info));
  gst_ssan_action_result_unref (result);
}

/* What this element adds to the latency: in sync mode the last frame of a
 * window leaves late by the evaluation, so the larger of the latency
 * property and the worst evaluation measured; nothing in async mode.
 * Remembers the answer: a LATENCY message follows when it grows. */
static GstClockTime
gst_ssan_action_own_latency (GstSsanAction *self)
{
  GstClockTime stated, own;
  gboolean sync;

  GST_OBJECT_LOCK (self);
  stated = self->settings.latency;
  sync = self->settings.mode == GST_SSAN_ACTION_MODE_SYNC;
  GST_OBJECT_UNLOCK (self);

  g_mutex_lock (&self->lock);
  own = sync ? MAX (stated, self->worst_delay) : 0;
  self->latency_answered = own;
  g_mutex_unlock (&self->lock);
  return own;
}

/* A sync evaluation held a frame for delay: when that is more than the
 * latency last answered, ask the pipeline to query it again. */
void
gst_ssan_action_note_delay (GstSsanAction *self, GstClockTime delay)
{
  gboolean grew;

  g_mutex_lock (&self->lock);
  self->worst_delay = MAX (self->worst_delay, delay);
  grew = self->worst_delay > self->latency_answered;
  if (grew)
    self->latency_answered = self->worst_delay;
  g_mutex_unlock (&self->lock);

  if (grew) {
    GST_DEBUG_OBJECT (
        self, "latency grew to %" GST_TIME_FORMAT, GST_TIME_ARGS (delay));
    gst_element_post_message (
        GST_ELEMENT (self), gst_message_new_latency (GST_OBJECT (self)));
  }
}

static gboolean
gst_ssan_action_query (
    GstBaseTransform *trans, GstPadDirection direction, GstQuery *query)
{
  GstSsanAction *self = GST_SSAN_ACTION (trans);
  GstClockTime min, max, own;
  gboolean live;

  if (direction != GST_PAD_SRC || GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return GST_BASE_TRANSFORM_CLASS (parent_class)
        ->query (trans, direction, query);

  if (!GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans, direction, query))
    return FALSE;
  gst_query_parse_latency (query, &live, &min, &max);
  own = gst_ssan_action_own_latency (self);
  min += own;
  if (GST_CLOCK_TIME_IS_VALID (max))
    max += own;
  gst_query_set_latency (query, live, min, max);
  GST_DEBUG_OBJECT (self,
      "latency: ours %" GST_TIME_FORMAT ", live %d, min %" GST_TIME_FORMAT
      ", max %" GST_TIME_FORMAT,
      GST_TIME_ARGS (own), live, GST_TIME_ARGS (min), GST_TIME_ARGS (max));
  return TRUE;
}

/* With qos, a window whose last frame is already late downstream is
 * skipped (counted) so that frames catch up; frames are never dropped. */
gboolean
gst_ssan_action_qos_late (GstSsanAction *self, GstClockTime pts)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstClockTime rt = GST_CLOCK_TIME_NONE, earliest;
  gboolean qos;

  GST_OBJECT_LOCK (self);
  qos = self->settings.qos;
  earliest = self->qos_earliest;
  if (qos && GST_CLOCK_TIME_IS_VALID (earliest)
      && trans->segment.format == GST_FORMAT_TIME)
    rt = gst_segment_to_running_time (&trans->segment, GST_FORMAT_TIME, pts);
  GST_OBJECT_UNLOCK (self);

  return GST_CLOCK_TIME_IS_VALID (rt) && rt <= earliest;
}

static gboolean
gst_ssan_action_src_event (GstBaseTransform *trans, GstEvent *event)
{
  GstSsanAction *self = GST_SSAN_ACTION (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_QOS) {
    GstClockTimeDiff diff;
    GstClockTime timestamp;

    gst_event_parse_qos (event, NULL, NULL, &diff, &timestamp);
    GST_OBJECT_LOCK (self);
    if (!GST_CLOCK_TIME_IS_VALID (timestamp))
      self->qos_earliest = GST_CLOCK_TIME_NONE;
    else if (diff > 0) /* late: the next frame will be at least as late */
      self->qos_earliest = timestamp + 2 * diff;
    else
      self->qos_earliest = MAX ((GstClockTimeDiff)timestamp + diff, 0);
    GST_OBJECT_UNLOCK (self);
  }

  return GST_BASE_TRANSFORM_CLASS (parent_class)->src_event (trans, event);
}

/* The PTS (oldest and newest: in reverse playback the first frame to
 * arrive is the newest) and stream times of the window just completed;
 * returns the PTS of the frame that completed it. */
GstClockTime
gst_ssan_action_job_times (GstSsanAction *self, ssan_window *window,
    gboolean reverse, GstSsanActionJob *job)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstClockTime first, last;

  ssan_window_span (window, &first, &last);
  job->start = reverse ? last : first;
  job->end = reverse ? first : last;
  job->start_st = job->end_st = GST_CLOCK_TIME_NONE;
  /* GstBaseTransform resets the segment under the object lock when the
   * sink pad is activated, which does not wait for the streaming thread */
  GST_OBJECT_LOCK (self);
  if (trans->segment.format == GST_FORMAT_TIME) {
    job->start_st = gst_segment_to_stream_time (
        &trans->segment, GST_FORMAT_TIME, job->start);
    job->end_st = gst_segment_to_stream_time (
        &trans->segment, GST_FORMAT_TIME, job->end);
  }
  GST_OBJECT_UNLOCK (self);
  return last;
}

static GstFlowReturn
gst_ssan_action_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstSsanAction *self = GST_SSAN_ACTION (trans);
  GstSsanActionMode mode;
  gboolean reconfigure, reopen, reverse, failed;
  gint top_k, slot, ready;
  gdouble threshold;

  /* The sink pad accepts buffers before start() ran (see there) and after
   * a failed start. */
  if (G_UNLIKELY (self->worker == NULL))
    return GST_FLOW_FLUSHING;

  GST_OBJECT_LOCK (self);
  reconfigure = self->reconfigure;
  reopen = self->reopen_results;
  mode = self->settings.mode;
  top_k = self->settings.top_k;
  threshold = self->settings.threshold;
  reverse = trans->segment.rate < 0.0;
  GST_OBJECT_UNLOCK (self);

  if (reconfigure && !gst_ssan_action_configure (self))
    return GST_FLOW_ERROR;
  if (!reconfigure && reopen && !gst_ssan_action_reopen_results (self))
    return GST_FLOW_ERROR;

  g_mutex_lock (&self->lock);
  failed = self->failed;
  g_mutex_unlock (&self->lock);
  if (failed || self->info == NULL)
    return GST_FLOW_ERROR;

  if (self->convert == NULL)
    goto not_negotiated;

  /* in reverse playback every buffer (basesrc) or chunk (decoders) may be
   * DISCONT: only a step that does not go back in time empties it */
  if (GST_BUFFER_IS_DISCONT (buf) && self->n_frames > 0
      && (!reverse || !GST_BUFFER_PTS_IS_VALID (buf)
          || !GST_CLOCK_TIME_IS_VALID (self->last_pts)
          || GST_BUFFER_PTS (buf) >= self->last_pts)) {
    GST_DEBUG_OBJECT (self, "DISCONT: emptying the window");
    gst_ssan_action_reset_window (self);
  }
  self->last_pts = GST_BUFFER_PTS (buf);

  if (self->objects) {
    GstFlowReturn ret;

    self->n_frames++;
    ret = gst_ssan_action_process_objects (
        self, buf, mode, top_k, threshold, reverse);
    if (ret == GST_FLOW_OK)
      gst_ssan_action_attach_objects (self, buf);
    return ret;
  }

  ready = ssan_window_push (self->window, GST_BUFFER_PTS (buf), &slot);
  if (slot >= 0) {
    GstVideoFrame in, out;

    if (!gst_video_frame_map (&in, &self->in_info, buf, GST_MAP_READ))
      goto invalid_buffer;
    if (!gst_video_frame_map (&out, &self->rgb_info, self->slot_bufs[slot],
            GST_MAP_WRITE | GST_VIDEO_FRAME_MAP_FLAG_NO_REF)) {
      gst_video_frame_unmap (&in);
      goto invalid_buffer;
    }
    gst_video_converter_frame (self->convert, &in, &out);
    gst_video_frame_unmap (&out);
    gst_video_frame_unmap (&in);
  }
  self->n_frames++;

  if (ready) {
    GstSsanActionJob job;
    GstClockTime last;
    gboolean late;

    job.index = self->window_index++;
    last = gst_ssan_action_job_times (self, self->window, reverse, &job);
    job.top_k = top_k;
    job.client = self->client;
    job.postproc = self->postproc;
    job.obj = NULL;
    job.threshold = threshold;

    late = gst_ssan_action_qos_late (self, last);
    g_mutex_lock (&self->lock);
    if (late) {
      self->windows_skipped++;
      g_mutex_unlock (&self->lock);
      GST_DEBUG_OBJECT (self,
          "late downstream (QoS): skipping window %" G_GUINT64_FORMAT,
          job.index);
    } else if (mode == GST_SSAN_ACTION_MODE_SYNC) {
      gint64 t0;

      while (self->busy)
        g_cond_wait (&self->cond, &self->lock);
      job.generation = self->generation;
      g_mutex_unlock (&self->lock);

      t0 = g_get_monotonic_time ();
      gst_ssan_action_fill_tensor (
          self, self->window, self->ring, self->client, reverse);
      job.reset_history = self->history_reset;
      if (!gst_ssan_action_evaluate (self, &job))
        return GST_FLOW_ERROR;
      self->history_reset = FALSE;
      gst_ssan_action_note_delay (
          self, (g_get_monotonic_time () - t0) * GST_USECOND);
    } else if (self->busy) {
      self->windows_skipped++;
      g_mutex_unlock (&self->lock);
      GST_DEBUG_OBJECT (
          self, "worker busy: skipping window %" G_GUINT64_FORMAT, job.index);
    } else {
      g_mutex_unlock (&self->lock);

      /* the worker is idle: nobody else touches the client's input */
      gst_ssan_action_fill_tensor (
          self, self->window, self->ring, self->client, reverse);

      g_mutex_lock (&self->lock);
      job.generation = self->generation;
      job.reset_history = self->history_reset;
      self->job = job;
      self->history_reset = FALSE;
      self->busy = TRUE;
      g_cond_broadcast (&self->cond);
      g_mutex_unlock (&self->lock);
    }
  }

  gst_ssan_action_attach (self, buf);

  return GST_FLOW_OK;

  /* ERRORS */
not_negotiated : {
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
      ("No video caps before the first buffer."), (NULL));
  return GST_FLOW_NOT_NEGOTIATED;
}
invalid_buffer : {
  GST_ELEMENT_ERROR (self, STREAM, FORMAT,
      ("Could not read a %s %dx%d frame (buffer of %" G_GSIZE_FORMAT " bytes).",
          GST_VIDEO_INFO_NAME (&self->in_info),
          GST_VIDEO_INFO_WIDTH (&self->in_info),
          GST_VIDEO_INFO_HEIGHT (&self->in_info), gst_buffer_get_size (buf)),
      (NULL));
  return GST_FLOW_ERROR;
}
}

static gboolean
gst_ssan_action_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstSsanAction *self = GST_SSAN_ACTION (trans);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_FLUSH_STOP:
      GST_OBJECT_LOCK (self);
      self->qos_earliest = GST_CLOCK_TIME_NONE;
      GST_OBJECT_UNLOCK (self);
      g_mutex_lock (&self->lock);
      self->generation++;
      gst_ssan_action_clear_latest (self);
      while (self->busy)
        g_cond_wait (&self->cond, &self->lock);
      g_mutex_unlock (&self->lock);
      gst_ssan_action_reset_window (self);
      break;
    case GST_EVENT_EOS:
      /* the last window's result goes out before EOS does */
      gst_ssan_action_wait_idle (self);
      if (self->objects)
        gst_ssan_action_collect_objects (self, TRUE);
      break;
    default:
      break;
  }

  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static void
gst_ssan_action_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstSsanAction *self = GST_SSAN_ACTION (object);
  GstSsanActionSettings *s = &self->settings;
  gboolean reconfigure = TRUE, latency_changed = FALSE;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (s->model);
      s->model = g_value_dup_string (value);
      break;
    case PROP_LABELS:
      g_free (s->labels);
      s->labels = g_value_dup_string (value);
      break;
    case PROP_SEGMENTS:
      s->segments = g_value_get_int (value);
      break;
    case PROP_WINDOW_FRAMES:
      s->window_frames = g_value_get_int (value);
      break;
    case PROP_STRIDE:
      s->stride = g_value_get_int (value);
      break;
    case PROP_THREADS:
      s->threads = g_value_get_int (value);
      break;
    case PROP_MODE:
      s->mode = g_value_get_enum (value);
      reconfigure = FALSE;
      latency_changed = TRUE;
      break;
    case PROP_LATENCY:
      s->latency = g_value_get_uint64 (value);
      reconfigure = FALSE;
      latency_changed = TRUE;
      break;
    case PROP_QOS:
      s->qos = g_value_get_boolean (value);
      reconfigure = FALSE;
      break;
    case PROP_SMOOTHING:
      s->smoothing = g_value_get_int (value);
      break;
    case PROP_THRESHOLD:
      s->threshold = g_value_get_double (value);
      reconfigure = FALSE;
      break;
    case PROP_TOP_K:
      s->top_k = g_value_get_int (value);
      reconfigure = FALSE;
      break;
    case PROP_RESULTS_LOCATION:
      g_free (s->results_location);
      s->results_location = g_value_dup_string (value);
      self->reopen_results = TRUE;
      reconfigure = FALSE;
      break;
    case PROP_RESULTS_APPEND:
      s->results_append = g_value_get_boolean (value);
      reconfigure = FALSE;
      break;
    case PROP_WINDOW_BY_TIME:
      s->window_by_time = g_value_get_boolean (value);
      break;
    case PROP_SHARED_SCHEDULER:
      s->shared_scheduler = g_value_get_boolean (value);
      break;
    case PROP_INFERENCE_REGION:
      s->inference_region = g_value_get_enum (value);
      break;
    case PROP_OBJECT_CLASS:
      g_free (s->object_class);
      s->object_class = g_value_dup_string (value);
      break;
    case PROP_MAX_OBJECTS:
      s->max_objects = g_value_get_int (value);
      break;
    case PROP_MAX_MISSING:
      s->max_missing = g_value_get_int (value);
      break;
    case PROP_ROI_MARGIN:
      s->roi_margin = g_value_get_double (value);
      reconfigure = FALSE;
      break;
    default:
      reconfigure = FALSE;
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  if (reconfigure)
    self->reconfigure = TRUE;
  GST_OBJECT_UNLOCK (self);

  if (latency_changed)
    gst_element_post_message (
        GST_ELEMENT (self), gst_message_new_latency (GST_OBJECT (self)));
}

static void
gst_ssan_action_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSsanAction *self = GST_SSAN_ACTION (object);
  GstSsanActionSettings *s = &self->settings;

  switch (prop_id) {
    case PROP_WINDOWS_EVALUATED:
      g_mutex_lock (&self->lock);
      g_value_set_uint64 (value, self->windows_evaluated);
      g_mutex_unlock (&self->lock);
      return;
    case PROP_WINDOWS_SKIPPED:
      g_mutex_lock (&self->lock);
      g_value_set_uint64 (value, self->windows_skipped);
      g_mutex_unlock (&self->lock);
      return;
    case PROP_ROI_ID:
      g_value_set_int (value, self->roi_id);
      return;
    case PROP_OBJECTS_EVICTED:
      g_mutex_lock (&self->lock);
      g_value_set_uint64 (value, self->objects_evicted);
      g_mutex_unlock (&self->lock);
      return;
    case PROP_ROIS_IGNORED:
      g_mutex_lock (&self->lock);
      g_value_set_uint64 (value, self->rois_ignored);
      g_mutex_unlock (&self->lock);
      return;
    default:
      break;
  }

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, s->model);
      break;
    case PROP_LABELS:
      g_value_set_string (value, s->labels);
      break;
    case PROP_SEGMENTS:
      g_value_set_int (value, s->segments);
      break;
    case PROP_WINDOW_FRAMES:
      g_value_set_int (value, s->window_frames);
      break;
    case PROP_STRIDE:
      g_value_set_int (value, s->stride);
      break;
    case PROP_THREADS:
      g_value_set_int (value, s->threads);
      break;
    case PROP_MODE:
      g_value_set_enum (value, s->mode);
      break;
    case PROP_SMOOTHING:
      g_value_set_int (value, s->smoothing);
      break;
    case PROP_THRESHOLD:
      g_value_set_double (value, s->threshold);
      break;
    case PROP_TOP_K:
      g_value_set_int (value, s->top_k);
      break;
    case PROP_RESULTS_LOCATION:
      g_value_set_string (value, s->results_location);
      break;
    case PROP_LATENCY:
      g_value_set_uint64 (value, s->latency);
      break;
    case PROP_RESULTS_APPEND:
      g_value_set_boolean (value, s->results_append);
      break;
    case PROP_QOS:
      g_value_set_boolean (value, s->qos);
      break;
    case PROP_WINDOW_BY_TIME:
      g_value_set_boolean (value, s->window_by_time);
      break;
    case PROP_SHARED_SCHEDULER:
      g_value_set_boolean (value, s->shared_scheduler);
      break;
    case PROP_INFERENCE_REGION:
      g_value_set_enum (value, s->inference_region);
      break;
    case PROP_OBJECT_CLASS:
      g_value_set_string (value, s->object_class);
      break;
    case PROP_MAX_OBJECTS:
      g_value_set_int (value, s->max_objects);
      break;
    case PROP_MAX_MISSING:
      g_value_set_int (value, s->max_missing);
      break;
    case PROP_ROI_MARGIN:
      g_value_set_double (value, s->roi_margin);
      break;
    case PROP_ACTIVE_WINDOW_FRAMES:
      g_value_set_int (value, self->active_L);
      break;
    case PROP_ACTIVE_STRIDE:
      g_value_set_int (value, self->active_stride);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ssan_action_finalize (GObject *object)
{
  GstSsanAction *self = GST_SSAN_ACTION (object);

  gst_ssan_action_free_stream (self);
  gst_ssan_action_settings_clear (&self->settings);
  gst_ssan_action_clear_latest (self);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_mutex_clear (&self->results_lock);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_ssan_action_class_init (GstSsanActionClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  const GParamFlags rw
      = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING;

  GST_DEBUG_CATEGORY_INIT (
      gst_ssan_action_debug, "ssanaction", 0, "SSAN action recognition");

  gobject_class->set_property = gst_ssan_action_set_property;
  gobject_class->get_property = gst_ssan_action_get_property;
  gobject_class->finalize = gst_ssan_action_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "SSAN model file (safetensors, spec ssan-1).  Changing it while "
          "streaming reloads at the next buffer",
          DEFAULT_MODEL, rw));
  g_object_class_install_property (gobject_class, PROP_LABELS,
      g_param_spec_string ("labels", "Labels",
          "Optional text file with one class name per line, overriding the "
          "model's labels (as many lines as the model has classes)",
          DEFAULT_LABELS, rw));
  g_object_class_install_property (gobject_class, PROP_SEGMENTS,
      g_param_spec_int ("segments", "Segments",
          "Frames T fed to the network per window (0 = the model's segments)",
          0, MAX_SEGMENTS, DEFAULT_SEGMENTS, rw));
  g_object_class_install_property (gobject_class, PROP_WINDOW_FRAMES,
      g_param_spec_int ("window-frames", "Window frames",
          "Source frames L one window spans, >= segments (0 = the model's "
          "window_frames, at least segments)",
          0, MAX_WINDOW_FRAMES, DEFAULT_WINDOW_FRAMES, rw));
  g_object_class_install_property (gobject_class, PROP_STRIDE,
      g_param_spec_int ("stride", "Stride",
          "Source frames between the ends of two windows "
          "(0 = window-frames / segments, at least 1)",
          0, MAX_STRIDE, DEFAULT_STRIDE, rw));
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_int ("threads", "Threads",
          "Threads all inference of the process may use at once, shared by "
          "every ssanaction (process-wide: a value set here applies to all; "
          "0 = leave it: GST_SSAN_THREADS from the environment, else the "
          "online cores)",
          0, 1024, DEFAULT_THREADS, rw));
  g_object_class_install_property (gobject_class, PROP_SHARED_SCHEDULER,
      g_param_spec_boolean ("shared-scheduler", "Shared scheduler",
          "Queue windows in the inference scheduler shared by every "
          "ssanaction of the process naming the same model file and "
          "segments, which evaluates them in batches; false: a scheduler "
          "of this element's own (no batching with other elements)",
          DEFAULT_SHARED_SCHEDULER, rw));
  g_object_class_install_property (gobject_class, PROP_WINDOW_BY_TIME,
      g_param_spec_boolean ("window-by-time", "Window by time",
          "When the model states the frame rate of its training clips: on a "
          "fixed-rate stream of another rate scale the model's window and "
          "stride to it (unless window-frames is set), so that a window "
          "covers the same time; on a variable-rate stream (framerate 0/1) "
          "sample each segment's frame by timestamp within a window of the "
          "model's duration.  false: always count frames",
          DEFAULT_WINDOW_BY_TIME, rw));
  g_object_class_install_property (gobject_class, PROP_INFERENCE_REGION,
      g_param_spec_enum ("inference-region", "Inference region",
          "full-frame: one window over the whole frame.  roi: one window per "
          "tracked object, keyed by the id of upstream "
          "GstVideoRegionOfInterestMeta (a tracker's track id), each frame "
          "cropped to the object's box (spec §5 on the box, grown by "
          "roi-margin); results go to the object's ROI meta as an "
          "\"ssan-action\" param and to the message and JSON line with "
          "object-id and the box",
          GST_TYPE_SSAN_ACTION_REGION, DEFAULT_INFERENCE_REGION, rw));
  g_object_class_install_property (gobject_class, PROP_OBJECT_CLASS,
      g_param_spec_string ("object-class", "Object class",
          "With inference-region=roi, follow only ROI metas of this type "
          "(e.g. \"person\"); unset: every type but ssanaction's own "
          "\"action\"",
          DEFAULT_OBJECT_CLASS, rw));
  g_object_class_install_property (gobject_class, PROP_MAX_OBJECTS,
      g_param_spec_int ("max-objects", "Max objects",
          "With inference-region=roi, objects followed at once: a new one "
          "takes the window of the object seen longest ago (counted in "
          "objects-evicted) unless all were seen in this frame (then its ROI "
          "is counted in rois-ignored); an object absent for more than "
          "max-missing frames in a row loses its window",
          1, MAX_OBJECTS, DEFAULT_MAX_OBJECTS, rw));
  g_object_class_install_property (gobject_class, PROP_MAX_MISSING,
      g_param_spec_int ("max-missing", "Max missing",
          "With inference-region=roi, frames in a row an object may be "
          "absent from (a detector missing it) and keep its window and "
          "smoothing history; the frames it is absent from are not part of "
          "its window.  Absent longer, it is dropped (its id later is a new "
          "object).  0: dropped when absent from one frame",
          0, MAX_MISSING, DEFAULT_MAX_MISSING, rw));
  g_object_class_install_property (gobject_class, PROP_ROI_MARGIN,
      g_param_spec_double ("roi-margin", "ROI margin",
          "With inference-region=roi, grow each box by this fraction of its "
          "width and height on every side before cropping (clipped to the "
          "frame)",
          0.0, 1.0, DEFAULT_ROI_MARGIN, rw));
  g_object_class_install_property (gobject_class, PROP_OBJECTS_EVICTED,
      g_param_spec_uint64 ("objects-evicted", "Objects evicted",
          "Objects whose window a new object took (max-objects)", 0,
          G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_ROIS_IGNORED,
      g_param_spec_uint64 ("rois-ignored", "ROIs ignored",
          "ROI metas given no window: no pixel inside the frame, or every "
          "window taken by an object of the same frame",
          0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_ACTIVE_WINDOW_FRAMES,
      g_param_spec_int ("active-window-frames", "Active window frames",
          "Frames L a window spans now (after the choices of window-frames "
          "and window-by-time; on a variable-rate stream, at the model's "
          "rate); 0 before caps",
          0, G_MAXINT, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_ACTIVE_STRIDE,
      g_param_spec_int ("active-stride", "Active stride",
          "Frames between the ends of two windows now (as "
          "active-window-frames); 0 before caps",
          0, G_MAXINT, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "sync: evaluate a window before its last frame is pushed on "
          "(exact, reproducible; for files).  async: evaluate on a worker "
          "thread while frames flow on undelayed; a window due while the "
          "worker is busy is skipped and counted (for live sources)",
          GST_TYPE_SSAN_ACTION_MODE, DEFAULT_MODE, rw));
  g_object_class_install_property (gobject_class, PROP_SMOOTHING,
      g_param_spec_int ("smoothing", "Smoothing",
          "Average the class probabilities of the last K results", 1,
          MAX_SMOOTHING, DEFAULT_SMOOTHING, rw));
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
          "Below this (smoothed) confidence a result says no action "
          "(class-id -1, empty label)",
          0.0, 1.0, DEFAULT_THRESHOLD, rw));
  g_object_class_install_property (gobject_class, PROP_TOP_K,
      g_param_spec_int ("top-k", "Top k",
          "Number of labels and scores each result lists (at most the "
          "number of classes)",
          1, MAX_TOP_K, DEFAULT_TOP_K, rw));
  g_object_class_install_property (gobject_class, PROP_RESULTS_LOCATION,
      g_param_spec_string ("results-location", "Results location",
          "Write one JSON object per result to this file (JSON Lines, one "
          "write per line; truncated when opened unless results-append).  "
          "Setting it while streaming (even to the same name: log rotation) "
          "opens it at the next buffer; the window and the smoothing "
          "history stay",
          DEFAULT_RESULTS_LOCATION, rw));
  g_object_class_install_property (gobject_class, PROP_RESULTS_APPEND,
      g_param_spec_boolean ("results-append", "Results append",
          "Append to results-location instead of truncating it when it is "
          "opened",
          DEFAULT_RESULTS_APPEND, rw));
  g_object_class_install_property (gobject_class, PROP_WINDOWS_EVALUATED,
      g_param_spec_uint64 ("windows-evaluated", "Windows evaluated",
          "Windows evaluated since the element started", 0, G_MAXUINT64, 0,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_WINDOWS_SKIPPED,
      g_param_spec_uint64 ("windows-skipped", "Windows skipped",
          "Windows skipped: in async mode because the worker was busy (or "
          "an object's window was still evaluated), with qos because their "
          "last frame was late downstream",
          0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (gobject_class, PROP_ROI_ID,
      g_param_spec_int ("roi-id", "ROI id",
          "id of this element's full-frame \"action\" "
          "GstVideoRegionOfInterestMeta: the n-th ssanaction element made "
          "in the process has n - 1, so ids of one process never collide",
          0, G_MAXINT, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_property (gobject_class, PROP_LATENCY,
      g_param_spec_uint64 ("latency", "Latency",
          "Latency in ns that sync mode adds, stated up front: LATENCY "
          "queries get the larger of this and the worst evaluation time "
          "measured (a LATENCY message is posted when that grows); "
          "async mode adds none",
          0, G_MAXUINT64, DEFAULT_LATENCY, rw));
  /* shadows GstBaseTransform's qos, whose QoS would drop frames */
  g_object_class_install_property (gobject_class, PROP_QOS,
      g_param_spec_boolean ("qos", "QoS",
          "Skip windows whose last frame is already late downstream (QoS "
          "events), counted in windows-skipped; frames are never dropped",
          DEFAULT_QOS, rw));

  gst_element_class_set_static_metadata (element_class,
      "SSAN action recognition", "Filter/Analyzer/Video",
      "Recognises actions in sliding windows of video frames with a "
      "Separable Self-Attention Network; frames pass through untouched",
      "gst-ssan developers");
  gst_element_class_add_static_metadata (element_class, "outputs",
      "each result as a GstSsanActionMeta on every buffer from the first "
      "result on (one per ssanaction element; #include "
      "<gst/ssan/gstssanactionmeta.h>, pkg-config gstssanmeta-1.0); a "
      "full-frame GstVideoRegionOfInterestMeta of type \"action\" (id: the "
      "roi-id property) whose params hold an \"ssan-action\" structure; an "
      "element message \"ssan-action\" with label, class-id, confidence, "
      "window-start, window-end, window-index, inference-time, labels, "
      "scores, element, result-id and model; with results-location, the "
      "same as a JSON line");
  gst_element_class_add_static_metadata (element_class, "example",
      "gst-launch-1.0 -m ssantestsrc num-buffers=64 ! "
      "video/x-raw,width=320,height=240 ! ssanaction "
      "model=models/ssan-demo.safetensors results-location=results.jsonl ! "
      "fakesink");
  gst_element_class_add_static_pad_template (
      element_class, &gst_ssan_action_sink_template);
  gst_element_class_add_static_pad_template (
      element_class, &gst_ssan_action_src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_ssan_action_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_ssan_action_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_ssan_action_sink_event);
  trans_class->prepare_output_buffer
      = GST_DEBUG_FUNCPTR (gst_ssan_action_prepare_output_buffer);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_ssan_action_transform_ip);
  trans_class->transform_ip_on_passthrough = TRUE;
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_ssan_action_set_caps);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_ssan_action_query);
  trans_class->src_event = GST_DEBUG_FUNCPTR (gst_ssan_action_src_event);

  gst_type_mark_as_plugin_api (GST_TYPE_SSAN_ACTION_MODE, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_SSAN_ACTION_REGION, 0);
}

static void
gst_ssan_action_init (GstSsanAction *self)
{
  GstSsanActionSettings *s = &self->settings;

  s->model = g_strdup (DEFAULT_MODEL);
  s->labels = g_strdup (DEFAULT_LABELS);
  s->segments = DEFAULT_SEGMENTS;
  s->window_frames = DEFAULT_WINDOW_FRAMES;
  s->stride = DEFAULT_STRIDE;
  s->threads = DEFAULT_THREADS;
  s->mode = DEFAULT_MODE;
  s->smoothing = DEFAULT_SMOOTHING;
  s->threshold = DEFAULT_THRESHOLD;
  s->top_k = DEFAULT_TOP_K;
  s->results_location = g_strdup (DEFAULT_RESULTS_LOCATION);
  s->latency = DEFAULT_LATENCY;
  s->results_append = DEFAULT_RESULTS_APPEND;
  s->qos = DEFAULT_QOS;
  s->window_by_time = DEFAULT_WINDOW_BY_TIME;
  s->shared_scheduler = DEFAULT_SHARED_SCHEDULER;
  s->inference_region = DEFAULT_INFERENCE_REGION;
  s->object_class = g_strdup (DEFAULT_OBJECT_CLASS);
  s->max_objects = DEFAULT_MAX_OBJECTS;
  s->max_missing = DEFAULT_MAX_MISSING;
  s->roi_margin = DEFAULT_ROI_MARGIN;
  self->qos_earliest = GST_CLOCK_TIME_NONE;

  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_mutex_init (&self->results_lock);
  self->results_fd = -1;
  self->roi_id = g_atomic_int_add (&gst_ssan_action_n_instances, 1);

  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}
