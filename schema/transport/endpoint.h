/* endpoint.h -- the one endpoint grammar all vidpipe programs share.
 *
 *   tcp://HOST:PORT, ipc://PATH   ZeroMQ, in the usual direction: an
 *                                 output binds, an input connects
 *   bind:tcp://..., bind:ipc://...        bind, whatever the side
 *   connect:tcp://..., connect:ipc://...  connect, whatever the side
 *   -                             msgpack frame stream on stdin/stdout
 *
 * So a camera behind NAT dials its gateway (capture -o
 * connect:tcp://gw:5554, relay -i bind:tcp://0.0.0.0:5554).  The
 * direction is a word, not CZMQ's '@' and '>': an unquoted '>' is a shell
 * redirection, and a word says what it does.
 */
#ifndef VIDPIPE_ENDPOINT_H
#define VIDPIPE_ENDPOINT_H

#include <stdbool.h>

#define ENDPOINT_MAX 256

enum endpoint_kind {
    EP_ZMQ = 1, /* tcp:// or ipc:// */
    EP_STDIO,   /* "-" */
};

/* Which way a ZeroMQ endpoint goes: the side's usual way, or as said. */
enum endpoint_dir {
    EP_DIR_DEFAULT = 0,
    EP_DIR_BIND,    /* "bind:" */
    EP_DIR_CONNECT, /* "connect:" */
};

struct endpoint {
    enum endpoint_kind kind;
    enum endpoint_dir dir;
    char url[ENDPOINT_MAX]; /* without the direction: what ZeroMQ takes */
};

/* Parses a transport endpoint; 0 or -EINVAL with *why.  Checks the form
 * (tcp://HOST:PORT with a port 1..65535, or ipc://PATH, each maybe after
 * bind: or connect:), not reachability. */
int endpoint_parse(const char *s, struct endpoint *ep, const char **why);

/* True if ep is bound by a side whose usual way is to bind (an output)
 * or not (an input). */
static inline bool endpoint_binds(const struct endpoint *ep, bool output)
{
    return ep->dir == EP_DIR_DEFAULT ? output : ep->dir == EP_DIR_BIND;
}

#endif
