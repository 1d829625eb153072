/* The JSON form of a GstSsanActionResult (docs/ssan-result.schema.json).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstssanjson.h"

static void
gst_ssan_json_time (JsonBuilder *b, const gchar *name, GstClockTime t)
{
  json_builder_set_member_name (b, name);
  if (GST_CLOCK_TIME_IS_VALID (t))
    json_builder_add_int_value (b, (gint64)t);
  else
    json_builder_add_null_value (b);
}

gchar *
gst_ssan_result_to_json (const GstSsanActionResult *r, GstClockTime st_start,
    GstClockTime st_end, gint64 wall_time, const gchar *source, JsonNode *tags)
{
  JsonBuilder *b = json_builder_new ();
  JsonGenerator *gen;
  JsonNode *root;
  GDateTime *dt;
  gchar *line, *stamp;
  guint i;

  /* ISO 8601 in UTC with microseconds, as gvametaconvert's timestamps */
  dt = g_date_time_new_from_unix_utc (wall_time / G_USEC_PER_SEC);
  stamp = dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S") : NULL;
  line = g_strdup_printf ("%s.%06dZ", stamp ? stamp : "1970-01-01T00:00:00",
      (gint)(wall_time % G_USEC_PER_SEC));
  g_free (stamp);
  stamp = line;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "label");
  json_builder_add_string_value (b, r->label);
  json_builder_set_member_name (b, "class-id");
  json_builder_add_int_value (b, r->class_id);
  json_builder_set_member_name (b, "confidence");
  json_builder_add_double_value (b, r->confidence);
  gst_ssan_json_time (b, "window-start", r->window_start);
  gst_ssan_json_time (b, "window-end", r->window_end);
  json_builder_set_member_name (b, "window-index");
  json_builder_add_int_value (b, (gint64)r->window_index);
  json_builder_set_member_name (b, "inference-time");
  json_builder_add_int_value (b, (gint64)r->inference_time);
  json_builder_set_member_name (b, "element");
  json_builder_add_string_value (b, r->element);
  json_builder_set_member_name (b, "result-id");
  json_builder_add_int_value (b, (gint64)r->result_id);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, r->model);
  json_builder_set_member_name (b, "labels");
  json_builder_begin_array (b);
  for (i = 0; i < r->n_top; i++)
    json_builder_add_string_value (b, r->top_labels[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "scores");
  json_builder_begin_array (b);
  for (i = 0; i < r->n_top; i++)
    json_builder_add_double_value (b, r->top_scores[i]);
  json_builder_end_array (b);
  gst_ssan_json_time (b, "stream-time", st_start);
  gst_ssan_json_time (b, "stream-time-end", st_end);
  json_builder_set_member_name (b, "timestamp");
  json_builder_add_string_value (b, stamp);
  if (source) {
    json_builder_set_member_name (b, "source");
    json_builder_add_string_value (b, source);
  }
  if (tags) {
    json_builder_set_member_name (b, "tags");
    json_builder_add_value (b, json_node_copy (tags));
  }
  json_builder_end_object (b);

  root = json_builder_get_root (b);
  gen = json_generator_new ();
  json_generator_set_root (gen, root);
  line = json_generator_to_data (gen, NULL);

  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (b);
  g_free (stamp);
  if (dt)
    g_date_time_unref (dt);
  return line;
}
