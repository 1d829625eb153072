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
 * @top_ids: class ids, most probable first
 * @top_labels: class names, most probable first
 * @top_scores: their probabilities after smoothing
 * @window_start: PTS of the first frame of the window
 * @window_end: PTS of the last frame of the window
 * @window_index: 0-based index of the window in the stream (since the last
 *   flush, DISCONT or caps change)
 * @inference_time: wall time the engine took for the window, in ns
 *
 * One immutable result, reference counted and shared by the metas of every
 * buffer that carries it (so attaching it costs no allocation per frame).
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
} GstSsanActionResult;

#define GST_TYPE_SSAN_ACTION_RESULT (gst_ssan_action_result_get_type ())
GType gst_ssan_action_result_get_type (void);

/* gst_ssan_action_result_new: copies every array and string into one
 * allocation.  @label is taken from @top_labels at the entry whose id is
 * @class_id (which must be among @top_ids), or "" when @class_id is -1. */
GstSsanActionResult *gst_ssan_action_result_new (gint class_id,
    gdouble confidence, guint n_top, const gint *top_ids,
    const gchar *const *top_labels, const gdouble *top_scores,
    GstClockTime window_start, GstClockTime window_end, guint64 window_index,
    GstClockTime inference_time);
GstSsanActionResult *gst_ssan_action_result_ref (GstSsanActionResult *result);
void gst_ssan_action_result_unref (GstSsanActionResult *result);

/**
 * GstSsanActionMeta:
 * @meta: parent #GstMeta
 * @result: (transfer none): the latest result when this buffer left
 *   ssanaction; the meta holds a reference
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

#define gst_buffer_get_ssan_action_meta(b)                                     \
  ((GstSsanActionMeta *)gst_buffer_get_meta (                                  \
      (b), GST_SSAN_ACTION_META_API_TYPE))

G_END_DECLS

#endif /* __GST_SSAN_ACTION_META_H__ */
