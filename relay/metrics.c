/* metrics.c -- /metrics: the relay's figures in Prometheus's text
 * exposition format (version 0.0.4).
 *
 * The figures of the relay's --stats-json line, read through vp_stats_at(),
 * become vidpipe_relay_* (counters with _total, latencies in seconds); each
 * stream's figures vidpipe_stream_* (latency as histograms); each MJPEG
 * viewer's vidpipe_viewer_*, labelled with its id and peer; the server's own
 * vidpipe_http_*.  docs/HTTP.md lists them.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "httpint.h"

/* Histogram bounds, in seconds (capture to relay, capture to sent). */
static const double bucket_le[NBUCKETS] = {0.005, 0.01, 0.02, 0.033, 0.05, 0.1,
                                           0.2,   0.5,  1,    2,     5};
void hist_add(struct hist *h, double s)
{
    for (unsigned i = 0; i < NBUCKETS; i++)
        if (s <= bucket_le[i])
            h->b[i]++;
    h->count++;
    h->sum += s;
}
static void metric_head(struct evbuffer *b, const char *name, const char *type,
                        const char *help)
{
    evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                        type);
}

static void hist_out(struct evbuffer *b, const char *name, const char *stream,
                     const struct hist *hs)
{
    for (unsigned i = 0; i < NBUCKETS; i++)
        evbuffer_add_printf(b,
                            "%s_bucket{stream=\"%s\",le=\"%g\"} %" PRIu64 "\n",
                            name, stream, bucket_le[i], hs->b[i]);
    evbuffer_add_printf(b, "%s_bucket{stream=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
                        name, stream, hs->count);
    evbuffer_add_printf(b, "%s_sum{stream=\"%s\"} %.6f\n", name, stream,
                        hs->sum);
    evbuffer_add_printf(b, "%s_count{stream=\"%s\"} %" PRIu64 "\n", name,
                        stream, hs->count);
}

/* The figures of the relay's --stats-json line as metrics, each under
 * its own name: counters get _total, times and latencies are in
 * seconds, the path is a label. */
static void relay_metrics(struct evbuffer *b, const struct figure *fig,
                          unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const struct figure *f = &fig[i];
        size_t kl = strlen(f->name);
        const char *type = "gauge", *total = "";
        char name[64], label[64] = "", val[32];

        snprintf(name, sizeof name, "%s", f->name);
        switch (f->v.type) {
        case VP_STAT_COUNTER:
            type = "counter";
            total = "_total";
            /* fallthrough */
        case VP_STAT_GAUGE:
        case VP_STAT_FLAG:
            snprintf(val, sizeof val, "%" PRIu64, f->v.u);
            if (kl > 3 && strcmp(f->name + kl - 3, "_us") == 0) {
                /* lat_p50_us: vidpipe_relay_lat_p50_seconds */
                snprintf(name, sizeof name, "%.*s_seconds", (int)kl - 3,
                         f->name);
                snprintf(val, sizeof val, "%.6f", (double)f->v.u / 1e6);
            }
            break;
        case VP_STAT_SECONDS:
            if (strcmp(f->name, "t") == 0) /* when the report was made */
                snprintf(name, sizeof name, "report_time_seconds");
            else if (strcmp(f->name, "uptime_s") == 0)
                snprintf(name, sizeof name, "uptime_seconds");
            snprintf(val, sizeof val, "%.3f", f->v.d);
            break;
        case VP_STAT_RATE:
            snprintf(val, sizeof val, "%.2f", f->v.d);
            break;
        case VP_STAT_TEXT:
            snprintf(label, sizeof label, "{%s=\"%s\"}", f->name, f->text);
            snprintf(val, sizeof val, "1");
            break;
        }
        evbuffer_add_printf(b,
                            "# TYPE vidpipe_relay_%s %s\n"
                            "vidpipe_relay_%s%s%s %s\n",
                            name, type, name, total, label, val);
    }
}

/* Each stream's figures, from a copy of its struct taken under the lock. */
static void stream_metrics(struct evbuffer *b, const struct hstream *st,
                           unsigned n)
{
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } per[] = {
#define F(n, t, h, f) {n, t, h, offsetof(struct hstream, f)}
        F("vidpipe_stream_frames", "counter", "frames the relay received",
          frames),
        F("vidpipe_stream_drops", "counter", "gaps in the stream's seq", drops),
        F("vidpipe_stream_jpeg_frames", "counter", "JPEG frames received",
          jpegs),
        F("vidpipe_stream_jpeg_bytes", "counter", "JPEG bytes received",
          jpeg_bytes),
        F("vidpipe_stream_http_frames", "counter",
          "MJPEG parts sent to viewers", sent),
        F("vidpipe_stream_http_bytes", "counter", "JPEG bytes sent to viewers",
          sent_bytes),
        F("vidpipe_stream_http_skipped", "counter",
          "frames viewers were too busy for", skipped),
#undef F
    };
    for (unsigned k = 0; k < sizeof per / sizeof *per; k++) {
        metric_head(b, per[k].name, per[k].type, per[k].help);
        for (unsigned i = 0; i < n; i++) {
            uint64_t v;
            memcpy(&v, (const char *)&st[i] + per[k].off, sizeof v);
            evbuffer_add_printf(b, "%s_total{stream=\"%s\"} %" PRIu64 "\n",
                                per[k].name, st[i].name, v);
        }
    }
    metric_head(b, "vidpipe_stream_fps", "gauge", "frames a second");
    for (unsigned i = 0; i < n; i++)
        evbuffer_add_printf(b, "vidpipe_stream_fps{stream=\"%s\"} %.2f\n",
                            st[i].name, st[i].fps);
    int64_t now = vp_clock_mono_ns();
    metric_head(b, "vidpipe_stream_stalled", "gauge",
                "1 when no frame came for 2 s");
    for (unsigned i = 0; i < n; i++)
        evbuffer_add_printf(b, "vidpipe_stream_stalled{stream=\"%s\"} %d\n",
                            st[i].name, now - st[i].seen_ns > STALL_NS);
    metric_head(b, "vidpipe_stream_width", "gauge", "pixels");
    for (unsigned i = 0; i < n; i++)
        evbuffer_add_printf(b, "vidpipe_stream_width{stream=\"%s\"} %u\n",
                            st[i].name, st[i].width);
    metric_head(b, "vidpipe_stream_height", "gauge", "pixels");
    for (unsigned i = 0; i < n; i++)
        evbuffer_add_printf(b, "vidpipe_stream_height{stream=\"%s\"} %u\n",
                            st[i].name, st[i].height);
    metric_head(b, "vidpipe_stream_viewers", "gauge",
                "MJPEG viewers and waiting snapshots");
    for (unsigned i = 0; i < n; i++)
        evbuffer_add_printf(b, "vidpipe_stream_viewers{stream=\"%s\"} %u\n",
                            st[i].name, st[i].viewers);
    metric_head(b, "vidpipe_stream_latency_seconds", "histogram",
                "capture to the relay");
    for (unsigned i = 0; i < n; i++)
        hist_out(b, "vidpipe_stream_latency_seconds", st[i].name, &st[i].lat);
    metric_head(b, "vidpipe_stream_http_latency_seconds", "histogram",
                "capture to a part handed to a viewer's socket");
    for (unsigned i = 0; i < n; i++)
        hist_out(b, "vidpipe_stream_http_latency_seconds", st[i].name,
                 &st[i].sent_lat);
}

/* Each MJPEG viewer's figures. */
static void viewer_metrics(struct evbuffer *b, const struct client *clients)
{
    static const char *const vm[][2] = {
        {"vidpipe_viewer_frames", "MJPEG parts sent"},
        {"vidpipe_viewer_skipped", "frames it was too busy for"},
        {"vidpipe_viewer_bytes", "JPEG bytes sent"},
    };
    for (unsigned k = 0; k < 3; k++) {
        metric_head(b, vm[k][0], "counter", vm[k][1]);
        for (const struct client *c = clients; c; c = c->next)
            if (c->mjpeg)
                evbuffer_add_printf(
                    b,
                    "%s_total{stream=\"%s\",viewer=\"%u\",peer=\"%s\"} %" PRIu64
                    "\n",
                    vm[k][0], c->s->name, c->id, c->peer,
                    k == 0   ? c->frames
                    : k == 1 ? c->skipped
                             : c->bytes);
    }
    metric_head(b, "vidpipe_viewer_fps", "gauge", "parts a second");
    for (const struct client *c = clients; c; c = c->next)
        if (c->mjpeg)
            evbuffer_add_printf(
                b,
                "vidpipe_viewer_fps{stream=\"%s\",viewer=\"%u\",peer=\"%s\"} "
                "%.2f\n",
                c->s->name, c->id, c->peer, c->fps);
    metric_head(b, "vidpipe_viewer_in_flight", "gauge",
                "1 while a part is on its way");
    for (const struct client *c = clients; c; c = c->next)
        if (c->mjpeg)
            evbuffer_add_printf(
                b,
                "vidpipe_viewer_in_flight{stream=\"%s\",viewer=\"%u\","
                "peer=\"%s\"} %d\n",
                c->s->name, c->id, c->peer, c->in_flight);
}

void http_metrics(struct evbuffer *b, const struct figure *fig, unsigned nfig,
                  const struct hstream *st, unsigned n,
                  const struct client *clients, const struct http_totals *t)
{
    relay_metrics(b, fig, nfig);
    stream_metrics(b, st, n);
    viewer_metrics(b, clients);
    metric_head(b, "vidpipe_http_viewers", "gauge", "MJPEG clients");
    evbuffer_add_printf(b, "vidpipe_http_viewers %u\n", t->viewers);
    metric_head(b, "vidpipe_http_rejected", "counter", "requests refused");
    evbuffer_add_printf(
        b,
        "vidpipe_http_rejected_total{reason=\"busy\"} %" PRIu64 "\n"
        "vidpipe_http_rejected_total{reason=\"auth\"} %" PRIu64 "\n",
        t->rejected_busy, t->rejected_auth);
    metric_head(b, "vidpipe_http_stream_bytes", "gauge",
                "bytes the server holds for its streams");
    evbuffer_add_printf(b, "vidpipe_http_stream_bytes %" PRIu64 "\n",
                        t->stream_bytes);
    metric_head(b, "vidpipe_http_snapshots", "counter", "snapshots served");
    evbuffer_add_printf(b, "vidpipe_http_snapshots_total %" PRIu64 "\n",
                        t->snapshots);
}
