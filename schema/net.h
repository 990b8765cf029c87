/* net.h -- the process's ZeroMQ context and the socket options every
 * vidpipe socket shares (small queues, fast reconnect, heartbeats). */
#ifndef VIDPIPE_NET_H
#define VIDPIPE_NET_H

#include <stdbool.h>
#include <stddef.h>

/* Queue bounds: latest frame wins, so queues hold a frame or two. */
#define NET_HWM 2

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
