/* pipesink.h -- display's raw:- sink: bare frames on stdout.
 *
 * raw:- writes bare frames with packed rows and planes, in one pixel
 * format (bgr24 unless asked for another; frames of another format are
 * converted), what `ffmpeg -f rawvideo -pix_fmt FMT -s WxH -i -` and
 * ffplay read; it says the
 * geometry on stderr once, and since a raw stream cannot say that it
 * changed, a new size ends the run with an error.  (The frame stream
 * "-", which carries its geometry, is a vidpipe publisher's.)
 */
#ifndef DISPLAY_PIPESINK_H
#define DISPLAY_PIPESINK_H

#include <stdint.h>

#include "vidpipe.h"

struct pipesink;

/* NULL with errno set. */
struct pipesink *pipesink_new(enum vp_pixfmt fmt);
void pipesink_free(struct pipesink *p);

/* Writes frame seq's pixels img in the sink's format.  0; 1 (SINK_QUIT) when
 * stdout's reader has gone; -1 after logging why. */
int pipesink_write(struct pipesink *p, uint64_t seq,
                   const struct vp_image *img);

#endif
