/* pixfmt.c -- pixel-format geometry: sizes, strides and plane layout. */
#include <errno.h>
#include <string.h>

#include "contract/pixfmt.h"

/* What each format's layout rule needs (FRAME.md 2): the bytes of a
 * pixel in its first plane, and how its chroma is subsampled. */
static const struct pixfmt_desc {
    const char *name;
    uint8_t bpp;    /* bytes a pixel in plane 0 */
    uint8_t planes; /* 1 packed, 2 luma + interleaved chroma, 3 planar */
    uint8_t even_w; /* width must be even (chroma per 2 columns) */
    uint8_t even_h; /* height must be even (chroma per 2 rows) */
} pixfmts[] = {
    [PIXFMT_BGR24] = {"bgr24", 3, 1, 0, 0},
    [PIXFMT_RGB24] = {"rgb24", 3, 1, 0, 0},
    [PIXFMT_GRAY] = {"gray", 1, 1, 0, 0},
    [PIXFMT_YUV420P] = {"yuv420p", 1, 3, 1, 1},
    [PIXFMT_NV12] = {"nv12", 1, 2, 1, 1},
    [PIXFMT_YUYV422] = {"yuyv422", 2, 1, 1, 0},
};

static const struct pixfmt_desc *desc(enum pixfmt fmt)
{
    return fmt > PIXFMT_NONE && fmt <= PIXFMT_LAST ? &pixfmts[fmt] : NULL;
}

unsigned pixfmt_bpp(enum pixfmt fmt)
{
    const struct pixfmt_desc *d = desc(fmt);
    return d && d->planes == 1 ? d->bpp : 0;
}

bool pixfmt_is_yuv(enum pixfmt fmt)
{
    return fmt >= PIXFMT_YUV420P && fmt <= PIXFMT_LAST;
}

uint32_t pixfmt_min_stride(enum pixfmt fmt, uint32_t w)
{
    const struct pixfmt_desc *d = desc(fmt);
    return d && w <= PIXFMT_DIM_MAX ? w * d->bpp : 0;
}

/* Why a w x h picture of fmt with stride-byte rows is not valid, or NULL. */
static const char *geometry(enum pixfmt fmt, uint32_t w, uint32_t h,
                            uint32_t stride)
{
    const struct pixfmt_desc *d = desc(fmt);

    if (!d)
        return "unknown pixel format";
    if (w < 1 || w > PIXFMT_DIM_MAX || h < 1 || h > PIXFMT_DIM_MAX)
        return "dimensions out of range 1..16384";
    if ((d->even_w && w % 2) || (d->even_h && h % 2))
        return d->even_h ? "yuv420p and nv12 need an even width and height"
                         : "yuyv422 needs an even width";
    /* w <= 2^14 and bpp <= 3: no overflow. */
    if (stride < w * d->bpp)
        return "stride below width * bytes per pixel";
    if (stride > PIXFMT_STRIDE_MAX)
        return "stride too large";
    if (d->planes == 3 && stride % 2)
        return "yuv420p needs an even stride";
    return NULL;
}

int pixfmt_geometry(enum pixfmt fmt, uint32_t w, uint32_t h, uint32_t stride,
                    const char **why)
{
    const char *bad = geometry(fmt, w, h, stride);
    if (bad && why)
        *why = bad;
    return bad ? -EINVAL : 0;
}

uint64_t pixfmt_size(enum pixfmt fmt, uint32_t h, uint32_t stride)
{
    const struct pixfmt_desc *d = desc(fmt);
    uint64_t luma = (uint64_t)stride * h;
    return !d ? 0 : d->planes == 1 ? luma : luma + luma / 2;
}

void pixfmt_planes(enum pixfmt fmt, uint32_t w, uint32_t h, uint32_t stride,
                   struct pixfmt_planes *pl)
{
    const struct pixfmt_desc *d = desc(fmt);
    uint64_t luma = (uint64_t)stride * h;

    memset(pl, 0, sizeof *pl);
    if (!d)
        return;
    pl->n = d->planes;
    pl->stride[0] = stride;
    pl->rows[0] = h;
    pl->row_bytes[0] = w * d->bpp;
    if (d->planes == 2) { /* nv12: rows of U V pairs */
        pl->offset[1] = luma;
        pl->stride[1] = stride;
        pl->rows[1] = h / 2;
        pl->row_bytes[1] = w;
    } else if (d->planes == 3) { /* yuv420p: U, then V, half a row each */
        for (unsigned i = 1; i < 3; i++) {
            pl->offset[i] = luma + (i - 1) * (luma / 4);
            pl->stride[i] = stride / 2;
            pl->rows[i] = h / 2;
            pl->row_bytes[i] = w / 2;
        }
    }
}

const char *pixfmt_name(enum pixfmt fmt)
{
    const struct pixfmt_desc *d = desc(fmt);
    return d ? d->name : NULL;
}

enum pixfmt pixfmt_parse(const char *name)
{
    for (int f = PIXFMT_NONE + 1; f <= PIXFMT_LAST; f++)
        if (strcmp(name, pixfmts[f].name) == 0)
            return (enum pixfmt)f;
    return PIXFMT_NONE;
}
