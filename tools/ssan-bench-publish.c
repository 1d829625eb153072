/* ssan-bench-publish: what ssanpublish costs and how late results arrive.
 *
 * Starts a private mosquitto (tools/ssan-broker.c) and measures, in one
 * run, side by side:
 *
 * 1. Cost per result.  N buffers, each carrying a new result, pushed from
 *    this thread into "ssanpublish location=mqtt://..." and, alternately,
 *    into "identity" (the same buffers and pushes, nothing published);
 *    the backlog holds them all (they are pushed faster than delivered);
 *    each run ends when the broker has acknowledged every result (EOS
 *    drains).  Printed: CPU of the pushing (streaming) thread per result,
 *    CPU of the whole process per result (streaming + publishing threads),
 *    both minus the identity run's, and wall time per result.
 * 2. End-to-end delay.  A live 30 fps "ssantestsrc ! ssanaction (demo
 *    model) ! ssanpublish" pipeline; a subscriber in this process.  For
 *    each result: the time from the arrival of the window's last frame at
 *    ssanaction (a pad probe) to the message at the subscriber, and the part
 *    of it after the result left ssanaction (a probe on ssanpublish's sink).
 *
 *   GST_PLUGIN_PATH=build/plugin build/tools/ssan-bench-publish \
 *       [--results N] [--frames F] [--repeat R] [--model M]
 */
#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/ssan/gstssanactionmeta.h>
#include <json-glib/json-glib.h>

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <mosquitto.h>

#include "ssan-broker.h"

static gdouble
thread_cpu (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static gdouble
process_cpu (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
         + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

typedef struct {
  gdouble thread_s, process_s, wall_s;
} Cost;

/* Pushes n buffers with a new result each through @desc (one element). */
static gboolean
run_cost (const gchar *desc, guint n, Cost *c)
{
  static const gint ids[] = { 3, 1, 0, 2, 4 };
  static const gchar *const labels[] = { "moving down", "moving right",
    "moving left", "moving up", "approaching" };
  static const gdouble scores[] = { 0.6, 0.2, 0.1, 0.05, 0.05 };
  GstElement *e = gst_parse_launch (desc, NULL);
  GstHarness *h;
  gdouble t0, p0;
  gint64 w0;
  guint64 published = n;
  guint i;

  if (e == NULL)
    return FALSE;
  h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  gst_harness_set_src_caps_str (h, "application/x-ssan-bench");
  gst_harness_set_drop_buffers (h, TRUE);

  t0 = thread_cpu ();
  p0 = process_cpu ();
  w0 = g_get_monotonic_time ();
  for (i = 0; i < n; i++) {
    GstSsanActionResult *r = gst_ssan_action_result_new_full (3, 0.6, 5, ids,
        labels, scores, i * 33 * GST_MSECOND, (i + 31) * 33 * GST_MSECOND, i,
        2 * GST_MSECOND, i, "ssanaction0", "models/ssan-demo.safetensors");
    GstBuffer *buf = gst_buffer_new ();

    GST_BUFFER_PTS (buf) = i * 33 * GST_MSECOND;
    gst_buffer_add_ssan_action_meta (buf, r);
    gst_ssan_action_result_unref (r);
    if (gst_harness_push (h, buf) != GST_FLOW_OK)
      return FALSE;
  }
  c->thread_s = thread_cpu () - t0;
  gst_harness_push_event (h, gst_event_new_eos ());
  c->wall_s = (g_get_monotonic_time () - w0) * 1e-6;
  c->process_s = process_cpu () - p0;
  if (g_object_class_find_property (
          G_OBJECT_GET_CLASS (h->element), "published"))
    g_object_get (h->element, "published", &published, NULL);
  gst_harness_teardown (h);
  return published == n;
}

/* --- end-to-end delay ---------------------------------------------------- */

typedef struct {
  GMutex lock;
  GHashTable *frame_in;  /* PTS -> arrival at ssanaction (µs, gint64 *) */
  GHashTable *result_at; /* result id -> arrival at ssanpublish */
  guint64 next_id;
} Delay;

static GstPadProbeReturn
on_frame (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Delay *d = data;
  gint64 *t = g_new (gint64, 1);

  *t = g_get_monotonic_time ();
  g_mutex_lock (&d->lock);
  g_hash_table_insert (d->frame_in,
      g_memdup2 (
          &GST_BUFFER_PTS (GST_PAD_PROBE_INFO_BUFFER (info)), sizeof (guint64)),
      t);
  g_mutex_unlock (&d->lock);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
on_result (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Delay *d = data;
  GstSsanActionMeta *m
      = gst_buffer_get_ssan_action_meta (GST_PAD_PROBE_INFO_BUFFER (info));

  if (m && m->result->result_id >= d->next_id) {
    gint64 *t = g_new (gint64, 1);

    *t = g_get_monotonic_time ();
    d->next_id = m->result->result_id + 1;
    g_mutex_lock (&d->lock);
    g_hash_table_insert (
        d->result_at, g_memdup2 (&m->result->result_id, sizeof (guint64)), t);
    g_mutex_unlock (&d->lock);
  }
  return GST_PAD_PROBE_OK;
}

static gint
cmp_double (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *)a, y = *(const gdouble *)b;
  return x < y ? -1 : x > y;
}

static void
print_stats (const gchar *what, GArray *ms)
{
  gdouble *v = (gdouble *)ms->data;
  guint n = ms->len;

  g_array_sort (ms, cmp_double);
  g_print ("  %-44s median %7.2f ms, p90 %7.2f, min %7.2f, max %7.2f "
           "(%u results)\n",
      what, v[n / 2], v[(n * 9) / 10], v[0], v[n - 1], n);
}

static gboolean
run_delay (gint port, gint qos, const gchar *model, guint frames)
{
  Delay d = { 0 };
  SsanSub *sub;
  GstElement *p, *act, *pub;
  GstPad *pad;
  GstBus *bus;
  GstMessage *msg;
  GPtrArray *msgs;
  GArray *total = g_array_new (FALSE, FALSE, sizeof (gdouble));
  GArray *after = g_array_new (FALSE, FALSE, sizeof (gdouble));
  guint windows = (frames - 32) / 4 + 1, i;
  gchar *desc, *topic = g_strdup_printf ("bench/q%d", qos);

  g_mutex_init (&d.lock);
  d.frame_in
      = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  d.result_at
      = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  sub = ssan_sub_new (port, NULL, TRUE, topic, qos);
  if (sub == NULL)
    return FALSE;
  desc = g_strdup_printf (
      "ssantestsrc is-live=true num-buffers=%u ! "
      "video/x-raw,width=320,height=240,framerate=30/1 ! ssanaction name=act "
      "model=\"%s\" threads=1 ! ssanpublish name=pub "
      "location=mqtt://127.0.0.1:%d/%s qos=%d ! fakesink sync=false",
      frames, model, port, topic, qos);
  p = gst_parse_launch (desc, NULL);
  g_free (desc);
  act = gst_bin_get_by_name (GST_BIN (p), "act");
  pub = gst_bin_get_by_name (GST_BIN (p), "pub");
  pad = gst_element_get_static_pad (act, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_frame, &d, NULL);
  gst_object_unref (pad);
  pad = gst_element_get_static_pad (pub, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_result, &d, NULL);
  gst_object_unref (pad);

  gst_element_set_state (p, GST_STATE_PLAYING);
  bus = gst_element_get_bus (p);
  msg = gst_bus_timed_pop_filtered (
      bus, GST_CLOCK_TIME_NONE, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    g_printerr ("pipeline error\n");
    return FALSE;
  }
  gst_message_unref (msg);
  ssan_sub_wait (sub, windows, 60);
  gst_element_set_state (p, GST_STATE_NULL);

  msgs = ssan_sub_messages (sub);
  for (i = 0; i < msgs->len; i++) {
    SsanMessage *m = g_ptr_array_index (msgs, i);
    JsonNode *node = json_from_string (m->payload, NULL);
    JsonObject *o = json_node_get_object (node);
    guint64 end = json_object_get_int_member (o, "window-end");
    guint64 id = json_object_get_int_member (o, "result-id");
    gint64 *fin = g_hash_table_lookup (d.frame_in, &end);
    gint64 *rat = g_hash_table_lookup (d.result_at, &id);
    gdouble v;

    if (fin) {
      v = (m->arrival - *fin) / 1000.0;
      g_array_append_val (total, v);
    }
    if (rat) {
      v = (m->arrival - *rat) / 1000.0;
      g_array_append_val (after, v);
    }
    json_node_unref (node);
  }
  g_print ("QoS %d, live 30 fps 320x240, demo model, sync mode, %u of %u "
           "results received:\n",
      qos, msgs->len, windows);
  if (total->len && after->len) {
    print_stats ("window's last frame in -> subscriber", total);
    print_stats ("result out of ssanaction -> subscriber", after);
  }
  g_ptr_array_unref (msgs);
  g_array_unref (total);
  g_array_unref (after);
  gst_object_unref (act);
  gst_object_unref (pub);
  gst_object_unref (bus);
  gst_object_unref (p);
  ssan_sub_free (sub);
  g_hash_table_unref (d.frame_in);
  g_hash_table_unref (d.result_at);
  g_free (topic);
  return TRUE;
}

int
main (int argc, char **argv)
{
  gint results = 20000, frames = 300, repeat = 3, i, q;
  gchar *model = g_strdup ("models/ssan-demo.safetensors");
  GOptionEntry entries[] = {
    { "results", 'n', 0, G_OPTION_ARG_INT, &results,
        "Results per cost run (20000)", "N" },
    { "frames", 0, 0, G_OPTION_ARG_INT, &frames,
        "Frames per delay run (300, 10 s)", "F" },
    { "repeat", 0, 0, G_OPTION_ARG_INT, &repeat, "Cost runs of each (3)", "R" },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Model", "FILE" },
    G_OPTION_ENTRY_NULL,
  };
  GOptionContext *ctx = g_option_context_new ("- ssanpublish's cost and delay");
  GError *err = NULL;
  SsanBroker b;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &err) || results < 1
      || frames < 64) {
    g_printerr ("ssan-bench-publish: %s\n",
        err ? err->message : "--results >= 1, --frames >= 64");
    return 2;
  }
  g_option_context_free (ctx);
  mosquitto_lib_init ();
  if (!ssan_broker_start (&b, NULL)) {
    g_printerr ("ssan-bench-publish: could not start mosquitto\n");
    return 1;
  }
  g_print ("mosquitto on 127.0.0.1:%d; %d results per run, alternating "
           "ssanpublish and identity, %d runs each\n",
      b.port, results, repeat);

  for (q = 0; q <= 2; q++) {
    gchar *pdesc = g_strdup_printf (
        "ssanpublish location=mqtt://127.0.0.1:%d/bench/cost qos=%d "
        "drain-timeout=600000000000 max-backlog=%d",
        b.port, q, results);

    g_print ("QoS %d, per result (ssanpublish minus identity):\n", q);
    for (i = 0; i < repeat; i++) {
      Cost c_pub, c_id;

      if (!run_cost ("identity", results, &c_id)
          || !run_cost (pdesc, results, &c_pub)) {
        g_printerr ("ssan-bench-publish: a cost run failed\n");
        return 1;
      }
      g_print ("  run %d: streaming thread %.2f us CPU, whole process %.2f us "
               "CPU, wall %.2f us (identity: %.2f / %.2f us)\n",
          i + 1, (c_pub.thread_s - c_id.thread_s) * 1e6 / results,
          (c_pub.process_s - c_id.process_s) * 1e6 / results,
          (c_pub.wall_s - c_id.wall_s) * 1e6 / results,
          c_id.thread_s * 1e6 / results, c_id.process_s * 1e6 / results);
    }
    g_free (pdesc);
  }
  for (q = 0; q <= 2; q++)
    if (!run_delay (b.port, q, model, frames))
      return 1;

  ssan_broker_free (&b);
  g_free (model);
  return 0;
}
