/* ssanpublish: publishes every new ssanaction result to an MQTT broker or a
 * JSON Lines file.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef __GST_SSAN_PUBLISH_H__
#define __GST_SSAN_PUBLISH_H__

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_SSAN_PUBLISH (gst_ssan_publish_get_type ())
G_DECLARE_FINAL_TYPE (
    GstSsanPublish, gst_ssan_publish, GST, SSAN_PUBLISH, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE (ssanpublish);

G_END_DECLS

#endif /* __GST_SSAN_PUBLISH_H__ */
