/* convert.h -- pixels from one format into another, for what needs a
 * format other than the frame's (a window wants bgr24, libx264 yuv420p).
 *
 * Between the packed RGB formats, and from a format to itself, the bytes
 * are moved here, exactly; everything else goes through libswscale
 * (BT.601, limited-range YUV), whose context is kept from frame to frame.
 */
#ifndef VIDPIPE_CONVERT_H
#define VIDPIPE_CONVERT_H

#include <stdint.h>

#include "contract/pixfmt.h"

struct convert;

/* NULL with errno set. */
struct convert *convert_new(void);
void convert_free(struct convert *c);

/* libavutil's AVPixelFormat of fmt (AV_PIX_FMT_NONE if it has none). */
int convert_av_fmt(enum pixfmt fmt);

/* A w x h picture: its planes (pixfmt_planes() says how many) and their
 * strides. */
struct planes_ref {
    enum pixfmt fmt;
    const uint8_t *data[PIXFMT_MAX_PLANES];
    uint32_t stride[PIXFMT_MAX_PLANES];
};

/* The planes of a picture laid out in one buffer as frames carry it. */
void planes_of(struct planes_ref *p, enum pixfmt fmt, uint32_t w, uint32_t h,
               uint32_t stride, const uint8_t *buf);

/* Copies w x h pixels of src into dst, of the same format. */
void planes_copy(uint32_t w, uint32_t h, const struct planes_ref *src,
                 const struct planes_ref *dst);

/* Converts w x h pixels of src into dst (whose data pointers it writes
 * through).  0, -EINVAL (a format it cannot convert) or -ENOMEM. */
int convert_run(struct convert *c, uint32_t w, uint32_t h,
                const struct planes_ref *src, const struct planes_ref *dst);

#endif
