/* recv.h -- the subscriber's insides: the receive core (recv.c) and the
 * parts built on it.
 *
 * A vp_sub owns a SUB socket (or a byte stream), a ring reader, and in
 * latest-frame mode a receiver thread (latest.c).  A vp_frame holds one
 * received message, or a shm descriptor and a counted reference to its
 * ring's mapping.  Frames come from and go back to their subscriber's
 * pool (frame_get(), frame_put()), so receiving allocates nothing once
 * warm, and a frame may be released on any thread, before or after
 * vp_sub_close(): frame_put() is the one place a frame goes back, and
 * the one place that decides, under the subscriber's lock, whether it was
 * the last one out of a closed subscriber.
 */
#ifndef VIDPIPE_RECV_H
#define VIDPIPE_RECV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <zmq.h>

#include "api/api.h"
#include "api/stats.h"
#include "contract/message.h"
#include "util/log.h"
#include "util/nametab.h"

struct ring_map;
struct ring_reader;
struct stream_reader;
struct xsub;
struct curve;
struct latest;

struct vp_frame {
    struct vp_frame_info info; /* what callers see */
    struct vp_sub *sub;        /* owner, where it goes back */
    struct vp_frame *next;     /* in the owner's free list */
    struct message msg;        /* header, variant, payload */
    zmq_msg_t parts[MESSAGE_MAX_PARTS];
    unsigned nparts;
    void *stream_buf; /* a byte stream's buffer holding the frame */
    int64_t offset;   /* where in the byte stream it started, or -1 */
    /* shm: the mapping held, and the pixels once looked up. */
    struct ring_map *map;
    const uint8_t *px;
    bool out;    /* handed to the caller: counted in its sub's out */
    bool looked; /* pixels were handed out: whether they held counts */
    bool copied; /* ... and copied out intact: later overwrites are fine */
    bool torn;   /* found overwritten (and counted) */
    bool bad;    /* its payload would not decode (and was counted) */
    bool remote; /* a descriptor of a ring on another host (vp_sub_want) */
    /* A decoded picture, kept with the frame object for the next one. */
    uint8_t *dec;
    size_t dec_cap;
    bool dec_ok;
    int64_t shown_ns; /* CLOCK_REALTIME of vp_frame_shown(), or 0 */
};

/* The subscriber's modes. */
enum sub_mode {
    SUB_LATEST, /* ZeroMQ, the newest frame: a receiver thread */
    SUB_EVERY,  /* ZeroMQ, every frame in order, on the caller's thread */
    SUB_STREAM, /* a byte stream */
};

/* Which variants a subscriber asks for, and its switch from descriptors
 * to payloads.  Owned by the thread that owns the socket. */
struct sub_policy {
    _Atomic bool use_shm; /* subscribed to descriptors */
    bool raw_on; /* subscribed to the payload too (probing) or instead */
    int64_t last_rx_ns;
};

/* The subscriber's H.264 (decode.c). */
struct sub_h264 {
    struct h264dec *dec; /* under the subscriber's codec_mu */
    char stream[VP_STREAM_MAX + 1];
    uint64_t next_seq, nonce;
    bool started, waiting; /* waiting: for a keyframe, after a loss */
    int64_t asked_ns;
};

/* What a publisher linked below the subscriber (link.c) lends it: a
 * socket to poll beside its own, what to do when that has input, and
 * what to do with a descriptor of a ring that is on another host.  All
 * NULL while unlinked.  On the socket's thread. */
struct sub_link {
    void *sock;
    void (*serve)(void *arg);
    void (*remote)(void *arg, const char *stream);
    void *arg;
};

struct vp_sub {
    enum sub_mode mode;
    struct vp_sub_opts o;
    char stream[VP_STREAM_MAX + 1]; /* o.stream, copied ("" for any) */
    struct xsub *x;
    struct curve *curve;    /* the client role of its connects... */
    struct curve *curve_in; /* ...the server role of its binds */
    struct stream_reader *in;
    bool in_failed;
    struct ring_reader *rings;
    struct jpeg *jpeg;        /* decodes JPEG payloads, under codec_mu */
    pthread_mutex_t codec_mu; /* frames may be looked at on other threads */
    struct sub_h264 h264;     /* on the socket's thread */
    struct vp_stats st;
    struct sub_policy pol;
    _Atomic bool want_payload; /* a ring proved unreachable: payloads */
    struct latest *lt;         /* SUB_LATEST */
    struct sub_link link;
    /* vp_sub_want(): what the caller asks for itself. */
    struct sub_want {
        enum variant v;
        char stream[VP_STREAM_MAX + 1]; /* "" for every stream */
    } * wants; /* grown as asked for: one per stream watched over HTTP */
    unsigned nwants, wants_cap;
    /* Counted where messages are read (maybe the receiver thread). */
    _Atomic uint64_t bad, received, waiting_keyframe, dup_drops;
    uint64_t received_seen, waiting_seen, dup_seen;
    /* Bound endpoints (publishers dial in): what the watch counted. */
    uint64_t dialin_open, dialin_handshakes, dialin_refused;
    /* Which connection each stream's frames are taken from (struct
     * owner, recv.c), on the socket's thread: a second publisher of a
     * name is dropped, never mixed in. */
    struct nametab owners;
    int64_t dup_log_ns;
    uint64_t dup_logged;
    pthread_mutex_t mu; /* the pool, out, stats, stream buffers: frames
                           may be released on another thread */
    struct vp_frame *free;
    unsigned out; /* frames handed out and not yet released */
    bool closing; /* vp_sub_close() came while frames were out */
    struct log_limit bad_log;
};

static inline bool sub_linked(const struct vp_sub *s)
{
    return s->link.arg != NULL;
}

/* --- the receive core (recv.c) ------------------------------------------ */

/* A frame object from s's pool (or a new one); NULL if out of memory.
 * Any thread. */
struct vp_frame *frame_get(struct vp_sub *s);
/* Gives f back to its subscriber's pool, emptied.  A frame that was
 * handed out is accounted (delivered, or torn if it was overwritten while
 * its pixels were in use) and no longer counted out; if its subscriber
 * was closed and this was its last frame out, the subscriber is freed.
 * Any thread; f's subscriber must not be touched after it by a caller
 * that does not own it. */
void frame_put(struct vp_frame *f);
/* Empties f (its parts, mapping, stream buffer) to be read into again. */
void frame_clear(struct vp_frame *f);
/* Hands f out: its info filled in and stamped now, counted out. */
void frame_deliver(struct vp_frame *f, enum vp_path path);
/* True while a shm frame's slot still holds it (any other frame: true). */
bool frame_intact(const struct vp_frame *f);
/* Counts a shm frame found overwritten: once per frame. */
void frame_count_torn(struct vp_frame *f);

/* Reads one message off the socket and checks it: 0 with parts in f,
 * -EAGAIN nothing more; bad ones are counted and skipped. */
int sub_read(struct vp_sub *s, struct vp_frame *f);
/* Checks a descriptor frame against its ring and holds the mapping: 0,
 * -ENOENT (the ring is not reachable here), -EBADMSG (bad: counted). */
int sub_hold_ring(struct vp_sub *s, struct vp_frame *f);

/* Policy: the first subscriptions; what a message of variant var
 * teaches; a second of silence on descriptors (probe payloads too); and
 * the switch to payloads for good.  On the socket's thread. */
void sub_policy_start(struct vp_sub *s);
void sub_policy_seen(struct vp_sub *s, enum variant var);
void sub_policy_idle(struct vp_sub *s);
/* Gives up the subscriber's own subscriptions (a link decides them). */
void sub_policy_yield(struct vp_sub *s);
/* Subscribes to (or unsubscribes from) a topic prefix as is: 0 or
 * -errno.  With no socket (a byte stream), nothing to do. */
int sub_subscribe(struct vp_sub *s, const void *prefix, size_t len, bool on);
/* Subscribes to variant v of stream ("" every stream). */
void sub_subscribe_variant(struct vp_sub *s, enum variant v, const char *stream,
                           bool on);

/* Folds what the socket's thread counted into the stats. */
void sub_sync_counts(struct vp_sub *s);
/* Frees s and its pool (vp_sub_close(), or the last frame put after). */
void sub_destroy(struct vp_sub *s);

/* --- H.264 (decode.c), on the socket's thread --------------------------- */

/* The first keyframe request, and a request again while waiting. */
void sub_h264_start(struct vp_sub *s);
void sub_h264_idle(struct vp_sub *s);
/* Each h264 frame as it comes, in order: 0 to deliver it (decoded into
 * its own buffer if decode), or -EAGAIN to drop it (waiting for a
 * keyframe, or undecodable: counted). */
int sub_h264_take(struct vp_sub *s, struct vp_frame *f, bool decode);
/* An h264 frame's picture: decoded already, or now (every_frame mode,
 * where the caller must look at every frame in order). */
int sub_h264_image(struct vp_sub *s, struct vp_frame *f);

/* --- latest-frame mode (latest.c) --------------------------------------- */

/* The receiver thread and its mailbox. */
int latest_start(struct vp_sub *s);
void latest_stop(struct vp_sub *s);
int latest_next(struct vp_sub *s, int timeout_ms, struct vp_frame **f);
/* The seq of the frame waiting in the mailbox, or -1: for tests, which
 * wait for a frame to be there rather than for time to pass. */
int64_t latest_waiting(struct vp_sub *s);
/* How many messages the receiver has read and posted or dropped: for
 * tests, which wait for a message to have been dealt with before they
 * look for what it did (or did not) bring. */
uint64_t latest_handled(struct vp_sub *s);

#endif
