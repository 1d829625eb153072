/* GStreamer SSAN action meta and result.
 *
 * A GstSsanActionResult is built once per evaluated window and shared, by
 * reference, by the GstSsanActionMeta of every buffer that carries it: the
 * only allocation per buffer is the GstMeta itself, inside the buffer.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstssanactionmeta.h"

#include <string.h>

GST_DEBUG_CATEGORY_STATIC (gst_ssan_action_meta_debug);
#define GST_CAT_DEFAULT gst_ssan_action_meta_debug

G_DEFINE_BOXED_TYPE (GstSsanActionResult, gst_ssan_action_result,
    gst_ssan_action_result_ref, gst_ssan_action_result_unref);

/* The result, its arrays and its strings live in one rc box so that the
 * struct's const pointers stay valid for as long as the result does. */
/**
 * gst_ssan_action_result_new_full:
 * @class_id: the recognised class, or -1
 * @confidence: its smoothed probability
 * @n_top: length of the three arrays
 * @top_ids: (array length=n_top): class ids, most probable first
 * @top_labels: (array length=n_top): their names
 * @top_scores: (array length=n_top): their probabilities
 * @window_start: PTS of the window's first frame
 * @window_end: PTS of the window's last frame
 * @window_index: window index since the last flush
 * @inference_time: ns
 * @result_id: the element's result counter
 * @element: (nullable): the element's name
 * @model: (nullable): the element's model property
 *
 * Returns: (transfer full): a new result, all arrays and strings copied
 */
GstSsanActionResult *
gst_ssan_action_result_new_full (gint class_id, gdouble confidence, guint n_top,
    const gint *top_ids, const gchar *const *top_labels,
    const gdouble *top_scores, GstClockTime window_start,
    GstClockTime window_end, guint64 window_index, GstClockTime inference_time,
    guint64 result_id, const gchar *element, const gchar *model)
{
  GstSsanActionResult *res;
  gsize size, off_ids, off_scores, off_labels, off_strings;
  const gchar *label = "";
  gchar *p;
  guint i;

  g_return_val_if_fail (
      n_top == 0 || (top_ids && top_labels && top_scores), NULL);
  g_return_val_if_fail (n_top <= 65536, NULL);
  for (i = 0; i < n_top; i++)
    g_return_val_if_fail (top_labels[i] != NULL, NULL);

  if (class_id >= 0) {
    for (i = 0; i < n_top; i++) {
      if (top_ids[i] == class_id) {
        label = top_labels[i];
        break;
      }
    }
    g_return_val_if_fail (i < n_top, NULL);
  }

  off_scores = GST_ROUND_UP_8 (sizeof (GstSsanActionResult));
  off_ids = off_scores + n_top * sizeof (gdouble);
  off_labels = GST_ROUND_UP_8 (off_ids + n_top * sizeof (gint));
  off_strings = off_labels + n_top * sizeof (gchar *);
  if (element == NULL)
    element = "";
  if (model == NULL)
    model = "";
  size = off_strings + strlen (label) + 1 + strlen (element) + 1
         + strlen (model) + 1;
  for (i = 0; i < n_top; i++)
    size += strlen (top_labels[i]) + 1;

  res = g_atomic_rc_box_alloc0 (size);
  res->class_id = class_id;
  res->confidence = confidence;
  res->n_top = n_top;
  res->window_start = window_start;
  res->window_end = window_end;
  res->window_index = window_index;
  res->inference_time = inference_time;
  res->result_id = result_id;

  {
    gdouble *scores = (gdouble *)((guint8 *)res + off_scores);
    gint *ids = (gint *)((guint8 *)res + off_ids);
    const gchar **labels = (const gchar **)((guint8 *)res + off_labels);

    p = (gchar *)res + off_strings;
    res->label = p;
    p = g_stpcpy (p, label) + 1;
    res->element = p;
    p = g_stpcpy (p, element) + 1;
    res->model = p;
    p = g_stpcpy (p, model) + 1;
    for (i = 0; i < n_top; i++) {
      scores[i] = top_scores[i];
      ids[i] = top_ids[i];
      labels[i] = p;
      p = g_stpcpy (p, top_labels[i]) + 1;
    }
    res->top_scores = scores;
    res->top_ids = ids;
    res->top_labels = labels;
  }

  return res;
}

/**
 * gst_ssan_action_result_new: (skip)
 *
 * gst_ssan_action_result_new_full() with result_id 0, no element or model.
 */
GstSsanActionResult *
gst_ssan_action_result_new (gint class_id, gdouble confidence, guint n_top,
    const gint *top_ids, const gchar *const *top_labels,
    const gdouble *top_scores, GstClockTime window_start,
    GstClockTime window_end, guint64 window_index, GstClockTime inference_time)
{
  return gst_ssan_action_result_new_full (class_id, confidence, n_top, top_ids,
      top_labels, top_scores, window_start, window_end, window_index,
      inference_time, 0, NULL, NULL);
}

/**
 * gst_ssan_action_result_ref:
 * @result: a result
 *
 * Returns: (transfer full): @result
 */
GstSsanActionResult *
gst_ssan_action_result_ref (GstSsanActionResult *result)
{
  g_return_val_if_fail (result != NULL, NULL);

  return g_atomic_rc_box_acquire (result);
}

/**
 * gst_ssan_action_result_unref:
 * @result: (transfer full): a result
 */
void
gst_ssan_action_result_unref (GstSsanActionResult *result)
{
  g_return_if_fail (result != NULL);

  g_atomic_rc_box_release (result);
}

/**
 * gst_ssan_action_result_get_top_labels:
 * @result: a result
 * @n_top: (out): the number of labels
 *
 * Returns: (array length=n_top) (transfer none): the top-k class names,
 *   most probable first
 */
const gchar *const *
gst_ssan_action_result_get_top_labels (
    const GstSsanActionResult *result, guint *n_top)
{
  g_return_val_if_fail (result != NULL, NULL);

  *n_top = result->n_top;
  return result->top_labels;
}

/**
 * gst_ssan_action_result_get_top_scores:
 * @result: a result
 * @n_top: (out): the number of scores
 *
 * Returns: (array length=n_top) (transfer none): their smoothed
 *   probabilities
 */
const gdouble *
gst_ssan_action_result_get_top_scores (
    const GstSsanActionResult *result, guint *n_top)
{
  g_return_val_if_fail (result != NULL, NULL);

  *n_top = result->n_top;
  return result->top_scores;
}

/**
 * gst_ssan_action_result_get_top_ids:
 * @result: a result
 * @n_top: (out): the number of ids
 *
 * Returns: (array length=n_top) (transfer none): their class ids
 */
const gint *
gst_ssan_action_result_get_top_ids (
    const GstSsanActionResult *result, guint *n_top)
{
  g_return_val_if_fail (result != NULL, NULL);

  *n_top = result->n_top;
  return result->top_ids;
}

GType
gst_ssan_action_meta_api_get_type (void)
{
  static GType type = 0;

  /* No tags: GstBaseTransform's default transform_meta, videoconvert and
   * videoscale copy untagged metas, and the result does not depend on the
   * pixels' size, format or orientation. */
  static const gchar *tags[] = { NULL };

  if (g_once_init_enter (&type)) {
    GType _type = gst_meta_api_type_register ("GstSsanActionMetaAPI", tags);
    GST_DEBUG_CATEGORY_INIT (
        gst_ssan_action_meta_debug, "ssanactionmeta", 0, "SSAN action meta");
    g_once_init_leave (&type, _type);
  }
  return type;
}

static gboolean
gst_ssan_action_meta_init (GstMeta *meta, gpointer params, GstBuffer *buffer)
{
  GstSsanActionMeta *ameta = (GstSsanActionMeta *)meta;

  ameta->result = NULL;
  return TRUE;
}

static void
gst_ssan_action_meta_free (GstMeta *meta, GstBuffer *buffer)
{
  GstSsanActionMeta *ameta = (GstSsanActionMeta *)meta;

  if (ameta->result)
    gst_ssan_action_result_unref (ameta->result);
  ameta->result = NULL;
}

/* Copies and scalings alike keep the result: it describes the whole frame. */
static gboolean
gst_ssan_action_meta_transform (GstBuffer *dest, GstMeta *meta,
    GstBuffer *buffer, GQuark type, gpointer data)
{
  GstSsanActionMeta *smeta = (GstSsanActionMeta *)meta;
  GstSsanActionMeta *dmeta;

  if (smeta->result == NULL)
    return TRUE;

  /* One meta per element: replace an older one from the same element. */
  dmeta = gst_buffer_get_ssan_action_meta_for (dest, smeta->result->element);
  if (dmeta) {
    if (dmeta->result)
      gst_ssan_action_result_unref (dmeta->result);
    dmeta->result = gst_ssan_action_result_ref (smeta->result);
    return TRUE;
  }

  dmeta = gst_buffer_add_ssan_action_meta (dest, smeta->result);
  if (!dmeta)
    return FALSE;

  GST_TRACE ("copied action meta (window %" G_GUINT64_FORMAT ")",
      smeta->result->window_index);
  return TRUE;
}

const GstMetaInfo *
gst_ssan_action_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **)&info)) {
    const GstMetaInfo *mi
        = gst_meta_register (GST_SSAN_ACTION_META_API_TYPE, "GstSsanActionMeta",
            sizeof (GstSsanActionMeta), gst_ssan_action_meta_init,
            gst_ssan_action_meta_free, gst_ssan_action_meta_transform);
    g_once_init_leave ((GstMetaInfo **)&info, (GstMetaInfo *)mi);
  }
  return info;
}

/**
 * gst_buffer_add_ssan_action_meta:
 * @buffer: a writable #GstBuffer
 * @result: (transfer none): the result to attach; the meta takes a reference
 *
 * Returns: (transfer none): the meta, or %NULL
 */
GstSsanActionMeta *
gst_buffer_add_ssan_action_meta (GstBuffer *buffer, GstSsanActionResult *result)
{
  GstSsanActionMeta *meta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (gst_buffer_is_writable (buffer), NULL);
  g_return_val_if_fail (result != NULL, NULL);

  meta = (GstSsanActionMeta *)gst_buffer_add_meta (
      buffer, GST_SSAN_ACTION_META_INFO, NULL);
  if (!meta)
    return NULL;
  meta->result = gst_ssan_action_result_ref (result);
  return meta;
}

/**
 * gst_buffer_get_ssan_action_meta:
 * @buffer: a #GstBuffer
 *
 * With several ssanaction elements upstream, one of their metas (use
 * gst_buffer_get_ssan_action_meta_for() or iterate with
 * gst_buffer_iterate_meta_filtered() and %GST_SSAN_ACTION_META_API_TYPE).
 *
 * Returns: (transfer none) (nullable): an action meta of @buffer, or %NULL
 */
GstSsanActionMeta *
gst_buffer_get_ssan_action_meta (GstBuffer *buffer)
{
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);

  return (GstSsanActionMeta *)gst_buffer_get_meta (
      buffer, GST_SSAN_ACTION_META_API_TYPE);
}

/**
 * gst_buffer_get_ssan_action_meta_for:
 * @buffer: a #GstBuffer
 * @element: name of an ssanaction element
 *
 * Returns: (transfer none) (nullable): the meta the ssanaction element named
 *   @element attached to @buffer, or %NULL
 */
GstSsanActionMeta *
gst_buffer_get_ssan_action_meta_for (GstBuffer *buffer, const gchar *element)
{
  gpointer state = NULL;
  GstMeta *meta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (element != NULL, NULL);

  while ((meta = gst_buffer_iterate_meta_filtered (
              buffer, &state, GST_SSAN_ACTION_META_API_TYPE))) {
    GstSsanActionMeta *ameta = (GstSsanActionMeta *)meta;

    if (ameta->result && strcmp (ameta->result->element, element) == 0)
      return ameta;
  }
  return NULL;
}

/**
 * gst_buffer_get_ssan_action_results:
 * @buffer: a #GstBuffer
 *
 * Returns: (transfer full) (element-type GstSsanActionResult): the result
 *   of every ssanaction element whose meta @buffer carries, in the order of
 *   the metas; free with g_list_free_full (list, (GDestroyNotify)
 *   gst_ssan_action_result_unref)
 */
GList *
gst_buffer_get_ssan_action_results (GstBuffer *buffer)
{
  GList *results = NULL;
  gpointer state = NULL;
  GstMeta *meta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);

  while ((meta = gst_buffer_iterate_meta_filtered (
              buffer, &state, GST_SSAN_ACTION_META_API_TYPE))) {
    GstSsanActionMeta *ameta = (GstSsanActionMeta *)meta;

    if (ameta->result)
      results = g_list_prepend (
          results, gst_ssan_action_result_ref (ameta->result));
  }
  return g_list_reverse (results);
}
