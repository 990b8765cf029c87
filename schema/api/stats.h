/* stats.h -- counters, latency percentiles, and their two formatters.
 *
 * Every publisher and subscriber keeps a vp_stats (vidpipe.h).  Counting
 * is a few instructions and no allocation; once a second vp_stats_tick()
 * closes a window, and vp_stats_json() / vp_stats_line() describe it (or
 * the whole run), and vp_stats_at() gives the same figures one by one:
 * the JSON keys are the contract tests, benchmarks, /metrics and
 * docs/STATS.md rely on.
 */
#ifndef VIDPIPE_STATS_H
#define VIDPIPE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contract/frame.h"
#include "util/nametab.h"
#include "vidpipe.h"

#define STATS_LAT_BUCKETS 1216
#define STATS_MAX_EXTRA 24
#define STATS_DEFAULT_MAX_STREAMS 1024
#define STATS_KINDS 4 /* what kind_of() tells apart: raw, jpeg, h264, shm */
#define STATS_STALL_NS 2000000000LL

struct stats_hist {
    uint64_t n, max_us;
    uint32_t b[STATS_LAT_BUCKETS];
};

/* What one window said, kept for its reports. */
struct stats_window {
    int64_t mono_ns, real_ns; /* when it closed */
    double fps;
    uint64_t p50, p99, max;
};

/* One stream's last seq in each variant it came in (a relay receives
 * several variants of one frame). */
struct stats_stream {
    char name[FRAME_STREAM_MAX + 1]; /* first: the nametab's key */
    uint8_t kinds;                   /* bit k: last_seq[k] is set */
    uint64_t last_seq[STATS_KINDS];
};

struct vp_stats {
    /* Counters bumped by their owner. */
    uint64_t frames;  /* frames delivered (shown, forwarded, published) */
    uint64_t drops;   /* frames skipped: gaps in seq, or dropped here */
    uint64_t bad;     /* rejected input: bad header, payload, descriptor */
    uint64_t torn;    /* shm frames overwritten while being read */
    uint64_t bytes;   /* payload bytes received or sent */
    const char *path; /* "tcp", "shm", "pipe", or "-" */

    int64_t start_ns, tick_ns, last_frame_ns;
    uint64_t tick_frames;
    struct stats_hist win, total;
    struct stats_window last; /* the window vp_stats_tick() closed last */
    /* Streams whose seq is followed, max_streams at most: the frames of
     * any more are counted, their gaps are not. */
    struct nametab streams; /* of struct stats_stream */
    unsigned max_streams;   /* STATS_DEFAULT_MAX_STREAMS unless set */
    struct {
        const char *name;
        const uint64_t *v;
        enum vp_stat_type type; /* a counter or a gauge */
    } extra[STATS_MAX_EXTRA];
    unsigned nextra;
};

void stats_init(struct vp_stats *s);
/* Frees what stats_init() and the frames since took (the stream table). */
void stats_fini(struct vp_stats *s);

/* Accounts one frame received or sent: latency from its capture time,
 * drops from gaps in its stream's seq (a seq that goes back is a restart
 * of the producer, not a drop), and bytes.  The same frame in another
 * variant (a relay forwards several) adds its bytes, not a frame. */
void stats_frame(struct vp_stats *s, const struct frame_hdr *h, uint64_t bytes);
/* The same, with the frame's age taken at now_real_ns (CLOCK_REALTIME),
 * e.g. when a sink showed it, before later checks confirmed it. */
void stats_frame_at(struct vp_stats *s, const struct frame_hdr *h,
                    uint64_t bytes, int64_t now_real_ns);

/* Stops following stream name's seq (it went away): its entry is freed,
 * and a stream of that name is a new one.  False if it had none. */
bool stats_forget(struct vp_stats *s, const char *name);
/* Bytes s holds to follow its streams' seq. */
size_t stats_stream_bytes(const struct vp_stats *s);

/* Adds a latency sample (us) without touching the other counters. */
void stats_latency(struct vp_stats *s, uint64_t us);

/* True when frames have stopped coming for STATS_STALL_NS. */
bool stats_stalled(const struct vp_stats *s);

/* The p-th percentile (0..100) of h in us. */
uint64_t stats_hist_pct(const struct stats_hist *h, double p);

#endif
