/* encsink.h -- raw frames into an .mp4 or .mkv file: encoded here
 * (MPEG-4 part 2, libavcodec) and muxed (muxsink.h) with each frame's
 * capture time, so the file plays at the pace the frames were captured,
 * whatever their rate, and a frame that was dropped on the way leaves
 * the one before it on screen for longer rather than speeding the file up.
 */
#ifndef DISPLAY_ENCSINK_H
#define DISPLAY_ENCSINK_H

#include <stddef.h>

#include "vidpipe.h"

struct encsink;

/* Opens nothing yet (that waits for the first frame, whose size every
 * frame must keep); format is the libavformat muxer (sink_parse()).  NULL
 * with a one-line reason in err. */
struct encsink *encsink_new(const char *path, const char *format, char *err,
                            size_t errlen);
/* Encodes what is still pending, writes the trailer; accepts NULL. */
void encsink_free(struct encsink *e);

/* Encodes img, of the frame h says.  0, or -1 after logging why. */
int encsink_write(struct encsink *e, const struct vp_frame_info *h,
                  const struct vp_image *img);

#endif
