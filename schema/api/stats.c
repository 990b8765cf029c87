/* stats.c -- counters, latency histograms and the once-a-second report. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "vidpipe.h"
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

void stats_init(struct vp_stats *s)
{
    memset(s, 0, sizeof *s);
    s->path = "-";
    s->start_ns = s->tick_ns = s->last_frame_ns = clock_mono_ns();
    s->max_streams = STATS_DEFAULT_MAX_STREAMS;
}

void stats_fini(struct vp_stats *s)
{
    nametab_fini(&s->streams);
}

void stats_latency(struct vp_stats *s, uint64_t us)
{
    hist_add(&s->win, us);
    hist_add(&s->total, us);
}

/* Which variant a header is of, as far as seq goes: each variant of a
 * stream (a relay forwards several) runs its own sequence. */
static unsigned kind_of(const struct frame_hdr *h)
{
    return h->has_shm ? 3 : (unsigned)h->enc;
}

/* h's stream's entry, made if new; NULL past max_streams (or out of
 * memory): its gaps then go uncounted. */
static struct stats_stream *stream_of(struct vp_stats *s,
                                      const struct frame_hdr *h)
{
    struct stats_stream *e = nametab_find(&s->streams, h->stream);

    if (e || s->streams.n >= s->max_streams || !(e = calloc(1, sizeof *e)))
        return e;
    memcpy(e->name, h->stream, sizeof h->stream);
    if (nametab_add(&s->streams, e) < 0) {
        free(e);
        return NULL;
    }
    return e;
}

/* Counts the gaps in the seq of h's stream and variant; true if h is a
 * frame not delivered before in another variant (a new frame). */
static bool track_seq(struct vp_stats *s, const struct frame_hdr *h)
{
    struct stats_stream *e = stream_of(s, h);
    unsigned kind = kind_of(h);
    bool seen = false;

    if (!e)
        return true;
    for (unsigned k = 0; k < STATS_KINDS; k++)
        if (k != kind && (e->kinds >> k & 1) && e->last_seq[k] == h->seq)
            seen = true; /* the same frame in another variant: one frame */
    if (e->kinds >> kind & 1) {
        uint64_t last = e->last_seq[kind];
        /* A jump of more than a million frames is a new producer, as is a
         * seq that goes back: neither counts as dropped frames. */
        if (h->seq > last + 1 && h->seq - last - 1 < 1000000)
            s->drops += h->seq - last - 1;
    }
    e->kinds |= (uint8_t)(1u << kind);
    e->last_seq[kind] = h->seq;
    return !seen;
}

void stats_frame(struct vp_stats *s, const struct frame_hdr *h, uint64_t bytes)
{
    stats_frame_at(s, h, bytes, clock_real_ns());
}

void stats_frame_at(struct vp_stats *s, const struct frame_hdr *h,
                    uint64_t bytes, int64_t now_real_ns)
{
    int64_t lat = now_real_ns - h->t_real_ns;

    s->bytes += bytes;
    s->last_frame_ns = clock_mono_ns();
    if (!track_seq(s, h))
        return;
    s->frames++;
    stats_latency(s, lat > 0 ? (uint64_t)lat / 1000 : 0);
}

bool stats_forget(struct vp_stats *s, const char *name)
{
    void *e = nametab_del(&s->streams, name);
    free(e);
    return e != NULL;
}

size_t stats_stream_bytes(const struct vp_stats *s)
{
    return nametab_bytes(&s->streams) +
           s->streams.n * sizeof(struct stats_stream);
}

bool stats_stalled(const struct vp_stats *s)
{
    return clock_mono_ns() - s->last_frame_ns > STATS_STALL_NS;
}

const uint64_t *vp_stats_ref(const vp_stats *st, const char *name)
{
    for (unsigned i = 0; i < st->nextra; i++)
        if (strcmp(st->extra[i].name, name) == 0)
            return st->extra[i].v;
    return NULL;
}

static int add_extra(vp_stats *st, const char *name, const uint64_t *v,
                     enum vp_stat_type type)
{
    if (st->nextra == STATS_MAX_EXTRA)
        return -ENOSPC;
    st->extra[st->nextra].name = name;
    st->extra[st->nextra].v = v;
    st->extra[st->nextra].type = type;
    st->nextra++;
    return 0;
}

int vp_stats_add(vp_stats *st, const char *name, const uint64_t *v)
{
    return add_extra(st, name, v, VP_STAT_COUNTER);
}

int vp_stats_add_gauge(vp_stats *st, const char *name, const uint64_t *v)
{
    return add_extra(st, name, v, VP_STAT_GAUGE);
}

bool vp_stats_tick(vp_stats *s)
{
    int64_t now = clock_mono_ns(), dt = now - s->tick_ns;
    if (dt < 1000000000)
        return false;
    s->last = (struct stats_window){
        .mono_ns = now,
        .real_ns = clock_real_ns(),
        .fps = (double)(s->frames - s->tick_frames) * 1e9 / (double)dt,
        .p50 = stats_hist_pct(&s->win, 50),
        .p99 = stats_hist_pct(&s->win, 99),
        .max = s->win.max_us,
    };
    memset(&s->win, 0, sizeof s->win);
    s->tick_ns = now;
    s->tick_frames = s->frames;
    return true;
}

/* The figures a report shows: the last window's, or the whole run's. */
static struct stats_window figures(const vp_stats *s, bool final)
{
    if (!final && s->last.mono_ns)
        return s->last;
    if (!final) /* no window has closed yet: an empty one, until now */
        return (struct stats_window){
            clock_mono_ns(), clock_real_ns(), 0, 0, 0, 0};
    int64_t now = clock_mono_ns(), dt = now - s->start_ns;
    return (struct stats_window){
        .mono_ns = now,
        .real_ns = clock_real_ns(),
        .fps = dt > 0 ? (double)s->frames * 1e9 / (double)dt : 0,
        .p50 = stats_hist_pct(&s->total, 50),
        .p99 = stats_hist_pct(&s->total, 99),
        .max = s->total.max_us,
    };
}

/* snprintf at buf + *n, keeping *n the length so far (cap when full). */
static void add(char *buf, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
    va_list ap;
    if (*n >= cap)
        return;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *n, cap - *n, fmt, ap);
    va_end(ap);
    *n = k < 0 || (size_t)k >= cap - *n ? cap : *n + (size_t)k;
}

/* The figures every report has, in the order --stats-json prints them;
 * the vp_stats_add() ones follow. */
enum {
    F_T,
    F_UPTIME,
    F_FRAMES,
    F_FPS,
    F_P50,
    F_P99,
    F_MAX,
    F_DROPS,
    F_BAD,
    F_TORN,
    F_BYTES,
    F_PATH,
    F_STALLED,
    F_FIXED
};

static const struct {
    const char *name;
    enum vp_stat_type type;
} fixed[F_FIXED] = {
    [F_T] = {"t", VP_STAT_SECONDS},
    [F_UPTIME] = {"uptime_s", VP_STAT_SECONDS},
    [F_FRAMES] = {"frames", VP_STAT_COUNTER},
    [F_FPS] = {"fps", VP_STAT_RATE},
    [F_P50] = {"lat_p50_us", VP_STAT_GAUGE},
    [F_P99] = {"lat_p99_us", VP_STAT_GAUGE},
    [F_MAX] = {"lat_max_us", VP_STAT_GAUGE},
    [F_DROPS] = {"drops", VP_STAT_COUNTER},
    [F_BAD] = {"bad", VP_STAT_COUNTER},
    [F_TORN] = {"torn", VP_STAT_COUNTER},
    [F_BYTES] = {"bytes", VP_STAT_COUNTER},
    [F_PATH] = {"path", VP_STAT_TEXT},
    [F_STALLED] = {"stalled", VP_STAT_FLAG},
};

unsigned vp_stats_count(const vp_stats *st)
{
    return F_FIXED + st->nextra;
}

/* Figure i of a report whose window is w. */
static void figure(const vp_stats *s, const struct stats_window *w, unsigned i,
                   struct vp_stat *out)
{
    if (i >= F_FIXED) {
        *out = (struct vp_stat){.name = s->extra[i - F_FIXED].name,
                                .type = s->extra[i - F_FIXED].type,
                                .u = *s->extra[i - F_FIXED].v};
        return;
    }
    *out = (struct vp_stat){.name = fixed[i].name, .type = fixed[i].type};
    switch (i) {
    case F_T:
        out->d = (double)w->real_ns / 1e9;
        break;
    case F_UPTIME:
        out->d = (double)(w->mono_ns - s->start_ns) / 1e9;
        break;
    case F_FRAMES:
        out->u = s->frames;
        break;
    case F_FPS:
        out->d = w->fps;
        break;
    case F_P50:
        out->u = w->p50;
        break;
    case F_P99:
        out->u = w->p99;
        break;
    case F_MAX:
        out->u = w->max;
        break;
    case F_DROPS:
        out->u = s->drops;
        break;
    case F_BAD:
        out->u = s->bad;
        break;
    case F_TORN:
        out->u = s->torn;
        break;
    case F_BYTES:
        out->u = s->bytes;
        break;
    case F_PATH:
        out->s = s->path;
        break;
    case F_STALLED:
        out->u = stats_stalled(s);
        break;
    }
}

int vp_stats_at(const vp_stats *st, unsigned i, bool final, struct vp_stat *out)
{
    if (i >= vp_stats_count(st))
        return -ERANGE;
    struct stats_window w = figures(st, final);
    figure(st, &w, i, out);
    return 0;
}

int vp_stats_get(const vp_stats *st, const char *name, uint64_t *v)
{
    struct vp_stat f;

    for (unsigned i = 0; i < vp_stats_count(st); i++) {
        const char *ni =
            i < F_FIXED ? fixed[i].name : st->extra[i - F_FIXED].name;
        if (strcmp(ni, name) != 0)
            continue;
        /* The latencies of the whole run: a getter has no window. */
        vp_stats_at(st, i, true, &f);
        if (f.type != VP_STAT_COUNTER && f.type != VP_STAT_GAUGE)
            break;
        *v = f.u;
        return 0;
    }
    return -ENOENT;
}

int vp_stats_json(const vp_stats *s, const char *prog, bool final, char *buf,
                  size_t cap)
{
    struct stats_window w = figures(s, final);
    size_t n = 0;

    add(buf, cap, &n, "{\"prog\":\"%s\",\"event\":\"%s\"", prog,
        final ? "exit" : "tick");
    for (unsigned i = 0; i < vp_stats_count(s); i++) {
        struct vp_stat f;
        figure(s, &w, i, &f);
        add(buf, cap, &n, ",\"%s\":", f.name);
        switch (f.type) {
        case VP_STAT_COUNTER:
        case VP_STAT_GAUGE:
            add(buf, cap, &n, "%llu", (unsigned long long)f.u);
            break;
        case VP_STAT_FLAG:
            add(buf, cap, &n, "%s", f.u ? "true" : "false");
            break;
        case VP_STAT_SECONDS:
            add(buf, cap, &n, "%.3f", f.d);
            break;
        case VP_STAT_RATE:
            add(buf, cap, &n, "%.2f", f.d);
            break;
        case VP_STAT_TEXT:
            add(buf, cap, &n, "\"%s\"", f.s);
            break;
        }
    }
    add(buf, cap, &n, "}");
    return n < cap ? (int)n : -ENOSPC;
}

int vp_stats_line(const vp_stats *s, const char *prog, bool final, char *buf,
                  size_t cap)
{
    struct stats_window w = figures(s, final);
    const char *sep = final ? ", " : "  ";
    size_t n = 0;

    if (final)
        add(buf, cap, &n, "%s: %llu frames in %.1f s, %.1f fps", prog,
            (unsigned long long)s->frames,
            (double)(clock_mono_ns() - s->start_ns) / 1e9, w.fps);
    else
        add(buf, cap, &n, "%s: %5.1f fps  frames %llu", prog, w.fps,
            (unsigned long long)s->frames);
    add(buf, cap, &n, "%slat %.2f ms (p99 %.2f)", sep, (double)w.p50 / 1000,
        (double)w.p99 / 1000);
    /* What went wrong, only when something did: a status line must fit a
     * terminal's width. */
    const struct {
        const char *name;
        uint64_t v;
    } trouble[] = {{"drops", s->drops}, {"bad", s->bad}, {"torn", s->torn}};
    for (unsigned i = 0; i < 3; i++)
        if (trouble[i].v || final)
            add(buf, cap, &n, "%s%s %llu", sep, trouble[i].name,
                (unsigned long long)trouble[i].v);
    for (unsigned i = 0; i < s->nextra; i++)
        if ((*s->extra[i].v || final) && strcmp(s->extra[i].name, "received"))
            add(buf, cap, &n, "%s%s %llu", sep, s->extra[i].name,
                (unsigned long long)*s->extra[i].v);
    add(buf, cap, &n, "%s%s%s", sep, s->path,
        !final && stats_stalled(s) ? "  STALLED" : "");
    return n < cap ? (int)n : -ENOSPC;
}
