/* ssanoverlay: draws the recognised action onto the video. */
#ifndef __GST_SSAN_OVERLAY_H__
#define __GST_SSAN_OVERLAY_H__

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>
#include <pango/pangocairo.h>

#include "gstssanactionmeta.h"

G_BEGIN_DECLS

/* action boxes drawn at most, one per ssanaction element */
#define GST_SSAN_OVERLAY_MAX_PANELS 8
/* objects (ROIs with an ssanaction result) drawn at most per frame */
#define GST_SSAN_OVERLAY_MAX_OBJECTS 32

#define GST_TYPE_SSAN_OVERLAY (gst_ssan_overlay_get_type ())
G_DECLARE_FINAL_TYPE (
    GstSsanOverlay, gst_ssan_overlay, GST, SSAN_OVERLAY, GstVideoFilter)

struct _GstSsanOverlay {
  GstVideoFilter parent;

  /* properties (GST_OBJECT_LOCK) */
  gboolean show_truth;
  guint top_k;
  gboolean fade;
  gchar *font_desc;
  gchar *element; /* draw only this ssanaction's result (NULL: all) */
  gboolean settings_changed; /* the panels must be drawn again */
  gint plain_only; /* atomic: downstream took the feature but not the meta */

  /* streaming thread */
  gint width, height;      /* frame size the boxes are drawn for */
  gboolean attach;         /* attach the composition, don't blend */
  gboolean attach_checked; /* attach is known for the current caps */
  PangoFontMap *font_map;
  PangoContext *pango; /* for measuring and drawing */
  PangoLayout *layout;
  struct {
    GstSsanActionResult *result; /* what rect shows (ref) */
    GstVideoOverlayRectangle *rect;
    gfloat alpha;                        /* global alpha set on rect */
  } panels[GST_SSAN_OVERLAY_MAX_PANELS]; /* action boxes, top to bottom */
  guint n_panels;
  struct {
    gint64 id;                      /* the ROI's */
    gchar *element;                 /* whose result */
    guint64 result_id;              /* what tag shows */
    gint class_id;                  /* the colour outline is drawn in */
    GstVideoOverlayRectangle *tag;  /* label and score, above the box */
    GstVideoOverlayRectangle *edge; /* the box's outline */
    gint edge_w, edge_h;            /* the size edge was drawn for */
    gboolean seen;                  /* on the current frame */
  } objects[GST_SSAN_OVERLAY_MAX_OBJECTS];
  guint n_objects;
  const gchar *drawn_truth; /* interned label truth_rect shows */
  GstVideoOverlayRectangle *truth_rect;
  GstVideoOverlayComposition *composition;
  struct {
    GstClockTime start, end; /* PTS of the clip's first and last frame */
    const gchar *label;      /* interned */
  } clips[16];               /* recent clips, ring */
  guint n_clips, clip_head;
};

GST_ELEMENT_REGISTER_DECLARE (ssanoverlay);

G_END_DECLS

#endif /* __GST_SSAN_OVERLAY_H__ */
