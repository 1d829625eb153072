/* ssan-demo --eval --list: top-1/top-5 of a model on labelled video files,
 * measured through ssanaction, with the PyTorch twin's figure on the same
 * clips beside it (tools/ssan_eval_twin.py).
 *
 * Protocol: one window per clip spanning the whole clip (window-frames =
 * stride = the clip's frame count, counted in a first decode), so the
 * network sees the centre frames of T equal segments of the clip — TSN's
 * test protocol (spec §4) with the element's own preprocessing (§5).  The
 * list is mmaction2's format (`path label` per line, label an index into
 * the model's labels or a class name without spaces; paths relative to
 * --data-root, else to the list's folder), as tools/train.py reads it. */
#include "ssan-demo-eval.h"

#include "ssan/ssan.h"

#include <gst/gst.h>
#include <stdio.h>
#include <string.h>

#define TOP_K 5
#define MAX_WINDOW 4096

typedef struct {
  gchar *path;
  gint label;
  gint pred[TOP_K]; /* element: top-k class ids, -1 where absent */
  gint twin;        /* twin top-1, -1 none */
  gboolean twin_top5, done;
} Clip;

static void
clip_free (gpointer p)
{
  Clip *c = p;

  g_free (c->path);
  g_free (c);
}

static gint
label_index (const ssan_info *info, const gchar *s)
{
  gint i;
  gchar *end = NULL;
  guint64 v;

  if (g_ascii_isdigit (s[0])) {
    v = g_ascii_strtoull (s, &end, 10);
    if (*end == '\0')
      return v < (guint64)info->num_classes ? (gint)v : -1;
  }
  for (i = 0; i < info->num_classes; i++)
    if (strcmp (info->labels[i], s) == 0)
      return i;
  return -1;
}

static GPtrArray *
read_list (const gchar *list, const gchar *root, const ssan_info *info)
{
  gchar *text = NULL, **lines, *dir;
  GError *err = NULL;
  GPtrArray *clips;
  gint n;

  if (!g_file_get_contents (list, &text, NULL, &err)) {
    g_printerr ("ssan-demo: list %s: %s\n", list, err->message);
    g_clear_error (&err);
    return NULL;
  }
  dir = root ? g_strdup (root) : g_path_get_dirname (list);
  clips = g_ptr_array_new_with_free_func (clip_free);
  lines = g_strsplit (text, "\n", -1);
  for (n = 0; lines[n]; n++) {
    gchar *line = g_strstrip (lines[n]), *sp;
    Clip *c;
    gint k;

    if (line[0] == '\0' || line[0] == '#')
      continue;
    sp = line + strlen (line);
    while (sp > line && !g_ascii_isspace (sp[-1]))
      sp--;
    if (sp == line) {
      g_printerr (
          "ssan-demo: list %s, line %d: expected 'path label'\n", list, n + 1);
      goto fail;
    }
    k = label_index (info, sp);
    if (k < 0) {
      g_printerr ("ssan-demo: list %s, line %d: label '%s' is not one of the "
                  "model's %d classes\n",
          list, n + 1, sp, info->num_classes);
      goto fail;
    }
    sp[-1] = '\0';
    c = g_new0 (Clip, 1);
    c->path = g_build_filename (dir, g_strchomp (line), NULL);
    c->label = k;
    c->twin = -1;
    g_ptr_array_add (clips, c);
  }
  if (clips->len == 0) {
    g_printerr ("ssan-demo: list %s has no videos\n", list);
    goto fail;
  }
  g_strfreev (lines);
  g_free (text);
  g_free (dir);
  return clips;

fail:
  g_strfreev (lines);
  g_free (text);
  g_free (dir);
  g_ptr_array_free (clips, TRUE);
  return NULL;
}

static GstPadProbeReturn
count_buffer (G_GNUC_UNUSED GstPad *pad, G_GNUC_UNUSED GstPadProbeInfo *info,
    gpointer user_data)
{
  (*(gint64 *)user_data)++;
  return GST_PAD_PROBE_OK;
}

typedef struct {
  const ssan_info *info;
  Clip *clip;
} Result;

/* The first ssan-action message of the clip's one window: top-k labels to
 * class ids. */
static void
on_action (const GstStructure *s, Result *r)
{
  const GValue *labels;
  Clip *c = r->clip;
  guint i, n;

  if (!gst_structure_has_name (s, "ssan-action") || c->done)
    return;
  c->done = TRUE;
  labels = gst_structure_get_value (s, "labels");
  if (!labels || !GST_VALUE_HOLDS_ARRAY (labels))
    return;
  n = MIN (gst_value_array_get_size (labels), TOP_K);
  for (i = 0; i < n; i++) {
    const GValue *v = gst_value_array_get_value (labels, i);
    if (G_VALUE_HOLDS_STRING (v))
      c->pred[i] = label_index (r->info, g_value_get_string (v));
  }
}

/* Runs the pipeline to EOS, handing element messages to on_action when r
 * is set.  Returns FALSE with *why set on an error. */
static gboolean
run_pipeline (GstElement *pipe, Result *r, gchar **why)
{
  GstBus *bus = gst_element_get_bus (pipe);
  gboolean ok = TRUE;

  /* a failure to start posts its error on the bus */
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  for (;;) {
    GstMessage *m = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
        GST_MESSAGE_ERROR | GST_MESSAGE_EOS | GST_MESSAGE_ELEMENT);

    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ELEMENT) {
      if (r)
        on_action (gst_message_get_structure (m), r);
      gst_message_unref (m);
      continue;
    }
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR) {
      GError *e = NULL;

      gst_message_parse_error (m, &e, NULL);
      *why = g_strdup (e->message);
      g_clear_error (&e);
      ok = FALSE;
    }
    gst_message_unref (m);
    break;
  }
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (bus);
  return ok;
}

static GstElement *
clip_pipeline (const gchar *desc, const gchar *path)
{
  GstElement *pipe = gst_parse_launch (desc, NULL), *src;

  if (!pipe)
    return NULL;
  src = gst_bin_get_by_name (GST_BIN (pipe), "src");
  g_object_set (src, "location", path, NULL);
  gst_object_unref (src);
  return pipe;
}

static gint64
count_frames (const gchar *path, gchar **why)
{
  GstElement *pipe = clip_pipeline (
      "filesrc name=src ! decodebin ! videoconvert ! fakesink name=sink", path);
  GstElement *sink;
  GstPad *pad;
  gint64 n = 0;

  if (!pipe) {
    *why = g_strdup ("cannot build the decoding pipeline");
    return -1;
  }
  sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, &n, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);
  if (!run_pipeline (pipe, NULL, why))
    n = -1;
  gst_object_unref (pipe);
  return n;
}

static gboolean
eval_clip (Clip *c, const ssan_info *info, const gchar *model, gint threads,
    gint64 frames, gchar **why)
{
  gint64 L = MIN (frames, MAX_WINDOW);
  gchar *desc = g_strdup_printf (
      "filesrc name=src ! decodebin ! videoconvert ! ssanaction "
      "model=\"%s\" threads=%d window-frames=%" G_GINT64_FORMAT
      " stride=%" G_GINT64_FORMAT " top-k=%d ! fakesink",
      model, threads, L, L, TOP_K);
  GstElement *pipe = clip_pipeline (desc, c->path);
  Result r = { info, c };
  gboolean ok;

  g_free (desc);
  if (!pipe) {
    *why = g_strdup ("cannot build the pipeline");
    return FALSE;
  }
  ok = run_pipeline (pipe, &r, why);
  gst_object_unref (pipe);
  if (ok && !c->done) {
    *why = g_strdup ("the element gave no result");
    ok = FALSE;
  }
  return ok;
}

/* The twin's top-5 per clip (tools/ssan_eval_twin.py); FALSE if it could
 * not run (its reason printed). */
static gboolean
run_twin (GPtrArray *clips, const gchar *twin, const gchar *model,
    const gchar *list, const gchar *root)
{
  const gchar *argv[10] = { "/usr/bin/python3", twin, "--model", model,
    "--list", list, NULL, NULL, NULL };
  gchar *out = NULL, *err = NULL, **lines;
  gint status = 0, i;
  GError *e = NULL;

  if (root) {
    argv[6] = "--data-root";
    argv[7] = root;
  }
  if (!g_spawn_sync (NULL, (gchar **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
          &out, &err, &status, &e)
      || !g_spawn_check_wait_status (status, &e)) {
    g_print ("twin: not run (%s%s%s)\n", e->message, err && *err ? ": " : "",
        err ? g_strstrip (err) : "");
    g_clear_error (&e);
    g_free (out);
    g_free (err);
    return FALSE;
  }
  lines = g_strsplit (out, "\n", -1);
  for (i = 0; lines[i]; i++) {
    gchar **f = g_strsplit (lines[i], " ", -1);
    guint64 k;
    gint j;

    if (f[0] && f[1] && strcmp (f[1], "skip") != 0
        && (k = g_ascii_strtoull (f[0], NULL, 10)) < clips->len) {
      Clip *c = g_ptr_array_index (clips, k);
      c->twin = (gint)g_ascii_strtoll (f[1], NULL, 10);
      for (j = 1; f[j] && j <= TOP_K; j++)
        if (g_ascii_strtoll (f[j], NULL, 10) == c->label)
          c->twin_top5 = TRUE;
    }
    g_strfreev (f);
  }
  g_strfreev (lines);
  g_free (out);
  g_free (err);
  return TRUE;
}

static void
report (GPtrArray *clips, const ssan_info *info, gboolean twin, gint skipped)
{
  gint C = info->num_classes, i, j, n = 0, top1 = 0, top5 = 0, t1 = 0, t5 = 0;
  gint tn = 0, agree = 0;
  gint *conf = g_new0 (gint, (gsize)C * C);
  gint *tot = g_new0 (gint, C), *ok1 = g_new0 (gint, C),
       *ok5 = g_new0 (gint, C);
  gint *tw = g_new0 (gint, C);

  for (i = 0; i < (gint)clips->len; i++) {
    Clip *c = g_ptr_array_index (clips, i);
    gboolean in5 = FALSE;

    if (!c->done)
      continue;
    for (j = 0; j < TOP_K; j++)
      in5 |= c->pred[j] == c->label;
    n++;
    tot[c->label]++;
    top1 += c->pred[0] == c->label;
    ok1[c->label] += c->pred[0] == c->label;
    top5 += in5;
    ok5[c->label] += in5;
    if (c->pred[0] >= 0)
      conf[c->label * C + c->pred[0]]++;
    if (twin && c->twin >= 0) {
      tn++;
      t1 += c->twin == c->label;
      t5 += c->twin_top5;
      tw[c->label] += c->twin == c->label;
      agree += c->twin == c->pred[0];
    }
  }
  g_print ("\nper class (element; twin top-1 beside it):\n");
  g_print ("  %-3s %-28s %6s %14s %14s %14s\n", "id", "class", "clips", "top-1",
      "top-5", "twin top-1");
  for (i = 0; i < C; i++) {
    if (!tot[i])
      continue;
    g_print ("  %-3d %-28s %6d %6d (%5.1f%%) %6d (%5.1f%%)", i, info->labels[i],
        tot[i], ok1[i], 100.0 * ok1[i] / tot[i], ok5[i],
        100.0 * ok5[i] / tot[i]);
    if (twin)
      g_print (" %6d (%5.1f%%)", tw[i], 100.0 * tw[i] / tot[i]);
    g_print ("\n");
  }
  g_print ("confusion (element; rows: true class id, columns: predicted):\n");
  g_print ("      ");
  for (j = 0; j < C; j++)
    g_print (" %4d", j);
  g_print ("\n");
  for (i = 0; i < C; i++) {
    if (!tot[i])
      continue;
    g_print ("  %3d ", i);
    for (j = 0; j < C; j++)
      g_print (" %4d", conf[i * C + j]);
    g_print ("\n");
  }
  if (skipped)
    g_print ("%d clip(s) skipped (see the warnings above)\n", skipped);
  if (n > 0)
    g_print ("top-5 %.1f %% over %d clips\n", 100.0 * top5 / n, n);
  if (twin && tn > 0)
    g_print ("twin (tools/ssan_eval_twin.py, same clips and frame indices, "
             "GStreamer videoscale + centre crop): top-1 %.1f %%, top-5 %.1f "
             "%% over %d clips; agrees with the element on %d/%d\n",
        100.0 * t1 / tn, 100.0 * t5 / tn, tn, agree, tn);
  g_print ("top-1 %.1f %% over %d clips\n", n ? 100.0 * top1 / n : 0.0, n);
  g_free (conf);
  g_free (tot);
  g_free (ok1);
  g_free (ok5);
  g_free (tw);
}

int
ssan_demo_eval_list (const gchar *list, const gchar *root,
    const gchar *model_path, gint threads, const gchar *twin)
{
  ssan_error err;
  ssan_model *model = ssan_model_load (model_path, &err);
  const ssan_info *info;
  GPtrArray *clips;
  gint i, skipped = 0, T;
  gboolean have_twin = FALSE;

  if (!model) {
    g_printerr ("ssan-demo: %s\n", err.msg);
    return 1;
  }
  info = ssan_model_get_info (model);
  T = info->segments;
  clips = read_list (list, root, info);
  if (!clips) {
    ssan_model_free (model);
    return 1;
  }
  g_print ("protocol: one window per clip spanning the whole clip "
           "(window-frames = stride = its frame count, at most %d), the "
           "centre frames of T = %d equal segments (TSN test protocol, spec "
           "section 4), through ssanaction with its own preprocessing (section "
           "5)\n\n",
      MAX_WINDOW, T);
  for (i = 0; i < (gint)clips->len; i++) {
    Clip *c = g_ptr_array_index (clips, i);
    gchar *why = NULL;
    gint64 frames = count_frames (c->path, &why);
    gint j;

    for (j = 0; j < TOP_K; j++)
      c->pred[j] = -1;
    if (frames >= 0 && frames < T)
      why = g_strdup_printf (
          "%" G_GINT64_FORMAT " frames, fewer than T = %d", frames, T);
    if (why == NULL)
      eval_clip (c, info, model_path, threads, frames, &why);
    if (why != NULL) {
      g_printerr ("warning: skipped %s: %s\n", c->path, why);
      g_free (why);
      skipped++;
      continue;
    }
    g_print ("[%d/%u] %s: true %s, predicted %s  %s\n", i + 1, clips->len,
        c->path, info->labels[c->label],
        c->pred[0] >= 0 ? info->labels[c->pred[0]] : "(none)",
        c->pred[0] == c->label ? "ok" : "WRONG");
  }
  if (twin)
    have_twin = run_twin (clips, twin, model_path, list, root);
  report (clips, info, have_twin, skipped);
  g_ptr_array_free (clips, TRUE);
  ssan_model_free (model);
  return 0;
}
