/* endpoint.h -- the one endpoint grammar all vidpipe programs share.
 *
 *   tcp://HOST:PORT, ipc://PATH   ZeroMQ (outputs bind, inputs connect)
 *   -                             msgpack frame stream on stdin/stdout
 */
#ifndef VIDPIPE_ENDPOINT_H
#define VIDPIPE_ENDPOINT_H

#define ENDPOINT_MAX 256

enum endpoint_kind {
    EP_ZMQ = 1, /* tcp:// or ipc:// */
    EP_STDIO,   /* "-" */
};

struct endpoint {
    enum endpoint_kind kind;
    char url[ENDPOINT_MAX];
};

/* Parses a transport endpoint; 0 or -EINVAL with *why.  Checks the form
 * (tcp://HOST:PORT with a port 1..65535, or ipc://PATH), not reachability. */
int endpoint_parse(const char *s, struct endpoint *ep, const char **why);

#endif
