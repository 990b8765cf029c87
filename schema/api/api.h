/* api.h -- what the files of libvidpipe's API layer share, not exported.
 *
 * The public objects are built from the layers below: a vp_pub owns an
 * XPUB socket (or a byte stream), shm rings, buffer pools and a JPEG
 * codec; a vp_sub owns a SUB socket (or a byte stream), a ring reader,
 * and in latest-frame mode a receiver thread (latest.c); a vp_frame holds
 * one received message, or a shm descriptor and a counted reference to
 * its ring's mapping.  Frames are recycled through their subscriber, so
 * receiving allocates nothing once warm.
 */
#ifndef VIDPIPE_API_H
#define VIDPIPE_API_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <zmq.h>

#include "api/stats.h"
#include "contract/message.h"
#include "util/log.h"
#include "vidpipe.h"

struct ring_map;
struct ring_reader;
struct stream_reader;
struct xsub;
struct xpub;
struct jpeg;
struct curve;
struct latest;

/* Sets the calling thread's vp_errmsg() and returns rc (a -errno). */
int vp_fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* vp_fail() for a lower layer's rc and static *why about what (a url, a
 * file): "what: why", then strerror(-rc) unless rc is -EINVAL, whose why
 * says it all. */
int vp_fail_why(int rc, const char *what, const char *why);

struct planes_ref;
/* 0 if img is a valid picture (format, geometry, every plane's pixels and
 * stride), else -EINVAL with vp_errmsg() beginning "what: ". */
int api_image_check(const struct vp_image *img, const char *what);
/* Copies src's pixels into dst: two checked images of one format and
 * size. */
void api_copy(const struct vp_image *src, const struct vp_image *dst);
/* img's planes as the codec layer takes them. */
void api_planes(struct planes_ref *p, const struct vp_image *img);

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
    bool looked; /* pixels were handed out: whether they held counts */
    bool copied; /* ... and copied out intact: later overwrites are fine */
    bool torn;   /* found overwritten (and counted) */
    bool bad;    /* its payload would not decode (and was counted) */
    bool remote; /* a descriptor of a ring on another host (vp_sub_want) */
    /* A decoded JPEG, kept with the frame object for the next one. */
    uint8_t *dec;
    size_t dec_cap;
    bool dec_ok;
    int64_t shown_ns; /* CLOCK_REALTIME of vp_frame_shown(), or 0 */
};

#define SUB_MAX_WANTS 32

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

struct vp_sub {
    enum sub_mode mode;
    struct vp_sub_opts o;
    char stream[VP_STREAM_MAX + 1]; /* o.stream, copied ("" for any) */
    struct xsub *x;
    struct curve *curve;
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
    struct vp_pub *down;       /* vp_pub_link() */
    /* vp_sub_want(): what the caller asks for itself. */
    struct sub_want {
        enum variant v;
        char stream[VP_STREAM_MAX + 1]; /* "" for every stream */
    } wants[SUB_MAX_WANTS];
    unsigned nwants;
    /* Counted where messages are read (maybe the receiver thread). */
    _Atomic uint64_t bad, received, waiting_keyframe;
    uint64_t received_seen, waiting_seen;
    pthread_mutex_t mu; /* the free list, stream buffers: frames may be
                           released on another thread */
    struct vp_frame *free;
    unsigned out; /* frames not yet released */
    bool closing; /* vp_sub_close() came while frames were out */
    struct log_limit bad_log;
};

/* Policy (sub.c): the first subscriptions; what a message of variant var
 * teaches; a second of silence on descriptors (probe payloads too); and
 * the switch to payloads for good.  On the socket's thread. */
void sub_policy_start(struct vp_sub *s);
void sub_policy_seen(struct vp_sub *s, enum variant var);
void sub_policy_idle(struct vp_sub *s);
/* Reads one message off the socket and checks it: 0 with parts in f,
 * -EAGAIN nothing more; bad ones are counted and skipped. */
int sub_read(struct vp_sub *s, struct vp_frame *f);

/* H.264 (decode.c), on the socket's thread: the first keyframe request,
 * a request again while waiting; and each h264 frame as it comes, in
 * order: 0 to deliver it (decoded into its own buffer if decode), or
 * -EAGAIN to drop it (waiting for a keyframe, or undecodable: counted). */
void sub_h264_start(struct vp_sub *s);
void sub_h264_idle(struct vp_sub *s);
int sub_h264_take(struct vp_sub *s, struct vp_frame *f, bool decode);
/* An h264 frame's picture: decoded already, or now (every_frame mode,
 * where the caller must look at every frame in order). */
int sub_h264_image(struct vp_sub *s, struct vp_frame *f);

/* Frees s and its frames (vp_sub_close(), or the last release after). */
void sub_destroy(struct vp_sub *s);

/* A frame object from s's free list (or a new one); NULL if out of
 * memory.  Any thread. */
struct vp_frame *frame_get(struct vp_sub *s);
/* Empties f (its parts, mapping, stream buffer) for reuse. */
void frame_clear(struct vp_frame *f);
/* Moves src's message into dst (dst cleared first; src left empty). */
void frame_move(struct vp_frame *dst, struct vp_frame *src);
/* Turns f into the frame handed out: info filled, stamped now. */
void frame_ready(struct vp_frame *f, enum vp_path path);

/* Checks a descriptor frame against its ring and holds the mapping: 0,
 * -ENOENT (the ring is not reachable here), -EBADMSG (bad: counted), or
 * -ESTALE (already overwritten: counted torn). */
int sub_hold_ring(struct vp_sub *s, struct vp_frame *f);

/* Latest-frame mode (latest.c): the receiver thread and its mailbox. */
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

/* The linked downstream (pub.c): passes subscriptions upstream and
 * re-hosts streams whose rings are elsewhere. */
void pub_serve_link(struct vp_pub *p);
void *pub_link_socket(struct vp_pub *p);
/* A descriptor of stream's ring that cannot be mapped here came in. */
void pub_stream_remote(struct vp_pub *p, const char *stream);
/* The link's two halves: p keeps s to pass subscriptions to, which s
 * makes with sub_link_subscribe(). */
int pub_link_attach(struct vp_pub *p, struct vp_sub *s);
int sub_link_subscribe(struct vp_sub *s, const void *prefix, size_t len,
                       bool on);

#endif
