/* sub.c -- the subscriber: vp_sub_*, and its two modes that run on the
 * caller's thread: every frame in order (a relay, a recorder) and a byte
 * stream.  The newest-frame mode is latest.c's; reading, subscribing and
 * the frame pool are the receive core's (recv.c). */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/recv.h"
#include "contract/ring.h"
#include "contract/stream.h"
#include "contract/topic.h"
#include "transport/curve.h"
#include "transport/endpoint.h"
#include "transport/xsub.h"
#include "util/clock.h"
#include "util/log.h"

void vp_sub_opts_init(struct vp_sub_opts *o)
{
    *o = (struct vp_sub_opts){.codec = VP_CODEC_RAW, .shm = VP_SHM_AUTO};
}

/* Waits until fd (or sock) has input, serving the linked downstream
 * meanwhile.  0, -ETIMEDOUT or -EINTR. */
static int wait_input(struct vp_sub *s, void *sock, int fd, int64_t deadline)
{
    zmq_pollitem_t it[2] = {{sock, fd, ZMQ_POLLIN, 0}};
    int n = 1;

    if (s->link.sock)
        it[n++] = (zmq_pollitem_t){s->link.sock, 0, ZMQ_POLLIN, 0};
    for (;;) {
        int64_t left = deadline - clock_mono_ns();
        if (left <= 0)
            return -ETIMEDOUT;
        /* In slices, so subscriptions and probes are kept up. */
        long slice = s->h264.waiting ? 20 : 100;
        long ms =
            left > slice * 1000000 ? slice : (long)((left + 999999) / 1000000);
        if (zmq_poll(it, n, ms) < 0)
            return errno == EINTR ? -EINTR : -errno;
        if (s->link.serve)
            s->link.serve(s->link.arg);
        if (it[0].revents)
            return 0;
        if (s->x)
            sub_policy_idle(s);
    }
}

/* Hands f out as *out. */
static int deliver(struct vp_frame *f, enum vp_path path, struct vp_frame **out)
{
    frame_deliver(f, path);
    *out = f;
    return 0;
}

static int64_t deadline_of(int timeout_ms)
{
    return timeout_ms < 0 ? INT64_MAX
                          : clock_mono_ns() + (int64_t)timeout_ms * 1000000;
}

/* True if the caller asked for variant v of stream itself. */
static bool wanted(const struct vp_sub *s, enum variant v, const char *stream)
{
    for (unsigned i = 0; i < s->nwants; i++)
        if (s->wants[i].v == v &&
            (!s->wants[i].stream[0] || strcmp(s->wants[i].stream, stream) == 0))
            return true;
    return false;
}

/* Every frame in order, on the caller's thread. */
static int every_next(struct vp_sub *s, int timeout_ms, struct vp_frame **out)
{
    int64_t deadline = deadline_of(timeout_ms);
    struct vp_frame *f = frame_get(s);
    int rc;

    if (!f)
        return vp_fail(-ENOMEM, "out of memory");
    for (;;) {
        if (s->link.serve)
            s->link.serve(s->link.arg);
        sub_policy_idle(s);
        rc = sub_read(s, f);
        if (rc == -EAGAIN) {
            if ((rc = wait_input(s, xsub_socket(s->x), 0, deadline)) < 0)
                break;
            continue;
        }
        if (rc < 0)
            break;
        sub_policy_seen(s, f->msg.var);
        if (f->msg.var == VAR_H264 && !sub_linked(s) &&
            s->o.codec == VP_CODEC_H264 && sub_h264_take(s, f, false) < 0) {
            frame_clear(f);
            continue;
        }
        if (f->msg.var != VAR_SHM)
            return deliver(f, VP_PATH_TCP, out);
        if (s->o.shm == VP_SHM_ONLY)
            return deliver(f, VP_PATH_SHM, out);
        rc = sub_hold_ring(s, f);
        if (rc == 0)
            return deliver(f, VP_PATH_SHM, out);
        if (rc == -ENOENT && s->link.remote)
            s->link.remote(s->link.arg, f->msg.hdr.stream);
        else if (rc == -ENOENT && !wanted(s, VAR_SHM, f->msg.hdr.stream))
            atomic_store(&s->want_payload, true);
        if (rc == -ENOENT && wanted(s, VAR_SHM, f->msg.hdr.stream)) {
            f->remote = true; /* delivered for its header */
            return deliver(f, VP_PATH_SHM, out);
        }
        frame_clear(f);
    }
    frame_put(f);
    if (rc == -ETIMEDOUT)
        return vp_fail(rc, "no frame within %d ms", timeout_ms);
    if (rc == -EINTR)
        return vp_fail(rc, "interrupted");
    return vp_fail(rc, "receive: %s", zmq_strerror(-rc));
}

/* The next frame of a byte stream. */
static int stream_next(struct vp_sub *s, int timeout_ms, struct vp_frame **out)
{
    struct vp_frame *f;
    int rc;

    if (s->in_failed)
        return vp_fail(-EBADMSG, "%s", stream_reader_error(s->in));
    if (stream_reader_pending(s->in) == 0 &&
        (rc = wait_input(s, NULL, s->o.fd, deadline_of(timeout_ms))) < 0)
        return vp_fail(rc, rc == -EINTR ? "interrupted" : "no frame in time");
    if (!(f = frame_get(s)))
        return vp_fail(-ENOMEM, "out of memory");
    pthread_mutex_lock(&s->mu); /* frames give buffers back under it */
    rc = stream_read(s->in, &f->msg.hdr, &f->msg.data);
    if (rc == 0) {
        f->offset = (int64_t)stream_reader_frame_offset(s->in);
        f->stream_buf = stream_reader_take(s->in);
    }
    pthread_mutex_unlock(&s->mu);
    if (rc == 0) {
        f->msg.len = f->msg.hdr.size;
        f->msg.var = f->msg.hdr.enc == ENC_JPEG ? VAR_JPEG : VAR_RAW;
        atomic_fetch_add(&s->received, 1);
        return deliver(f, VP_PATH_PIPE, out);
    }
    frame_put(f);
    if (rc == -ENODATA)
        return vp_fail(-ENODATA, "end of the stream");
    if (rc == -EINTR)
        return vp_fail(rc, "interrupted");
    if (rc == -EBADMSG) {
        s->in_failed = true;
        atomic_fetch_add(&s->bad, 1);
        sub_sync_counts(s);
    }
    return vp_fail(rc, "%s", stream_reader_error(s->in));
}

int vp_sub_next(vp_sub *s, int timeout_ms, vp_frame **f)
{
    int rc;

    *f = NULL;
    switch (s->mode) {
    case SUB_LATEST:
        rc = latest_next(s, timeout_ms, f);
        break;
    case SUB_EVERY:
        rc = every_next(s, timeout_ms, f);
        break;
    default:
        rc = stream_next(s, timeout_ms, f);
        break;
    }
    sub_sync_counts(s);
    return rc;
}

vp_stats *vp_sub_stats(vp_sub *s)
{
    sub_sync_counts(s);
    return &s->st;
}

/* The CURVE roles of o: a client's for the urls it connects to (with
 * the publishers' keys), a server's for those it binds (with the allow
 * directory).  0 or -EINVAL with vp_errmsg(). */
static int curve_roles(struct vp_sub *s, const struct vp_sub_opts *o,
                       const char *const *urls, unsigned n)
{
    const char **conn = calloc(n, sizeof *conn);
    struct endpoint ep;
    const char *why, *which = NULL;
    unsigned nconn = 0;
    int rc = 0;

    if (!conn)
        return vp_fail(-ENOMEM, "out of memory");
    for (unsigned i = 0; i < n; i++)
        if (endpoint_parse(urls[i], &ep, &why) == 0 &&
            !endpoint_binds(&ep, false))
            /* As ZeroMQ gets it: without connect: (a suffix). */
            conn[nconn++] = urls[i] + strlen(urls[i]) - strlen(ep.url);
    if (o->curve_allow) {
        rc = curve_server_new(&s->curve_in, o->curve_secret, o->curve_allow,
                              &why, &which);
    } else if (!o->ncurve_server_keys) {
        why = "give the publishers' keys, or an allow directory";
        rc = -EINVAL;
    }
    if (rc == 0 && o->ncurve_server_keys)
        rc = curve_client_new(&s->curve, o->curve_secret, o->curve_server_keys,
                              o->ncurve_server_keys, conn, nconn, &why, &which);
    free(conn);
    if (rc < 0) {
        vp_fail_why(rc, which ? which : "CURVE", why);
        return -EINVAL; /* a bad CURVE option, whatever the cause */
    }
    return 0;
}

/* The SUB socket: its endpoints as ZeroMQ takes them, each bound or
 * connected as the grammar says (endpoint.h).  0 or -errno with
 * vp_errmsg(). */
static int open_socket(struct vp_sub *s, const char *const *urls, unsigned n)
{
    const char **zurls = calloc(n, sizeof *zurls);
    bool *binds = calloc(n, sizeof *binds);
    const char *why, *which;
    struct endpoint ep;
    int rc = -ENOMEM;

    if (!zurls || !binds) {
        rc = vp_fail(rc, "out of memory");
        goto out;
    }
    for (unsigned i = 0; i < n; i++) {
        endpoint_parse(urls[i], &ep, &why); /* checked by the caller */
        zurls[i] = urls[i] + strlen(urls[i]) - strlen(ep.url); /* a suffix */
        binds[i] = endpoint_binds(&ep, false);
    }
    rc = xsub_new(&s->x, zurls, binds, n, s->curve, s->curve_in, &why, &which);
    if (rc < 0) {
        for (unsigned i = 0; i < n && which; i++)
            if (which == zurls[i])
                which = urls[i]; /* the caller's words */
        rc = vp_fail_why(rc, which ? which : "input", why);
    }
out:
    free(zurls);
    free(binds);
    return rc;
}

int vp_sub_open(vp_sub **out, const char *const *urls, unsigned n,
                const struct vp_sub_opts *o)
{
    struct vp_sub *s;
    struct endpoint ep;
    const char *why;
    int rc;

    *out = NULL;
    if (n == 0)
        return vp_fail(-EINVAL, "no input endpoint");
    for (unsigned i = 0; i < n; i++) {
        if (endpoint_parse(urls[i], &ep, &why) < 0)
            return vp_fail(-EINVAL, "input %s: %s", urls[i], why);
        if (ep.kind == EP_STDIO && n > 1)
            return vp_fail(-EINVAL, "input -: stdin must be the only input");
    }
    if (!(s = calloc(1, sizeof *s)))
        return vp_fail(-ENOMEM, "out of memory");
    if (o)
        s->o = *o;
    else
        vp_sub_opts_init(&s->o);
    if (s->o.stream && !frame_stream_name_ok(s->o.stream)) {
        rc = vp_fail(-EINVAL, "stream %s: use 1..63 of A-Z a-z 0-9 _ . -",
                     s->o.stream);
        free(s);
        return rc;
    }
    snprintf(s->stream, sizeof s->stream, "%s", s->o.stream ? s->o.stream : "");
    s->o.stream = s->stream[0] ? s->stream : NULL;
    s->o.curve_secret = NULL; /* read below, not kept */
    s->o.curve_server_keys = NULL;
    s->o.curve_allow = NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->codec_mu, NULL);
    stats_init(&s->st);
    if (s->o.max_streams)
        s->st.max_streams = s->o.max_streams;
    rc = vp_stats_add(&s->st, "received", &s->received_seen);
    if (rc == 0 && o && o->codec == VP_CODEC_H264)
        rc = vp_stats_add(&s->st, "waiting_keyframe", &s->waiting_seen);
    assert(rc == 0); /* room for these is a constant of stats.h */
    if (!(s->rings = ring_reader_new())) {
        rc = vp_fail(-ENOMEM, "out of memory");
        goto fail;
    }
    if (strcmp(urls[0], "-") == 0) {
        s->mode = SUB_STREAM;
        s->st.path = "pipe";
        if (!o || o->fd <= 0)
            s->o.fd = STDIN_FILENO;
        if (!(s->in = stream_reader_new(s->o.fd, 0))) {
            rc = vp_fail(-ENOMEM, "out of memory");
            goto fail;
        }
        *out = s;
        return 0;
    }
    s->st.path = "tcp";
    if (o && o->curve_secret && (rc = curve_roles(s, o, urls, n)) < 0)
        goto fail;
    if ((rc = open_socket(s, urls, n)) < 0)
        goto fail;
    rc = vp_stats_add(&s->st, "dup_name_drops", &s->dup_seen);
    if (rc == 0 && xsub_binds(s->x)) {
        rc = vp_stats_add(&s->st, "dialin_connections", &s->dialin_handshakes);
        if (rc == 0)
            rc = vp_stats_add(&s->st, "dialin_refused", &s->dialin_refused);
        if (rc == 0)
            rc = vp_stats_add_gauge(&s->st, "dialin_open", &s->dialin_open);
    }
    assert(rc == 0); /* room for these is a constant of stats.h */
    s->mode =
        s->o.every_frame || s->o.shm == VP_SHM_ONLY ? SUB_EVERY : SUB_LATEST;
    sub_policy_start(s);
    if (s->mode == SUB_LATEST && (rc = latest_start(s)) < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    vp_sub_close(s);
    return rc;
}

void vp_sub_close(vp_sub *s)
{
    if (!s)
        return;
    if (s->mode == SUB_LATEST && s->lt)
        latest_stop(s);
    xsub_free(s->x);
    s->x = NULL;
    curve_free(s->curve);
    curve_free(s->curve_in);
    s->curve = s->curve_in = NULL;
    /* Frames still out keep what they point into: the last one released
     * frees the rest. */
    pthread_mutex_lock(&s->mu);
    bool out = s->out > 0;
    s->closing = out;
    pthread_mutex_unlock(&s->mu);
    if (!out)
        sub_destroy(s);
}

int vp_sub_want(vp_sub *s, const char *stream, enum vp_variant v, bool on)
{
    static const enum variant var[] = {VAR_SHM, VAR_RAW, VAR_JPEG, VAR_H264};
    const char *name = stream ? stream : "";
    unsigned i;

    if (s->mode == SUB_STREAM)
        return vp_fail(-ENOTSUP, "a byte stream has no publisher to ask");
    if (s->mode == SUB_LATEST)
        return vp_fail(-EINVAL, "vp_sub_want needs an every_frame subscriber");
    if ((unsigned)v > VP_VARIANT_H264 || (*name && !frame_stream_name_ok(name)))
        return vp_fail(-EINVAL, "want: bad variant or stream name");
    for (i = 0; i < s->nwants; i++)
        if (s->wants[i].v == var[v] && strcmp(s->wants[i].stream, name) == 0)
            break;
    if (on == (i < s->nwants))
        return 0;
    if (on && s->nwants == s->wants_cap) {
        unsigned cap = s->wants_cap ? 2 * s->wants_cap : 8;
        struct sub_want *w = realloc(s->wants, cap * sizeof *w);
        if (!w)
            return vp_fail(-ENOMEM, "want: out of memory");
        s->wants = w;
        s->wants_cap = cap;
    }
    /* Only the stream asked for (a gateway's one MJPEG viewer must not
     * make every camera encode JPEG).  SUB counts its subscriptions: one
     * the downstream of a link holds too stays until both have let it
     * go. */
    sub_subscribe_variant(s, var[v], *name ? name : s->stream, on);
    if (on) {
        s->wants[s->nwants].v = var[v];
        snprintf(s->wants[s->nwants].stream, sizeof s->wants[0].stream, "%s",
                 name);
        s->nwants++;
    } else {
        s->wants[i] = s->wants[--s->nwants];
    }
    return 0;
}

int vp_sub_ask_keyframe(vp_sub *s, const char *stream)
{
    static atomic_uint_fast64_t nonce;
    char t[TOPIC_MAX + 20];

    if (s->mode == SUB_STREAM)
        return vp_fail(-ENOTSUP, "a byte stream has no publisher to ask");
    if (s->mode == SUB_LATEST || !stream || !frame_stream_name_ok(stream))
        return vp_fail(-EINVAL, "ask_keyframe: bad stream name, or a "
                                "latest-frame subscriber");
    uint64_t n = atomic_fetch_add(&nonce, 1) ^ (uint64_t)clock_mono_ns();
    size_t tl = topic_key_request(t, sizeof t, stream, n);
    sub_subscribe(s, t, tl, true);
    sub_subscribe(s, t, tl, false);
    return 0;
}
