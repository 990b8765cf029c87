/* recv.c -- the receive core: reading and checking messages, what to
 * subscribe to, ring mappings, the frame pool and its counters.
 *
 * Calls nothing else of the API layer but decode.c (keyframe requests
 * are part of what a subscriber asks for); the modes (sub.c, latest.c)
 * and the frame functions (frame.c) are built on it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/recv.h"
#include "codec/h264.h"
#include "codec/jpeg.h"
#include "contract/ring.h"
#include "contract/stream.h"
#include "contract/topic.h"
#include "transport/watch.h"
#include "transport/xsub.h"
#include "util/clock.h"
#include "util/fault.h"
#include "util/log.h"

/* While on descriptors, a second of silence may mean the publisher
 * offers none (no ring, or a relay with --no-shm): payloads are asked for
 * too, and whichever variant comes first decides. */
#define PROBE_NS 1000000000LL

/* Fault release_step: how long a release waits for its step. */
#define RELEASE_STEP_MS 30000

/* A second publisher of a stream name is logged once a minute at most. */
#define DUP_LOG_NS 60000000000LL

/* --- the frame pool ----------------------------------------------------- */

struct vp_frame *frame_get(struct vp_sub *s)
{
    struct vp_frame *f;

    pthread_mutex_lock(&s->mu);
    if ((f = s->free))
        s->free = f->next;
    pthread_mutex_unlock(&s->mu);
    if (!f && !(f = calloc(1, sizeof *f)))
        return NULL;
    f->sub = s;
    f->next = NULL;
    f->offset = -1;
    return f;
}

/* Lets go of what f holds outside its subscriber: message parts and the
 * ring's mapping.  No lock needed. */
static void unhold(struct vp_frame *f)
{
    for (unsigned i = 0; i < f->nparts; i++)
        zmq_msg_close(&f->parts[i]);
    f->nparts = 0;
    ring_map_put(f->map);
    f->map = NULL;
}

/* Gives f's byte-stream buffer back and resets its fields.  Under the
 * subscriber's mu. */
static void reset(struct vp_frame *f)
{
    if (f->stream_buf)
        stream_reader_give(f->sub->in, f->stream_buf);
    f->stream_buf = NULL;
    f->px = NULL;
    f->out = f->looked = f->copied = f->torn = f->bad = f->dec_ok = false;
    f->remote = false;
    f->shown_ns = 0;
    f->offset = -1;
    memset(&f->msg, 0, sizeof f->msg);
}

void frame_clear(struct vp_frame *f)
{
    unhold(f);
    pthread_mutex_lock(&f->sub->mu);
    reset(f);
    pthread_mutex_unlock(&f->sub->mu);
}

bool frame_intact(const struct vp_frame *f)
{
    if (f->msg.var != VAR_SHM)
        return true;
    return !f->torn && f->map && ring_map_read_end(f->map, &f->msg.hdr);
}

void frame_count_torn(struct vp_frame *f)
{
    if (f->torn)
        return;
    f->torn = true;
    pthread_mutex_lock(&f->sub->mu);
    f->sub->st.torn++;
    pthread_mutex_unlock(&f->sub->mu);
}

void frame_deliver(struct vp_frame *f, enum vp_path path)
{
    const struct frame_hdr *h = &f->msg.hdr;
    int64_t age = clock_real_ns() - h->t_real_ns;
    struct vp_sub *s = f->sub;

    f->info = (struct vp_frame_info){
        .stream = h->stream,
        .seq = h->seq,
        .t_real_ns = h->t_real_ns,
        .t_mono_ns = h->t_mono_ns,
        .width = h->width,
        .height = h->height,
        .fmt = (enum vp_pixfmt)h->fmt,
        .codec = (enum vp_codec)h->enc,
        .keyframe = h->key,
        .path = path,
        .size = path == VP_PATH_SHM ? 0 : h->size,
        .latency_us = age > 0 ? age / 1000 : 0,
    };
    pthread_mutex_lock(&s->mu);
    f->out = true;
    s->out++;
    s->st.path = path == VP_PATH_SHM   ? "shm"
                 : path == VP_PATH_TCP ? "tcp"
                                       : "pipe";
    pthread_mutex_unlock(&s->mu);
}

void frame_put(struct vp_frame *f)
{
    struct vp_sub *s;
    bool last;

    if (!f)
        return;
    s = f->sub;
    /* Judged before the lock (a slot check is two loads) and before the
     * mapping goes. */
    bool torn =
        f->out && !f->torn && f->looked && !f->copied && !frame_intact(f);
    unhold(f);
    if (FAULT(FAULT_RELEASE_STEP))
        fault_step(FAULT_RELEASE_STEP, RELEASE_STEP_MS);
    /* One locked section: once it ends, a vp_sub_close() on another
     * thread may free s, unless this was the frame it waited for. */
    pthread_mutex_lock(&s->mu);
    if (f->out) {
        if (torn)
            s->st.torn++;
        else if (!f->torn && !f->bad)
            stats_frame_at(&s->st, &f->msg.hdr, f->info.size,
                           f->shown_ns ? f->shown_ns : clock_real_ns());
        s->out--;
    }
    reset(f);
    f->next = s->free;
    s->free = f;
    last = s->closing && s->out == 0;
    pthread_mutex_unlock(&s->mu);
    if (last)
        sub_destroy(s); /* vp_sub_close() came first */
}

/* --- reading ------------------------------------------------------------ */

/* A stream's publisher: the connection its frames come on (its
 * descriptor, and the metadata libzmq keeps for it, one per connection),
 * since when, and when its last frame came. */
struct owner {
    char name[FRAME_STREAM_MAX + 1]; /* first: the nametab's key */
    int fd;
    const void *conn;
    int64_t since_ns, last_ns;
};

/* Logs a second publisher of stream at most once a minute, naming where
 * the message in part came from. */
static void dup_log(struct vp_sub *s, const char *stream, int64_t now,
                    zmq_msg_t *part)
{
    uint64_t n = atomic_load(&s->dup_drops);
    const char *peer = zmq_msg_gets(part, "Peer-Address");

    if (s->dup_log_ns && now - s->dup_log_ns < DUP_LOG_NS)
        return;
    log_warn("stream %s: another publisher (from %s) claims its name: its "
             "frames are dropped, the first one's kept (%llu since the last "
             "warning; dup_name_drops)",
             stream, peer && *peer ? peer : "this host",
             (unsigned long long)(n - s->dup_logged));
    s->dup_log_ns = now;
    s->dup_logged = n;
}

/* True if f comes from its stream's publisher: the first connection
 * that sent it, until that one closes or is silent for STATS_STALL_NS.
 * Another one's frames are counted and dropped. */
static bool from_owner(struct vp_sub *s, struct vp_frame *f)
{
    int fd = zmq_msg_get(&f->parts[0], ZMQ_SRCFD);
    const void *conn = zmq_msg_gets(&f->parts[0], "Peer-Address");
    int64_t now = clock_mono_ns();
    struct owner *o = nametab_find(&s->owners, f->msg.hdr.stream);
    unsigned max =
        s->o.max_streams ? s->o.max_streams : STATS_DEFAULT_MAX_STREAMS;

    if (fd < 0)
        return true; /* no connection to tell (inproc) */
    if (!o) {
        if (s->owners.n >= max || !(o = calloc(1, sizeof *o)))
            return true; /* past max_streams: frames pass, untold */
        snprintf(o->name, sizeof o->name, "%s", f->msg.hdr.stream);
        if (nametab_add(&s->owners, o) < 0) {
            free(o);
            return true;
        }
        o->fd = -1;
    }
    bool same = o->fd == fd && o->conn == conn;
    /* Another connection takes the name when the owner's has closed
     * since it took it (a capture restarted), or has gone quiet. */
    if (!same && (o->fd < 0 || now - o->last_ns > STATS_STALL_NS ||
                  xsub_conn_closed_since(s->x, o->fd, o->since_ns))) {
        o->fd = fd;
        o->conn = conn;
        o->since_ns = now;
        same = true;
    }
    if (same) {
        o->last_ns = now;
        return true;
    }
    /* A frame still queued from a connection that closed a moment ago
     * (the owner before) is no rival. */
    if (!xsub_conn_closed_since(s->x, fd, now - STATS_STALL_NS / 2)) {
        atomic_fetch_add(&s->dup_drops, 1);
        dup_log(s, o->name, now, &f->parts[0]);
    }
    return false;
}

int sub_read(struct vp_sub *s, struct vp_frame *f)
{
    struct message_part mp[MESSAGE_MAX_PARTS];
    const char *why;

    for (;;) {
        int rc = xsub_recv(s->x, f->parts, &f->nparts);
        if (rc == -EMSGSIZE) {
            atomic_fetch_add(&s->bad, 1);
            log_limited(&s->bad_log, "dropped a bad message: %s",
                        "message has too many parts");
            continue;
        }
        if (rc < 0)
            return rc;
        for (unsigned i = 0; i < f->nparts; i++)
            mp[i] = (struct message_part){zmq_msg_data(&f->parts[i]),
                                          zmq_msg_size(&f->parts[i])};
        if (message_check(mp, f->nparts, &f->msg, &why) < 0) {
            atomic_fetch_add(&s->bad, 1);
            log_limited(&s->bad_log, "dropped a bad message: %s", why);
        } else if (from_owner(s, f)) {
            atomic_fetch_add(&s->received, 1);
            return 0;
        }
        frame_clear(f);
    }
}

int sub_hold_ring(struct vp_sub *s, struct vp_frame *f)
{
    const char *why;
    int rc = ring_reader_check(s->rings, &f->msg.hdr, &why);

    if (rc == -ENOENT) {
        if (!atomic_load(&s->want_payload) && !sub_linked(s))
            log_info("shm %s: %s; switching to payloads over ZeroMQ",
                     f->msg.hdr.shm.name, why);
        return rc;
    }
    if (rc < 0) {
        atomic_fetch_add(&s->bad, 1);
        log_limited(&s->bad_log, "rejected shm descriptor: %s", why);
        return -EBADMSG;
    }
    ring_map_put(f->map);
    f->map = ring_reader_get(s->rings, &f->msg.hdr);
    return f->map ? 0 : -ENOENT;
}

/* --- what to subscribe to ----------------------------------------------- */

int sub_subscribe(struct vp_sub *s, const void *prefix, size_t len, bool on)
{
    return s->x ? xsub_subscribe(s->x, prefix, len, on) : 0;
}

void sub_subscribe_variant(struct vp_sub *s, enum variant v, const char *stream,
                           bool on)
{
    char t[TOPIC_MAX];
    size_t tl = topic_make(t, sizeof t, v, stream);
    sub_subscribe(s, t, tl, on);
}

static enum variant payload_variant(const struct vp_sub *s)
{
    return s->o.codec == VP_CODEC_JPEG   ? VAR_JPEG
           : s->o.codec == VP_CODEC_H264 ? VAR_H264
                                         : VAR_RAW;
}

static void raw_sub(struct vp_sub *s, bool on)
{
    if (s->pol.raw_on != on) {
        sub_subscribe_variant(s, payload_variant(s), s->stream, on);
        s->pol.raw_on = on;
    }
}

/* From descriptors to payloads, for good. */
static void leave_shm(struct vp_sub *s)
{
    sub_subscribe_variant(s, VAR_SHM, s->stream, false);
    raw_sub(s, true);
    atomic_store(&s->pol.use_shm, false);
}

void sub_policy_start(struct vp_sub *s)
{
    s->pol.last_rx_ns = clock_mono_ns();
    if (sub_linked(s))
        return; /* a relay asks for what its subscribers ask for */
    bool shm = s->o.shm == VP_SHM_ONLY ||
               (s->o.shm == VP_SHM_AUTO && s->o.codec == VP_CODEC_RAW);
    atomic_store(&s->pol.use_shm, shm);
    if (shm)
        sub_subscribe_variant(s, VAR_SHM, s->stream, true);
    else
        raw_sub(s, true);
    if (s->o.codec == VP_CODEC_H264)
        sub_h264_start(s);
}

void sub_policy_yield(struct vp_sub *s)
{
    if (atomic_load(&s->pol.use_shm))
        sub_subscribe_variant(s, VAR_SHM, s->stream, false);
    raw_sub(s, false);
}

void sub_policy_idle(struct vp_sub *s)
{
    bool use_shm = atomic_load(&s->pol.use_shm);
    sub_h264_idle(s);
    if (sub_linked(s) || s->o.shm == VP_SHM_ONLY)
        return;
    if (use_shm && atomic_load(&s->want_payload))
        leave_shm(s);
    else if (use_shm && !s->pol.raw_on &&
             clock_mono_ns() - s->pol.last_rx_ns > PROBE_NS)
        raw_sub(s, true);
}

void sub_policy_seen(struct vp_sub *s, enum variant var)
{
    s->pol.last_rx_ns = clock_mono_ns();
    if (sub_linked(s) || s->o.shm == VP_SHM_ONLY ||
        !atomic_load(&s->pol.use_shm) || !s->pol.raw_on)
        return;
    if (var == VAR_SHM)
        raw_sub(s, false); /* descriptors came: the probe is over */
    else
        leave_shm(s);
}

/* --- counters and the end ----------------------------------------------- */

void sub_sync_counts(struct vp_sub *s)
{
    pthread_mutex_lock(&s->mu);
    s->st.bad = atomic_load(&s->bad);
    s->received_seen = atomic_load(&s->received);
    s->waiting_seen = atomic_load(&s->waiting_keyframe);
    s->dup_seen = atomic_load(&s->dup_drops);
    if (s->x && xsub_binds(s->x)) {
        struct watch_inbound in;
        xsub_inbound(s->x, &in);
        s->dialin_open = in.open;
        s->dialin_handshakes = in.handshakes;
        s->dialin_refused = in.refused;
    }
    pthread_mutex_unlock(&s->mu);
}

void sub_destroy(struct vp_sub *s)
{
    while (s->free) {
        struct vp_frame *f = s->free;
        s->free = f->next;
        free(f->dec);
        free(f);
    }
    stream_reader_free(s->in);
    ring_reader_free(s->rings);
    jpeg_free(s->jpeg);
    h264dec_free(s->h264.dec);
    stats_fini(&s->st);
    nametab_fini(&s->owners);
    free(s->wants);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->codec_mu);
    free(s);
}
