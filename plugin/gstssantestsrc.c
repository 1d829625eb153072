/* GStreamer SSAN test source: synthetic action clips.
 *
 * SECTION:element-ssantestsrc
 * @title: ssantestsrc
 *
 * Draws clips of one object performing one action on a textured background
 * with static distractors and sensor noise: moving left/right/up/down,
 * approaching, receding, rotating clockwise/counter-clockwise, appearing,
 * disappearing, staying still.  A clip lasts #GstSsanTestSrc:clip-frames
 * frames; #GstSsanTestSrc:action picks one class for every clip, or a random
 * class per clip.  Classes 2k and 2k+1 are each other played backwards.
 *
 * Ground truth: an element message `ssan-testsrc-clip` when a clip starts
 * (fields `label` (string), `class-id` (int), `clip-index` (guint64),
 * `clip-start` and `clip-end` (guint64, PTS of the clip's first and last
 * frame), `seed` (guint64), `clip-frames` (uint)), and a #GstSsanClipMeta
 * with the same facts on every buffer.
 *
 * Same seed, same pixels: clip k of a stream is clip k of
 * `ssan-synth --seed <seed>` (the training data of the bundled models),
 * drawn at the negotiated size, whatever the frame rate: in RGB byte for
 * byte on any machine; other formats are converted from it by one
 * GstVideoConverter (no dither).  Clip k starts at frame k * clip-frames of
 * the stream, frames counted from 0 at the start (a seek lands on the same
 * grid; a clip-frames change applies from the next clip on).
 *
 * Several actors: with #GstSsanTestSrc:actors N > 1 the frame is cut into a
 * grid of cells (ssan_synth_layout in include/ssan/synth.h: the grid whose
 * cells have the longest shorter side; 2 x 2 for four actors in 640x480)
 * and actor k performs, in cell k, clip (clip index) * N + k of the seed,
 * drawn exactly as a single-actor frame of the cell's size: cropping a cell
 * gives the single-actor world.  Cells beyond N are grey.  Each actor gets
 * a #GstVideoRegionOfInterestMeta of type "actor" on every buffer: the
 * cell's box, an id that is stable for the actor's clip and new for every
 * clip (1 + its clip number N * clip index + k: every clip is a new
 * object), and a param structure "ssan-testsrc-actor" with the truth:
 * `actor` (int k), `label` (string), `class-id` (int), `clip-index`
 * (guint64, its clip number of the seed).  The `ssan-testsrc-clip` message
 * and the #GstSsanClipMeta come once per actor, in actor order (field
 * `actor` in the message; `clip-index` the actor's clip number).  With one
 * actor (the default) the frames are the whole-frame clips above, pixel for
 * pixel, without ROI metas.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 ssantestsrc seed=7 num-buffers=96 ! \
 *     video/x-raw,width=640,height=480,framerate=30/1 ! videoconvert ! \
 *     vp8enc ! webmmux ! filesink location=actions.webm
 * ]| Three random action clips of 32 frames at 640x480 into a WebM file.
 * |[
 * gst-launch-1.0 ssantestsrc action="rotating clockwise" is-live=true ! \
 *     videoconvert ! autovideosink
 * ]| Live, on screen, one action only.
 * |[
 * gst-launch-1.0 ssantestsrc actors=4 num-buffers=96 ! \
 *     video/x-raw,width=640,height=480 ! videoconvert ! autovideosink
 * ]| Four actors side by side, each with its own action and ROI meta.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstssantestsrc.h"
#include "gstssanclipmeta.h"

GST_DEBUG_CATEGORY_STATIC (gst_ssan_test_src_debug);
#define GST_CAT_DEFAULT gst_ssan_test_src_debug

enum {
  PROP_0,
  PROP_ACTION,
  PROP_SEED,
  PROP_CLIP_FRAMES,
  PROP_IS_LIVE,
  PROP_ACTORS,
};

#define DEFAULT_ACTION "random"
#define DEFAULT_SEED 0
#define DEFAULT_CLIP_FRAMES 32
#define DEFAULT_IS_LIVE FALSE
#define DEFAULT_ACTORS 1

#define DEFAULT_WIDTH 320
#define DEFAULT_HEIGHT 240
#define DEFAULT_FPS_N 30
#define DEFAULT_FPS_D 1

/* Formats a GstVideoConverter makes from packed RGB; RGB itself first and
 * drawn without conversion. */
#define SRC_FORMATS                                                            \
  "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, ARGB, "                     \
  "ABGR, I420, YV12, NV12, NV21, Y42B, Y444, YUY2, UYVY, GRAY8 }"

#define SRC_CAPS                                                               \
  "video/x-raw, format = (string) " SRC_FORMATS ", "                           \
  "width = (int) [ 1, 32768 ], height = (int) [ 1, 32768 ], "                  \
  "framerate = (fraction) [ 1/2147483647, 2147483647/1 ]"

static GstStaticPadTemplate gst_ssan_test_src_template
    = GST_STATIC_PAD_TEMPLATE (
        "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (SRC_CAPS));

G_DEFINE_TYPE (GstSsanTestSrc, gst_ssan_test_src, GST_TYPE_PUSH_SRC);
GST_ELEMENT_REGISTER_DEFINE (
    ssantestsrc, "ssantestsrc", GST_RANK_NONE, GST_TYPE_SSAN_TEST_SRC);

static void gst_ssan_test_src_finalize (GObject *object);
static void gst_ssan_test_src_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec);
static void gst_ssan_test_src_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);
static GstCaps *gst_ssan_test_src_fixate (GstBaseSrc *bsrc, GstCaps *caps);
static gboolean gst_ssan_test_src_set_caps (GstBaseSrc *bsrc, GstCaps *caps);
static gboolean gst_ssan_test_src_decide_allocation (
    GstBaseSrc *bsrc, GstQuery *query);
static gboolean gst_ssan_test_src_start (GstBaseSrc *bsrc);
static gboolean gst_ssan_test_src_stop (GstBaseSrc *bsrc);
static void gst_ssan_test_src_get_times (GstBaseSrc *bsrc, GstBuffer *buffer,
    GstClockTime *start, GstClockTime *end);
static gboolean gst_ssan_test_src_is_seekable (GstBaseSrc *bsrc);
static gboolean gst_ssan_test_src_do_seek (
    GstBaseSrc *bsrc, GstSegment *segment);
static gboolean gst_ssan_test_src_query (GstBaseSrc *bsrc, GstQuery *query);
static GstFlowReturn gst_ssan_test_src_fill (
    GstPushSrc *psrc, GstBuffer *buffer);

static void
gst_ssan_test_src_class_init (GstSsanTestSrcClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *basesrc_class = GST_BASE_SRC_CLASS (klass);
  GstPushSrcClass *pushsrc_class = GST_PUSH_SRC_CLASS (klass);
  GString *names = g_string_new ("Action of every clip: 'random' (each "
                                 "clip's own random class) or one of: ");
  gint i;

  for (i = 0; i < SSAN_SYNTH_N_CLASSES; i++)
    g_string_append_printf (
        names, "%s'%s'", i ? ", " : "", ssan_synth_class_name (i));

  gobject_class->finalize = gst_ssan_test_src_finalize;
  gobject_class->set_property = gst_ssan_test_src_set_property;
  gobject_class->get_property = gst_ssan_test_src_get_property;

  /* The blurb is built once per process and lives as long as the class. */
  g_object_class_install_property (gobject_class, PROP_ACTION,
      g_param_spec_string ("action", "Action", g_string_free (names, FALSE),
          DEFAULT_ACTION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SEED,
      g_param_spec_uint64 ("seed", "Seed",
          "Seed of the clips: clip k is clip k of 'ssan-synth --seed <seed>'",
          0, G_MAXUINT64, DEFAULT_SEED,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_CLIP_FRAMES,
      g_param_spec_uint ("clip-frames", "Clip frames",
          "Frames per clip (a change applies from the next clip on)", 1,
          G_MAXINT, DEFAULT_CLIP_FRAMES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ACTORS,
      g_param_spec_uint ("actors", "Actors",
          "Actors per frame, each in its own cell with its own action and a "
          "region-of-interest meta (a change applies from the next clip on)",
          1, SSAN_SYNTH_MAX_ACTORS, DEFAULT_ACTORS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_IS_LIVE,
      g_param_spec_boolean ("is-live", "Is live",
          "Act as a live source: frames are produced at their time on the "
          "clock",
          DEFAULT_IS_LIVE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  gst_element_class_set_static_metadata (element_class,
      "SSAN synthetic action source", "Source/Video",
      "Synthetic action clips with ground truth, for action recognition",
      "gst-ssan developers");
  gst_element_class_add_static_metadata (element_class, "outputs",
      "ground truth as an element message \"ssan-testsrc-clip\" when a "
      "clip starts (label, class-id, clip-index, clip-start, clip-end, "
      "seed, clip-frames) and a GstSsanClipMeta on every buffer "
      "(gst/ssan/gstssanclipmeta.h, pkg-config gstssanmeta-1.0)");
  gst_element_class_add_static_metadata (element_class, "example",
      "gst-launch-1.0 ssantestsrc seed=5 ! "
      "video/x-raw,width=640,height=480 ! videoconvert ! autovideosink");
  gst_element_class_add_static_pad_template (
      element_class, &gst_ssan_test_src_template);

  basesrc_class->fixate = GST_DEBUG_FUNCPTR (gst_ssan_test_src_fixate);
  basesrc_class->set_caps = GST_DEBUG_FUNCPTR (gst_ssan_test_src_set_caps);
  basesrc_class->decide_allocation
      = GST_DEBUG_FUNCPTR (gst_ssan_test_src_decide_allocation);
  basesrc_class->start = GST_DEBUG_FUNCPTR (gst_ssan_test_src_start);
  basesrc_class->stop = GST_DEBUG_FUNCPTR (gst_ssan_test_src_stop);
  basesrc_class->get_times = GST_DEBUG_FUNCPTR (gst_ssan_test_src_get_times);
  basesrc_class->is_seekable
      = GST_DEBUG_FUNCPTR (gst_ssan_test_src_is_seekable);
  basesrc_class->do_seek = GST_DEBUG_FUNCPTR (gst_ssan_test_src_do_seek);
  basesrc_class->query = GST_DEBUG_FUNCPTR (gst_ssan_test_src_query);
  pushsrc_class->fill = GST_DEBUG_FUNCPTR (gst_ssan_test_src_fill);

  GST_DEBUG_CATEGORY_INIT (gst_ssan_test_src_debug, "ssantestsrc", 0,
      "SSAN synthetic action source");
}

static void
gst_ssan_test_src_init (GstSsanTestSrc *self)
{
  self->action = g_strdup (DEFAULT_ACTION);
  self->seed = DEFAULT_SEED;
  self->clip_frames = DEFAULT_CLIP_FRAMES;
  self->actors = DEFAULT_ACTORS;
  gst_video_info_init (&self->info);
  gst_video_info_init (&self->rgb_info);

  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
  gst_base_src_set_live (GST_BASE_SRC (self), DEFAULT_IS_LIVE);
}

static void
gst_ssan_test_src_finalize (GObject *object)
{
  GstSsanTestSrc *self = GST_SSAN_TEST_SRC (object);

  g_free (self->action);

  G_OBJECT_CLASS (gst_ssan_test_src_parent_class)->finalize (object);
}

/* -1 for random, the class id, or -2 when the name is unknown. */
static gint
gst_ssan_test_src_parse_action (const gchar *action)
{
  gint id;

  if (action == NULL || g_strcmp0 (action, "random") == 0)
    return -1;
  id = ssan_synth_class_from_name (action);
  return id >= 0 ? id : -2;
}

static void
gst_ssan_test_src_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstSsanTestSrc *self = GST_SSAN_TEST_SRC (object);

  switch (prop_id) {
    case PROP_ACTION: {
      const gchar *action = g_value_get_string (value);

      /* an unknown name fails the stream when it starts a clip */
      if (gst_ssan_test_src_parse_action (action) == -2)
        GST_WARNING_OBJECT (self, "unknown action '%s'", action);
      GST_OBJECT_LOCK (self);
      g_free (self->action);
      self->action = g_strdup (action ? action : DEFAULT_ACTION);
      GST_OBJECT_UNLOCK (self);
      break;
    }
    case PROP_SEED:
      GST_OBJECT_LOCK (self);
      self->seed = g_value_get_uint64 (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_CLIP_FRAMES:
      GST_OBJECT_LOCK (self);
      self->clip_frames = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_IS_LIVE:
      gst_base_src_set_live (GST_BASE_SRC (self), g_value_get_boolean (value));
      break;
    case PROP_ACTORS:
      GST_OBJECT_LOCK (self);
      self->actors = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_ssan_test_src_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSsanTestSrc *self = GST_SSAN_TEST_SRC (object);

  switch (prop_id) {
    case PROP_ACTION:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->action);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SEED:
      GST_OBJECT_LOCK (self);
      g_value_set_uint64 (value, self->seed);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_CLIP_FRAMES:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->clip_frames);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_IS_LIVE:
      g_value_set_boolean (value, gst_base_src_is_live (GST_BASE_SRC (self)));
      break;
    case PROP_ACTORS:
      GST_OBJECT_LOCK (self);
      g_value_set_uint (value, self->actors);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static GstCaps *
gst_ssan_test_src_fixate (GstBaseSrc *bsrc, GstCaps *caps)
{
  GstStructure *s;

  caps = gst_caps_make_writable (caps);
  caps = gst_caps_truncate (caps);
  s = gst_caps_get_structure (caps, 0);

  /* drawn without conversion when downstream does not mind */
  gst_structure_fixate_field_string (s, "format", "RGB");
  gst_structure_fixate_field_nearest_int (s, "width", DEFAULT_WIDTH);
  gst_structure_fixate_field_nearest_int (s, "height", DEFAULT_HEIGHT);
  gst_structure_fixate_field_nearest_fraction (
      s, "framerate", DEFAULT_FPS_N, DEFAULT_FPS_D);
  if (gst_structure_has_field (s, "pixel-aspect-ratio"))
    gst_structure_fixate_field_nearest_fraction (s, "pixel-aspect-ratio", 1, 1);

  return GST_BASE_SRC_CLASS (gst_ssan_test_src_parent_class)
      ->fixate (bsrc, caps);
}

/* PTS of frame n of the stream (n may lie before the last rate change). */
static GstClockTime
gst_ssan_test_src_frame_pts (GstSsanTestSrc *self, gint64 n)
{
  gint64 d = n - (gint64)self->frame_base;
  GstClockTime dt;

  if (self->info.fps_n <= 0)
    return self->time_base;
  dt = gst_util_uint64_scale ((guint64)ABS (d),
      (guint64)self->info.fps_d * GST_SECOND, (guint64)self->info.fps_n);
  if (d >= 0)
    return self->time_base + dt;
  return dt > self->time_base ? 0 : self->time_base - dt;
}

static void
gst_ssan_test_src_free_cells (GstSsanTestSrc *self)
{
  guint k;

  for (k = 0; k < SSAN_SYNTH_MAX_ACTORS; k++)
    g_clear_pointer (&self->canvases[k], ssan_synth_canvas_free);
  self->cells_valid = FALSE;
}

static void
gst_ssan_test_src_free_conversion (GstSsanTestSrc *self)
{
  g_clear_pointer (&self->convert, gst_video_converter_free);
  gst_clear_buffer (&self->rgb);
  gst_ssan_test_src_free_cells (self);
}

/* Lays n_actors out in the negotiated frame, one canvas per cell. */
static gboolean
gst_ssan_test_src_setup_cells (GstSsanTestSrc *self)
{
  gint w = self->info.width, h = self->info.height, x, y, cw, ch;
  guint k;

  gst_ssan_test_src_free_cells (self);
  if (ssan_synth_layout ((int)self->n_actors, w, h, &self->cols, &self->rows)
      != 0)
    goto too_small;
  for (k = 0; k < self->n_actors; k++) {
    ssan_synth_cell (self->cols, self->rows, w, h, (int)k, &x, &y, &cw, &ch);
    self->canvases[k] = ssan_synth_canvas_new (cw, ch);
    if (!self->canvases[k])
      goto no_memory;
  }
  self->cells_valid = TRUE;
  return TRUE;

  /* ERRORS */
too_small : {
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Frames of %dx%d are too small for %u actors.", w, h, self->n_actors),
      ("every actor needs a cell of at least one pixel"));
  return FALSE;
}
no_memory : {
  GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
      ("Not enough memory for %dx%d frames.", w, h), (NULL));
  gst_ssan_test_src_free_cells (self);
  return FALSE;
}
}

static gboolean
gst_ssan_test_src_set_caps (GstBaseSrc *bsrc, GstCaps *caps)
{
  GstSsanTestSrc *self = GST_SSAN_TEST_SRC (bsrc);
  GstVideoInfo info;

  if (!gst_video_info_from_caps (&info, caps))
    goto invalid_caps;
  if (info.fps_n <= 0 || info.fps_d <= 0)
    goto invalid_caps;

  /* a new rate applies from the next frame on, without a jump in time */
  if (self->info.fps_n > 0) {
    self->time_base
        = gst_ssan_test_src_frame_pts (self, (gint64)self->frame_count);
    self->frame_base = self->frame_count;
  }

  gst_ssan_test_src_free_conversion (self);
  self->info = info;

  if (GST_VIDEO_INFO_FORMAT (&info) != GST_VIDEO_FORMAT_RGB) {
    GstStructure *config;

    gst_video_info_set_format (
        &self->rgb_info, GST_VIDEO_FORMAT_RGB, info.width, info.height);
    self->rgb_info.fps_n = info.fps_n;
    self->rgb_info.fps_d = info.fps_d;
    self->rgb_info.par_n = info.par_n;
    self->rgb_info.par_d = info.par_d;
    self->rgb = gst_buffer_new_allocate (NULL, self->rgb_info.size, NULL);
    if (!self->rgb)
      goto no_memory;
    /* no dither: the same seed gives the same bytes in every format */
    config = gst_structure_new ("GstVideoConverter",
        GST_VIDEO_CONVERTER_OPT_DITHER_METHOD, GST_TYPE_VIDEO_DITHER_METHOD,
        GST_VIDEO_DITHER_NONE, GST_VIDEO_CONVERTER_OPT_THREADS, G_TYPE_UINT, 1,
        NULL);
    self->convert = gst_video_converter_new (&self->rgb_info, &info, config);
    if (!self->convert)
      goto no_converter;
  }

  GST_DEBUG_OBJECT (self, "negotiated %" GST_PTR_FORMAT, caps);
  return TRUE;

  /* ERRORS */
invalid_caps : {
  GST_ERROR_OBJECT (self, "invalid caps %" GST_PTR_FORMAT, caps);
  return FALSE;
}
no_memory : {
  GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
      ("Not enough memory for %dx%d frames.", info.width, info.height), (NULL));
  gst_ssan_test_src_free_conversion (self);
  return FALSE;
}
no_converter : {
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
      ("Cannot convert RGB to %s.",
          gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (&info))),
      (NULL));
  gst_ssan_test_src_free_conversion (self);
  return FALSE;
}
}

static gboolean
gst_ssan_test_src_decide_allocation (GstBaseSrc *bsrc, GstQuery *query)
{
  GstSsanTestSrc *self = GST_SSAN_TEST_SRC (bsrc);
  GstBufferPool *pool = NULL;
  GstStructure *config;
  GstCaps *caps = NULL;
  guint size, min = 0, max = 0;
  gboolean update = gst_query_get_n_allocation_pools (query) > 0;

  if (update) {
    gst_query_parse_nth_allocation_pool (query, 0, &pool, &size, &min, &max);
    size = MAX (size, (guint)self->info.size);
  } else {
    size = self->info.size;
  }
  /* a pool of raw memory may not lay planes out as info says */
  if (pool && !GST_IS_VIDEO_BUFFER_POOL (pool))
    gst_clear_object (&pool);
  if (pool == NULL)
    pool = gst_video_buffer_pool_new ();

  config = gst_buffer_pool_get_config (pool);
  gst_query_parse_allocation (query, &caps, NULL);
  if (caps)
    gst_buffer_pool_config_set_params (config, caps, size, min, max);
  if (gst_query_find_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL))
    gst_buffer_pool_config_add_option (
        config, GST_BUFFER_POOL_OPTION_VIDEO_META);
  if (!gst_buffer_pool_set_config (pool, config)) {
    gst_object_unref (pool);
    goto config_failed;
  }

  if (update)
    gst_query_set_nth_allocation_pool (query, 0, pool, size, min, max);
  else
    gst_query_add_allocation_pool (query, pool, size, min, max);
  gst_object_unref (pool);

  return GST_BASE_SRC_CLASS (gst_ssan_test_src_parent_class)
      ->decide_allocation (bsrc, query);

  /* ERRORS */
config_failed : {
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Failed to configure the buffer pool."), (NULL));
  return FALSE;
}
}

static gboolean
gst_ssan_test_src_start (GstBaseSrc *bsrc)
{
  GstSsanTestSrc *self = GST_SSAN_TEST_SRC (bsrc);
  gchar *action;
  gint class_id;

  GST_OBJECT_LOCK (self);
  action = g_strdup (self->action);
  GST_OBJECT_UNLOCK (self);
  class_id = gst_ssan_test_src_parse_action (action);
  if (class_id == -2)
    goto unknown_action;
  g_free (action);

  gst_video_info_init (&self->info);
  self->frame_count = 0;
  self->frame_base = 0;
  self->time_base = 0;
  self->clip_index = 0;
  self->clip_frame = 0;
  self->clip_valid = FALSE;
  self->discont = TRUE;
  return TRUE;

  /* ERRORS */
unknown_action : {
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("Unknown action '%s'.", action),
      ("expected 'random' or a class name, e.g. 'moving left' "
       "(gst-inspect-1.0 ssantestsrc lists them)"));
  g_free (action);
  return FALSE;
}
}

static gboolean
gst_ssan_test_src_stop (GstBaseSrc *bsrc)
{
  GstSsanTestSrc *self = GST_SSAN_TEST_SRC (bsrc);

  gst_ssan_test_src_free_conversion (self);
  gst_video_info_init (&self->info);
  return TRUE;
}

static void
gst_ssan_test_src_get_times (
    GstBaseSrc *bsrc, GstBuffer *buffer, GstClockTime *start, GstClockTime *end)
{
  /* live: wait for each frame's time on the clock, like videotestsrc */
  if (gst_base_src_is_live (bsrc)) {
    GstClockTime ts = GST_BUFFER_PTS (buffer);

    if (GST_CLOCK_TIME_IS_VALID (ts)) {
      GstClockTime duration = GST_BUFFER_DURATION (buffer);

      if (GST_CLOCK_TIME_IS_VALID (duration))
        *end = ts + duration;
      *start = ts;
    }
  } else {
    *start = GST_CLOCK_TIME_NONE;
    *end = GST_CLOCK_TIME_NONE;
  }
}

static gboolean
gst_ssan_test_src_is_seekable (GstBaseSrc *bsrc)
{
  return TRUE;
}

static gboolean
gst_ssan_test_src_do_seek (GstBaseSrc *bsrc, GstSegment *segment)
{
  GstSsanTestSrc *self = GST_SSAN_TEST_SRC (bsrc);
  GstClockTime position;
  guint clip_frames;

  if (segment->rate < 0.0)
    return FALSE;

  position = segment->position;
  segment->time = segment->start;

  GST_OBJECT_LOCK (self);
  clip_frames = self->clip_frames;
  GST_OBJECT_UNLOCK (self);

  /* the first frame at or after position, in this rate's frame grid */
  if (self->info.fps_n > 0)
    self->frame_count = gst_util_uint64_scale_ceil (position,
        (guint64)self->info.fps_n, (guint64)self->info.fps_d * GST_SECOND);
  else
    self->frame_count = 0;
  self->frame_base = 0;
  self->time_base = 0;
  self->clip_index = self->frame_count / clip_frames;
  self->clip_frame = (guint)(self->frame_count % clip_frames);
  self->clip_valid = FALSE;
  self->discont = TRUE;
  GST_DEBUG_OBJECT (self,
      "seek to %" GST_TIME_FORMAT ": frame %" G_GUINT64_FORMAT
      ", clip %" G_GUINT64_FORMAT " frame %u",
      GST_TIME_ARGS (position), self->frame_count, self->clip_index,
      self->clip_frame);
  return TRUE;
}

static gboolean
gst_ssan_test_src_query (GstBaseSrc *bsrc, GstQuery *query)
{
  GstSsanTestSrc *self = GST_SSAN_TEST_SRC (bsrc);

  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    GstClockTime latency;

    if (self->info.fps_n <= 0)
      return FALSE;
    /* a live frame is ready one frame duration after its timestamp */
    latency = gst_util_uint64_scale (
        GST_SECOND, (guint64)self->info.fps_d, (guint64)self->info.fps_n);
    gst_query_set_latency (
        query, gst_base_src_is_live (bsrc), latency, GST_CLOCK_TIME_NONE);
    return TRUE;
  }
  return GST_BASE_SRC_CLASS (gst_ssan_test_src_parent_class)
      ->query (bsrc, query);
}

/* Draws the parameters of clip clip_index of every actor from the
 * properties as they are now, and announces them. */
static gboolean
gst_ssan_test_src_next_clip (GstSsanTestSrc *self, GstClockTime clip_start)
{
  GstClockTime clip_end;
  gchar *action;
  guint64 seed;
  guint clip_frames, actors, k;
  gint class_id;

  GST_OBJECT_LOCK (self);
  action = g_strdup (self->action);
  seed = self->seed;
  clip_frames = self->clip_frames;
  actors = self->actors;
  GST_OBJECT_UNLOCK (self);

  class_id = gst_ssan_test_src_parse_action (action);
  if (class_id == -2)
    goto unknown_action;
  g_free (action);

  /* a clip_frames changed mid-clip takes effect at the next clip; actors
   * change only between clips (at a seek: in the clip it lands in) */
  if (self->clip_frame >= clip_frames)
    clip_frames = self->clip_frame + 1;
  if (actors != self->n_actors) {
    self->n_actors = actors;
    self->cells_valid = FALSE;
  }
  for (k = 0; k < actors; k++) {
    if (ssan_synth_clip_init (&self->clips[k], seed,
            self->clip_index * actors + k, class_id, (gint)clip_frames)
        != 0)
      goto init_failed;
  }
  self->clip_seed = seed;
  self->clip_valid = TRUE;

  /* clip_end as if the clip were produced whole at this rate */
  clip_end
      = clip_start
        + gst_util_uint64_scale ((guint64)clip_frames - 1,
            (guint64)self->info.fps_d * GST_SECOND, (guint64)self->info.fps_n);
  self->clip_start = clip_start;
  self->clip_end = clip_end;

  for (k = 0; k < actors; k++) {
    const ssan_synth_clip *clip = &self->clips[k];
    GstStructure *s = gst_structure_new ("ssan-testsrc-clip", "label",
        G_TYPE_STRING, ssan_synth_class_name (clip->class_id), "class-id",
        G_TYPE_INT, clip->class_id, "clip-index", G_TYPE_UINT64,
        clip->clip_index, "clip-start", G_TYPE_UINT64, clip_start, "clip-end",
        G_TYPE_UINT64, clip_end, "seed", G_TYPE_UINT64, seed, "clip-frames",
        G_TYPE_UINT, clip_frames, "actor", G_TYPE_INT, (gint)k, NULL);

    GST_DEBUG_OBJECT (self, "clip %" G_GUINT64_FORMAT ", actor %u: %s",
        self->clip_index, k, ssan_synth_class_name (clip->class_id));
    gst_element_post_message (
        GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
  }
  return TRUE;

  /* ERRORS */
unknown_action : {
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("Unknown action '%s'.", action),
      ("expected 'random' or a class name, e.g. 'moving left'"));
  g_free (action);
  return FALSE;
}
init_failed : {
  GST_ELEMENT_ERROR (self, CORE, FAILED,
      ("Cannot set up clip %" G_GUINT64_FORMAT ".", self->clip_index), (NULL));
  return FALSE;
}
}

/* Draws the current frame of every actor into its cell of an RGB image;
 * cells without an actor are grey. */
static gint
gst_ssan_test_src_render (GstSsanTestSrc *self, guint8 *rgb, gsize stride)
{
  gint w = self->info.width, h = self->info.height, x, y, cw, ch, row;
  gint k;

  for (k = 0; k < self->cols * self->rows; k++) {
    ssan_synth_cell (self->cols, self->rows, w, h, k, &x, &y, &cw, &ch);
    if (k < (gint)self->n_actors) {
      if (ssan_synth_canvas_render (self->canvases[k], &self->clips[k],
              (int)self->clip_frame, rgb + (gsize)y * stride + 3 * (gsize)x,
              stride)
          != 0)
        return -1;
      continue;
    }
    for (row = y; row < y + ch; row++)
      memset (rgb + (gsize)row * stride + 3 * (gsize)x, 128, 3 * (gsize)cw);
  }
  return 0;
}

/* The ground truth of every actor on one buffer. */
static void
gst_ssan_test_src_add_truth (GstSsanTestSrc *self, GstBuffer *buffer)
{
  gint w = self->info.width, h = self->info.height, x, y, cw, ch;
  guint k;

  for (k = 0; k < self->n_actors; k++) {
    const ssan_synth_clip *clip = &self->clips[k];
    const gchar *label = ssan_synth_class_name (clip->class_id);
    GstVideoRegionOfInterestMeta *roi;

    gst_buffer_add_ssan_clip_meta (buffer, clip->class_id, label,
        self->clip_seed, clip->clip_index, self->clip_frame,
        (guint)clip->n_frames, self->clip_start, self->clip_end);
    if (self->n_actors < 2)
      continue;
    ssan_synth_cell (self->cols, self->rows, w, h, (int)k, &x, &y, &cw, &ch);
    roi = gst_buffer_add_video_region_of_interest_meta (
        buffer, "actor", (guint)x, (guint)y, (guint)cw, (guint)ch);
    roi->id = (gint)((1 + clip->clip_index) & G_MAXINT);
    gst_video_region_of_interest_meta_add_param (
        roi, gst_structure_new ("ssan-testsrc-actor", "actor", G_TYPE_INT,
                 (gint)k, "label", G_TYPE_STRING, label, "class-id", G_TYPE_INT,
                 clip->class_id, "clip-index", G_TYPE_UINT64, clip->clip_index,
                 NULL));
  }
}

static GstFlowReturn
gst_ssan_test_src_fill (GstPushSrc *psrc, GstBuffer *buffer)
{
  GstSsanTestSrc *self = GST_SSAN_TEST_SRC (psrc);
  GstVideoFrame frame, rgb_frame;
  GstClockTime pts, next;
  int ret;

  if (G_UNLIKELY (self->info.fps_n <= 0))
    goto not_negotiated;

  pts = gst_ssan_test_src_frame_pts (self, (gint64)self->frame_count);
  next = gst_ssan_test_src_frame_pts (self, (gint64)self->frame_count + 1);

  if (!self->clip_valid
      && !gst_ssan_test_src_next_clip (
          self, gst_ssan_test_src_frame_pts (
                    self, (gint64)self->frame_count - self->clip_frame)))
    return GST_FLOW_ERROR;
  if (!self->cells_valid && !gst_ssan_test_src_setup_cells (self))
    return GST_FLOW_ERROR;

  if (!gst_video_frame_map (&frame, &self->info, buffer, GST_MAP_WRITE))
    goto map_failed;
  if (self->convert) {
    if (!gst_video_frame_map (
            &rgb_frame, &self->rgb_info, self->rgb, GST_MAP_WRITE)) {
      gst_video_frame_unmap (&frame);
      goto map_failed;
    }
    ret = gst_ssan_test_src_render (self,
        GST_VIDEO_FRAME_PLANE_DATA (&rgb_frame, 0),
        GST_VIDEO_FRAME_PLANE_STRIDE (&rgb_frame, 0));
    if (ret == 0)
      gst_video_converter_frame (self->convert, &rgb_frame, &frame);
    gst_video_frame_unmap (&rgb_frame);
  } else {
    ret = gst_ssan_test_src_render (self,
        GST_VIDEO_FRAME_PLANE_DATA (&frame, 0),
        GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0));
  }
  gst_video_frame_unmap (&frame);
  if (ret != 0)
    goto render_failed;

  GST_BUFFER_PTS (buffer) = pts;
  GST_BUFFER_DTS (buffer) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION (buffer) = next - pts;
  GST_BUFFER_OFFSET (buffer) = self->frame_count;
  GST_BUFFER_OFFSET_END (buffer) = self->frame_count + 1;
  if (self->discont)
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DISCONT);
  else
    GST_BUFFER_FLAG_UNSET (buffer, GST_BUFFER_FLAG_DISCONT);
  self->discont = FALSE;

  gst_ssan_test_src_add_truth (self, buffer);

  self->frame_count++;
  self->clip_frame++;
  if (self->clip_frame >= (guint)self->clips[0].n_frames) {
    self->clip_index++;
    self->clip_frame = 0;
    self->clip_valid = FALSE;
  }
  return GST_FLOW_OK;

  /* ERRORS */
not_negotiated : {
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
      ("format wasn't negotiated before fill"));
  return GST_FLOW_NOT_NEGOTIATED;
}
map_failed : {
  GST_ELEMENT_ERROR (
      self, RESOURCE, WRITE, (NULL), ("cannot map the output buffer"));
  return GST_FLOW_ERROR;
}
render_failed : {
  GST_ELEMENT_ERROR (self, CORE, FAILED, (NULL),
      ("cannot render frame %u of clip %" G_GUINT64_FORMAT " at %dx%d",
          self->clip_frame, self->clip_index, self->info.width,
          self->info.height));
  return GST_FLOW_ERROR;
}
}
