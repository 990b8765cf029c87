/* emit.h -- capture's output for byte streams and replayed recordings.
 *
 * Frames here come with their own geometry and encoding (a recording may
 * hold JPEG, and change size), so an emitter converts each frame to what
 * its consumers want: on stdout the one --codec encoding, over ZeroMQ
 * each variant somebody subscribes to, produced only then.  The live
 * ZeroMQ path (main.c) keeps its pool buffers and does not come here.
 */
#ifndef CAPTURE_EMIT_H
#define CAPTURE_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

struct emit;

/* Writes frames to stdout when url is "-", else publishes on url (bound).
 * codec is the stdout encoding, quality the JPEG quality for any
 * encoding done here.  NULL with a one-line reason in err. */
struct emit *emit_new(const char *url, enum frame_enc codec, int quality,
                      char *err, size_t errlen);
void emit_free(struct emit *e);

/* Sleeps until the monotonic time deadline (ns), serving ZeroMQ
 * subscriptions meanwhile; returns early when a stop is asked for. */
void emit_wait_until(struct emit *e, int64_t deadline);

/* True if somebody wants frames of stream now (stdout always does). */
bool emit_wanted(struct emit *e, const char *stream);

/* Sends frame h with its payload (h->size bytes, borrowed) in every
 * wanted encoding; adds the payload bytes sent to *bytes.  0, -EPIPE when
 * stdout's reader has gone, or another -errno after logging why. */
int emit_frame(struct emit *e, const struct frame_hdr *h, const uint8_t *data,
               uint64_t *bytes);

#endif
