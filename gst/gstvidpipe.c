/* gstvidpipe.c -- the vidpipe GStreamer plugin: vidpipesrc, vidpipesink. */
#include <vidpipe.h>

#include "gstvidpipe.h"

static gboolean plugin_init(GstPlugin *plugin)
{
    vp_log_prefix("gstvidpipe");
    gboolean ok = GST_ELEMENT_REGISTER(vidpipesrc, plugin);
    ok |= GST_ELEMENT_REGISTER(vidpipesink, plugin);
    return ok;
}

#ifndef PACKAGE
#define PACKAGE "vidpipe"
#endif

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, vidpipe,
                  "vidpipe live video: vidpipesrc subscribes, vidpipesink "
                  "publishes",
                  plugin_init, VIDPIPE_VERSION, "unknown", "vidpipe", "unknown")
