/* pub.c -- the publisher: each variant somebody wants, made once.
 *
 * Over ZeroMQ a frame is made in a loaned buffer: a slot of its stream's
 * shm ring while a same-host subscriber wants descriptors (the raw and
 * JPEG variants for remote subscribers are then made from that slot), or
 * else a pool buffer that ZeroMQ sends without a copy.  On "-" each
 * frame is written in the one encoding asked for.  Republishing received
 * frames, and relaying, are forward.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/publish.h"
#include "codec/h264.h"
#include "codec/jpeg.h"
#include "contract/ring.h"
#include "contract/stream.h"
#include "contract/topic.h"
#include "transport/curve.h"
#include "transport/endpoint.h"
#include "transport/xpub.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/pool.h"

#define POOL_BUFS 8
#define RING_RETRY_NS 10000000000LL /* after a ring could not be made */

void vp_pub_opts_init(struct vp_pub_opts *o)
{
    *o = (struct vp_pub_opts){.stream = "cam0",
                              .ring_slots = RING_DEFAULT_SLOTS,
                              .jpeg_quality = 80,
                              .codec = VP_CODEC_RAW,
                              .fd = STDOUT_FILENO,
                              .h264_bitrate = H264_DEFAULT_BITRATE,
                              .h264_gop = H264_DEFAULT_GOP,
                              .fps = 30,
                              .max_subs = XPUB_MAX_SUBS,
                              .max_subs_per_client = XPUB_MAX_SUBS_PER_CLIENT,
                              .max_streams = PUB_DEFAULT_MAX_STREAMS};
}

struct pstream *pub_stream(struct vp_pub *p, const char *name)
{
    struct pstream *s = nametab_find(&p->streams, name);

    if (s || p->streams.n >= p->o.max_streams)
        return s;
    if (!(s = calloc(1, sizeof *s)))
        return NULL;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->last_ns = clock_mono_ns();
    if (nametab_add(&p->streams, s) < 0) {
        free(s);
        return NULL;
    }
    p->nstreams = p->streams.n;
    return s;
}

bool pub_wants(const struct vp_pub *p, enum variant v, const char *stream)
{
    char t[TOPIC_MAX];
    size_t tl = topic_make(t, sizeof t, v, stream);
    if (v == VAR_SHM && p->o.no_shm)
        return false;
    return xpub_wants(p->x, t, tl);
}

/* One subscription change: a keyframe request, or a first subscriber of
 * h264, makes the next frame a keyframe. */
static void subscription(void *arg, const char *prefix, size_t len, bool on)
{
    struct vp_pub *p = arg;
    char stream[FRAME_STREAM_MAX + 1], t[TOPIC_MAX];
    size_t all = topic_make(t, sizeof t, VAR_H264, NULL);

    if (p->on_sub)
        p->on_sub(p, prefix, len, on);
    if (!on)
        return;
    if (topic_is_key_request(prefix, len, stream)) {
        /* Only a stream carried: a request makes no entry (a new stream's
         * first frame is a keyframe anyway). */
        struct pstream *s = nametab_find(&p->streams, stream);
        p->keyframe_requests++;
        if (s)
            keyframer_ask(&s->kf);
    } else if (len >= all && memcmp(prefix, t, all) == 0) {
        /* A first subscriber of one stream's h264, or of every stream's:
         * it starts at the next frame. */
        for (unsigned i = 0; i < p->streams.n; i++) {
            struct pstream *s = pub_stream_at(p, i);
            size_t tl = topic_make(t, sizeof t, VAR_H264, s->name);
            if (len == all || (len == tl && memcmp(prefix, t, tl) == 0))
                keyframer_ask(&s->kf);
        }
    }
}

void pub_serve(struct vp_pub *p)
{
    if (p->x) {
        xpub_poll_subs(p->x, subscription, p);
        p->bounds_raised = xpub_bounds_raised(p->x);
    }
}

void *pub_socket(struct vp_pub *p)
{
    return p->x ? xpub_socket(p->x) : NULL;
}

/* --- making variants ---------------------------------------------------- */

/* The stream's ring, made (again) for this geometry; NULL without one. */
struct ring *pub_ring_for(struct vp_pub *p, struct pstream *s,
                          const struct frame_hdr *raw)
{
    const char *why;

    if (s->ring &&
        ring_fits(s->ring, raw->width, raw->height, raw->stride, raw->fmt))
        return s->ring;
    ring_free(s->ring);
    s->ring = NULL;
    if (s->ring_failed_ns &&
        clock_mono_ns() - s->ring_failed_ns < RING_RETRY_NS)
        return NULL;
    int rc = ring_create(&s->ring, NULL, p->o.ring_slots, raw->width,
                         raw->height, raw->stride, raw->fmt, &why);
    s->ring_failed_ns = s->ring ? 0 : clock_mono_ns();
    if (rc < 0)
        log_warn("shm: %s: %s; publishing without shared memory", why,
                 strerror(-rc));
    return s->ring;
}

/* The pools for frames of h's geometry (made anew when it grows; the old
 * ones go once ZeroMQ has handed their buffers back). */
int pub_pools_for(struct vp_pub *p, const struct frame_hdr *h)
{
    size_t raw = pixfmt_size(h->fmt, h->height, h->stride);
    size_t jpg = jpeg_bound(h->width, h->height);

    if (!p->raw_pool || pool_size(p->raw_pool) < raw) {
        pool_free(p->raw_pool);
        if (!(p->raw_pool = pool_new(POOL_BUFS, raw)))
            return -ENOMEM;
    }
    if (!p->jpeg_pool || pool_size(p->jpeg_pool) < jpg) {
        pool_free(p->jpeg_pool);
        if (!(p->jpeg_pool = pool_new(POOL_BUFS, jpg)))
            return -ENOMEM;
    }
    if (!p->jpeg && !(p->jpeg = jpeg_new()))
        return -ENOMEM;
    return 0;
}

/* Sends one message of variant v for h; payload (may be NULL) is moved.
 * 0, -EAGAIN (a subscriber with no room: counted as a drop), -EBADMSG
 * (the header would not encode: logged) or another -errno. */
int pub_send_variant(struct vp_pub *p, enum variant v,
                     const struct frame_hdr *h, zmq_msg_t *payload)
{
    char t[TOPIC_MAX];
    uint8_t hdr[FRAME_HDR_MAX];
    size_t tl, hl;

    if (message_encode(v, h, t, &tl, hdr, &hl) < 0) {
        if (payload)
            zmq_msg_close(payload);
        log_limited(&p->log, "frame %llu: header does not encode",
                    (unsigned long long)h->seq);
        return -EBADMSG;
    }
    int rc = xpub_send(p->x, t, tl, hdr, hl, payload);
    if (rc == -EAGAIN)
        p->st.drops++;
    return rc;
}

/* A JPEG of raw pixels px (h's geometry) in a pool buffer, sent. */
uint64_t pub_send_jpeg(struct vp_pub *p, const struct frame_hdr *h,
                       const uint8_t *px)
{
    uint8_t *jb = pool_get(p->jpeg_pool);
    struct frame_hdr jh = *h;
    zmq_msg_t m;
    size_t len;

    if (!jb) {
        log_limited(&p->log, "all JPEG buffers in flight");
        p->st.drops++;
        return 0;
    }
    if (jpeg_encode(p->jpeg, px, h->width, h->height, h->stride, h->fmt,
                    p->o.jpeg_quality, jb, pool_size(p->jpeg_pool), &len) < 0) {
        log_limited(&p->log, "JPEG encode failed");
        pool_zmq_free(jb, p->jpeg_pool);
        return 0;
    }
    p->jpeg_encodes++;
    jh.enc = ENC_JPEG;
    jh.size = len;
    jh.has_shm = false;
    zmq_msg_init_data(&m, jb, len, pool_zmq_free, p->jpeg_pool);
    return pub_send_variant(p, VAR_JPEG, &jh, &m) == 0 ? len : 0;
}

int pub_encode_h264(struct vp_pub *p, struct pstream *s,
                    const struct frame_hdr *h, const uint8_t *px,
                    struct frame_hdr *out, const uint8_t **data)
{
    struct keyframe_opts ko = {p->o.fps, p->o.h264_bitrate, p->o.h264_gop};
    const char *why;
    bool is_key;

    if (keyframer_encode(&s->kf, &ko, h, px, out, data, &is_key, &why) < 0) {
        log_limited(&p->log, "frame %llu: h264 %ux%u: %s",
                    (unsigned long long)h->seq, h->width, h->height, why);
        return -EIO;
    }
    p->h264_encodes++;
    p->keyframes += is_key;
    return 0;
}

uint64_t pub_send_h264(struct vp_pub *p, struct pstream *s,
                       const struct frame_hdr *h, const uint8_t *px)
{
    struct frame_hdr eh;
    const uint8_t *data;
    zmq_msg_t m;

    if (pub_encode_h264(p, s, h, px, &eh, &data) < 0)
        return 0;
    /* The packet is the encoder's until the next frame: ZeroMQ gets a
     * copy of the few compressed bytes, in a buffer of the JPEG pool
     * (sized for any JPEG of the frame: a packet is far smaller). */
    uint8_t *buf =
        eh.size <= pool_size(p->jpeg_pool) ? pool_get(p->jpeg_pool) : NULL;
    if (buf) {
        memcpy(buf, data, eh.size);
        zmq_msg_init_data(&m, buf, eh.size, pool_zmq_free, p->jpeg_pool);
    } else if (zmq_msg_init_size(&m, eh.size) == 0) {
        memcpy(zmq_msg_data(&m), data, eh.size);
    } else {
        return 0;
    }
    return pub_send_variant(p, VAR_H264, &eh, &m) == 0 ? eh.size : 0;
}

/* The raw payload of h: buf is a pool buffer holding the pixels (moved to
 * ZeroMQ), or NULL to copy them from px into one. */
uint64_t pub_send_raw(struct vp_pub *p, const struct frame_hdr *h,
                      const uint8_t *px, uint8_t *buf)
{
    struct frame_hdr rh = *h;
    zmq_msg_t m;

    if (!buf) {
        if (!(buf = pool_get(p->raw_pool))) {
            log_limited(&p->log, "all frame buffers in flight");
            p->st.drops++;
            return 0;
        }
        memcpy(buf, px, h->size);
        p->raw_copies++;
    }
    rh.has_shm = false;
    zmq_msg_init_data(&m, buf, h->size, pool_zmq_free, p->raw_pool);
    if (pub_send_variant(p, VAR_RAW, &rh, &m) < 0)
        return 0;
    p->raw_sent++;
    return h->size;
}

/* Publishes the payload variants the loan wanted of the raw frame h,
 * pixels px (buf: px's own pool buffer, consumed here, or NULL). */
static uint64_t send_payloads(struct vp_pub *p, const struct loan *l,
                              const struct frame_hdr *h, const uint8_t *px,
                              uint8_t *buf)
{
    bool want_raw = l->want_raw;
    uint64_t bytes = 0;

    if (l->want_h264)
        bytes += pub_send_h264(p, l->ps, h, px);
    else
        keyframer_idle(&l->ps->kf);
    if (l->want_jpeg)
        bytes += pub_send_jpeg(p, h, px);
    if (want_raw)
        bytes += pub_send_raw(p, h, px, buf);
    else if (buf)
        pool_zmq_free(buf, p->raw_pool);
    return bytes;
}

/* Writes frame h (payload data) on the byte stream in the publisher's
 * codec.  0, -EPIPE (the reader has gone), -EINTR or -errno. */
int pub_write_stream(struct vp_pub *p, const struct frame_hdr *h,
                     const uint8_t *data, uint64_t *bytes)
{
    struct frame_hdr out = *h;
    size_t len;
    int rc;

    out.has_shm = false;
    if (p->o.codec == VP_CODEC_H264 && h->enc == ENC_RAW) {
        struct pstream *s = pub_stream(p, h->stream);
        if (!s || pub_encode_h264(p, s, h, data, &out, &data) < 0)
            return vp_fail(-EIO, "H.264 encode of frame %llu failed",
                           (unsigned long long)h->seq);
    } else if (p->o.codec == VP_CODEC_JPEG && h->enc == ENC_RAW) {
        uint8_t *jb = mem_reserve(&p->scratch2, &p->scratch2_cap,
                                  jpeg_bound(h->width, h->height));
        if (!jb || (!p->jpeg && !(p->jpeg = jpeg_new())))
            return vp_fail(-ENOMEM, "out of memory");
        if (jpeg_encode(p->jpeg, data, h->width, h->height, h->stride, h->fmt,
                        p->o.jpeg_quality, jb, p->scratch2_cap, &len) < 0)
            return vp_fail(-EIO, "JPEG encode of frame %llu failed",
                           (unsigned long long)h->seq);
        p->jpeg_encodes++;
        out.enc = ENC_JPEG;
        out.size = len;
        data = jb;
    } else if (p->o.codec != VP_CODEC_JPEG && h->enc == ENC_JPEG) {
        out.enc = ENC_RAW;
        out.stride = pixfmt_min_stride(h->fmt, h->width);
        out.size = pixfmt_size(h->fmt, h->height, out.stride);
        uint8_t *rb = mem_reserve(&p->scratch2, &p->scratch2_cap, out.size);
        if (!rb || (!p->jpeg && !(p->jpeg = jpeg_new())))
            return vp_fail(-ENOMEM, "out of memory");
        if (jpeg_decode(p->jpeg, data, h->size, rb, h->width, h->height,
                        out.stride, h->fmt) < 0)
            return vp_fail(-EBADMSG, "undecodable JPEG in frame %llu",
                           (unsigned long long)h->seq);
        data = rb;
    }
    rc = stream_write(p->o.fd, &out, data, out.size);
    if (rc == 0)
        *bytes += out.size;
    else if (rc == -EPIPE)
        return vp_fail(rc, "the reader of the stream has gone");
    else if (rc != -EINTR)
        return vp_fail(rc, "writing the stream: %s", strerror(-rc));
    return rc;
}

/* --- loan and commit ---------------------------------------------------- */

static int geometry(struct frame_hdr *h, uint32_t w, uint32_t ht,
                    enum vp_pixfmt fmt)
{
    enum pixfmt f = (enum pixfmt)fmt;
    uint32_t stride = pixfmt_min_stride(f, w);
    const char *bad;
    if (pixfmt_geometry(f, w, ht, stride, &bad) < 0)
        return vp_fail(-EINVAL, "bad frame: %ux%u %s: %s", w, ht,
                       vp_pixfmt_name(fmt) ? vp_pixfmt_name(fmt) : "?", bad);
    h->version = FRAME_SCHEMA_VERSION;
    h->width = w;
    h->height = ht;
    h->stride = stride;
    h->fmt = f;
    h->enc = ENC_RAW;
    h->size = pixfmt_size(f, ht, stride);
    h->has_shm = false;
    return 0;
}

int vp_pub_loan(vp_pub *p, uint32_t width, uint32_t height, enum vp_pixfmt fmt,
                struct vp_image *img)
{
    struct loan *l = &p->loan;
    int rc;

    if (l->active)
        return vp_fail(-EBUSY, "a frame is already on loan");
    memset(l, 0, sizeof *l);
    if ((rc = geometry(&l->hdr, width, height, fmt)) < 0)
        return rc;
    /* Made at the first frame: a relay's publisher has no own stream. */
    if (!p->own && !(p->own = pub_stream(p, p->stream))) {
        p->streams_refused++;
        return vp_fail(-ENOSPC, "stream %s: %u streams carried already",
                       p->stream, p->o.max_streams);
    }
    l->ps = p->own;
    snprintf(l->hdr.stream, sizeof l->hdr.stream, "%s", p->stream);
    if (!p->x) {
        if (!(l->px = mem_reserve(&p->scratch, &p->scratch_cap, l->hdr.size)))
            return vp_fail(-ENOMEM, "out of memory for a %ux%u frame", width,
                           height);
    } else {
        pub_serve(p);
        l->want_shm = pub_wants(p, VAR_SHM, p->stream);
        l->want_raw = pub_wants(p, VAR_RAW, p->stream);
        l->want_jpeg = pub_wants(p, VAR_JPEG, p->stream);
        l->want_h264 = pub_wants(p, VAR_H264, p->stream);
        if (pub_pools_for(p, &l->hdr) < 0)
            return vp_fail(-ENOMEM, "cannot allocate frame buffers for %ux%u",
                           width, height);
        struct ring *r = l->want_shm ? pub_ring_for(p, l->ps, &l->hdr) : NULL;
        if (r) {
            l->px = ring_write_begin(r, &l->slot);
            l->in_ring = true;
        } else if (!(l->px = pool_get(p->raw_pool))) {
            log_limited(&p->log, "all frame buffers in flight");
            p->st.drops++;
            return vp_fail(-EAGAIN, "all frame buffers are in flight");
        }
    }
    l->active = true;
    vp_image_layout(img, width, height, fmt, l->hdr.stride, l->px);
    return 0;
}

void vp_pub_cancel(vp_pub *p)
{
    struct loan *l = &p->loan;
    if (!l->active)
        return;
    if (l->in_ring)
        ring_write_abort(l->ps->ring, l->slot);
    else if (p->x)
        pool_zmq_free(l->px, p->raw_pool);
    l->active = false;
}

int vp_pub_commit(vp_pub *p, uint64_t seq)
{
    struct loan *l = &p->loan;
    struct frame_hdr *h = &l->hdr;
    uint64_t bytes = 0;
    int rc = 0;

    if (!l->active)
        return vp_fail(-EINVAL, "no frame on loan");
    l->active = false;
    h->seq = seq == VP_SEQ_NEXT ? l->ps->next_seq : seq;
    l->ps->next_seq = h->seq + 1;
    frame_stamp(h);
    if (!p->x) {
        rc = pub_write_stream(p, h, l->px, &bytes);
    } else if (l->in_ring) {
        ring_write_end(l->ps->ring, l->slot, h, &h->shm);
        h->has_shm = true;
        if (pub_send_variant(p, VAR_SHM, h, NULL) == 0)
            p->shm_sent++;
        h->has_shm = false;
        bytes = send_payloads(p, l, h, l->px, NULL);
    } else {
        bytes = send_payloads(p, l, h, l->px, l->px);
    }
    if (rc == 0)
        stats_frame(&p->st, h, bytes);
    return rc;
}

int vp_pub_send(vp_pub *p, const struct vp_image *img, uint64_t seq)
{
    struct vp_image dst;
    int rc;

    if ((rc = api_image_check(img, "send")) < 0 ||
        (rc = vp_pub_loan(p, img->width, img->height, img->fmt, &dst)) < 0)
        return rc;
    api_copy(img, &dst);
    return vp_pub_commit(p, seq);
}

/* --- the publisher ------------------------------------------------------ */

bool vp_pub_wanted(vp_pub *p)
{
    if (!p->x)
        return true;
    pub_serve(p);
    return pub_wants(p, VAR_SHM, p->stream) ||
           pub_wants(p, VAR_RAW, p->stream) ||
           pub_wants(p, VAR_JPEG, p->stream) ||
           pub_wants(p, VAR_H264, p->stream);
}

int vp_pub_wait_until(vp_pub *p, int64_t deadline)
{
    for (;;) {
        pub_serve(p);
        int64_t left = deadline - clock_mono_ns();
        if (left <= 0)
            return 0;
        if (p->x && left > 2000000) {
            /* Wake 1 ms early; the rest is slept precisely below. */
            zmq_pollitem_t it = {xpub_socket(p->x), 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&it, 1, (long)(left / 1000000) - 1) < 0 &&
                errno == EINTR)
                return vp_fail(-EINTR, "interrupted");
            continue;
        }
        struct timespec ts = {.tv_sec = deadline / 1000000000,
                              .tv_nsec = deadline % 1000000000};
        if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
            return vp_fail(-EINTR, "interrupted");
    }
}

vp_stats *vp_pub_stats(vp_pub *p)
{
    return &p->st;
}

/* The publisher's own counters in its stats (a link adds two), with its
 * subscription table's (p->x made). */
static int add_counters(struct vp_pub *p)
{
    const struct {
        const char *name;
        const uint64_t *v;
        bool gauge;
    } c[] = {
        {"shm_sent", &p->shm_sent, false},
        {"raw_sent", &p->raw_sent, false},
        {"raw_copies", &p->raw_copies, false},
        {"send_bounds_raised", &p->bounds_raised, false},
        {"jpeg_encodes", &p->jpeg_encodes, false},
        {"h264_encodes", &p->h264_encodes, false},
        {"keyframes", &p->keyframes, false},
        {"keyframe_requests", &p->keyframe_requests, false},
        {"subs_added", xpub_sub_counter(p->x, XPUB_SUBS_ADDED), false},
        {"subs_removed", xpub_sub_counter(p->x, XPUB_SUBS_REMOVED), false},
        {"subs_refused", xpub_sub_counter(p->x, XPUB_SUBS_REFUSED), false},
        {"stream_frames_refused", &p->streams_refused, false},
        {"streams_dropped", &p->streams_dropped, false},
        {"streams", &p->nstreams, true},
        {"streams_stalled", &p->streams_stalled, true},
        {"stream_bytes", &p->stream_bytes, true},
    };

    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if ((c[i].gauge ? vp_stats_add_gauge(&p->st, c[i].name, c[i].v)
                        : vp_stats_add(&p->st, c[i].name, c[i].v)) < 0)
            return vp_fail(-ENOSPC, "stats: no room for %s", c[i].name);
    return 0;
}

/* The CURVE role of p->o, if any: a server's with an allow directory
 * where it binds, a client's with the subscriber's key where it dials
 * out.  0 or -EINVAL with vp_errmsg(). */
static int curve_role(struct vp_pub *p, const struct endpoint *ep)
{
    const struct vp_pub_opts *o = &p->o;
    bool bind = endpoint_binds(ep, true);
    const char *why, *which = NULL;
    int rc;

    if (!o->curve_secret)
        return 0;
    if (bind && o->curve_server_key)
        return vp_fail(-EINVAL, "a subscriber's CURVE key is for dialling "
                                "out (connect:), not for binding");
    if (!bind && o->curve_allow)
        return vp_fail(-EINVAL, "a CURVE allow directory is for binding, "
                                "not for dialling out (connect:)");
    if (bind && !o->curve_allow)
        return vp_fail(-EINVAL, "CURVE needs an allow directory too");
    if (!bind && !o->curve_server_key)
        return vp_fail(-EINVAL, "CURVE dialling out needs the key of the "
                                "subscriber it dials (curve_server_key)");
    if (bind)
        rc = curve_server_new(&p->curve, o->curve_secret, o->curve_allow, &why,
                              &which);
    else
        rc = curve_client_new(&p->curve, o->curve_secret, &o->curve_server_key,
                              1, (const char *const[]){ep->url}, 1, &why,
                              &which);
    if (rc < 0) {
        vp_fail_why(rc, which ? which : "CURVE", why);
        return -EINVAL; /* a bad CURVE option, whatever the cause */
    }
    return 0;
}

int vp_pub_open(vp_pub **out, const char *url, const struct vp_pub_opts *o)
{
    struct vp_pub *p;
    struct endpoint ep;
    const char *why, *which;
    int rc;

    *out = NULL;
    if (endpoint_parse(url, &ep, &why) < 0)
        return vp_fail(-EINVAL, "output %s: %s", url, why);
    if (!(p = calloc(1, sizeof *p)))
        return vp_fail(-ENOMEM, "out of memory");
    if (o)
        p->o = *o;
    else
        vp_pub_opts_init(&p->o);
    const char *name = p->o.stream ? p->o.stream : "cam0";
    if (!frame_stream_name_ok(name)) {
        rc =
            vp_fail(-EINVAL, "stream %s: use 1..63 of A-Z a-z 0-9 _ . -", name);
        free(p);
        return rc;
    }
    snprintf(p->stream, sizeof p->stream, "%s", name);
    p->o.stream = p->stream;
    if (p->o.ring_slots == 0)
        p->o.ring_slots = RING_DEFAULT_SLOTS;
    if (p->o.jpeg_quality == 0)
        p->o.jpeg_quality = 80;
    if (p->o.h264_bitrate == 0)
        p->o.h264_bitrate = H264_DEFAULT_BITRATE;
    if (p->o.h264_gop == 0)
        p->o.h264_gop = H264_DEFAULT_GOP;
    if (p->o.max_streams == 0)
        p->o.max_streams = PUB_DEFAULT_MAX_STREAMS;
    if (p->o.ring_slots < RING_MIN_SLOTS || p->o.ring_slots > RING_MAX_SLOTS) {
        rc = vp_fail(-EINVAL, "ring slots %u: expected %d..%d", p->o.ring_slots,
                     RING_MIN_SLOTS, RING_MAX_SLOTS);
        free(p);
        return rc;
    }
    if (p->o.jpeg_quality < 1 || p->o.jpeg_quality > 100) {
        rc = vp_fail(-EINVAL, "JPEG quality %d: expected 1..100",
                     p->o.jpeg_quality);
        free(p);
        return rc;
    }
    stats_init(&p->st);
    p->st.max_streams = p->o.max_streams;
    if (ep.kind == EP_STDIO) {
        if (!o || o->fd <= 0)
            p->o.fd = STDOUT_FILENO;
        p->st.path = "pipe";
        *out = p;
        return 0;
    }
    p->st.path = "tcp";
    if ((rc = curve_role(p, &ep)) < 0)
        goto fail;
    /* read, not kept */
    p->o.curve_secret = p->o.curve_allow = p->o.curve_server_key = NULL;
    if (!p->o.no_shm)
        ring_gc();
    if ((rc = xpub_new(&p->x, ep.url, endpoint_binds(&ep, true), p->curve, &why,
                       &which)) < 0) {
        if (which == ep.url)
            which = url; /* the caller's words */
        rc = vp_fail_why(rc, which, why);
        goto fail;
    }
    if ((rc = xpub_limit_subs(p->x,
                              p->o.max_subs ? p->o.max_subs : XPUB_MAX_SUBS,
                              p->o.max_subs_per_client, TOPIC_KEY)) < 0) {
        rc = vp_fail(rc, "out of memory");
        goto fail;
    }
    if ((rc = add_counters(p)) < 0)
        goto fail;
    if (p->o.backpressure_ms > 0 &&
        (rc = xpub_set_backpressure(p->x, p->o.backpressure_ms)) < 0)
        log_warn("cannot wait for subscribers: %s", zmq_strerror(-rc));
    *out = p;
    return 0;
fail:
    vp_pub_close(p);
    return rc;
}

void vp_pub_close(vp_pub *p)
{
    if (!p)
        return;
    vp_pub_cancel(p);
    xpub_free(p->x);
    curve_free(p->curve);
    for (unsigned i = 0; i < p->streams.n; i++) {
        ring_free(pub_stream_at(p, i)->ring);
        keyframer_fini(&pub_stream_at(p, i)->kf);
    }
    nametab_fini(&p->streams);
    stats_fini(&p->st);
    /* Freed once ZeroMQ has handed back the buffers still in flight. */
    pool_free(p->raw_pool);
    pool_free(p->jpeg_pool);
    jpeg_free(p->jpeg);
    free(p->scratch);
    free(p->scratch2);
    free(p);
}
