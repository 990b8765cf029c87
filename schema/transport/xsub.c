/* xsub.c -- SUB subscriber that takes whole messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/net.h"
#include "transport/watch.h"
#include "transport/xsub.h"
#include "util/log.h"

struct xsub {
    struct netsock ns;
};

int xsub_new(struct xsub **out, const char *const *urls, const bool *binds,
             unsigned n, const struct curve *client, const struct curve *server,
             const char **why, const char **which)
{
    struct xsub *s;
    int rc;

    *out = NULL;
    *which = NULL;
    if (n == 0) {
        *why = "no input endpoint";
        return -EINVAL;
    }
    if (!(s = calloc(1, sizeof *s))) {
        *why = "out of memory";
        return -ENOMEM;
    }
    if ((rc = net_open(&s->ns, ZMQ_SUB, client, server, why, which)) < 0)
        goto fail;
    for (unsigned i = 0; i < n; i++) {
        *which = urls[i];
        bool bind = binds && binds[i];
        /* Who may dial in to a socket file is who may open it. */
        bool plain = bind && strncmp(urls[i], "ipc://", 6) == 0;
        if (plain && server)
            log_info("%s: publishers dial in without CURVE: the socket "
                     "file's permissions say who may",
                     urls[i]);
        if ((rc = net_add(&s->ns, urls[i], bind, plain, why)) < 0)
            goto fail;
    }
    *which = NULL;
    *out = s;
    return 0;
fail:
    xsub_free(s);
    return rc;
}

void xsub_free(struct xsub *s)
{
    if (!s)
        return;
    net_close(&s->ns);
    free(s);
}

void *xsub_socket(struct xsub *s)
{
    return s->ns.sock;
}

int xsub_subscribe(struct xsub *s, const void *prefix, size_t len, bool on)
{
    if (zmq_setsockopt(s->ns.sock, on ? ZMQ_SUBSCRIBE : ZMQ_UNSUBSCRIBE, prefix,
                       len) < 0)
        return -errno;
    return 0;
}

int xsub_recv(struct xsub *s, zmq_msg_t parts[XSUB_MAX_PARTS], unsigned *n)
{
    zmq_msg_t extra;
    int more = 1;
    size_t ml = sizeof more;
    bool too_many = false;

    *n = 0;
    net_revive(&s->ns);
    while (more) {
        zmq_msg_t *m = *n < XSUB_MAX_PARTS ? &parts[*n] : &extra;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, s->ns.sock,
                         *n == 0 && !too_many ? ZMQ_DONTWAIT : 0) < 0) {
            int rc = -errno;
            zmq_msg_close(m);
            /* Interrupted inside a multipart message: the rest stays
             * queued and is read (and rejected) as its own message. */
            while (*n > 0)
                zmq_msg_close(&parts[--*n]);
            return rc;
        }
        zmq_getsockopt(s->ns.sock, ZMQ_RCVMORE, &more, &ml);
        if (m == &extra) {
            zmq_msg_close(m);
            too_many = true;
            continue;
        }
        ++*n;
    }
    if (too_many) {
        while (*n > 0)
            zmq_msg_close(&parts[--*n]);
        return -EMSGSIZE;
    }
    return 0;
}

void xsub_inbound(const struct xsub *s, struct watch_inbound *in)
{
    if (s->ns.watch)
        watch_inbound(s->ns.watch, in);
    else
        *in = (struct watch_inbound){0};
}

bool xsub_binds(const struct xsub *s)
{
    return s->ns.nbound > 0;
}

bool xsub_conn_closed_since(struct xsub *s, int fd, int64_t since_ns)
{
    return s->ns.watch && watch_closed_since(s->ns.watch, fd, since_ns);
}
