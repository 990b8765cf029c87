/* httpint.h -- inside the relay's HTTP server: what http.c (the server)
 * and metrics.c (/metrics) both read, a stream as the server knows it and
 * an MJPEG viewer.  The relay's loop sees only http.h.
 */
#ifndef VIDPIPE_RELAY_HTTPINT_H
#define VIDPIPE_RELAY_HTTPINT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>

#include "vidpipe.h"

#define NBUCKETS 11           /* latency histograms' buckets, +Inf aside */
#define STALL_NS 2000000000LL /* a stream with no frame this long stalled */

struct hist {
    uint64_t b[NBUCKETS], count;
    double sum;
};

/* Counts s seconds into h's buckets (metrics.c has their bounds). */
void hist_add(struct hist *h, double s);

/* One frame's JPEG, shared by every client that is sent it. */
struct jpeg_buf {
    atomic_uint refs;
    uint64_t seq;
    int64_t t_real_ns;
    size_t len;
    uint8_t data[];
};
/* What the server knows of one stream.  Under http.mu but for the
 * fields marked otherwise. */
struct hstream {
    char name[VP_STREAM_MAX + 1]; /* set once */
    int64_t made_ns;              /* set once: when the server met it */
    /* Written by the relay's thread. */
    uint32_t width, height;
    uint64_t seq, frames, drops, jpegs, jpeg_bytes;
    int64_t seen_ns, lat_us; /* last frame: when (mono), capture to relay */
    double fps;
    uint64_t fps_frames;
    int64_t fps_ns;
    struct hist lat;
    bool raw_pipe; /* raw frames from a byte stream: nothing to serve */
    struct jpeg_buf *latest;
    int64_t latest_ns;
    /* Written by the server's thread. */
    unsigned viewers;   /* MJPEG clients and waiting snapshots */
    int64_t want_until; /* JPEG asked for until then (mono ns) */
    /* The server's thread only. */
    struct hist sent_lat;
    uint64_t sent, sent_bytes, skipped;
    /* The relay's thread only: asked upstream for its JPEG. */
    bool wanted;
};

/* An MJPEG viewer, or a snapshot waiting for a frame. */
struct client {
    struct http *h;
    struct client *next;
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    struct bufferevent *bev; /* MJPEG: taken over from evhttp */
    struct event *timer;     /* snapshot: its deadline */
    struct hstream *s;
    bool mjpeg, in_flight, sent_any;
    unsigned id;
    char peer[64];
    uint64_t last_seq, wait_seq;
    int64_t flight_t_real, since_ns;
    uint64_t frames, skipped, bytes;
    uint64_t win_frames; /* its fps, over the last second */
    int64_t win_ns;
    double fps;
    size_t input; /* bytes it sent after its request */
};

/* One figure of the relay's last report (vp_stats_at()), with its name
 * and text copied: /metrics reads them on the server's thread. */
struct figure {
    struct vp_stat v; /* v.name and v.s unused: name and text hold them */
    char name[48];
    char text[16];
};
/* A report has 13 fixed figures and at most 24 of vp_stats_add(). */
#define HTTP_MAX_FIGURES 48

/* The server's own counts, for /metrics. */
struct http_totals {
    unsigned viewers; /* MJPEG clients */
    uint64_t rejected_busy, rejected_auth, snapshots;
    uint64_t stream_bytes; /* held for the streams: entries, JPEGs */
};

/* Writes every metric into b: the nfig figures of the relay's last
 * report, the n streams st (copies: their latest is not read), the MJPEG
 * viewers on the list clients, and t.  The server's thread, which owns
 * clients. */
void http_metrics(struct evbuffer *b, const struct figure *fig, unsigned nfig,
                  const struct hstream *st, unsigned n,
                  const struct client *clients, const struct http_totals *t);

#endif
