/* ssan-demo: the project's main job end to end.
 *
 *   ssantestsrc -> ssanaction (bundled model) -> ssanoverlay -> tee
 *      tee -> vp8enc -> webmmux -> demo.webm
 *      tee -> appsink  (frames for the PNG contact sheet)
 *
 * With synthetic clips it prints each recognised action beside the true one
 * and the final accuracy, per class and per reversal pair; --eval skips the
 * video outputs (for scoring many clips) and --vp8 sends the clips through a
 * VP8/WebM encode and decode before ssanaction.  With --source FILE, URI or
 * /dev/videoN it runs the element on that source instead and prints what it
 * recognises.  --eval --list FILE scores the model on labelled video files
 * (tools/ssan-demo-eval.c).
 */
#include "ssan-demo-eval.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <glib-unix.h>
#include <cairo.h>
#include <stdio.h>
#include <string.h>

#define SHEET_COLS 4
#define SHEET_MAX 24
#define CELL_W 320
#define CELL_H 240
#define MAX_CLASSES 64

typedef struct {
  GMainLoop *loop;
  GstElement *pipeline;
  gboolean synthetic;
  gint clips, clip_frames, ok;
  gint seen;              /* windows compared against the truth */
  GArray *truth_start;    /* GstClockTime per clip */
  GArray *truth_class;    /* gint per clip */
  GPtrArray *truth_label; /* gchar* per clip */
  gint per_class_total[MAX_CLASSES], per_class_ok[MAX_CLASSES];
  gchar *class_names[MAX_CLASSES];
  guint64 frames;    /* frames seen by the appsink */
  guint sheet_every; /* keep frame i when i % every == every - 1 */
  cairo_surface_t *sheet;
  gint sheet_cells;
  gint exit_code;
} Demo;

static gint
demo_clip_of (Demo *d, GstClockTime t)
{
  gint k;

  /* container timestamps (--vp8) are rounded to the millisecond */
  t += 5 * GST_MSECOND;
  for (k = (gint)d->truth_start->len - 1; k >= 0; k--)
    if (t >= g_array_index (d->truth_start, GstClockTime, k))
      return k;
  return -1;
}

static void
demo_on_action (Demo *d, const GstStructure *s)
{
  const gchar *label = gst_structure_get_string (s, "label");
  gint class_id = -1, k;
  gdouble conf = 0;
  guint64 start = GST_CLOCK_TIME_NONE, end = GST_CLOCK_TIME_NONE, index = 0;

  gst_structure_get_int (s, "class-id", &class_id);
  gst_structure_get_double (s, "confidence", &conf);
  gst_structure_get_uint64 (s, "window-start", &start);
  gst_structure_get_uint64 (s, "window-end", &end);
  gst_structure_get_uint64 (s, "window-index", &index);

  if (!d->synthetic) {
    g_print ("[%" GST_TIME_FORMAT " - %" GST_TIME_FORMAT "] %-28s %5.1f %%\n",
        GST_TIME_ARGS (start), GST_TIME_ARGS (end),
        class_id >= 0 ? label : "(no action)", 100 * conf);
    return;
  }

  k = GST_CLOCK_TIME_IS_VALID (start) ? demo_clip_of (d, start) : -1;
  if (k < 0) {
    g_print ("window %" G_GUINT64_FORMAT ": no ground truth for it\n", index);
    return;
  }
  {
    gint truth = g_array_index (d->truth_class, gint, k);
    gboolean hit = truth == class_id;

    d->seen++;
    d->ok += hit;
    if (truth >= 0 && truth < MAX_CLASSES) {
      d->per_class_total[truth]++;
      d->per_class_ok[truth] += hit;
    }
    g_print ("[clip %2d/%d] true: %-27s predicted: %-27s %5.1f %%  %s\n", k + 1,
        d->clips, (const gchar *)g_ptr_array_index (d->truth_label, k),
        class_id >= 0 ? label : "(no action)", 100 * conf,
        hit ? "ok" : "WRONG");
  }
}

static void
demo_on_clip (Demo *d, const GstStructure *s)
{
  guint64 start = 0;
  gint class_id = -1;
  const gchar *label = gst_structure_get_string (s, "label");

  gst_structure_get_uint64 (s, "clip-start", &start);
  gst_structure_get_int (s, "class-id", &class_id);
  g_array_append_val (d->truth_start, start);
  g_array_append_val (d->truth_class, class_id);
  g_ptr_array_add (d->truth_label, g_strdup (label ? label : "?"));
  if (class_id >= 0 && class_id < MAX_CLASSES && !d->class_names[class_id])
    d->class_names[class_id] = g_strdup (label);
}

static gboolean
demo_on_bus (G_GNUC_UNUSED GstBus *bus, GstMessage *msg, gpointer user_data)
{
  Demo *d = user_data;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT: {
      const GstStructure *s = gst_message_get_structure (msg);

      if (gst_structure_has_name (s, "ssan-testsrc-clip"))
        demo_on_clip (d, s);
      else if (gst_structure_has_name (s, "ssan-action"))
        demo_on_action (d, s);
      break;
    }
    case GST_MESSAGE_ERROR: {
      GError *err = NULL;
      gchar *dbg = NULL;

      gst_message_parse_error (msg, &err, &dbg);
      g_printerr ("ssan-demo: error from %s: %s\n%s\n",
          GST_OBJECT_NAME (msg->src), err->message, dbg ? dbg : "");
      g_clear_error (&err);
      g_free (dbg);
      d->exit_code = 1;
      g_main_loop_quit (d->loop);
      break;
    }
    case GST_MESSAGE_EOS:
      g_main_loop_quit (d->loop);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

/* Streaming thread: keeps one frame in every `sheet_every` for the sheet. */
static GstFlowReturn
demo_on_sample (GstAppSink *sink, gpointer user_data)
{
  Demo *d = user_data;
  GstSample *sample = gst_app_sink_pull_sample (sink);
  GstBuffer *buf;
  GstMapInfo map;
  guint64 i = d->frames++;

  if (!sample)
    return GST_FLOW_EOS;

  buf = gst_sample_get_buffer (sample);
  if (i % d->sheet_every == d->sheet_every - 1 && d->sheet_cells < SHEET_MAX
      && gst_buffer_map (buf, &map, GST_MAP_READ)) {
    gint c = d->sheet_cells++, y;
    guint8 *dst = cairo_image_surface_get_data (d->sheet);
    gint dstride = cairo_image_surface_get_stride (d->sheet);

    cairo_surface_flush (d->sheet);
    for (y = 0; y < CELL_H && (gsize)(y + 1) * CELL_W * 4 <= map.size; y++)
      memcpy (dst + (gsize)((c / SHEET_COLS) * CELL_H + y) * dstride
                  + (gsize)(c % SHEET_COLS) * CELL_W * 4,
          map.data + (gsize)y * CELL_W * 4, CELL_W * 4);
    cairo_surface_mark_dirty (d->sheet);
    gst_buffer_unmap (buf, &map);
  }
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

static gboolean
demo_on_sigint (gpointer user_data)
{
  Demo *d = user_data;

  g_printerr ("\nssan-demo: interrupted, finishing the files\n");
  gst_element_send_event (d->pipeline, gst_event_new_eos ());
  return G_SOURCE_CONTINUE;
}

static gchar *
demo_source_desc (const gchar *source)
{
  if (g_str_has_prefix (source, "/dev/video"))
    return g_strdup_printf ("v4l2src device=%s ! videoconvert", source);
  if (gst_uri_is_valid (source))
    return g_strdup_printf ("uridecodebin uri=\"%s\" ! videoconvert", source);
  {
    gchar *uri = gst_filename_to_uri (source, NULL);
    gchar *desc
        = g_strdup_printf ("uridecodebin uri=\"%s\" ! videoconvert", uri);

    g_free (uri);
    return desc;
  }
}

static void
demo_report (Demo *d)
{
  gint c;

  if (!d->synthetic || d->seen == 0)
    return;
  g_print ("\nper class:\n");
  for (c = 0; c < MAX_CLASSES; c++)
    if (d->per_class_total[c])
      g_print ("  %-28s %2d/%2d\n", d->class_names[c] ? d->class_names[c] : "?",
          d->per_class_ok[c], d->per_class_total[c]);
  /* classes 2p and 2p+1 of ssantestsrc are each other played backwards */
  static const char *const pair_names[]
      = { "moving left/right", "moving up/down", "approaching/receding",
          "rotating cw/ccw", "appearing/disappearing" };

  g_print ("reversal pairs:\n");
  for (c = 0; c < 10; c += 2)
    if (d->per_class_total[c] + d->per_class_total[c + 1])
      g_print ("  %-28s %2d/%2d = %.1f %%\n", pair_names[c / 2],
          d->per_class_ok[c] + d->per_class_ok[c + 1],
          d->per_class_total[c] + d->per_class_total[c + 1],
          100.0 * (d->per_class_ok[c] + d->per_class_ok[c + 1])
              / (d->per_class_total[c] + d->per_class_total[c + 1]));
  g_print ("accuracy: %d/%d clips = %.1f %%\n", d->ok, d->seen,
      100.0 * d->ok / d->seen);
}

int
main (int argc, char **argv)
{
  gchar *model = NULL;
  gchar *output = g_strdup ("demo.webm");
  gchar *sheet_path = g_strdup ("demo-contact.png");
  gchar *source = NULL, *list = NULL, *data_root = NULL;
  gchar *twin = NULL;
  gboolean no_twin = FALSE;
  gint clips = 22, clip_frames = 32, width = 640, height = 480, threads = 0;
  gint seed = 900001;
  gboolean eval = FALSE, vp8 = FALSE;
  GOptionEntry entries[] = { { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
                                 "Model file", "FILE" },
    { "source", 's', 0, G_OPTION_ARG_STRING, &source,
        "Video file, URI or /dev/videoN instead of synthetic clips", "SRC" },
    { "clips", 'n', 0, G_OPTION_ARG_INT, &clips, "Synthetic clips", "N" },
    { "clip-frames", 0, 0, G_OPTION_ARG_INT, &clip_frames, "Frames per clip",
        "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed,
        "ssantestsrc seed (default: one never used in training)", "S" },
    { "width", 0, 0, G_OPTION_ARG_INT, &width, "Synthetic frame width", "W" },
    { "height", 0, 0, G_OPTION_ARG_INT, &height, "Synthetic frame height",
        "H" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "Engine threads (0: all)",
        "N" },
    { "eval", 0, 0, G_OPTION_ARG_NONE, &eval,
        "Only score the clips: no overlay, video or contact sheet", NULL },
    { "vp8", 0, 0, G_OPTION_ARG_NONE, &vp8,
        "Encode the clips to VP8/WebM and decode them before ssanaction",
        NULL },
    { "list", 'l', 0, G_OPTION_ARG_FILENAME, &list,
        "With --eval: labelled video files, 'path label' per line "
        "(mmaction2's format)",
        "FILE" },
    { "data-root", 0, 0, G_OPTION_ARG_FILENAME, &data_root,
        "Folder the --list paths are relative to (default: the list's)",
        "DIR" },
    { "twin", 0, 0, G_OPTION_ARG_FILENAME, &twin,
        "The twin's scorer beside the element's figures", "SCRIPT" },
    { "no-twin", 0, 0, G_OPTION_ARG_NONE, &no_twin,
        "Do not run the PyTorch twin on the --list clips", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "WebM output", "FILE" },
    { "contact-sheet", 0, 0, G_OPTION_ARG_FILENAME, &sheet_path,
        "PNG contact sheet of annotated frames", "FILE" },
    G_OPTION_ENTRY_NULL };
  GOptionContext *octx = g_option_context_new (
      "- recognise actions, "
      "write an annotated WebM and a PNG contact sheet");
  GError *err = NULL;
  Demo d = { 0 };
  gchar *src_desc, *win_opts, *desc;
  gchar *out_desc;
  GstElement *sink;
  GstAppSinkCallbacks cbs = { .new_sample = demo_on_sample };
  GstBus *bus;

  g_option_context_add_main_entries (octx, entries, NULL);
  g_option_context_add_group (octx, gst_init_get_option_group ());
  if (!g_option_context_parse (octx, &argc, &argv, &err)) {
    g_printerr ("ssan-demo: %s\n", err->message);
    return 2;
  }
  g_option_context_free (octx);
  if (model == NULL)
    model = g_strdup (
        g_file_test ("models/ssan-demo.safetensors", G_FILE_TEST_EXISTS)
            ? "models/ssan-demo.safetensors"
            : SSAN_MODELS_DIR "/ssan-demo.safetensors");
  if (twin == NULL)
    twin = g_strdup (g_file_test (SSAN_SOURCE_DIR "/tools/ssan_eval_twin.py",
                         G_FILE_TEST_EXISTS)
                         ? SSAN_SOURCE_DIR "/tools/ssan_eval_twin.py"
                         : SSAN_PYTHON_DIR "/ssan_eval_twin.py");
  if (list) {
    gint rc;

    if (!eval || source) {
      g_printerr ("ssan-demo: --list needs --eval (and no --source)\n");
      return 2;
    }
    rc = ssan_demo_eval_list (
        list, data_root, model, threads, no_twin ? NULL : twin);
    g_free (list);
    g_free (data_root);
    g_free (twin);
    g_free (model);
    g_free (output);
    g_free (sheet_path);
    return rc;
  }
  g_free (twin);
  g_free (data_root);
  if (clips < 1 || clip_frames < 1 || width < 16 || height < 16) {
    g_printerr ("ssan-demo: --clips, --clip-frames must be >= 1 and the size "
                ">= 16x16\n");
    return 2;
  }

  d.synthetic = source == NULL;
  d.clips = clips;
  d.clip_frames = clip_frames;
  d.truth_start = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  d.truth_class = g_array_new (FALSE, FALSE, sizeof (gint));
  d.truth_label = g_ptr_array_new_with_free_func (g_free);
  d.sheet_every = eval ? G_MAXUINT : d.synthetic ? (guint)clip_frames : 30;
  d.sheet = cairo_image_surface_create (CAIRO_FORMAT_RGB24, SHEET_COLS * CELL_W,
      ((MIN (d.synthetic ? clips : SHEET_MAX, SHEET_MAX) + SHEET_COLS - 1)
          / SHEET_COLS)
          * CELL_H);

  /* Synthetic clips: windows aligned to clips, one result per clip. */
  if (d.synthetic)
    src_desc = g_strdup_printf (
        "ssantestsrc seed=%d clip-frames=%d "
        "num-buffers=%d ! video/x-raw,width=%d,height=%d,framerate=30/1%s",
        seed, clip_frames, clips * clip_frames, width, height,
        vp8 ? " ! videoconvert ! vp8enc deadline=1 target-bitrate=2000000 ! "
              "webmmux streamable=true ! matroskademux ! vp8dec ! videoconvert"
            : "");
  else
    src_desc = demo_source_desc (source);
  win_opts = d.synthetic ? g_strdup_printf (
                 "window-frames=%d stride=%d", clip_frames, clip_frames)
                         : g_strdup ("");
  if (eval)
    out_desc = g_strdup ("appsink name=sheet sync=false");
  else
    out_desc = g_strdup_printf (
        "ssanoverlay ! tee name=t "
        "t. ! queue ! videoconvert ! vp8enc deadline=1 target-bitrate=2000000 "
        "! "
        "webmmux ! filesink location=\"%s\" "
        "t. ! queue ! videoconvert ! videoscale ! video/x-raw,format=BGRx,"
        "width=%d,height=%d,pixel-aspect-ratio=1/1 ! "
        "appsink name=sheet sync=false",
        output, CELL_W, CELL_H);
  desc = g_strdup_printf ("%s ! ssanaction model=\"%s\" threads=%d %s ! %s",
      src_desc, model, threads, win_opts, out_desc);
  g_free (out_desc);
  g_free (src_desc);
  g_free (win_opts);

  d.pipeline = gst_parse_launch (desc, &err);
  if (!d.pipeline) {
    g_printerr ("ssan-demo: cannot build the pipeline: %s\n", err->message);
    return 1;
  }
  g_print ("pipeline: %s\n\n", desc);
  g_free (desc);

  sink = gst_bin_get_by_name (GST_BIN (d.pipeline), "sheet");
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &cbs, &d, NULL);
  gst_object_unref (sink);

  d.loop = g_main_loop_new (NULL, FALSE);
  bus = gst_element_get_bus (d.pipeline);
  gst_bus_add_watch (bus, demo_on_bus, &d);
  g_unix_signal_add (SIGINT, demo_on_sigint, &d);

  if (gst_element_set_state (d.pipeline, GST_STATE_PLAYING)
      == GST_STATE_CHANGE_FAILURE) {
    /* the error message on the bus says why */
    d.exit_code = 1;
  }
  g_main_loop_run (d.loop);
  gst_element_set_state (d.pipeline, GST_STATE_NULL);
  g_print ("%" G_GUINT64_FORMAT " frames\n", d.frames);

  demo_report (&d);
  if (d.sheet_cells > 0
      && cairo_surface_write_to_png (d.sheet, sheet_path)
             == CAIRO_STATUS_SUCCESS)
    g_print ("wrote %s and %s (%d annotated frames)\n", output, sheet_path,
        d.sheet_cells);

  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (d.pipeline);
  g_main_loop_unref (d.loop);
  cairo_surface_destroy (d.sheet);
  g_array_free (d.truth_start, TRUE);
  g_array_free (d.truth_class, TRUE);
  g_ptr_array_free (d.truth_label, TRUE);
  for (gint c = 0; c < MAX_CLASSES; c++)
    g_free (d.class_names[c]);
  g_free (model);
  g_free (output);
  g_free (sheet_path);
  g_free (source);
  return d.exit_code;
}
