/* ssanoverlay tests (GstHarness): untouched frames without metas, drawing
 * where the boxes go on many formats, the truth box, fading, and drawing
 * again only when the result changes. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "gstssanactionmeta.h"
#include "gstssanclipmeta.h"
#include "gstssanoverlay.h"

#define W 160
#define H 120

static const gint ids[3] = { 4, 1, 9 };
static const gchar *labels[3]
    = { "approaching", "moving right", "disappearing" };
static const gdouble scores[3] = { 0.81, 0.12, 0.04 };

static GstSsanActionResult *
make_result (gint class_id, GstClockTime start, GstClockTime end)
{
  return gst_ssan_action_result_new (
      class_id, 0.81, 3, ids, labels, scores, start, end, 7, 5 * GST_MSECOND);
}

static GstSsanActionResult *
make_result_of (const gchar *element, const gchar *model, gint class_id)
{
  return gst_ssan_action_result_new_full (class_id, 0.81, 3, ids, labels,
      scores, 0, GST_SECOND, 7, 5 * GST_MSECOND, 3, element, model);
}

/* A frame of smooth non-uniform content in any format (converted from an
 * RGB gradient), so that drawing anything on it shows. */
static GstBuffer *
make_frame (const gchar *format, GstClockTime pts)
{
  GstVideoInfo rgb, out;
  GstBuffer *src, *dst;
  GstVideoFrame fs, fd;
  GstVideoConverter *conv;
  gint x, y;

  gst_video_info_set_format (&rgb, GST_VIDEO_FORMAT_RGB, W, H);
  gst_video_info_set_format (&out, gst_video_format_from_string (format), W, H);
  src = gst_buffer_new_allocate (NULL, rgb.size, NULL);
  dst = gst_buffer_new_allocate (NULL, out.size, NULL);
  gst_video_frame_map (&fs, &rgb, src, GST_MAP_WRITE);
  for (y = 0; y < H; y++) {
    guint8 *row = (guint8 *)GST_VIDEO_FRAME_PLANE_DATA (&fs, 0)
                  + y * GST_VIDEO_FRAME_PLANE_STRIDE (&fs, 0);
    for (x = 0; x < W; x++) {
      row[3 * x] = 60 + x / 2;
      row[3 * x + 1] = 90 + y / 2;
      row[3 * x + 2] = 140;
    }
  }
  gst_video_frame_map (&fd, &out, dst, GST_MAP_WRITE);
  conv = gst_video_converter_new (&rgb, &out, NULL);
  gst_video_converter_frame (conv, &fs, &fd);
  gst_video_converter_free (conv);
  gst_video_frame_unmap (&fs);
  gst_video_frame_unmap (&fd);
  gst_buffer_unref (src);
  GST_BUFFER_PTS (dst) = pts;
  GST_BUFFER_DURATION (dst) = GST_SECOND / 25;
  return dst;
}

static GstHarness *
make_overlay (const gchar *format)
{
  gchar *caps = g_strdup_printf ("video/x-raw,format=%s,width=%d,height=%d,"
                                 "framerate=25/1",
      format, W, H);
  GstHarness *h = gst_harness_new ("ssanoverlay");

  gst_harness_set_src_caps_str (h, caps);
  g_free (caps);
  return h;
}

/* Sum of absolute differences of the first plane (luma or packed pixels)
 * within the box [x0, x1) x [y0, y1) of the frame, in pixels. */
static guint64
plane_diff (const gchar *format, GstBuffer *a, GstBuffer *b, gint x0, gint y0,
    gint x1, gint y1)
{
  GstVideoInfo info;
  GstVideoFrame fa, fb;
  guint64 sum = 0;
  gint x, y, ps;

  gst_video_info_set_format (
      &info, gst_video_format_from_string (format), W, H);
  fail_unless (gst_video_frame_map (&fa, &info, a, GST_MAP_READ));
  fail_unless (gst_video_frame_map (&fb, &info, b, GST_MAP_READ));
  ps = GST_VIDEO_FORMAT_INFO_PSTRIDE (info.finfo, 0);
  for (y = y0; y < y1; y++) {
    const guint8 *ra = (const guint8 *)GST_VIDEO_FRAME_PLANE_DATA (&fa, 0)
                       + y * GST_VIDEO_FRAME_PLANE_STRIDE (&fa, 0);
    const guint8 *rb = (const guint8 *)GST_VIDEO_FRAME_PLANE_DATA (&fb, 0)
                       + y * GST_VIDEO_FRAME_PLANE_STRIDE (&fb, 0);
    for (x = x0 * ps; x < x1 * ps; x++)
      sum += ABS ((gint)ra[x] - (gint)rb[x]);
  }
  gst_video_frame_unmap (&fa);
  gst_video_frame_unmap (&fb);
  return sum;
}

static gboolean
buffers_equal (GstBuffer *a, GstBuffer *b)
{
  GstMapInfo ma, mb;
  gboolean eq;

  gst_buffer_map (a, &ma, GST_MAP_READ);
  gst_buffer_map (b, &mb, GST_MAP_READ);
  eq = ma.size == mb.size && memcmp (ma.data, mb.data, ma.size) == 0;
  gst_buffer_unmap (a, &ma);
  gst_buffer_unmap (b, &mb);
  return eq;
}

static const gchar *formats[] = { "I420", "NV12", "YV12", "Y444", "YUY2",
  "UYVY", "AYUV", "RGB", "BGR", "RGBx", "BGRx", "xRGB", "RGBA", "GRAY8" };

GST_START_TEST (test_passthrough_without_meta)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (formats); i++) {
    GstHarness *h = make_overlay (formats[i]);
    GstBuffer *in = make_frame (formats[i], 0), *out;

    out = gst_harness_push_and_pull (h, gst_buffer_copy (in));
    fail_unless (out != NULL);
    fail_unless (buffers_equal (in, out), "%s frame changed", formats[i]);
    gst_buffer_unref (in);
    gst_buffer_unref (out);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

/* The action box goes top left, the truth box bottom left; the right half
 * stays as it was. */
GST_START_TEST (test_draws_on_formats)
{
  guint i;

  for (i = 0; i < G_N_ELEMENTS (formats); i++) {
    GstHarness *h = make_overlay (formats[i]);
    GstBuffer *in = make_frame (formats[i], GST_SECOND), *pushed, *out;
    GstSsanActionResult *res = make_result (4, 0, GST_SECOND);

    pushed = gst_buffer_copy (in);
    gst_buffer_add_ssan_action_meta (pushed, res);
    gst_buffer_add_ssan_clip_meta (
        pushed, 4, "approaching", 1, 0, 3, 32, 0, GST_SECOND);
    out = gst_harness_push_and_pull (h, pushed);
    fail_unless (out != NULL);
    fail_unless (gst_buffer_get_ssan_action_meta (out) != NULL);
    fail_unless (plane_diff (formats[i], in, out, 0, 0, W / 2, H / 4) > 500,
        "%s: no action box", formats[i]);
    fail_unless (plane_diff (formats[i], in, out, 0, H - H / 8, W / 4, H) > 100,
        "%s: no truth box", formats[i]);
    fail_unless (
        plane_diff (formats[i], in, out, W - W / 8, H / 4, W, H - H / 4) == 0,
        "%s: drew outside the boxes", formats[i]);
    gst_ssan_action_result_unref (res);
    gst_buffer_unref (in);
    gst_buffer_unref (out);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

GST_START_TEST (test_truth_only)
{
  GstHarness *h = make_overlay ("I420");
  GstBuffer *in = make_frame ("I420", 0), *pushed, *out;

  pushed = gst_buffer_copy (in);
  gst_buffer_add_ssan_clip_meta (
      pushed, 0, "moving left", 1, 0, 0, 32, 0, GST_SECOND);
  out = gst_harness_push_and_pull (h, pushed);
  fail_unless (plane_diff ("I420", in, out, 0, 0, W, H / 4) == 0,
      "no action box without a result");
  fail_unless (
      plane_diff ("I420", in, out, 0, H - H / 8, W / 4, H) > 100, "truth box");
  gst_buffer_unref (out);

  /* show-truth=false: untouched */
  g_object_set (h->element, "show-truth", FALSE, NULL);
  pushed = gst_buffer_copy (in);
  gst_buffer_add_ssan_clip_meta (
      pushed, 0, "moving left", 1, 0, 1, 32, 0, GST_SECOND);
  out = gst_harness_push_and_pull (h, pushed);
  fail_unless (buffers_equal (in, out));
  gst_buffer_unref (out);
  gst_buffer_unref (in);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Window [0 s, 1 s]: full until 1 s after its end, gone 2 s after it, in
 * between partly. */
GST_START_TEST (test_fade)
{
  GstHarness *h = make_overlay ("RGB");
  GstSsanActionResult *res = make_result (4, 0, GST_SECOND);
  static const GstClockTime pts[] = { GST_SECOND, 1900 * GST_MSECOND,
    2500 * GST_MSECOND, 3100 * GST_MSECOND };
  guint64 d[G_N_ELEMENTS (pts)];
  guint i;

  for (i = 0; i < G_N_ELEMENTS (pts); i++) {
    GstBuffer *in = make_frame ("RGB", pts[i]), *pushed, *out;

    pushed = gst_buffer_copy (in);
    gst_buffer_add_ssan_action_meta (pushed, res);
    out = gst_harness_push_and_pull (h, pushed);
    d[i] = plane_diff ("RGB", in, out, 0, 0, W / 2, H / 4);
    gst_buffer_unref (in);
    gst_buffer_unref (out);
  }
  fail_unless (d[0] > 1000 && d[1] == d[0],
      "full while young: %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT, d[0], d[1]);
  fail_unless (d[2] > 0 && d[2] < d[0], "half faded: %" G_GUINT64_FORMAT, d[2]);
  fail_unless (d[3] == 0, "gone when old: %" G_GUINT64_FORMAT, d[3]);

  /* fade=false keeps it */
  g_object_set (h->element, "fade", FALSE, NULL);
  {
    GstBuffer *in = make_frame ("RGB", pts[3]), *pushed, *out;

    pushed = gst_buffer_copy (in);
    gst_buffer_add_ssan_action_meta (pushed, res);
    out = gst_harness_push_and_pull (h, pushed);
    fail_unless (plane_diff ("RGB", in, out, 0, 0, W / 2, H / 4) == d[0]);
    gst_buffer_unref (in);
    gst_buffer_unref (out);
  }
  gst_ssan_action_result_unref (res);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* The boxes are drawn again only when the result changes. */
GST_START_TEST (test_redraw_only_on_change)
{
  GstHarness *h = make_overlay ("I420");
  /* the plugin is not linked in: no type-checked cast */
  GstSsanOverlay *self = (GstSsanOverlay *)h->element;
  GstSsanActionResult *a = make_result (4, 0, GST_SECOND);
  GstSsanActionResult *b = make_result (-1, GST_SECOND, 2 * GST_SECOND);
  GstVideoOverlayRectangle *first;
  GstBuffer *buf;
  gint i;

  for (i = 0; i < 3; i++) {
    buf = make_frame ("I420", GST_SECOND + i * GST_MSECOND);
    gst_buffer_add_ssan_action_meta (buf, a);
    gst_buffer_unref (gst_harness_push_and_pull (h, buf));
    if (i == 0)
      first = self->panels[0].rect;
    fail_unless (self->panels[0].rect == first, "redrawn for the same result");
  }
  buf = make_frame ("I420", 2 * GST_SECOND);
  gst_buffer_add_ssan_action_meta (buf, b);
  gst_buffer_unref (gst_harness_push_and_pull (h, buf));
  fail_unless (self->panels[0].result == b, "new result drawn");

  /* a property change draws again too */
  g_object_set (h->element, "top-k", 0, NULL);
  buf = make_frame ("I420", 2 * GST_SECOND);
  gst_buffer_add_ssan_action_meta (buf, b);
  gst_buffer_unref (gst_harness_push_and_pull (h, buf));
  fail_unless (self->panels[0].result == b && self->panels[0].rect != NULL);

  gst_ssan_action_result_unref (a);
  gst_ssan_action_result_unref (b);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Results of two ssanaction elements: two boxes, stacked without overlap
 * in the order of the element names whatever the metas' order;
 * `element` picks one. */
GST_START_TEST (test_two_elements_stacked)
{
  GstHarness *h = make_overlay ("RGB");
  GstSsanOverlay *self = (GstSsanOverlay *)h->element;
  GstSsanActionResult *ra = make_result_of ("a", "models/x.safetensors", 4);
  GstSsanActionResult *rb = make_result_of ("b", "y", 1);
  GstBuffer *in = make_frame ("RGB", GST_SECOND), *buf, *one, *two;
  gint x0, y0, x1, y1;
  guint w0, h0, w1, h1;

  buf = gst_buffer_copy (in);
  gst_buffer_add_ssan_action_meta (buf, ra);
  one = gst_harness_push_and_pull (h, buf);
  fail_unless_equals_int (self->n_panels, 1);

  buf = gst_buffer_copy (in);
  gst_buffer_add_ssan_action_meta (buf, rb);
  gst_buffer_add_ssan_action_meta (buf, ra);
  two = gst_harness_push_and_pull (h, buf);
  fail_unless_equals_int (self->n_panels, 2);
  fail_unless (self->panels[0].result == ra && self->panels[1].result == rb);
  gst_video_overlay_rectangle_get_render_rectangle (
      self->panels[0].rect, &x0, &y0, &w0, &h0);
  gst_video_overlay_rectangle_get_render_rectangle (
      self->panels[1].rect, &x1, &y1, &w1, &h1);
  fail_unless (y1 >= y0 + (gint)h0, "boxes overlap: %d+%u > %d", y0, h0, y1);
  fail_unless (y1 < H);
  /* the first box is the same, the second shows below it */
  fail_unless (plane_diff ("RGB", one, two, 0, 0, W, y0 + h0) == 0);
  fail_unless (plane_diff ("RGB", one, two, 0, y1, W, MIN (H, y1 + h1)) > 1000);
  fail_unless (plane_diff ("RGB", in, one, 0, y1, W, MIN (H, y1 + h1)) == 0);
  gst_buffer_unref (one);
  gst_buffer_unref (two);

  /* the other order of metas on the buffer: the same boxes */
  buf = gst_buffer_copy (in);
  gst_buffer_add_ssan_action_meta (buf, ra);
  gst_buffer_add_ssan_action_meta (buf, rb);
  gst_buffer_unref (gst_harness_push_and_pull (h, buf));
  fail_unless (self->panels[0].result == ra && self->panels[1].result == rb);

  g_object_set (h->element, "element", "b", NULL);
  buf = gst_buffer_copy (in);
  gst_buffer_add_ssan_action_meta (buf, ra);
  gst_buffer_add_ssan_action_meta (buf, rb);
  gst_buffer_unref (gst_harness_push_and_pull (h, buf));
  fail_unless_equals_int (self->n_panels, 1);
  fail_unless (self->panels[0].result == rb);

  g_object_set (h->element, "element", "c", NULL);
  buf = gst_buffer_copy (in);
  gst_buffer_add_ssan_action_meta (buf, ra);
  two = gst_harness_push_and_pull (h, buf);
  fail_unless_equals_int (self->n_panels, 0);
  fail_unless (buffers_equal (in, two));
  gst_buffer_unref (two);

  gst_buffer_unref (in);
  gst_ssan_action_result_unref (ra);
  gst_ssan_action_result_unref (rb);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Downstream that negotiates the overlay feature and asks for the meta gets
 * the composition attached and the pixels untouched. */
GST_START_TEST (test_attach_when_downstream_asks)
{
  GstHarness *h = gst_harness_new ("ssanoverlay");
  GstSsanActionResult *res = make_result (4, 0, GST_SECOND);
  GstBuffer *in = make_frame ("I420", GST_SECOND), *pushed, *out;
  GstVideoOverlayCompositionMeta *cmeta;
  GstCaps *caps;

  gst_harness_set_sink_caps_str (h,
      "video/x-raw(memory:SystemMemory, meta:GstVideoOverlayComposition),"
      "format=I420,width=160,height=120,framerate=25/1");
  gst_harness_add_propose_allocation_meta (
      h, GST_VIDEO_OVERLAY_COMPOSITION_META_API_TYPE, NULL);
  gst_harness_set_src_caps_str (
      h, "video/x-raw,format=I420,width=160,height=120,framerate=25/1");
  pushed = gst_buffer_copy (in);
  gst_buffer_add_ssan_action_meta (pushed, res);
  out = gst_harness_push_and_pull (h, pushed);
  caps = gst_pad_get_current_caps (h->sinkpad);
  fail_unless (gst_caps_features_contains (gst_caps_get_features (caps, 0),
      GST_CAPS_FEATURE_META_GST_VIDEO_OVERLAY_COMPOSITION));
  cmeta = gst_buffer_get_video_overlay_composition_meta (out);
  fail_unless (cmeta != NULL, "composition attached");
  fail_unless_equals_int (
      gst_video_overlay_composition_n_rectangles (cmeta->overlay), 1);
  fail_unless (buffers_equal (in, out), "pixels untouched when attaching");
  gst_caps_unref (caps);
  gst_buffer_unref (out);
  gst_buffer_unref (in);
  gst_ssan_action_result_unref (res);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Tiny and odd frames: the boxes are clipped, nothing breaks. */
GST_START_TEST (test_tiny_frames)
{
  static const gint sizes[][2] = { { 1, 1 }, { 7, 5 }, { 33, 17 } };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (sizes); i++) {
    gchar *caps = g_strdup_printf ("video/x-raw,format=I420,width=%d,"
                                   "height=%d,framerate=25/1",
        sizes[i][0], sizes[i][1]);
    GstHarness *h = gst_harness_new ("ssanoverlay");
    GstSsanActionResult *res = make_result (4, 0, GST_SECOND);
    GstVideoInfo info;
    GstBuffer *buf;

    gst_harness_set_src_caps_str (h, caps);
    gst_video_info_set_format (
        &info, GST_VIDEO_FORMAT_I420, sizes[i][0], sizes[i][1]);
    buf = gst_buffer_new_allocate (NULL, info.size, NULL);
    gst_buffer_memset (buf, 0, 80, info.size);
    GST_BUFFER_PTS (buf) = GST_SECOND;
    gst_buffer_add_ssan_action_meta (buf, res);
    gst_buffer_add_ssan_clip_meta (
        buf, 4, "approaching", 1, 0, 3, 32, 0, GST_SECOND);
    gst_buffer_unref (gst_harness_push_and_pull (h, buf));
    gst_ssan_action_result_unref (res);
    gst_harness_teardown (h);
    g_free (caps);
  }
}

GST_END_TEST;

/* Properties change while frames flow: the boxes are drawn again without
 * a crash, a leak or a critical. */
/* A ROI with an ssanaction result as its "ssan-action" param. */
static void
add_object (GstBuffer *buf, gint id, guint x, guint y, guint w, guint h,
    const gchar *element, guint64 result_id)
{
  GstVideoRegionOfInterestMeta *roi
      = gst_buffer_add_video_region_of_interest_meta (
          buf, "person", x, y, w, h);

  roi->id = id;
  if (element)
    gst_video_region_of_interest_meta_add_param (roi,
        gst_structure_new ("ssan-action", "label", G_TYPE_STRING, "approaching",
            "class-id", G_TYPE_INT, 4, "confidence", G_TYPE_DOUBLE, 0.81,
            "element", G_TYPE_STRING, element, "result-id", G_TYPE_UINT64,
            result_id, "object-id", G_TYPE_INT64, (gint64)id, NULL));
}

/* Per object: each ROI with a result gets its outline and a tag at its top
 * left (the tag inside a box four tags tall); the inside of the box and
 * ROIs without a result, or of another element than `element`, stay
 * untouched; a box that moves takes its drawing along; an object gone
 * leaves nothing behind. */
GST_START_TEST (test_objects)
{
  GstHarness *h = make_overlay ("RGB");
  GstBuffer *in, *out, *plain = make_frame ("RGB", 0);

  g_object_set (h->element, "element", "a", NULL);
  in = make_frame ("RGB", 0);
  add_object (in, 3, 20, 40, 60, 70, "a", 7);
  add_object (in, 4, 100, 10, 40, 30, NULL, 0);
  add_object (in, 5, 100, 60, 50, 50, "b", 1);
  out = gst_harness_push_and_pull (h, in);
  /* the outline: the box's top row past the tag, its left column */
  fail_unless (plane_diff ("RGB", out, plain, 20, 100, 80, 110) > 0);
  fail_unless (plane_diff ("RGB", out, plain, 20, 60, 22, 100) > 0);
  /* the tag, inside at the top left */
  fail_unless (plane_diff ("RGB", out, plain, 22, 42, 60, 48) > 0);
  /* the box's inside below the tag, the ROI without a result, the other
   * element's object, the rest of the frame */
  fail_unless_equals_uint64 (
      plane_diff ("RGB", out, plain, 30, 70, 70, 100), 0);
  fail_unless_equals_uint64 (
      plane_diff ("RGB", out, plain, 95, 0, 160, 120), 0);
  fail_unless_equals_uint64 (plane_diff ("RGB", out, plain, 0, 0, 18, 120), 0);
  gst_buffer_unref (out);

  /* moved 10 pixels down, same result */
  in = make_frame ("RGB", 0);
  add_object (in, 3, 20, 50, 60, 70, "a", 7);
  out = gst_harness_push_and_pull (h, in);
  fail_unless_equals_uint64 (plane_diff ("RGB", out, plain, 0, 0, 160, 48), 0);
  fail_unless (plane_diff ("RGB", out, plain, 22, 52, 60, 58) > 0);
  gst_buffer_unref (out);

  /* gone */
  in = make_frame ("RGB", 0);
  out = gst_harness_push_and_pull (h, in);
  fail_unless (buffers_equal (out, plain));
  gst_buffer_unref (out);

  gst_buffer_unref (plain);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* show-truth with several ssantestsrc actors: each actor's tag names its
 * true action (it grows), and the frame's truth box (actor 0's) is left
 * out. */
GST_START_TEST (test_objects_truth)
{
  GstHarness *h = make_overlay ("RGB");
  GstBuffer *in, *out, *plain = make_frame ("RGB", 0), *with;
  GstVideoRegionOfInterestMeta *roi;
  gint k;

  g_object_set (h->element, "show-truth", FALSE, NULL);
  in = make_frame ("RGB", 0);
  add_object (in, 3, 2, 2, 40, 20, "a", 7);
  out = gst_harness_push_and_pull (h, in);

  g_object_set (h->element, "show-truth", TRUE, NULL);
  in = make_frame ("RGB", 0);
  for (k = 0; k < 2; k++)
    gst_buffer_add_ssan_clip_meta (in, 5 + k,
        k ? "receding" : "rotating clockwise", 1, 0, 3, 32, 0, GST_SECOND);
  add_object (in, 4, 2, 2, 40, 20, "a", 8);
  roi = gst_buffer_get_video_region_of_interest_meta_id (in, 4);
  gst_video_region_of_interest_meta_add_param (
      roi, gst_structure_new ("ssan-testsrc-actor", "actor", G_TYPE_INT, 0,
               "label", G_TYPE_STRING, "rotating clockwise", NULL));
  with = gst_harness_push_and_pull (h, in);
  /* the tag grows a second line, "true: rotating clockwise" */
  fail_unless (plane_diff ("RGB", with, plain, 2, 2, W, 40)
               > plane_diff ("RGB", out, plain, 2, 2, W, 40));
  /* no truth box at the bottom left */
  fail_unless_equals_uint64 (
      plane_diff ("RGB", with, plain, 0, H - H / 4, W / 2, H), 0);
  gst_buffer_unref (out);
  gst_buffer_unref (with);
  gst_buffer_unref (plain);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_stress_properties)
{
  GstHarness *h = make_overlay ("I420");
  GstSsanActionResult *res = make_result (4, 0, GST_SECOND);
  GValue topk = G_VALUE_INIT, truth = G_VALUE_INIT, font = G_VALUE_INIT;
  GstHarnessThread *t1, *t2, *t3;
  gint n;

  g_value_init (&topk, G_TYPE_UINT);
  g_value_set_uint (&topk, 1);
  g_value_init (&truth, G_TYPE_BOOLEAN);
  g_value_set_boolean (&truth, FALSE);
  g_value_init (&font, G_TYPE_STRING);
  g_value_set_string (&font, "Serif");
  t1 = gst_harness_stress_property_start_full (h, "top-k", &topk, 50);
  t2 = gst_harness_stress_property_start_full (h, "show-truth", &truth, 50);
  t3 = gst_harness_stress_property_start_full (h, "font-desc", &font, 50);
  for (n = 0; n < 60; n++) {
    GstBuffer *buf = make_frame ("I420", GST_SECOND + n * GST_MSECOND);

    gst_buffer_add_ssan_action_meta (buf, res);
    gst_buffer_add_ssan_clip_meta (
        buf, 4, "approaching", 1, 0, 3, 32, 0, GST_SECOND);
    gst_buffer_unref (gst_harness_push_and_pull (h, buf));
  }
  gst_harness_stress_thread_stop (t1);
  gst_harness_stress_thread_stop (t2);
  gst_harness_stress_thread_stop (t3);
  g_value_unset (&topk);
  g_value_unset (&truth);
  g_value_unset (&font);
  gst_ssan_action_result_unref (res);
  gst_harness_teardown (h);
}

GST_END_TEST;

static Suite *
ssanoverlay_suite (void)
{
  Suite *s = suite_create ("ssanoverlay");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_passthrough_without_meta);
  tcase_add_test (tc, test_draws_on_formats);
  tcase_add_test (tc, test_truth_only);
  tcase_add_test (tc, test_fade);
  tcase_add_test (tc, test_redraw_only_on_change);
  tcase_add_test (tc, test_attach_when_downstream_asks);
  tcase_add_test (tc, test_two_elements_stacked);
  tcase_add_test (tc, test_tiny_frames);
  tcase_add_test (tc, test_objects);
  tcase_add_test (tc, test_objects_truth);
  tcase_add_test (tc, test_stress_properties);
  return s;
}

GST_CHECK_MAIN (ssanoverlay);
