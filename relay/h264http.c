/* h264http.c -- the relay's H.264 over HTTP (h264http.h).
 *
 * The relay's loop copies each H.264 frame once into an access unit
 * (struct au: the Annex B bytes as they came, then the same picture as an
 * MP4 fragment) and queues a reference for the server's thread, which
 * hands every client of the stream a reference of its own
 * (evbuffer_add_reference).  A client takes over its connection's
 * bufferevent, as an MJPEG viewer does, and is written a response that
 * ends with the connection.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>

#include "fmp4.h"
#include "h264http.h"
#include "util/log.h"
#include "util/nametab.h"

#define QUEUE_LEN 64                /* AUs between two wakes of the server */
#define LINGER_NS 3000000000LL      /* H.264 stays asked for after a viewer */
#define ASK_MIN_NS 100000000LL      /* keyframe requests of a stream, apart */
#define ASK_AGAIN_NS 1000000000LL   /* a client waiting asks again after */
#define INPUT_MAX 65536             /* what a client may send us */
#define DEFAULT_DUR_US 33333        /* a first frame's duration */
#define SEI_UUID "vidpipe-t-real-1" /* 16 bytes: an SEI of ours */
#define SEI_MAX 96

/* Shared bytes: an access unit, or an init segment. */
struct blob {
    atomic_uint refs;
    size_t len;
    uint8_t data[];
};

struct au {
    atomic_uint refs;
    uint64_t seq;
    int64_t t_real_ns;
    bool key, gap;     /* a keyframe; frames were lost before it */
    struct blob *init; /* the init segment its fragment needs */
    size_t annexb_len, frag_len;
    uint8_t *frag;  /* after the Annex B bytes */
    uint8_t data[]; /* Annex B, then the fragment */
};

struct vclient;

/* One stream's H.264.  Under v->mu but for the fields marked otherwise. */
struct vstream {
    char name[VP_STREAM_MAX + 1]; /* set once */
    struct au *q[QUEUE_LEN];      /* for the server's thread, in order */
    unsigned nq;
    bool lost;          /* the queue overflowed: the next AU has a gap */
    unsigned viewers;   /* written by the server's thread */
    int64_t want_until; /* asked for until then (mono ns) */
    bool ask;           /* a client waits for a keyframe */
    uint64_t aus, au_bytes, keyframes, asks;
    /* The relay's thread only. */
    bool wanted, started;
    uint64_t last_seq;
    int64_t asked_ns, last_us;
    uint32_t dur_us;
    struct fmp4_params params;
    struct blob *init;
    uint32_t init_w, init_h; /* the size init was made for */
    /* The server's thread only. */
    struct vclient *clients;
    uint64_t sent, sent_bytes, skipped, overflows;
};

struct vclient {
    struct h264http *v;
    struct vclient *next; /* of its stream */
    struct vstream *s;
    struct evhttp_connection *conn;
    struct bufferevent *bev;
    bool mp4, waiting, asked;
    int64_t asked_ns;
    struct blob *init; /* the init segment it was sent last */
    unsigned id;
    char peer[64];
    size_t input;
    uint64_t frames, bytes, skipped, overflows;
};

struct h264http {
    struct event_base *base;
    struct event *wake;
    unsigned max_streams, timeout_s;
    size_t out_max; /* a client's send buffer, bytes */
    pthread_mutex_t mu;
    struct nametab streams;     /* of struct vstream */
    unsigned nclients, next_id; /* the server's thread only */
};

static int64_t now_ns(void)
{
    return vp_clock_mono_ns();
}

static struct blob *blob_ref(struct blob *b)
{
    atomic_fetch_add(&b->refs, 1);
    return b;
}

static void blob_unref(struct blob *b)
{
    if (b && atomic_fetch_sub(&b->refs, 1) == 1)
        free(b);
}

static void blob_unref_cb(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    blob_unref(arg);
}

static struct au *au_ref(struct au *a)
{
    atomic_fetch_add(&a->refs, 1);
    return a;
}

static void au_unref(struct au *a)
{
    if (a && atomic_fetch_sub(&a->refs, 1) == 1) {
        blob_unref(a->init);
        free(a);
    }
}

static void au_unref_cb(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    au_unref(arg);
}

/* The stream called name, made if new; NULL when the table is full.
 * Under mu. */
static struct vstream *stream_get(struct h264http *v, const char *name)
{
    struct vstream *s = nametab_find(&v->streams, name);

    if (s || v->streams.n >= v->max_streams || !(s = calloc(1, sizeof *s)))
        return s;
    snprintf(s->name, sizeof s->name, "%s", name);
    if (nametab_add(&v->streams, s) < 0) {
        free(s);
        return NULL;
    }
    return s;
}

/* --- the relay's side ------------------------------------------------- */

void h264http_sync(struct h264http *v, vp_sub *sub)
{
    int64_t now = now_ns();

    pthread_mutex_lock(&v->mu);
    for (unsigned i = 0; i < v->streams.n; i++) {
        struct vstream *s = nametab_at(&v->streams, i);
        bool w = s->viewers > 0 || s->want_until > now;
        bool ask = s->ask && w && now - s->asked_ns >= ASK_MIN_NS;
        if (ask) {
            s->ask = false;
            s->asks++;
            s->asked_ns = now;
        }
        bool change = w != s->wanted;
        if (!change && !ask)
            continue;
        /* vp_sub_ calls are the relay thread's own: no server waits. */
        pthread_mutex_unlock(&v->mu);
        if (change) {
            int rc = vp_sub_want(sub, s->name, VP_VARIANT_H264, w);
            if (rc == 0 || rc == -ENOTSUP) {
                s->wanted = w;
                s->started = false;
                log_info("http: %s H.264 of %s",
                         w ? "watching" : "no longer watching", s->name);
            } else {
                log_warn("http: %s", vp_errmsg());
            }
        }
        if (ask) {
            int rc = vp_sub_ask_keyframe(sub, s->name);
            if (rc < 0 && rc != -ENOTSUP)
                log_warn("http: %s", vp_errmsg());
        }
        pthread_mutex_lock(&v->mu);
    }
    pthread_mutex_unlock(&v->mu);
}

/* A new init segment for s if f's parameter sets or size changed. */
static void init_for(struct vstream *s, const struct fmp4_params *before,
                     const struct vp_frame_info *in)
{
    if (s->init && s->init_w == in->width && s->init_h == in->height &&
        before->sps_len == s->params.sps_len &&
        before->pps_len == s->params.pps_len &&
        memcmp(before->sps, s->params.sps, s->params.sps_len) == 0 &&
        memcmp(before->pps, s->params.pps, s->params.pps_len) == 0)
        return;
    struct blob *b = malloc(sizeof *b + FMP4_INIT_MAX);
    if (!b)
        return;
    atomic_init(&b->refs, 1);
    b->len = fmp4_init(&s->params, in->width, in->height, b->data);
    if (!b->len) {
        free(b);
        return;
    }
    blob_unref(s->init);
    s->init = b;
    s->init_w = in->width;
    s->init_h = in->height;
}

/* An SEI NAL unit (user data unregistered) saying frame in's seq and
 * capture time, as text after SEI_UUID, into sei: its length.  Neither
 * holds a zero byte, so no emulation prevention is needed. */
static size_t sei_make(char sei[SEI_MAX], const struct vp_frame_info *in)
{
    int n = snprintf(sei + 7 + 16, SEI_MAX - 7 - 16 - 1,
                     "seq=%" PRIu64 " t_real_us=%" PRId64, in->seq,
                     in->t_real_ns / 1000);
    memcpy(sei, "\0\0\0\1\6\5", 6);
    sei[6] = (char)(16 + n);
    memcpy(sei + 7, SEI_UUID, 16);
    sei[7 + 16 + n] = (char)0x80; /* rbsp trailing bits */
    return (size_t)(7 + 16 + n + 1);
}

/* The AU of frame in (Annex B data), muxed for s; NULL without memory or
 * before s has its parameter sets. */
static struct au *au_make(struct vstream *s, const struct vp_frame_info *in,
                          const uint8_t *data, size_t len)
{
    struct fmp4_params before = s->params;
    size_t sample = fmp4_scan(data, len, &s->params);

    if (in->keyframe)
        init_for(s, &before, in);
    if (!s->init || sample == 0)
        return NULL;
    char sei[SEI_MAX];
    size_t sei_len = sei_make(sei, in);
    struct au *a = malloc(sizeof *a + len + sei_len + FMP4_FRAG_EXTRA + sample);
    if (!a)
        return NULL;
    atomic_init(&a->refs, 1);
    a->seq = in->seq;
    a->t_real_ns = in->t_real_ns;
    a->key = in->keyframe;
    a->init = blob_ref(s->init);
    /* The capture time goes in just before the first slice. */
    size_t at = fmp4_first_slice(data, len);
    memcpy(a->data, data, at);
    memcpy(a->data + at, sei, sei_len);
    memcpy(a->data + at + sei_len, data + at, len - at);
    a->annexb_len = len + sei_len;
    a->frag = a->data + a->annexb_len;
    a->frag_len = FMP4_FRAG_EXTRA + sample;
    /* Decode time is capture time, made to increase; the duration is the
     * last interval's, a little less, so fragments never overlap. */
    int64_t us = in->t_real_ns / 1000;
    if (s->last_us && us <= s->last_us)
        us = s->last_us + 1;
    if (s->last_us) {
        int64_t d = us - s->last_us;
        s->dur_us = d > 1000000 ? 1000000 : (uint32_t)d;
    }
    s->last_us = us;
    uint32_t dur = s->dur_us ? s->dur_us - s->dur_us / 10 : DEFAULT_DUR_US;
    fmp4_frag_head((uint32_t)in->seq, (uint64_t)us, dur, a->key, sample,
                   a->frag);
    fmp4_sample(data, len, a->frag + FMP4_FRAG_EXTRA);
    return a;
}

void h264http_frame(struct h264http *v, vp_frame *f)
{
    const struct vp_frame_info *in = vp_frame_info(f);
    const uint8_t *data;
    size_t len;

    if (in->codec != VP_CODEC_H264 || vp_frame_payload(f, &data, &len) < 0 ||
        len == 0)
        return;
    pthread_mutex_lock(&v->mu);
    struct vstream *s = nametab_find(&v->streams, in->stream);
    pthread_mutex_unlock(&v->mu);
    if (!s)
        return; /* nobody ever asked for it over HTTP */
    bool gap = s->started && in->seq != s->last_seq + 1;
    s->started = true;
    s->last_seq = in->seq;
    struct au *a = au_make(s, in, data, len), *old = NULL;
    if (!a)
        return;
    pthread_mutex_lock(&v->mu);
    a->gap = gap || s->lost;
    s->lost = false;
    if (s->nq == QUEUE_LEN) {
        /* The server's thread fell behind: the oldest goes, and the
         * clients, missing it, wait for a keyframe. */
        old = s->q[0];
        memmove(s->q, s->q + 1, (QUEUE_LEN - 1) * sizeof s->q[0]);
        s->nq--;
        a->gap = true;
    }
    s->q[s->nq++] = a;
    s->aus++;
    s->au_bytes += len;
    s->keyframes += a->key;
    pthread_mutex_unlock(&v->mu);
    au_unref(old);
    event_active(v->wake, EV_READ, 0);
}

/* --- clients ------------------------------------------------------------ */

static void client_free(struct vclient *c)
{
    struct h264http *v = c->v;
    struct vclient **pp = &c->s->clients;

    while (*pp && *pp != c)
        pp = &(*pp)->next;
    if (*pp)
        *pp = c->next;
    pthread_mutex_lock(&v->mu);
    c->s->viewers--;
    c->s->want_until = now_ns() + LINGER_NS;
    pthread_mutex_unlock(&v->mu);
    v->nclients--;
    log_info("http: H.264 viewer %u of %s (%s) gone after %" PRIu64
             " frames, %" PRIu64 " skipped",
             c->id, c->s->name, c->peer, c->frames, c->skipped);
    blob_unref(c->init);
    if (c->conn)
        evhttp_connection_free(c->conn); /* and its request */
    free(c);
}

static void ask(struct vclient *c)
{
    c->asked = true;
    c->asked_ns = now_ns();
    pthread_mutex_lock(&c->v->mu);
    c->s->ask = true;
    pthread_mutex_unlock(&c->v->mu);
}

static void send_au(struct vclient *c, struct au *a)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    size_t n = 0;

    if (c->mp4) {
        if (c->init != a->init) {
            /* A first keyframe, or a new size: its init segment first. */
            blob_unref(c->init);
            c->init = blob_ref(a->init);
            evbuffer_add_reference(out, a->init->data, a->init->len,
                                   blob_unref_cb, blob_ref(a->init));
            n += a->init->len;
        }
        evbuffer_add_reference(out, a->frag, a->frag_len, au_unref_cb,
                               au_ref(a));
        n += a->frag_len;
    } else {
        evbuffer_add_reference(out, a->data, a->annexb_len, au_unref_cb,
                               au_ref(a));
        n += a->annexb_len;
    }
    c->frames++;
    c->bytes += n;
    c->s->sent++;
    c->s->sent_bytes += n;
}

/* Offers c the next AU of its stream: sent, or skipped while it waits
 * for a keyframe it has room for. */
static void offer(struct vclient *c, struct au *a)
{
    size_t queued = evbuffer_get_length(bufferevent_get_output(c->bev));
    size_t max = c->v->out_max, low = max / 4;

    if (!c->waiting && (queued > max || (a->gap && !a->key))) {
        /* Behind, or a frame lost upstream: nothing until a keyframe. */
        c->waiting = true;
        c->asked = false;
        if (queued > max) {
            if (!c->overflows++)
                log_warn("http: H.264 viewer %u of %s (%s) is behind by more "
                         "than --http-h264-buffer (%zu KiB): it skips to "
                         "keyframes",
                         c->id, c->s->name, c->peer, max / 1024);
            c->s->overflows++;
        }
    }
    if (c->waiting) {
        if (a->key && queued <= low) {
            c->waiting = false;
        } else {
            c->skipped++;
            c->s->skipped++;
            if (a->key)
                c->asked = false; /* that one came too soon: ask anew */
            if (queued <= low &&
                (!c->asked || now_ns() - c->asked_ns > ASK_AGAIN_NS))
                ask(c);
            return;
        }
    }
    send_au(c, a);
}

/* New AUs came: every client of their stream is offered them, in order. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct h264http *v = arg;
    struct au *q[QUEUE_LEN];
    (void)fd;
    (void)what;

    pthread_mutex_lock(&v->mu);
    unsigned ns = v->streams.n;
    pthread_mutex_unlock(&v->mu);
    for (unsigned i = 0; i < ns; i++) {
        pthread_mutex_lock(&v->mu);
        struct vstream *s = nametab_at(&v->streams, i);
        unsigned n = s->nq;
        memcpy(q, s->q, n * sizeof q[0]);
        s->nq = 0;
        pthread_mutex_unlock(&v->mu);
        for (unsigned k = 0; k < n; k++) {
            struct vclient *c, *next;
            for (c = s->clients; c; c = next) {
                next = c->next;
                offer(c, q[k]);
            }
            au_unref(q[k]);
        }
    }
}

static void on_input(struct bufferevent *bev, void *arg)
{
    struct vclient *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    c->input += evbuffer_get_length(in);
    evbuffer_drain(in, evbuffer_get_length(in));
    if (c->input > INPUT_MAX)
        client_free(c); /* a viewer has nothing to say */
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
        client_free(arg);
}

static void reply_text(struct evhttp_request *req, int code, const char *reason,
                       const char *body)
{
    struct evbuffer *b = evbuffer_new();
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);

    evhttp_add_header(out, "Content-Type", "text/plain; charset=utf-8");
    evhttp_add_header(out, "Cache-Control", "no-store");
    if (b)
        evbuffer_add(b, body, strlen(body));
    evhttp_send_reply(req, code, reason, b);
    if (b)
        evbuffer_free(b);
}

void h264http_serve(struct h264http *v, struct evhttp_request *req,
                    const char *name, bool mp4, unsigned busy,
                    unsigned max_clients)
{
    const char *type = mp4 ? "video/mp4" : "video/h264";

    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        struct evkeyvalq *out = evhttp_request_get_output_headers(req);
        evhttp_add_header(out, "Content-Type", type);
        evhttp_add_header(out, "Cache-Control", "no-store");
        evhttp_send_reply(req, 200, "OK", NULL);
        return;
    }
    if (busy + v->nclients >= max_clients) {
        char msg[128];
        snprintf(msg, sizeof msg,
                 "too many viewers: %u at once (--http-max-clients)\n",
                 max_clients);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
                          "5");
        return reply_text(req, 503, "Service Unavailable", msg);
    }
    struct vclient *c = calloc(1, sizeof *c);
    pthread_mutex_lock(&v->mu);
    struct vstream *s = c ? stream_get(v, name) : NULL;
    if (s)
        s->viewers++;
    pthread_mutex_unlock(&v->mu);
    if (!s) {
        free(c);
        return reply_text(req, 503, "Service Unavailable",
                          "too many streams (--max-streams)\n");
    }
    char *host = NULL;
    ev_uint16_t port = 0;
    c->v = v;
    c->s = s;
    c->mp4 = mp4;
    c->id = ++v->next_id;
    c->conn = evhttp_request_get_connection(req);
    evhttp_connection_get_peer(c->conn, &host, &port);
    snprintf(c->peer, sizeof c->peer, "%s:%u", host ? host : "?", port);
    c->next = s->clients;
    s->clients = c;
    v->nclients++;
    log_info("http: H.264 viewer %u of %s (%s, %s)", c->id, s->name, c->peer,
             mp4 ? "mp4" : "h264");
    /* From here the connection is ours: a response that never ends,
     * delimited by the connection's close. */
    c->bev = evhttp_connection_get_bufferevent(c->conn);
    int sndbuf = (int)(v->out_max / 2);
    setsockopt(bufferevent_getfd(c->bev), SOL_SOCKET, SO_SNDBUF, &sndbuf,
               sizeof sndbuf);
    struct timeval wt = {v->timeout_s, 0};
    bufferevent_set_timeouts(c->bev, NULL, &wt);
    bufferevent_setcb(c->bev, on_input, NULL, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    evbuffer_add_printf(bufferevent_get_output(c->bev),
                        "HTTP/1.0 200 OK\r\n"
                        "Content-Type: %s\r\n"
                        "Cache-Control: no-store\r\n"
                        "Pragma: no-cache\r\n"
                        "X-Accel-Buffering: no\r\n"
                        "Connection: close\r\n\r\n",
                        type);
    c->waiting = true;
    ask(c); /* a keyframe now, not at the end of the GOP */
}

unsigned h264http_clients(const struct h264http *v)
{
    return v ? v->nclients : 0;
}

/* --- metrics ------------------------------------------------------------ */

void h264http_metrics(struct h264http *v, struct evbuffer *b)
{
    static const struct {
        const char *name, *help;
        size_t off;
    } per[] = {
#define F(n, h, f) {n, h, offsetof(struct vstream, f)}
        F("vidpipe_h264_frames", "H.264 access units received", aus),
        F("vidpipe_h264_bytes", "H.264 bytes received", au_bytes),
        F("vidpipe_h264_keyframes", "keyframes received", keyframes),
        F("vidpipe_h264_keyframe_requests", "keyframes asked upstream for",
          asks),
        F("vidpipe_h264_sent_frames", "access units sent to viewers", sent),
        F("vidpipe_h264_sent_bytes", "bytes sent to H.264 viewers", sent_bytes),
        F("vidpipe_h264_skipped", "frames viewers skipped to a keyframe",
          skipped),
        F("vidpipe_h264_overflows",
          "times a viewer's send buffer passed its bound", overflows),
#undef F
    };
    pthread_mutex_lock(&v->mu);
    unsigned n = v->streams.n;
    evbuffer_add_printf(b,
                        "# HELP vidpipe_h264_viewers H.264 viewers (.h264, "
                        ".mp4)\n# TYPE vidpipe_h264_viewers gauge\n"
                        "vidpipe_h264_viewers %u\n",
                        v->nclients);
    for (unsigned k = 0; k < sizeof per / sizeof *per; k++) {
        evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s counter\n", per[k].name,
                            per[k].help, per[k].name);
        for (unsigned i = 0; i < n; i++) {
            const struct vstream *s = nametab_at(&v->streams, i);
            uint64_t x;
            memcpy(&x, (const char *)s + per[k].off, sizeof x);
            evbuffer_add_printf(b, "%s_total{stream=\"%s\"} %" PRIu64 "\n",
                                per[k].name, s->name, x);
        }
    }
    pthread_mutex_unlock(&v->mu);
    static const char *vf[] = {"frames", "bytes", "skipped"};
    for (unsigned k = 0; k < 3; k++) {
        evbuffer_add_printf(b, "# TYPE vidpipe_h264_viewer_%s counter\n",
                            vf[k]);
        for (unsigned i = 0; i < n; i++) {
            const struct vstream *s = nametab_at(&v->streams, i);
            for (const struct vclient *c = s->clients; c; c = c->next)
                evbuffer_add_printf(
                    b,
                    "vidpipe_h264_viewer_%s_total{stream=\"%s\",id=\"%u\","
                    "peer=\"%s\",format=\"%s\"} %" PRIu64 "\n",
                    vf[k], s->name, c->id, c->peer, c->mp4 ? "mp4" : "h264",
                    k == 0   ? c->frames
                    : k == 1 ? c->bytes
                             : c->skipped);
        }
    }
}

/* --- lifetime ----------------------------------------------------------- */

struct h264http *h264http_new(struct event_base *base, unsigned max_streams,
                              unsigned timeout_s, size_t out_max)
{
    struct h264http *v = calloc(1, sizeof *v);

    if (!v)
        return NULL;
    v->base = base;
    v->max_streams = max_streams;
    v->timeout_s = timeout_s;
    v->out_max = out_max;
    pthread_mutex_init(&v->mu, NULL);
    if (!(v->wake = event_new(base, -1, 0, on_wake, v))) {
        h264http_free(v);
        return NULL;
    }
    return v;
}

void h264http_free(struct h264http *v)
{
    if (!v)
        return;
    for (unsigned i = 0; i < v->streams.n; i++) {
        struct vstream *s = nametab_at(&v->streams, i);
        while (s->clients) {
            struct vclient *c = s->clients;
            s->clients = c->next;
            blob_unref(c->init);
            free(c); /* evhttp_free closes its connection */
        }
        for (unsigned k = 0; k < s->nq; k++)
            au_unref(s->q[k]);
        blob_unref(s->init);
    }
    nametab_fini(&v->streams);
    if (v->wake)
        event_free(v->wake);
    pthread_mutex_destroy(&v->mu);
    free(v);
}
