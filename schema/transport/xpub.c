/* pub.c -- XPUB publisher with subscription tracking. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/net.h"
#include "transport/xpub.h"

#define PUB_MAX_SUBS 64

struct pub {
    void *sock;
    unsigned nsubs;
    struct {
        size_t len;
        char s[TOPIC_MAX];
    } subs[PUB_MAX_SUBS];
};

struct pub *pub_new(const char *url, char *err, size_t errlen)
{
    struct pub *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!(p->sock = net_socket(ZMQ_XPUB, url, true, err, errlen))) {
        free(p);
        return NULL;
    }
    return p;
}

void pub_free(struct pub *p)
{
    if (!p)
        return;
    zmq_close(p->sock);
    free(p);
}

void *pub_socket(struct pub *p)
{
    return p->sock;
}

/* XPUB (not verbose) reports the first subscribe and the last unsubscribe
 * of each prefix, so this set mirrors what somebody wants. */
static void track(struct pub *p, const char *s, size_t len, int on)
{
    unsigned i;
    for (i = 0; i < p->nsubs; i++)
        if (p->subs[i].len == len && memcmp(p->subs[i].s, s, len) == 0)
            break;
    if (on && i == p->nsubs && i < PUB_MAX_SUBS) {
        memcpy(p->subs[i].s, s, len);
        p->subs[i].len = len;
        p->nsubs++;
    } else if (!on && i < p->nsubs) {
        p->subs[i] = p->subs[--p->nsubs];
    }
}

int pub_poll_subs(struct pub *p,
                  void (*fn)(void *arg, const char *prefix, size_t len, int on),
                  void *arg)
{
    char buf[TOPIC_MAX + 2];
    int n = 0;

    for (;;) {
        int len = zmq_recv(p->sock, buf, sizeof buf, ZMQ_DONTWAIT);
        if (len < 0)
            break;
        /* Only 0x00/0x01 + a prefix that fits a topic mean anything. */
        if (len < 1 || len > TOPIC_MAX + 1 || (buf[0] != 0 && buf[0] != 1))
            continue;
        track(p, buf + 1, (size_t)len - 1, buf[0]);
        if (fn)
            fn(arg, buf + 1, (size_t)len - 1, buf[0]);
        n++;
    }
    return n;
}

bool pub_wants(const struct pub *p, enum variant v, const char *stream)
{
    char t[TOPIC_MAX + 1];
    size_t tl = topic_make(t, sizeof t, v, stream);
    for (unsigned i = 0; i < p->nsubs; i++)
        if (topic_matches(p->subs[i].s, p->subs[i].len, t, tl))
            return true;
    return false;
}

int pub_set_backpressure(struct pub *p, int timeout_ms)
{
    int on = 1;
    if (zmq_setsockopt(p->sock, ZMQ_XPUB_NODROP, &on, sizeof on) < 0 ||
        zmq_setsockopt(p->sock, ZMQ_SNDTIMEO, &timeout_ms,
                       sizeof timeout_ms) < 0)
        return -errno;
    return 0;
}

int pub_send(struct pub *p, enum variant v, const struct frame_hdr *h,
             zmq_msg_t *payload)
{
    char t[TOPIC_MAX + 1], hdr[FRAME_HDR_MAX];
    size_t tl = topic_make(t, sizeof t, v, h->stream);
    int hl = frame_encode(h, false, hdr, sizeof hdr), rc = 0;

    if (hl < 0)
        rc = hl;
    else if (zmq_send(p->sock, t, tl, ZMQ_SNDMORE) < 0 ||
             zmq_send(p->sock, hdr, (size_t)hl, payload ? ZMQ_SNDMORE : 0) < 0)
        rc = -errno;
    else if (payload && zmq_msg_send(payload, p->sock, 0) < 0)
        rc = -errno;
    if (payload)
        zmq_msg_close(payload);
    return rc;
}

int pub_forward(struct pub *p, zmq_msg_t *parts, unsigned n)
{
    int rc = 0;
    for (unsigned i = 0; i < n; i++) {
        if (rc == 0 &&
            zmq_msg_send(&parts[i], p->sock, i + 1 < n ? ZMQ_SNDMORE : 0) < 0)
            rc = -errno;
        zmq_msg_close(&parts[i]);
    }
    return rc;
}
