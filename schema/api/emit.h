/* emit.h -- publishing frames that arrive with their own encoding.
 *
 * Frames read from a pipe or a recording come with their own geometry and
 * encoding (a recording may hold JPEG, and change size), and there is no
 * upstream to ask for another variant.  An emitter makes each variant a
 * consumer wants from the frame it has, once: on stdout the one encoding
 * asked for; over ZeroMQ every variant somebody subscribes to -- raw,
 * JPEG, and shm descriptors of its own rings (one per stream, remade when
 * the geometry changes), so same-host subscribers get zero copy here too.
 * Capture's live loop and the relay's ZeroMQ forwarding do not need this:
 * they have their own pooled, zero-copy paths.
 */
#ifndef VIDPIPE_EMIT_H
#define VIDPIPE_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contract/frame.h"

struct emit;

/* Writes frames to stdout when url is "-", else publishes on url (bound).
 * codec is the stdout encoding; quality the JPEG quality of any encoding
 * done here; ring_slots the slots of each shm ring (0: offer no shm).
 * NULL with a one-line reason in err. */
struct emit *emit_new(const char *url, enum frame_enc codec, int quality,
                      uint32_t ring_slots, char *err, size_t errlen);
void emit_free(struct emit *e);

/* Sleeps until the monotonic time deadline (ns), serving ZeroMQ
 * subscriptions meanwhile; returns early when a stop is asked for. */
void emit_wait_until(struct emit *e, int64_t deadline);

/* Sends frame h with its payload (h->size bytes, borrowed) in every
 * wanted form; adds the payload bytes sent to *bytes.  0, -EPIPE when
 * stdout's reader has gone, or another -errno after logging why. */
int emit_frame(struct emit *e, const struct frame_hdr *h, const uint8_t *data,
               uint64_t *bytes);

#endif
