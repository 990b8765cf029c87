/* net.h -- the process's ZeroMQ context and the socket options every
 * vidpipe socket shares (small queues, fast reconnect, heartbeats). */
#ifndef VIDPIPE_NET_H
#define VIDPIPE_NET_H

#include <stdbool.h>
#include <stddef.h>

/* Queue bounds: latest frame wins, so queues hold a frame or two. */
#define NET_HWM 2

/* A publisher's queue per subscriber counts messages, not frames, and a
 * subscriber that wants every variant (a relay) gets a burst of three
 * per frame: shm, jpg, raw.  With 2, the third was dropped for ~20% of
 * frames; 4 holds a whole burst and one more message.  A subscriber of
 * one variant then waits behind up to 4 frames, not 2 (+60 ms p99 for
 * 50 KB frames at 10 Mbit/s). */
#define NET_PUB_HWM 4

/* A publisher's kernel send buffer per connection (Linux doubles it for
 * bookkeeping).  Autotuned, it grows with the queue of a slow link, and
 * every byte in it is latency: p99 0.7 s measured at 10 Mbit/s behind a
 * 400 ms queue.  64 KiB bounds that to ~0.3 s whatever the link's queue,
 * keeps TCP from overrunning a shallow one (128 KiB: up to 20 times the
 * retransmissions, and timeouts that add 0.2 s), and does not slow
 * loopback (2.5 GB/s).  The price: a connection carries at most ~128 KiB
 * per round trip, 20 Mbit/s at 50 ms RTT (docs/GATEWAY.md). */
#define NET_SNDBUF (64 * 1024)

/* Largest message a publisher accepts: a subscription is 1 byte and a
 * topic prefix, but the limit also bounds the handshake's commands (a
 * CURVE INITIATE with its metadata is several hundred bytes).  And what a
 * subscriber accepts: the largest raw payload a header may describe
 * (stride 65536 x 16384 rows). */
#define NET_SUB_MSG_MAX 4096
#define NET_FRAME_MSG_MAX ((int64_t)65536 * 16384)

/* The process-wide context, created on first use; NULL on failure. */
void *net_ctx(void);
/* Closes the context (after every socket is closed). */
void net_term(void);

/* A socket of type (ZMQ_XPUB, ZMQ_SUB) with the shared options set; bound
 * (bind) or connected to url.  NULL with a one-line reason in err. */
void *net_socket(int type, const char *url, bool bind, char *err,
                 size_t errlen);
/* Connects an existing socket to one more url; 0 or -1 with err. */
int net_connect(void *sock, const char *url, char *err, size_t errlen);

#endif
