/* format.c -- what vidpipesrc and vidpipesink share: formats, codecs. */
#include "format.h"

static const struct {
    enum vp_pixfmt vp;
    GstVideoFormat gst;
} formats[] = {
    {VP_PIX_BGR24, GST_VIDEO_FORMAT_BGR},
    {VP_PIX_RGB24, GST_VIDEO_FORMAT_RGB},
    {VP_PIX_GRAY, GST_VIDEO_FORMAT_GRAY8},
    {VP_PIX_YUV420P, GST_VIDEO_FORMAT_I420},
    {VP_PIX_NV12, GST_VIDEO_FORMAT_NV12},
    {VP_PIX_YUYV422, GST_VIDEO_FORMAT_YUY2},
};

GstVideoFormat vidpipe_gst_format(enum vp_pixfmt fmt)
{
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++)
        if (formats[i].vp == fmt)
            return formats[i].gst;
    return GST_VIDEO_FORMAT_UNKNOWN;
}

enum vp_pixfmt vidpipe_vp_format(GstVideoFormat fmt)
{
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++)
        if (formats[i].gst == fmt)
            return formats[i].vp;
    return VP_PIX_NONE;
}

void vidpipe_image_of_frame(const GstVideoFrame *vf, struct vp_image *img)
{
    *img = (struct vp_image){
        .width = GST_VIDEO_FRAME_WIDTH(vf),
        .height = GST_VIDEO_FRAME_HEIGHT(vf),
        .fmt = vidpipe_vp_format(GST_VIDEO_FRAME_FORMAT(vf)),
        .nplanes = GST_VIDEO_FRAME_N_PLANES(vf),
    };
    for (unsigned i = 0; i < img->nplanes && i < VP_MAX_PLANES; i++) {
        img->data[i] = GST_VIDEO_FRAME_PLANE_DATA(vf, i);
        img->stride[i] = (uint32_t)GST_VIDEO_FRAME_PLANE_STRIDE(vf, i);
    }
}

GType vidpipe_codec_get_type(void)
{
    static GType type;
    static const GEnumValue values[] = {
        {VP_CODEC_RAW, "raw pixels (shared memory on the same host)", "raw"},
        {VP_CODEC_JPEG, "JPEG payloads (image/jpeg)", "jpeg"},
        {VP_CODEC_H264, "H.264 access units (video/x-h264, byte-stream, au)",
         "h264"},
        {0, NULL, NULL},
    };
    if (g_once_init_enter(&type))
        g_once_init_leave(&type,
                          g_enum_register_static("GstVidpipeCodec", values));
    return type;
}
