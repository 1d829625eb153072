/* ssantestsrc tests (GstHarness): determinism and identity with the
 * ssan-synth library, ground-truth messages and metas, formats, sizes,
 * class selection, reversal pairs, seeking, live mode. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include "ssan/synth.h"
#include "gstssanclipmeta.h"

#define FPS 25
#define FRAME_NS (GST_SECOND / FPS)

static GstHarness *
make_src (const gchar *props, const gchar *caps)
{
  GstHarness *h;
  gchar *desc = g_strdup_printf ("ssantestsrc %s", props ? props : "");

  h = gst_harness_new_parse (desc);
  g_free (desc);
  gst_harness_set_sink_caps_str (h, caps);
  return h;
}

/* Pulls n buffers and hashes their bytes. */
static guint64
pull_hash (GstHarness *h, gint n)
{
  guint64 hash = 0xcbf29ce484222325ULL;
  gint i;

  for (i = 0; i < n; i++) {
    GstBuffer *buf = gst_harness_pull (h);
    GstMapInfo map;
    gsize j;

    fail_unless (buf != NULL);
    fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
    for (j = 0; j < map.size; j++) {
      hash ^= map.data[j];
      hash *= 0x100000001b3ULL;
    }
    gst_buffer_unmap (buf, &map);
    gst_buffer_unref (buf);
  }
  return hash;
}

GST_START_TEST (test_determinism)
{
  const gchar *caps
      = "video/x-raw,format=RGB,width=48,height=36,framerate=25/1";
  GstHarness *a = make_src ("seed=11 clip-frames=5", caps);
  GstHarness *b = make_src ("seed=11 clip-frames=5", caps);
  GstHarness *c = make_src ("seed=12 clip-frames=5", caps);
  guint64 ha, hb, hc;

  gst_harness_play (a);
  gst_harness_play (b);
  gst_harness_play (c);
  ha = pull_hash (a, 12);
  hb = pull_hash (b, 12);
  hc = pull_hash (c, 12);
  fail_unless (ha == hb, "same seed, same pixels");
  fail_unless (ha != hc, "another seed, other pixels");
  gst_harness_teardown (a);
  gst_harness_teardown (b);
  gst_harness_teardown (c);
}

GST_END_TEST;

/* Clip k of the stream is clip k of ssan-synth, pixel for pixel, at any
 * size, odd and tiny ones included. */
GST_START_TEST (test_matches_synth)
{
  static const gint sizes[][2]
      = { { 64, 64 }, { 1, 1 }, { 17, 9 }, { 9, 17 }, { 7, 1 }, { 101, 33 } };
  guint s;

  for (s = 0; s < G_N_ELEMENTS (sizes); s++) {
    gint w = sizes[s][0], hgt = sizes[s][1], n = 0, k, t;
    gchar *caps = g_strdup_printf ("video/x-raw,format=RGB,width=%d,"
                                   "height=%d,framerate=25/1",
        w, hgt);
    GstHarness *h = make_src ("seed=3 clip-frames=3", caps);
    guint8 *ref = g_malloc ((gsize)w * hgt * 3);

    gst_harness_play (h);
    for (k = 0; k < 3; k++) {
      ssan_synth_clip clip;

      fail_unless (ssan_synth_clip_init (&clip, 3, k, -1, 3) == 0);
      for (t = 0; t < 3; t++, n++) {
        GstBuffer *buf = gst_harness_pull (h);
        GstVideoFrame frame;
        GstVideoInfo info;
        gint y;

        fail_unless (
            gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, w, hgt));
        fail_unless (gst_video_frame_map (&frame, &info, buf, GST_MAP_READ));
        fail_unless (
            ssan_synth_render (&clip, t, w, hgt, ref, (size_t)w * 3) == 0);
        for (y = 0; y < hgt; y++)
          fail_unless (
              memcmp ((guint8 *)GST_VIDEO_FRAME_PLANE_DATA (&frame, 0)
                          + (gsize)y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0),
                  ref + (gsize)y * w * 3, (gsize)w * 3)
                  == 0,
              "%dx%d clip %d frame %d row %d differs from ssan-synth", w, hgt,
              k, t, y);
        gst_video_frame_unmap (&frame);
        gst_buffer_unref (buf);
      }
    }
    g_free (ref);
    g_free (caps);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

/* One message per clip, at its first frame, with the clip's PTS range; the
 * same facts in the meta of every buffer; PTS/duration from the rate. */
GST_START_TEST (test_messages_and_meta)
{
  GstHarness *h = make_src ("seed=5 clip-frames=4",
      "video/x-raw,format=RGB,width=16,height=16,framerate=25/1");
  GstBus *bus = gst_bus_new ();
  gint n, n_msgs = 0;

  gst_element_set_bus (h->element, bus);
  gst_harness_play (h);
  for (n = 0; n < 12; n++) {
    GstBuffer *buf = gst_harness_pull (h);
    GstSsanClipMeta *meta = gst_buffer_get_ssan_clip_meta (buf);
    guint64 k = n / 4;
    GstClockTime start = k * 4 * FRAME_NS, end = start + 3 * FRAME_NS;
    ssan_synth_clip clip;

    fail_unless_equals_uint64 (GST_BUFFER_PTS (buf), n * FRAME_NS);
    fail_unless_equals_uint64 (GST_BUFFER_DURATION (buf), FRAME_NS);
    fail_unless (meta != NULL);
    fail_unless_equals_uint64 (meta->clip_index, k);
    fail_unless_equals_int (meta->frame_index, n % 4);
    fail_unless_equals_int (meta->n_frames, 4);
    fail_unless_equals_uint64 (meta->seed, 5);
    fail_unless_equals_uint64 (meta->clip_start, start);
    fail_unless_equals_uint64 (meta->clip_end, end);
    ssan_synth_clip_init (&clip, 5, k, -1, 4);
    fail_unless_equals_int (meta->class_id, clip.class_id);
    fail_unless_equals_string (
        meta->label, ssan_synth_class_name (clip.class_id));
    fail_unless (
        GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT) == (n == 0));

    if (n % 4 == 0) {
      GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
      const GstStructure *s;
      guint64 v;
      gint id;

      fail_unless (msg != NULL, "message for clip %d", (gint)k);
      s = gst_message_get_structure (msg);
      fail_unless (gst_structure_has_name (s, "ssan-testsrc-clip"));
      fail_unless (gst_structure_get_uint64 (s, "clip-index", &v) && v == k);
      fail_unless (
          gst_structure_get_uint64 (s, "clip-start", &v) && v == start);
      fail_unless (gst_structure_get_uint64 (s, "clip-end", &v) && v == end);
      fail_unless (
          gst_structure_get_int (s, "class-id", &id) && id == clip.class_id);
      fail_unless_equals_string (gst_structure_get_string (s, "label"),
          ssan_synth_class_name (clip.class_id));
      gst_message_unref (msg);
      n_msgs++;
    }
    gst_buffer_unref (buf);
  }
  fail_unless_equals_int (n_msgs, 3);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* actors=N: actor k of clip c is clip c * N + k of the seed, pixel for
 * pixel in its cell; one ROI meta (cell box, id 1 + c * N + k, truth in
 * its params), one clip meta and one message per actor; spare cells grey;
 * one actor (the default) has no ROI meta. */
static void
check_actors (guint n_actors, gint w, gint hgt, gint cols, gint rows)
{
  gchar *caps = g_strdup_printf (
      "video/x-raw,format=RGB,width=%d,height=%d,framerate=25/1", w, hgt);
  gchar *props = g_strdup_printf ("seed=9 clip-frames=3 actors=%u", n_actors);
  GstHarness *h = make_src (props, caps);
  GstBus *bus = gst_bus_new ();
  gint lcols, lrows, n;
  guint8 *ref = g_malloc ((gsize)w * hgt * 3);

  fail_unless (ssan_synth_layout ((int)n_actors, w, hgt, &lcols, &lrows) == 0);
  fail_unless (lcols == cols && lrows == rows, "%u actors in %dx%d: %dx%d",
      n_actors, w, hgt, lcols, lrows);
  gst_element_set_bus (h->element, bus);
  gst_harness_play (h);
  for (n = 0; n < 6; n++) {
    GstBuffer *buf = gst_harness_pull (h);
    guint64 c = (guint64)n / 3;
    GstVideoFrame frame;
    GstVideoInfo info;
    gpointer state = NULL;
    GstMeta *meta;
    guint n_roi = 0, n_clip = 0;
    gint k, x, y, cw, ch, row;

    fail_unless (
        gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, w, hgt));
    fail_unless (gst_video_frame_map (&frame, &info, buf, GST_MAP_READ));
    for (k = 0; k < cols * rows; k++) {
      ssan_synth_clip clip;

      ssan_synth_cell (cols, rows, w, hgt, k, &x, &y, &cw, &ch);
      if (k < (gint)n_actors) {
        fail_unless (
            ssan_synth_clip_init (&clip, 9, c * n_actors + (guint64)k, -1, 3)
            == 0);
        fail_unless (
            ssan_synth_render (&clip, n % 3, cw, ch, ref, (size_t)cw * 3) == 0);
      } else {
        memset (ref, 128, (gsize)cw * ch * 3);
      }
      for (row = 0; row < ch; row++)
        fail_unless (
            memcmp ((guint8 *)GST_VIDEO_FRAME_PLANE_DATA (&frame, 0)
                        + (gsize)(y + row)
                              * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0)
                        + 3 * (gsize)x,
                ref + (gsize)row * cw * 3, (gsize)cw * 3)
                == 0,
            "%u actors: frame %d cell %d row %d differs", n_actors, n, k, row);

      if (k < (gint)n_actors && n_actors > 1) {
        GstVideoRegionOfInterestMeta *roi
            = gst_buffer_get_video_region_of_interest_meta_id (
                buf, (gint)(1 + c * n_actors + (guint64)k));
        GstStructure *p;
        gint actor, id;
        guint64 ci;

        fail_unless (roi != NULL, "ROI of actor %d", k);
        fail_unless (roi->roi_type == g_quark_from_string ("actor"));
        fail_unless (roi->x == (guint)x && roi->y == (guint)y
                     && roi->w == (guint)cw && roi->h == (guint)ch);
        p = gst_video_region_of_interest_meta_get_param (
            roi, "ssan-testsrc-actor");
        fail_unless (p != NULL);
        fail_unless (gst_structure_get_int (p, "actor", &actor) && actor == k);
        fail_unless (
            gst_structure_get_int (p, "class-id", &id) && id == clip.class_id);
        fail_unless (gst_structure_get_uint64 (p, "clip-index", &ci)
                     && ci == c * n_actors + (guint64)k);
        fail_unless_equals_string (gst_structure_get_string (p, "label"),
            ssan_synth_class_name (clip.class_id));
      }
    }
    gst_video_frame_unmap (&frame);

    while ((meta = gst_buffer_iterate_meta (buf, &state))) {
      if (meta->info->api == GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)
        n_roi++;
      if (meta->info->api == GST_SSAN_CLIP_META_API_TYPE) {
        fail_unless_equals_uint64 (
            ((GstSsanClipMeta *)meta)->clip_index, c * n_actors + n_clip);
        n_clip++;
      }
    }
    fail_unless_equals_int (n_roi, n_actors > 1 ? n_actors : 0);
    fail_unless_equals_int (n_clip, n_actors);
    if (n % 3 == 0) {
      for (k = 0; k < (gint)n_actors; k++) {
        GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
        gint actor;

        fail_unless (msg != NULL);
        fail_unless (gst_structure_get_int (
                         gst_message_get_structure (msg), "actor", &actor)
                     && actor == k);
        gst_message_unref (msg);
      }
    }
    gst_buffer_unref (buf);
  }
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
  g_free (ref);
  g_free (props);
  g_free (caps);
}

GST_START_TEST (test_actors)
{
  check_actors (1, 40, 30, 1, 1);
  check_actors (4, 64, 48, 2, 2);
  check_actors (3, 64, 48, 2, 2);
  check_actors (2, 64, 48, 2, 1);
  check_actors (7, 90, 30, 4, 2);
}

GST_END_TEST;

/* Too many actors for the frame: an error, no crash. */
GST_START_TEST (test_actors_too_small)
{
  GstHarness *h = make_src (
      "actors=4", "video/x-raw,format=RGB,width=1,height=1,framerate=25/1");
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;

  gst_element_set_bus (h->element, bus);
  gst_harness_play (h);
  msg = gst_bus_timed_pop_filtered (
      bus, GST_CLOCK_TIME_NONE, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_unref (msg);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

static gboolean
frame_is_flat (GstBuffer *buf)
{
  GstMapInfo map;
  gboolean flat = TRUE;
  gsize i;

  gst_buffer_map (buf, &map, GST_MAP_READ);
  for (i = 1; i < map.size && flat; i++)
    flat = map.data[i] == map.data[0];
  gst_buffer_unmap (buf, &map);
  return flat;
}

GST_START_TEST (test_formats)
{
  static const gchar *formats[]
      = { "RGB", "BGR", "RGBx", "BGRx", "xRGB", "xBGR", "RGBA", "ARGB", "I420",
          "YV12", "NV12", "NV21", "Y42B", "Y444", "YUY2", "UYVY", "GRAY8" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (formats); i++) {
    gchar *caps = g_strdup_printf ("video/x-raw,format=%s,width=33,height=17,"
                                   "framerate=25/1",
        formats[i]);
    GstHarness *h = make_src ("seed=2", caps);
    GstVideoInfo info;
    GstCaps *c = gst_caps_from_string (caps);
    GstBuffer *buf;

    fail_unless (gst_video_info_from_caps (&info, c));
    gst_harness_play (h);
    buf = gst_harness_pull (h);
    fail_unless (buf != NULL, "%s", formats[i]);
    fail_unless (gst_buffer_get_size (buf) >= info.size, "%s", formats[i]);
    fail_unless (gst_buffer_get_ssan_clip_meta (buf) != NULL);
    fail_unless (!frame_is_flat (buf), "%s frame has content", formats[i]);
    gst_buffer_unref (buf);
    gst_caps_unref (c);
    g_free (caps);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

/* Converted formats are deterministic too: two sources, same bytes. */
GST_START_TEST (test_formats_deterministic)
{
  static const gchar *formats[] = { "I420", "NV12", "BGRx", "GRAY8" };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (formats); i++) {
    gchar *caps = g_strdup_printf ("video/x-raw,format=%s,width=40,height=30,"
                                   "framerate=25/1",
        formats[i]);
    GstHarness *a = make_src ("seed=4", caps);
    GstHarness *b = make_src ("seed=4", caps);

    gst_harness_play (a);
    gst_harness_play (b);
    fail_unless (pull_hash (a, 3) == pull_hash (b, 3), "%s", formats[i]);
    g_free (caps);
    gst_harness_teardown (a);
    gst_harness_teardown (b);
  }
}

GST_END_TEST;

GST_START_TEST (test_default_caps)
{
  GstHarness *h = gst_harness_new_parse ("ssantestsrc");
  GstCaps *caps;
  GstVideoInfo info;
  GstBuffer *buf;

  gst_harness_play (h);
  buf = gst_harness_pull (h);
  caps = gst_pad_get_current_caps (h->sinkpad);
  fail_unless (caps != NULL);
  fail_unless (gst_video_info_from_caps (&info, caps));
  fail_unless_equals_int (info.width, 320);
  fail_unless_equals_int (info.height, 240);
  fail_unless_equals_int (info.fps_n, 30);
  fail_unless_equals_int (info.fps_d, 1);
  fail_unless_equals_uint64 (
      GST_BUFFER_DURATION (buf), gst_util_uint64_scale (GST_SECOND, 1, 30));
  gst_caps_unref (caps);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_action)
{
  GstHarness *h = make_src ("action=\"moving up\" clip-frames=2 seed=9",
      "video/x-raw,format=RGB,width=8,height=8,framerate=25/1");
  GstElement *src;
  gchar *action;
  gint n;

  gst_harness_play (h);
  for (n = 0; n < 12; n++) {
    GstBuffer *buf = gst_harness_pull (h);
    GstSsanClipMeta *meta = gst_buffer_get_ssan_clip_meta (buf);

    fail_unless_equals_int (meta->class_id, SSAN_SYNTH_MOVING_UP);
    fail_unless_equals_string (meta->label, "moving up");
    gst_buffer_unref (buf);
  }
  gst_harness_teardown (h);

  /* an unknown action is an error when the stream starts */
  src = gst_element_factory_make ("ssantestsrc", NULL);
  g_object_set (src, "action", "moving sideways", NULL);
  g_object_get (src, "action", &action, NULL);
  fail_unless_equals_string (action, "moving sideways");
  g_free (action);
  fail_unless (gst_element_set_state (src, GST_STATE_PAUSED)
               == GST_STATE_CHANGE_FAILURE);
  gst_element_set_state (src, GST_STATE_NULL);
  gst_object_unref (src);
}

GST_END_TEST;

static void
pull_frames (GstHarness *h, gint n, GstBuffer **out)
{
  gint i;

  for (i = 0; i < n; i++)
    out[i] = gst_harness_pull (h);
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

/* The first five classes' pairs are each other played backwards: frame t
 * of clip k with class 2p is frame n-1-t of clip k with class 2p+1. */
GST_START_TEST (test_reversal_pairs)
{
  const gchar *caps
      = "video/x-raw,format=I420,width=32,height=24,framerate=25/1";
  gint p, t;

  for (p = 0; p < 5; p++) {
    gchar *pa = g_strdup_printf (
        "seed=21 clip-frames=6 action=\"%s\"", ssan_synth_class_name (2 * p));
    gchar *pb = g_strdup_printf ("seed=21 clip-frames=6 action=\"%s\"",
        ssan_synth_class_name (2 * p + 1));
    GstHarness *a = make_src (pa, caps), *b = make_src (pb, caps);
    GstBuffer *fa[12], *fb[12];

    gst_harness_play (a);
    gst_harness_play (b);
    pull_frames (a, 12, fa);
    pull_frames (b, 12, fb);
    for (t = 0; t < 12; t++) {
      gint k = t / 6, r = 6 * k + (5 - t % 6);
      fail_unless (buffers_equal (fa[t], fb[r]), "pair %d frame %d", p, t);
    }
    fail_if (buffers_equal (fa[0], fa[5]), "class %d moves", 2 * p);
    for (t = 0; t < 12; t++) {
      gst_buffer_unref (fa[t]);
      gst_buffer_unref (fb[t]);
    }
    gst_harness_teardown (a);
    gst_harness_teardown (b);
    g_free (pa);
    g_free (pb);
  }
}

GST_END_TEST;

/* The meta survives videoconvert and videoscale. */
GST_START_TEST (test_meta_survives_conversion)
{
  GstHarness *h = gst_harness_new_parse (
      "ssantestsrc clip-frames=4 seed=1 ! "
      "video/x-raw,format=RGB,width=64,height=48 ! videoconvert ! "
      "videoscale");
  gint n;

  gst_harness_set_sink_caps_str (
      h, "video/x-raw,format=I420,width=32,height=24");
  gst_harness_play (h);
  for (n = 0; n < 6; n++) {
    GstBuffer *buf = gst_harness_pull (h);
    GstSsanClipMeta *meta = gst_buffer_get_ssan_clip_meta (buf);

    fail_unless (meta != NULL, "meta on converted buffer %d", n);
    fail_unless_equals_int (meta->frame_index, n % 4);
    gst_buffer_unref (buf);
  }
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Several actors, several clip metas on a buffer (one per actor, in actor
 * order): videoconvert and videoscale keep every one of them, as they keep
 * the actors' ROI metas. */
GST_START_TEST (test_metas_survive_conversion)
{
  const guint n_actors = 4;
  GstHarness *h = gst_harness_new_parse (
      "ssantestsrc clip-frames=3 seed=5 actors=4 ! "
      "video/x-raw,format=RGB,width=128,height=96 ! videoconvert ! "
      "videoscale");
  gint n;

  gst_harness_set_sink_caps_str (
      h, "video/x-raw,format=I420,width=64,height=48");
  gst_harness_play (h);
  for (n = 0; n < 6; n++) {
    GstBuffer *buf = gst_harness_pull (h);
    guint64 c = (guint64)n / 3;
    gpointer state = NULL;
    GstMeta *meta;
    guint n_clip = 0, n_roi = 0;
    GList *metas, *l;
    GstBuffer *copy;

    while ((meta = gst_buffer_iterate_meta (buf, &state))) {
      if (meta->info->api == GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)
        n_roi++;
      if (meta->info->api == GST_SSAN_CLIP_META_API_TYPE) {
        GstSsanClipMeta *cm = (GstSsanClipMeta *)meta;

        fail_unless_equals_uint64 (cm->clip_index, c * n_actors + n_clip);
        fail_unless_equals_int (cm->frame_index, n % 3);
        n_clip++;
      }
    }
    fail_unless_equals_int (n_clip, n_actors);
    fail_unless_equals_int (n_roi, n_actors);

    /* the getters: actor 0's, and all of them in order */
    fail_unless_equals_uint64 (
        gst_buffer_get_ssan_clip_meta (buf)->clip_index, c * n_actors);
    metas = gst_buffer_get_ssan_clip_metas (buf);
    fail_unless_equals_int (g_list_length (metas), n_actors);
    for (l = metas, n_clip = 0; l; l = l->next, n_clip++)
      fail_unless_equals_uint64 (
          ((GstSsanClipMeta *)l->data)->clip_index, c * n_actors + n_clip);
    g_list_free (metas);

    /* the same metas copied twice onto one buffer are not doubled */
    copy = gst_buffer_new ();
    fail_unless (
        gst_buffer_copy_into (copy, buf, GST_BUFFER_COPY_METADATA, 0, 0));
    fail_unless (
        gst_buffer_copy_into (copy, buf, GST_BUFFER_COPY_METADATA, 0, 0));
    metas = gst_buffer_get_ssan_clip_metas (copy);
    fail_unless_equals_int (g_list_length (metas), n_actors);
    g_list_free (metas);
    gst_buffer_unref (copy);
    gst_buffer_unref (buf);
  }
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A seek lands on the frame grid and the clip grid of the stream. */
GST_START_TEST (test_seek)
{
  GstElement *pipe = gst_parse_launch (
      "ssantestsrc seed=8 clip-frames=4 ! "
      "video/x-raw,format=RGB,width=16,height=16,framerate=25/1 ! "
      "appsink name=sink",
      NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  GstSample *sample;
  GstBuffer *buf;
  GstSsanClipMeta *meta;
  ssan_synth_clip clip;
  GstMapInfo map;
  guint8 ref[16 * 16 * 3];

  fail_unless (pipe && sink);
  fail_unless (gst_element_set_state (pipe, GST_STATE_PAUSED)
               != GST_STATE_CHANGE_FAILURE);
  fail_unless (gst_element_get_state (pipe, NULL, NULL, GST_CLOCK_TIME_NONE)
               == GST_STATE_CHANGE_SUCCESS);
  fail_unless (gst_element_seek_simple (pipe, GST_FORMAT_TIME,
      GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE, GST_SECOND));
  fail_unless (gst_element_get_state (pipe, NULL, NULL, GST_CLOCK_TIME_NONE)
               == GST_STATE_CHANGE_SUCCESS);
  sample = gst_app_sink_pull_preroll (GST_APP_SINK (sink));
  fail_unless (sample != NULL);
  buf = gst_sample_get_buffer (sample);
  /* 1 s at 25 fps is frame 25: clip 6, frame 1 */
  fail_unless_equals_uint64 (GST_BUFFER_PTS (buf), GST_SECOND);
  meta = gst_buffer_get_ssan_clip_meta (buf);
  fail_unless (meta != NULL);
  fail_unless_equals_uint64 (meta->clip_index, 6);
  fail_unless_equals_int (meta->frame_index, 1);
  fail_unless_equals_uint64 (meta->clip_start, 24 * FRAME_NS);
  ssan_synth_clip_init (&clip, 8, 6, -1, 4);
  ssan_synth_render (&clip, 1, 16, 16, ref, 48);
  gst_buffer_map (buf, &map, GST_MAP_READ);
  fail_unless (memcmp (map.data, ref, sizeof ref) == 0);
  gst_buffer_unmap (buf, &map);
  gst_sample_unref (sample);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (pipe);
}

GST_END_TEST;

/* Live: frames arrive at their time on the clock, not faster. */
GST_START_TEST (test_live)
{
  GstElement *pipe = gst_parse_launch (
      "ssantestsrc name=src is-live=true "
      "num-buffers=10 ! video/x-raw,width=16,height=16,framerate=50/1 ! "
      "fakesink sync=true",
      NULL);
  GstBus *bus = gst_element_get_bus (pipe);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipe), "src");
  GstMessage *msg;
  gint64 t0 = g_get_monotonic_time (), dt;
  gboolean live;

  g_object_get (src, "is-live", &live, NULL);
  fail_unless (live);
  gst_object_unref (src);
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (
      bus, 10 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  dt = g_get_monotonic_time () - t0;
  /* 10 frames at 50 fps: at least 9 frame durations of wall time */
  fail_unless (
      dt >= 170000, "live source too fast: %" G_GINT64_FORMAT " us", dt);
  gst_message_unref (msg);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipe);
}

GST_END_TEST;

/* Properties change while frames flow: every frame still carries a
 * consistent clip (meta matches a class name, frame index inside the clip). */
GST_START_TEST (test_stress_properties)
{
  GstHarness *h = gst_harness_new ("ssantestsrc");
  GValue action = G_VALUE_INIT, seed = G_VALUE_INIT, frames = G_VALUE_INIT;
  GstHarnessThread *t1, *t2, *t3;
  gint n;

  g_value_init (&action, G_TYPE_STRING);
  g_value_set_string (&action, "receding");
  g_value_init (&seed, G_TYPE_UINT64);
  g_value_set_uint64 (&seed, 99);
  g_value_init (&frames, G_TYPE_UINT);
  g_value_set_uint (&frames, 5);
  g_object_set (h->element, "clip-frames", 3, NULL);
  gst_harness_set_sink_caps_str (
      h, "video/x-raw,format=I420,width=24,height=16,framerate=25/1");
  gst_harness_play (h);
  t1 = gst_harness_stress_property_start_full (h, "action", &action, 100);
  t2 = gst_harness_stress_property_start_full (h, "seed", &seed, 100);
  t3 = gst_harness_stress_property_start_full (h, "clip-frames", &frames, 100);
  for (n = 0; n < 200; n++) {
    GstBuffer *buf = gst_harness_pull (h);
    GstSsanClipMeta *meta = gst_buffer_get_ssan_clip_meta (buf);

    fail_unless (meta != NULL);
    fail_unless (meta->class_id >= 0 && meta->class_id < SSAN_SYNTH_N_CLASSES);
    fail_unless_equals_string (
        meta->label, ssan_synth_class_name (meta->class_id));
    fail_unless (meta->frame_index < meta->n_frames);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (buf), n * FRAME_NS);
    gst_buffer_unref (buf);
  }
  gst_harness_stress_thread_stop (t1);
  gst_harness_stress_thread_stop (t2);
  gst_harness_stress_thread_stop (t3);
  g_value_unset (&action);
  g_value_unset (&seed);
  g_value_unset (&frames);
  gst_harness_teardown (h);
}

GST_END_TEST;

static Suite *
ssantestsrc_suite (void)
{
  Suite *s = suite_create ("ssantestsrc");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_determinism);
  tcase_add_test (tc, test_matches_synth);
  tcase_add_test (tc, test_messages_and_meta);
  tcase_add_test (tc, test_actors);
  tcase_add_test (tc, test_actors_too_small);
  tcase_add_test (tc, test_formats);
  tcase_add_test (tc, test_formats_deterministic);
  tcase_add_test (tc, test_default_caps);
  tcase_add_test (tc, test_action);
  tcase_add_test (tc, test_reversal_pairs);
  tcase_add_test (tc, test_meta_survives_conversion);
  tcase_add_test (tc, test_metas_survive_conversion);
  tcase_add_test (tc, test_seek);
  tcase_add_test (tc, test_live);
  tcase_add_test (tc, test_stress_properties);
  return s;
}

GST_CHECK_MAIN (ssantestsrc);
