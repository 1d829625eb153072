/* Built by tests/check-pkgconfig.sh with nothing but
 * `pkg-config --cflags --libs gstssanmeta-1.0`, as an application would:
 * the documented include and calls must compile, link and work. */
#include <gst/ssan/gstssanactionmeta.h>
#include <gst/ssan/gstssanclipmeta.h>

int
main (int argc, char **argv)
{
  static const gint ids[1] = { 2 };
  static const gchar *labels[1] = { "waving" };
  static const gdouble scores[1] = { 0.9 };
  GstSsanActionResult *r;
  GstSsanActionMeta *m;
  GstBuffer *buf;
  int ok;

  gst_init (&argc, &argv);
  r = gst_ssan_action_result_new_full (2, 0.9, 1, ids, labels, scores, 0,
      GST_SECOND, 0, GST_MSECOND, 5, "ssanaction0", "m.safetensors");
  buf = gst_buffer_new ();
  gst_buffer_add_ssan_action_meta (buf, r);
  m = gst_buffer_get_ssan_action_meta_for (buf, "ssanaction0");
  ok = m && m == gst_buffer_get_ssan_action_meta (buf)
       && m->result->class_id >= 0 && g_str_equal (m->result->label, "waving")
       && m->result->result_id == 5;
  g_print (
      "%s %.2f\n", m ? m->result->label : "-", m ? m->result->confidence : 0);
  gst_buffer_unref (buf);
  gst_ssan_action_result_unref (r);
  return ok ? 0 : 1;
}
