/* stats.h -- per-process counters, latency percentiles, and reporting.
 *
 * Every program keeps one struct stats.  Once a second stats_tick() prints
 * a JSON object (with --stats-json) and, on a terminal, a status line; at
 * exit stats_final() prints the totals.  The JSON keys are the contract
 * tests and benchmarks read (see docs/STATS.md).
 */
#ifndef VIDPIPE_STATS_H
#define VIDPIPE_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "contract/frame.h"

#define STATS_LAT_BUCKETS 1216
#define STATS_MAX_EXTRA 12
#define STATS_MAX_STREAMS 16
#define STATS_STALL_NS 2000000000LL

struct stats_hist {
    uint64_t n, max_us;
    uint32_t b[STATS_LAT_BUCKETS];
};

struct stats {
    /* Counters the program bumps directly. */
    uint64_t frames;   /* frames delivered (shown, forwarded, published) */
    uint64_t drops;    /* frames skipped: gaps in seq, or dropped here */
    uint64_t bad;      /* rejected input: bad header, payload, descriptor */
    uint64_t torn;     /* shm frames overwritten while being read */
    uint64_t bytes;    /* payload bytes received or sent */
    uint64_t verified; /* test: frames whose pixels match the header seq */
    uint64_t mismatch; /* test: frames whose pixels do not */
    const char *path;  /* "tcp", "shm", "pipe", or "-" */

    /* Private. */
    const char *prog;
    bool json, tty;
    int64_t start_ns, tick_ns, last_frame_ns;
    uint64_t tick_frames;
    struct stats_hist win, total;
    struct {
        char name[FRAME_STREAM_MAX + 1];
        uint64_t last_seq;
    } streams[STATS_MAX_STREAMS];
    unsigned nstreams;
    struct {
        const char *name;
        const uint64_t *v;
    } extra[STATS_MAX_EXTRA];
    unsigned nextra;
};

/* json: print JSON lines on stderr; the status line is printed only when
 * stderr is a terminal and json is off. */
void stats_init(struct stats *s, const char *prog, bool json);

/* Adds a named counter (read at each report; *v must outlive s). */
void stats_add_counter(struct stats *s, const char *name, const uint64_t *v);

/* Accounts one frame received or sent: latency from its capture time,
 * drops from gaps in its stream's seq (a seq that goes back is a restart
 * of the producer, not a drop), and bytes. */
void stats_frame(struct stats *s, const struct frame_hdr *h, uint64_t bytes);
/* The same, with the frame's age taken at now_real_ns (CLOCK_REALTIME),
 * e.g. when a sink showed it, before later checks confirmed it. */
void stats_frame_at(struct stats *s, const struct frame_hdr *h,
                    uint64_t bytes, int64_t now_real_ns);

/* Adds a latency sample (us) without touching the other counters. */
void stats_latency(struct stats *s, uint64_t us);

/* True when frames have stopped coming for STATS_STALL_NS. */
bool stats_stalled(const struct stats *s);

/* Call often; reports once a second.  Returns true when it reported. */
bool stats_tick(struct stats *s);
/* Prints the final report (JSON "event":"exit" and a last status line). */
void stats_final(struct stats *s);

/* The p-th percentile (0..100) of h in us. */
uint64_t stats_hist_pct(const struct stats_hist *h, double p);

#endif
