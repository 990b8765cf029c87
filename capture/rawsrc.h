/* rawsrc.h -- raw video frames on a file descriptor (capture -i raw:-).
 *
 * What `ffmpeg -f rawvideo -pix_fmt bgr24 -` writes: frames of a geometry
 * given on the command line, packed rows, nothing between frames.  Each
 * frame is read straight into the caller's frame buffer.
 */
#ifndef CAPTURE_RAWSRC_H
#define CAPTURE_RAWSRC_H

#include <stdint.h>

#include "vidpipe.h"

struct rawsrc;

/* Frames of w x h pixels of fmt from fd (not closed here).  NULL with
 * errno set. */
struct rawsrc *rawsrc_new(int fd, uint32_t w, uint32_t h, enum vp_pixfmt fmt);
void rawsrc_free(struct rawsrc *r);

/* Reads the next frame into img (of the source's geometry; its rows and
 * planes anywhere: the input's are packed, one plane after another).  0 ok; 1
 * the input ended between frames (or a stop was asked for); -1 truncated frame
 * or read error, logged with its byte offset. */
int rawsrc_read(struct rawsrc *r, const struct vp_image *img);

#endif
