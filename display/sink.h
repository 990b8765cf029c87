/* sink.h -- where display's frames go: nowhere (stats only), a window,
 * PNG files, a video file or server (at the frames' capture times), or
 * stdout (raw:- or -). */
#ifndef DISPLAY_SINK_H
#define DISPLAY_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/spec.h"
#include "vidpipe.h"

enum { SINK_QUIT = 1 };

struct sink;

/* raw_fmt is the pixel format of raw:- (VP_PIX_NONE: bgr24); st feeds
 * the window overlay (borrowed, must outlive the sink).  NULL with a
 * one-line reason. */
struct sink *sink_new(const struct sink_spec *spec, enum vp_pixfmt raw_fmt,
                      const vp_stats *st, char *err, size_t errlen);
void sink_free(struct sink *s);

/* How the sink wants pixels that sit in a shm ring: in place (null), as
 * the frame itself (-: the frame is forwarded, copied and checked there),
 * or copied out and checked intact first (every sink that keeps or shows
 * them). */
enum sink_use { SINK_IN_PLACE, SINK_FRAME, SINK_COPY };
enum sink_use sink_use(const struct sink *s);

/* Writes or shows frame f, whose pixels are img.  0; SINK_QUIT when
 * stdout's reader has gone; or -1 after logging why (fatal for the run).
 * -ESTALE: the frame's pixels were overwritten while written out (a
 * shm frame on "-"; counted torn, nothing was written). */
int sink_write(struct sink *s, vp_frame *f, const struct vp_image *img);

/* Services the sink's events (window keys); SINK_QUIT when the user asked
 * to quit, else 0. */
int sink_poll(struct sink *s);

#endif
