/* pattern.h -- the test: source's self-verifying picture.
 *
 * Each frame shows its own 64-bit sequence number as large black and white
 * cells (with a check code), so any receiver can tell which frame it got
 * and whether it got it intact, even after JPEG at quality 50; the rest of
 * the picture moves with seq so a person sees motion.
 */
#ifndef VIDPIPE_PATTERN_H
#define VIDPIPE_PATTERN_H

#include <stdint.h>

#include "contract/pixfmt.h"

#define PATTERN_MIN_W 64
#define PATTERN_MIN_H 48

/* Draws frame seq into dst, a w x h picture of fmt laid out as frames
 * carry it (pixfmt_planes(): stride bytes a row of its first plane).
 * Fast: meant to run per frame at 4K.  0 or -EINVAL if the geometry is
 * below PATTERN_MIN_W x PATTERN_MIN_H or not valid for fmt.  In the YUV
 * formats the cells are luma 16 and 235 and the colours BT.601. */
int pattern_draw(uint8_t *dst, uint32_t w, uint32_t h, uint32_t stride,
                 enum pixfmt fmt, uint64_t seq);
/* The same into planes anywhere: data[i] with stride[i] bytes a row. */
int pattern_draw_planes(uint8_t *const data[], const uint32_t stride[],
                        uint32_t w, uint32_t h, enum pixfmt fmt, uint64_t seq);

/* pattern_draw() into a picture that holds a frame pattern_draw() made at
 * the same w, h, stride and fmt (any seq): the picture is made of runs of
 * equal rows, so only the bytes of each run's rows where its new row
 * differs from the old one are written.  That is the code cells that
 * changed, the moving bar's old and new place, and the ramp: about a
 * quarter of the frame.  Given any other picture, what it leaves is not
 * the pattern. */
int pattern_update(uint8_t *dst, uint32_t w, uint32_t h, uint32_t stride,
                   enum pixfmt fmt, uint64_t seq);
int pattern_update_planes(uint8_t *const data[], const uint32_t stride[],
                          uint32_t w, uint32_t h, enum pixfmt fmt,
                          uint64_t seq);

/* Reads the sequence number back from pixels drawn by pattern_draw (and
 * possibly JPEG'd, or converted to another format); only the first plane
 * (the luma of a planar format) is read.  0 with *seq set, or -EBADMSG when the
 * cells do not decode with a valid check code, -EINVAL for bad geometry. */
int pattern_read(const uint8_t *src, uint32_t w, uint32_t h, uint32_t stride,
                 enum pixfmt fmt, uint64_t *seq);

#endif
