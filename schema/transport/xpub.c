/* xpub.c -- XPUB publisher with subscription tracking. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/net.h"
#include "transport/subs.h"
#include "transport/watch.h"
#include "transport/xpub.h"
#include "util/log.h"

struct xpub {
    struct netsock ns;
    struct subs *subs;
    char unkept[16]; /* a prefix of subscriptions passed on, never kept */
    uint64_t added, removed, refused;
    struct log_limit log;
};

int xpub_new(struct xpub **out, const char *url, bool bind,
             const struct curve *c, const char **why, const char **which)
{
    struct xpub *p = calloc(1, sizeof *p);
    int rc;

    *out = NULL;
    *which = url;
    if (!p) {
        *why = "out of memory";
        return -ENOMEM;
    }
    if (!(p->subs = subs_new(XPUB_MAX_SUBS, XPUB_MAX_SUBS_PER_CLIENT))) {
        free(p);
        *why = "out of memory";
        return -ENOMEM;
    }
    if ((rc = net_open(&p->ns, ZMQ_XPUB, bind ? NULL : c, bind ? c : NULL, why,
                       which)) < 0 ||
        (rc = net_add(&p->ns, url, bind, false, why)) < 0) {
        if (!*which)
            *which = url;
        xpub_free(p);
        return rc;
    }
    /* Every subscribe, not only a prefix's first: one refused for its
     * client may be another's to have.  Unsubscribes stay one per prefix,
     * when its last holder leaves, which is when its entry goes. */
    int on = 1;
    if (zmq_setsockopt(p->ns.sock, ZMQ_XPUB_VERBOSE, &on, sizeof on) < 0) {
        rc = -errno;
        *why = "cannot set XPUB_VERBOSE";
        xpub_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int xpub_limit_subs(struct xpub *p, unsigned max, unsigned per_client,
                    const char *unkept)
{
    struct subs *t = subs_new(max, per_client);
    if (!t)
        return -ENOMEM;
    subs_free(p->subs);
    p->subs = t;
    snprintf(p->unkept, sizeof p->unkept, "%s", unkept ? unkept : "");
    return 0;
}

void xpub_free(struct xpub *p)
{
    if (!p)
        return;
    net_close(&p->ns);
    subs_free(p->subs);
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

unsigned xpub_subs(const struct xpub *p)
{
    return subs_count(p->subs);
}

const uint64_t *xpub_sub_counter(const struct xpub *p, enum xpub_counter c)
{
    return c == XPUB_SUBS_ADDED     ? &p->added
           : c == XPUB_SUBS_REMOVED ? &p->removed
                                    : &p->refused;
}

/* Counts and logs (at most once a second) a subscription refused with
 * rc. */
static void refused(struct xpub *p, const char *s, size_t len, int fd, int rc)
{
    p->refused++;
    char shown[41]; /* a client's bytes: printable ones only, one line */
    size_t k = 0;
    for (; k < len && k < sizeof shown - 1; k++)
        shown[k] = s[k] >= 0x20 && s[k] < 0x7f ? s[k] : '?';
    shown[k] = 0;
    if (rc == -EDQUOT)
        log_limited(&p->log,
                    "refused a subscription of %s%s: its client holds %u, "
                    "its most (--max-subs-per-client)",
                    shown, k < len ? "..." : "", subs_conn_count(p->subs, fd));
    else if (rc == -ENOSPC)
        log_limited(&p->log,
                    "refused a subscription of %s%s: the publisher holds "
                    "%u, its most (--max-subs)",
                    shown, k < len ? "..." : "", subs_count(p->subs));
    else
        log_limited(&p->log, "refused a subscription of %s: %s", shown,
                    strerror(-rc));
}

/* One subscription change from connection fd (-1: unknown, as for the
 * unsubscribes of a connection that closed): true if it changed the
 * table, or is one of the unkept (passed on). */
static bool track(struct xpub *p, const char *s, size_t len, bool on, int fd)
{
    size_t ul = strlen(p->unkept);
    if (ul && len >= ul && memcmp(s, p->unkept, ul) == 0)
        return true;
    if (!on) {
        bool had = subs_remove(p->subs, s, len);
        p->removed += had;
        return had;
    }
    bool added;
    int rc = subs_add(p->subs, s, len, fd, &added);
    if (rc == 0) {
        p->added += added;
        return added;
    }
    refused(p, s, len, fd, rc);
    return false;
}

int xpub_poll_subs(struct xpub *p,
                   void (*fn)(void *arg, const char *prefix, size_t len,
                              bool on),
                   void *arg)
{
    int n = 0;

    net_revive(&p->ns); /* a publisher that dials out was refused */
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, p->ns.sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        const char *b = zmq_msg_data(&m);
        size_t len = zmq_msg_size(&m);
        /* Only 0x00/0x01 + a prefix that fits mean anything.  The source
         * descriptor names the connection (libzmq's metadata, on each
         * message its engine read; none on the unsubscribes it makes
         * for a connection that closed). */
        if (len >= 1 && len <= SUBS_PREFIX_MAX + 1 &&
            (b[0] == 0 || b[0] == 1) &&
            track(p, b + 1, len - 1, b[0], zmq_msg_get(&m, ZMQ_SRCFD))) {
            if (fn)
                fn(arg, b + 1, len - 1, b[0]);
            n++;
        }
        zmq_msg_close(&m);
    }
    return n;
}

bool xpub_wants(const struct xpub *p, const char *topic, size_t tlen)
{
    return subs_match(p->subs, topic, tlen);
}

bool xpub_wants_any(const struct xpub *p, const char *prefix, size_t len)
{
    return subs_overlap(p->subs, prefix, len);
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
