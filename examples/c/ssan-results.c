/* Reads gst-ssan's action results from C, two ways: a pad probe reading
 * the GstSsanActionMeta of each buffer, and the bus's "ssan-action"
 * element messages.  Prints every result once from each path, probe
 * results first; examples/python/ssan-results.py prints the same lines.
 * The probe also prints the ground truth ssantestsrc attaches (its
 * GstSsanClipMeta, one per actor) once per clip, when there is one.
 *
 *   cc ssan-results.c $(pkg-config --cflags --libs gstssanmeta-1.0) \
 *       -o ssan-results
 *   GST_PLUGIN_PATH=build/plugin ./ssan-results --model
 * models/ssan-demo.safetensors
 */
#include <gst/gst.h>
#include <gst/ssan/gstssanactionmeta.h>
#include <gst/ssan/gstssanclipmeta.h>

#include <stdlib.h>

typedef struct {
  GString *lines;   /* probe lines */
  GString *truth;   /* ground-truth lines */
  GHashTable *seen; /* "element/result-id" and "clip/index" printed */
} Probe;

static void
append_line (GString *out, const gchar *path, const gchar *element,
    guint64 result_id, guint64 window_index, gint class_id, const gchar *label,
    gdouble confidence, const gchar *const *labels, guint n)
{
  guint i;

  g_string_append_printf (out,
      "%s %s result %" G_GUINT64_FORMAT " window %" G_GUINT64_FORMAT
      " class %d %s %.6f [",
      path, element, result_id, window_index, class_id, label[0] ? label : "-",
      confidence);
  for (i = 0; i < n; i++)
    g_string_append_printf (out, "%s%s", i ? "," : "", labels[i]);
  g_string_append (out, "]\n");
}

static GstPadProbeReturn
on_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Probe *probe = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  gpointer state = NULL;
  GstMeta *meta;

  /* one meta per ssanaction element; the same result rides on every
   * buffer until the element's next one */
  while ((meta = gst_buffer_iterate_meta_filtered (
              buf, &state, GST_SSAN_ACTION_META_API_TYPE))) {
    const GstSsanActionResult *r = ((GstSsanActionMeta *)meta)->result;
    gchar *key
        = g_strdup_printf ("%s/%" G_GUINT64_FORMAT, r->element, r->result_id);

    if (!g_hash_table_add (probe->seen, key))
      continue;
    append_line (probe->lines, "probe", r->element, r->result_id,
        r->window_index, r->class_id, r->label, r->confidence, r->top_labels,
        r->n_top);
  }

  /* ssantestsrc's ground truth, if the buffer carries it: one clip meta
   * per actor, printed once per clip */
  {
    GList *clips = gst_buffer_get_ssan_clip_metas (buf), *l;

    for (l = clips; l; l = l->next) {
      const GstSsanClipMeta *c = l->data;
      gchar *key = g_strdup_printf ("clip/%" G_GUINT64_FORMAT, c->clip_index);

      if (!g_hash_table_add (probe->seen, key))
        continue;
      g_string_append_printf (probe->truth,
          "truth clip %" G_GUINT64_FORMAT
          " class %d %s frames %u start %" G_GUINT64_FORMAT
          " end %" G_GUINT64_FORMAT "\n",
          c->clip_index, c->class_id, c->label, c->n_frames, c->clip_start,
          c->clip_end);
    }
    g_list_free (clips);
  }
  return GST_PAD_PROBE_OK;
}

static void
append_bus_line (GString *out, const GstStructure *s)
{
  const GValue *labels = gst_structure_get_value (s, "labels");
  guint n = gst_value_array_get_size (labels), i;
  const gchar **names = g_new0 (const gchar *, n + 1);
  guint64 result_id = 0, window_index = 0;
  gint class_id = 0;
  gdouble confidence = 0;

  for (i = 0; i < n; i++)
    names[i] = g_value_get_string (gst_value_array_get_value (labels, i));
  gst_structure_get (s, "result-id", G_TYPE_UINT64, &result_id, "window-index",
      G_TYPE_UINT64, &window_index, "class-id", G_TYPE_INT, &class_id,
      "confidence", G_TYPE_DOUBLE, &confidence, NULL);
  append_line (out, "bus", gst_structure_get_string (s, "element"), result_id,
      window_index, class_id, gst_structure_get_string (s, "label"), confidence,
      names, n);
  g_free (names);
}

int
main (int argc, char **argv)
{
  gchar *model = NULL;
  gint frames = 96, seed = 7;
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, "model file", "FILE" },
    { "frames", 0, 0, G_OPTION_ARG_INT, &frames, "frames (96)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "ssantestsrc seed (7)", "S" },
    G_OPTION_ENTRY_NULL,
  };
  GOptionContext *ctx = g_option_context_new ("- print gst-ssan results");
  GError *err = NULL;
  Probe probe = { g_string_new (NULL), g_string_new (NULL),
    g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL) };
  GString *bus_lines = g_string_new (NULL);
  GstElement *pipeline, *sink;
  GstPad *pad;
  GstBus *bus;
  gchar *desc;
  gint ret = 0;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &err) || model == NULL) {
    g_printerr ("%s\n", err ? err->message : "--model is required");
    return 2;
  }
  g_option_context_free (ctx);

  desc = g_strdup_printf (
      "ssantestsrc seed=%d num-buffers=%d ! "
      "video/x-raw,width=160,height=120 ! ssanaction "
      "name=action model=\"%s\" threads=1 ! fakesink name=sink",
      seed, frames, model);
  pipeline = gst_parse_launch (desc, &err);
  g_free (desc);
  if (pipeline == NULL) {
    g_printerr ("%s\n", err->message);
    return 1;
  }
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, &probe, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);

  bus = gst_element_get_bus (pipeline);
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING)
      == GST_STATE_CHANGE_FAILURE) {
    g_printerr ("could not start the pipeline\n");
    return 1;
  }
  for (;;) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
        GST_MESSAGE_ELEMENT | GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    const GstStructure *s;

    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      gst_message_parse_error (msg, &err, NULL);
      g_printerr ("error: %s\n", err->message);
      g_clear_error (&err);
      gst_message_unref (msg);
      ret = 1;
      break;
    }
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
      gst_message_unref (msg);
      break;
    }
    s = gst_message_get_structure (msg);
    if (s && gst_structure_has_name (s, "ssan-action"))
      append_bus_line (bus_lines, s);
    gst_message_unref (msg);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);

  if (ret == 0)
    g_print ("%s%s%s", probe.lines->str, probe.truth->str, bus_lines->str);

  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_string_free (probe.lines, TRUE);
  g_string_free (probe.truth, TRUE);
  g_string_free (bus_lines, TRUE);
  g_hash_table_unref (probe.seen);
  g_free (model);
  return ret;
}
