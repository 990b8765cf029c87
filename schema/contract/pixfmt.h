/* pixfmt.h -- pixel formats and the geometry of their pictures.
 *
 * Part of the contract: a frame's producer and its consumers (another
 * process reading a shm ring, a decoder, a sink) must agree on where each
 * plane of a w x h picture with stride-byte rows sits and how many bytes
 * the picture takes (FRAME.md 2).  Every such number is computed here.
 */
#ifndef VIDPIPE_PIXFMT_H
#define VIDPIPE_PIXFMT_H

#include <stdbool.h>
#include <stdint.h>

enum pixfmt {
    PIXFMT_NONE = 0,
    PIXFMT_BGR24,
    PIXFMT_RGB24,
    PIXFMT_GRAY,
    PIXFMT_YUV420P, /* planes Y, U, V; chroma at half width and height */
    PIXFMT_NV12,    /* planes Y, then U V interleaved at half height */
    PIXFMT_YUYV422, /* packed Y0 U Y1 V: 2 bytes a pixel */
    PIXFMT_LAST = PIXFMT_YUYV422,
};

#define PIXFMT_DIM_MAX 16384 /* pixels a side */
#define PIXFMT_STRIDE_MAX 65536
#define PIXFMT_MAX_PLANES 3

/* Where the planes of a picture sit in its one buffer (FRAME.md 2). */
struct pixfmt_planes {
    unsigned n;
    uint64_t offset[PIXFMT_MAX_PLANES]; /* from the start of the buffer */
    uint32_t stride[PIXFMT_MAX_PLANES]; /* bytes a row */
    uint32_t rows[PIXFMT_MAX_PLANES];
    uint32_t row_bytes[PIXFMT_MAX_PLANES]; /* bytes of pixels in a row */
};

/* Bytes per pixel of a packed fmt (yuyv422: 2); 0 for a planar or an
 * unknown one. */
unsigned pixfmt_bpp(enum pixfmt fmt);
/* True for the YUV formats (yuv420p, nv12, yuyv422). */
bool pixfmt_is_yuv(enum pixfmt fmt);
/* The shortest row of w pixels of fmt in its first plane (w * 3, w, 2w):
 * the stride of a tightly packed picture.  0 if fmt is unknown. */
uint32_t pixfmt_min_stride(enum pixfmt fmt, uint32_t w);
/* 0 if a w x h picture of fmt with stride-byte rows is valid (known
 * format, 1..16384, even sizes where chroma is subsampled, min stride ..
 * 65536), else -EINVAL with why not in *why (a static string; why may be
 * NULL). */
int pixfmt_geometry(enum pixfmt fmt, uint32_t w, uint32_t h, uint32_t stride,
                    const char **why);
/* The bytes of such a picture, all planes (0 if fmt is unknown). */
uint64_t pixfmt_size(enum pixfmt fmt, uint32_t h, uint32_t stride);
/* Its planes; for a geometry pixfmt_geometry() accepts. */
void pixfmt_planes(enum pixfmt fmt, uint32_t w, uint32_t h, uint32_t stride,
                   struct pixfmt_planes *pl);
/* ffmpeg's name of fmt ("bgr24", "yuv420p", ...), NULL if unknown. */
const char *pixfmt_name(enum pixfmt fmt);
/* The format named name, PIXFMT_NONE if there is none. */
enum pixfmt pixfmt_parse(const char *name);

#endif
