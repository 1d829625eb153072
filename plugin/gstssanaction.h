/* ssanaction: action recognition on sliding windows of a video stream. */
#ifndef __GST_SSAN_ACTION_H__
#define __GST_SSAN_ACTION_H__

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_SSAN_ACTION (gst_ssan_action_get_type ())
G_DECLARE_FINAL_TYPE (
    GstSsanAction, gst_ssan_action, GST, SSAN_ACTION, GstBaseTransform)

/**
 * GstSsanActionMode:
 * @GST_SSAN_ACTION_MODE_SYNC: evaluate a window before its last frame is
 *   pushed on (exact, reproducible; for files)
 * @GST_SSAN_ACTION_MODE_ASYNC: evaluate on a worker thread while frames flow
 *   on; a window due while the worker is busy is skipped (for live sources)
 */
typedef enum {
  GST_SSAN_ACTION_MODE_SYNC = 0,
  GST_SSAN_ACTION_MODE_ASYNC = 1,
} GstSsanActionMode;

#define GST_TYPE_SSAN_ACTION_MODE (gst_ssan_action_mode_get_type ())
GType gst_ssan_action_mode_get_type (void);

/**
 * GstSsanActionRegion:
 * @GST_SSAN_ACTION_REGION_FULL_FRAME: one window over the whole frame
 * @GST_SSAN_ACTION_REGION_ROI: one window per tracked object, from the
 *   GstVideoRegionOfInterestMeta of upstream (keyed by their id)
 */
typedef enum {
  GST_SSAN_ACTION_REGION_FULL_FRAME = 0,
  GST_SSAN_ACTION_REGION_ROI = 1,
} GstSsanActionRegion;

#define GST_TYPE_SSAN_ACTION_REGION (gst_ssan_action_region_get_type ())
GType gst_ssan_action_region_get_type (void);

GST_ELEMENT_REGISTER_DECLARE (ssanaction);

G_END_DECLS

#endif /* __GST_SSAN_ACTION_H__ */
