/* xpub.c -- XPUB publisher with subscription tracking. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/net.h"
#include "transport/watch.h"
#include "transport/xpub.h"

#define XPUB_MAX_SUBS 64
#define XPUB_PREFIX_MAX 128 /* longer subscriptions mean nothing here */

struct xpub {
    struct netsock ns;
    unsigned nsubs;
    struct {
        size_t len;
        char s[XPUB_PREFIX_MAX];
    } subs[XPUB_MAX_SUBS];
};

int xpub_new(struct xpub **out, const char *url, const struct curve *c,
             const char **why, const char **which)
{
    struct xpub *p = calloc(1, sizeof *p);
    int rc;

    *out = NULL;
    *which = url;
    if (!p) {
        *why = "out of memory";
        return -ENOMEM;
    }
    if ((rc = net_open(&p->ns, ZMQ_XPUB, url, true, c, why, which)) < 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void xpub_free(struct xpub *p)
{
    if (!p)
        return;
    net_close(&p->ns);
    free(p);
}

void *xpub_socket(struct xpub *p)
{
    return p->ns.sock;
}

uint64_t xpub_bounds_raised(const struct xpub *p)
{
    return p->ns.watch ? watch_bounds_raised(p->ns.watch) : 0;
}

/* XPUB (not verbose) reports the first subscribe and the last unsubscribe
 * of each prefix, so this set mirrors what somebody wants. */
static void track(struct xpub *p, const char *s, size_t len, bool on)
{
    unsigned i;
    for (i = 0; i < p->nsubs; i++)
        if (p->subs[i].len == len && memcmp(p->subs[i].s, s, len) == 0)
            break;
    if (on && i == p->nsubs && i < XPUB_MAX_SUBS) {
        memcpy(p->subs[i].s, s, len);
        p->subs[i].len = len;
        p->nsubs++;
    } else if (!on && i < p->nsubs) {
        p->subs[i] = p->subs[--p->nsubs];
    }
}

int xpub_poll_subs(struct xpub *p,
                   void (*fn)(void *arg, const char *prefix, size_t len,
                              bool on),
                   void *arg)
{
    char buf[XPUB_PREFIX_MAX + 2];
    int n = 0;

    for (;;) {
        int len = zmq_recv(p->ns.sock, buf, sizeof buf, ZMQ_DONTWAIT);
        if (len < 0)
            break;
        /* Only 0x00/0x01 + a prefix that fits mean anything. */
        if (len < 1 || len > XPUB_PREFIX_MAX + 1 ||
            (buf[0] != 0 && buf[0] != 1))
            continue;
        track(p, buf + 1, (size_t)len - 1, buf[0]);
        if (fn)
            fn(arg, buf + 1, (size_t)len - 1, buf[0]);
        n++;
    }
    return n;
}

bool xpub_wants(const struct xpub *p, const char *topic, size_t tlen)
{
    for (unsigned i = 0; i < p->nsubs; i++)
        if (p->subs[i].len <= tlen &&
            memcmp(p->subs[i].s, topic, p->subs[i].len) == 0)
            return true;
    return false;
}

bool xpub_wants_any(const struct xpub *p, const char *prefix, size_t len)
{
    for (unsigned i = 0; i < p->nsubs; i++) {
        size_t n = p->subs[i].len < len ? p->subs[i].len : len;
        if (memcmp(p->subs[i].s, prefix, n) == 0)
            return true;
    }
    return false;
}

int xpub_set_backpressure(struct xpub *p, int timeout_ms)
{
    int on = 1;
    if (zmq_setsockopt(p->ns.sock, ZMQ_XPUB_NODROP, &on, sizeof on) < 0 ||
        zmq_setsockopt(p->ns.sock, ZMQ_SNDTIMEO, &timeout_ms,
                       sizeof timeout_ms) < 0)
        return -errno;
    return 0;
}

int xpub_send(struct xpub *p, const void *topic, size_t tlen, const void *hdr,
              size_t hlen, zmq_msg_t *payload)
{
    int rc = 0;

    if (zmq_send(p->ns.sock, topic, tlen, ZMQ_SNDMORE) < 0 ||
        zmq_send(p->ns.sock, hdr, hlen, payload ? ZMQ_SNDMORE : 0) < 0)
        rc = -errno;
    else if (payload && zmq_msg_send(payload, p->ns.sock, 0) < 0)
        rc = -errno;
    if (payload)
        zmq_msg_close(payload);
    return rc;
}

int xpub_forward(struct xpub *p, zmq_msg_t *parts, unsigned n)
{
    int rc = 0;
    for (unsigned i = 0; i < n; i++) {
        if (rc == 0 && zmq_msg_send(&parts[i], p->ns.sock,
                                    i + 1 < n ? ZMQ_SNDMORE : 0) < 0)
            rc = -errno;
        zmq_msg_close(&parts[i]);
    }
    return rc;
}
