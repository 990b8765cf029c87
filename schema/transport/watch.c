/* watch.c -- a thread that logs a socket's failed handshakes. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <zmq.h>

#include "transport/endpoint.h"
#include "transport/sendq.h"
#include "util/clock.h"
#include "util/log.h"
#include "transport/watch.h"

#define WATCH_CONNS 64 /* accepted connections whose address is known */
#define WATCH_LOGGED 64
#define WATCH_BOUND 32         /* endpoints bound */
#define WATCH_CLOSED 64        /* connections that closed, remembered */
#define REVIVE_NS 1000000000LL /* at most one reconnect a second each */
#define TUNE_NS 100000000LL    /* send bounds sized ten times a second */

#define FAILED                                                                 \
    (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |                                    \
     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

struct watch {
    void *mon; /* PAIR connected to the socket's monitor */
    void *sock;
    pthread_t th;
    bool pub;
    /* The endpoints it binds, as its accepted connections' events name
     * them: the port of a tcp:// one, the path of an ipc:// one. */
    struct {
        char where[ENDPOINT_MAX];
        bool curve;
    } bound[WATCH_BOUND];
    _Atomic unsigned nbound;
    /* Connected sockets: libzmq 4.3 gives up on an endpoint whose
     * handshake failed with a protocol or auth error (a peer that is not
     * ZeroMQ, or a key mismatch), or that a peer cut off with bytes it
     * took for a broken ZMTP 1.0 frame: no reconnect is ever scheduled.
     * The monitor thread marks such endpoints lost (or suspect: cut off,
     * and no reconnect announced within a second); the socket's own thread
     * connects them again (watch_take_lost()). */
    pthread_mutex_t mu;
    struct {
        char url[ENDPOINT_MAX];
        bool curve;
        bool lost;
        int64_t suspect_ns; /* disconnected then, no retry seen since */
        int64_t revived_ns;
    } * urls; /* every endpoint connected, grown as they come */
    unsigned nurls, urls_cap;
    atomic_bool any_lost;
    atomic_bool stop;
    /* Bound sockets: the peer address of each accepted descriptor, read
     * when ACCEPTED arrives, since the failure event names no peer. */
    struct {
        int fd;
        char addr[INET6_ADDRSTRLEN];
    } conns[WATCH_CONNS];
    unsigned next_conn;
    uint16_t pending; /* a failure waiting for its DISCONNECTED */
    uint32_t pending_value;
    struct {
        char peer[ENDPOINT_MAX];
        uint16_t event;
        uint32_t value;
    } logged[WATCH_LOGGED];
    unsigned nlogged, next_logged;
    /* A publisher's connections, the watch thread's alone. */
    struct sendq sq;
    _Atomic uint64_t raised;
    /* Bound endpoints: connections open, handshakes done and refused. */
    _Atomic uint64_t open, handshakes, refused;
    /* Connections that closed lately (ring), under mu. */
    struct {
        int fd;
        int64_t ns;
    } closed[WATCH_CLOSED];
    unsigned next_closed;
};

/* True the first time peer fails this way (until it succeeds again). */
static bool first_time(struct watch *w, const char *peer, uint16_t ev,
                       uint32_t value)
{
    if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        value = 0; /* an errno: any of them is the same story */
    for (unsigned i = 0; i < w->nlogged; i++)
        if (w->logged[i].event == ev && w->logged[i].value == value &&
            strcmp(w->logged[i].peer, peer) == 0)
            return false;
    unsigned i = w->nlogged < WATCH_LOGGED ? w->nlogged++
                                           : w->next_logged++ % WATCH_LOGGED;
    snprintf(w->logged[i].peer, sizeof w->logged[i].peer, "%s", peer);
    w->logged[i].event = ev;
    w->logged[i].value = value;
    return true;
}

/* Forgets peer's failures; true if there were any. */
static bool forget(struct watch *w, const char *peer)
{
    bool had = false;
    for (unsigned i = 0; i < w->nlogged;) {
        if (strcmp(w->logged[i].peer, peer) == 0) {
            w->logged[i] = w->logged[--w->nlogged];
            had = true;
        } else {
            i++;
        }
    }
    return had;
}

static void client_failed(struct watch *w, const char *ep, bool curve,
                          uint16_t ev, uint32_t v)
{
    /* A publisher dials a subscriber (a relay's --listen). */
    const char *peer = w->pub ? "subscriber" : "publisher";

    if (!first_time(w, ep, ev, v))
        return;
    if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        log_warn("%s: the %s refused our key (ZAP %u): is our .pub in its "
                 "%s directory?",
                 ep, peer, v,
                 w->pub ? "--curve-allow-publishers" : "--curve-allow");
    else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
             v == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        log_warn(curve ? "%s: the %s does not use CURVE"
                       : "%s: the %s requires CURVE (give "
                         "--curve-server-key and --curve-secret)",
                 ep, peer);
    else if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        log_warn("%s: handshake failed: protocol error 0x%x", ep, v);
    else if (curve)
        log_warn("%s: the %s dropped our CURVE handshake (wrong "
                 "--curve-server-key?)",
                 ep, peer);
    else
        log_warn("%s: the %s closed the connection during the "
                 "handshake (%s); does it require CURVE?",
                 ep, peer, zmq_strerror((int)v));
}

static void server_failed(struct watch *w, const char *ep, const char *peer,
                          bool curve, uint16_t ev, uint32_t v)
{
    /* Keys the allow list refuses are logged by the ZAP handler.  A
     * client that breaks off a plain handshake is no news. */
    if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL && !curve)
        return;
    atomic_fetch_add(&w->refused, 1);
    if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || !first_time(w, peer, ev, v))
        return;
    if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        /* Whichever side sees the other's greeting first hangs up, so a
         * client without CURVE shows as this about as often as not. */
        log_warn("refused a client from %s on %s: it broke off the CURVE "
                 "handshake (it does not use CURVE?)",
                 peer, ep);
    else if (v == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        log_warn(curve ? "refused a client from %s on %s: it does not "
                         "use CURVE"
                       : "refused a client from %s on %s: it uses "
                         "CURVE, this socket does not",
                 peer, ep);
    else if (v == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
        log_warn("refused a client from %s on %s: its CURVE handshake "
                 "failed (it has the wrong server key?)",
                 peer, ep);
    else
        log_warn("refused a client from %s on %s: protocol error 0x%x", peer,
                 ep, v);
}

static void accepted(struct watch *w, int fd)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    unsigned i = w->next_conn++ % WATCH_CONNS;
    const void *a = NULL;

    /* Best effort: a client refused at once may be gone already. */
    w->conns[i].fd = fd;
    strcpy(w->conns[i].addr, "an unknown address");
    if (getpeername(fd, (struct sockaddr *)&sa, &len) < 0)
        return;
    if (sa.ss_family == AF_INET)
        a = &((struct sockaddr_in *)&sa)->sin_addr;
    else if (sa.ss_family == AF_INET6)
        a = &((struct sockaddr_in6 *)&sa)->sin6_addr;
    if (a)
        inet_ntop(sa.ss_family, a, w->conns[i].addr, sizeof w->conns[i].addr);
}

static const char *peer_of(struct watch *w, int fd)
{
    for (unsigned i = 0; i < WATCH_CONNS; i++)
        if (w->conns[i].fd == fd && w->conns[i].addr[0])
            return w->conns[i].addr;
    return "an unknown address";
}

/* The endpoint a monitor event names: the url as connected, or (libzmq
 * may report the resolved address) the one with the same port. */
static int url_of(struct watch *w, const char *ep)
{
    const char *port = strrchr(ep, ':');
    int same_port = -1;
    for (unsigned i = 0; i < w->nurls; i++) {
        if (strcmp(w->urls[i].url, ep) == 0)
            return (int)i;
        const char *p = strrchr(w->urls[i].url, ':');
        if (port && p && strcmp(p, port) == 0)
            same_port = (int)i;
    }
    return same_port;
}

enum { LOST, SUSPECT, RETRYING };

static void mark(struct watch *w, const char *ep, int how)
{
    pthread_mutex_lock(&w->mu);
    int i = url_of(w, ep);
    if (i >= 0) {
        if (how == LOST)
            w->urls[i].lost = true;
        w->urls[i].suspect_ns = how == SUSPECT ? clock_mono_ns() : 0;
        if (how != RETRYING)
            atomic_store(&w->any_lost, true);
    }
    pthread_mutex_unlock(&w->mu);
}

/* The bound endpoint whose connections an event names (ep: their
 * local address), or -1: one of ours it connects to. */
static int bound_of(struct watch *w, const char *ep)
{
    unsigned n = atomic_load(&w->nbound);
    const char *port = strrchr(ep, ':');
    bool tcp = strncmp(ep, "tcp://", 6) == 0;

    if (n == 0)
        return -1;
    pthread_mutex_lock(&w->mu);
    bool connected = false;
    for (unsigned i = 0; i < w->nurls && !connected; i++)
        connected = strcmp(w->urls[i].url, ep) == 0;
    pthread_mutex_unlock(&w->mu);
    if (connected)
        return -1;
    for (unsigned i = 0; i < n; i++)
        if (strcmp(w->bound[i].where, tcp && port ? port : ep) == 0)
            return (int)i;
    return w->nurls == 0 ? 0 : -1;
}

/* Remembers that connection fd closed now. */
static void closed(struct watch *w, int fd)
{
    pthread_mutex_lock(&w->mu);
    unsigned i = w->next_closed++ % WATCH_CLOSED;
    w->closed[i].fd = fd;
    w->closed[i].ns = clock_mono_ns();
    pthread_mutex_unlock(&w->mu);
}

static void on_event(struct watch *w, uint16_t ev, uint32_t v, const char *ep)
{
    int b = ev == ZMQ_EVENT_ACCEPTED ? 0 : bound_of(w, ep);

    if (ev == ZMQ_EVENT_DISCONNECTED)
        closed(w, (int)v);
    if (b < 0) {
        bool curve = false;
        pthread_mutex_lock(&w->mu);
        int i = url_of(w, ep);
        curve = i >= 0 && w->urls[i].curve;
        pthread_mutex_unlock(&w->mu);
        if (ev & FAILED)
            client_failed(w, ep, curve, ev, v);
        if (ev & (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                  ZMQ_EVENT_HANDSHAKE_FAILED_AUTH))
            mark(w, ep, LOST);
        else if (ev == ZMQ_EVENT_DISCONNECTED)
            mark(w, ep, SUSPECT);
        else if (ev & (ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_CONNECTED |
                       ZMQ_EVENT_CONNECT_DELAYED))
            mark(w, ep, RETRYING);
        else if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && forget(w, ep))
            log_info("%s: handshake succeeded", ep);
        /* A publisher that dials out bounds its unsent bytes too. */
        if (ev == ZMQ_EVENT_CONNECTED && w->pub)
            sendq_add(&w->sq, (int)v, clock_mono_ns());
        else if (ev == ZMQ_EVENT_DISCONNECTED && w->pub)
            sendq_drop(&w->sq, (int)v);
        return;
    }
    /* libzmq reports a failed handshake and then, at once, the
     * DISCONNECTED of the same descriptor: that names the peer. */
    if (ev == ZMQ_EVENT_ACCEPTED) {
        accepted(w, (int)v);
        atomic_fetch_add(&w->open, 1);
        if (w->pub)
            sendq_add(&w->sq, (int)v, clock_mono_ns());
    } else if (ev & FAILED) {
        w->pending = ev;
        w->pending_value = v;
    } else if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        w->pending = 0;
        atomic_fetch_add(&w->handshakes, 1);
    } else if (ev == ZMQ_EVENT_DISCONNECTED) {
        sendq_drop(&w->sq, (int)v);
        if (atomic_load(&w->open) > 0)
            atomic_fetch_sub(&w->open, 1);
        if (w->pending)
            server_failed(w, ep, peer_of(w, (int)v), w->bound[b].curve,
                          w->pending, w->pending_value);
        w->pending = 0;
    }
}

/* Each TUNE_NS, the send bounds of the connections there are. */
static void tune(struct watch *w, int64_t *next)
{
    int64_t now = clock_mono_ns();
    if (!w->sq.n || now < *next)
        return;
    *next = now + TUNE_NS;
    sendq_tune(&w->sq, now);
    atomic_store_explicit(&w->raised, w->sq.raised, memory_order_relaxed);
}

static void *run(void *arg)
{
    struct watch *w = arg;
    zmq_pollitem_t it = {w->mon, 0, ZMQ_POLLIN, 0};
    int64_t next_tune = 0;

    while (!atomic_load(&w->stop)) {
        tune(w, &next_tune);
        uint8_t head[6];
        char ep[ENDPOINT_MAX];
        uint16_t ev;
        uint32_t v;
        /* The monitor's last event ends the loop at once; the stop flag,
         * checked each 100 ms, in case that event is lost. */
        if (zmq_poll(&it, 1, 100) < 0 && errno == ETERM)
            break;
        if (!(it.revents & ZMQ_POLLIN))
            continue;
        int n = zmq_recv(w->mon, head, sizeof head, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break; /* ETERM */
        int m = zmq_recv(w->mon, ep, sizeof ep - 1, 0);
        if (m < 0)
            break;
        ep[m < (int)sizeof ep - 1 ? m : (int)sizeof ep - 1] = 0;
        if (n != (int)sizeof head)
            continue;
        memcpy(&ev, head, sizeof ev);
        memcpy(&v, head + 2, sizeof v);
        if (ev == ZMQ_EVENT_MONITOR_STOPPED)
            break;
        on_event(w, ev, v, ep);
    }
    zmq_close(w->mon);
    return NULL;
}

int watch_new(struct watch **out, void *ctx, void *sock, bool pub,
              const char **why)
{
    static atomic_uint serial;
    char addr[64];
    int zero = 0, rc;
    struct watch *w = calloc(1, sizeof *w);

    *out = NULL;
    if (!w) {
        *why = "out of memory";
        return -ENOMEM;
    }
    w->sock = sock;
    w->pub = pub;
    pthread_mutex_init(&w->mu, NULL);
    for (unsigned i = 0; i < WATCH_CONNS; i++)
        w->conns[i].fd = -1;
    snprintf(addr, sizeof addr, "inproc://vidpipe-watch-%u",
             atomic_fetch_add(&serial, 1));
    if (zmq_socket_monitor(sock, addr,
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_DELAYED |
                               ZMQ_EVENT_CONNECT_RETRIED |
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED | FAILED |
                               ZMQ_EVENT_MONITOR_STOPPED) < 0) {
        rc = -errno;
        *why = "cannot monitor the socket";
        goto fail;
    }
    /* Connected here, before sock binds or connects: no event is lost. */
    if (!(w->mon = zmq_socket(ctx, ZMQ_PAIR)) ||
        zmq_setsockopt(w->mon, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
        zmq_connect(w->mon, addr) < 0) {
        rc = -errno;
        *why = "cannot connect to the socket's monitor";
        goto fail;
    }
    if ((rc = -pthread_create(&w->th, NULL, run, w)) < 0) {
        *why = "cannot start the watch thread";
        goto fail;
    }
    *out = w;
    return 0;
fail:
    if (w->mon)
        zmq_close(w->mon);
    zmq_socket_monitor(sock, NULL, 0);
    free(w);
    return rc;
}

void watch_free(struct watch *w)
{
    if (!w)
        return;
    zmq_socket_monitor(w->sock, NULL, 0); /* sends MONITOR_STOPPED */
    atomic_store(&w->stop, true);
    pthread_join(w->th, NULL);
    pthread_mutex_destroy(&w->mu);
    free(w->urls);
    free(w);
}

void watch_add_url(struct watch *w, const char *url, bool curve)
{
    pthread_mutex_lock(&w->mu);
    unsigned i;
    for (i = 0; i < w->nurls; i++)
        if (strcmp(w->urls[i].url, url) == 0)
            break;
    if (i == w->nurls && i == w->urls_cap) {
        unsigned cap = w->urls_cap ? 2 * w->urls_cap : 16;
        void *urls = realloc(w->urls, cap * sizeof *w->urls);
        if (urls) {
            w->urls = urls;
            w->urls_cap = cap;
        } else {
            log_warn("%s: out of memory: not reconnected after a failed "
                     "handshake",
                     url);
        }
    }
    if (i == w->nurls && i < w->urls_cap) {
        memset(&w->urls[i], 0, sizeof w->urls[i]);
        w->urls[i].curve = curve;
        snprintf(w->urls[w->nurls++].url, ENDPOINT_MAX, "%s", url);
    }
    pthread_mutex_unlock(&w->mu);
}

uint64_t watch_bounds_raised(const struct watch *w)
{
    return atomic_load_explicit(&w->raised, memory_order_relaxed);
}

bool watch_take_lost(struct watch *w, char *url, size_t cap)
{
    if (!atomic_load_explicit(&w->any_lost, memory_order_relaxed))
        return false;
    int64_t now = clock_mono_ns();
    bool taken = false, pending = false;
    pthread_mutex_lock(&w->mu);
    for (unsigned i = 0; i < w->nurls; i++) {
        bool suspect = w->urls[i].suspect_ns != 0;
        if (!w->urls[i].lost && !suspect)
            continue;
        if (taken || now - w->urls[i].revived_ns < REVIVE_NS ||
            (!w->urls[i].lost && now - w->urls[i].suspect_ns < REVIVE_NS)) {
            pending = true;
            continue;
        }
        w->urls[i].lost = false;
        w->urls[i].suspect_ns = 0;
        w->urls[i].revived_ns = now;
        snprintf(url, cap, "%s", w->urls[i].url);
        taken = true;
    }
    atomic_store(&w->any_lost, pending);
    pthread_mutex_unlock(&w->mu);
    return taken;
}

void watch_add_bound(struct watch *w, const char *last_endpoint, bool curve)
{
    unsigned n = atomic_load(&w->nbound);
    const char *port = strrchr(last_endpoint, ':');

    if (n == WATCH_BOUND)
        return; /* its events are taken for a connect's: logged, no harm */
    if (strncmp(last_endpoint, "tcp://", 6) == 0 && port)
        last_endpoint = port;
    snprintf(w->bound[n].where, sizeof w->bound[n].where, "%s", last_endpoint);
    w->bound[n].curve = curve;
    atomic_store(&w->nbound, n + 1); /* published whole to the thread */
}

void watch_inbound(const struct watch *w, struct watch_inbound *in)
{
    in->open = atomic_load_explicit(&w->open, memory_order_relaxed);
    in->handshakes = atomic_load_explicit(&w->handshakes, memory_order_relaxed);
    in->refused = atomic_load_explicit(&w->refused, memory_order_relaxed);
}

bool watch_closed_since(struct watch *w, int fd, int64_t since_ns)
{
    bool found = false;
    pthread_mutex_lock(&w->mu);
    unsigned n = w->next_closed < WATCH_CLOSED ? w->next_closed : WATCH_CLOSED;
    for (unsigned i = 0; i < n && !found; i++)
        found = w->closed[i].fd == fd && w->closed[i].ns >= since_ns;
    pthread_mutex_unlock(&w->mu);
    return found;
}
