/* net.c -- vidpipe's ZeroMQ sockets and the context they share. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zmq.h>

#include "transport/curve.h"
#include "transport/endpoint.h"
#include "transport/net.h"
#include "transport/watch.h"
#include "transport/zap.h"
#include "util/log.h"

/* The context, its sockets and its ZAP handler, under mu. */
static struct {
    pthread_mutex_t mu;
    void *ctx;
    unsigned socks;
    struct zap *zap;
} net = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* A reference to the context (made if there is none), and the ZAP
 * handler answering for allow_dir if it is not NULL.  0 or -errno with
 * *why; *which is allow_dir if that is what *why is about. */
static int ctx_get(const char *allow_dir, void **ctx, const char **why,
                   const char **which)
{
    int rc = 0;

    pthread_mutex_lock(&net.mu);
    if (!net.ctx && (net.ctx = zmq_ctx_new()))
        zmq_ctx_set(net.ctx, ZMQ_BLOCKY, 0);
    if (!net.ctx) {
        rc = -errno;
        *why = "cannot make the ZeroMQ context";
    } else if (allow_dir && !net.zap) {
        rc = zap_new(&net.zap, net.ctx, allow_dir, why);
    } else if (allow_dir) {
        rc = zap_add(net.zap, allow_dir, why);
    }
    if (rc < 0 && net.ctx)
        *which = allow_dir;
    if (rc == 0) {
        net.socks++;
        *ctx = net.ctx;
    } else if (net.socks == 0 && net.ctx) {
        zmq_ctx_term(net.ctx);
        net.ctx = NULL;
    }
    pthread_mutex_unlock(&net.mu);
    return rc;
}

/* Drops a reference: the last one terminates the context (every socket
 * is closed by then) and joins the ZAP handler. */
static void ctx_put(void)
{
    pthread_mutex_lock(&net.mu);
    if (--net.socks == 0) {
        zmq_ctx_term(net.ctx);
        net.ctx = NULL;
        zap_free(net.zap);
        net.zap = NULL;
    }
    pthread_mutex_unlock(&net.mu);
}

static int setopt(void *s, int opt, int v)
{
    return zmq_setsockopt(s, opt, &v, sizeof v);
}

static void set_options(void *s, int type)
{
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
}

/* A listening TCP socket for url (tcp://HOST:PORT, HOST numeric, a name,
 * "*" or [IPv6]) whose connections start with at most NET_NOTSENT_LOWAT
 * unsent: the fd, -ENOENT if HOST is not an address this can resolve (an
 * interface name: libzmq binds it), or another -errno. */
static int tcp_listener(const char *url)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *ai;
    char host[ENDPOINT_MAX];
    const char *hp = url + 6, *colon = strrchr(hp, ':');
    int one = 1, lowat = NET_NOTSENT_LOWAT, fd, rc;

    if (strncmp(url, "tcp://", 6) != 0 || !colon ||
        (size_t)(colon - hp) >= sizeof host)
        return -ENOENT;
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = 0;
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host) - 2);
        host[strlen(host) - 2] = 0;
    }
    if (strcmp(host, "*") == 0)
        strcpy(host, "0.0.0.0");
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
        return -ENOENT;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat) <
            0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
        rc = -errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return rc;
    }
    freeaddrinfo(ai);
    return fd;
}

/* Binds a publisher's socket: on a listening socket of our own where we
 * can make one (see NET_NOTSENT_LOWAT), else libzmq's with a bounded send
 * buffer.  0 or -errno. */
static int pub_bind(void *sock, const char *url)
{
    int fd = tcp_listener(url);

    if (fd >= 0 && zmq_setsockopt(sock, ZMQ_USE_FD, &fd, sizeof fd) < 0) {
        close(fd);
        fd = -ENOENT;
    }
    if (fd < 0 && fd != -ENOENT)
        return fd;
    if (fd < 0)
        setopt(sock, ZMQ_SNDBUF, NET_SNDBUF);
    if (zmq_bind(sock, url) < 0) {
        int rc = -errno;
        if (fd >= 0)
            close(fd); /* libzmq takes it only once bound */
        return rc;
    }
    return 0;
}

int net_open(struct netsock *ns, int type, const struct curve *client,
             const struct curve *server, const char **why, const char **which)
{
    void *ctx;
    int rc;

    memset(ns, 0, sizeof *ns);
    *which = NULL;
    if ((rc = ctx_get(curve_allow_dir(server), &ctx, why, which)))
        return rc;
    if (!(ns->sock = zmq_socket(ctx, type))) {
        rc = -errno;
        *why = "cannot make a ZeroMQ socket";
        ctx_put();
        return rc;
    }
    ns->client = client;
    ns->server = server;
    set_options(ns->sock, type);
    /* Before any bind or connect, so no handshake is missed. */
    if ((rc = watch_new(&ns->watch, ctx, ns->sock, type == ZMQ_XPUB, why)) < 0)
        log_warn("%s: %s; failed handshakes go unreported", *why,
                 zmq_strerror(-rc));
    return 0;
}

/* The port (tcp://) or path (ipc://) url listens on once bound: where
 * the events of its accepted connections say they are. */
static void note_bound(struct netsock *ns, const char *url, bool curve)
{
    char last[ENDPOINT_MAX];
    size_t len = sizeof last;

    if (zmq_getsockopt(ns->sock, ZMQ_LAST_ENDPOINT, last, &len) < 0)
        snprintf(last, sizeof last, "%s", url);
    if (ns->watch)
        watch_add_bound(ns->watch, last, curve);
}

int net_add(struct netsock *ns, const char *url, bool bind, bool plain,
            const char **why)
{
    const struct curve *c = plain ? NULL : bind ? ns->server : ns->client;
    int type = 0, rc;
    size_t tl = sizeof type;

    zmq_getsockopt(ns->sock, ZMQ_TYPE, &type, &tl);
    /* Options are copied at each bind and connect: a socket's endpoints
     * can each have their own role. */
    if (c != ns->applied) {
        if ((rc = curve_apply(c, ns->sock, bind, why)) < 0)
            return rc;
        ns->applied = c;
    }
    if (!bind) {
        if ((rc = curve_apply_connect(c, ns->sock, url, why)) < 0)
            return rc;
        if (ns->watch)
            watch_add_url(ns->watch, url, c != NULL);
        if (zmq_connect(ns->sock, url) < 0) {
            *why = "connect";
            return -errno;
        }
        return 0;
    }
    *why = "bind";
    if (type == ZMQ_XPUB)
        rc = pub_bind(ns->sock, url);
    else
        rc = zmq_bind(ns->sock, url) < 0 ? -errno : 0;
    if (rc < 0)
        return rc;
    ns->nbound++;
    note_bound(ns, url, c != NULL);
    if (!c && !curve_url_is_local(url))
        log_warn(type == ZMQ_XPUB
                     ? "%s: no CURVE: anyone who can connect can watch this "
                       "stream (see --curve-secret)"
                     : "%s: no CURVE: anyone who can connect can publish "
                       "here (see --curve-allow-publishers)",
                 url);
    return 0;
}

void net_revive(struct netsock *ns)
{
    char url[ENDPOINT_MAX];
    const char *why;
    int rc;

    while (ns->watch && watch_take_lost(ns->watch, url, sizeof url)) {
        log_info("%s: connecting again after the failed handshake", url);
        zmq_disconnect(ns->sock, url); /* libzmq may have dropped it */
        if (ns->client != ns->applied &&
            curve_apply(ns->client, ns->sock, false, &why) == 0)
            ns->applied = ns->client;
        if ((rc = curve_apply_connect(ns->client, ns->sock, url, &why)) < 0)
            log_warn("connect %s: %s: %s", url, why, zmq_strerror(-rc));
        else if (zmq_connect(ns->sock, url) < 0)
            log_warn("connect %s: %s", url, zmq_strerror(errno));
    }
}

void net_close(struct netsock *ns)
{
    if (!ns->sock)
        return;
    watch_free(ns->watch);
    zmq_close(ns->sock);
    memset(ns, 0, sizeof *ns);
    ctx_put();
}
