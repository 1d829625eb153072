/* GStreamer SSAN clip meta: the ground truth of ssantestsrc's frames.
 *
 * ssantestsrc attaches it to every buffer it produces: which synthetic
 * action clip the frame belongs to, and where that clip starts and ends.
 * Link with gstssanmeta-1.0 (pkg-config) and read it with
 * gst_buffer_get_ssan_clip_meta (buffer).  With several actors
 * (ssantestsrc actors=N) a buffer carries N metas, one per actor in actor
 * order:
 *
 *   GList *metas = gst_buffer_get_ssan_clip_metas (buffer), *l;
 *   for (l = metas; l; l = l->next) {
 *     GstSsanClipMeta *m = l->data;
 *     g_print ("clip %" G_GUINT64_FORMAT ": %s\n", m->clip_index, m->label);
 *   }
 *   g_list_free (metas);
 *
 * From Python (GObject introspection, GstSsan-1.0):
 * GstSsan.buffer_get_ssan_clip_metas (buf).
 */
#ifndef __GST_SSAN_CLIP_META_H__
#define __GST_SSAN_CLIP_META_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/**
 * GstSsanClipMeta:
 * @meta: parent #GstMeta
 * @class_id: class of the clip's action (index into the class list of
 *   ssantestsrc, the labels of the models trained on it)
 * @label: (transfer none): the class name, e.g. "moving left"; an interned
 *   string, valid for the life of the process
 * @seed: the source's seed
 * @clip_index: 0-based index of the clip in the stream; clip k of seed S
 *   is clip k of `ssan-synth --seed S`
 * @frame_index: 0-based index of this frame in its clip
 * @n_frames: frames per clip
 * @clip_start: PTS of the clip's first frame
 * @clip_end: PTS of the clip's last frame
 *
 * Untagged, so videoconvert, videoscale and GstVideoFilters keep it, and
 * every one of a buffer's metas (tests/test-testsrc.c).
 */
typedef struct _GstSsanClipMeta {
  GstMeta meta;
  gint class_id;
  const gchar *label;
  guint64 seed;
  guint64 clip_index;
  guint frame_index;
  guint n_frames;
  GstClockTime clip_start;
  GstClockTime clip_end;
} GstSsanClipMeta;

#define GST_SSAN_CLIP_META_API_TYPE (gst_ssan_clip_meta_api_get_type ())
#define GST_SSAN_CLIP_META_INFO (gst_ssan_clip_meta_get_info ())

GType gst_ssan_clip_meta_api_get_type (void);
const GstMetaInfo *gst_ssan_clip_meta_get_info (void);

GstSsanClipMeta *gst_buffer_add_ssan_clip_meta (GstBuffer *buffer,
    gint class_id, const gchar *label, guint64 seed, guint64 clip_index,
    guint frame_index, guint n_frames, GstClockTime clip_start,
    GstClockTime clip_end);

GstSsanClipMeta *gst_buffer_get_ssan_clip_meta (GstBuffer *buffer);
/* Every actor's meta, in actor order (a list of the buffer's metas). */
GList *gst_buffer_get_ssan_clip_metas (GstBuffer *buffer);

G_END_DECLS

#endif /* __GST_SSAN_CLIP_META_H__ */
