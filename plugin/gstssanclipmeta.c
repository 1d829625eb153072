/* GStreamer SSAN clip meta: ssantestsrc's ground truth on every buffer.
 *
 * Plain values and an interned label: adding it allocates nothing but the
 * GstMeta inside the buffer.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstssanclipmeta.h"

GST_DEBUG_CATEGORY_STATIC (gst_ssan_clip_meta_debug);
#define GST_CAT_DEFAULT gst_ssan_clip_meta_debug

GType
gst_ssan_clip_meta_api_get_type (void)
{
  static GType type = 0;

  /* No tags: the ground truth holds whatever the frame's size or format,
   * so converters and filters must keep it. */
  static const gchar *tags[] = { NULL };

  if (g_once_init_enter (&type)) {
    GType _type = gst_meta_api_type_register ("GstSsanClipMetaAPI", tags);
    GST_DEBUG_CATEGORY_INIT (gst_ssan_clip_meta_debug, "ssanclipmeta", 0,
        "SSAN clip (ground truth) meta");
    g_once_init_leave (&type, _type);
  }
  return type;
}

static gboolean
gst_ssan_clip_meta_init (GstMeta *meta, gpointer params, GstBuffer *buffer)
{
  GstSsanClipMeta *cmeta = (GstSsanClipMeta *)meta;

  cmeta->class_id = -1;
  cmeta->label = "";
  cmeta->seed = 0;
  cmeta->clip_index = 0;
  cmeta->frame_index = 0;
  cmeta->n_frames = 0;
  cmeta->clip_start = GST_CLOCK_TIME_NONE;
  cmeta->clip_end = GST_CLOCK_TIME_NONE;
  return TRUE;
}

/* The same clip's frame: a second copy of one meta onto the same buffer. */
static gboolean
gst_ssan_clip_meta_same (const GstSsanClipMeta *a, const GstSsanClipMeta *b)
{
  return a->seed == b->seed && a->clip_index == b->clip_index
         && a->frame_index == b->frame_index && a->class_id == b->class_id;
}

/* Copies and scalings alike keep the facts: they describe the whole frame
 * (or an actor's cell, whose ROI meta the scaler moves).  A buffer carries
 * one meta per actor, so each is copied as a meta of its own; only the
 * same meta copied twice onto one buffer is not doubled. */
static gboolean
gst_ssan_clip_meta_transform (GstBuffer *dest, GstMeta *meta, GstBuffer *buffer,
    GQuark type, gpointer data)
{
  GstSsanClipMeta *smeta = (GstSsanClipMeta *)meta;
  GstSsanClipMeta *dmeta;
  gpointer state = NULL;
  GstMeta *m;

  while ((m = gst_buffer_iterate_meta_filtered (
              dest, &state, GST_SSAN_CLIP_META_API_TYPE)))
    if (gst_ssan_clip_meta_same ((GstSsanClipMeta *)m, smeta))
      return TRUE;

  dmeta = (GstSsanClipMeta *)gst_buffer_add_meta (
      dest, GST_SSAN_CLIP_META_INFO, NULL);
  if (!dmeta)
    return FALSE;

  dmeta->class_id = smeta->class_id;
  dmeta->label = smeta->label;
  dmeta->seed = smeta->seed;
  dmeta->clip_index = smeta->clip_index;
  dmeta->frame_index = smeta->frame_index;
  dmeta->n_frames = smeta->n_frames;
  dmeta->clip_start = smeta->clip_start;
  dmeta->clip_end = smeta->clip_end;
  GST_TRACE (
      "copied clip meta (clip %" G_GUINT64_FORMAT ")", smeta->clip_index);
  return TRUE;
}

const GstMetaInfo *
gst_ssan_clip_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **)&info)) {
    const GstMetaInfo *mi = gst_meta_register (GST_SSAN_CLIP_META_API_TYPE,
        "GstSsanClipMeta", sizeof (GstSsanClipMeta), gst_ssan_clip_meta_init,
        NULL, gst_ssan_clip_meta_transform);
    g_once_init_leave ((GstMetaInfo **)&info, (GstMetaInfo *)mi);
  }
  return info;
}

/**
 * gst_buffer_add_ssan_clip_meta:
 * @buffer: a writable #GstBuffer
 * @class_id: the clip's class
 * @label: the class name (interned by the meta)
 * @seed: the source's seed
 * @clip_index: index of the clip in the stream
 * @frame_index: index of the frame in the clip
 * @n_frames: frames per clip
 * @clip_start: PTS of the clip's first frame
 * @clip_end: PTS of the clip's last frame
 *
 * Returns: (transfer none): the meta, or %NULL
 */
GstSsanClipMeta *
gst_buffer_add_ssan_clip_meta (GstBuffer *buffer, gint class_id,
    const gchar *label, guint64 seed, guint64 clip_index, guint frame_index,
    guint n_frames, GstClockTime clip_start, GstClockTime clip_end)
{
  GstSsanClipMeta *meta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (gst_buffer_is_writable (buffer), NULL);
  g_return_val_if_fail (label != NULL, NULL);

  meta = (GstSsanClipMeta *)gst_buffer_add_meta (
      buffer, GST_SSAN_CLIP_META_INFO, NULL);
  if (!meta)
    return NULL;
  meta->class_id = class_id;
  meta->label = g_intern_string (label);
  meta->seed = seed;
  meta->clip_index = clip_index;
  meta->frame_index = frame_index;
  meta->n_frames = n_frames;
  meta->clip_start = clip_start;
  meta->clip_end = clip_end;
  return meta;
}

/**
 * gst_buffer_get_ssan_clip_meta:
 * @buffer: a #GstBuffer
 *
 * With several actors (ssantestsrc actors > 1) a buffer carries one meta
 * per actor: this is the first one (actor 0); use
 * gst_buffer_get_ssan_clip_metas() for all of them.
 *
 * Returns: (transfer none) (nullable): the first clip meta of @buffer, or
 *   %NULL
 */
GstSsanClipMeta *
gst_buffer_get_ssan_clip_meta (GstBuffer *buffer)
{
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);

  return (GstSsanClipMeta *)gst_buffer_get_meta (
      buffer, GST_SSAN_CLIP_META_API_TYPE);
}

/**
 * gst_buffer_get_ssan_clip_metas:
 * @buffer: a #GstBuffer
 *
 * Every clip meta of @buffer, one per actor, in actor order (the order
 * ssantestsrc added them).  The metas belong to @buffer: the list is valid
 * while @buffer is and is not changed.
 *
 * Returns: (transfer container) (element-type GstSsanClipMeta): the metas;
 *   free the list with g_list_free()
 */
GList *
gst_buffer_get_ssan_clip_metas (GstBuffer *buffer)
{
  GList *metas = NULL;
  gpointer state = NULL;
  GstMeta *meta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);

  while ((meta = gst_buffer_iterate_meta_filtered (
              buffer, &state, GST_SSAN_CLIP_META_API_TYPE)))
    metas = g_list_prepend (metas, meta);
  return g_list_reverse (metas);
}
