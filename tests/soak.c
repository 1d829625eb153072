/* ssan-soak: streams FRAMES frames through
 *   ssantestsrc ! video/x-raw,WxH,30/1 ! ssanaction (async) ! fakesink
 * in this process and samples its resident memory (VmRSS) by frame count,
 * never by time, so that the verdict does not depend on the machine's
 * speed: a sample every SAMPLE_EVERY frames, taken in the sink's streaming
 * thread; the baseline is the sample at frame WARMUP.  Fails (exit 1) if
 * resident memory after the warm-up grows by more than LIMIT_KIB, or if the
 * pipeline fails or gives no result.
 *
 *   ssan-soak FRAMES MODEL [WARMUP=FRAMES/5] [WxH=320x240]
 *
 * Needs GST_PLUGIN_PATH on the plugin (scripts/soak.sh sets it). */
#include <glib/gstdio.h>
#include <gst/gst.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLE_EVERY 100
#define LIMIT_KIB 1024

typedef struct {
  guint n_frames;
  guint n_samples, max_samples;
  gint64 *rss_kib; /* one per SAMPLE_EVERY frames, preallocated */
} Soak;

/* VmRSS in KiB from /proc/self/status, or -1; no allocation */
static gint64
read_rss_kib (void)
{
  char buf[4096];
  FILE *f = fopen ("/proc/self/status", "r");
  gint64 kib = -1;

  if (f == NULL)
    return -1;
  while (fgets (buf, sizeof buf, f)) {
    if (strncmp (buf, "VmRSS:", 6) == 0) {
      kib = g_ascii_strtoll (buf + 6, NULL, 10);
      break;
    }
  }
  fclose (f);
  return kib;
}

static GstPadProbeReturn
sample_rss (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Soak *soak = data;

  (void)pad;
  (void)info;
  if (soak->n_frames % SAMPLE_EVERY == 0 && soak->n_samples < soak->max_samples)
    soak->rss_kib[soak->n_samples++] = read_rss_kib ();
  soak->n_frames++;
  return GST_PAD_PROBE_OK;
}

int
main (int argc, char **argv)
{
  guint frames, warmup, width = 320, height = 240, n_results = 0, i;
  guint64 windows_evaluated = 0, windows_skipped = 0;
  gint64 base, peak, last;
  gchar *tmpdir, *results, *desc, *contents = NULL;
  GstElement *pipe, *sink, *action;
  GstPad *pad;
  GstBus *bus;
  GError *error = NULL;
  gboolean done = FALSE, failed = FALSE;
  gsize n_lines = 0;
  Soak soak = {
    0,
  };

  gst_init (&argc, &argv);
  if (argc < 3) {
    g_printerr ("usage: %s FRAMES MODEL [WARMUP-FRAMES] [WxH]\n", argv[0]);
    return 2;
  }
  frames = (guint)g_ascii_strtoull (argv[1], NULL, 10);
  warmup = argc > 3 && argv[3][0] ? (guint)g_ascii_strtoull (argv[3], NULL, 10)
                                  : frames / 5;
  if (argc > 4 && sscanf (argv[4], "%ux%u", &width, &height) != 2) {
    g_printerr ("soak: bad size '%s' (want WxH)\n", argv[4]);
    return 2;
  }
  warmup -= warmup % SAMPLE_EVERY;
  if (frames < warmup + 2 * SAMPLE_EVERY || width == 0 || height == 0) {
    g_printerr ("soak: %u frames leave fewer than %u after a warm-up of %u\n",
        frames, 2 * SAMPLE_EVERY, warmup);
    return 2;
  }

  tmpdir = g_dir_make_tmp ("ssan-soak-XXXXXX", &error);
  if (tmpdir == NULL) {
    g_printerr ("soak: %s\n", error->message);
    return 1;
  }
  results = g_build_filename (tmpdir, "results.jsonl", NULL);
  desc = g_strdup_printf ("ssantestsrc seed=11 num-buffers=%u ! "
                          "video/x-raw,width=%u,height=%u,framerate=30/1 ! "
                          "ssanaction name=action model=\"%s\" mode=async "
                          "results-location=\"%s\" ! fakesink name=sink "
                          "sync=false",
      frames, width, height, argv[2], results);
  pipe = gst_parse_launch (desc, &error);
  if (pipe == NULL) {
    g_printerr ("soak: %s\n", error->message);
    return 1;
  }
  soak.max_samples = frames / SAMPLE_EVERY + 1;
  soak.rss_kib = g_new0 (gint64, soak.max_samples);
  sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, sample_rss, &soak, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);

  g_print ("soak: %u frames of %ux%u, model %s, warm-up %u frames, "
           "limit +%d KiB\n",
      frames, width, height, argv[2], warmup, LIMIT_KIB);
  bus = gst_element_get_bus (pipe);
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  while (!done) {
    /* every message is popped (unmatched ones are dropped), so that none
     * piles up on the bus over a long stream */
    GstMessage *m = gst_bus_timed_pop (bus, GST_CLOCK_TIME_NONE);

    switch (GST_MESSAGE_TYPE (m)) {
      case GST_MESSAGE_ELEMENT:
        if (gst_message_has_name (m, "ssan-action"))
          n_results++;
        break;
      case GST_MESSAGE_ERROR:
        gst_message_parse_error (m, &error, NULL);
        g_printerr ("soak: FAIL: pipeline error: %s\n", error->message);
        g_clear_error (&error);
        failed = done = TRUE;
        break;
      case GST_MESSAGE_EOS:
        done = TRUE;
        break;
      default:
        break;
    }
    gst_message_unref (m);
  }
  action = gst_bin_get_by_name (GST_BIN (pipe), "action");
  g_object_get (action, "windows-evaluated", &windows_evaluated,
      "windows-skipped", &windows_skipped, NULL);
  gst_object_unref (action);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipe);

  if (g_file_get_contents (results, &contents, NULL, NULL))
    for (i = 0; contents[i]; i++)
      n_lines += contents[i] == '\n';
  g_free (contents);
  g_unlink (results);
  g_rmdir (tmpdir);

  g_print ("%10s %10s\n", "frame", "RSS (KiB)");
  for (i = 0; i < soak.n_samples; i++)
    if (i % 10 == 0 || i + 1 == soak.n_samples)
      g_print ("%10u %10" G_GINT64_FORMAT "%s\n", i * SAMPLE_EVERY,
          soak.rss_kib[i],
          i * SAMPLE_EVERY >= warmup ? "  (after warm-up)" : "");
  g_print ("soak: %u frames, %u results (%" G_GUINT64_FORMAT
           " windows evaluated, %" G_GUINT64_FORMAT
           " skipped), %" G_GSIZE_FORMAT " JSON lines\n",
      soak.n_frames, n_results, windows_evaluated, windows_skipped, n_lines);
  if (failed)
    return 1;
  if (soak.n_frames != frames || n_results == 0 || n_lines != n_results) {
    g_print ("soak: FAIL: expected %u frames and as many JSON lines as "
             "results (at least one)\n",
        frames);
    return 1;
  }

  base = peak = soak.rss_kib[warmup / SAMPLE_EVERY];
  last = soak.rss_kib[soak.n_samples - 1];
  for (i = warmup / SAMPLE_EVERY; i < soak.n_samples; i++) {
    if (soak.rss_kib[i] < 0) {
      g_print ("soak: FAIL: could not read VmRSS\n");
      return 1;
    }
    peak = MAX (peak, soak.rss_kib[i]);
  }
  g_print ("soak: RSS at frame %u %" G_GINT64_FORMAT
           " KiB, peak %" G_GINT64_FORMAT " KiB, last %" G_GINT64_FORMAT
           " KiB: growth %" G_GINT64_FORMAT " KiB (limit %d)\n",
      warmup, base, peak, last, peak - base, LIMIT_KIB);
  g_free (soak.rss_kib);
  g_free (desc);
  g_free (results);
  g_free (tmpdir);
  if (peak - base > LIMIT_KIB) {
    g_print (
        "soak: FAIL: resident memory grew by more than %d KiB\n", LIMIT_KIB);
    return 1;
  }
  g_print ("soak: OK\n");
  return 0;
}
