/* gst-ssan — ssanaction's outputs (see gstssanactionoutput.c). */
#ifndef __GST_SSAN_ACTION_OUTPUT_H__
#define __GST_SSAN_ACTION_OUTPUT_H__

#include <gst/gst.h>

#include "gstssanactionmeta.h"

G_BEGIN_DECLS

/* The result's fields as a structure called name ("ssan-action"): the bus
 * message and the ROI params. */
GstStructure *gst_ssan_action_result_to_structure (
    const GstSsanActionResult *r, const gchar *name);

/* The tracked object a result is about (inference-region=roi): the id of
 * its ROI meta and its box in the window's last frame. */
typedef struct {
  gint64 id;
  guint x, y, width, height;
} GstSsanActionObjectInfo;

/* Adds the object's fields to a result structure: object-id (gint64),
 * object-x, object-y, object-width, object-height (guint). */
void gst_ssan_action_object_to_structure (
    const GstSsanActionObjectInfo *obj, GstStructure *s);

/* The result as one JSON object with the structure's fields (times in ns or
 * null; the object's when obj is not NULL) plus stream-time and
 * stream-time-end, ending in a newline; *length bytes, g_free it. */
gchar *gst_ssan_action_result_to_json_line (const GstSsanActionResult *r,
    const GstSsanActionObjectInfo *obj, GstClockTime st_start,
    GstClockTime st_end, gsize *length);

/* Writes all of data to fd, or sets *error to errno; a reader gone away is
 * EPIPE, never a SIGPIPE for the process. */
gboolean gst_ssan_action_write_all (
    gint fd, const gchar *data, gsize len, gint *error);

/* Puts result on buf as the element's GstSsanActionMeta (replacing its own
 * earlier one, keeping other elements') and a full-frame ROI meta of type
 * "action" with id roi_id and params (taken). */
void gst_ssan_action_attach_result (GstBuffer *buf, GstSsanActionResult *result,
    GstStructure *params, gint roi_id, guint width, guint height);

G_END_DECLS

#endif /* __GST_SSAN_ACTION_OUTPUT_H__ */
