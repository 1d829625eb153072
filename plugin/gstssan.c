/* gst-ssan plugin: registers the elements, nothing else.
 *
 *   ssanaction   — recognises actions in sliding windows (gstssanaction.c)
 *   ssantestsrc  — synthetic action clips for demos and tests
 *                  (gstssantestsrc.c)
 *   ssanoverlay  — draws the current action (gstssanoverlay.c)
 *   ssanpublish  — publishes results to MQTT or a file (gstssanpublish.c)
 *
 * The origin URL is the package-origin build option: the project has no
 * public home yet, so by default it says so, as GStreamer's own modules do
 * ("Unknown package origin"); packagers set it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

GST_ELEMENT_REGISTER_DECLARE (ssanaction);
GST_ELEMENT_REGISTER_DECLARE (ssantestsrc);
GST_ELEMENT_REGISTER_DECLARE (ssanoverlay);
GST_ELEMENT_REGISTER_DECLARE (ssanpublish);

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (ssanaction, plugin);
  ret |= GST_ELEMENT_REGISTER (ssantestsrc, plugin);
  ret |= GST_ELEMENT_REGISTER (ssanoverlay, plugin);
  ret |= GST_ELEMENT_REGISTER (ssanpublish, plugin);

  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, ssan,
    "Action recognition with Separable Self-Attention Networks", plugin_init,
    PACKAGE_VERSION, "LGPL", PACKAGE_NAME, PACKAGE_ORIGIN)
