/* http.c -- the relay's HTTP server: pages, MJPEG, snapshots, metrics.
 *
 * libevent's evhttp parses requests on the server's own thread.  Frames
 * reach it through one slot per stream holding the newest JPEG (a
 * refcounted buffer the relay's loop fills, one copy per frame); a wake
 * event tells the thread a slot changed.  Each MJPEG client then takes
 * over its connection's bufferevent (as ustreamer does): it is sent a
 * part only when the previous one has left for the kernel, and always
 * the newest frame, by reference (evbuffer_add_reference), never copied.
 * A slow client so gets fewer, fresh frames and holds one buffer at most;
 * one that makes no progress for --http-timeout seconds is closed.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "auth.h"
#include "h264http.h"
#include "http.h"
#include "httpint.h"
#include "pages.h"
#include "util/log.h"
#include "util/nametab.h"

#define HTTP_HEADERS_MAX 8192  /* a request's header block, bytes */
#define HTTP_INPUT_MAX 65536   /* what an MJPEG client may send us */
#define HTTP_NOFILE 65536      /* descriptors asked for: idle clients */
#define SNAP_WAIT_MS 3000      /* a snapshot waits this long for a JPEG */
#define FRESH_NS 500000000LL   /* a JPEG younger than this is "newest" */
#define LINGER_NS 3000000000LL /* JPEG stays asked for after a viewer */
#define BOUNDARY "vidpipe-frame"

static struct jpeg_buf *jpeg_ref(struct jpeg_buf *j)
{
    atomic_fetch_add(&j->refs, 1);
    return j;
}

static void jpeg_unref(struct jpeg_buf *j)
{
    if (j && atomic_fetch_sub(&j->refs, 1) == 1)
        free(j);
}

static void jpeg_unref_cb(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    jpeg_unref(arg);
}

struct http {
    struct http_opts o;
    struct event_base *base;
    struct evhttp *http;
    struct event *wake;
    SSL_CTX *ssl;
    struct auth *auth;
    struct h264http *h264; /* /stream/NAME.h264 and .mp4 */
    pthread_t th;
    bool running;
    pthread_mutex_t mu;
    struct nametab streams; /* of struct hstream, o.max_streams at most */
    /* The relay's thread only: http_sync()'s changes, o.max_streams. */
    struct hstream **change;
    bool *want;
    struct figure report[HTTP_MAX_FIGURES]; /* the relay's last tick */
    unsigned nreport;
    uint64_t stream_bytes; /* held for the streams, at the last report */
    /* The server's thread only. */
    struct client *clients;
    unsigned nmjpeg, nwaiting, next_id;
    uint64_t rejected_busy, rejected_auth, served;
    /* The relay's thread only. */
    bool asked, pipe_input, pipe_warned;
};

static int64_t now_ns(void)
{
    return vp_clock_mono_ns();
}

/* The stream called name, made if new; NULL when the table is full.
 * Under mu. */
static struct hstream *stream_get(struct http *h, const char *name)
{
    struct hstream *s = nametab_find(&h->streams, name);

    if (s || h->streams.n >= h->o.max_streams || !(s = calloc(1, sizeof *s)))
        return s;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->made_ns = now_ns();
    if (nametab_add(&h->streams, s) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

/* --- the relay's side ------------------------------------------------- */

void http_sync(struct http *h, vp_sub *sub)
{
    struct hstream **change = h->change;
    bool *want = h->want;
    unsigned n = 0;

    h264http_sync(h->h264, sub);
    if (!h->asked) {
        /* Descriptors of every stream: headers only, to list them. */
        h->asked = true;
        int rc = vp_sub_want(sub, NULL, VP_VARIANT_SHM, true);
        if (rc == -ENOTSUP)
            h->pipe_input = true;
        else if (rc < 0)
            log_warn("http: %s", vp_errmsg());
    }
    if (h->pipe_input)
        return; /* every frame comes anyway */
    int64_t now = now_ns();
    pthread_mutex_lock(&h->mu);
    for (unsigned i = 0; i < h->streams.n; i++) {
        struct hstream *s = nametab_at(&h->streams, i);
        bool w = s->viewers > 0 || s->want_until > now;
        if (w != s->wanted) {
            change[n] = s;
            want[n++] = w;
        }
    }
    pthread_mutex_unlock(&h->mu);
    for (unsigned i = 0; i < n; i++) {
        if (vp_sub_want(sub, change[i]->name, VP_VARIANT_JPEG, want[i]) < 0) {
            log_warn("http: %s", vp_errmsg());
            continue;
        }
        change[i]->wanted = want[i];
        log_info("http: %s JPEG of %s",
                 want[i] ? "watching"
                         : "no longer "
                           "watching",
                 change[i]->name);
    }
}

void http_frame(struct http *h, vp_frame *f)
{
    const struct vp_frame_info *in = vp_frame_info(f);
    struct jpeg_buf *j = NULL, *old = NULL;
    const uint8_t *data;
    size_t len;
    int64_t now = now_ns();

    h264http_frame(h->h264, f);
    if (in->codec == VP_CODEC_JPEG && vp_frame_payload(f, &data, &len) == 0 &&
        len > 0 && (j = malloc(sizeof *j + len))) {
        atomic_init(&j->refs, 1);
        j->seq = in->seq;
        j->t_real_ns = in->t_real_ns;
        j->len = len;
        memcpy(j->data, data, len);
    }
    pthread_mutex_lock(&h->mu);
    struct hstream *s = stream_get(h, in->stream);
    if (!s) {
        pthread_mutex_unlock(&h->mu);
        jpeg_unref(j);
        return;
    }
    /* The variants of one frame come one after the other. */
    if (!s->frames || in->seq != s->seq) {
        if (s->frames && in->seq > s->seq + 1 && in->seq - s->seq < 1000000)
            s->drops += in->seq - s->seq - 1;
        s->frames++;
        s->seq = in->seq;
        s->lat_us = in->latency_us;
        hist_add(&s->lat, (double)in->latency_us / 1e6);
    }
    if (now - s->fps_ns >= 1000000000) {
        if (s->fps_ns)
            s->fps = (double)(s->frames - s->fps_frames) * 1e9 /
                     (double)(now - s->fps_ns);
        s->fps_frames = s->frames;
        s->fps_ns = now;
    }
    s->width = in->width;
    s->height = in->height;
    s->seen_ns = now;
    if (j) {
        old = s->latest;
        s->latest = j;
        s->latest_ns = now;
        s->jpegs++;
        s->jpeg_bytes += len;
    }
    bool raw_pipe = in->path == VP_PATH_PIPE && in->codec == VP_CODEC_RAW;
    bool watched = s->viewers > 0;
    s->raw_pipe = raw_pipe;
    pthread_mutex_unlock(&h->mu);
    jpeg_unref(old);
    if (j)
        event_active(h->wake, EV_READ, 0);
    if (raw_pipe && watched && !h->pipe_warned) {
        h->pipe_warned = true;
        log_warn("http: %s: raw frames from a byte stream cannot be viewed "
                 "over HTTP; send JPEG (--codec jpeg upstream)",
                 in->stream);
    }
}

/* Under mu, on the relay's thread (which owns s->wanted): a JPEG nobody
 * can be sent any more is let go of, and a stream with no frame for
 * drop_after_s, that nobody watches or asked for, is forgotten (a name
 * only asked for over HTTP too).  Sums what the streams hold. */
static void forget_idle(struct http *h)
{
    int64_t now = now_ns(), after = (int64_t)h->o.drop_after_s * 1000000000;
    uint64_t bytes = nametab_bytes(&h->streams);

    for (unsigned i = 0; i < h->streams.n;) {
        struct hstream *s = nametab_at(&h->streams, i);
        bool idle = !s->viewers && !s->wanted && s->want_until <= now;
        if (idle && s->latest && now - s->latest_ns >= FRESH_NS) {
            jpeg_unref(s->latest); /* too old to be served */
            s->latest = NULL;
        }
        if (idle && after &&
            now - (s->seen_ns ? s->seen_ns : s->made_ns) >= after) {
            free(nametab_del(&h->streams, s->name)); /* the last moved to i */
            continue;
        }
        bytes +=
            sizeof *s + (s->latest ? sizeof *s->latest + s->latest->len : 0);
        i++;
    }
    h->stream_bytes = bytes;
}

void http_report(struct http *h, const vp_stats *st)
{
    struct figure fig[HTTP_MAX_FIGURES];
    unsigned n = 0;

    /* Taken here, on the thread that owns st, for the server's thread. */
    for (; n < HTTP_MAX_FIGURES && vp_stats_at(st, n, false, &fig[n].v) == 0;
         n++) {
        snprintf(fig[n].name, sizeof fig[n].name, "%s", fig[n].v.name);
        snprintf(fig[n].text, sizeof fig[n].text, "%s",
                 fig[n].v.s ? fig[n].v.s : "");
    }
    pthread_mutex_lock(&h->mu);
    memcpy(h->report, fig, n * sizeof fig[0]);
    h->nreport = n;
    forget_idle(h);
    pthread_mutex_unlock(&h->mu);
}

/* --- replies ------------------------------------------------------------ */

static void reply(struct evhttp_request *req, int code, const char *reason,
                  const char *type, const char *body)
{
    struct evbuffer *b = evbuffer_new();
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);

    evhttp_add_header(out, "Content-Type", type);
    evhttp_add_header(out, "Cache-Control", "no-store");
    if (b)
        evbuffer_add(b, body, strlen(body));
    evhttp_send_reply(req, code, reason, b);
    if (b)
        evbuffer_free(b);
}

static void reply_text(struct evhttp_request *req, int code, const char *reason,
                       const char *body)
{
    reply(req, code, reason, "text/plain; charset=utf-8", body);
}

static void reply_buf(struct evhttp_request *req, const char *type,
                      struct evbuffer *b)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", type);
    evhttp_add_header(out, "Cache-Control", "no-store");
    evhttp_send_reply(req, 200, "OK", b);
}

static void reply_jpeg(struct http *h, struct evhttp_request *req,
                       struct jpeg_buf *j)
{
    struct evbuffer *b = evbuffer_new();
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    char v[64];

    if (!b) {
        jpeg_unref(j);
        reply_text(req, 500, "Internal Server Error", "out of memory\n");
        return;
    }
    evhttp_add_header(out, "Content-Type", "image/jpeg");
    evhttp_add_header(out, "Cache-Control", "no-store");
    snprintf(v, sizeof v, "%" PRIu64, j->seq);
    evhttp_add_header(out, "X-Vidpipe-Seq", v);
    snprintf(v, sizeof v, "%.6f", (double)j->t_real_ns / 1e9);
    evhttp_add_header(out, "X-Vidpipe-T-Real", v);
    evbuffer_add_reference(b, j->data, j->len, jpeg_unref_cb, j); /* moved */
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
    h->served++;
}

/* --- MJPEG clients ------------------------------------------------------ */

static void client_free(struct client *c)
{
    struct http *h = c->h;
    struct client **pp = &h->clients;

    while (*pp && *pp != c)
        pp = &(*pp)->next;
    if (*pp)
        *pp = c->next;
    pthread_mutex_lock(&h->mu);
    c->s->viewers--;
    c->s->want_until = now_ns() + LINGER_NS;
    pthread_mutex_unlock(&h->mu);
    if (c->mjpeg) {
        h->nmjpeg--;
        log_info("http: viewer %u of %s (%s) gone after %" PRIu64 " frames",
                 c->id, c->s->name, c->peer, c->frames);
        if (c->conn)
            evhttp_connection_free(c->conn); /* and its request */
    } else {
        h->nwaiting--;
        if (c->conn)
            evhttp_connection_set_closecb(c->conn, NULL, NULL);
    }
    if (c->timer)
        event_free(c->timer);
    free(c);
}

/* Queues frame j as the client's one part in flight. */
static void send_part(struct client *c, struct jpeg_buf *j)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    double t = (double)j->t_real_ns / 1e9;

    evbuffer_add_printf(out,
                        "Content-Type: image/jpeg\r\n"
                        "Content-Length: %zu\r\n"
                        "X-Vidpipe-Seq: %" PRIu64 "\r\n"
                        "X-Vidpipe-T-Real: %.6f\r\n"
                        "X-Timestamp: %.6f\r\n\r\n",
                        j->len, j->seq, t, t);
    evbuffer_add_reference(out, j->data, j->len, jpeg_unref_cb, jpeg_ref(j));
    /* The boundary right after the picture: a browser shows a part only
     * once the next boundary has come. */
    evbuffer_add(out, "\r\n--" BOUNDARY "\r\n", 4 + strlen(BOUNDARY) + 2);
    if (c->sent_any && j->seq > c->last_seq + 1) {
        c->skipped += j->seq - c->last_seq - 1;
        c->s->skipped += j->seq - c->last_seq - 1;
    }
    c->sent_any = true;
    c->last_seq = j->seq;
    c->flight_t_real = j->t_real_ns;
    c->bytes += j->len;
    c->s->sent_bytes += j->len;
    c->in_flight = true;
}

/* The stream's newest JPEG if it is newer than what c has, referenced. */
static struct jpeg_buf *newer(struct client *c, uint64_t than, bool any)
{
    struct jpeg_buf *j = NULL;
    pthread_mutex_lock(&c->h->mu);
    if (c->s->latest && (any || c->s->latest->seq != than) &&
        now_ns() - c->s->latest_ns < FRESH_NS)
        j = jpeg_ref(c->s->latest);
    pthread_mutex_unlock(&c->h->mu);
    return j;
}

static void mjpeg_next(struct client *c)
{
    if (c->in_flight)
        return;
    struct jpeg_buf *j = newer(c, c->last_seq, !c->sent_any);
    if (j) {
        send_part(c, j);
        jpeg_unref(j);
    }
}

/* The output has drained into the kernel: the part is sent. */
static void on_written(struct bufferevent *bev, void *arg)
{
    struct client *c = arg;
    int64_t now = now_ns();
    (void)bev;

    if (c->in_flight) {
        c->in_flight = false;
        c->frames++;
        c->s->sent++;
        int64_t lat = vp_clock_real_ns() - c->flight_t_real;
        hist_add(&c->s->sent_lat, lat > 0 ? (double)lat / 1e9 : 0);
        c->win_frames++;
        if (now - c->win_ns >= 1000000000) {
            c->fps = (double)c->win_frames * 1e9 / (double)(now - c->win_ns);
            c->win_frames = 0;
            c->win_ns = now;
        }
    }
    mjpeg_next(c);
}

static void on_input(struct bufferevent *bev, void *arg)
{
    struct client *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    c->input += evbuffer_get_length(in);
    evbuffer_drain(in, evbuffer_get_length(in));
    if (c->input > HTTP_INPUT_MAX)
        client_free(c); /* a viewer has nothing to say */
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
        client_free(arg);
}

static void peer_of(struct evhttp_connection *conn, char *buf, size_t cap)
{
    char *host = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(conn, &host, &port);
    snprintf(buf, cap, "%s:%u", host ? host : "?", port);
}

static struct client *client_new(struct http *h, struct evhttp_request *req,
                                 struct hstream *s, bool mjpeg)
{
    struct client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->h = h;
    c->req = req;
    c->conn = evhttp_request_get_connection(req);
    c->s = s;
    c->mjpeg = mjpeg;
    c->id = ++h->next_id;
    c->since_ns = c->win_ns = now_ns();
    peer_of(c->conn, c->peer, sizeof c->peer);
    c->next = h->clients;
    h->clients = c;
    pthread_mutex_lock(&h->mu);
    s->viewers++;
    pthread_mutex_unlock(&h->mu);
    return c;
}

static void serve_mjpeg(struct http *h, struct evhttp_request *req,
                        struct hstream *s)
{
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        reply(req, 200, "OK", "multipart/x-mixed-replace;boundary=" BOUNDARY,
              "");
        return;
    }
    if (h->nmjpeg + h264http_clients(h->h264) >= h->o.max_clients) {
        char msg[128];
        h->rejected_busy++;
        snprintf(msg, sizeof msg,
                 "too many viewers: %u at once (--http-max-clients)\n",
                 h->o.max_clients);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
                          "5");
        reply_text(req, 503, "Service Unavailable", msg);
        return;
    }
    struct client *c = client_new(h, req, s, true);
    if (!c) {
        reply_text(req, 500, "Internal Server Error", "out of memory\n");
        return;
    }
    h->nmjpeg++;
    log_info("http: viewer %u of %s (%s)", c->id, s->name, c->peer);
    /* From here the connection is ours: a response that never ends,
     * written part by part, delimited by the connection's close. */
    c->bev = evhttp_connection_get_bufferevent(c->conn);
    struct timeval wt = {h->o.timeout_s, 0};
    bufferevent_set_timeouts(c->bev, NULL, &wt);
    bufferevent_setcb(c->bev, on_input, on_written, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    evbuffer_add_printf(bufferevent_get_output(c->bev),
                        "HTTP/1.0 200 OK\r\n"
                        "Content-Type: multipart/x-mixed-replace;"
                        "boundary=" BOUNDARY "\r\n"
                        "Cache-Control: no-store\r\n"
                        "Pragma: no-cache\r\n"
                        "X-Accel-Buffering: no\r\n"
                        "Connection: close\r\n\r\n"
                        "--" BOUNDARY "\r\n");
    mjpeg_next(c);
}

/* --- snapshots ---------------------------------------------------------- */

static void snap_closed(struct evhttp_connection *conn, void *arg)
{
    struct client *c = arg;
    (void)conn;
    c->conn = NULL; /* libevent frees the request with it */
    client_free(c);
}

static void snap_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct client *c = arg;
    (void)fd;
    (void)what;
    evhttp_connection_set_closecb(c->conn, NULL, NULL);
    reply_text(c->req, 503, "Service Unavailable",
               "no frame of this stream came in time\n");
    client_free(c);
}

static void serve_snapshot(struct http *h, struct evhttp_request *req,
                           struct hstream *s)
{
    struct jpeg_buf *j = NULL;
    uint64_t seq = 0;

    pthread_mutex_lock(&h->mu);
    s->want_until = now_ns() + LINGER_NS;
    if (s->latest && now_ns() - s->latest_ns < FRESH_NS)
        j = jpeg_ref(s->latest);
    else if (s->latest)
        seq = s->latest->seq;
    pthread_mutex_unlock(&h->mu);
    if (j) {
        reply_jpeg(h, req, j);
        return;
    }
    /* Nobody watched: JPEG is asked for now; wait for the first. */
    if (h->nwaiting >= h->o.max_clients) {
        h->rejected_busy++;
        reply_text(req, 503, "Service Unavailable", "too many requests\n");
        return;
    }
    struct client *c = client_new(h, req, s, false);
    struct timeval tv = {SNAP_WAIT_MS / 1000, (SNAP_WAIT_MS % 1000) * 1000};
    if (!c || !(c->timer = evtimer_new(h->base, snap_timeout, c))) {
        if (c) {
            h->nwaiting++;
            client_free(c);
        }
        reply_text(req, 500, "Internal Server Error", "out of memory\n");
        return;
    }
    h->nwaiting++;
    c->wait_seq = seq;
    evtimer_add(c->timer, &tv);
    evhttp_connection_set_closecb(c->conn, snap_closed, c);
}

/* A new JPEG came: every client that can take it gets it. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct http *h = arg;
    struct client *c = h->clients, *next;
    (void)fd;
    (void)what;

    for (; c; c = next) {
        next = c->next;
        if (c->mjpeg) {
            mjpeg_next(c);
            continue;
        }
        struct jpeg_buf *j = newer(c, c->wait_seq, c->wait_seq == 0);
        if (j) {
            evhttp_connection_set_closecb(c->conn, NULL, NULL);
            reply_jpeg(h, c->req, j);
            client_free(c);
        }
    }
}

/* --- JSON and metrics --------------------------------------------------- */

/* ?offset=N&limit=M of /api/streams, into *off and *lim (default: all);
 * false if either is there and not a number. */
static bool page_of(struct evhttp_request *req, unsigned *off, unsigned *lim)
{
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *q = u ? evhttp_uri_get_query(u) : NULL;
    struct evkeyvalq kv;
    bool ok = true;

    *off = 0;
    *lim = UINT32_MAX;
    if (!q)
        return true;
    if (evhttp_parse_query_str(q, &kv) < 0)
        return false;
    const char *names[] = {"offset", "limit"};
    unsigned *vals[] = {off, lim};
    for (unsigned i = 0; i < 2; i++) {
        const char *v = evhttp_find_header(&kv, names[i]);
        char *end;
        if (!v)
            continue;
        unsigned long n = strtoul(v, &end, 10);
        if (!*v || *end || *v == '-' || n > UINT32_MAX)
            ok = false;
        else
            *vals[i] = (unsigned)n;
    }
    evhttp_clear_headers(&kv);
    return ok;
}

static void serve_streams(struct http *h, struct evhttp_request *req)
{
    struct evbuffer *b;
    int64_t now = now_ns();
    unsigned off, lim, total = 0;

    if (!page_of(req, &off, &lim))
        return reply_text(req, 400, "Bad Request",
                          "offset and limit are whole numbers\n");
    if (!(b = evbuffer_new()))
        return reply_text(req, 500, "Internal Server Error", "no memory\n");
    evbuffer_add_printf(b, "{\"streams\":[");
    pthread_mutex_lock(&h->mu);
    for (unsigned i = 0; i < h->streams.n; i++) {
        const struct hstream *s = nametab_at(&h->streams, i);
        if (!s->seen_ns)
            continue;
        if (total++ < off || total - off > lim)
            continue;
        bool stalled = now - s->seen_ns > STALL_NS;
        evbuffer_add_printf(
            b,
            "%s{\"name\":\"%s\",\"width\":%u,\"height\":%u,\"fps\":%.2f,"
            "\"latency_ms\":%.3f,\"seq\":%" PRIu64 ",\"frames\":%" PRIu64
            ",\"drops\":%" PRIu64 ",\"viewers\":%u,\"jpeg\":%s,"
            "\"stalled\":%s,\"viewable\":%s}",
            total - 1 == off ? "" : ",", s->name, s->width, s->height,
            stalled ? 0.0 : s->fps, (double)s->lat_us / 1000, s->seq, s->frames,
            s->drops, s->viewers,
            s->latest && now - s->latest_ns < FRESH_NS ? "true" : "false",
            stalled ? "true" : "false", s->raw_pipe ? "false" : "true");
    }
    pthread_mutex_unlock(&h->mu);
    evbuffer_add_printf(b, "],\"total\":%u,\"clients\":%u}\n", total,
                        h->nmjpeg);
    reply_buf(req, "application/json", b);
    evbuffer_free(b);
}

static void serve_metrics(struct http *h, struct evhttp_request *req)
{
    struct evbuffer *b = evbuffer_new();

    if (!b)
        return reply_text(req, 500, "Internal Server Error", "no memory\n");
    struct figure fig[HTTP_MAX_FIGURES];
    struct hstream *st = NULL;
    pthread_mutex_lock(&h->mu);
    unsigned nfig = h->nreport;
    memcpy(fig, h->report, nfig * sizeof fig[0]);
    unsigned n = h->streams.n;
    if (n && !(st = malloc(n * sizeof *st)))
        n = 0;
    for (unsigned i = 0; i < n; i++) {
        st[i] = *(struct hstream *)nametab_at(&h->streams, i);
        st[i].latest = NULL;
    }
    pthread_mutex_unlock(&h->mu);
    struct http_totals t = {h->nmjpeg, h->rejected_busy, h->rejected_auth,
                            h->served, 0};
    pthread_mutex_lock(&h->mu);
    t.stream_bytes = h->stream_bytes;
    pthread_mutex_unlock(&h->mu);
    http_metrics(b, fig, nfig, st, n, h->clients, &t);
    h264http_metrics(h->h264, b);
    free(st);
    reply_buf(req, "text/plain; version=0.0.4; charset=utf-8", b);
    evbuffer_free(b);
}

static void serve_view(struct evhttp_request *req, const char *name)
{
    struct evbuffer *b = evbuffer_new();
    const char *p = page_view, *m;

    if (!b)
        return reply_text(req, 500, "Internal Server Error", "no memory\n");
    while ((m = strstr(p, "%%STREAM%%"))) {
        evbuffer_add(b, p, (size_t)(m - p));
        evbuffer_add(b, name, strlen(name));
        p = m + strlen("%%STREAM%%");
    }
    evbuffer_add(b, p, strlen(p));
    reply_buf(req, "text/html; charset=utf-8", b);
    evbuffer_free(b);
}

/* --- routing ------------------------------------------------------------ */

/* The stream name in path between prefix and suffix, into name; false if
 * path is not of that shape or the name is not a stream name. */
static bool name_in(const char *path, const char *prefix, const char *suffix,
                    char name[VP_STREAM_MAX + 1])
{
    size_t pl = strlen(prefix), sl = strlen(suffix), n = strlen(path);
    if (n <= pl + sl || strncmp(path, prefix, pl) != 0 ||
        strcmp(path + n - sl, suffix) != 0 || n - pl - sl > VP_STREAM_MAX)
        return false;
    memcpy(name, path + pl, n - pl - sl);
    name[n - pl - sl] = 0;
    return vp_stream_name_ok(name);
}

static struct hstream *stream_for(struct http *h, const char *name)
{
    pthread_mutex_lock(&h->mu);
    struct hstream *s = stream_get(h, name);
    pthread_mutex_unlock(&h->mu);
    return s;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct http *h = arg;
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *path = u ? evhttp_uri_get_path(u) : NULL;
    char name[VP_STREAM_MAX + 1];
    struct hstream *s;

    if (!path || path[0] != '/')
        return reply_text(req, 400, "Bad Request", "bad path\n");
    if (strcmp(path, "/healthz") == 0)
        return reply_text(req, 200, "OK", "ok\n");
    if (h->auth &&
        !auth_check(h->auth,
                    evhttp_find_header(evhttp_request_get_input_headers(req),
                                       "Authorization"))) {
        h->rejected_auth++;
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "WWW-Authenticate",
                          "Basic realm=\"vidpipe\", charset=\"UTF-8\"");
        return reply_text(req, 401, "Unauthorized", "credentials needed\n");
    }
    if (strcmp(path, "/") == 0)
        return reply(req, 200, "OK", "text/html; charset=utf-8", page_index);
    if (strcmp(path, "/api/streams") == 0)
        return serve_streams(h, req);
    if (strcmp(path, "/metrics") == 0)
        return serve_metrics(h, req);
    if (name_in(path, "/view/", "", name))
        return serve_view(req, name);
    if (name_in(path, "/stream/", ".mjpg", name)) {
        if (!(s = stream_for(h, name)))
            return reply_text(req, 503, "Service Unavailable",
                              "too many streams (--max-streams)\n");
        return serve_mjpeg(h, req, s);
    }
    if (name_in(path, "/stream/", ".h264", name))
        return h264http_serve(h->h264, req, name, false, h->nmjpeg,
                              h->o.max_clients);
    if (name_in(path, "/stream/", ".mp4", name))
        return h264http_serve(h->h264, req, name, true, h->nmjpeg,
                              h->o.max_clients);
    if (name_in(path, "/snapshot/", ".jpg", name)) {
        if (!(s = stream_for(h, name)))
            return reply_text(req, 503, "Service Unavailable",
                              "too many streams (--max-streams)\n");
        return serve_snapshot(h, req, s);
    }
    reply_text(req, 404, "Not Found", "not found\n");
}

/* --- the server --------------------------------------------------------- */

static struct bufferevent *tls_bev(struct event_base *base, void *arg)
{
    struct http *h = arg;
    SSL *ssl = SSL_new(h->ssl);
    struct bufferevent *bev =
        ssl ? bufferevent_openssl_socket_new(base, -1, ssl,
                                             BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE)
            : NULL;
    if (bev)
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

static int tls_load(struct http *h)
{
    if (!h->o.cert_file && !h->o.key_file)
        return 0;
    if (!h->o.cert_file || !h->o.key_file) {
        log_err("HTTPS needs both --http-cert and --http-key");
        return -1;
    }
    if (!(h->ssl = SSL_CTX_new(TLS_server_method())) ||
        SSL_CTX_use_certificate_chain_file(h->ssl, h->o.cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(h->ssl, h->o.key_file, SSL_FILETYPE_PEM) !=
            1 ||
        SSL_CTX_check_private_key(h->ssl) != 1) {
        char e[256];
        ERR_error_string_n(ERR_get_error(), e, sizeof e);
        log_err("--http-cert %s --http-key %s: %s", h->o.cert_file,
                h->o.key_file, e);
        return -1;
    }
    SSL_CTX_set_min_proto_version(h->ssl, TLS1_2_VERSION);
    return 0;
}

/* "ADDR:PORT" ("[V6]:PORT" too) into addr and port. */
static int split_listen(const char *s, char *addr, size_t cap, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    char *end;
    if (!colon)
        return -1;
    size_t n = (size_t)(colon - s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s++;
        n -= 2;
    }
    if (n == 0 || n >= cap)
        return -1;
    memcpy(addr, s, n);
    addr[n] = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p > 65535)
        return -1;
    *port = (uint16_t)p;
    return 0;
}

static bool loopback(const char *addr)
{
    return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
           strcmp(addr, "localhost") == 0;
}

static void *serve(void *arg)
{
    struct http *h = arg;
    event_base_loop(h->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* Idle clients hold a descriptor each: as many as we may. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < HTTP_NOFILE) {
        rl.rlim_cur = rl.rlim_max < HTTP_NOFILE ? rl.rlim_max : HTTP_NOFILE;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int http_open(struct http **out, const struct http_opts *o)
{
    char addr[256];
    uint16_t port;
    struct http *h;

    *out = NULL;
    if (split_listen(o->listen, addr, sizeof addr, &port) < 0) {
        log_err("--http %s: expected ADDR:PORT", o->listen);
        return -1;
    }
    if (!(h = calloc(1, sizeof *h))) {
        log_err("http: out of memory");
        return -1;
    }
    h->o = *o;
    pthread_mutex_init(&h->mu, NULL);
    if (!(h->change = calloc(o->max_streams, sizeof *h->change)) ||
        !(h->want = calloc(o->max_streams, sizeof *h->want))) {
        log_err("http: out of memory");
        goto fail;
    }
    if (o->auth_file && !(h->auth = auth_load(o->auth_file)))
        goto fail;
    if (tls_load(h) < 0)
        goto fail;
    raise_nofile();
    if (evthread_use_pthreads() < 0 || !(h->base = event_base_new()) ||
        !(h->http = evhttp_new(h->base)) ||
        !(h->wake = event_new(h->base, -1, 0, on_wake, h)) ||
        !(h->h264 = h264http_new(h->base, o->max_streams, o->timeout_s,
                                 o->h264_buffer))) {
        log_err("http: cannot set up libevent");
        goto fail;
    }
    evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_max_headers_size(h->http, HTTP_HEADERS_MAX);
    evhttp_set_max_body_size(h->http, 0);
    evhttp_set_timeout(h->http, (int)o->timeout_s);
    evhttp_set_gencb(h->http, on_request, h);
    if (h->ssl)
        evhttp_set_bevcb(h->http, tls_bev, h);
    if (!evhttp_bind_socket_with_handle(h->http, addr, port)) {
        log_err("--http %s: cannot bind: %s", o->listen, strerror(errno));
        goto fail;
    }
    if (!loopback(addr) && !h->auth)
        log_warn("%s://%s: no --http-auth: anyone who can connect can watch "
                 "this stream (see --http-auth)",
                 h->ssl ? "https" : "http", o->listen);
    /* Signals are the relay loop's: the server's thread blocks them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int prc = pthread_create(&h->th, NULL, serve, h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (prc != 0) {
        log_err("http: cannot start its thread");
        goto fail;
    }
    h->running = true;
    log_info("serving %s://%s/", h->ssl ? "https" : "http", o->listen);
    *out = h;
    return 0;
fail:
    http_close(h);
    return -1;
}

void http_close(struct http *h)
{
    if (!h)
        return;
    if (h->running) {
        event_base_loopbreak(h->base);
        pthread_join(h->th, NULL);
    }
    while (h->clients) {
        struct client *c = h->clients;
        h->clients = c->next;
        if (c->timer)
            event_free(c->timer);
        if (!c->mjpeg && c->conn)
            evhttp_connection_set_closecb(c->conn, NULL, NULL);
        free(c); /* evhttp_free closes its connection */
    }
    if (h->http)
        evhttp_free(h->http);
    h264http_free(h->h264);
    if (h->wake)
        event_free(h->wake);
    if (h->base)
        event_base_free(h->base);
    for (unsigned i = 0; i < h->streams.n; i++)
        jpeg_unref(((struct hstream *)nametab_at(&h->streams, i))->latest);
    nametab_fini(&h->streams);
    free(h->change);
    free(h->want);
    if (h->ssl)
        SSL_CTX_free(h->ssl);
    auth_free(h->auth);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
