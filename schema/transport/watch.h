/* watch.h -- logs a socket's failed handshakes, once per peer.
 *
 * A refused CURVE handshake is silent by design: the peer just gets no
 * frames and retries.  So that whoever runs the program sees why, a
 * thread reads the socket's monitor events and logs each kind of failure
 * once per peer until a handshake with it succeeds again.  On a bound
 * endpoint these are clients without CURVE or with the wrong server key
 * (keys the allow list refuses are the ZAP handler's to log), and each
 * refusal is counted; on a connected one, peers that refused our key,
 * that do not speak our mechanism, or whose key is not the one we were
 * given.  One socket may do both: an event's endpoint says which.  It also
 * notes the connected endpoints libzmq abandons after such a failure, so
 * the socket's thread can connect them again (net_revive()), and on a
 * publisher sizes each accepted connection's unsent bound (sendq.h).
 */
#ifndef VIDPIPE_WATCH_H
#define VIDPIPE_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct watch;

/* Starts watching sock (before it binds or connects, so nothing is
 * missed).  pub: sock publishes, so its TCP connections get a send bound
 * sized from their rate.  0 with it in *out, or -errno with a static
 * reason in *why. */
int watch_new(struct watch **out, void *ctx, void *sock, bool pub,
              const char **why);
/* Stops watching and joins the thread: call from sock's thread, before
 * it closes sock.  Accepts NULL. */
void watch_free(struct watch *w);

/* Records url as one sock connects to (curve: as a CURVE client), so it
 * can be revived. */
void watch_add_url(struct watch *w, const char *url, bool curve);
/* Records an endpoint sock has bound (curve: as a CURVE server), as
 * ZMQ_LAST_ENDPOINT gives it: its peers are clients. */
void watch_add_bound(struct watch *w, const char *last_endpoint, bool curve);

/* What came in on sock's bound endpoints: connections open now,
 * handshakes that succeeded, and handshakes refused (a key the allow
 * list does not have, a peer without CURVE or with the wrong key). */
struct watch_inbound {
    uint64_t open, handshakes, refused;
};
void watch_inbound(const struct watch *w, struct watch_inbound *in);
/* True if a connection of descriptor fd closed at or after since_ns
 * (CLOCK_MONOTONIC), as far as the last 64 closes tell: the
 * peer that sent a stream's frames on it has gone.  Any thread. */
bool watch_closed_since(struct watch *w, int fd, int64_t since_ns);

/* One endpoint libzmq gave up on after a failed handshake, due to be
 * connected again (each at most once a second): true with it in url. */
bool watch_take_lost(struct watch *w, char *url, size_t cap);
/* How many times a connection's send bound was raised (sendq.h). */
uint64_t watch_bounds_raised(const struct watch *w);

#endif
