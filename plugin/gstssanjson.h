/* The JSON form of a GstSsanActionResult: one object per result, the schema
 * in docs/ssan-result.schema.json.  Written by ssanaction's results-location
 * and by ssanpublish (plugin-internal).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef __GST_SSAN_JSON_H__
#define __GST_SSAN_JSON_H__

#include <json-glib/json-glib.h>

#include "gstssanactionmeta.h"

G_BEGIN_DECLS

/* One result as a JSON object on one line (no newline), newly allocated.
 * @st_start / @st_end: stream time of the window's first and last frame
 * (GST_CLOCK_TIME_NONE: null); @wall_time: g_get_real_time () when the
 * result was serialised, written as UTC ISO 8601 with microseconds;
 * @source (nullable) and @tags (nullable, a JSON object) add the fields of
 * the same names. */
gchar *gst_ssan_result_to_json (const GstSsanActionResult *r,
    GstClockTime st_start, GstClockTime st_end, gint64 wall_time,
    const gchar *source, JsonNode *tags);

G_END_DECLS

#endif /* __GST_SSAN_JSON_H__ */
