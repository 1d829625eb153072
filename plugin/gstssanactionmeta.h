/* GStreamer SSAN action meta: the latest action result, attached by
 * ssanaction to every buffer from its first result on.
 *
 * #include <gst/ssan/gstssanactionmeta.h>, link with gstssanmeta-1.0
 * (pkg-config), and read it, e.g. in a pad probe or appsink:
 *
 *   GstSsanActionMeta *m = gst_buffer_get_ssan_action_meta (buffer);
 *   if (m && m->result->class_id >= 0)
 *     g_print ("%s %.2f\n", m->result->label, m->result->confidence);
 *
 * A buffer carries one meta per ssanaction element it went through (two
 * models side by side give two metas).  The result of one element:
 *
 *   m = gst_buffer_get_ssan_action_meta_for (buffer, "ssanaction1");
 *
 * every one of them:
 *
 *   gpointer state = NULL;
 *   GstMeta *meta;
 *   while ((meta = gst_buffer_iterate_meta_filtered (buffer, &state,
 *               GST_SSAN_ACTION_META_API_TYPE))) {
 *     GstSsanActionResult *r = ((GstSsanActionMeta *) meta)->result;
 *     g_print ("%s: %s\n", r->element, r->label);
 *   }
 *
 * The meta API has no tags, so GstBaseTransform-based elements such as
 * videoconvert and videoscale copy it (the result describes the whole
 * frame whatever its size or format).  Copies share the result by
 * reference.
 */
#ifndef __GST_SSAN_ACTION_META_H__
#define __GST_SSAN_ACTION_META_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/**
 * GstSsanActionResult:
 * @class_id: index of the recognised class, or -1 when the (smoothed)
 *   confidence is below the element's threshold ("no action")
 * @label: class name ("" when @class_id is -1)
 * @confidence: probability of @class_id after smoothing, in [0, 1]
 *   (the top probability when @class_id is -1)
 * @n_top: number of entries in @top_labels / @top_scores / @top_ids
 * @top_ids: (array length=n_top): class ids, most probable first
 * @top_labels: (array length=n_top): class names, most probable first
 * @top_scores: (array length=n_top): their probabilities after smoothing
 * @window_start: PTS of the first frame of the window
 * @window_end: PTS of the last frame of the window
 * @window_index: 0-based index of the window in the stream (since the last
 *   flush, DISCONT or caps change)
 * @inference_time: wall time the engine took for the window, in ns
 * @result_id: 0-based count of the results the element had produced
 *   before this one: unique over the element's whole life (never reset by
 *   flushes, seeks, DISCONT, caps or state changes)
 * @element: name of the ssanaction element that produced it
 *   (its GST_OBJECT_NAME when the result was made; "" when unknown)
 * @model: the model file as set in the element's `model` property ("" when
 *   unknown)
 *
 * One immutable result, reference counted and shared by the metas of every
 * buffer that carries it (so attaching it costs no allocation per frame).
 * A boxed type: from GObject introspection (Python: GstSsan.ActionResult)
 * the scalar and string fields read directly, the top-k arrays through
 * gst_ssan_action_result_get_top_labels() and its siblings.
 */
typedef struct _GstSsanActionResult {
  gint class_id;
  const gchar *label;
  gdouble confidence;
  guint n_top;
  const gint *top_ids;
  const gchar *const *top_labels;
  const gdouble *top_scores;
  GstClockTime window_start;
  GstClockTime window_end;
  guint64 window_index;
  GstClockTime inference_time;
  guint64 result_id;
  const gchar *element;
  const gchar *model;
} GstSsanActionResult;

#define GST_TYPE_SSAN_ACTION_RESULT (gst_ssan_action_result_get_type ())
GType gst_ssan_action_result_get_type (void);

/* gst_ssan_action_result_new_full: copies every array and string into one
 * allocation.  @label is taken from @top_labels at the entry whose id is
 * @class_id (which must be among @top_ids), or "" when @class_id is -1.
 * @element and @model may be NULL (stored as "").
 * gst_ssan_action_result_new: the same with result_id 0 and no element or
 * model. */
GstSsanActionResult *gst_ssan_action_result_new_full (gint class_id,
    gdouble confidence, guint n_top, const gint *top_ids,
    const gchar *const *top_labels, const gdouble *top_scores,
    GstClockTime window_start, GstClockTime window_end, guint64 window_index,
    GstClockTime inference_time, guint64 result_id, const gchar *element,
    const gchar *model);
GstSsanActionResult *gst_ssan_action_result_new (gint class_id,
    gdouble confidence, guint n_top, const gint *top_ids,
    const gchar *const *top_labels, const gdouble *top_scores,
    GstClockTime window_start, GstClockTime window_end, guint64 window_index,
    GstClockTime inference_time);
GstSsanActionResult *gst_ssan_action_result_ref (GstSsanActionResult *result);
void gst_ssan_action_result_unref (GstSsanActionResult *result);

/* The top-k arrays with their length, for language bindings. */
const gchar *const *gst_ssan_action_result_get_top_labels (
    const GstSsanActionResult *result, guint *n_top);
const gdouble *gst_ssan_action_result_get_top_scores (
    const GstSsanActionResult *result, guint *n_top);
const gint *gst_ssan_action_result_get_top_ids (
    const GstSsanActionResult *result, guint *n_top);

/**
 * GstSsanActionMeta:
 * @meta: parent #GstMeta
 * @result: (transfer none): the latest result of the element named
 *   @result->element when this buffer left it; the meta holds a reference
 *
 * One per ssanaction element on a buffer.
 */
typedef struct _GstSsanActionMeta {
  GstMeta meta;
  GstSsanActionResult *result;
} GstSsanActionMeta;

#define GST_SSAN_ACTION_META_API_TYPE (gst_ssan_action_meta_api_get_type ())
#define GST_SSAN_ACTION_META_INFO (gst_ssan_action_meta_get_info ())

GType gst_ssan_action_meta_api_get_type (void);
const GstMetaInfo *gst_ssan_action_meta_get_info (void);

GstSsanActionMeta *gst_buffer_add_ssan_action_meta (
    GstBuffer *buffer, GstSsanActionResult *result);

GstSsanActionMeta *gst_buffer_get_ssan_action_meta (GstBuffer *buffer);
GstSsanActionMeta *gst_buffer_get_ssan_action_meta_for (
    GstBuffer *buffer, const gchar *element);
/* Every element's result on @buffer (a list of references), for bindings,
 * which cannot cast the GstMeta that gst_buffer_iterate_meta_filtered()
 * returns. */
GList *gst_buffer_get_ssan_action_results (GstBuffer *buffer);

G_END_DECLS

#endif /* __GST_SSAN_ACTION_META_H__ */
