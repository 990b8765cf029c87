/* latest.c -- a subscriber that always takes the newest frame.
 *
 * A receiver thread drains the subscription continuously and keeps only
 * the newest message in a one-slot mailbox, so ZeroMQ's queues never back
 * up behind a slow caller: vp_sub_next() takes the freshest frame there
 * is, and frames it had no time for show up as drops (gaps in seq).
 *
 * Once the caller has used a frame from a ring, vp_sub_next() also sleeps
 * on that ring's doorbell (RING.md 3a) and takes the ring's newest frame
 * as soon as it is written, rather than after its descriptor's trip
 * through two ZeroMQ I/O threads and the receiver.  The descriptors keep
 * coming and stay in charge: the doorbell is followed only while they
 * arrive (LEASE_NS), a descriptor naming another ring moves it there, and
 * one already taken from the ring is not posted again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/recv.h"
#include "contract/ring.h"
#include "transport/xsub.h"
#include "util/clock.h"
#include "util/wake.h"

/* The doorbell is followed only while descriptors keep coming: if the
 * publisher (or the relay in between) goes, so do the frames. */
#define LEASE_NS 2000000000LL

struct latest {
    pthread_t th;
    pthread_mutex_t mu;
    struct vp_frame *slot; /* the mailbox: the newest message, or NULL */
    /* The newest shm frame the caller has taken (taken_order is its
     * ring_order()): the receiver does not post it or older ones. */
    struct frame_hdr taken;
    uint64_t taken_order;
    _Atomic uint32_t posted;  /* bumped on every post; see wake.h */
    _Atomic uint64_t handled; /* messages read and posted or dropped */
    _Atomic bool sleeping;    /* the caller may be asleep on posted */
    _Atomic bool done;        /* the receiver has stopped */
    _Atomic bool stop;        /* asks the receiver to stop */
    _Atomic int64_t desc_ns;  /* when the last descriptor came */
    /* The caller's side: the ring whose doorbell it sleeps on, as the
     * descriptor of the last frame it used from there. */
    struct frame_hdr bell;
    bool bell_on;
    bool bell_never; /* descriptors of several streams: follow those */
};

/* True if shm descriptors h and t differ only in the frame they name (its
 * slot, generation, seq and times): frames of one ring. */
static bool same_ring(const struct frame_hdr *h, const struct frame_hdr *t)
{
    return h->has_shm && t->has_shm && h->shm.token == t->shm.token &&
           strcmp(h->shm.name, t->shm.name) == 0 &&
           strcmp(h->stream, t->stream) == 0 && h->width == t->width &&
           h->height == t->height && h->stride == t->stride &&
           h->fmt == t->fmt && h->enc == t->enc && h->size == t->size &&
           h->version == t->version;
}

/* True if f is a descriptor of a frame the caller has already taken from
 * its ring, or of an older one.  (Anything else goes on to be checked,
 * and counted if bad.)  Under lt->mu. */
static bool already_taken(const struct latest *lt, const struct vp_frame *f)
{
    return f->msg.var == VAR_SHM && same_ring(&f->msg.hdr, &lt->taken) &&
           ring_order(&f->msg.hdr) <= lt->taken_order;
}

/* Puts f into the mailbox, replacing a frame not yet taken, and wakes
 * the caller. */
static void post(struct vp_sub *s, struct vp_frame *f)
{
    struct latest *lt = s->lt;
    struct vp_frame *old = NULL;

    pthread_mutex_lock(&lt->mu);
    bool fresh = !already_taken(lt, f);
    if (fresh) {
        old = lt->slot;
        lt->slot = f;
        atomic_fetch_add(&lt->posted, 1);
    } else {
        old = f;
    }
    pthread_mutex_unlock(&lt->mu);
    frame_put(old);
    if (fresh && atomic_load(&lt->sleeping))
        wake_all(&lt->posted, false);
}

static void *receiver(void *arg)
{
    struct vp_sub *s = arg;
    struct latest *lt = s->lt;
    zmq_pollitem_t it = {xsub_socket(s->x), 0, ZMQ_POLLIN, 0};
    struct vp_frame *f = NULL, *newest = NULL;

    while (!atomic_load(&lt->stop)) {
        uint64_t n = 0;
        /* Waiting for a keyframe, look again soon to ask again. */
        if (zmq_poll(&it, 1, s->h264.waiting ? 20 : 100) < 0 && errno == ETERM)
            break;
        sub_policy_idle(s);
        for (;;) {
            if (!f && !(f = frame_get(s)))
                break;
            if (sub_read(s, f) < 0)
                break;
            if (f->msg.var == VAR_SHM)
                atomic_store(&lt->desc_ns, clock_mono_ns());
            sub_policy_seen(s, f->msg.var);
            n++;
            /* H.264 needs every frame: each is decoded here, and only
             * the newest picture is posted. */
            if (f->msg.var == VAR_H264 && sub_h264_take(s, f, true) < 0) {
                frame_clear(f);
                continue;
            }
            /* The descriptor of a frame the caller already took from its
             * ring (the doorbell was faster) is no newer than anything:
             * it must not displace a message read before it (another
             * input's frame), only to be dropped itself. */
            pthread_mutex_lock(&lt->mu);
            bool stale = already_taken(lt, f);
            pthread_mutex_unlock(&lt->mu);
            if (stale) {
                frame_clear(f);
                continue;
            }
            frame_put(newest);
            newest = f;
            f = NULL;
        }
        if (newest)
            post(s, newest);
        newest = NULL;
        atomic_fetch_add(&lt->handled, n);
    }
    frame_put(f);
    atomic_store(&lt->done, true);
    atomic_fetch_add(&lt->posted, 1);
    wake_all(&lt->posted, false);
    return NULL;
}

int latest_start(struct vp_sub *s)
{
    struct latest *lt = calloc(1, sizeof *lt);

    if (!lt)
        return vp_fail(-ENOMEM, "out of memory");
    pthread_mutex_init(&lt->mu, NULL);
    s->lt = lt;
    if (pthread_create(&lt->th, NULL, receiver, s) != 0) {
        pthread_mutex_destroy(&lt->mu);
        free(lt);
        s->lt = NULL;
        return vp_fail(-EAGAIN, "cannot start the receiver thread");
    }
    return 0;
}

void latest_stop(struct vp_sub *s)
{
    struct latest *lt = s->lt;

    atomic_store(&lt->stop, true);
    pthread_join(lt->th, NULL);
    frame_put(lt->slot);
    pthread_mutex_destroy(&lt->mu);
    free(lt);
    s->lt = NULL;
}

uint64_t latest_handled(struct vp_sub *s)
{
    return atomic_load(&s->lt->handled);
}

int64_t latest_waiting(struct vp_sub *s)
{
    struct latest *lt = s->lt;
    pthread_mutex_lock(&lt->mu);
    int64_t seq = lt->slot ? (int64_t)lt->slot->msg.hdr.seq : -1;
    pthread_mutex_unlock(&lt->mu);
    return seq;
}

/* The doorbell to sleep on besides the mailbox, or NULL: only while on
 * descriptors whose ring the caller has used, and the lease holds. */
static const _Atomic uint32_t *bell_word(struct vp_sub *s)
{
    struct latest *lt = s->lt;
    if (!lt->bell_on || lt->bell_never || !atomic_load(&s->pol.use_shm) ||
        atomic_load(&s->want_payload) ||
        clock_mono_ns() - atomic_load(&lt->desc_ns) > LEASE_NS)
        return NULL;
    return ring_reader_bell(s->rings, &lt->bell);
}

/* A frame object holding descriptor h (from the ring, not a message). */
static void as_descriptor(struct vp_frame *f, const struct frame_hdr *h)
{
    frame_clear(f);
    f->msg.var = VAR_SHM;
    f->msg.hdr = *h;
}

/* The bell ring's newest frame, if it is newer than the last one taken
 * from there; NULL if not. */
static struct vp_frame *take_bell(struct vp_sub *s)
{
    struct latest *lt = s->lt;
    struct frame_hdr h;
    struct vp_frame *f;

    if (ring_reader_latest(s->rings, &lt->bell, &h) < 0 ||
        ring_order(&h) <= lt->taken_order || !(f = frame_get(s)))
        return NULL;
    as_descriptor(f, &h);
    return f;
}

/* A descriptor f from the mailbox of the bell ring may already be behind
 * it (the caller was busy): the ring's newest frame replaces it. */
static void prefer_newest(struct vp_sub *s, struct vp_frame *f)
{
    struct latest *lt = s->lt;
    struct frame_hdr h;
    if (f->msg.var == VAR_SHM && bell_word(s) &&
        same_ring(&f->msg.hdr, &lt->bell) &&
        ring_reader_latest(s->rings, &lt->bell, &h) == 0 &&
        ring_order(&h) > ring_order(&f->msg.hdr))
        as_descriptor(f, &h);
}

/* Waits until deadline for a frame: the mailbox's, or the doorbell ring's
 * newest.  0 with *out, -ETIMEDOUT, -EINTR or -EPIPE (the receiver
 * stopped). */
static int take(struct vp_sub *s, int64_t deadline, struct vp_frame **out)
{
    struct latest *lt = s->lt;
    struct wake_word w[2];
    struct vp_frame *f = NULL;
    int rc = 0;

    /* Set before reading posted: a post after that read either sees it
     * and wakes us, or changes posted before we sleep (see post()). */
    atomic_store(&lt->sleeping, true);
    while (!f) {
        if (atomic_load(&lt->done)) {
            rc = -EPIPE;
            break;
        }
        w[0] = (struct wake_word){&lt->posted, atomic_load(&lt->posted), false};
        pthread_mutex_lock(&lt->mu);
        if ((f = lt->slot)) {
            lt->slot = NULL;
            if (already_taken(lt, f)) { /* the bell was faster */
                pthread_mutex_unlock(&lt->mu);
                frame_put(f);
                f = NULL;
                continue;
            }
        }
        pthread_mutex_unlock(&lt->mu);
        if (f) {
            prefer_newest(s, f);
            break;
        }
        unsigned n = 1;
        const _Atomic uint32_t *bell = bell_word(s);
        if (bell) {
            w[n++] = (struct wake_word){
                bell, atomic_load_explicit(bell, memory_order_acquire), true};
            if ((f = take_bell(s)))
                break;
        }
        if ((rc = wake_wait(w, n, deadline)) < 0)
            break;
    }
    atomic_store(&lt->sleeping, false);
    *out = f;
    return f ? 0 : rc;
}

/* Notes that the shm frame h (checked, its slot's generation matched) is
 * being used: its ring's doorbell is followed from now on, and neither it
 * nor older frames of that ring are taken again. */
static void note_taken(struct vp_sub *s, const struct frame_hdr *h)
{
    struct latest *lt = s->lt;
    if (lt->bell_on && h->shm.token != lt->bell.shm.token &&
        strcmp(h->stream, lt->bell.stream) != 0)
        lt->bell_never = true; /* frames of several streams interleave */
    lt->bell = *h;
    lt->bell_on = true;
    pthread_mutex_lock(&lt->mu);
    lt->taken = *h;
    lt->taken_order = ring_order(h);
    pthread_mutex_unlock(&lt->mu);
}

int latest_next(struct vp_sub *s, int timeout_ms, struct vp_frame **out)
{
    int64_t deadline = timeout_ms < 0
                           ? INT64_MAX
                           : clock_mono_ns() + (int64_t)timeout_ms * 1000000;
    struct vp_frame *f;
    int rc;

    for (;;) {
        if ((rc = take(s, deadline, &f)) < 0)
            break;
        if (f->msg.var != VAR_SHM) {
            frame_deliver(f, VP_PATH_TCP);
            break;
        }
        rc = sub_hold_ring(s, f);
        if (rc == -ENOENT)
            atomic_store(&s->want_payload, true);
        if (rc == 0 && !(f->px = ring_map_read_begin(f->map, &f->msg.hdr))) {
            frame_count_torn(f); /* overwritten before it could be used */
            rc = -ESTALE;
        }
        if (rc < 0) {
            frame_put(f);
            continue;
        }
        note_taken(s, &f->msg.hdr);
        frame_deliver(f, VP_PATH_SHM);
        break;
    }
    if (rc < 0)
        return vp_fail(rc, rc == -ETIMEDOUT ? "no frame within the timeout"
                           : rc == -EINTR   ? "interrupted"
                                            : "the receiver stopped");
    *out = f;
    return 0;
}
