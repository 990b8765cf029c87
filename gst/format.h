/* format.h -- vidpipe's pixel formats and codecs as GStreamer names them,
 * for vidpipesrc and vidpipesink.
 */
#ifndef GST_VIDPIPE_FORMAT_H
#define GST_VIDPIPE_FORMAT_H

#include <gst/video/video.h>

#include <vidpipe.h>

G_BEGIN_DECLS

/* The raw formats both elements carry, as a caps list. */
#define VIDPIPE_GST_FORMATS "{ BGR, RGB, GRAY8, I420, NV12, YUY2 }"

/* GStreamer's format of a vidpipe pixel format, and back
 * (GST_VIDEO_FORMAT_UNKNOWN, VP_PIX_NONE for none). */
GstVideoFormat vidpipe_gst_format(enum vp_pixfmt fmt);
enum vp_pixfmt vidpipe_vp_format(GstVideoFormat fmt);

/* A mapped video frame's planes as a vp_image (borrowed pointers). */
void vidpipe_image_of_frame(const GstVideoFrame *vf, struct vp_image *img);

/* img's planes as offsets from its first and strides, and the bytes
 * from its first plane to the end of its last: FALSE if a plane comes
 * before the first (not one buffer). */
gboolean vidpipe_image_planes(const struct vp_image *img, gsize *offset,
                              gint *stride, gsize *size);
/* True if planes at offset with stride are those info lays out, so that
 * an element that ignores GstVideoMeta reads them right. */
gboolean vidpipe_layout_is_info(const struct vp_image *img, const gsize *offset,
                                const gint *stride, const GstVideoInfo *info);

/* Sets a string property's field from v, under o's object lock. */
void vidpipe_set_string(GstObject *o, gchar **field, const GValue *v);

/* The codec property's type: raw, jpeg, h264. */
#define VIDPIPE_TYPE_CODEC (vidpipe_codec_get_type())
GType vidpipe_codec_get_type(void);

G_END_DECLS

#endif
