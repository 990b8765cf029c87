/* pub.h -- the publishing end of a vidpipe endpoint.
 *
 * Over ZeroMQ a publisher is an XPUB socket: it never blocks (a slow
 * subscriber loses frames at its queue bound) and it reads the
 * subscriptions, so a program asks pub_wants() before it produces a
 * variant (a raw copy, a JPEG) and produces it only for somebody.
 */
#ifndef VIDPIPE_PUB_H
#define VIDPIPE_PUB_H

#include <stdbool.h>
#include <stddef.h>

#include <zmq.h>

#include "contract/frame.h"
#include "contract/topic.h"

struct pub;

/* Binds url (tcp:// or ipc://).  NULL with a one-line reason in err. */
struct pub *pub_new(const char *url, char *err, size_t errlen);
void pub_free(struct pub *p);
void *pub_socket(struct pub *p);

/* Reads pending subscription changes without blocking.  Calls fn for each
 * (on: 1 subscribe, 0 unsubscribe) if fn is non-NULL, so a relay can pass
 * them upstream.  Returns how many were read. */
int pub_poll_subs(struct pub *p,
                  void (*fn)(void *arg, const char *prefix, size_t len, int on),
                  void *arg);

/* True while a subscriber wants variant v of stream. */
bool pub_wants(const struct pub *p, enum variant v, const char *stream);

/* Unpaced publishing (capture --fps 0): from now on pub_send() waits up
 * to timeout_ms for room in a subscriber's full queue instead of dropping
 * the frame there, so frames are made only as fast as the slowest
 * subscriber takes them, not made and thrown away.  0 or -errno. */
int pub_set_backpressure(struct pub *p, int timeout_ms);

/* Publishes [topic, header, payload].  payload is moved (closed here,
 * whatever the outcome); pass NULL for a header-only (shm) message.
 * 0 or -errno. */
int pub_send(struct pub *p, enum variant v, const struct frame_hdr *h,
             zmq_msg_t *payload);

/* Republishes received parts as they are (moved): the relay's zero-copy
 * forward.  0 or -errno. */
int pub_forward(struct pub *p, zmq_msg_t *parts, unsigned n);

#endif
