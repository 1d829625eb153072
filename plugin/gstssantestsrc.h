/* ssantestsrc: synthetic action clips (the world of include/ssan/synth.h). */
#ifndef __GST_SSAN_TEST_SRC_H__
#define __GST_SSAN_TEST_SRC_H__

#include <gst/gst.h>
#include <gst/base/gstpushsrc.h>
#include <gst/video/video.h>

#include "ssan/synth.h"

G_BEGIN_DECLS

#define GST_TYPE_SSAN_TEST_SRC (gst_ssan_test_src_get_type ())
G_DECLARE_FINAL_TYPE (
    GstSsanTestSrc, gst_ssan_test_src, GST, SSAN_TEST_SRC, GstPushSrc)

struct _GstSsanTestSrc {
  GstPushSrc parent;

  /* properties (GST_OBJECT_LOCK) */
  gchar *action; /* class name or "random" */
  guint64 seed;
  guint clip_frames;
  guint actors;

  /* streaming thread; set up in set_caps */
  GstVideoInfo info;          /* negotiated output */
  GstVideoInfo rgb_info;      /* packed RGB at the output size */
  GstVideoConverter *convert; /* rgb_info -> info, NULL when info is RGB */
  GstBuffer *rgb;             /* render target when converting */
  /* the actors' cells (see ssan_synth_layout) at the negotiated size */
  gboolean cells_valid; /* cols, rows, canvases fit n_actors and info */
  gint cols, rows;
  ssan_synth_canvas *canvases[SSAN_SYNTH_MAX_ACTORS]; /* one per actor */

  /* stream position */
  guint64 frame_count;    /* frame number of the next frame */
  guint64 frame_base;     /* frame number at the last rate change */
  GstClockTime time_base; /* PTS of frame frame_base */
  gboolean discont;       /* next buffer follows a start or seek */
  guint64 clip_index;     /* clip of the next frame */
  guint clip_frame;       /* its index in the clip */
  gboolean clip_valid;    /* clips hold clip_index */
  guint n_actors;         /* actors of the current clip */
  /* actor k's clip: clip_index * n_actors + k of the seed */
  ssan_synth_clip clips[SSAN_SYNTH_MAX_ACTORS];
  guint64 clip_seed;       /* seed the clip was drawn from */
  GstClockTime clip_start; /* PTS of its first and last frame */
  GstClockTime clip_end;
};

GST_ELEMENT_REGISTER_DECLARE (ssantestsrc);

G_END_DECLS

#endif /* __GST_SSAN_TEST_SRC_H__ */
