/* jpeg.h -- JPEG encode and decode through libjpeg-turbo's TurboJPEG API.
 *
 * One codec object per thread, reused for every frame: no allocation per
 * frame.  YUV frames are compressed from their planes and decoded to
 * them, with no RGB on the way.  Encoding writes into a caller buffer of
 * jpeg_bound() bytes.
 */
#ifndef VIDPIPE_JPEG_H
#define VIDPIPE_JPEG_H

#include <stddef.h>
#include <stdint.h>

#include "contract/pixfmt.h"

struct jpeg;

/* NULL with errno set on failure. */
struct jpeg *jpeg_new(void);
void jpeg_free(struct jpeg *j);

/* Worst-case JPEG size of a w x h frame. */
size_t jpeg_bound(uint32_t w, uint32_t h);

/* Encodes w x h pixels of fmt (stride bytes a row of the first plane,
 * laid out as pixfmt_planes() says) at quality 1..100 into
 * dst (cap bytes, at least jpeg_bound(w, h)).  Returns 0 with *len set, or
 * -EINVAL / -EIO. */
int jpeg_encode(struct jpeg *j, const uint8_t *src, uint32_t w, uint32_t h,
                uint32_t stride, enum pixfmt fmt, int quality, uint8_t *dst,
                size_t cap, size_t *len);

/* Reads the dimensions of an untrusted JPEG without decoding it.
 * 0 or -EBADMSG. */
int jpeg_peek(struct jpeg *j, const uint8_t *src, size_t len, uint32_t *w,
              uint32_t *h);

/* Decodes an untrusted JPEG into dst as fmt; the image must be exactly
 * w x h (else -EBADMSG, nothing written past dst + pixfmt_size()).  YUV
 * formats are decoded to their planes with no RGB on the way, and need a
 * JPEG of their subsampling: 4:2:0 for yuv420p and nv12, 4:2:2 for
 * yuyv422 (else -EBADMSG).
 * 0, -EBADMSG or -EINVAL. */
int jpeg_decode(struct jpeg *j, const uint8_t *src, size_t len, uint8_t *dst,
                uint32_t w, uint32_t h, uint32_t stride, enum pixfmt fmt);

#endif
