/* xpub.h -- the publishing socket: XPUB with its subscriptions tracked.
 *
 * A publisher never blocks on a slow subscriber (it loses messages at its
 * queue bound), and it reads the subscriptions, so its owner can ask
 * xpub_wants() before it produces a variant and produce it only for
 * somebody.  Messages are byte parts: what they mean is the API's.
 *
 * The subscriptions are kept in a bounded table (subs.h), each charged to
 * the connection that made it (libzmq's ZMQ_SRCFD): past a bound a
 * subscription is refused, counted and logged (at most once a second),
 * and the table does not hold it, so the publisher makes nothing for it;
 * the other clients' subscriptions are untouched.  Keyframe requests
 * (xpub_limit_subs()'s unkept) are passed on and never take an entry.
 */
#ifndef VIDPIPE_XPUB_H
#define VIDPIPE_XPUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

/* The bounds a publisher starts with (vp_pub_opts.max_subs and
 * max_subs_per_client): a wall of displays waiting for a hundred absent
 * streams takes a few hundred entries; a relay downstream carries all of
 * its viewers' through one connection. */
#define XPUB_MAX_SUBS 4096
#define XPUB_MAX_SUBS_PER_CLIENT 1024

struct curve;
struct xpub;

/* Binds url (a ZeroMQ url: tcp://, ipc://), or connects it (!bind: a
 * publisher that dials its subscriber), with CURVE role c (borrowed;
 * NULL: plain; a server's to bind, a client's to connect): 0 with the
 * socket in *out, or -errno with a static reason in *why and what it is
 * about in *which (url, or c's allow directory), as net_open() gives
 * them. */
int xpub_new(struct xpub **out, const char *url, bool bind,
             const struct curve *c, const char **why, const char **which);
void xpub_free(struct xpub *p);
void *xpub_socket(struct xpub *p);
/* How many times one of p's TCP connections had its unsent bound raised
 * for its rate (sendq.h). */
uint64_t xpub_bounds_raised(const struct xpub *p);

/* Bounds the subscription table: at most max entries, at most per_client
 * made by one connection (0: max); subscriptions starting with unkept
 * (NULL: none; up to 15 bytes), the API's keyframe requests, are passed
 * on and never kept.  Call before the first xpub_poll_subs().  0 or
 * -ENOMEM. */
int xpub_limit_subs(struct xpub *p, unsigned max, unsigned per_client,
                    const char *unkept);

/* Reads pending subscription changes without blocking.  Calls fn for each
 * that changed the table (a new prefix, or the last holder of one gone)
 * and for each keyframe request (on: 1 subscribe, 0 unsubscribe) if fn
 * is non-NULL, so a relay can pass them upstream; refused ones are not
 * passed.  Returns how many fn was called for. */
int xpub_poll_subs(struct xpub *p,
                   void (*fn)(void *arg, const char *prefix, size_t len,
                              bool on),
                   void *arg);

/* Entries in the subscription table now. */
unsigned xpub_subs(const struct xpub *p);
/* The table's counters, valid while p is: entries made and removed, and
 * subscriptions refused at a bound. */
enum xpub_counter { XPUB_SUBS_ADDED, XPUB_SUBS_REMOVED, XPUB_SUBS_REFUSED };
const uint64_t *xpub_sub_counter(const struct xpub *p, enum xpub_counter c);

/* True while some subscription is a prefix of topic (tlen bytes): one
 * hash probe per prefix length in use, no allocation. */
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
