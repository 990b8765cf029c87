/* net.c -- ZeroMQ context and shared socket options. */
#include <errno.h>
#include <stdio.h>

#include <zmq.h>

#include "transport/curve.h"
#include "transport/net.h"

static void *ctx;

void *net_ctx(void)
{
    if (!ctx) {
        ctx = zmq_ctx_new();
        if (ctx)
            zmq_ctx_set(ctx, ZMQ_BLOCKY, 0);
    }
    return ctx;
}

void net_term(void)
{
    if (ctx) {
        zmq_ctx_term(ctx);
        ctx = NULL;
    }
    curve_fini();
}

static int setopt(void *s, int opt, int v)
{
    return zmq_setsockopt(s, opt, &v, sizeof v);
}

int net_connect(void *sock, const char *url, char *err, size_t errlen)
{
    if (curve_prepare_connect(sock, url, err, errlen) < 0)
        return -1;
    if (zmq_connect(sock, url) < 0) {
        snprintf(err, errlen, "connect %s: %s", url, zmq_strerror(errno));
        return -1;
    }
    return 0;
}

void *net_socket(int type, const char *url, bool bind, char *err,
                 size_t errlen)
{
    void *s;

    if (!net_ctx() || !(s = zmq_socket(ctx, type))) {
        snprintf(err, errlen, "zmq socket: %s", zmq_strerror(errno));
        return NULL;
    }
    setopt(s, ZMQ_LINGER, 0);
    /* A SUB sends only subscriptions, and libzmq drops those that find
     * its send queue full (also when it resends them all on reconnect):
     * never bound them. */
    setopt(s, ZMQ_SNDHWM, type == ZMQ_XPUB ? NET_PUB_HWM : 0);
    setopt(s, ZMQ_RCVHWM, NET_HWM);
    /* A restarted peer is found again within a fraction of a second. */
    setopt(s, ZMQ_RECONNECT_IVL, 100);
    setopt(s, ZMQ_RECONNECT_IVL_MAX, 500);
    if (type == ZMQ_XPUB) {
        /* Subscribers ping and the publisher answers; a publisher that
         * timed out a paused subscriber itself would trip libzmq 4.3.4's
         * assertion !_io_error when the subscriber resumes.  TCP
         * keepalive reaps subscribers that vanished without closing. */
        setopt(s, ZMQ_TCP_KEEPALIVE, 1);
        setopt(s, ZMQ_TCP_KEEPALIVE_IDLE, 10);
        setopt(s, ZMQ_TCP_KEEPALIVE_INTVL, 2);
        setopt(s, ZMQ_TCP_KEEPALIVE_CNT, 3);
    } else {
        /* ZMTP heartbeats notice a publisher that vanished without
         * closing TCP, so the input reconnects (and reports stalled). */
        setopt(s, ZMQ_HEARTBEAT_IVL, 500);
        setopt(s, ZMQ_HEARTBEAT_TIMEOUT, 2000);
        setopt(s, ZMQ_HEARTBEAT_TTL, 2000);
    }
    /* What a peer may make us hold in one message: a publisher receives
     * only subscriptions (a topic prefix); a subscriber, at most the
     * largest legal frame. */
    int64_t max = type == ZMQ_XPUB ? NET_SUB_MSG_MAX : NET_FRAME_MSG_MAX;
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max);
    /* Drop a silent peer's connection attempt after 2 s. */
    setopt(s, ZMQ_HANDSHAKE_IVL, 2000);
    /* Bytes queued in the kernel for a slow link are latency: see
     * NET_SNDBUF. */
    if (type == ZMQ_XPUB)
        setopt(s, ZMQ_SNDBUF, NET_SNDBUF);
    if (curve_prepare_socket(s, url, bind, err, errlen) < 0) {
        zmq_close(s);
        return NULL;
    }
    if (bind ? zmq_bind(s, url) < 0 : zmq_connect(s, url) < 0) {
        snprintf(err, errlen, "%s %s: %s", bind ? "bind" : "connect", url,
                 zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    if (bind)
        curve_bound(url);
    return s;
}
