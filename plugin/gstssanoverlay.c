/* GStreamer SSAN overlay: draws the recognised action onto the video.
 *
 * SECTION:element-ssanoverlay
 * @title: ssanoverlay
 *
 * Reads the #GstSsanActionMeta that ssanaction attaches and draws, in a
 * dark translucent box at the top left: the current action and its
 * confidence, the top-k classes as bars with their percentages, and the
 * element, model, window and inference time.  With several ssanaction
 * elements upstream (two models side by side) their boxes are stacked, one
 * per element in the order of their names; #GstSsanOverlay:element draws
 * only the named one's.  With #GstSsanOverlay:show-truth and
 * ssantestsrc's #GstSsanClipMeta on the frames: a box at the bottom left
 * says what the current frame truly shows, and the action box says whether
 * the result matches the truth of the clip its window covered (a result
 * arrives when its window ends, so it may describe the previous clip).
 *
 * Per object (ssanaction inference-region=roi): every
 * #GstVideoRegionOfInterestMeta carrying an "ssan-action" param gets its
 * box outlined in its class's colour and a tag with the label and
 * confidence at its top left: inside a box at least four tags tall (boxes
 * side by side keep their tags apart), else just above it.  With
 * show-truth, a tag of an ssantestsrc actor (its "ssan-testsrc-actor"
 * param) also names the actor's true action on a second line, and the frame's
 * truth box is left out when the frame holds several actors. A tag is drawn
 * again only when the object's result changes, an outline when the box's size
 * or the class changes; a box that only moves is moved.
 *
 * The boxes are drawn with Pango and Cairo into ARGB rectangles of a
 * #GstVideoOverlayComposition.  When downstream negotiates the
 * `meta:GstVideoOverlayComposition` caps feature and asks for the meta in
 * the allocation query (e.g. a sink that draws overlays itself), the
 * composition is attached to the buffer and the pixels stay untouched;
 * otherwise it is blended onto the frame, in any raw format of the caps.  They
 * are drawn again only when the result, the truth or a property changes, not
 * per frame.  A result older than its window fades out over one more window
 * duration (age = PTS of the frame minus the result's window_end, both as
 * running time): a stalled or skipping recogniser shows as such.  Frames
 * without either meta pass through untouched.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 ssantestsrc num-buffers=192 ! \
 *     video/x-raw,width=640,height=480 ! \
 *     ssanaction model=models/ssan-demo.safetensors ! ssanoverlay ! \
 *     videoconvert ! vp8enc ! webmmux ! filesink location=annotated.webm
 * ]| Six clips, recognised and annotated, into a WebM file.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <string.h>

#include "gstssanoverlay.h"
#include "gstssanclipmeta.h"

GST_DEBUG_CATEGORY_STATIC (gst_ssan_overlay_debug);
#define GST_CAT_DEFAULT gst_ssan_overlay_debug

enum {
  PROP_0,
  PROP_SHOW_TRUTH,
  PROP_TOP_K,
  PROP_FADE,
  PROP_FONT_DESC,
  PROP_ELEMENT,
};

#define DEFAULT_SHOW_TRUTH TRUE
#define DEFAULT_TOP_K 3
#define DEFAULT_FADE TRUE
#define DEFAULT_FONT_DESC "Sans"
#define DEFAULT_ELEMENT NULL

#define MAX_TOP_K 16

/* Formats gst_video_overlay_composition_blend() draws on. */
#define OVERLAY_FORMATS                                                        \
  "{ I420, YV12, NV12, NV21, Y42B, Y444, Y41B, YUY2, "                         \
  "UYVY, YVYU, AYUV, v308, RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA, "     \
  "ARGB, ABGR, GRAY8 }"

/* With the overlay composition feature, downstream may draw the boxes
 * itself (attached as a meta); the formats stay blendable for when it
 * does not ask for the meta after all. */
#define OVERLAY_CAPS                                                           \
  GST_VIDEO_CAPS_MAKE_WITH_FEATURES (GST_CAPS_FEATURE_MEMORY_SYSTEM_MEMORY     \
      ", " GST_CAPS_FEATURE_META_GST_VIDEO_OVERLAY_COMPOSITION,                \
      OVERLAY_FORMATS)                                                         \
  ";" GST_VIDEO_CAPS_MAKE (OVERLAY_FORMATS)

static GstStaticPadTemplate gst_ssan_overlay_sink_template
    = GST_STATIC_PAD_TEMPLATE (
        "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (OVERLAY_CAPS));

static GstStaticPadTemplate gst_ssan_overlay_src_template
    = GST_STATIC_PAD_TEMPLATE (
        "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (OVERLAY_CAPS));

G_DEFINE_TYPE (GstSsanOverlay, gst_ssan_overlay, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (
    ssanoverlay, "ssanoverlay", GST_RANK_NONE, GST_TYPE_SSAN_OVERLAY);

static void gst_ssan_overlay_finalize (GObject *object);
static void gst_ssan_overlay_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec);
static void gst_ssan_overlay_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec);
static gboolean gst_ssan_overlay_start (GstBaseTransform *trans);
static gboolean gst_ssan_overlay_stop (GstBaseTransform *trans);
static gboolean gst_ssan_overlay_set_info (GstVideoFilter *filter,
    GstCaps *incaps, GstVideoInfo *in_info, GstCaps *outcaps,
    GstVideoInfo *out_info);
static GstCaps *gst_ssan_overlay_transform_caps (GstBaseTransform *trans,
    GstPadDirection direction, GstCaps *caps, GstCaps *filter);
static GstFlowReturn gst_ssan_overlay_transform_frame_ip (
    GstVideoFilter *filter, GstVideoFrame *frame);

static void
gst_ssan_overlay_class_init (GstSsanOverlayClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  gobject_class->finalize = gst_ssan_overlay_finalize;
  gobject_class->set_property = gst_ssan_overlay_set_property;
  gobject_class->get_property = gst_ssan_overlay_get_property;

  g_object_class_install_property (gobject_class, PROP_SHOW_TRUTH,
      g_param_spec_boolean ("show-truth", "Show truth",
          "Draw the ground truth of ssantestsrc (GstSsanClipMeta) when the "
          "frame carries it",
          DEFAULT_SHOW_TRUTH,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_TOP_K,
      g_param_spec_uint ("top-k", "Top k",
          "Most probable classes drawn as bars (at most as many as the "
          "result holds; 0: none)",
          0, MAX_TOP_K, DEFAULT_TOP_K,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_FADE,
      g_param_spec_boolean ("fade", "Fade",
          "Fade a result out once it is older than its window, over one more "
          "window duration",
          DEFAULT_FADE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_FONT_DESC,
      g_param_spec_string ("font-desc", "Font description",
          "Pango font family and style, e.g. \"Sans\" or \"Serif Italic\"; "
          "the size follows the frame height",
          DEFAULT_FONT_DESC,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_ELEMENT,
      g_param_spec_string ("element", "Element",
          "Name of the ssanaction element whose result to draw (NULL or "
          "empty: every one's, stacked, at most " G_STRINGIFY (
              GST_SSAN_OVERLAY_MAX_PANELS) ")",
          DEFAULT_ELEMENT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
              | GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_set_static_metadata (element_class, "SSAN action overlay",
      "Filter/Effect/Video",
      "Draws the recognised action, its confidence and the top classes",
      "gst-ssan developers");
  gst_element_class_add_static_metadata (element_class, "inputs",
      "the GstSsanActionMeta of each ssanaction upstream (one box per "
      "element, stacked; see the element property) and ssantestsrc's "
      "GstSsanClipMeta (show-truth)");
  gst_element_class_add_static_metadata (element_class, "example",
      "gst-launch-1.0 ssantestsrc ! video/x-raw,width=640,height=480 ! "
      "ssanaction model=models/ssan-demo.safetensors ! ssanoverlay ! "
      "videoconvert ! autovideosink");
  gst_element_class_add_static_pad_template (
      element_class, &gst_ssan_overlay_sink_template);
  gst_element_class_add_static_pad_template (
      element_class, &gst_ssan_overlay_src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_ssan_overlay_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_ssan_overlay_stop);
  trans_class->transform_caps
      = GST_DEBUG_FUNCPTR (gst_ssan_overlay_transform_caps);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_ssan_overlay_set_info);
  filter_class->transform_frame_ip
      = GST_DEBUG_FUNCPTR (gst_ssan_overlay_transform_frame_ip);

  GST_DEBUG_CATEGORY_INIT (
      gst_ssan_overlay_debug, "ssanoverlay", 0, "SSAN action overlay");
}

static void
gst_ssan_overlay_init (GstSsanOverlay *self)
{
  self->show_truth = DEFAULT_SHOW_TRUTH;
  self->top_k = DEFAULT_TOP_K;
  self->fade = DEFAULT_FADE;
  self->font_desc = g_strdup (DEFAULT_FONT_DESC);
  /* the feature, when downstream takes it, is worth a caps change */
  gst_base_transform_set_prefer_passthrough (GST_BASE_TRANSFORM (self), FALSE);
}

static void
gst_ssan_overlay_clear_panels (GstSsanOverlay *self, guint from)
{
  guint i;

  for (i = from; i < self->n_panels; i++) {
    g_clear_pointer (&self->panels[i].result, gst_ssan_action_result_unref);
    g_clear_pointer (&self->panels[i].rect, gst_video_overlay_rectangle_unref);
  }
  self->n_panels = MIN (self->n_panels, from);
}

static void
gst_ssan_overlay_clear_object (GstSsanOverlay *self, guint i)
{
  g_clear_pointer (&self->objects[i].element, g_free);
  g_clear_pointer (&self->objects[i].tag, gst_video_overlay_rectangle_unref);
  g_clear_pointer (&self->objects[i].edge, gst_video_overlay_rectangle_unref);
}

static void
gst_ssan_overlay_clear (GstSsanOverlay *self)
{
  guint i;

  gst_ssan_overlay_clear_panels (self, 0);
  for (i = 0; i < self->n_objects; i++)
    gst_ssan_overlay_clear_object (self, i);
  self->n_objects = 0;
  g_clear_pointer (&self->truth_rect, gst_video_overlay_rectangle_unref);
  g_clear_pointer (&self->composition, gst_video_overlay_composition_unref);
  self->drawn_truth = NULL;
}

static void
gst_ssan_overlay_finalize (GObject *object)
{
  GstSsanOverlay *self = GST_SSAN_OVERLAY (object);

  gst_ssan_overlay_clear (self);
  g_clear_object (&self->layout);
  g_clear_object (&self->pango);
  g_clear_object (&self->font_map);
  g_free (self->font_desc);
  g_free (self->element);

  G_OBJECT_CLASS (gst_ssan_overlay_parent_class)->finalize (object);
}

static void
gst_ssan_overlay_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstSsanOverlay *self = GST_SSAN_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SHOW_TRUTH:
      self->show_truth = g_value_get_boolean (value);
      break;
    case PROP_TOP_K:
      self->top_k = g_value_get_uint (value);
      break;
    case PROP_FADE:
      self->fade = g_value_get_boolean (value);
      break;
    case PROP_FONT_DESC:
      g_free (self->font_desc);
      self->font_desc = g_value_dup_string (value);
      if (!self->font_desc)
        self->font_desc = g_strdup (DEFAULT_FONT_DESC);
      break;
    case PROP_ELEMENT:
      g_free (self->element);
      self->element = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  self->settings_changed = TRUE;
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ssan_overlay_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSsanOverlay *self = GST_SSAN_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SHOW_TRUTH:
      g_value_set_boolean (value, self->show_truth);
      break;
    case PROP_TOP_K:
      g_value_set_uint (value, self->top_k);
      break;
    case PROP_FADE:
      g_value_set_boolean (value, self->fade);
      break;
    case PROP_FONT_DESC:
      g_value_set_string (value, self->font_desc);
      break;
    case PROP_ELEMENT:
      g_value_set_string (value, self->element);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_ssan_overlay_start (GstBaseTransform *trans)
{
  GstSsanOverlay *self = GST_SSAN_OVERLAY (trans);

  /* a font map of our own: Pango's default one is per thread */
  if (!self->font_map) {
    self->font_map = pango_cairo_font_map_new ();
    self->pango = pango_font_map_create_context (self->font_map);
    self->layout = pango_layout_new (self->pango);
  }
  gst_ssan_overlay_clear (self);
  self->width = self->height = 0;
  g_atomic_int_set (&self->plain_only, FALSE);
  self->n_clips = 0;
  self->clip_head = 0;
  return TRUE;
}

static gboolean
gst_ssan_overlay_stop (GstBaseTransform *trans)
{
  gst_ssan_overlay_clear (GST_SSAN_OVERLAY (trans));
  return TRUE;
}

static gboolean
gst_ssan_overlay_set_info (GstVideoFilter *filter, GstCaps *incaps,
    GstVideoInfo *in_info, GstCaps *outcaps, GstVideoInfo *out_info)
{
  GstSsanOverlay *self = GST_SSAN_OVERLAY (filter);

  /* the boxes are sized for the frame, whatever its format or features */
  if (GST_VIDEO_INFO_WIDTH (out_info) != self->width
      || GST_VIDEO_INFO_HEIGHT (out_info) != self->height) {
    gst_ssan_overlay_clear (self);
    self->width = GST_VIDEO_INFO_WIDTH (out_info);
    self->height = GST_VIDEO_INFO_HEIGHT (out_info);
  }
  self->attach_checked = FALSE;
  return TRUE;
}

/* Towards downstream, the same caps with the overlay composition feature
 * first (preferred) and as they are; towards upstream, as they are and
 * without the feature. */
static GstCaps *
gst_ssan_overlay_transform_caps (GstBaseTransform *trans,
    GstPadDirection direction, GstCaps *caps, GstCaps *filter)
{
  GstSsanOverlay *self = GST_SSAN_OVERLAY (trans);
  GstCaps *ret = gst_caps_new_empty ();
  guint i;

  for (i = 0; i < gst_caps_get_size (caps); i++) {
    GstStructure *s = gst_caps_get_structure (caps, i);
    GstCapsFeatures *f = gst_caps_get_features (caps, i);
    GstCapsFeatures *nf;

    if (gst_caps_features_is_any (f)) {
      ret = gst_caps_merge_structure_full (
          ret, gst_structure_copy (s), gst_caps_features_copy (f));
      continue;
    }
    nf = gst_caps_features_copy (f);
    if (direction == GST_PAD_SINK) {
      if (!gst_caps_features_contains (
              nf, GST_CAPS_FEATURE_META_GST_VIDEO_OVERLAY_COMPOSITION))
        gst_caps_features_add (
            nf, GST_CAPS_FEATURE_META_GST_VIDEO_OVERLAY_COMPOSITION);
      if (!g_atomic_int_get (&self->plain_only))
        ret = gst_caps_merge_structure_full (ret, gst_structure_copy (s), nf);
      else
        gst_caps_features_free (nf);
      ret = gst_caps_merge_structure_full (
          ret, gst_structure_copy (s), gst_caps_features_copy (f));
    } else {
      ret = gst_caps_merge_structure_full (
          ret, gst_structure_copy (s), gst_caps_features_copy (f));
      gst_caps_features_remove (
          nf, GST_CAPS_FEATURE_META_GST_VIDEO_OVERLAY_COMPOSITION);
      if (gst_caps_features_get_size (nf) == 0) {
        gst_caps_features_free (nf);
        nf = gst_caps_features_new_single (
            GST_CAPS_FEATURE_MEMORY_SYSTEM_MEMORY);
      }
      ret = gst_caps_merge_structure_full (ret, gst_structure_copy (s), nf);
    }
  }

  if (filter) {
    GstCaps *tmp
        = gst_caps_intersect_full (filter, ret, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (ret);
    ret = tmp;
  }
  GST_DEBUG_OBJECT (trans, "%s caps %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT,
      direction == GST_PAD_SINK ? "sink" : "src", caps, ret);
  return ret;
}

/* Attach the composition instead of blending it when downstream both
 * negotiated the feature and asks for the meta.  Asked at the first buffer
 * after a caps change: an in-place transform never decides an allocation
 * of its own, and downstream knows its caps only then. */
static void
gst_ssan_overlay_check_attach (GstSsanOverlay *self)
{
  GstPad *srcpad = GST_BASE_TRANSFORM_SRC_PAD (self);
  GstCaps *caps = gst_pad_get_current_caps (srcpad);

  self->attach = FALSE;
  if (caps && gst_caps_get_size (caps) > 0
      && gst_caps_features_contains (gst_caps_get_features (caps, 0),
          GST_CAPS_FEATURE_META_GST_VIDEO_OVERLAY_COMPOSITION)) {
    GstQuery *query = gst_query_new_allocation (caps, FALSE);

    if (gst_pad_peer_query (srcpad, query))
      self->attach = gst_query_find_allocation_meta (
          query, GST_VIDEO_OVERLAY_COMPOSITION_META_API_TYPE, NULL);
    gst_query_unref (query);
    /* accepting the feature but not the meta (fakesink): negotiate plain
     * caps from the next buffer on, as textoverlay does */
    if (!self->attach) {
      g_atomic_int_set (&self->plain_only, TRUE);
      gst_base_transform_reconfigure_src (GST_BASE_TRANSFORM (self));
    }
  }
  gst_clear_caps (&caps);
  self->attach_checked = TRUE;
  GST_DEBUG_OBJECT (
      self, "%s the overlay", self->attach ? "attaching" : "blending");
}

/* ---- drawing */

typedef struct {
  gboolean show_truth;
  guint top_k;
  gboolean fade;
  gchar *font_desc;
  gchar *element;
} Settings;

static void
gst_ssan_overlay_set_text (GstSsanOverlay *self, const Settings *st,
    const gchar *text, gdouble px, gboolean bold, gint *w, gint *h)
{
  PangoFontDescription *desc
      = pango_font_description_from_string (st->font_desc);
  PangoRectangle logical;

  pango_font_description_set_absolute_size (desc, px * PANGO_SCALE);
  if (bold)
    pango_font_description_set_weight (desc, PANGO_WEIGHT_BOLD);
  pango_layout_set_font_description (self->layout, desc);
  pango_font_description_free (desc);
  pango_layout_set_text (self->layout, text, -1);
  pango_layout_get_pixel_extents (self->layout, NULL, &logical);
  if (w)
    *w = logical.width;
  if (h)
    *h = logical.height;
}

static void
gst_ssan_overlay_show_text (GstSsanOverlay *self, const Settings *st,
    cairo_t *cr, const gchar *text, gdouble px, gboolean bold, gdouble x,
    gdouble y, gdouble r, gdouble g, gdouble b, gdouble a)
{
  gst_ssan_overlay_set_text (self, st, text, px, bold, NULL, NULL);
  cairo_set_source_rgba (cr, r, g, b, a);
  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, self->layout);
}

static void
rounded_rect (
    cairo_t *cr, gdouble x, gdouble y, gdouble w, gdouble h, gdouble r)
{
  r = MIN (r, MIN (w, h) / 2.0);
  cairo_new_sub_path (cr);
  cairo_arc (cr, x + w - r, y + r, r, -G_PI / 2, 0);
  cairo_arc (cr, x + w - r, y + h - r, r, 0, G_PI / 2);
  cairo_arc (cr, x + r, y + h - r, r, G_PI / 2, G_PI);
  cairo_arc (cr, x + r, y + r, r, G_PI, 3 * G_PI / 2);
  cairo_close_path (cr);
}

/* Text size for a frame: readable at 320x240, not huge at 1080p. */
static gdouble
base_size (const GstVideoInfo *info)
{
  gdouble s = MIN (
      GST_VIDEO_INFO_HEIGHT (info) / 26.0, GST_VIDEO_INFO_WIDTH (info) / 34.0);
  return CLAMP (s, 7.0, 36.0);
}

/* Wraps a Cairo ARGB32 surface (premultiplied, native endian: the
 * composition's own format) into a rectangle at (x, y). */
static GstVideoOverlayRectangle *
rectangle_from_surface (cairo_surface_t *surface, gint x, gint y)
{
  gint w = cairo_image_surface_get_width (surface);
  gint h = cairo_image_surface_get_height (surface);
  gint stride = cairo_image_surface_get_stride (surface);
  gsize offset[GST_VIDEO_MAX_PLANES] = { 0 };
  gint strides[GST_VIDEO_MAX_PLANES] = { stride };
  GstBuffer *buf;
  GstVideoOverlayRectangle *rect;

  cairo_surface_flush (surface);
  buf = gst_buffer_new_memdup (
      cairo_image_surface_get_data (surface), (gsize)stride * h);
  gst_buffer_add_video_meta_full (buf, GST_VIDEO_FRAME_FLAG_NONE,
      GST_VIDEO_OVERLAY_COMPOSITION_FORMAT_RGB, w, h, 1, offset, strides);
  rect = gst_video_overlay_rectangle_new_raw (
      buf, x, y, w, h, GST_VIDEO_OVERLAY_FORMAT_FLAG_PREMULTIPLIED_ALPHA);
  gst_buffer_unref (buf);
  return rect;
}

/* "element · model · window N · t ms", each part when known; the model as
 * its file name without directory and extension. */
static gchar *
gst_ssan_overlay_foot (const GstSsanActionResult *res)
{
  GString *foot = g_string_new (NULL);

  if (res->element && res->element[0])
    g_string_append_printf (foot, "%s \xc2\xb7 ", res->element);
  if (res->model && res->model[0]) {
    gchar *base = g_path_get_basename (res->model), *dot = strrchr (base, '.');

    if (dot && dot != base)
      *dot = '\0';
    g_string_append_printf (foot, "%s \xc2\xb7 ", base);
    g_free (base);
  }
  g_string_append_printf (foot, "window %" G_GUINT64_FORMAT, res->window_index);
  if (GST_CLOCK_TIME_IS_VALID (res->inference_time))
    g_string_append_printf (
        foot, " \xc2\xb7 %.1f ms", res->inference_time / 1e6);
  return g_string_free (foot, FALSE);
}

/* The action box: label and confidence, top-k bars, window and time. */
static GstVideoOverlayRectangle *
gst_ssan_overlay_draw_action (GstSsanOverlay *self, const Settings *st,
    const GstSsanActionResult *res, const gchar *truth,
    const GstVideoInfo *info)
{
  gdouble base = base_size (info);
  gdouble pad = 0.55 * base, gap = 0.45 * base, title_px = 1.3 * base;
  gdouble row_px = 0.8 * base, foot_px = 0.62 * base, bar_h = 0.62 * base;
  gdouble bar_w = 6.0 * base, row_h, y;
  guint n = MIN (st->top_k, res->n_top), i;
  gint title_w, title_h, conf_w, conf_h, lab_w = 0, pct_w, text_h, foot_w,
                                         foot_h, w, h, tw, th;
  gboolean none = res->class_id < 0;
  const gchar *title = none ? "no action" : res->label;
  gchar conf[32], *foot, pct[16], *verdict = NULL;
  gboolean match = FALSE;
  gint verdict_w = 0, verdict_h = 0;
  cairo_surface_t *surface;
  cairo_t *cr;
  GstVideoOverlayRectangle *rect;

  g_snprintf (conf, sizeof conf, "%.0f%%", 100.0 * res->confidence);
  foot = gst_ssan_overlay_foot (res);

  if (truth) {
    match = !none && g_strcmp0 (res->label, truth) == 0;
    verdict = match ? g_strdup ("\xe2\x9c\x93 matches the truth")
                    : g_strdup_printf ("\xe2\x9c\x97 true: %s", truth);
  }

  /* measure */
  gst_ssan_overlay_set_text (
      self, st, title, title_px, TRUE, &title_w, &title_h);
  gst_ssan_overlay_set_text (self, st, conf, title_px, FALSE, &conf_w, &conf_h);
  gst_ssan_overlay_set_text (self, st, "100%", row_px, FALSE, &pct_w, &text_h);
  for (i = 0; i < n; i++) {
    gst_ssan_overlay_set_text (
        self, st, res->top_labels[i], row_px, FALSE, &tw, &th);
    lab_w = MAX (lab_w, tw);
  }
  gst_ssan_overlay_set_text (self, st, foot, foot_px, FALSE, &foot_w, &foot_h);
  if (verdict)
    gst_ssan_overlay_set_text (
        self, st, verdict, row_px, TRUE, &verdict_w, &verdict_h);
  row_h = MAX (text_h, bar_h) + 0.15 * base;
  w = (gint)ceil (2 * pad
                  + MAX (MAX (title_w + 1.5 * gap + conf_w,
                             n ? lab_w + gap + bar_w + gap + pct_w : 0),
                      MAX (foot_w, verdict_w)));
  h = (gint)ceil (2 * pad + MAX (title_h, conf_h)
                  + (n ? 0.35 * base + n * row_h : 0) + 0.25 * base + foot_h
                  + (verdict ? 0.15 * base + verdict_h : 0));
  w = MIN (w, GST_VIDEO_INFO_WIDTH (info));
  h = MIN (h, GST_VIDEO_INFO_HEIGHT (info));

  /* draw */
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  cr = cairo_create (surface);
  pango_cairo_update_context (cr, self->pango);
  pango_layout_context_changed (self->layout);

  rounded_rect (cr, 0.5, 0.5, w - 1.0, h - 1.0, 0.5 * base);
  cairo_set_source_rgba (cr, 0.06, 0.07, 0.09, 0.72);
  cairo_fill_preserve (cr);
  cairo_set_source_rgba (cr, 1, 1, 1, 0.18);
  cairo_set_line_width (cr, 1.0);
  cairo_stroke (cr);

  y = pad;
  if (none)
    gst_ssan_overlay_show_text (
        self, st, cr, title, title_px, TRUE, pad, y, 0.75, 0.75, 0.75, 1);
  else
    gst_ssan_overlay_show_text (
        self, st, cr, title, title_px, TRUE, pad, y, 1, 1, 1, 1);
  gst_ssan_overlay_show_text (self, st, cr, conf, title_px, FALSE,
      w - pad - conf_w, y, 0.45, 0.80, 1.0, none ? 0.6 : 1.0);
  y += MAX (title_h, conf_h) + 0.35 * base;

  for (i = 0; i < n; i++) {
    gdouble bx = pad + lab_w + gap, by = y + (row_h - bar_h) / 2.0;
    gdouble score = CLAMP (res->top_scores[i], 0.0, 1.0);
    gboolean top = !none && res->top_ids[i] == res->class_id;
    gint pw;

    gst_ssan_overlay_show_text (self, st, cr, res->top_labels[i], row_px, FALSE,
        pad, y + (row_h - text_h) / 2.0, 0.92, 0.92, 0.92, 1);
    rounded_rect (cr, bx, by, bar_w, bar_h, bar_h / 3.0);
    cairo_set_source_rgba (cr, 1, 1, 1, 0.14);
    cairo_fill (cr);
    if (score > 0.0) {
      rounded_rect (cr, bx, by, MAX (bar_w * score, 1.0), bar_h, bar_h / 3.0);
      if (top)
        cairo_set_source_rgba (cr, 0.30, 0.74, 0.98, 1);
      else
        cairo_set_source_rgba (cr, 0.62, 0.66, 0.74, 0.95);
      cairo_fill (cr);
    }
    g_snprintf (pct, sizeof pct, "%.0f%%", 100.0 * score);
    gst_ssan_overlay_set_text (self, st, pct, row_px, FALSE, &pw, NULL);
    gst_ssan_overlay_show_text (self, st, cr, pct, row_px, FALSE,
        bx + bar_w + gap + pct_w - pw, y + (row_h - text_h) / 2.0, 0.92, 0.92,
        0.92, 1);
    y += row_h;
  }
  y += 0.25 * base;
  if (verdict) {
    if (match)
      gst_ssan_overlay_show_text (
          self, st, cr, verdict, row_px, TRUE, pad, y, 0.40, 0.88, 0.45, 1);
    else
      gst_ssan_overlay_show_text (
          self, st, cr, verdict, row_px, TRUE, pad, y, 1.0, 0.45, 0.38, 1);
    y += verdict_h + 0.15 * base;
  }
  gst_ssan_overlay_show_text (
      self, st, cr, foot, foot_px, FALSE, pad, y, 0.7, 0.7, 0.72, 1);
  g_free (verdict);
  g_free (foot);

  cairo_destroy (cr);
  rect = rectangle_from_surface (
      surface, (gint)(0.6 * base), (gint)(0.6 * base));
  cairo_surface_destroy (surface);
  return rect;
}

/* The truth box: "true: <label>" of the current frame. */
static GstVideoOverlayRectangle *
gst_ssan_overlay_draw_truth (GstSsanOverlay *self, const Settings *st,
    const gchar *truth, const GstVideoInfo *info)
{
  gdouble base = base_size (info), px = 0.85 * base, pad = 0.45 * base;
  gdouble dot = 0.55 * base;
  gchar *text = g_strdup_printf ("true: %s", truth);
  gint tw, th, w, h, y;
  cairo_surface_t *surface;
  cairo_t *cr;
  GstVideoOverlayRectangle *rect;

  gst_ssan_overlay_set_text (self, st, text, px, FALSE, &tw, &th);
  w = MIN ((gint)ceil (3 * pad + dot + tw), GST_VIDEO_INFO_WIDTH (info));
  h = MIN ((gint)ceil (2 * pad + th), GST_VIDEO_INFO_HEIGHT (info));

  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  cr = cairo_create (surface);
  pango_cairo_update_context (cr, self->pango);
  pango_layout_context_changed (self->layout);

  rounded_rect (cr, 0.5, 0.5, w - 1.0, h - 1.0, 0.45 * base);
  cairo_set_source_rgba (cr, 0.06, 0.07, 0.09, 0.72);
  cairo_fill (cr);
  cairo_arc (cr, pad + dot / 2, h / 2.0, dot / 2, 0, 2 * G_PI);
  cairo_set_source_rgba (cr, 0.95, 0.80, 0.30, 1);
  cairo_fill (cr);
  gst_ssan_overlay_show_text (
      self, st, cr, text, px, FALSE, 2 * pad + dot, pad, 0.92, 0.92, 0.92, 1);

  cairo_destroy (cr);
  y = GST_VIDEO_INFO_HEIGHT (info) - h - (gint)(0.6 * base);
  rect = rectangle_from_surface (surface, (gint)(0.6 * base), MAX (y, 0));
  cairo_surface_destroy (surface);
  g_free (text);
  return rect;
}

/* Remembers which clip each PTS range showed. */
static void
gst_ssan_overlay_note_clip (GstSsanOverlay *self, const GstSsanClipMeta *cm)
{
  guint last = (self->clip_head + G_N_ELEMENTS (self->clips) - 1)
               % G_N_ELEMENTS (self->clips);

  if (self->n_clips > 0 && self->clips[last].start == cm->clip_start
      && self->clips[last].label == cm->label)
    return;
  self->clips[self->clip_head].start = cm->clip_start;
  self->clips[self->clip_head].end = cm->clip_end;
  self->clips[self->clip_head].label = cm->label;
  self->clip_head = (self->clip_head + 1) % G_N_ELEMENTS (self->clips);
  self->n_clips = MIN (self->n_clips + 1, G_N_ELEMENTS (self->clips));
}

/* The truth of the clip holding the middle of the result's window. */
static const gchar *
gst_ssan_overlay_window_truth (
    GstSsanOverlay *self, const GstSsanActionResult *res)
{
  GstClockTime mid;
  guint i;

  if (!GST_CLOCK_TIME_IS_VALID (res->window_start)
      || !GST_CLOCK_TIME_IS_VALID (res->window_end)
      || res->window_end < res->window_start)
    return NULL;
  mid = res->window_start + (res->window_end - res->window_start) / 2;
  for (i = 0; i < self->n_clips; i++) {
    if (GST_CLOCK_TIME_IS_VALID (self->clips[i].start)
        && GST_CLOCK_TIME_IS_VALID (self->clips[i].end)
        && self->clips[i].start <= mid && mid <= self->clips[i].end)
      return self->clips[i].label;
  }
  return NULL;
}

/* 1 while the result is at most one window old, then down to 0 over one
 * more window. */
static gfloat
gst_ssan_overlay_alpha (
    GstSsanOverlay *self, const GstSsanActionResult *res, GstClockTime pts)
{
  GstSegment *seg = &GST_BASE_TRANSFORM (self)->segment;
  GstClockTime now, end, win;

  if (!GST_CLOCK_TIME_IS_VALID (pts)
      || !GST_CLOCK_TIME_IS_VALID (res->window_end))
    return 1.0f;
  now = gst_segment_to_running_time (seg, GST_FORMAT_TIME, pts);
  end = gst_segment_to_running_time (seg, GST_FORMAT_TIME, res->window_end);
  if (!GST_CLOCK_TIME_IS_VALID (now) || !GST_CLOCK_TIME_IS_VALID (end)
      || now <= end)
    return 1.0f;
  win = GST_SECOND;
  if (GST_CLOCK_TIME_IS_VALID (res->window_start)
      && res->window_end > res->window_start)
    win = res->window_end - res->window_start;
  if (now - end <= win)
    return 1.0f;
  if (now - end >= 2 * win)
    return 0.0f;
  return 1.0f - (gfloat)(now - end - win) / (gfloat)win;
}

/* The action metas to draw, sorted by element name (a stable order: copies
 * of a buffer may list metas in another order). */
static guint
gst_ssan_overlay_collect (
    GstBuffer *buf, const gchar *element, GstSsanActionResult **res)
{
  gpointer state = NULL;
  GstMeta *meta;
  guint n = 0, i;

  while ((meta = gst_buffer_iterate_meta_filtered (
              buf, &state, GST_SSAN_ACTION_META_API_TYPE))) {
    GstSsanActionResult *r = ((GstSsanActionMeta *)meta)->result;

    if (r == NULL || (element && strcmp (r->element, element) != 0))
      continue;
    if (n == GST_SSAN_OVERLAY_MAX_PANELS) {
      GST_LOG ("more than %d action metas: drawing the first ones", n);
      break;
    }
    for (i = n; i > 0 && strcmp (res[i - 1]->element, r->element) > 0; i--)
      res[i] = res[i - 1];
    res[i] = r;
    n++;
  }
  return n;
}

/* Sets alpha and position of a panel's rectangle; only a rectangle no
 * composition holds may change. */
static void
gst_ssan_overlay_place (GstSsanOverlay *self, guint k, gfloat alpha, gint y)
{
  GstVideoOverlayRectangle **rect = &self->panels[k].rect;
  gint rx, ry;
  guint rw, rh;

  gst_video_overlay_rectangle_get_render_rectangle (*rect, &rx, &ry, &rw, &rh);
  if (alpha == self->panels[k].alpha && ry == y)
    return;
  g_clear_pointer (&self->composition, gst_video_overlay_composition_unref);
  if (!gst_mini_object_is_writable (GST_MINI_OBJECT_CAST (*rect))) {
    GstVideoOverlayRectangle *copy = gst_video_overlay_rectangle_copy (*rect);
    gst_video_overlay_rectangle_unref (*rect);
    *rect = copy;
  }
  gst_video_overlay_rectangle_set_global_alpha (*rect, alpha);
  gst_video_overlay_rectangle_set_render_rectangle (*rect, rx, y, rw, rh);
  self->panels[k].alpha = alpha;
}

/* ---- objects */

/* A colour per class (none: grey). */
static void
class_colour (gint class_id, gdouble *r, gdouble *g, gdouble *b)
{
  static const gdouble palette[8][3]
      = { { 0.30, 0.74, 0.98 }, { 0.98, 0.60, 0.20 }, { 0.45, 0.88, 0.45 },
          { 0.95, 0.40, 0.55 }, { 0.75, 0.55, 0.98 }, { 0.98, 0.88, 0.30 },
          { 0.35, 0.90, 0.85 }, { 0.90, 0.90, 0.90 } };

  if (class_id < 0) {
    *r = *g = *b = 0.6;
    return;
  }
  *r = palette[class_id % 8][0];
  *g = palette[class_id % 8][1];
  *b = palette[class_id % 8][2];
}

/* The outline of a w x h box. */
static GstVideoOverlayRectangle *
gst_ssan_overlay_draw_edge (gint w, gint h, gint class_id, gdouble base)
{
  gdouble lw = MAX (2.0, floor (base / 7.0)), r, g, b;
  cairo_surface_t *surface
      = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  cairo_t *cr = cairo_create (surface);
  GstVideoOverlayRectangle *rect;

  lw = MIN (lw, MIN (w, h) / 2.0);
  class_colour (class_id, &r, &g, &b);
  cairo_rectangle (cr, lw / 2, lw / 2, w - lw, h - lw);
  cairo_set_source_rgba (cr, r, g, b, 0.95);
  cairo_set_line_width (cr, lw);
  cairo_stroke (cr);
  cairo_destroy (cr);
  rect = rectangle_from_surface (surface, 0, 0);
  cairo_surface_destroy (surface);
  return rect;
}

/* The tag of an object: "label 87%" on its class's colour. */
static GstVideoOverlayRectangle *
gst_ssan_overlay_draw_tag (GstSsanOverlay *self, const Settings *st,
    const gchar *label, gint class_id, gdouble confidence, const gchar *truth,
    const GstVideoInfo *info)
{
  gdouble base = base_size (info), px = 0.7 * base, pad = 0.25 * base;
  gdouble r, g, b;
  gchar *text
      = g_strdup_printf ("%s %.0f%%%s%s", class_id < 0 ? "no action" : label,
          100.0 * confidence, truth ? "\ntrue: " : "", truth ? truth : "");
  gint tw, th, w, h;
  cairo_surface_t *surface;
  cairo_t *cr;
  GstVideoOverlayRectangle *rect;

  gst_ssan_overlay_set_text (self, st, text, px, TRUE, &tw, &th);
  w = MAX (1, MIN ((gint)ceil (2 * pad + tw), GST_VIDEO_INFO_WIDTH (info)));
  h = MAX (1, MIN ((gint)ceil (2 * pad + th), GST_VIDEO_INFO_HEIGHT (info)));
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  cr = cairo_create (surface);
  pango_cairo_update_context (cr, self->pango);
  pango_layout_context_changed (self->layout);

  class_colour (class_id, &r, &g, &b);
  rounded_rect (cr, 0, 0, w, h, 0.25 * base);
  cairo_set_source_rgba (cr, 0.06, 0.07, 0.09, 0.78);
  cairo_fill_preserve (cr);
  cairo_set_source_rgba (cr, r, g, b, 0.95);
  cairo_set_line_width (cr, 1.0);
  cairo_stroke (cr);
  gst_ssan_overlay_show_text (
      self, st, cr, text, px, TRUE, pad, pad, r, g, b, 1);
  cairo_destroy (cr);
  rect = rectangle_from_surface (surface, 0, 0);
  cairo_surface_destroy (surface);
  g_free (text);
  return rect;
}

/* Moves rect to (x, y); only a rectangle no composition holds may
 * change. */
static void
gst_ssan_overlay_move (
    GstSsanOverlay *self, GstVideoOverlayRectangle **rect, gint x, gint y)
{
  gint rx, ry;
  guint rw, rh;

  gst_video_overlay_rectangle_get_render_rectangle (*rect, &rx, &ry, &rw, &rh);
  if (rx == x && ry == y)
    return;
  g_clear_pointer (&self->composition, gst_video_overlay_composition_unref);
  if (!gst_mini_object_is_writable (GST_MINI_OBJECT_CAST (*rect))) {
    GstVideoOverlayRectangle *copy = gst_video_overlay_rectangle_copy (*rect);
    gst_video_overlay_rectangle_unref (*rect);
    *rect = copy;
  }
  gst_video_overlay_rectangle_set_render_rectangle (*rect, x, y, rw, rh);
}

/* One object's entry: the one of (id, element), else a free one; -1 when
 * all are taken by objects of this frame. */
static gint
gst_ssan_overlay_object_slot (
    GstSsanOverlay *self, gint64 id, const gchar *element)
{
  guint i;

  for (i = 0; i < self->n_objects; i++)
    if (self->objects[i].tag && self->objects[i].id == id
        && g_strcmp0 (self->objects[i].element, element) == 0)
      return self->objects[i].seen ? -1 : (gint)i;
  /* an entry's tag is drawn as soon as it is taken */
  for (i = 0; i < self->n_objects; i++)
    if (self->objects[i].tag == NULL)
      break;
  if (i == self->n_objects) {
    if (self->n_objects == GST_SSAN_OVERLAY_MAX_OBJECTS)
      return -1;
    self->n_objects++;
  }
  self->objects[i].id = id;
  self->objects[i].element = g_strdup (element);
  self->objects[i].result_id = G_MAXUINT64;
  return (gint)i;
}

/* The true action of a ROI that ssantestsrc made (its "ssan-testsrc-actor"
 * param), or NULL */
static const gchar *
gst_ssan_overlay_roi_truth (GstVideoRegionOfInterestMeta *roi)
{
  GstStructure *p
      = gst_video_region_of_interest_meta_get_param (roi, "ssan-testsrc-actor");

  return p ? gst_structure_get_string (p, "label") : NULL;
}

/* Outlines and tags of the frame's ROIs with an ssanaction result (of
 * st->element's only, when set) into want; returns how many. */
static guint
gst_ssan_overlay_objects (GstSsanOverlay *self, const Settings *st,
    GstVideoFrame *frame, GstVideoOverlayRectangle **want)
{
  gint W = GST_VIDEO_FRAME_WIDTH (frame), H = GST_VIDEO_FRAME_HEIGHT (frame);
  gdouble base = base_size (&frame->info);
  gpointer state = NULL;
  GstMeta *meta;
  guint n = 0, i;

  for (i = 0; i < self->n_objects; i++)
    self->objects[i].seen = FALSE;
  while ((meta = gst_buffer_iterate_meta_filtered (frame->buffer, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *)meta;
    GList *l;

    for (l = roi->params; l; l = l->next) {
      const GstStructure *p = l->data;
      const gchar *element = gst_structure_get_string (p, "element");
      const gchar *label = gst_structure_get_string (p, "label");
      gint x0 = MAX ((gint)roi->x, 0), y0 = MAX ((gint)roi->y, 0);
      gint x1 = (gint)MIN ((gint64)roi->x + roi->w, W);
      gint y1 = (gint)MIN ((gint64)roi->y + roi->h, H);
      gdouble confidence = 0.0;
      guint64 result_id = 0;
      const gchar *truth = NULL;
      gint class_id = -1, k, tx, ty, rx, ry;
      guint tw, th;

      if (!gst_structure_has_name (p, "ssan-action")
          || (st->element && g_strcmp0 (element, st->element) != 0))
        continue;
      if (x1 <= x0 || y1 <= y0)
        continue;
      gst_structure_get_int (p, "class-id", &class_id);
      gst_structure_get_double (p, "confidence", &confidence);
      gst_structure_get_uint64 (p, "result-id", &result_id);
      if (st->show_truth)
        truth = gst_ssan_overlay_roi_truth (roi);
      k = gst_ssan_overlay_object_slot (self, roi->id, element);
      if (k < 0)
        continue;
      if (self->objects[k].tag == NULL
          || self->objects[k].result_id != result_id) {
        g_clear_pointer (
            &self->objects[k].tag, gst_video_overlay_rectangle_unref);
        self->objects[k].tag = gst_ssan_overlay_draw_tag (self, st,
            label ? label : "", class_id, confidence, truth, &frame->info);
        self->objects[k].result_id = result_id;
      }
      if (self->objects[k].edge == NULL || self->objects[k].edge_w != x1 - x0
          || self->objects[k].edge_h != y1 - y0
          || self->objects[k].class_id != class_id) {
        g_clear_pointer (
            &self->objects[k].edge, gst_video_overlay_rectangle_unref);
        self->objects[k].edge
            = gst_ssan_overlay_draw_edge (x1 - x0, y1 - y0, class_id, base);
        self->objects[k].edge_w = x1 - x0;
        self->objects[k].edge_h = y1 - y0;
        self->objects[k].class_id = class_id;
      }
      self->objects[k].seen = TRUE;
      gst_ssan_overlay_move (self, &self->objects[k].edge, x0, y0);
      gst_video_overlay_rectangle_get_render_rectangle (
          self->objects[k].tag, &rx, &ry, &tw, &th);
      /* inside a box tall enough (boxes side by side: whose tag is whose
       * stays clear), else above it when there is room */
      tx = MAX (0, MIN (x0, W - (gint)tw));
      ty = y1 - y0 >= 4 * (gint)th || y0 < (gint)th ? y0 : y0 - (gint)th;
      gst_ssan_overlay_move (self, &self->objects[k].tag, tx, ty);
      want[n++] = self->objects[k].edge;
      want[n++] = self->objects[k].tag;
    }
  }
  /* objects gone from the frame */
  for (i = 0; i < self->n_objects; i++)
    if (!self->objects[i].seen)
      gst_ssan_overlay_clear_object (self, i);
  while (self->n_objects > 0 && self->objects[self->n_objects - 1].tag == NULL)
    self->n_objects--;
  return n;
}

static GstFlowReturn
gst_ssan_overlay_transform_frame_ip (
    GstVideoFilter *filter, GstVideoFrame *frame)
{
  GstSsanOverlay *self = GST_SSAN_OVERLAY (filter);
  GstSsanClipMeta *cmeta = gst_buffer_get_ssan_clip_meta (frame->buffer);
  GstSsanActionResult *res[GST_SSAN_OVERLAY_MAX_PANELS];
  GstVideoOverlayRectangle
      *want[GST_SSAN_OVERLAY_MAX_PANELS + 1 + 2 * GST_SSAN_OVERLAY_MAX_OBJECTS];
  gdouble base = base_size (&frame->info);
  guint n_res, n_want = 0, i;
  const gchar *truth;
  gint y = (gint)(0.6 * base);
  Settings st;

  if (G_UNLIKELY (!self->attach_checked))
    gst_ssan_overlay_check_attach (self);
  if (cmeta)
    gst_ssan_overlay_note_clip (self, cmeta);

  GST_OBJECT_LOCK (self);
  st.show_truth = self->show_truth;
  st.top_k = self->top_k;
  st.fade = self->fade;
  st.font_desc = g_strdup (self->font_desc);
  st.element
      = self->element && self->element[0] ? g_strdup (self->element) : NULL;
  if (self->settings_changed) {
    self->settings_changed = FALSE;
    GST_OBJECT_UNLOCK (self);
    gst_ssan_overlay_clear (self);
  } else {
    GST_OBJECT_UNLOCK (self);
  }

  /* one panel per result still visible, stacked from the top */
  n_res = gst_ssan_overlay_collect (frame->buffer, st.element, res);
  for (i = 0; i < n_res && y < GST_VIDEO_FRAME_HEIGHT (frame); i++) {
    guint k = n_want;
    gfloat alpha = st.fade ? gst_ssan_overlay_alpha (
                       self, res[i], GST_BUFFER_PTS (frame->buffer))
                           : 1.0f;
    gint rx, ry;
    guint rw, rh;

    if (alpha <= 0.0f)
      continue;
    if (k >= self->n_panels || self->panels[k].result != res[i]) {
      if (k >= self->n_panels)
        self->n_panels = k + 1;
      g_clear_pointer (
          &self->panels[k].rect, gst_video_overlay_rectangle_unref);
      g_clear_pointer (&self->panels[k].result, gst_ssan_action_result_unref);
      self->panels[k].rect = gst_ssan_overlay_draw_action (self, &st, res[i],
          st.show_truth ? gst_ssan_overlay_window_truth (self, res[i]) : NULL,
          &frame->info);
      self->panels[k].result = gst_ssan_action_result_ref (res[i]);
      self->panels[k].alpha = 1.0f;
      GST_LOG_OBJECT (self, "drew result %" G_GUINT64_FORMAT " of %s",
          res[i]->result_id, res[i]->element);
    }
    gst_ssan_overlay_place (self, k, alpha, y);
    gst_video_overlay_rectangle_get_render_rectangle (
        self->panels[k].rect, &rx, &ry, &rw, &rh);
    y += (gint)rh + (gint)(0.4 * base);
    want[n_want++] = self->panels[k].rect;
  }
  gst_ssan_overlay_clear_panels (self, n_want);
  n_want += gst_ssan_overlay_objects (self, &st, frame, want + n_want);

  /* the frame's truth box for one actor; with several, each object's tag
   * says its own */
  truth = st.show_truth && cmeta && cmeta->label
                  && gst_buffer_get_n_meta (
                         frame->buffer, GST_SSAN_CLIP_META_API_TYPE)
                         == 1
              ? cmeta->label
              : NULL;
  if (truth) {
    if (truth != self->drawn_truth || !self->truth_rect) {
      g_clear_pointer (&self->truth_rect, gst_video_overlay_rectangle_unref);
      self->truth_rect
          = gst_ssan_overlay_draw_truth (self, &st, truth, &frame->info);
      self->drawn_truth = truth;
    }
    want[n_want++] = self->truth_rect;
  }
  g_free (st.font_desc);
  g_free (st.element);

  if (n_want == 0)
    return GST_FLOW_OK;

  /* a new composition only when its set of rectangles changes */
  if (self->composition
      && gst_video_overlay_composition_n_rectangles (self->composition)
             == n_want) {
    for (i = 0; i < n_want; i++)
      if (gst_video_overlay_composition_get_rectangle (self->composition, i)
          != want[i])
        break;
    if (i < n_want)
      g_clear_pointer (&self->composition, gst_video_overlay_composition_unref);
  } else {
    g_clear_pointer (&self->composition, gst_video_overlay_composition_unref);
  }
  if (!self->composition) {
    self->composition = gst_video_overlay_composition_new (want[0]);
    for (i = 1; i < n_want; i++)
      gst_video_overlay_composition_add_rectangle (self->composition, want[i]);
  }

  if (self->attach) {
    GstVideoOverlayCompositionMeta *up
        = gst_buffer_get_video_overlay_composition_meta (frame->buffer);

    /* keep what an element upstream attached, ours on top */
    if (up) {
      GstVideoOverlayComposition *merged
          = gst_video_overlay_composition_copy (up->overlay);
      guint i;

      for (i = 0;
           i < gst_video_overlay_composition_n_rectangles (self->composition);
           i++)
        gst_video_overlay_composition_add_rectangle (merged,
            gst_video_overlay_composition_get_rectangle (self->composition, i));
      gst_buffer_remove_meta (frame->buffer, (GstMeta *)up);
      gst_buffer_add_video_overlay_composition_meta (frame->buffer, merged);
      gst_video_overlay_composition_unref (merged);
    } else {
      gst_buffer_add_video_overlay_composition_meta (
          frame->buffer, self->composition);
    }
    return GST_FLOW_OK;
  }

  if (!gst_video_overlay_composition_blend (self->composition, frame))
    goto blend_failed;
  return GST_FLOW_OK;

  /* ERRORS */
blend_failed : {
  GST_ELEMENT_ERROR (self, STREAM, FAILED, (NULL),
      ("cannot blend the overlay onto %s frames",
          gst_video_format_to_string (GST_VIDEO_FRAME_FORMAT (frame))));
  return GST_FLOW_ERROR;
}
}
