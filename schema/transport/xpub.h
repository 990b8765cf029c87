/* xpub.h -- the publishing socket: XPUB with its subscriptions tracked.
 *
 * A publisher never blocks on a slow subscriber (it loses messages at its
 * queue bound), and it reads the subscriptions, so its owner can ask
 * xpub_wants() before it produces a variant and produce it only for
 * somebody.  Messages are byte parts: what they mean is the API's.
 */
#ifndef VIDPIPE_XPUB_H
#define VIDPIPE_XPUB_H

#include <stdbool.h>
#include <stddef.h>

#include <zmq.h>

struct curve;
struct xpub;

/* Binds url (tcp:// or ipc://) with CURVE role c (borrowed; NULL: plain):
 * 0 with the socket in *out, or -errno with a static reason in *why and
 * what it is about in *which (url, or c's allow directory), as net_open()
 * gives them. */
int xpub_new(struct xpub **out, const char *url, const struct curve *c,
             const char **why, const char **which);
void xpub_free(struct xpub *p);
void *xpub_socket(struct xpub *p);
/* How many times one of p's TCP connections had its unsent bound raised
 * for its rate (sendq.h). */
uint64_t xpub_bounds_raised(const struct xpub *p);

/* Reads pending subscription changes without blocking.  Calls fn for each
 * (on: 1 subscribe, 0 unsubscribe) if fn is non-NULL, so a relay can pass
 * them upstream.  Returns how many were read. */
int xpub_poll_subs(struct xpub *p,
                   void (*fn)(void *arg, const char *prefix, size_t len,
                              bool on),
                   void *arg);

/* True while some subscription is a prefix of topic (tlen bytes). */
bool xpub_wants(const struct xpub *p, const char *topic, size_t tlen);
/* True while anybody subscribes to anything starting with prefix. */
bool xpub_wants_any(const struct xpub *p, const char *prefix, size_t len);

/* From now on a send waits up to timeout_ms for room in a subscriber's
 * full queue instead of dropping the message there.  0 or -errno. */
int xpub_set_backpressure(struct xpub *p, int timeout_ms);

/* Sends [topic, hdr] or [topic, hdr, payload].  payload is moved (closed
 * here, whatever the outcome).  0, -EAGAIN (no room within the
 * backpressure timeout), or -errno. */
int xpub_send(struct xpub *p, const void *topic, size_t tlen, const void *hdr,
              size_t hlen, zmq_msg_t *payload);

/* Sends received parts as they are (moved, closed here).  0 or -errno. */
int xpub_forward(struct xpub *p, zmq_msg_t *parts, unsigned n);

#endif
