/* Stress tests for ssanaction (issue 6): state churn, property and model
 * changes while streaming, pipelines in parallel threads sharing a model,
 * caps churn, buffers without timestamps, damaged WebM through decodebin.
 *
 * Every case must end with correct results or a clean error message on the
 * bus; a crash fails the test, a deadlock runs into the bus timeouts below or
 * into the check timeout (each test case has one).
 */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

/* T 4, L 12 (stride 3 by default), input 32: cheap to run */
#define MODEL_L12 SSAN_TEST_DATA "/element_t4_l12_s32.safetensors"
/* T 8, L 8, stride 1 */
#define MODEL_T8 SSAN_TEST_DATA "/golden/basic_l1_t8.safetensors"

/* no single wait for a state change or a message may take longer */
#define BUS_TIMEOUT (60 * GST_SECOND)

static GstElement *
parse (const gchar *desc)
{
  GError *error = NULL;
  GstElement *p = gst_parse_launch (desc, &error);

  fail_unless (p != NULL, "%s: %s", desc, error ? error->message : "?");
  fail_if (error != NULL, "%s: %s", desc, error ? error->message : "?");
  return p;
}

/* A fresh path in a fresh temporary directory (removed by remove_temp). */
static gchar *
make_temp (const gchar *name)
{
  GError *error = NULL;
  gchar *dir = g_dir_make_tmp ("ssan-stress-XXXXXX", &error);
  gchar *path;

  fail_unless (dir != NULL, "%s", error ? error->message : "?");
  path = g_build_filename (dir, name, NULL);
  g_free (dir);
  return path;
}

static void
remove_temp (gchar *path)
{
  gchar *dir = g_path_get_dirname (path);

  g_unlink (path);
  g_rmdir (dir);
  g_free (dir);
  g_free (path);
}

static void
write_file (const gchar *path, const guint8 *data, gsize size)
{
  GError *error = NULL;

  fail_unless (g_file_set_contents (path, (const gchar *)data, size, &error),
      "%s", error ? error->message : "?");
}

/* Runs a pipeline from PLAYING to EOS or ERROR.  Counts the ssan-action
 * messages; returns the error (NULL on EOS), its source's name in *src.
 * With a `stall` timeout, *stalled tells whether no message came in time
 * (otherwise that fails the test). */
static GError *
run_to_end_full (GstElement *p, guint *n_results, gchar **src,
    GstClockTime stall, gboolean *stalled)
{
  GstBus *bus = gst_element_get_bus (p);
  GstClockTime timeout = stall != 0 ? stall : BUS_TIMEOUT;
  GError *error = NULL;
  gboolean done = FALSE;

  *n_results = 0;
  if (src)
    *src = NULL;
  if (stalled)
    *stalled = FALSE;
  gst_element_set_state (p, GST_STATE_PLAYING);
  while (!done) {
    GstMessage *m = gst_bus_timed_pop_filtered (bus, timeout,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);

    if (m == NULL && stalled) {
      *stalled = TRUE;
      break;
    }
    fail_unless (m != NULL, "no EOS nor error within %" GST_TIME_FORMAT,
        GST_TIME_ARGS (timeout));
    switch (GST_MESSAGE_TYPE (m)) {
      case GST_MESSAGE_ELEMENT:
        if (gst_message_has_name (m, "ssan-action"))
          (*n_results)++;
        break;
      case GST_MESSAGE_ERROR:
        gst_message_parse_error (m, &error, NULL);
        if (src)
          *src = gst_object_get_name (GST_MESSAGE_SRC (m));
        done = TRUE;
        break;
      default:
        done = TRUE;
        break;
    }
    gst_message_unref (m);
  }
  fail_unless_equals_int (
      gst_element_set_state (p, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (bus);
  return error;
}

static GError *
run_to_end (GstElement *p, guint *n_results, gchar **src)
{
  return run_to_end_full (p, n_results, src, 0, NULL);
}

/* Fails on any error message waiting on the bus; returns the number of
 * ssan-action messages it drained. */
static guint
drain_bus (GstBus *bus)
{
  GstMessage *m;
  guint n = 0;

  while ((m = gst_bus_pop (bus)) != NULL) {
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR) {
      GError *error = NULL;
      gchar *dbg = NULL;

      gst_message_parse_error (m, &error, &dbg);
      fail ("unexpected error from %s: %s (%s)",
          GST_OBJECT_NAME (GST_MESSAGE_SRC (m)), error->message, dbg);
    }
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ELEMENT
        && gst_message_has_name (m, "ssan-action"))
      n++;
    gst_message_unref (m);
  }
  return n;
}

/* Waits until the pipeline has posted `want` more results (or fails). */
static void
wait_results (GstBus *bus, guint want)
{
  guint n = 0;

  while (n < want) {
    GstMessage *m = gst_bus_timed_pop_filtered (
        bus, BUS_TIMEOUT, GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);

    fail_unless (m != NULL, "no result within %" GST_TIME_FORMAT,
        GST_TIME_ARGS (BUS_TIMEOUT));
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR) {
      GError *error = NULL;

      gst_message_parse_error (m, &error, NULL);
      fail ("unexpected error: %s", error->message);
    }
    if (gst_message_has_name (m, "ssan-action"))
      n++;
    gst_message_unref (m);
  }
}

/* 500 NULL <-> PLAYING cycles (every other one through PAUSED, some with
 * frames already flowing); no error, and the pipeline still produces the
 * exact number of results afterwards. */
GST_START_TEST (test_state_cycles)
{
  GstElement *p = parse (
      "ssantestsrc seed=4 ! "
      "video/x-raw,width=40,height=32,framerate=25/1 ! "
      "ssanaction name=a mode=async model=" MODEL_L12 " ! fakesink sync=false");
  GstBus *bus = gst_element_get_bus (p);
  guint i, n;
  GError *error;

  for (i = 0; i < 500; i++) {
    GstStateChangeReturn ret;

    if (i % 2)
      fail_if (gst_element_set_state (p, GST_STATE_PAUSED)
               == GST_STATE_CHANGE_FAILURE);
    ret = gst_element_set_state (p, GST_STATE_PLAYING);
    fail_if (ret == GST_STATE_CHANGE_FAILURE, "cycle %u", i);
    if (i % 5 == 0)
      fail_unless_equals_int (
          gst_element_get_state (p, NULL, NULL, BUS_TIMEOUT),
          GST_STATE_CHANGE_SUCCESS);
    fail_unless_equals_int (
        gst_element_set_state (p, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    drain_bus (bus);
  }
  gst_object_unref (bus);
  gst_object_unref (p);

  /* sync mode after the churn: (60 - 12) / 3 + 1 windows */
  p = parse ("ssantestsrc seed=4 num-buffers=60 ! "
             "video/x-raw,width=40,height=32,framerate=25/1 ! "
             "ssanaction model=" MODEL_L12 " ! fakesink sync=false");
  error = run_to_end (p, &n, NULL);
  fail_unless (error == NULL, "%s", error ? error->message : "");
  fail_unless_equals_int (n, 17);
  gst_object_unref (p);
}
GST_END_TEST;

/* Property changes while streaming: settings, the model switched between two
 * files, then a missing and a damaged model file: a clean error from
 * ssanaction naming the file; back to a good model, results flow again. */
GST_START_TEST (test_properties_while_streaming)
{
  static const gchar *bad_bytes = "not a safetensors file at all";
  gchar *bad = make_temp ("damaged.safetensors");
  gchar *missing = make_temp ("missing.safetensors");
  GstElement *p, *a;
  GstBus *bus;
  guint round;

  write_file (bad, (const guint8 *)bad_bytes, strlen (bad_bytes));
  p = parse ("ssantestsrc seed=9 is-live=false ! "
             "video/x-raw,width=48,height=40,framerate=30/1 ! "
             "ssanaction name=a model=" MODEL_L12 " ! fakesink sync=false");
  a = gst_bin_get_by_name (GST_BIN (p), "a");
  bus = gst_element_get_bus (p);

  for (round = 0; round < 2; round++) {
    guint i;
    const gchar *bad_path = round == 0 ? missing : bad;
    gboolean got_error = FALSE;

    g_object_set (a, "model", MODEL_L12, "mode", round ? 1 : 0, NULL);
    fail_if (gst_element_set_state (p, GST_STATE_PLAYING)
             == GST_STATE_CHANGE_FAILURE);
    wait_results (bus, 2);

    for (i = 0; i < 24; i++) {
      switch (i % 8) {
        case 0:
          g_object_set (a, "model", i % 16 ? MODEL_L12 : MODEL_T8, NULL);
          break;
        case 1:
          g_object_set (
              a, "segments", 0, "window-frames", 0, "stride", 0, NULL);
          break;
        case 2:
          g_object_set (a, "smoothing", 1 + i % 5, "top-k", 1 + i % 3,
              "threshold", 0.05 * (i % 4), NULL);
          break;
        case 3:
          g_object_set (a, "mode", i % 2, "threads", 1 + i % 2, NULL);
          break;
        case 4:
          g_object_set (a, "model", MODEL_T8, "stride", 2, NULL);
          break;
        case 5:
          g_object_set (a, "window-frames", 16, "stride", 1, NULL);
          break;
        case 6:
          g_object_set (
              a, "model", MODEL_L12, "window-frames", 0, "stride", 0, NULL);
          break;
        default:
          break;
      }
      wait_results (bus, 1);
    }

    /* a model that cannot be loaded: stream error, no crash */
    g_object_set (a, "model", bad_path, NULL);
    while (!got_error) {
      GstMessage *m = gst_bus_timed_pop_filtered (
          bus, BUS_TIMEOUT, GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
      GError *error = NULL;
      gchar *dbg = NULL;

      fail_unless (m != NULL, "no error for model %s", bad_path);
      fail_unless_equals_int (GST_MESSAGE_TYPE (m), GST_MESSAGE_ERROR);
      fail_unless (GST_MESSAGE_SRC (m) == GST_OBJECT (a));
      gst_message_parse_error (m, &error, &dbg);
      fail_unless (strstr (error->message, bad_path) != NULL,
          "error does not name the file: %s", error->message);
      g_error_free (error);
      g_free (dbg);
      gst_message_unref (m);
      got_error = TRUE;
    }
    fail_unless_equals_int (
        gst_element_set_state (p, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    gst_bus_set_flushing (bus, TRUE);
    gst_bus_set_flushing (bus, FALSE);
  }

  /* starting with the bad file fails the state change, with the error */
  g_object_set (a, "model", bad, NULL);
  fail_unless_equals_int (
      gst_element_set_state (p, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  {
    GstMessage *m
        = gst_bus_timed_pop_filtered (bus, BUS_TIMEOUT, GST_MESSAGE_ERROR);
    fail_unless (m != NULL);
    gst_message_unref (m);
  }
  fail_unless_equals_int (
      gst_element_set_state (p, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  gst_bus_set_flushing (bus, TRUE);

  gst_object_unref (bus);
  gst_object_unref (a);
  gst_object_unref (p);
  remove_temp (bad);
  remove_temp (missing);
}
GST_END_TEST;

#define N_PARALLEL 4

typedef struct {
  guint index;
  gboolean async;
  guint n_results;
  GArray *confidences; /* gdouble per result, sync mode */
  GArray *classes;     /* gint per result */
  gchar *error;
} Worker;

static gpointer
worker_run (gpointer data)
{
  Worker *w = data;
  gchar *desc = g_strdup_printf (
      "ssantestsrc seed=21 num-buffers=90 ! "
      "video/x-raw,width=40,height=40,framerate=25/1 ! "
      "ssanaction name=a mode=%s model=" MODEL_L12 " ! fakesink sync=false",
      w->async ? "async" : "sync");
  GstElement *p = gst_parse_launch (desc, NULL);
  GstBus *bus;
  gboolean done = FALSE;

  g_free (desc);
  if (p == NULL) {
    w->error = g_strdup ("cannot build the pipeline");
    return NULL;
  }
  bus = gst_element_get_bus (p);
  gst_element_set_state (p, GST_STATE_PLAYING);
  while (!done) {
    GstMessage *m = gst_bus_timed_pop_filtered (bus, BUS_TIMEOUT,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);
    const GstStructure *s;

    if (m == NULL) {
      w->error = g_strdup ("timed out");
      break;
    }
    switch (GST_MESSAGE_TYPE (m)) {
      case GST_MESSAGE_ELEMENT:
        s = gst_message_get_structure (m);
        if (gst_structure_has_name (s, "ssan-action")) {
          gdouble c = 0;
          gint id = -2;

          gst_structure_get_double (s, "confidence", &c);
          gst_structure_get_int (s, "class-id", &id);
          g_array_append_val (w->confidences, c);
          g_array_append_val (w->classes, id);
          w->n_results++;
        }
        break;
      case GST_MESSAGE_ERROR: {
        GError *error = NULL;

        gst_message_parse_error (m, &error, NULL);
        w->error = g_strdup (error->message);
        g_error_free (error);
        done = TRUE;
        break;
      }
      default:
        done = TRUE;
    }
    gst_message_unref (m);
  }
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (p);
  return NULL;
}

/* Sync pipelines on the same frames give the same results: the same
 * classes, and confidences equal but for the last digits, since windows of
 * pipelines sharing the model's scheduler may run in batches of any size,
 * whose sums can round differently (measured: logits within 3e-6). */
static void
check_same_results (const Worker *a, const Worker *b)
{
  guint j;

  fail_unless_equals_int (a->n_results, b->n_results);
  for (j = 0; j < a->n_results; j++) {
    gdouble ca = g_array_index (a->confidences, gdouble, j);
    gdouble cb = g_array_index (b->confidences, gdouble, j);

    fail_unless_equals_int (g_array_index (a->classes, gint, j),
        g_array_index (b->classes, gint, j));
    fail_unless (fabs (ca - cb) <= 1e-5, "result %u: %.9f vs %.9f", j, ca, cb);
  }
}

/* Four pipelines, each in its own thread, name the same model file (one
 * loaded copy); in sync mode each gives exactly the windows of spec §4
 * and the same results as the others (same frames). */
static void
run_parallel (gboolean async)
{
  Worker w[N_PARALLEL];
  GThread *t[N_PARALLEL];
  guint i;

  for (i = 0; i < N_PARALLEL; i++) {
    memset (&w[i], 0, sizeof (w[i]));
    w[i].index = i;
    /* in the mixed run, pipelines 1 and 3 are async */
    w[i].async = async && (i % 2);
    w[i].confidences = g_array_new (FALSE, FALSE, sizeof (gdouble));
    w[i].classes = g_array_new (FALSE, FALSE, sizeof (gint));
    t[i] = g_thread_new ("stress-pipeline", worker_run, &w[i]);
  }
  for (i = 0; i < N_PARALLEL; i++)
    g_thread_join (t[i]);

  for (i = 0; i < N_PARALLEL; i++) {
    fail_unless (w[i].error == NULL, "pipeline %u: %s", i, w[i].error);
    if (w[i].async) {
      /* async skips windows while busy, never adds any */
      fail_unless (
          w[i].n_results >= 1 && w[i].n_results <= 27, "%u", w[i].n_results);
      continue;
    }
    /* (90 - 12) / 3 + 1 */
    fail_unless_equals_int (w[i].n_results, 27);
    check_same_results (&w[i], &w[0]);
  }
  for (i = 0; i < N_PARALLEL; i++) {
    g_array_unref (w[i].confidences);
    g_array_unref (w[i].classes);
    g_free (w[i].error);
  }
}

GST_START_TEST (test_parallel_pipelines)
{
  run_parallel (FALSE);
  run_parallel (TRUE);
}
GST_END_TEST;

/* Issue 16: elements sharing the model's scheduler while another element
 * on it goes through NULL <-> PLAYING and switches its model back and
 * forth (another scheduler, then this one again): the three streaming on
 * keep exactly the windows of spec §4 and the same results, nothing
 * stalls or fails. */
static gint churn_done;

static gpointer
counted_worker_run (gpointer data)
{
  worker_run (data);
  g_atomic_int_inc (&churn_done);
  return NULL;
}

GST_START_TEST (test_shared_scheduler_churn)
{
  Worker w[3];
  GThread *t[3];
  guint i, cycles = 0;

  g_atomic_int_set (&churn_done, 0);
  for (i = 0; i < 3; i++) {
    memset (&w[i], 0, sizeof (w[i]));
    w[i].index = i;
    w[i].confidences = g_array_new (FALSE, FALSE, sizeof (gdouble));
    w[i].classes = g_array_new (FALSE, FALSE, sizeof (gint));
    t[i] = g_thread_new ("stress-pipeline", counted_worker_run, &w[i]);
  }
  while (g_atomic_int_get (&churn_done) < 3 || cycles < 3) {
    GstElement *p = gst_parse_launch (
        "ssantestsrc seed=5 ! video/x-raw,width=40,height=40,framerate=25/1 ! "
        "ssanaction name=a model=" MODEL_L12 " stride=1 ! fakesink sync=false",
        NULL);
    GstElement *a = gst_bin_get_by_name (GST_BIN (p), "a");
    GstBus *bus = gst_element_get_bus (p);

    gst_element_set_state (p, GST_STATE_PLAYING);
    wait_results (bus, 1);
    g_object_set (a, "model", MODEL_T8, NULL);
    wait_results (bus, 2);
    g_object_set (a, "model", MODEL_L12, NULL);
    wait_results (bus, 2);
    fail_unless_equals_int (
        gst_element_set_state (p, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    drain_bus (bus);
    gst_object_unref (bus);
    gst_object_unref (a);
    gst_object_unref (p);
    cycles++;
  }
  for (i = 0; i < 3; i++)
    g_thread_join (t[i]);

  for (i = 0; i < 3; i++) {
    fail_unless (w[i].error == NULL, "pipeline %u: %s", i, w[i].error);
    /* (90 - 12) / 3 + 1 */
    fail_unless_equals_int (w[i].n_results, 27);
    check_same_results (&w[i], &w[0]);
  }
  for (i = 0; i < 3; i++) {
    g_array_unref (w[i].confidences);
    g_array_unref (w[i].classes);
    g_free (w[i].error);
  }
}
GST_END_TEST;

static GstBuffer *
make_frame (const GstVideoInfo *info, guint index, GstClockTime pts)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, info->size, NULL);
  GstMapInfo map;
  gsize i;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (i = 0; i < map.size; i++)
    map.data[i] = (guint8)((index * 131 + i * 7) >> 2);
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = pts;
  return buf;
}

/* Counts the ssan-action messages on the bus; the last window index. */
static guint
count_results (GstBus *bus, guint64 *last_index, gboolean *all_untimed)
{
  GstMessage *m;
  guint n = 0;

  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT)) != NULL) {
    const GstStructure *s = gst_message_get_structure (m);
    if (gst_structure_has_name (s, "ssan-action")) {
      guint64 start = 0, end = 0;

      fail_unless (gst_structure_get_uint64 (s, "window-index", last_index));
      fail_unless (gst_structure_get_uint64 (s, "window-start", &start));
      fail_unless (gst_structure_get_uint64 (s, "window-end", &end));
      if (all_untimed)
        *all_untimed
            &= start == GST_CLOCK_TIME_NONE && end == GST_CLOCK_TIME_NONE;
      n++;
    }
    gst_message_unref (m);
  }
  return n;
}

static GstHarness *
harness_new (const gchar *props, GstBus **bus)
{
  gchar *desc = g_strdup_printf ("ssanaction model=" MODEL_L12 " %s", props);
  GstHarness *h = gst_harness_new_parse (desc);

  g_free (desc);
  *bus = gst_bus_new ();
  gst_element_set_bus (h->element, *bus);
  gst_harness_play (h);
  return h;
}

static void
harness_free (GstHarness *h, GstBus *bus)
{
  gst_bus_set_flushing (bus, TRUE);
  gst_harness_teardown (h);
  gst_object_unref (bus);
}

/* Caps change every 5 frames, through formats and sizes (odd ones, 1x1,
 * frame rates, with and without PTS): each change empties the window, so
 * with L = 4 and stride 1 each run of 5 frames gives exactly 2 windows. */
GST_START_TEST (test_caps_churn)
{
  static const GstVideoFormat formats[] = { GST_VIDEO_FORMAT_RGB,
    GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12, GST_VIDEO_FORMAT_YUY2,
    GST_VIDEO_FORMAT_GRAY8, GST_VIDEO_FORMAT_BGRx, GST_VIDEO_FORMAT_ARGB,
    GST_VIDEO_FORMAT_UYVY, GST_VIDEO_FORMAT_Y444, GST_VIDEO_FORMAT_NV21 };
  static const gint sizes[][2] = { { 32, 32 }, { 1, 1 }, { 33, 7 }, { 7, 33 },
    { 640, 360 }, { 2, 301 }, { 100, 100 } };
  GstBus *bus;
  GstHarness *h = harness_new ("window-frames=4 stride=1", &bus);
  guint seg, n = 0, total = 0;
  guint64 last = 0;

  for (seg = 0; seg < 60; seg++) {
    GstVideoInfo info;
    guint k;

    gst_video_info_set_format (&info, formats[seg % G_N_ELEMENTS (formats)],
        sizes[seg % G_N_ELEMENTS (sizes)][0],
        sizes[seg % G_N_ELEMENTS (sizes)][1]);
    GST_VIDEO_INFO_FPS_N (&info) = 10 + seg % 20;
    GST_VIDEO_INFO_FPS_D (&info) = 1;
    gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
    for (k = 0; k < 5; k++, n++) {
      GstClockTime pts = seg % 3 == 2 ? GST_CLOCK_TIME_NONE : n * GST_MSECOND;
      fail_unless_equals_int (
          gst_harness_push (h, make_frame (&info, n, pts)), GST_FLOW_OK);
      gst_buffer_unref (gst_harness_pull (h));
    }
    fail_unless_equals_int (count_results (bus, &last, NULL), 2);
    fail_unless_equals_uint64 (last, 1);
    total += 2;
  }
  fail_unless_equals_int (total, 120);
  harness_free (h, bus);
}
GST_END_TEST;

/* Buffers without any timestamps: results with window-start and -end
 * GST_CLOCK_TIME_NONE, exactly the windows of spec §4, in both modes. */
GST_START_TEST (test_no_timestamps)
{
  GstVideoInfo info;
  guint mode;

  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, 36, 36);
  GST_VIDEO_INFO_FPS_N (&info) = 0;
  GST_VIDEO_INFO_FPS_D (&info) = 1;
  for (mode = 0; mode < 2; mode++) {
    GstBus *bus;
    GstHarness *h = harness_new (mode ? "mode=async" : "mode=sync", &bus);
    gboolean untimed = TRUE;
    guint64 last = 0;
    guint i, n;

    gst_harness_set_src_caps (h, gst_video_info_to_caps (&info));
    for (i = 0; i < 48; i++) {
      GstBuffer *b = make_frame (&info, i, GST_CLOCK_TIME_NONE);

      GST_BUFFER_DTS (b) = GST_CLOCK_TIME_NONE;
      GST_BUFFER_DURATION (b) = GST_CLOCK_TIME_NONE;
      fail_unless_equals_int (gst_harness_push (h, b), GST_FLOW_OK);
      gst_buffer_unref (gst_harness_pull (h));
      if (mode)
        g_usleep (2000);
    }
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    n = count_results (bus, &last, &untimed);
    fail_unless (untimed);
    if (mode == 0) {
      /* (48 - 12) / 3 + 1 */
      fail_unless_equals_int (n, 13);
      fail_unless_equals_uint64 (last, 12);
    } else {
      fail_unless (n >= 1 && n <= 13, "%u", n);
    }
    harness_free (h, bus);
  }
}
GST_END_TEST;

/* WebM made here (ssantestsrc ! vp8enc ! webmmux), then damaged. */
static GBytes *
make_webm (void)
{
  gchar *path = make_temp ("clip.webm");
  gchar *desc = g_strdup_printf (
      "ssantestsrc seed=5 num-buffers=48 ! "
      "video/x-raw,format=I420,width=64,height=48,framerate=25/1 ! "
      "vp8enc deadline=1 keyframe-max-dist=12 ! webmmux ! "
      "filesink location=\"%s\"",
      path);
  GstElement *p = parse (desc);
  gchar *contents = NULL;
  gsize size = 0;
  guint n;
  GError *error = run_to_end (p, &n, NULL);

  fail_unless (error == NULL, "%s", error ? error->message : "");
  fail_unless (g_file_get_contents (path, &contents, &size, NULL));
  fail_unless (size > 1000 && size < 100 * 1024, "%" G_GSIZE_FORMAT, size);
  gst_object_unref (p);
  g_free (desc);
  remove_temp (path);
  return g_bytes_new_take (contents, size);
}

static GstPadProbeReturn
count_buffers (GstPad *pad, GstPadProbeInfo *info, gpointer counter)
{
  (void)pad;
  (void)info;
  g_atomic_int_inc ((gint *)counter);
  return GST_PAD_PROBE_OK;
}

static guint n_upstream_stalls;

/* 5 s without a message, times CK_TIMEOUT_MULTIPLIER (valgrind), at most
 * 20 s: a stall costs the whole timeout */
static GstClockTime
stall_timeout (void)
{
  const gchar *m = g_getenv ("CK_TIMEOUT_MULTIPLIER");
  gint k = m ? atoi (m) : 1;

  return 5 * GST_SECOND * CLAMP (k, 1, 4);
}

/* Runs the file through decodebin into ssanaction (sync); returns the
 * number of results, *error_out whether it ended on an error.
 *
 * GStreamer 1.22's matroskademux, in decodebin, decodebin3 or parsebin,
 * sometimes stalls in preroll on a damaged header without posting its
 * error (seen in about half the runs on one damaged file, with fakesink
 * alone in place of ssanaction).  A stall is therefore accepted only when
 * ssanaction holds no buffer: every buffer that went in came out. */
static guint
decode_file (const gchar *path, gboolean *error_out)
{
  gchar *desc
      = g_strdup_printf ("filesrc location=\"%s\" ! decodebin ! "
                         "videoconvert ! ssanaction name=a model=" MODEL_L12
                         " ! fakesink sync=false",
          path);
  GstElement *p = parse (desc);
  GstElement *a = gst_bin_get_by_name (GST_BIN (p), "a");
  GstPad *sink = gst_element_get_static_pad (a, "sink");
  GstPad *srcpad = gst_element_get_static_pad (a, "src");
  gint n_in = 0, n_out = 0;
  gchar *src = NULL;
  gboolean stalled;
  guint n = 0;
  GError *error;

  gst_pad_add_probe (
      sink, GST_PAD_PROBE_TYPE_BUFFER, count_buffers, &n_in, NULL);
  gst_pad_add_probe (
      srcpad, GST_PAD_PROBE_TYPE_BUFFER, count_buffers, &n_out, NULL);
  error = run_to_end_full (p, &n, &src, stall_timeout (), &stalled);
  *error_out = error != NULL;
  if (stalled) {
    fail_unless_equals_int (
        g_atomic_int_get (&n_in), g_atomic_int_get (&n_out));
    n_upstream_stalls++;
    GST_WARNING ("%s: upstream stalled after %d buffers", path, n_in);
  }
  if (error) {
    GST_INFO ("%s: error from %s: %s", path, src, error->message);
    fail_unless (error->message != NULL && error->message[0] != '\0');
    g_error_free (error);
  }
  g_free (src);
  gst_object_unref (sink);
  gst_object_unref (srcpad);
  gst_object_unref (a);
  gst_object_unref (p);
  g_free (desc);
  return n;
}

GST_START_TEST (test_damaged_webm)
{
  GBytes *webm = make_webm ();
  gsize size;
  const guint8 *data = g_bytes_get_data (webm, &size);
  gchar *path = make_temp ("damaged.webm");
  guint8 *copy = g_memdup2 (data, size);
  GRand *rand = g_rand_new_with_seed (6);
  gboolean err;
  guint n, full, i;
  static const gdouble cuts[] = { 0.9, 0.6, 0.3, 0.05, 0.0 };

  /* the intact file: (48 - 12) / 3 + 1 windows, no error */
  write_file (path, data, size);
  full = decode_file (path, &err);
  fail_if (err);
  fail_unless_equals_int (full, 13);

  /* truncated: fewer windows, or an error (e.g. too short to type) */
  for (i = 0; i < G_N_ELEMENTS (cuts); i++) {
    write_file (path, data, (gsize)(size * cuts[i]));
    n = decode_file (path, &err);
    fail_unless (n <= full, "%u windows from a truncated file", n);
  }
  write_file (path, data, 40);
  decode_file (path, &err);

  /* corrupted: runs of random bytes, in the header and in the frames */
  for (i = 0; i < 24; i++) {
    gsize at, len, k;

    memcpy (copy, data, size);
    at = i < 4 ? g_rand_int_range (rand, 0, 64)
               : g_rand_int_range (rand, 0, (gint32)size);
    len = 1 + g_rand_int_range (rand, 0, i % 3 ? 16 : 512);
    for (k = at; k < at + len && k < size; k++)
      copy[k] = (guint8)g_rand_int (rand);
    write_file (path, copy, size);
    n = decode_file (path, &err);
    /* a decoder may conceal errors and carry on: never more windows than
     * the frames allow */
    fail_unless (n <= full, "%u windows", n);
  }

  /* a few stalls, not all of them */
  fail_unless (n_upstream_stalls < 12, "%u stalls", n_upstream_stalls);
  g_rand_free (rand);
  g_free (copy);
  g_bytes_unref (webm);
  remove_temp (path);
}
GST_END_TEST;

static Suite *
stress_suite (void)
{
  Suite *s = suite_create ("stress");
  TCase *tc = tcase_create ("general");

  /* each test is time-bounded; CK_TIMEOUT_MULTIPLIER scales it (valgrind) */
  tcase_set_timeout (tc, 240);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_state_cycles);
  tcase_add_test (tc, test_properties_while_streaming);
  tcase_add_test (tc, test_parallel_pipelines);
  tcase_add_test (tc, test_shared_scheduler_churn);
  tcase_add_test (tc, test_caps_churn);
  tcase_add_test (tc, test_no_timestamps);
  tcase_add_test (tc, test_damaged_webm);
  return s;
}

GST_CHECK_MAIN (stress);
