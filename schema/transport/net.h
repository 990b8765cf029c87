/* net.h -- vidpipe's ZeroMQ sockets: the shared context, the options
 * every socket has (small queues, fast reconnect, heartbeats), its CURVE
 * role, and the watcher that logs failed handshakes and revives the
 * endpoints libzmq gives up on (watch.h).
 *
 * The context is made with the first socket and terminated with the last
 * one, so a process that closes everything leaves no ZeroMQ thread
 * behind.  CURVE servers share the context's one ZAP handler (zap.h).
 */
#ifndef VIDPIPE_NET_H
#define VIDPIPE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "transport/sendq.h"

struct curve;
struct watch;

/* Queue bounds: latest frame wins, so queues hold a frame or two. */
#define NET_HWM 2

/* A publisher's queue per subscriber counts messages, not frames, and a
 * subscriber that wants every variant (a relay) gets a burst of three
 * per frame: shm, jpg, raw.  With 2, the third was dropped for ~20% of
 * frames; 4 holds a whole burst and one more message.  A subscriber of
 * one variant then waits behind up to 4 frames, not 2 (+60 ms p99 for
 * 50 KB frames at 10 Mbit/s). */
#define NET_PUB_HWM 4

/* What a publisher's connection may hold in the kernel not yet sent
 * (TCP_NOTSENT_LOWAT, set on the listening socket vidpipe makes and hands
 * to libzmq, so every accepted connection starts with it; then sized from
 * the connection's own delivery rate by the watch thread: sendq.h).  Bytes
 * queued for a slow link are latency: autotuned, the queue grew to 0.7 s
 * at 10 Mbit/s.  Bounding only what is unsent, and not the whole send
 * buffer, leaves TCP its window (what is in flight is not held back), so
 * a slow link holds at most this much more than its window: ~0.1 s at
 * 10 Mbit/s, while a fast one gets 10 ms of its rate (docs/BENCHMARKS.md). */
#define NET_NOTSENT_LOWAT SENDQ_MIN

/* Where vidpipe cannot make the listening socket itself (a tcp:// bind on
 * an interface name), the whole send buffer is bounded instead: 64 KiB
 * bounds a slow link's queue to ~0.3 s but caps a connection at ~128 KiB
 * per round trip (20 Mbit/s at 50 ms RTT; 250 fps of 1080p on loopback,
 * a quarter of what libzmq moves there). */
#define NET_SNDBUF (64 * 1024)

/* Largest message a publisher accepts: a subscription is 1 byte and a
 * topic prefix, but the limit also bounds the handshake's commands (a
 * CURVE INITIATE with its metadata is several hundred bytes).  And what a
 * subscriber accepts: the largest raw payload a header may describe
 * (stride 65536 x 16384 rows). */
#define NET_SUB_MSG_MAX 4096
#define NET_FRAME_MSG_MAX ((int64_t)65536 * 16384)

/* One socket and what goes with it.  Used from one thread at a time. */
struct netsock {
    void *sock;                  /* the libzmq socket */
    const struct curve *client;  /* borrowed: the role of its connects... */
    const struct curve *server;  /* ...and of its binds (NULL: plain) */
    const struct curve *applied; /* the role its options hold now */
    struct watch *watch;
    unsigned nbound; /* endpoints it binds */
};

/* Makes a socket of type (ZMQ_XPUB or ZMQ_SUB) with the shared options,
 * whose connects will use CURVE role client and whose binds role server
 * (each borrowed, must outlive ns; NULL: plain).  0, or -errno with a
 * static reason in *why and in *which what it is about, for the caller's
 * message: the server role's allow directory, or NULL. */
int net_open(struct netsock *ns, int type, const struct curve *client,
             const struct curve *server, const char **why, const char **which);
/* Binds (bind) or connects ns to url, a ZeroMQ url as endpoint.h gives
 * it, with the role net_open() gave that direction, or plain.  A plain
 * bind other hosts can reach gets a one-line warning.  0, or -errno with
 * a static reason in *why: -EINVAL, what is wrong; another -errno, the
 * step that failed ("bind", "connect", ...). */
int net_add(struct netsock *ns, const char *url, bool bind, bool plain,
            const char **why);
/* Connects again the endpoints libzmq abandoned after a failed handshake
 * (see watch.h).  Call from ns's thread, often. */
void net_revive(struct netsock *ns);
/* Closes the socket (and the context with the last one); accepts a
 * netsock that never opened. */
void net_close(struct netsock *ns);

#endif
