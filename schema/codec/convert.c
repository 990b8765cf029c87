/* convert.c -- pixel format conversion: exact moves where they suffice,
 * libswscale for the rest. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>

#include "codec/convert.h"

struct convert {
    struct SwsContext *sws;
};

struct convert *convert_new(void)
{
    struct convert *c = calloc(1, sizeof *c);
    if (!c)
        errno = ENOMEM;
    return c;
}

void convert_free(struct convert *c)
{
    if (!c)
        return;
    sws_freeContext(c->sws);
    free(c);
}

int convert_av_fmt(enum pixfmt fmt)
{
    switch (fmt) {
    case PIXFMT_BGR24:
        return AV_PIX_FMT_BGR24;
    case PIXFMT_RGB24:
        return AV_PIX_FMT_RGB24;
    case PIXFMT_GRAY:
        return AV_PIX_FMT_GRAY8;
    case PIXFMT_YUV420P:
        return AV_PIX_FMT_YUV420P;
    case PIXFMT_NV12:
        return AV_PIX_FMT_NV12;
    case PIXFMT_YUYV422:
        return AV_PIX_FMT_YUYV422;
    default:
        return AV_PIX_FMT_NONE;
    }
}

void planes_of(struct planes_ref *p, enum pixfmt fmt, uint32_t w, uint32_t h,
               uint32_t stride, const uint8_t *buf)
{
    struct pixfmt_planes pl;

    pixfmt_planes(fmt, w, h, stride, &pl);
    memset(p, 0, sizeof *p);
    p->fmt = fmt;
    for (unsigned i = 0; i < pl.n; i++) {
        p->data[i] = buf + pl.offset[i];
        p->stride[i] = pl.stride[i];
    }
}

void planes_copy(uint32_t w, uint32_t h, const struct planes_ref *src,
                 const struct planes_ref *dst)
{
    struct pixfmt_planes pl;

    pixfmt_planes(src->fmt, w, h, pixfmt_min_stride(src->fmt, w), &pl);
    for (unsigned i = 0; i < pl.n; i++) {
        uint8_t *d = (uint8_t *)dst->data[i];
        const uint8_t *s = src->data[i];
        size_t row = pl.row_bytes[i];
        /* Rows as far apart on both sides, and little padding: one
         * memcpy (up to the last row's end). */
        if (dst->stride[i] == src->stride[i] && src->stride[i] - row < 64)
            memcpy(d, s, (size_t)src->stride[i] * (pl.rows[i] - 1) + row);
        else
            for (uint32_t y = 0; y < pl.rows[i]; y++)
                memcpy(d + (size_t)y * dst->stride[i],
                       s + (size_t)y * src->stride[i], row);
    }
}

/* bgr24 <-> rgb24, and gray to either. */
static void packed_rgb(uint32_t w, uint32_t h, const struct planes_ref *src,
                       const struct planes_ref *dst)
{
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *s = src->data[0] + (size_t)y * src->stride[0];
        uint8_t *d = (uint8_t *)dst->data[0] + (size_t)y * dst->stride[0];
        if (src->fmt == PIXFMT_GRAY) {
            for (uint32_t x = 0; x < w; x++, d += 3)
                d[0] = d[1] = d[2] = s[x];
        } else {
            for (uint32_t x = 0; x < w; x++, d += 3, s += 3) {
                uint8_t t = s[0];
                d[1] = s[1];
                d[0] = s[2];
                d[2] = t;
            }
        }
    }
}

static bool is_rgb(enum pixfmt f)
{
    return f == PIXFMT_BGR24 || f == PIXFMT_RGB24;
}

int convert_run(struct convert *c, uint32_t w, uint32_t h,
                const struct planes_ref *src, const struct planes_ref *dst)
{
    int sf = convert_av_fmt(src->fmt), df = convert_av_fmt(dst->fmt);
    int sstride[PIXFMT_MAX_PLANES + 1] = {0},
                                    dstride[PIXFMT_MAX_PLANES + 1] = {0};
    uint8_t *dp[PIXFMT_MAX_PLANES + 1] = {0};
    const uint8_t *sp[PIXFMT_MAX_PLANES + 1] = {0};

    if (sf == AV_PIX_FMT_NONE || df == AV_PIX_FMT_NONE || !w || !h ||
        w > PIXFMT_DIM_MAX || h > PIXFMT_DIM_MAX)
        return -EINVAL;
    if (src->fmt == dst->fmt) {
        planes_copy(w, h, src, dst);
        return 0;
    }
    if (is_rgb(dst->fmt) && (is_rgb(src->fmt) || src->fmt == PIXFMT_GRAY)) {
        packed_rgb(w, h, src, dst);
        return 0;
    }
    c->sws = sws_getCachedContext(c->sws, (int)w, (int)h, sf, (int)w, (int)h,
                                  df, SWS_BILINEAR, NULL, NULL, NULL);
    if (!c->sws)
        return -ENOMEM;
    for (unsigned i = 0; i < PIXFMT_MAX_PLANES; i++) {
        sstride[i] = (int)src->stride[i];
        dstride[i] = (int)dst->stride[i];
        dp[i] = (uint8_t *)dst->data[i];
        sp[i] = src->data[i];
    }
    /* swscale reads four plane pointers, whatever the format. */
    sws_scale(c->sws, sp, sstride, 0, (int)h, dp, dstride);
    return 0;
}
