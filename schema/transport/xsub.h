/* xsub.h -- the subscribing socket: SUB connected to publishers.
 *
 * Delivers whole messages of at most XSUB_MAX_PARTS parts, as they came;
 * what the parts mean (and whether they are valid) is the API's to check.
 */
#ifndef VIDPIPE_XSUB_H
#define VIDPIPE_XSUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#define XSUB_MAX_PARTS 3

struct curve;
struct xsub;

/* Connects to each of n urls (ZeroMQ urls: tcp://, ipc://), or binds it
 * if binds[i] (binds NULL: none; publishers dial in), with CURVE role
 * client on its connects and server on its binds but ipc:// ones, where
 * the socket file's permissions decide (borrowed; NULL: plain): 0 with the
 * socket in *out, or -errno with a static reason in *why, as net_open() gives
 * it, and in *which the url it is about (one of urls, for the caller's message;
 * NULL if none). */
int xsub_new(struct xsub **out, const char *const *urls, const bool *binds,
             unsigned n, const struct curve *client, const struct curve *server,
             const char **why, const char **which);
void xsub_free(struct xsub *s);
void *xsub_socket(struct xsub *s);

/* Adds (on) or removes a subscription to a topic prefix.  0 or -errno. */
int xsub_subscribe(struct xsub *s, const void *prefix, size_t len, bool on);

/* Takes one message without blocking: 0 with its *n parts in parts (each
 * to be closed by the caller).  -EAGAIN: nothing queued.  -EMSGSIZE: a
 * message of more parts came and was dropped.  Other -errno: the socket
 * failed (e.g. -EINTR, -ETERM); nothing is held. */
int xsub_recv(struct xsub *s, zmq_msg_t parts[XSUB_MAX_PARTS], unsigned *n);

/* True if s binds one of its endpoints (publishers dial in). */
bool xsub_binds(const struct xsub *s);
/* What came in on its bound endpoints (watch.h). */
struct watch_inbound;
void xsub_inbound(const struct xsub *s, struct watch_inbound *in);
/* True if the connection of descriptor fd (a message's ZMQ_SRCFD) closed
 * at or after since_ns (CLOCK_MONOTONIC): its publisher has gone. */
bool xsub_conn_closed_since(struct xsub *s, int fd, int64_t since_ns);

#endif
