/* sink.h -- where display's frames go: nowhere (stats only), a window,
 * PNG files, a video file, or stdout (raw:- or -). */
#ifndef DISPLAY_SINK_H
#define DISPLAY_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "transport/endpoint.h"
#include "contract/frame.h"
#include "api/stats.h"

enum { SINK_QUIT = 1 };

struct sink;

/* fps is the rate written into video files; st feeds the window overlay
 * (borrowed, must outlive the sink).  NULL with a one-line reason. */
struct sink *sink_new(const struct sink_spec *spec, double fps,
                      const struct stats *st, char *err, size_t errlen);
void sink_free(struct sink *s);

/* Writes or shows one frame (pixels px, raw, of h's geometry and format,
 * stride bytes a row).  0; SINK_QUIT when stdout's reader has gone; or -1
 * after logging why (fatal for the run). */
int sink_write(struct sink *s, const struct frame_hdr *h, const uint8_t *px,
               uint32_t stride);

/* Services the sink's events (window keys); SINK_QUIT when the user asked
 * to quit, else 0. */
int sink_poll(struct sink *s);

#endif
