/* ssanaction element tests (GstHarness).
 *
 * Models come from tests/data/golden (small models written by the PyTorch
 * twin).  Frames at the model's `resize` x `resize` in RGB need no scaling
 * (the centre crop is exactly input_size), so the element's results can be
 * compared with the engine run directly on the spec §4/§5 tensor built
 * here independently.
 */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <gmodule.h>
#include <json-glib/json-glib.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ssan/ssan.h"
#include "gstssanactionmeta.h"
#include "ssan-modelgen.h"

#define MODEL_T8 SSAN_TEST_DATA "/golden/basic_l1_t8.safetensors"
#define MODEL_T3 SSAN_TEST_DATA "/golden/basic_stride2_r4_b2.safetensors"
#define MODEL_L12 SSAN_TEST_DATA "/element_t4_l12_s32.safetensors"
#define FRAME_DURATION (40 * GST_MSECOND)

typedef struct {
  ssan_model *model;
  const ssan_info *info;
  gint R; /* frame side needing no scaling */
} TestModel;

static void
test_model_load (TestModel *tm, const gchar *path)
{
  ssan_error err = {
    0,
  };

  tm->model = ssan_model_load (path, &err);
  fail_unless (tm->model != NULL, "%s", err.msg);
  tm->info = ssan_model_get_info (tm->model);
  tm->R = tm->info->resize;
  /* the element's crop side is round(R * S / resize) = S */
  fail_unless_equals_int (
      (tm->R * tm->info->input_size + tm->R / 2) / tm->R, tm->info->input_size);
}

static guint32
hash32 (guint32 x)
{
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

/* Deterministic content for frame `index`: every byte of every plane. */
static GstBuffer *
make_frame (const GstVideoInfo *info, guint index, GstClockTime pts)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, info->size, NULL);
  GstMapInfo map;
  gsize i;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (i = 0; i < map.size; i++)
    map.data[i] = hash32 ((index + 1) * 2654435761U + i) >> 24;
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf)
      = GST_CLOCK_TIME_IS_VALID (pts) ? FRAME_DURATION : GST_CLOCK_TIME_NONE;
  return buf;
}

static GstBuffer *
make_frame_at (const GstVideoInfo *info, guint index)
{
  return make_frame (info, index, index * FRAME_DURATION);
}

/* Spec §4/§5 independently: probabilities of the window of L frames
 * starting at `first`, frames made by make_frame on R x R RGB. */
static void
reference_probs (TestModel *tm, const GstVideoInfo *info, gint L, gint T,
    guint first, gdouble *probs)
{
  gint S = tm->info->input_size, C = tm->info->num_classes;
  gint off = (tm->R - S) / 2, t, c, x, y;
  float *frames = g_new (float, (gsize)T * 3 * S * S);
  float *logits = g_new (float, C);
  ssan_error err = {
    0,
  };
  ssan_ctx *ctx;
  gdouble max, sum;

  for (t = 0; t < T; t++) {
    gint idx = (gint)(((gint64)L * (2 * t + 1)) / (2 * T));
    GstBuffer *buf = make_frame_at (info, first + idx);
    GstMapInfo map;

    gst_buffer_map (buf, &map, GST_MAP_READ);
    for (c = 0; c < 3; c++)
      for (y = 0; y < S; y++)
        for (x = 0; x < S; x++) {
          guint8 p = map.data[(y + off) * GST_VIDEO_INFO_PLANE_STRIDE (info, 0)
                              + (x + off) * 3 + c];
          frames[((t * 3 + c) * S + y) * S + x]
              = (p / 255.0f - tm->info->mean[c]) / tm->info->std[c];
        }
    gst_buffer_unmap (buf, &map);
    gst_buffer_unref (buf);
  }

  ctx = ssan_ctx_new (tm->model, T, 1, &err);
  fail_unless (ctx != NULL, "%s", err.msg);
  fail_unless_equals_int (ssan_ctx_forward (ctx, frames, 1, logits, &err), 0);
  ssan_ctx_free (ctx);

  max = logits[0];
  for (c = 1; c < C; c++)
    max = MAX (max, logits[c]);
  sum = 0;
  for (c = 0; c < C; c++)
    sum += probs[c] = exp ((gdouble)logits[c] - max);
  for (c = 0; c < C; c++)
    probs[c] /= sum;

  g_free (frames);
  g_free (logits);
}

static GstBus *
harness_bus (GstHarness *h)
{
  GstBus *bus = gst_bus_new ();

  gst_element_set_bus (h->element, bus);
  return bus;
}

/* Drops the queued messages (they hold the element) and the bus. */
static void
drop_bus (GstBus *bus)
{
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
}

/* Pops every ssan-action message on the bus. */
static GList *
pop_results (GstBus *bus)
{
  GList *list = NULL;
  GstMessage *msg;

  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT))) {
    const GstStructure *s = gst_message_get_structure (msg);
    if (gst_structure_has_name (s, "ssan-action"))
      list = g_list_append (list, gst_structure_copy (s));
    gst_message_unref (msg);
  }
  return list;
}

static void
free_results (GList *list)
{
  g_list_free_full (list, (GDestroyNotify)gst_structure_free);
}

static guint64
field_u64 (const GstStructure *s, const gchar *name)
{
  guint64 v = 0;

  fail_unless (gst_structure_get_uint64 (s, name, &v), "no %s", name);
  return v;
}

/* Score of class `label` among the message's top-k, or -1. */
static gdouble
score_of (const GstStructure *s, const gchar *label)
{
  const GValue *labels = gst_structure_get_value (s, "labels");
  const GValue *scores = gst_structure_get_value (s, "scores");
  guint i;

  fail_unless (labels && scores);
  fail_unless_equals_int (
      gst_value_array_get_size (labels), gst_value_array_get_size (scores));
  for (i = 0; i < gst_value_array_get_size (labels); i++) {
    if (!g_strcmp0 (
            g_value_get_string (gst_value_array_get_value (labels, i)), label))
      return g_value_get_double (gst_value_array_get_value (scores, i));
  }
  return -1;
}

/* ssanaction with model and `props` ("name=value ...", no spaces in
 * values), fed with raw video of the given format and size at 25 fps. */
static GstHarness *
new_harness (const gchar *model, const gchar *props, gint width, gint height,
    const gchar *format, GstVideoInfo *info)
{
  GstElement *e = gst_element_factory_make ("ssanaction", NULL);
  gchar **kv = g_strsplit (props ? props : "", " ", -1), **p;
  GstHarness *h;

  fail_unless (e != NULL);
  g_object_set (e, "model", model, NULL);
  for (p = kv; *p; p++) {
    gchar *eq = strchr (*p, '=');

    if (eq == NULL)
      continue;
    *eq = '\0';
    gst_util_set_object_arg (G_OBJECT (e), *p, eq + 1);
  }
  g_strfreev (kv);
  /* the harness starts the element: set the model first */
  h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);

  gst_video_info_set_format (
      info, gst_video_format_from_string (format), width, height);
  GST_VIDEO_INFO_FPS_N (info) = 25;
  GST_VIDEO_INFO_FPS_D (info) = 1;
  gst_harness_set_src_caps (h, gst_video_info_to_caps (info));
  return h;
}

/* Window arithmetic, sampling, timestamps and numbers against spec §4/§5
 * for several (L, T, stride), set as properties or, when L is 0, left to
 * the model (L = window_frames, T = segments, stride = L / T); sync mode:
 * each window's result is out before its last frame is. */
static void
check_windows (const gchar *model_path, gint L, gint T, gint stride, guint N)
{
  TestModel tm;
  GstVideoInfo info;
  GstHarness *h;
  GstBus *bus;
  gchar *props;
  guint n, expected_windows, k = 0;
  gint C, roi_id;
  gdouble *ref;

  test_model_load (&tm, model_path);
  C = tm.info->num_classes;
  ref = g_new (gdouble, C);
  if (L == 0) {
    T = tm.info->segments;
    L = MAX (tm.info->window_frames, T);
    stride = MAX (1, L / T);
    props = g_strdup_printf ("top-k=%d", C);
  } else {
    props = g_strdup_printf (
        "window-frames=%d segments=%d stride=%d top-k=%d", L, T, stride, C);
  }
  h = new_harness (model_path, props, tm.R, tm.R, "RGB", &info);
  g_free (props);
  bus = harness_bus (h);
  g_object_get (h->element, "roi-id", &roi_id, NULL);

  expected_windows = N >= (guint)L ? (N - L) / stride + 1 : 0;
  for (n = 0; n < N; n++) {
    GstBuffer *out;
    GstSsanActionMeta *meta;
    GstVideoRegionOfInterestMeta *roi;
    GList *results;
    gboolean is_end = n + 1 >= (guint)L && (n + 1 - L) % stride == 0;

    fail_unless_equals_int (
        gst_harness_push (h, make_frame_at (&info, n)), GST_FLOW_OK);
    results = pop_results (bus);
    fail_unless_equals_int (g_list_length (results), is_end ? 1 : 0);
    out = gst_harness_pull (h);
    meta = gst_buffer_get_ssan_action_meta (out);
    fail_unless_equals_int (meta != NULL, n + 1 >= (guint)L);
    roi = gst_buffer_get_video_region_of_interest_meta_id (out, roi_id);
    fail_unless_equals_int (roi != NULL, n + 1 >= (guint)L);
    if (roi) {
      const GstStructure *p
          = gst_video_region_of_interest_meta_get_param (roi, "ssan-action");
      fail_unless_equals_string (g_quark_to_string (roi->roi_type), "action");
      fail_unless_equals_int (roi->w, tm.R);
      fail_unless_equals_int (roi->h, tm.R);
      fail_unless (p != NULL);
      fail_unless_equals_uint64 (
          field_u64 (p, "window-index"), meta->result->window_index);
      fail_unless_equals_string (
          gst_structure_get_string (p, "label"), meta->result->label);
    }

    if (is_end) {
      const GstStructure *s = results->data;
      guint wstart = k * stride;
      gdouble conf;
      gint c, class_id, best = 0;
      const gchar *label;

      fail_unless_equals_uint64 (field_u64 (s, "window-index"), k);
      fail_unless_equals_uint64 (
          field_u64 (s, "window-start"), wstart * FRAME_DURATION);
      fail_unless_equals_uint64 (
          field_u64 (s, "window-end"), (wstart + L - 1) * FRAME_DURATION);
      fail_unless (field_u64 (s, "inference-time") > 0);
      fail_unless_equals_uint64 (meta->result->window_index, k);
      fail_unless_equals_uint64 (
          meta->result->window_end, GST_BUFFER_PTS (out));

      reference_probs (&tm, &info, L, T, wstart, ref);
      for (c = 0; c < C; c++) {
        gdouble got = score_of (s, tm.info->labels[c]);
        fail_unless (fabs (got - ref[c]) < 1e-4,
            "L %d T %d stride %d window %u class %d: %f vs reference %f", L, T,
            stride, k, c, got, ref[c]);
        if (ref[c] > ref[best])
          best = c;
      }
      fail_unless (gst_structure_get_int (s, "class-id", &class_id));
      fail_unless (gst_structure_get_double (s, "confidence", &conf));
      label = gst_structure_get_string (s, "label");
      fail_unless_equals_int (class_id, best);
      fail_unless_equals_string (label, tm.info->labels[best]);
      fail_unless (fabs (conf - ref[best]) < 1e-4);
      k++;
    }
    free_results (results);
    gst_buffer_unref (out);
  }
  fail_unless_equals_int (k, expected_windows);

  /* EOS: no partial window */
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless (pop_results (bus) == NULL);

  drop_bus (bus);
  gst_harness_teardown (h);
  ssan_model_free (tm.model);
  g_free (ref);
}

GST_START_TEST (test_sample_index)
{
  /* spec §4 examples worked by hand */
  fail_unless_equals_int (ssan_sample_index (8, 8, 0), 0);
  fail_unless_equals_int (ssan_sample_index (8, 8, 7), 7);
  fail_unless_equals_int (ssan_sample_index (32, 8, 0), 2);
  fail_unless_equals_int (ssan_sample_index (32, 8, 7), 30);
  fail_unless_equals_int (ssan_sample_index (10, 3, 0), 1);
  fail_unless_equals_int (ssan_sample_index (10, 3, 1), 5);
  fail_unless_equals_int (ssan_sample_index (10, 3, 2), 8);
  fail_unless_equals_int (ssan_sample_index (5, 1, 0), 2);
}

GST_END_TEST;

/* The result owns copies of everything; metas share it by reference. */
GST_START_TEST (test_result_and_meta)
{
  gchar *names[2] = { g_strdup ("wave"), g_strdup ("jump") };
  gint ids[2] = { 3, 1 };
  gdouble scores[2] = { 0.7, 0.2 };
  GstSsanActionResult *r, *none;
  GstSsanActionMeta *meta;
  GstBuffer *buf, *copy;

  r = gst_ssan_action_result_new (
      3, 0.7, 2, ids, (const gchar *const *)names, scores, 10, 20, 4, 1000);
  none = gst_ssan_action_result_new (-1, 0.7, 2, ids,
      (const gchar *const *)names, scores, GST_CLOCK_TIME_NONE,
      GST_CLOCK_TIME_NONE, 0, 1);
  names[0][0] = 'X';
  ids[0] = 0;
  scores[0] = 0;
  g_free (names[0]);
  g_free (names[1]);
  fail_unless_equals_string (r->label, "wave");
  fail_unless_equals_string (r->top_labels[1], "jump");
  fail_unless_equals_int (r->top_ids[0], 3);
  fail_unless_equals_int (r->n_top, 2);
  fail_unless (r->top_scores[0] == 0.7);
  fail_unless_equals_uint64 (r->window_end, 20);
  fail_unless_equals_string (none->label, "");
  fail_unless_equals_int (none->class_id, -1);

  buf = gst_buffer_new_allocate (NULL, 16, NULL);
  fail_unless (gst_buffer_add_ssan_action_meta (buf, r) != NULL);
  copy = gst_buffer_copy (buf);
  meta = gst_buffer_get_ssan_action_meta (copy);
  fail_unless (meta != NULL && meta->result == r);
  gst_buffer_unref (buf);
  gst_ssan_action_result_unref (r);
  fail_unless_equals_string (meta->result->label, "wave");
  gst_buffer_unref (copy);
  gst_ssan_action_result_unref (none);

  fail_unless (g_type_is_a (GST_TYPE_SSAN_ACTION_RESULT, G_TYPE_BOXED));
}

GST_END_TEST;

GST_START_TEST (test_windows_model_default)
{
  /* T = 8, L = window_frames = 8, stride = L / T = 1 */
  check_windows (MODEL_T8, 8, 8, 1, 14);
}

GST_END_TEST;

GST_START_TEST (test_windows_model_window_frames)
{
  /* a model with window_frames 12 > segments 4 and resize = input_size:
   * frames at input size, L = 12, stride 3 */
  check_windows (MODEL_L12, 0, 0, 0, 30);
}

GST_END_TEST;

GST_START_TEST (test_windows_long)
{
  check_windows (MODEL_T8, 13, 4, 3, 29);
}

GST_END_TEST;

GST_START_TEST (test_windows_gaps)
{
  /* stride > L: frames between windows are never sampled */
  check_windows (MODEL_T3, 5, 3, 7, 27);
}

GST_END_TEST;

GST_START_TEST (test_windows_t1)
{
  check_windows (MODEL_T3, 6, 1, 2, 15);
}

GST_END_TEST;

GST_START_TEST (test_windows_short_stream)
{
  check_windows (MODEL_T3, 9, 3, 2, 8);
}

GST_END_TEST;

/* The element's default window (window-frames = segments = stride = 0)
 * follows the model: check the count from the defaults. */
GST_START_TEST (test_defaults_from_model)
{
  TestModel tm;
  GstVideoInfo info;
  GstHarness *h;
  GstBus *bus;
  GList *results;
  guint n, N = 20, L;

  test_model_load (&tm, MODEL_T3);
  L = MAX (tm.info->window_frames, tm.info->segments);
  h = new_harness (MODEL_T3, NULL, 64, 48, "I420", &info);
  bus = harness_bus (h);
  for (n = 0; n < N; n++) {
    fail_unless_equals_int (
        gst_harness_push (h, make_frame_at (&info, n)), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
  }
  results = pop_results (bus);
  fail_unless_equals_int (
      g_list_length (results), (N - L) / MAX (1, L / tm.info->segments) + 1);
  free_results (results);
  drop_bus (bus);
  gst_harness_teardown (h);
  ssan_model_free (tm.model);
}

GST_END_TEST;

/* Pass-through: the very same memory goes out, also when the input buffer
 * is not writable (then only the buffer object is new). */
GST_START_TEST (test_no_pixel_copy)
{
  GstVideoInfo info;
  GstHarness *h;
  GstBuffer *in, *out;
  GstMapInfo imap, omap;
  guint8 *data;
  guint n;

  h = new_harness (MODEL_T3, NULL, 51, 51, "RGB", &info);
  for (n = 0; n < 8; n++) {
    in = make_frame_at (&info, n);
    gst_buffer_ref (in); /* not writable any more */
    fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
    out = gst_harness_pull (h);
    gst_buffer_map (in, &imap, GST_MAP_READ);
    gst_buffer_map (out, &omap, GST_MAP_READ);
    fail_unless (imap.data == omap.data);
    gst_buffer_unmap (out, &omap);
    gst_buffer_unmap (in, &imap);
    fail_unless (gst_buffer_get_ssan_action_meta (in) == NULL);
    if (n >= 2)
      fail_unless (gst_buffer_get_ssan_action_meta (out) != NULL);
    gst_buffer_unref (in);
    gst_buffer_unref (out);

    in = make_frame_at (&info, n);
    gst_buffer_map (in, &imap, GST_MAP_READ);
    data = imap.data;
    gst_buffer_unmap (in, &imap);
    fail_unless_equals_int (gst_harness_push (h, in), GST_FLOW_OK);
    out = gst_harness_pull (h);
    fail_unless (out == in);
    gst_buffer_map (out, &omap, GST_MAP_READ);
    fail_unless (data == omap.data);
    gst_buffer_unmap (out, &omap);
    gst_buffer_unref (out);
  }
  gst_harness_teardown (h);
}

GST_END_TEST;

/* The action meta and the ROI meta are on every buffer from the first
 * result on, and survive videoconvert and videoscale. */
GST_START_TEST (test_meta_every_buffer)
{
  GstVideoInfo info;
  GstHarness *h;
  guint n;
  GstSsanActionResult *last = NULL;

  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_BGRx, 96, 64);
  GST_VIDEO_INFO_FPS_N (&info) = 25;
  h = gst_harness_new_parse (
      "ssanaction model=\"" MODEL_T3 "\" "
      "window-frames=4 stride=2 ! videoconvert ! videoscale");
  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
  gst_harness_set_sink_caps_str (
      h, "video/x-raw,format=I420,width=48,height=32");

  for (n = 0; n < 20; n++) {
    GstBuffer *out;
    GstSsanActionMeta *meta;

    fail_unless_equals_int (
        gst_harness_push (h, make_frame_at (&info, n)), GST_FLOW_OK);
    out = gst_harness_pull (h);
    fail_unless_equals_int (gst_buffer_get_size (out), 48 * 32 * 3 / 2);
    meta = gst_buffer_get_ssan_action_meta (out);
    if (n < 3) {
      fail_unless (meta == NULL);
      gst_buffer_unref (out);
      continue;
    }
    fail_unless (meta != NULL, "no meta on buffer %u", n);
    fail_unless_equals_uint64 (meta->result->window_index, (n - 3) / 2);
    fail_unless_equals_uint64 (
        meta->result->window_start, (n - 3) / 2 * 2 * FRAME_DURATION);
    fail_unless (meta->result->n_top == 5);
    if ((n - 3) % 2 == 1)
      fail_unless (meta->result == last);
    last = meta->result;
    gst_buffer_unref (out);
  }
  gst_harness_teardown (h);
}

GST_END_TEST;

static void
push_n (GstHarness *h, const GstVideoInfo *info, guint first, guint count)
{
  guint n;

  for (n = first; n < first + count; n++) {
    fail_unless_equals_int (
        gst_harness_push (h, make_frame_at (info, n)), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
  }
}

static GstVideoRegionOfInterestMeta *
action_roi (GstBuffer *buf, GstElement *e)
{
  GstVideoRegionOfInterestMeta *roi;
  gint id;

  g_object_get (e, "roi-id", &id, NULL);
  roi = gst_buffer_get_video_region_of_interest_meta_id (buf, id);
  fail_unless (roi != NULL, "no ROI %d", id);
  fail_unless_equals_string (g_quark_to_string (roi->roi_type), "action");
  return roi;
}

/* Two ssanaction elements in a row: each result survives on its own (its
 * meta, its ROI, its message), through a copy too; result ids count each
 * element's results over its whole life, window indices restart. */
GST_START_TEST (test_two_elements)
{
  GstVideoInfo info;
  GstHarness *h;
  GstElement *a, *b;
  GstBus *bus;
  GList *results, *l;
  guint n, count_a = 0, count_b = 0;
  gint id_a, id_b;
  GstSegment segment;

  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 32, 32);
  GST_VIDEO_INFO_FPS_N (&info) = 25;
  h = gst_harness_new_parse (
      "ssanaction name=a model=\"" MODEL_T3 "\" window-frames=3 ! "
      "ssanaction name=b model=\"" MODEL_T8 "\"");
  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
  bus = harness_bus (h);
  a = gst_bin_get_by_name (GST_BIN (h->element), "a");
  b = gst_bin_get_by_name (GST_BIN (h->element), "b");
  g_object_get (a, "roi-id", &id_a, NULL);
  g_object_get (b, "roi-id", &id_b, NULL);
  fail_unless (id_a != id_b);

  for (n = 0; n < 12; n++) {
    GstBuffer *out, *copy;
    GstSsanActionMeta *ma, *mb;
    GstVideoRegionOfInterestMeta *roi;
    const GstStructure *p;
    gpointer state = NULL;
    guint n_metas = 0;

    fail_unless_equals_int (
        gst_harness_push (h, make_frame_at (&info, n)), GST_FLOW_OK);
    out = gst_harness_pull (h);
    ma = gst_buffer_get_ssan_action_meta_for (out, "a");
    mb = gst_buffer_get_ssan_action_meta_for (out, "b");
    fail_unless_equals_int (ma != NULL, n >= 2);
    fail_unless_equals_int (mb != NULL, n >= 7);
    fail_unless (gst_buffer_get_ssan_action_meta_for (out, "c") == NULL);
    while (gst_buffer_iterate_meta_filtered (
        out, &state, GST_SSAN_ACTION_META_API_TYPE))
      n_metas++;
    fail_unless_equals_int (n_metas, (ma != NULL) + (mb != NULL));
    if (ma) {
      fail_unless_equals_string (ma->result->element, "a");
      fail_unless_equals_string (ma->result->model, MODEL_T3);
      fail_unless_equals_uint64 (ma->result->result_id, n - 2);
      roi = action_roi (out, a);
      p = gst_video_region_of_interest_meta_get_param (roi, "ssan-action");
      fail_unless_equals_string (gst_structure_get_string (p, "element"), "a");
      fail_unless_equals_uint64 (field_u64 (p, "result-id"), n - 2);
    }
    if (mb) {
      fail_unless_equals_string (mb->result->element, "b");
      fail_unless_equals_string (mb->result->model, MODEL_T8);
      fail_unless_equals_uint64 (mb->result->result_id, n - 7);
      roi = action_roi (out, b);
      p = gst_video_region_of_interest_meta_get_param (roi, "ssan-action");
      fail_unless_equals_string (gst_structure_get_string (p, "element"), "b");
      fail_unless_equals_uint64 (field_u64 (p, "result-id"), n - 7);
    }

    /* a copy (what videoconvert does) keeps both, once each */
    copy = gst_buffer_copy (out);
    fail_unless ((gst_buffer_get_ssan_action_meta_for (copy, "a") == NULL)
                 == (ma == NULL));
    if (ma)
      fail_unless (gst_buffer_get_ssan_action_meta_for (copy, "a")->result
                   == ma->result);
    if (mb)
      fail_unless (gst_buffer_get_ssan_action_meta_for (copy, "b")->result
                   == mb->result);
    state = NULL;
    n_metas = 0;
    while (gst_buffer_iterate_meta_filtered (
        copy, &state, GST_SSAN_ACTION_META_API_TYPE))
      n_metas++;
    fail_unless_equals_int (n_metas, (ma != NULL) + (mb != NULL));
    gst_buffer_unref (copy);
    gst_buffer_unref (out);
  }

  results = pop_results (bus);
  for (l = results; l; l = l->next) {
    const gchar *e = gst_structure_get_string (l->data, "element");

    fail_unless (e != NULL);
    fail_unless (!strcmp (e, "a") || !strcmp (e, "b"), "message from %s", e);
    if (!strcmp (e, "a")) {
      fail_unless_equals_uint64 (field_u64 (l->data, "result-id"), count_a);
      count_a++;
    } else {
      fail_unless_equals_uint64 (field_u64 (l->data, "result-id"), count_b);
      count_b++;
    }
  }
  fail_unless_equals_int (count_a, 10);
  fail_unless_equals_int (count_b, 5);
  free_results (results);

  /* a flush restarts window indices, not result ids */
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));
  push_n (h, &info, 0, 3);
  results = pop_results (bus);
  fail_unless_equals_int (g_list_length (results), 1);
  fail_unless_equals_uint64 (field_u64 (results->data, "window-index"), 0);
  fail_unless_equals_uint64 (field_u64 (results->data, "result-id"), 10);
  free_results (results);

  /* and so does a restart */
  fail_unless_equals_int (gst_element_set_state (h->element, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  fail_unless_equals_int (gst_element_set_state (h->element, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));
  push_n (h, &info, 0, 3);
  results = pop_results (bus);
  fail_unless_equals_int (g_list_length (results), 1);
  fail_unless_equals_uint64 (field_u64 (results->data, "result-id"), 11);
  free_results (results);

  gst_object_unref (a);
  gst_object_unref (b);
  drop_bus (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

static guint64
last_index (GstBus *bus, guint expected_count)
{
  GList *results = pop_results (bus);
  guint64 index;

  fail_unless_equals_int (g_list_length (results), expected_count);
  if (!results)
    return G_MAXUINT64;
  index = field_u64 (g_list_last (results)->data, "window-index");
  free_results (results);
  return index;
}

/* Flushes, DISCONT buffers and caps changes empty the window. */
GST_START_TEST (test_flush_discont_caps)
{
  GstVideoInfo info, info2;
  GstHarness *h;
  GstBus *bus;
  GstBuffer *buf;
  GstSegment segment;
  guint n = 0;

  /* L = 5, T = 3, stride 1 */
  h = new_harness (MODEL_T3, "window-frames=5", 40, 30, "NV12", &info);
  bus = harness_bus (h);

  push_n (h, &info, n, 6);
  n += 6;
  fail_unless_equals_uint64 (last_index (bus, 2), 1);

  /* flush: 4 frames make no window, the 5th does, as window 0; no stale
   * meta after the flush */
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));
  fail_unless_equals_int (
      gst_harness_push (h, make_frame_at (&info, n++)), GST_FLOW_OK);
  buf = gst_harness_pull (h);
  fail_unless (gst_buffer_get_ssan_action_meta (buf) == NULL);
  gst_buffer_unref (buf);
  push_n (h, &info, n, 3);
  n += 3;
  fail_unless_equals_uint64 (last_index (bus, 0), G_MAXUINT64);
  push_n (h, &info, n++, 1);
  fail_unless_equals_uint64 (last_index (bus, 1), 0);

  /* DISCONT: same, but the latest result stays attached */
  buf = make_frame_at (&info, n++);
  GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  buf = gst_harness_pull (h);
  fail_unless (gst_buffer_get_ssan_action_meta (buf) != NULL);
  gst_buffer_unref (buf);
  push_n (h, &info, n, 3);
  n += 3;
  fail_unless_equals_uint64 (last_index (bus, 0), G_MAXUINT64);
  push_n (h, &info, n++, 1);
  fail_unless_equals_uint64 (last_index (bus, 1), 0);
  push_n (h, &info, n++, 1);
  fail_unless_equals_uint64 (last_index (bus, 1), 1);

  /* caps change (format and size) mid-window */
  push_n (h, &info, n, 2);
  n += 2;
  fail_unless_equals_uint64 (last_index (bus, 2), 3);
  gst_video_info_set_format (&info2, GST_VIDEO_FORMAT_YUY2, 17, 9);
  GST_VIDEO_INFO_FPS_N (&info2) = 25;
  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info2));
  push_n (h, &info2, n, 4);
  n += 4;
  fail_unless_equals_uint64 (last_index (bus, 0), G_MAXUINT64);
  push_n (h, &info2, n++, 1);
  fail_unless_equals_uint64 (last_index (bus, 1), 0);

  drop_bus (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Buffers without timestamps: results say GST_CLOCK_TIME_NONE / null. */
GST_START_TEST (test_no_timestamps_json)
{
  GstVideoInfo info;
  GstHarness *h;
  GstBus *bus;
  GList *results;
  gchar *path, *props, *contents, **lines;
  guint n;
  gint fd;
  GError *error = NULL;

  fd = g_file_open_tmp ("ssan-results-XXXXXX.jsonl", &path, NULL);
  fail_unless (fd >= 0);
  close (fd);
  props = g_strdup_printf ("window-frames=4 stride=2 results-location=%s"
                           " top-k=3",
      path);
  h = new_harness (MODEL_T3, props, 45, 45, "GRAY8", &info);
  g_free (props);
  bus = harness_bus (h);
  for (n = 0; n < 4; n++) {
    fail_unless_equals_int (
        gst_harness_push (h, make_frame (&info, n, GST_CLOCK_TIME_NONE)),
        GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
  }
  push_n (h, &info, 4, 4);
  results = pop_results (bus);
  fail_unless_equals_int (g_list_length (results), 3);
  fail_unless_equals_uint64 (
      field_u64 (results->data, "window-start"), GST_CLOCK_TIME_NONE);
  fail_unless_equals_uint64 (
      field_u64 (results->data, "window-end"), GST_CLOCK_TIME_NONE);
  fail_unless_equals_uint64 (
      field_u64 (g_list_last (results)->data, "window-end"),
      7 * FRAME_DURATION);
  free_results (results);

  /* the JSON lines are there before EOS (flushed per line) */
  fail_unless (g_file_get_contents (path, &contents, NULL, &error));
  lines = g_strsplit (contents, "\n", -1);
  fail_unless_equals_int (g_strv_length (lines), 4);
  fail_unless_equals_string (lines[3], "");
  for (n = 0; n < 3; n++) {
    JsonParser *parser = json_parser_new ();
    JsonObject *o;
    JsonArray *a;

    fail_unless (json_parser_load_from_data (parser, lines[n], -1, &error),
        "line %u: %s", n, lines[n]);
    o = json_node_get_object (json_parser_get_root (parser));
    fail_unless_equals_int (json_object_get_int_member (o, "window-index"), n);
    fail_unless (json_object_has_member (o, "label"));
    fail_unless (json_object_has_member (o, "class-id"));
    fail_unless (json_object_has_member (o, "confidence"));
    fail_unless (json_object_has_member (o, "inference-time"));
    fail_unless_equals_int (json_object_get_int_member (o, "result-id"), n);
    fail_unless_equals_string (json_object_get_string_member (o, "element"),
        GST_OBJECT_NAME (h->element));
    fail_unless_equals_string (
        json_object_get_string_member (o, "model"), MODEL_T3);
    fail_unless_equals_int (
        json_object_get_null_member (o, "window-start"), n < 2);
    fail_unless_equals_int (
        json_object_get_null_member (o, "stream-time"), n < 2);
    if (n == 2) {
      fail_unless_equals_int (
          json_object_get_int_member (o, "window-start"), 4 * FRAME_DURATION);
      fail_unless_equals_int (
          json_object_get_int_member (o, "stream-time"), 4 * FRAME_DURATION);
    }
    a = json_object_get_array_member (o, "labels");
    fail_unless_equals_int (json_array_get_length (a), 3);
    a = json_object_get_array_member (o, "scores");
    fail_unless_equals_int (json_array_get_length (a), 3);
    fail_unless (json_array_get_double_element (a, 0)
                 >= json_array_get_double_element (a, 1));
    g_object_unref (parser);
  }
  g_strfreev (lines);
  g_free (contents);

  drop_bus (bus);
  gst_harness_teardown (h);
  g_unlink (path);
  g_free (path);
}

GST_END_TEST;

/* A results file that cannot take the lines: one warning, results go on. */
GST_START_TEST (test_results_write_failure)
{
  GstVideoInfo info;
  GstHarness *h;
  GstBus *bus;
  GstMessage *msg;
  guint warnings = 0, results = 0;

  if (!g_file_test ("/dev/full", G_FILE_TEST_EXISTS))
    return;
  h = new_harness (MODEL_T3, "window-frames=3 results-location=/dev/full", 16,
      16, "I420", &info);
  bus = harness_bus (h);
  push_n (h, &info, 0, 8);
  while ((msg = gst_bus_pop (bus))) {
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING)
      warnings++;
    else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT)
      results++;
    gst_message_unref (msg);
  }
  fail_unless_equals_int (warnings, 1);
  fail_unless_equals_int (results, 6);
  drop_bus (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Reverse playback (rate -1): frames arrive latest first, each DISCONT as
 * basesrc marks them; windows still form and the network sees each one
 * oldest first in time, so the numbers are those of the same frames played
 * forward (L = 5, T = 3 samples the same frames both ways). */
GST_START_TEST (test_reverse_playback)
{
  const guint N = 12;
  TestModel tm;
  GstVideoInfo info;
  GstHarness *h;
  GstBus *bus;
  GstSegment segment;
  GList *results, *l;
  gchar *props;
  gdouble *ref;
  guint n, k = 0;
  gint C, c;

  test_model_load (&tm, MODEL_T3);
  C = tm.info->num_classes;
  ref = g_new (gdouble, C);
  props = g_strdup_printf ("window-frames=5 stride=1 top-k=%d", C);
  h = new_harness (MODEL_T3, props, tm.R, tm.R, "RGB", &info);
  g_free (props);
  bus = harness_bus (h);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  segment.rate = -1.0;
  segment.stop = N * FRAME_DURATION;
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));

  for (n = 0; n < N; n++) {
    GstBuffer *buf = make_frame_at (&info, N - 1 - n);

    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
  }
  results = pop_results (bus);
  fail_unless_equals_int (g_list_length (results), N - 4);
  for (l = results; l; l = l->next, k++) {
    guint oldest = N - 5 - k;

    fail_unless_equals_uint64 (field_u64 (l->data, "window-index"), k);
    fail_unless_equals_uint64 (
        field_u64 (l->data, "window-start"), oldest * FRAME_DURATION);
    fail_unless_equals_uint64 (
        field_u64 (l->data, "window-end"), (oldest + 4) * FRAME_DURATION);
    reference_probs (&tm, &info, 5, 3, oldest, ref);
    for (c = 0; c < C; c++) {
      gdouble got = score_of (l->data, tm.info->labels[c]);

      fail_unless (fabs (got - ref[c]) < 1e-4,
          "window %u class %d: %f vs reference %f", k, c, got, ref[c]);
    }
  }
  free_results (results);

  drop_bus (bus);
  gst_harness_teardown (h);
  ssan_model_free (tm.model);
  g_free (ref);
}

GST_END_TEST;

/* Counts the warnings and ssan-action messages on the bus. */
static void
count_messages (GstBus *bus, guint *warnings, guint *results)
{
  GstMessage *msg;

  *warnings = *results = 0;
  while ((msg = gst_bus_pop (bus))) {
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING)
      (*warnings)++;
    else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT
             && gst_message_has_name (msg, "ssan-action"))
      (*results)++;
    gst_message_unref (msg);
  }
}

/* The reader of a FIFO goes away (a log shipper that exits): no SIGPIPE
 * kills the process, one warning, results go on, in both modes. */
GST_START_TEST (test_results_fifo_reader_gone)
{
  static const gchar *modes[] = { "sync", "async" };
  guint m;

  for (m = 0; m < G_N_ELEMENTS (modes); m++) {
    GstVideoInfo info;
    GstHarness *h;
    GstBus *bus;
    gchar *dir = g_dir_make_tmp ("ssan-fifo-XXXXXX", NULL);
    gchar *fifo = g_build_filename (dir, "results", NULL), *props;
    guint warnings, results;
    gint rd;

    fail_unless (mkfifo (fifo, 0600) == 0);
    /* a reader, so that opening for writing does not wait */
    rd = open (fifo, O_RDONLY | O_NONBLOCK);
    fail_unless (rd >= 0);
    props = g_strdup_printf (
        "window-frames=3 mode=%s results-location=%s", modes[m], fifo);
    h = new_harness (MODEL_T3, props, 16, 16, "I420", &info);
    g_free (props);
    bus = harness_bus (h);
    close (rd);
    push_n (h, &info, 0, 11);
    /* EOS waits for the async worker */
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    count_messages (bus, &warnings, &results);
    fail_unless_equals_int (warnings, 1);
    fail_unless (m == 1 || results == 9, "%u results", results);
    fail_unless (results >= 1);

    drop_bus (bus);
    gst_harness_teardown (h);
    g_unlink (fifo);
    g_rmdir (dir);
    g_free (fifo);
    g_free (dir);
  }
}

GST_END_TEST;

static gchar **
read_lines (const gchar *path)
{
  gchar *contents;
  gchar **lines;

  fail_unless (g_file_get_contents (path, &contents, NULL, NULL), "%s", path);
  lines = g_strsplit (contents, "\n", -1);
  g_free (contents);
  /* the last line ends with a newline: drop the empty tail */
  fail_unless (g_strv_length (lines) > 0);
  fail_unless_equals_string (lines[g_strv_length (lines) - 1], "");
  g_free (lines[g_strv_length (lines) - 1]);
  lines[g_strv_length (lines) - 1] = NULL;
  return lines;
}

static gint64
line_int (const gchar *line, const gchar *member)
{
  JsonParser *parser = json_parser_new ();
  gint64 v;

  fail_unless (json_parser_load_from_data (parser, line, -1, NULL), "%s", line);
  v = json_object_get_int_member (
      json_node_get_object (json_parser_get_root (parser)), member);
  g_object_unref (parser);
  return v;
}

/* Log rotation: results-location set while playing (another name, then
 * the same name after the file was moved away) sends the next lines there
 * without emptying the window or the smoothing history (the results equal
 * those of an element left alone); results-append keeps what a file held. */
GST_START_TEST (test_results_rotation_append)
{
  GstVideoInfo info;
  GstHarness *h, *ref;
  GstBus *bus, *ref_bus;
  GList *results, *ref_results, *l, *r;
  gchar *dir = g_dir_make_tmp ("ssan-rotate-XXXXXX", NULL);
  gchar *a = g_build_filename (dir, "a.jsonl", NULL);
  gchar *b = g_build_filename (dir, "b.jsonl", NULL);
  gchar *b1 = g_build_filename (dir, "b.jsonl.1", NULL);
  gchar *props, **lines;

  props = g_strdup_printf (
      "window-frames=3 smoothing=4 top-k=4 results-location=%s", a);
  h = new_harness (MODEL_T3, props, 24, 24, "I420", &info);
  g_free (props);
  ref = new_harness (
      MODEL_T3, "window-frames=3 smoothing=4 top-k=4", 24, 24, "I420", &info);
  bus = harness_bus (h);
  ref_bus = harness_bus (ref);

  push_n (h, &info, 0, 5);
  g_object_set (h->element, "results-location", b, NULL);
  push_n (h, &info, 5, 3);
  fail_unless (g_rename (b, b1) == 0);
  g_object_set (h->element, "results-location", b, NULL);
  push_n (h, &info, 8, 2);
  push_n (ref, &info, 0, 10);

  results = pop_results (bus);
  ref_results = pop_results (ref_bus);
  fail_unless_equals_int (g_list_length (results), 8);
  fail_unless_equals_int (g_list_length (ref_results), 8);
  for (l = results, r = ref_results; l; l = l->next, r = r->next) {
    gdouble x, y;

    fail_unless_equals_uint64 (field_u64 (l->data, "window-index"),
        field_u64 (r->data, "window-index"));
    fail_unless (gst_structure_get_double (l->data, "confidence", &x));
    fail_unless (gst_structure_get_double (r->data, "confidence", &y));
    fail_unless (x == y, "smoothing disturbed: %f vs %f", x, y);
  }
  free_results (results);
  free_results (ref_results);

  lines = read_lines (a);
  fail_unless_equals_int (g_strv_length (lines), 3);
  g_strfreev (lines);
  lines = read_lines (b1);
  fail_unless_equals_int (g_strv_length (lines), 3);
  fail_unless_equals_int (line_int (lines[0], "window-index"), 3);
  g_strfreev (lines);
  lines = read_lines (b);
  fail_unless_equals_int (g_strv_length (lines), 2);
  fail_unless_equals_int (line_int (lines[1], "window-index"), 7);
  g_strfreev (lines);

  /* a restart truncates, unless results-append */
  drop_bus (ref_bus);
  gst_harness_teardown (ref);
  fail_unless_equals_int (gst_element_set_state (h->element, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  g_object_set (h->element, "results-append", TRUE, NULL);
  fail_unless_equals_int (gst_element_set_state (h->element, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
  push_n (h, &info, 0, 4);
  lines = read_lines (b);
  fail_unless_equals_int (g_strv_length (lines), 4);
  fail_unless_equals_int (line_int (lines[2], "window-index"), 0);
  fail_unless_equals_int (line_int (lines[3], "result-id"), 9);
  g_strfreev (lines);
  fail_unless_equals_int (gst_element_set_state (h->element, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  g_object_set (h->element, "results-append", FALSE, NULL);
  fail_unless_equals_int (gst_element_set_state (h->element, GST_STATE_PLAYING),
      GST_STATE_CHANGE_SUCCESS);
  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
  push_n (h, &info, 0, 3);
  lines = read_lines (b);
  fail_unless_equals_int (g_strv_length (lines), 1);
  g_strfreev (lines);

  drop_bus (bus);
  gst_harness_teardown (h);
  g_unlink (a);
  g_unlink (b);
  g_unlink (b1);
  g_rmdir (dir);
  g_free (a);
  g_free (b);
  g_free (b1);
  g_free (dir);
}

GST_END_TEST;

/* results-location set while playing to a place that cannot be written
 * (missing directory; a read-only file system answers the same way): the
 * documented error, as a stream error. */
GST_START_TEST (test_results_rotation_unwritable)
{
  GstVideoInfo info;
  GstHarness *h;
  GstBus *bus;
  GstMessage *msg;
  GError *error = NULL;
  gchar *debug = NULL;

  h = new_harness (MODEL_T3, "window-frames=3", 16, 16, "I420", &info);
  bus = harness_bus (h);
  push_n (h, &info, 0, 3);
  g_object_set (h->element, "results-location",
      "/nonexistent-ssan-dir/results.jsonl", NULL);
  fail_unless_equals_int (
      gst_harness_push (h, make_frame_at (&info, 3)), GST_FLOW_ERROR);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &error, &debug);
  fail_unless (g_error_matches (
      error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE));
  fail_unless_equals_string (error->message,
      "Could not open results file \"/nonexistent-ssan-dir/results.jsonl\" "
      "for writing.");
  fail_unless (strstr (debug, "No such file or directory"), "%s", debug);
  g_error_free (error);
  g_free (debug);
  gst_message_unref (msg);

  drop_bus (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

static GstClockTime
query_min_latency (GstHarness *h)
{
  GstQuery *q = gst_query_new_latency ();
  GstClockTime min, max;
  gboolean live;

  fail_unless (gst_pad_peer_query (h->sinkpad, q));
  gst_query_parse_latency (q, &live, &min, &max);
  gst_query_unref (q);
  return min;
}

/* Pops every message: the ssan-action ones, and counts LATENCY ones. */
static GList *
pop_results_and_latency (GstBus *bus, guint *n_latency)
{
  GList *list = NULL;
  GstMessage *msg;

  *n_latency = 0;
  while ((msg = gst_bus_pop (bus))) {
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_LATENCY)
      (*n_latency)++;
    else if (gst_message_has_name (msg, "ssan-action"))
      list = g_list_append (
          list, gst_structure_copy (gst_message_get_structure (msg)));
    gst_message_unref (msg);
  }
  return list;
}

static guint
count_latency_messages (GstBus *bus)
{
  guint n;

  free_results (pop_results_and_latency (bus, &n));
  return n;
}

/* Sync mode adds its worst evaluation time (or the latency property, if
 * larger) to LATENCY answers and posts a LATENCY message when that grows;
 * async mode adds nothing. */
GST_START_TEST (test_latency)
{
  const GstClockTime up = 10 * GST_MSECOND, hour = 3600 * GST_SECOND;
  GstVideoInfo info;
  GstHarness *h;
  GstBus *bus;
  GList *results, *l;
  GstClockTime min, worst_inference = 0;
  guint n_latency;

  h = new_harness (MODEL_T3, "window-frames=3", 16, 16, "I420", &info);
  gst_harness_set_upstream_latency (h, up);
  bus = harness_bus (h);
  fail_unless_equals_uint64 (query_min_latency (h), up);

  push_n (h, &info, 0, 5);
  results = pop_results_and_latency (bus, &n_latency);
  fail_unless (n_latency >= 1);
  fail_unless_equals_int (g_list_length (results), 3);
  for (l = results; l; l = l->next)
    worst_inference
        = MAX (worst_inference, field_u64 (l->data, "inference-time"));
  free_results (results);
  min = query_min_latency (h);
  fail_unless (min >= up + worst_inference && min > up,
      "min latency %" GST_TIME_FORMAT " vs upstream %" GST_TIME_FORMAT
      " + inference %" GST_TIME_FORMAT,
      GST_TIME_ARGS (min), GST_TIME_ARGS (up), GST_TIME_ARGS (worst_inference));

  /* stated up front: no message while the evaluations stay below it */
  g_object_set (h->element, "latency", hour, NULL);
  fail_unless_equals_int (count_latency_messages (bus), 1);
  fail_unless_equals_uint64 (query_min_latency (h), up + hour);
  push_n (h, &info, 5, 5);
  fail_unless_equals_int (count_latency_messages (bus), 0);

  g_object_set (h->element, "mode", 1, NULL);
  fail_unless_equals_int (count_latency_messages (bus), 1);
  fail_unless_equals_uint64 (query_min_latency (h), up);

  drop_bus (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* qos=true: frames late downstream all pass, their windows are skipped
 * (counted); after a flush, windows are evaluated again. */
GST_START_TEST (test_qos_skips_windows_not_frames)
{
  GstVideoInfo info;
  GstHarness *h;
  GstBus *bus;
  GList *results;
  GstSegment segment;
  guint64 skipped, evaluated;

  h = new_harness (MODEL_T3, "window-frames=3 qos=true", 16, 16, "I420", &info);
  bus = harness_bus (h);
  fail_unless (gst_harness_push_upstream_event (
      h, gst_event_new_qos (GST_QOS_TYPE_UNDERFLOW, 0.5, 10 * GST_SECOND, 0)));
  push_n (h, &info, 0, 10);
  fail_unless_equals_int (gst_harness_buffers_received (h), 10);
  g_object_get (h->element, "windows-skipped", &skipped, "windows-evaluated",
      &evaluated, NULL);
  fail_unless_equals_uint64 (skipped, 8);
  fail_unless_equals_uint64 (evaluated, 0);
  fail_unless (pop_results (bus) == NULL);

  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));
  push_n (h, &info, 0, 4);
  results = pop_results (bus);
  fail_unless_equals_int (g_list_length (results), 2);
  free_results (results);

  drop_bus (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* threshold, top-k, smoothing and the labels file. */
GST_START_TEST (test_threshold_topk_smoothing_labels)
{
  GstVideoInfo info;
  GstHarness *h1, *h2;
  GstBus *bus1, *bus2;
  GList *r1, *r2, *l;
  gchar *labels_path, *props;
  GString *labels = g_string_new (NULL);
  TestModel tm;
  gint c, C, fd;
  guint k;

  test_model_load (&tm, MODEL_T3);
  C = tm.info->num_classes;
  for (c = 0; c < C; c++)
    g_string_append_printf (labels, "action number %d\n", c);
  fd = g_file_open_tmp ("ssan-labels-XXXXXX.txt", &labels_path, NULL);
  fail_unless (fd >= 0);
  close (fd);
  fail_unless (g_file_set_contents (labels_path, labels->str, -1, NULL));
  g_string_free (labels, TRUE);

  props = g_strdup_printf ("window-frames=3 top-k=%d", C);
  h1 = new_harness (MODEL_T3, props, 20, 30, "RGBx", &info);
  g_free (props);
  props = g_strdup_printf ("window-frames=3 top-k=2 smoothing=3 "
                           "threshold=0.9999 labels=%s",
      labels_path);
  h2 = new_harness (MODEL_T3, props, 20, 30, "RGBx", &info);
  g_free (props);
  bus1 = harness_bus (h1);
  bus2 = harness_bus (h2);
  push_n (h1, &info, 0, 8);
  push_n (h2, &info, 0, 8);
  r1 = pop_results (bus1);
  r2 = pop_results (bus2);
  fail_unless_equals_int (g_list_length (r1), 6);
  fail_unless_equals_int (g_list_length (r2), 6);

  for (k = 0, l = r2; l; l = l->next, k++) {
    const GstStructure *s = l->data;
    const GValue *names = gst_structure_get_value (s, "labels");
    const GValue *scores = gst_structure_get_value (s, "scores");
    gint class_id;
    guint i, j, first = k >= 2 ? k - 2 : 0;

    fail_unless_equals_int (gst_value_array_get_size (names), 2);
    fail_unless (gst_structure_get_int (s, "class-id", &class_id));
    fail_unless_equals_int (class_id, -1);
    fail_unless_equals_string (gst_structure_get_string (s, "label"), "");
    for (i = 0; i < 2; i++) {
      const gchar *name
          = g_value_get_string (gst_value_array_get_value (names, i));
      gdouble avg = 0;

      fail_unless (g_str_has_prefix (name, "action number "));
      c = atoi (name + strlen ("action number "));
      for (j = first; j <= k; j++)
        avg += score_of (g_list_nth_data (r1, j), tm.info->labels[c]);
      avg /= k - first + 1;
      fail_unless (
          fabs (
              avg - g_value_get_double (gst_value_array_get_value (scores, i)))
          < 1e-9);
    }
  }
  free_results (r1);
  free_results (r2);

  drop_bus (bus1);
  drop_bus (bus2);
  gst_harness_teardown (h1);
  gst_harness_teardown (h2);
  g_unlink (labels_path);
  g_free (labels_path);
  ssan_model_free (tm.model);
}

GST_END_TEST;

/* Odd inputs: every format of the template, 1x1, odd and 4K sizes. */
static void
check_format (const gchar *format, gint w, gint h)
{
  GstVideoInfo info;
  GstHarness *harness;
  GstBus *bus;
  GList *results;

  GST_INFO ("%s %dx%d", format, w, h);
  harness = new_harness (MODEL_T3, "window-frames=3", w, h, format, &info);
  bus = harness_bus (harness);
  push_n (harness, &info, 0, 4);
  results = pop_results (bus);
  fail_unless (g_list_length (results) == 2, "%s %dx%d: %u results", format, w,
      h, g_list_length (results));
  free_results (results);
  drop_bus (bus);
  gst_harness_teardown (harness);
}

/* Odd inputs: every format the element accepts, at odd and tiny sizes,
 * and 4K. */
GST_START_TEST (test_formats_and_sizes)
{
  GstElement *e = gst_element_factory_make ("ssanaction", NULL);
  GstPad *pad = gst_element_get_static_pad (e, "sink");
  GstCaps *caps = gst_pad_get_pad_template_caps (pad);
  const GValue *formats
      = gst_structure_get_value (gst_caps_get_structure (caps, 0), "format");
  guint i;

  fail_unless (GST_VALUE_HOLDS_LIST (formats));
  fail_unless (gst_value_list_get_size (formats) >= 8);
  for (i = 0; i < gst_value_list_get_size (formats); i++) {
    const gchar *format
        = g_value_get_string (gst_value_list_get_value (formats, i));

    check_format (format, 13, 7);
    check_format (format, 1, 1);
  }
  check_format ("I420", 3840, 2160);
  check_format ("RGB", 2, 301);

  gst_caps_unref (caps);
  gst_object_unref (pad);
  gst_object_unref (e);
}

GST_END_TEST;

static GstMessage *
start_expecting_error (const gchar *model, GstStateChangeReturn *ret)
{
  GstElement *e = gst_element_factory_make ("ssanaction", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;

  fail_unless (e != NULL);
  gst_element_set_bus (e, bus);
  g_object_set (e, "model", model, NULL);
  *ret = gst_element_set_state (e, GST_STATE_PAUSED);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  gst_element_set_state (e, GST_STATE_NULL);
  drop_bus (bus);
  gst_object_unref (e);
  return msg;
}

static void
check_error (
    const gchar *model, GQuark domain, gint code, const gchar *expect_in_debug)
{
  GstStateChangeReturn ret;
  GstMessage *msg = start_expecting_error (model, &ret);
  GError *error = NULL;
  gchar *debug = NULL;

  fail_unless_equals_int (ret, GST_STATE_CHANGE_FAILURE);
  fail_unless (msg != NULL, "no error message for %s", model);
  gst_message_parse_error (msg, &error, &debug);
  fail_unless (error->domain == domain, "%s", error->message);
  fail_unless_equals_int (error->code, code);
  if (expect_in_debug)
    fail_unless (debug && strstr (debug, expect_in_debug),
        "\"%s\" not in \"%s\"", expect_in_debug, debug);
  GST_INFO ("%s: %s (%s)", model, error->message, debug);
  g_error_free (error);
  g_free (debug);
  gst_message_unref (msg);
}

static gchar *
write_tmp (const gchar *contents, gsize size)
{
  gchar *path;
  gint fd = g_file_open_tmp ("ssan-model-XXXXXX.safetensors", &path, NULL);

  fail_unless (fd >= 0);
  close (fd);
  fail_unless (g_file_set_contents (path, contents, size, NULL));
  return path;
}

GST_START_TEST (test_bad_model)
{
  gchar *data, *path;
  gsize size;

  check_error ("/nonexistent/dir/model.safetensors", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_OPEN_READ, "/nonexistent/dir/model.safetensors");
  check_error ("", GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, NULL);

  path = write_tmp ("this is not a model", 19);
  check_error (path, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
      strrchr (path, '/') + 1);
  g_unlink (path);
  g_free (path);

  /* a real model cut in half, and one with a byte of its header changed */
  fail_unless (g_file_get_contents (MODEL_T3, &data, &size, NULL));
  path = write_tmp (data, size / 2);
  check_error (path, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
      strrchr (path, '/') + 1);
  g_unlink (path);
  g_free (path);
  data[12] = '!';
  path = write_tmp (data, size);
  check_error (path, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
      strrchr (path, '/') + 1);
  g_unlink (path);
  g_free (path);
  g_free (data);
}

GST_END_TEST;

GST_START_TEST (test_bad_settings)
{
  static const struct {
    const gchar *text;
    gsize size;
    const gchar *reason;
  } bad_labels[] = {
    { "a\nb\0c\nd\ne\nf\ng\n", 14, "not UTF-8 text" },
    { "a\nb\nc\n", 6, "has 3 lines" },
    { "a\nb\n\nd\ne\nf\ng\n", 13, "line 3 is empty" },
    { "a\nb\nc\nd\ne\nf\n\xff\n", 14, "not UTF-8 text" },
  };
  GstElement *e;
  GstBus *bus;
  GstMessage *msg;
  GError *error = NULL;
  guint i;

  /* window shorter than the segments */
  e = gst_element_factory_make ("ssanaction", NULL);
  bus = gst_bus_new ();
  gst_element_set_bus (e, bus);
  g_object_set (e, "model", MODEL_T8, "window-frames", 4, NULL);
  fail_unless_equals_int (
      gst_element_set_state (e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &error, NULL);
  fail_unless (
      g_error_matches (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS));
  g_clear_error (&error);
  gst_message_unref (msg);

  /* labels files: binary, too few lines, an empty line (the model has 7
   * classes) */
  for (i = 0; i < G_N_ELEMENTS (bad_labels); i++) {
    gchar *path = write_tmp (bad_labels[i].text, bad_labels[i].size);

    g_object_set (e, "window-frames", 0, "labels", path, NULL);
    fail_unless_equals_int (
        gst_element_set_state (e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
    msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    fail_unless (msg != NULL);
    gst_message_parse_error (msg, &error, NULL);
    fail_unless (g_error_matches (
        error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS));
    fail_unless (strstr (error->message, path) != NULL, "%s", error->message);
    fail_unless (strstr (error->message, bad_labels[i].reason) != NULL, "%s",
        error->message);
    g_clear_error (&error);
    gst_message_unref (msg);
    g_unlink (path);
    g_free (path);
  }

  /* missing labels file */
  g_object_set (e, "labels", "/nonexistent/labels.txt", NULL);
  fail_unless_equals_int (
      gst_element_set_state (e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &error, NULL);
  fail_unless (g_error_matches (
      error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ));
  g_clear_error (&error);
  gst_message_unref (msg);

  /* results file that cannot be written */
  g_object_set (e, "labels", NULL, "results-location",
      "/nonexistent/results.jsonl", NULL);
  fail_unless_equals_int (
      gst_element_set_state (e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &error, NULL);
  fail_unless (g_error_matches (
      error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE));
  g_clear_error (&error);
  gst_message_unref (msg);

  /* and all is well again without them */
  g_object_set (e, "results-location", NULL, NULL);
  fail_unless_equals_int (
      gst_element_set_state (e, GST_STATE_PAUSED), GST_STATE_CHANGE_SUCCESS);
  gst_element_set_state (e, GST_STATE_NULL);

  drop_bus (bus);
  gst_object_unref (e);
}

GST_END_TEST;

/* A buffer too small for its caps is a stream error, not a crash. */
GST_START_TEST (test_short_buffer)
{
  GstVideoInfo info;
  GstHarness *h;
  GstBus *bus;
  GstMessage *msg;
  GError *error = NULL;

  h = new_harness (MODEL_T3, NULL, 45, 45, "I420", &info);
  bus = harness_bus (h);
  fail_unless_equals_int (
      gst_harness_push (h, gst_buffer_new_allocate (NULL, info.size / 2, NULL)),
      GST_FLOW_ERROR);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &error, NULL);
  fail_unless (
      g_error_matches (error, GST_STREAM_ERROR, GST_STREAM_ERROR_FORMAT));
  g_clear_error (&error);
  gst_message_unref (msg);
  drop_bus (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Weights that overflow (a valid file: every number is finite) give a
 * warning and no results, not NaN results. */
GST_START_TEST (test_non_finite_scores)
{
  static const gchar *names[] = { "fc.weight", "fc.bias" };
  gchar *data, *path;
  gsize size, i;
  guint64 hlen = 0;
  JsonParser *parser = json_parser_new ();
  JsonObject *header;
  GstVideoInfo info;
  GstHarness *h;
  GstBus *bus;
  GstMessage *msg;
  GstBuffer *out;
  guint n, warnings = 0, others = 0;

  fail_unless (g_file_get_contents (MODEL_L12, &data, &size, NULL));
  for (i = 0; i < 8; i++)
    hlen |= (guint64)(guint8)data[i] << (8 * i);
  fail_unless (json_parser_load_from_data (parser, data + 8, hlen, NULL));
  header = json_node_get_object (json_parser_get_root (parser));
  for (i = 0; i < G_N_ELEMENTS (names); i++) {
    JsonObject *t = json_object_get_object_member (header, names[i]);
    JsonArray *off = json_object_get_array_member (t, "data_offsets");
    gsize o = 8 + hlen + json_array_get_int_element (off, 0);
    gsize end = 8 + hlen + json_array_get_int_element (off, 1);
    const gfloat big = 3.0e38f;

    fail_unless_equals_string (
        json_object_get_string_member (t, "dtype"), "F32");
    for (; o < end; o += 4)
      memcpy (data + o, &big, 4);
  }
  g_object_unref (parser);
  path = write_tmp (data, size);

  h = new_harness (path, NULL, 32, 32, "RGB", &info);
  bus = harness_bus (h);
  for (n = 0; n < 18; n++) {
    fail_unless_equals_int (
        gst_harness_push (h, make_frame_at (&info, n)), GST_FLOW_OK);
    out = gst_harness_pull (h);
    fail_unless (gst_buffer_get_ssan_action_meta (out) == NULL);
    gst_buffer_unref (out);
  }
  /* one warning (once per stream), no result */
  while ((msg = gst_bus_pop (bus))) {
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING)
      warnings++;
    else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT)
      others++;
    gst_message_unref (msg);
  }
  fail_unless_equals_int (warnings, 1);
  fail_unless_equals_int (others, 0);

  drop_bus (bus);
  gst_harness_teardown (h);
  g_unlink (path);
  g_free (path);
  g_free (data);
}

GST_END_TEST;

/* Model changes mid-stream are picked up at the next buffer; a bad one
 * stops the stream with an error, not a crash. */
GST_START_TEST (test_model_change_while_streaming)
{
  GstVideoInfo info;
  GstHarness *h;
  GstBus *bus;
  GList *results;
  GstMessage *msg;

  h = new_harness (MODEL_T3, NULL, 32, 24, "I420", &info);
  bus = harness_bus (h);
  push_n (h, &info, 0, 4);
  fail_unless_equals_uint64 (last_index (bus, 2), 1);

  g_object_set (h->element, "model", MODEL_T8, NULL);
  push_n (h, &info, 4, 8);
  results = pop_results (bus);
  fail_unless_equals_int (g_list_length (results), 1);
  fail_unless_equals_uint64 (field_u64 (results->data, "window-index"), 0);
  free_results (results);

  g_object_set (h->element, "model", "/nonexistent.safetensors", NULL);
  fail_unless_equals_int (
      gst_harness_push (h, make_frame_at (&info, 12)), GST_FLOW_ERROR);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_unref (msg);

  drop_bus (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* window-frames, segments and stride changed while streaming: from the
 * next buffer on the new windows, counted from that buffer. */
GST_START_TEST (test_window_change_while_streaming)
{
  GstVideoInfo info;
  GstHarness *h;
  GstBus *bus;
  GList *results, *l;
  guint k;

  h = new_harness (MODEL_T3, "window-frames=3", 45, 45, "RGB", &info);
  bus = harness_bus (h);
  push_n (h, &info, 0, 5);
  fail_unless_equals_uint64 (last_index (bus, 3), 2);

  g_object_set (
      h->element, "window-frames", 6, "segments", 2, "stride", 4, NULL);
  push_n (h, &info, 5, 15);
  /* frames 5..19 are frames 0..14 of the new sequence: windows end on
   * 5, 9 and 13 */
  results = pop_results (bus);
  fail_unless_equals_int (g_list_length (results), 3);
  for (k = 0, l = results; l; l = l->next, k++) {
    fail_unless_equals_uint64 (field_u64 (l->data, "window-index"), k);
    fail_unless_equals_uint64 (
        field_u64 (l->data, "window-start"), (5 + 4 * k) * FRAME_DURATION);
    fail_unless_equals_uint64 (
        field_u64 (l->data, "window-end"), (5 + 4 * k + 5) * FRAME_DURATION);
  }
  free_results (results);

  drop_bus (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Caps changing every few frames, between formats and sizes: no window
 * ever spans a change, nothing breaks. */
GST_START_TEST (test_caps_churn)
{
  static const gchar *formats[] = { "I420", "RGB", "NV12", "GRAY8", "BGRx" };
  GstVideoInfo info;
  GstHarness *h;
  GstBus *bus;
  GList *results;
  guint i, n = 0;

  h = new_harness (MODEL_T3, "window-frames=4", 8, 8, "I420", &info);
  bus = harness_bus (h);
  for (i = 0; i < 60; i++) {
    gst_video_info_set_format (&info,
        gst_video_format_from_string (formats[i % G_N_ELEMENTS (formats)]),
        8 + 7 * (i % 5), 6 + 3 * (i % 7));
    GST_VIDEO_INFO_FPS_N (&info) = 25;
    gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
    push_n (h, &info, n, 3 + i % 3);
    n += 3 + i % 3;
  }
  /* 20 runs each of 3, 4 and 5 frames: 0, 1 and 2 windows */
  results = pop_results (bus);
  fail_unless_equals_int (g_list_length (results), 20 * (0 + 1 + 2));
  free_results (results);

  drop_bus (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Async: pushing never waits for the network; windows due while the worker
 * is busy are skipped and counted, every due window is either evaluated
 * or skipped, and results are attached as they arrive.
 *
 * The worker is held busy deterministically, whatever the machine's speed:
 * the bus's sync handler, which runs in the worker when it posts its first
 * result, blocks until the test lets it go. */
typedef struct {
  GMutex lock;
  GCond cond;
  gboolean hold, held;
} WorkerGate;

static GstBusSyncReply
gate_worker (GstBus *bus, GstMessage *msg, gpointer data)
{
  WorkerGate *gate = data;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT
      && gst_message_has_name (msg, "ssan-action")) {
    g_mutex_lock (&gate->lock);
    gate->held = TRUE;
    g_cond_broadcast (&gate->cond);
    while (gate->hold)
      g_cond_wait (&gate->cond, &gate->lock);
    g_mutex_unlock (&gate->lock);
  }
  return GST_BUS_PASS;
}

GST_START_TEST (test_async_skips)
{
  GstVideoInfo info;
  GstHarness *h;
  GstBus *bus;
  GList *results, *l;
  guint64 evaluated, skipped;
  guint n, N = 120, with_meta = 0;
  guint64 prev = 0;
  gboolean first = TRUE;
  WorkerGate gate;

  g_mutex_init (&gate.lock);
  g_cond_init (&gate.cond);
  gate.hold = TRUE;
  gate.held = FALSE;

  h = new_harness (MODEL_T8, "mode=async threads=1", 42, 42, "RGB", &info);
  bus = harness_bus (h);
  gst_bus_set_sync_handler (bus, gate_worker, &gate, NULL);

  /* window 0 ends on frame 7; its result holds the worker in the bus
   * handler while all the other frames are pushed: none of them waits */
  for (n = 0; n < N; n++) {
    GstBuffer *out;

    fail_unless_equals_int (
        gst_harness_push (h, make_frame_at (&info, n)), GST_FLOW_OK);
    out = gst_harness_pull (h);
    if (n < 7)
      fail_if (gst_buffer_get_ssan_action_meta (out));
    gst_buffer_unref (out);
    if (n == 7) {
      g_mutex_lock (&gate.lock);
      while (!gate.held)
        g_cond_wait (&gate.cond, &gate.lock);
      g_mutex_unlock (&gate.lock);
    }
  }
  g_object_get (h->element, "windows-evaluated", &evaluated, "windows-skipped",
      &skipped, NULL);
  fail_unless_equals_uint64 (evaluated, 1);
  fail_unless_equals_uint64 (skipped, N - 8);

  /* the result was stored before it was posted: every buffer carries it */
  g_mutex_lock (&gate.lock);
  gate.hold = FALSE;
  g_cond_broadcast (&gate.cond);
  g_mutex_unlock (&gate.lock);
  for (; n < N + 10; n++) {
    GstBuffer *out;

    fail_unless_equals_int (
        gst_harness_push (h, make_frame_at (&info, n)), GST_FLOW_OK);
    out = gst_harness_pull (h);
    if (gst_buffer_get_ssan_action_meta (out))
      with_meta++;
    gst_buffer_unref (out);
  }
  fail_unless_equals_int (with_meta, 10);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  g_object_get (h->element, "windows-evaluated", &evaluated, "windows-skipped",
      &skipped, NULL);
  GST_INFO ("async: %" G_GUINT64_FORMAT " evaluated, %" G_GUINT64_FORMAT
            " skipped",
      evaluated, skipped);
  fail_unless_equals_uint64 (evaluated + skipped, N + 10 - 8 + 1);
  fail_unless (skipped >= N - 8);

  results = pop_results (bus);
  fail_unless_equals_int (g_list_length (results), evaluated);
  for (l = results; l; l = l->next) {
    guint64 index = field_u64 (l->data, "window-index");
    fail_unless (first || index > prev);
    fail_unless_equals_uint64 (
        field_u64 (l->data, "window-start"), index * FRAME_DURATION);
    prev = index;
    first = FALSE;
  }
  free_results (results);

  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  drop_bus (bus);
  gst_harness_teardown (h);
  g_cond_clear (&gate.cond);
  g_mutex_clear (&gate.lock);
}

GST_END_TEST;

/* A small model (T 4, window_frames, 32x32, 5 classes) trained at rate
 * (NULL: no frame_rate key), in a temporary file. */
static gchar *
write_rate_model (const gchar *rate, gint window_frames)
{
  ssan_modelgen_config cfg;
  ssan_modelgen *g;
  gchar *path;
  char err[256];
  gint fd = g_file_open_tmp ("ssan-rate-XXXXXX.safetensors", &path, NULL);

  fail_unless (fd >= 0);
  close (fd);
  ssan_modelgen_config_init (&cfg);
  cfg.arch = "custom";
  cfg.layers[0] = cfg.layers[1] = cfg.layers[2] = cfg.layers[3] = 1;
  cfg.width = 4;
  cfg.num_classes = 5;
  cfg.segments = 4;
  cfg.input_size = 32;
  cfg.window_frames = window_frames;
  g = ssan_modelgen_new (&cfg, err, sizeof (err));
  fail_unless (g != NULL, "%s", err);
  if (rate)
    fail_unless (ssan_modelgen_set_meta (g, "frame_rate", rate) == 0);
  fail_unless (ssan_modelgen_write_file (g, path) == 0);
  ssan_modelgen_free (g);
  return path;
}

/* Pushes n frames with the given caps rate and PTS every period; checks
 * the window the element chose and the windows it produced. */
static void
check_rate (const gchar *model, const gchar *props, gint fps_n,
    GstClockTime period, guint n, gint expect_L, gint expect_stride,
    guint expect_windows, GstClockTime expect_span)
{
  GstVideoInfo info;
  GstHarness *h = new_harness (model, props, 32, 32, "RGB", &info);
  GstBus *bus = harness_bus (h);
  GList *results, *l;
  gint L, stride;
  guint i;

  GST_VIDEO_INFO_FPS_N (&info) = fps_n;
  GST_VIDEO_INFO_FPS_D (&info) = 1;
  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
  for (i = 0; i < n; i++) {
    fail_unless_equals_int (
        gst_harness_push (h, make_frame (&info, i, i * period)), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
  }
  g_object_get (
      h->element, "active-window-frames", &L, "active-stride", &stride, NULL);
  fail_unless (L == expect_L && stride == expect_stride,
      "%s at %d fps: L %d stride %d, expected %d %d", props, fps_n, L, stride,
      expect_L, expect_stride);
  results = pop_results (bus);
  fail_unless_equals_int (g_list_length (results), expect_windows);
  for (l = results; l; l = l->next) {
    guint64 start, end;

    fail_unless (gst_structure_get_uint64 (l->data, "window-start", &start));
    fail_unless (gst_structure_get_uint64 (l->data, "window-end", &end));
    fail_unless_equals_uint64 (end - start, expect_span);
  }
  free_results (results);
  drop_bus (bus);
  gst_harness_teardown (h);
}

/* Spec §4 by time: a model trained at 50 fps on a 25 fps stream keeps its
 * windows' duration (L 12 -> 6, stride 3 -> 2); off with window-by-time,
 * or when window-frames is set, or when the model does not say its rate;
 * on a variable-rate stream windows go by timestamp: D = 12/25 s from
 * every 3/25 s, complete at their last segment's centre, 0.42 s in. */
GST_START_TEST (test_window_by_time)
{
  gchar *m50 = write_rate_model ("50", 12), *m25 = write_rate_model ("25", 12);
  gchar *mnone = write_rate_model (NULL, 12);
  const GstClockTime f = GST_SECOND / 25;

  check_rate (m50, NULL, 25, f, 20, 6, 2, 8, 5 * f);
  check_rate (m50, "window-by-time=false", 25, f, 20, 12, 3, 3, 11 * f);
  check_rate (m50, "window-frames=8", 25, f, 20, 8, 2, 7, 7 * f);
  check_rate (mnone, NULL, 25, f, 20, 12, 3, 3, 11 * f);
  check_rate (m25, NULL, 25, f, 20, 12, 3, 3, 11 * f);
  /* variable rate, frames every 20 ms: window k spans frames 6k to 6k + 21
   * (0.42 s); without the model's rate, frames are counted */
  check_rate (m25, NULL, 0, f / 2, 40, 12, 3, 4, 21 * f / 2);
  check_rate (mnone, NULL, 0, f / 2, 40, 12, 3, 10, 11 * f / 2);
  check_rate (m25, "window-by-time=false", 0, f / 2, 40, 12, 3, 10, 11 * f / 2);

  g_unlink (m50);
  g_unlink (m25);
  g_unlink (mnone);
  g_free (m50);
  g_free (m25);
  g_free (mnone);
}

GST_END_TEST;

/* A window the stream's rate makes longer than 4096 frames: a clear error
 * at negotiation, no crash. */
GST_START_TEST (test_window_by_time_too_long)
{
  gchar *m = write_rate_model ("1", 4000);
  GstVideoInfo info;
  GstHarness *h = new_harness (m, NULL, 32, 32, "RGB", &info);
  GstBus *bus = harness_bus (h);
  GstMessage *msg;

  GST_VIDEO_INFO_FPS_N (&info) = 2;
  gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
  fail_if (gst_harness_push (h, make_frame (&info, 0, 0)) == GST_FLOW_OK);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  {
    GError *e = NULL;
    gst_message_parse_error (msg, &e, NULL);
    fail_unless (strstr (e->message, "8000 frames") != NULL, "%s", e->message);
    g_error_free (e);
  }
  gst_message_unref (msg);
  drop_bus (bus);
  gst_harness_teardown (h);
  g_unlink (m);
  g_free (m);
}

GST_END_TEST;

/* inference-region=roi on ssantestsrc actors=4 (two clips of 32 frames,
 * 128x96: cells of 64x48): every object (ids 1..8: a new one per actor and
 * clip) gets exactly the windows of spec §4 within its clip, (32 - 12) / 3
 * + 1 = 7, with its cell's box, and every actor ROI of a buffer after its
 * object's first result carries an ssan-action param of that object. */
static gint roi_params_seen;

static void
count_roi_params (GstElement *sink, GstBuffer *buf, GstPad *pad, gpointer d)
{
  gpointer state = NULL;
  GstMeta *meta;

  while ((meta = gst_buffer_iterate_meta_filtered (
              buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *)meta;
    GstStructure *p
        = gst_video_region_of_interest_meta_get_param (roi, "ssan-action");
    gint64 id;

    if (p == NULL)
      continue;
    fail_unless (gst_structure_get_int64 (p, "object-id", &id));
    fail_unless_equals_int64 (id, roi->id);
    g_atomic_int_inc (&roi_params_seen);
  }
}

static void
run_roi_actors (gboolean async)
{
  gchar *desc = g_strdup_printf (
      "ssantestsrc actors=4 seed=3 clip-frames=32 num-buffers=64 ! "
      "video/x-raw,format=RGB,width=128,height=96,framerate=25/1 ! "
      "ssanaction name=a inference-region=roi mode=%s model=" MODEL_L12 " ! "
      "fakesink name=sink signal-handoffs=true",
      async ? "async" : "sync");
  GstElement *p = gst_parse_launch (desc, NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "sink");
  GstBus *bus = gst_element_get_bus (p);
  gint per_object[9] = { 0 };
  gboolean done = FALSE;
  gint i;

  g_atomic_int_set (&roi_params_seen, 0);
  g_signal_connect (sink, "handoff", G_CALLBACK (count_roi_params), NULL);
  gst_element_set_state (p, GST_STATE_PLAYING);
  while (!done) {
    GstMessage *m = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);
    const GstStructure *s;
    gint64 id;
    guint x, y, w, h;

    fail_unless (m != NULL);
    fail_if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR);
    done = GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS;
    s = gst_message_get_structure (m);
    if (!done && gst_structure_has_name (s, "ssan-action")) {
      fail_unless (gst_structure_get_int64 (s, "object-id", &id));
      fail_unless (id >= 1 && id <= 8, "object %" G_GINT64_FORMAT, id);
      fail_unless (gst_structure_get_uint (s, "object-x", &x)
                   && gst_structure_get_uint (s, "object-y", &y)
                   && gst_structure_get_uint (s, "object-width", &w)
                   && gst_structure_get_uint (s, "object-height", &h));
      /* actor k = (id - 1) % 4 in cell k of the 2 x 2 grid */
      fail_unless_equals_int (x, ((id - 1) % 2) * 64);
      fail_unless_equals_int (y, (((id - 1) % 4) / 2) * 48);
      fail_unless (w == 64 && h == 48);
      per_object[id]++;
    }
    gst_message_unref (m);
  }
  for (i = 1; i <= 8; i++) {
    /* async: a window due while the object's last is still in the
     * scheduler, or still queued when its object goes, is skipped */
    if (async)
      fail_unless (per_object[i] <= 7, "object %d: %d", i, per_object[i]);
    else
      fail_unless_equals_int (per_object[i], 7);
  }
  {
    GstElement *a = gst_bin_get_by_name (GST_BIN (p), "a");
    guint64 evaluated, skipped;

    g_object_get (
        a, "windows-evaluated", &evaluated, "windows-skipped", &skipped, NULL);
    fail_unless_equals_uint64 (evaluated + skipped, 8 * 7);
    gst_object_unref (a);
  }
  /* per clip and actor, frames 11..31 carry a result: 21 * 8 */
  if (!async)
    fail_unless_equals_int (g_atomic_int_get (&roi_params_seen), 21 * 8);
  g_free (desc);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (bus);
  gst_object_unref (p);
}

GST_START_TEST (test_roi_actors)
{
  run_roi_actors (FALSE);
  run_roi_actors (TRUE);
}

GST_END_TEST;

static void
add_roi (GstBuffer *buf, const gchar *type, guint x, guint y, guint w, guint h,
    gint id)
{
  gst_buffer_add_video_region_of_interest_meta (buf, type, x, y, w, h)->id = id;
}

/* Bad ROIs: a box outside the frame and one of zero size are counted and
 * skipped; a thousand ROIs on one frame fill the other windows (one
 * object evicted, the rest counted) without disturbing the object that
 * stays; an object seen every other frame never fills a window; another
 * type is not followed.  Only object 1 gives results, exactly spec §4's. */
GST_START_TEST (test_roi_bad_input)
{
  GstVideoInfo info;
  GstHarness *h = new_harness (MODEL_L12,
      "inference-region=roi max-objects=4 max-missing=0 object-class=person",
      64, 48, "RGB", &info);
  GstBus *bus = harness_bus (h);
  GList *results, *l;
  guint64 evicted, ignored;
  guint n, i;

  for (n = 0; n < 30; n++) {
    GstBuffer *buf = make_frame_at (&info, n), *out;
    GstVideoRegionOfInterestMeta *roi;

    add_roi (buf, "person", 8, 8, 32, 32, 1);
    add_roi (buf, "person", 100, 100, 10, 10, 2);
    add_roi (buf, "person", 5, 5, 0, 0, 3);
    if (n % 2 == 0) {
      add_roi (buf, "person", 0, 0, 64, 48, 4);
    }
    add_roi (buf, "face", 0, 0, 20, 20, 7);
    if (n == 5) {
      for (i = 0; i < 1000; i++) {
        add_roi (buf, "person", i % 60, i % 40, 4, 8, 1000 + (gint)i);
      }
    }
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    out = gst_harness_pull (h);
    roi = gst_buffer_get_video_region_of_interest_meta_id (out, 1);
    fail_unless (roi != NULL);
    fail_unless (
        (gst_video_region_of_interest_meta_get_param (roi, "ssan-action")
            != NULL)
        == (n >= 11));
    gst_buffer_unref (out);
  }
  results = pop_results (bus);
  fail_unless_equals_int (g_list_length (results), (30 - 12) / 3 + 1);
  for (l = results; l; l = l->next) {
    gint64 id;

    fail_unless (gst_structure_get_int64 (l->data, "object-id", &id));
    fail_unless_equals_int64 (id, 1);
  }
  free_results (results);
  g_object_get (
      h->element, "objects-evicted", &evicted, "rois-ignored", &ignored, NULL);
  /* frame 5: 1000 and 1001 take the free windows, 1002 object 4's (seen
   * on frame 4, not yet dropped), the other 997 find none; frame 6: object
   * 4 again, in the window of 1000 (not seen since frame 5) */
  fail_unless_equals_uint64 (evicted, 2);
  fail_unless_equals_uint64 (ignored, 2 * 30 + 997);
  drop_bus (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* max-missing: object 1 is absent from frames 5, 20 and 21, object 2 from
 * 10, 11 and 12.  With max-missing=2 object 1 keeps its window and history
 * (its 37 frames give (37 - 12) / 3 + 1 = 9 windows, indices 0..8: the
 * frames it is absent from are not part of them) and object 2, absent 3
 * frames in a row, is dropped and starts again (frames 13..39: 6 windows,
 * indices 0..5); with max-missing=0 every gap restarts object 1 (frames
 * 6..19 give 1 window, 22..39 give 3: indices 0, 0, 1, 2). */
static void
check_max_missing (const gchar *props, gint n1, const guint64 *index1, gint n2)
{
  GstVideoInfo info;
  GstHarness *h = new_harness (MODEL_L12, props, 64, 48, "RGB", &info);
  GstBus *bus = harness_bus (h);
  GList *results, *l;
  gint n, got1 = 0, got2 = 0;

  for (n = 0; n < 40; n++) {
    GstBuffer *buf = make_frame_at (&info, n);

    if (n != 5 && n != 20 && n != 21)
      add_roi (buf, "person", 8, 8, 32, 32, 1);
    if (n < 10 || n > 12)
      add_roi (buf, "person", 30, 10, 30, 30, 2);
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
  }
  results = pop_results (bus);
  for (l = results; l; l = l->next) {
    gint64 id;

    fail_unless (gst_structure_get_int64 (l->data, "object-id", &id));
    if (id == 1) {
      fail_unless (
          got1 < n1, "%s: more than %d results of object 1", props, n1);
      fail_unless_equals_uint64 (
          field_u64 (l->data, "window-index"), index1[got1]);
      got1++;
    } else {
      fail_unless_equals_int64 (id, 2);
      fail_unless_equals_uint64 (field_u64 (l->data, "window-index"), got2);
      got2++;
    }
  }
  fail_unless_equals_int (got1, n1);
  fail_unless_equals_int (got2, n2);
  free_results (results);
  drop_bus (bus);
  gst_harness_teardown (h);
}

GST_START_TEST (test_roi_max_missing)
{
  static const guint64 kept[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8 };
  static const guint64 restarted[] = { 0, 0, 1, 2 };
  GstElement *e = gst_element_factory_make ("ssanaction", NULL);
  gint def;

  g_object_get (e, "max-missing", &def, NULL);
  fail_unless_equals_int (def, 2);
  gst_object_unref (e);
  check_max_missing ("inference-region=roi", 9, kept, 6);
  check_max_missing ("inference-region=roi max-missing=0", 4, restarted, 6);
}

GST_END_TEST;

/* The scheduler's test hooks (gstssanscheduler.h), from the plugin this
 * process loaded. */
static void (*sched_set_hold) (gboolean hold);
static void (*sched_wait_held) (gint n);

static void
load_scheduler_hooks (void)
{
  GstPlugin *plugin = gst_registry_find_plugin (gst_registry_get (), "ssan");
  GModule *module;

  fail_unless (plugin != NULL);
  /* the plugin's own handle: the same scheduler state */
  module = g_module_open (gst_plugin_get_filename (plugin), G_MODULE_BIND_LAZY);
  fail_unless (module != NULL, "%s", g_module_error ());
  fail_unless (g_module_symbol (
      module, "gst_ssan_scheduler_set_hold", (gpointer *)&sched_set_hold));
  fail_unless (g_module_symbol (
      module, "gst_ssan_scheduler_wait_held", (gpointer *)&sched_wait_held));
  g_module_make_resident (module);
  gst_object_unref (plugin);
}

/* mode=async: object 1 vanishes while its first window is being computed
 * (the scheduler held before the forward call).  The stream goes on
 * (every push returns while the window is held), object 2 takes the slot
 * (max-objects=1) and its windows are skipped while the orphaned window
 * runs; the orphaned window's result is dropped, never published; once
 * the window is let go, object 2 gets results. */
GST_START_TEST (test_roi_vanish_async)
{
  GstVideoInfo info;
  GstHarness *h;
  GstBus *bus;
  GList *results, *l;
  guint64 evaluated, skipped;
  gint n, got2 = 0;

  load_scheduler_hooks ();
  h = new_harness (MODEL_L12,
      "inference-region=roi mode=async max-objects=1 max-missing=0", 64, 48,
      "RGB", &info);
  bus = harness_bus (h);

  sched_set_hold (TRUE);
  for (n = 0; n < 41; n++) {
    GstBuffer *buf = make_frame_at (&info, n);

    add_roi (buf, "person", 8, 8, 32, 32, n < 12 ? 1 : 2);
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
    /* frame 11 completes object 1's first window: running, held */
    if (n == 11)
      sched_wait_held (1);
  }
  results = pop_results (bus);
  fail_unless (results == NULL);
  g_object_get (h->element, "windows-evaluated", &evaluated, "windows-skipped",
      &skipped, NULL);
  /* object 1's window, and object 2's ending on frames 23, 26, .. 38 */
  fail_unless_equals_uint64 (evaluated, 0);
  fail_unless_equals_uint64 (skipped, 1 + 6);

  sched_set_hold (FALSE);
  for (; got2 == 0 && n < 5000; n++) {
    GstBuffer *buf = make_frame_at (&info, n);

    add_roi (buf, "person", 8, 8, 32, 32, 2);
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    gst_buffer_unref (gst_harness_pull (h));
    results = pop_results (bus);
    for (l = results; l; l = l->next) {
      gint64 id;

      fail_unless (gst_structure_get_int64 (l->data, "object-id", &id));
      fail_unless_equals_int64 (id, 2);
      got2++;
    }
    free_results (results);
  }
  fail_unless (got2 > 0);
  drop_bus (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

static gint model_loads;

static void
count_model_loads (GstDebugCategory *category, GstDebugLevel level,
    const gchar *file, const gchar *function, gint line, GObject *object,
    GstDebugMessage *message, gpointer user_data)
{
  /* the model cache lives with the scheduler */
  if (!g_strcmp0 (gst_debug_category_get_name (category), "ssanscheduler")
      && g_str_has_prefix (gst_debug_message_get (message), "loaded model "))
    g_atomic_int_inc (&model_loads);
}

/* Two elements naming the same file (spelt differently) share one loaded
 * copy; state cycles do not reload it; a file changed on disk is read
 * again. */
GST_START_TEST (test_shared_model)
{
  gchar *data, *path, *desc, *dir;
  gsize size;
  GstHarness *h1, *h2;
  GstVideoInfo info;
  GstBus *bus1, *bus2;
  GList *r1, *r2;
  GstStateChangeReturn ret;
  GstMessage *msg;
  guint i;

  /* added once and never removed: GStreamer leaks its old list on both */
  static gsize counting = 0;

  if (g_once_init_enter (&counting)) {
    gst_debug_add_log_function (count_model_loads, NULL, NULL);
    g_once_init_leave (&counting, 1);
  }
  gst_debug_set_threshold_for_name ("ssanscheduler", GST_LEVEL_INFO);
  g_atomic_int_set (&model_loads, 0);

  fail_unless (g_file_get_contents (MODEL_T3, &data, &size, NULL));
  path = write_tmp (data, size);

  h1 = new_harness (path, NULL, 45, 45, "RGB", &info);
  bus1 = harness_bus (h1);
  fail_unless_equals_int (g_atomic_int_get (&model_loads), 1);

  dir = g_path_get_dirname (path);
  desc = g_strdup_printf ("%s/./%s", dir, strrchr (path, '/') + 1);
  h2 = new_harness (desc, NULL, 45, 45, "RGB", &info);
  g_free (desc);
  g_free (dir);
  bus2 = harness_bus (h2);
  fail_unless_equals_int (g_atomic_int_get (&model_loads), 1);

  push_n (h1, &info, 0, 5);
  push_n (h2, &info, 0, 5);
  r1 = pop_results (bus1);
  r2 = pop_results (bus2);
  fail_unless_equals_int (g_list_length (r1), 3);
  fail_unless_equals_int (g_list_length (r2), 3);
  fail_unless (
      fabs (score_of (r1->data, "class 0") - score_of (r2->data, "class 0"))
      < 1e-12);
  free_results (r1);
  free_results (r2);

  for (i = 0; i < 5; i++) {
    gst_element_set_state (h1->element, GST_STATE_NULL);
    fail_unless_equals_int (
        gst_element_set_state (h1->element, GST_STATE_PLAYING),
        GST_STATE_CHANGE_SUCCESS);
  }
  fail_unless_equals_int (g_atomic_int_get (&model_loads), 1);

  /* spoilt on disk: new elements and restarts read it again, and fail */
  fail_unless (g_file_set_contents (path, "spoilt", 6, NULL));
  msg = start_expecting_error (path, &ret);
  fail_unless_equals_int (ret, GST_STATE_CHANGE_FAILURE);
  fail_unless (msg != NULL);
  gst_message_unref (msg);
  gst_element_set_state (h2->element, GST_STATE_NULL);
  fail_unless_equals_int (
      gst_element_set_state (h2->element, GST_STATE_PLAYING),
      GST_STATE_CHANGE_FAILURE);

  /* repaired: loaded again, although h1 still holds the first copy */
  fail_unless (g_file_set_contents (path, data, size, NULL));
  msg = start_expecting_error (path, &ret);
  fail_unless_equals_int (ret, GST_STATE_CHANGE_SUCCESS);
  fail_unless (msg == NULL);
  fail_unless_equals_int (g_atomic_int_get (&model_loads), 2);

  drop_bus (bus1);
  drop_bus (bus2);
  gst_harness_teardown (h1);
  gst_element_set_state (h2->element, GST_STATE_NULL);
  gst_harness_teardown (h2);

  gst_debug_unset_threshold_for_name ("ssanscheduler");
  g_unlink (path);
  g_free (path);
  g_free (data);
}

GST_END_TEST;

typedef struct {
  GstHarness *h;
  GstBus *bus;
  GstVideoInfo info;
  guint n_ok;
} StreamThread;

static gpointer
stream_thread (gpointer data)
{
  StreamThread *st = data;
  guint n;

  for (n = 0; n < 24; n++) {
    GstBuffer *out;

    if (gst_harness_push (st->h, make_frame_at (&st->info, n)) == GST_FLOW_OK)
      st->n_ok++;
    out = gst_harness_pull (st->h);
    if (out)
      gst_buffer_unref (out);
  }
  return NULL;
}

/* Four streams in four threads on one shared model give the same
 * results as each would alone. */
GST_START_TEST (test_shared_model_threads)
{
  StreamThread st[4];
  GThread *threads[4];
  GList *results[4];
  guint i;

  for (i = 0; i < 4; i++) {
    st[i].h = new_harness (MODEL_T8,
        i % 2 ? "threads=1 stride=2 top-k=7" : "threads=2 stride=2 top-k=7", 42,
        42, "RGB", &st[i].info);
    st[i].bus = harness_bus (st[i].h);
    st[i].n_ok = 0;
  }
  for (i = 0; i < 4; i++)
    threads[i] = g_thread_new ("stream", stream_thread, &st[i]);
  for (i = 0; i < 4; i++)
    g_thread_join (threads[i]);

  for (i = 0; i < 4; i++) {
    GList *a, *b;

    fail_unless_equals_int (st[i].n_ok, 24);
    results[i] = pop_results (st[i].bus);
    fail_unless_equals_int (g_list_length (results[i]), (24 - 8) / 2 + 1);
    for (a = results[i], b = results[0]; a; a = a->next, b = b->next) {
      fail_unless_equals_uint64 (field_u64 (a->data, "window-index"),
          field_u64 (b->data, "window-index"));
      fail_unless (score_of (a->data, "class 0") >= 0);
      fail_unless (
          fabs (score_of (a->data, "class 0") - score_of (b->data, "class 0"))
          < 1e-5);
    }
  }
  for (i = 0; i < 4; i++) {
    free_results (results[i]);
    drop_bus (st[i].bus);
    gst_harness_teardown (st[i].h);
  }
}

GST_END_TEST;

/* Property writes and state changes from other threads while streaming. */
GST_START_TEST (test_stress)
{
  GstVideoInfo info;
  GstHarness *h;
  GstHarnessThread *threads[8];
  GstCheckLogFilter *filter;
  GValue model = G_VALUE_INIT, mode = G_VALUE_INIT, v = G_VALUE_INIT;
  guint i, n;
  gint64 end;

  /* Pushing from this thread while the state stress thread relinks the
   * harness pads races on the harness's sticky events, not the element's. */
  filter = gst_check_add_log_filter ("GStreamer", G_LOG_LEVEL_WARNING,
      g_regex_new ("data flow before|Sticky event misordering", 0, 0, NULL),
      NULL, NULL, NULL);
  h = new_harness (MODEL_T3, NULL, 24, 16, "I420", &info);

  g_value_init (&model, G_TYPE_STRING);
  g_value_set_string (&model, MODEL_T8);
  g_value_init (&mode, g_type_from_name ("GstSsanActionMode"));
  g_value_init (&v, G_TYPE_INT);
  g_value_set_int (&v, 3);
  i = 0;
  threads[i++]
      = gst_harness_stress_property_start_full (h, "model", &model, 20 * 1000);
  g_value_set_string (&model, MODEL_T3);
  threads[i++]
      = gst_harness_stress_property_start_full (h, "model", &model, 13 * 1000);
  threads[i++]
      = gst_harness_stress_property_start_full (h, "smoothing", &v, 7 * 1000);
  threads[i++] = gst_harness_stress_property_start_full (h, "top-k", &v, 1000);
  threads[i++]
      = gst_harness_stress_property_start_full (h, "stride", &v, 11 * 1000);
  threads[i++] = gst_harness_stress_statechange_start_full (h, 50 * 1000);
  g_value_set_enum (&mode, 1);
  threads[i++]
      = gst_harness_stress_property_start_full (h, "mode", &mode, 3 * 1000);
  g_value_set_enum (&mode, 0);
  threads[i++]
      = gst_harness_stress_property_start_full (h, "mode", &mode, 5 * 1000);

  end = g_get_monotonic_time () + 3 * G_USEC_PER_SEC;
  for (n = 0; g_get_monotonic_time () < end; n++) {
    GstBuffer *out;

    /* flushing while the state stress stops the element is fine */
    gst_harness_push (h, make_frame_at (&info, n));
    while ((out = gst_harness_try_pull (h)))
      gst_buffer_unref (out);
  }
  for (i = 0; i < G_N_ELEMENTS (threads); i++)
    gst_harness_stress_thread_stop (threads[i]);
  gst_check_remove_log_filter (filter);
  GST_INFO ("pushed %u buffers", n);

  /* still works afterwards */
  gst_harness_play (h);
  g_object_set (h->element, "model", MODEL_T3, "stride", 0, "mode", 0, NULL);
  {
    GstBus *bus = harness_bus (h);
    push_n (h, &info, 0, 4);
    fail_unless_equals_uint64 (last_index (bus, 2), 1);
    drop_bus (bus);
  }

  g_value_unset (&model);
  g_value_unset (&mode);
  g_value_unset (&v);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* What gst-inspect-1.0 shows: the example pipeline runs as documented
 * (9 results for 64 frames with the demo model) and the origin is no
 * placeholder. */
GST_START_TEST (test_inspect_example)
{
  GstElementFactory *f = gst_element_factory_find ("ssanaction");
  const gchar *example, *outputs;
  GstPlugin *plugin;
  gchar *dir, *jsonl, *models, *desc, **lines;
  GstElement *pipeline;
  GstBus *bus;
  GstMessage *msg;
  GError *error = NULL;
  guint results = 0;

  fail_unless (f != NULL);
  example = gst_element_factory_get_metadata (f, "example");
  outputs = gst_element_factory_get_metadata (f, "outputs");
  fail_unless (example && g_str_has_prefix (example, "gst-launch-1.0 -m "));
  fail_unless (strstr (example, "model=models/ssan-demo.safetensors"));
  fail_unless (outputs && strstr (outputs, "\"ssan-action\"")
               && strstr (outputs, "GstSsanActionMeta"));
  plugin = gst_plugin_feature_get_plugin (GST_PLUGIN_FEATURE (f));
  fail_unless (strstr (gst_plugin_get_origin (plugin), "example") == NULL);
  gst_object_unref (plugin);

  dir = g_dir_make_tmp ("ssan-example-XXXXXX", NULL);
  jsonl = g_build_filename (dir, "results.jsonl", NULL);
  models = g_strdup_printf ("model=%s/../../models/", SSAN_TEST_DATA);
  desc = g_strdup (example + strlen ("gst-launch-1.0 -m "));
  lines = g_strsplit (desc, "model=models/", -1);
  g_free (desc);
  desc = g_strjoinv (models, lines);
  g_strfreev (lines);
  lines = g_strsplit (desc, "results-location=results.jsonl", -1);
  g_free (desc);
  g_free (models);
  models = g_strdup_printf ("results-location=%s", jsonl);
  desc = g_strjoinv (models, lines);
  g_strfreev (lines);

  pipeline = gst_parse_launch (desc, &error);
  fail_unless (pipeline != NULL, "%s: %s", desc, error ? error->message : "");
  bus = gst_element_get_bus (pipeline);
  fail_unless (gst_element_set_state (pipeline, GST_STATE_PLAYING)
               != GST_STATE_CHANGE_FAILURE);
  while ((msg = gst_bus_timed_pop (bus, GST_CLOCK_TIME_NONE))) {
    GstMessageType t = GST_MESSAGE_TYPE (msg);

    if (t == GST_MESSAGE_ELEMENT && gst_message_has_name (msg, "ssan-action"))
      results++;
    gst_message_unref (msg);
    fail_unless (t != GST_MESSAGE_ERROR);
    if (t == GST_MESSAGE_EOS)
      break;
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  fail_unless_equals_int (results, 9);
  lines = read_lines (jsonl);
  fail_unless_equals_int (g_strv_length (lines), 9);
  g_strfreev (lines);

  gst_object_unref (bus);
  gst_object_unref (pipeline);
  gst_object_unref (f);
  g_unlink (jsonl);
  g_rmdir (dir);
  g_free (jsonl);
  g_free (dir);
  g_free (desc);
  g_free (models);
}

GST_END_TEST;

static Suite *
ssanaction_suite (void)
{
  Suite *s = suite_create ("ssanaction");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_sample_index);
  tcase_add_test (tc, test_result_and_meta);
  tcase_add_test (tc, test_windows_model_default);
  tcase_add_test (tc, test_windows_model_window_frames);
  tcase_add_test (tc, test_windows_long);
  tcase_add_test (tc, test_windows_gaps);
  tcase_add_test (tc, test_windows_t1);
  tcase_add_test (tc, test_windows_short_stream);
  tcase_add_test (tc, test_defaults_from_model);
  tcase_add_test (tc, test_no_pixel_copy);
  tcase_add_test (tc, test_meta_every_buffer);
  tcase_add_test (tc, test_two_elements);
  tcase_add_test (tc, test_flush_discont_caps);
  tcase_add_test (tc, test_no_timestamps_json);
  tcase_add_test (tc, test_results_write_failure);
  tcase_add_test (tc, test_results_fifo_reader_gone);
  tcase_add_test (tc, test_reverse_playback);
  tcase_add_test (tc, test_results_rotation_append);
  tcase_add_test (tc, test_results_rotation_unwritable);
  tcase_add_test (tc, test_latency);
  tcase_add_test (tc, test_inspect_example);
  tcase_add_test (tc, test_qos_skips_windows_not_frames);
  tcase_add_test (tc, test_threshold_topk_smoothing_labels);
  tcase_add_test (tc, test_formats_and_sizes);
  tcase_add_test (tc, test_bad_model);
  tcase_add_test (tc, test_bad_settings);
  tcase_add_test (tc, test_short_buffer);
  tcase_add_test (tc, test_non_finite_scores);
  tcase_add_test (tc, test_model_change_while_streaming);
  tcase_add_test (tc, test_window_change_while_streaming);
  tcase_add_test (tc, test_caps_churn);
  tcase_add_test (tc, test_async_skips);
  tcase_add_test (tc, test_shared_model);
  tcase_add_test (tc, test_window_by_time);
  tcase_add_test (tc, test_window_by_time_too_long);
  tcase_add_test (tc, test_roi_actors);
  tcase_add_test (tc, test_roi_bad_input);
  tcase_add_test (tc, test_roi_max_missing);
  tcase_add_test (tc, test_roi_vanish_async);
  tcase_add_test (tc, test_shared_model_threads);
  tcase_add_test (tc, test_stress);

  return s;
}

GST_CHECK_MAIN (ssanaction);
