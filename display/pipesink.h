/* pipesink.h -- display's sinks on stdout: raw:- and -.
 *
 * raw:- writes bare bgr24 frames with packed rows, what `ffmpeg -f
 * rawvideo -pix_fmt bgr24 -s WxH -i -` and ffplay read; it says the
 * geometry on stderr once, and since a raw stream cannot say that it
 * changed, a new size ends the run with an error.  - writes vidpipe frame
 * maps, which carry their geometry, so it follows any change.
 */
#ifndef DISPLAY_PIPESINK_H
#define DISPLAY_PIPESINK_H

#include <stdint.h>

#include "transport/endpoint.h"
#include "contract/frame.h"

struct pipesink;

/* kind is SINK_RAW or SINK_STREAM.  NULL with errno set. */
struct pipesink *pipesink_new(enum sink_kind kind);
void pipesink_free(struct pipesink *p);

/* Writes a frame of h's geometry and format (px, stride bytes a row).
 * 0; 1 (SINK_QUIT) when stdout's reader has gone; -1 after logging why. */
int pipesink_write(struct pipesink *p, const struct frame_hdr *h,
                   const uint8_t *px, uint32_t stride);

#endif
