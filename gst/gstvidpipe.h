/* gstvidpipe.h -- the GStreamer plugin's elements.
 *
 * vidpipesrc subscribes like vidpipe-display, vidpipesink publishes like
 * vidpipe-capture; both are clients of vidpipe.h only (docs/GSTREAMER.md).
 */
#ifndef GSTVIDPIPE_H
#define GSTVIDPIPE_H

#include <gst/base/gstbasesink.h>
#include <gst/base/gstpushsrc.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_TYPE_VIDPIPE_SRC (gst_vidpipe_src_get_type())
G_DECLARE_FINAL_TYPE(GstVidpipeSrc, gst_vidpipe_src, GST, VIDPIPE_SRC,
                     GstPushSrc)

#define GST_TYPE_VIDPIPE_SINK (gst_vidpipe_sink_get_type())
G_DECLARE_FINAL_TYPE(GstVidpipeSink, gst_vidpipe_sink, GST, VIDPIPE_SINK,
                     GstBaseSink)

GST_ELEMENT_REGISTER_DECLARE(vidpipesrc);
GST_ELEMENT_REGISTER_DECLARE(vidpipesink);

G_END_DECLS

#endif
