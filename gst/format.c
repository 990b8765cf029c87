/* format.c -- what vidpipesrc and vidpipesink share: formats, planes,
 * codecs, string properties. */
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

/* Rows of plane p of a fmt picture h rows high. */
static uint32_t plane_rows(enum vp_pixfmt fmt, unsigned p, uint32_t h)
{
    return p > 0 && (fmt == VP_PIX_YUV420P || fmt == VP_PIX_NV12) ? h / 2 : h;
}

gboolean vidpipe_image_planes(const struct vp_image *img, gsize *offset,
                              gint *stride, gsize *size)
{
    *size = 0;
    for (unsigned p = 0; p < img->nplanes && p < VP_MAX_PLANES; p++) {
        if (img->data[p] < img->data[0])
            return FALSE;
        offset[p] = (gsize)(img->data[p] - img->data[0]);
        stride[p] = (gint)img->stride[p];
        gsize end = offset[p] + (gsize)img->stride[p] *
                                    plane_rows(img->fmt, p, img->height);
        *size = MAX(*size, end);
    }
    return TRUE;
}

gboolean vidpipe_layout_is_info(const struct vp_image *img, const gsize *offset,
                                const gint *stride, const GstVideoInfo *info)
{
    for (unsigned p = 0; p < img->nplanes; p++)
        if (offset[p] != GST_VIDEO_INFO_PLANE_OFFSET(info, p) ||
            stride[p] != GST_VIDEO_INFO_PLANE_STRIDE(info, p))
            return FALSE;
    return TRUE;
}

void vidpipe_set_string(GstObject *o, gchar **field, const GValue *v)
{
    GST_OBJECT_LOCK(o);
    g_free(*field);
    *field = g_value_dup_string(v);
    GST_OBJECT_UNLOCK(o);
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
