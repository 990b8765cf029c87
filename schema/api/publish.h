/* publish.h -- the publisher's insides: pub.c makes frames in loaned
 * buffers and every variant of them; forward.c republishes received
 * frames with it, and link.c puts it below a relay's subscriber. */
#ifndef VIDPIPE_PUBLISH_H
#define VIDPIPE_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "api/api.h"
#include "api/keyframe.h"
#include "api/stats.h"
#include "contract/frame.h"
#include "contract/message.h"
#include "contract/topic.h"
#include "util/log.h"
#include "util/nametab.h"

#define PUB_DEFAULT_MAX_STREAMS 1024

/* What the publisher knows of one stream it sends (in p->streams, found
 * by its name, which comes first). */
struct pstream {
    char name[FRAME_STREAM_MAX + 1];
    struct ring *ring;
    int64_t ring_failed_ns; /* when making its ring last failed, or 0 */
    uint64_t next_seq;
    int64_t last_ns; /* its last frame forwarded, or when made (mono) */
    bool stalled;    /* said so: no frame for STATS_STALL_NS */
    bool remote;     /* linked: its producer's ring cannot be opened here */
    bool raw_added;  /* linked: subscribed its raw payload to fill our ring */
    struct keyframer kf; /* its H.264 */
};

/* The frame being made in a loaned buffer. */
struct loan {
    bool active, in_ring, want_shm, want_raw, want_jpeg, want_h264;
    uint32_t slot;
    uint8_t *px; /* the ring slot, pool buffer or scratch */
    struct pstream *ps;
    struct frame_hdr hdr;
};

struct vp_pub {
    struct vp_pub_opts o;
    char stream[FRAME_STREAM_MAX + 1];
    struct xpub *x; /* NULL: a byte stream on o.fd */
    struct curve *curve;
    /* Linked (link.c): the subscriber above, and what it does with each
     * subscription change after the publisher has noted it. */
    struct vp_sub *up;
    void (*on_sub)(struct vp_pub *p, const char *prefix, size_t len, bool on);
    struct pool *raw_pool, *jpeg_pool;
    struct jpeg *jpeg;
    struct nametab streams; /* of struct pstream, o.max_streams at most */
    struct pstream *own;    /* the publisher's own stream */
    struct loan loan;
    uint8_t *scratch, *scratch2; /* conversions for "-" and forwarding */
    size_t scratch_cap, scratch2_cap;
    struct vp_stats st;
    uint64_t shm_sent, raw_sent, raw_copies, jpeg_encodes, ring_writes,
        shm_forwarded, h264_encodes, keyframes, keyframe_requests,
        bounds_raised;
    uint64_t subs_not_passed; /* linked: downstream subscriptions that
                                 select no topic, kept from upstream */
    uint64_t nstreams;        /* a gauge: streams in the table */
    uint64_t streams_refused; /* frames of streams past o.max_streams */
    uint64_t streams_stalled; /* a gauge: no frame for STATS_STALL_NS */
    uint64_t streams_dropped; /* forgotten by vp_pub_drop_idle() */
    uint64_t stream_bytes;    /* a gauge: held for the streams' state */
    struct log_limit log;
};

/* The entry of stream name (made if new); NULL when the table holds
 * o.max_streams already (or out of memory).  No allocation once made. */
struct pstream *pub_stream(struct vp_pub *p, const char *name);
/* The i-th stream's entry, i < p->streams.n. */
static inline struct pstream *pub_stream_at(const struct vp_pub *p, unsigned i)
{
    return nametab_at(&p->streams, i);
}

/* True while somebody wants variant v of stream (shm only with rings). */
bool pub_wants(const struct vp_pub *p, enum variant v, const char *stream);
/* Reads subscription changes: keyframe requests noted, and each change
 * handed to on_sub when linked. */
void pub_serve(struct vp_pub *p);
/* The publisher's socket, to poll; NULL on a byte stream. */
void *pub_socket(struct vp_pub *p);
/* s's ring, made (again) for raw's geometry; NULL without one. */
struct ring *pub_ring_for(struct vp_pub *p, struct pstream *s,
                          const struct frame_hdr *raw);
/* Buffer pools for frames of h's geometry; 0 or -ENOMEM. */
int pub_pools_for(struct vp_pub *p, const struct frame_hdr *h);
/* Sends one message of variant v for h (payload moved): 0 or -errno. */
int pub_send_variant(struct vp_pub *p, enum variant v,
                     const struct frame_hdr *h, zmq_msg_t *payload);
/* A JPEG of raw pixels px (h's geometry), sent: the bytes sent. */
uint64_t pub_send_jpeg(struct vp_pub *p, const struct frame_hdr *h,
                       const uint8_t *px);
/* h's raw payload: buf a pool buffer holding it (moved), or NULL to copy
 * px into one.  The bytes sent. */
uint64_t pub_send_raw(struct vp_pub *p, const struct frame_hdr *h,
                      const uint8_t *px, uint8_t *buf);
/* Frame h (raw pixels px) encoded by s's encoder into *out (the packet
 * valid until s's next frame) and counted; 0 or -EIO (logged). */
int pub_encode_h264(struct vp_pub *p, struct pstream *s,
                    const struct frame_hdr *h, const uint8_t *px,
                    struct frame_hdr *out, const uint8_t **data);
/* The same, sent as the h264 variant: the bytes sent. */
uint64_t pub_send_h264(struct vp_pub *p, struct pstream *s,
                       const struct frame_hdr *h, const uint8_t *px);

/* Writes frame h (payload data) on the byte stream in the publisher's
 * codec.  0, -EPIPE (the reader has gone), -EINTR or -errno. */
int pub_write_stream(struct vp_pub *p, const struct frame_hdr *h,
                     const uint8_t *data, uint64_t *bytes);

#endif
