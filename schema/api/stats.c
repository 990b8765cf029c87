/* stats.c -- counters, latency histograms and the once-a-second report. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "api/stats.h"

/* Log-linear buckets: exact below 32 us, then 32 per power of two (3%
 * resolution), up to 2^40 us.  Recording is a few instructions, no
 * allocation. */
static unsigned bucket_of(uint64_t us)
{
    if (us < 32)
        return (unsigned)us;
    unsigned e = 63 - (unsigned)__builtin_clzll(us); /* >= 5 */
    unsigned idx = 32 + (e - 5) * 32 + (unsigned)((us >> (e - 5)) & 31);
    return idx < STATS_LAT_BUCKETS ? idx : STATS_LAT_BUCKETS - 1;
}

static uint64_t bucket_value(unsigned idx)
{
    if (idx < 32)
        return idx;
    unsigned e = (idx - 32) / 32 + 5, sub = (idx - 32) % 32;
    uint64_t lo = (32ULL + sub) << (e - 5);
    return lo + ((1ULL << (e - 5)) >> 1);
}

static void hist_add(struct stats_hist *h, uint64_t us)
{
    h->b[bucket_of(us)]++;
    h->n++;
    if (us > h->max_us)
        h->max_us = us;
}

uint64_t stats_hist_pct(const struct stats_hist *h, double p)
{
    if (h->n == 0)
        return 0;
    uint64_t want = (uint64_t)((double)h->n * p / 100.0 + 0.5), seen = 0;
    if (want < 1)
        want = 1;
    for (unsigned i = 0; i < STATS_LAT_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= want) {
            uint64_t v = bucket_value(i);
            return v < h->max_us ? v : h->max_us;
        }
    }
    return h->max_us;
}

void stats_init(struct stats *s, const char *prog, bool json)
{
    memset(s, 0, sizeof *s);
    s->prog = prog;
    s->json = json;
    s->tty = !json && isatty(STDERR_FILENO);
    s->path = "-";
    s->start_ns = s->tick_ns = s->last_frame_ns = clock_mono_ns();
}

void stats_add_counter(struct stats *s, const char *name, const uint64_t *v)
{
    if (s->nextra < STATS_MAX_EXTRA) {
        s->extra[s->nextra].name = name;
        s->extra[s->nextra].v = v;
        s->nextra++;
    }
}

void stats_latency(struct stats *s, uint64_t us)
{
    hist_add(&s->win, us);
    hist_add(&s->total, us);
}

static void track_seq(struct stats *s, const struct frame_hdr *h)
{
    unsigned i;
    for (i = 0; i < s->nstreams; i++)
        if (strcmp(s->streams[i].name, h->stream) == 0)
            break;
    if (i == s->nstreams) {
        if (i == STATS_MAX_STREAMS)
            return;
        memcpy(s->streams[i].name, h->stream, sizeof h->stream);
        s->nstreams++;
    } else {
        uint64_t last = s->streams[i].last_seq;
        /* A jump of more than a million frames is a new producer, as is a
         * seq that goes back: neither counts as dropped frames. */
        if (h->seq > last + 1 && h->seq - last - 1 < 1000000)
            s->drops += h->seq - last - 1;
    }
    s->streams[i].last_seq = h->seq;
}

void stats_frame(struct stats *s, const struct frame_hdr *h, uint64_t bytes)
{
    stats_frame_at(s, h, bytes, clock_real_ns());
}

void stats_frame_at(struct stats *s, const struct frame_hdr *h,
                    uint64_t bytes, int64_t now_real_ns)
{
    int64_t lat = now_real_ns - h->t_real_ns;

    s->frames++;
    s->bytes += bytes;
    s->last_frame_ns = clock_mono_ns();
    stats_latency(s, lat > 0 ? (uint64_t)lat / 1000 : 0);
    track_seq(s, h);
}

bool stats_stalled(const struct stats *s)
{
    return clock_mono_ns() - s->last_frame_ns > STATS_STALL_NS;
}

static void report(struct stats *s, const char *event, int64_t now,
                   const struct stats_hist *h, double fps)
{
    bool stalled = stats_stalled(s);
    if (s->json) {
        char line[2048];
        int n = snprintf(
            line, sizeof line,
            "{\"prog\":\"%s\",\"event\":\"%s\",\"t\":%.3f,\"uptime_s\":%.3f,"
            "\"frames\":%llu,\"fps\":%.2f,\"lat_p50_us\":%llu,"
            "\"lat_p99_us\":%llu,\"lat_max_us\":%llu,\"drops\":%llu,"
            "\"bad\":%llu,\"torn\":%llu,\"bytes\":%llu,\"path\":\"%s\","
            "\"verified\":%llu,\"mismatch\":%llu,\"stalled\":%s",
            s->prog, event, (double)clock_real_ns() / 1e9,
            (double)(now - s->start_ns) / 1e9, (unsigned long long)s->frames,
            fps, (unsigned long long)stats_hist_pct(h, 50),
            (unsigned long long)stats_hist_pct(h, 99),
            (unsigned long long)h->max_us, (unsigned long long)s->drops,
            (unsigned long long)s->bad, (unsigned long long)s->torn,
            (unsigned long long)s->bytes, s->path,
            (unsigned long long)s->verified, (unsigned long long)s->mismatch,
            stalled ? "true" : "false");
        for (unsigned i = 0; i < s->nextra && n > 0 && n < (int)sizeof line;
             i++)
            n += snprintf(line + n, sizeof line - (size_t)n, ",\"%s\":%llu",
                          s->extra[i].name,
                          (unsigned long long)*s->extra[i].v);
        if (n > 0 && n < (int)sizeof line - 2)
            fprintf(stderr, "%s}\n", line);
    }
    if (s->tty)
        fprintf(stderr,
                "\r%s: %6.1f fps  lat p50 %6.2f ms p99 %6.2f ms  frames %llu"
                "  drops %llu  bad %llu  torn %llu  verified %llu  %s%s\033[K",
                s->prog, fps, (double)stats_hist_pct(h, 50) / 1000,
                (double)stats_hist_pct(h, 99) / 1000,
                (unsigned long long)s->frames, (unsigned long long)s->drops,
                (unsigned long long)s->bad, (unsigned long long)s->torn,
                (unsigned long long)s->verified, s->path,
                stalled ? "  STALLED" : "");
}

bool stats_tick(struct stats *s)
{
    int64_t now = clock_mono_ns(), dt = now - s->tick_ns;
    if (dt < 1000000000)
        return false;
    double fps = (double)(s->frames - s->tick_frames) * 1e9 / (double)dt;
    report(s, "tick", now, &s->win, fps);
    memset(&s->win, 0, sizeof s->win);
    s->tick_ns = now;
    s->tick_frames = s->frames;
    return true;
}

void stats_final(struct stats *s)
{
    int64_t now = clock_mono_ns(), dt = now - s->start_ns;
    double fps = dt > 0 ? (double)s->frames * 1e9 / (double)dt : 0;
    report(s, "exit", now, &s->total, fps);
    if (s->tty)
        fputc('\n', stderr);
}
