/* metrics.c -- /metrics: the relay's figures in Prometheus's text
 * exposition format (version 0.0.4).
 *
 * The relay's --stats-json line becomes vidpipe_relay_* (counters with
 * _total, latencies in seconds); each stream's figures vidpipe_stream_*
 * (latency as histograms); each MJPEG viewer's vidpipe_viewer_*, labelled
 * with its id and peer; the server's own vidpipe_http_*.  docs/HTTP.md
 * lists them.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The relay's --stats-json line as metrics: every number in it, under
 * its own name (counters get _total, latencies are in seconds). */
static void relay_metrics(struct evbuffer *b, const char *line)
{
    static const char *const gauges[] = {"fps", "uptime_s", "t"};
    const char *p = line;
    char key[64];

    while ((p = strchr(p, '"'))) {
        const char *e = strchr(p + 1, '"');
        if (!e || e - p - 1 >= (long)sizeof key || e[1] != ':')
            break;
        memcpy(key, p + 1, (size_t)(e - p - 1));
        key[e - p - 1] = 0;
        const char *v = e + 2;
        p = v;
        if (*v == '"') { /* a string: path */
            const char *ve = strchr(v + 1, '"');
            if (!ve)
                break;
            if (strcmp(key, "path") == 0)
                evbuffer_add_printf(b,
                                    "# TYPE vidpipe_relay_path gauge\n"
                                    "vidpipe_relay_path{path=\"%.*s\"} 1\n",
                                    (int)(ve - v - 1), v + 1);
            p = ve + 1;
            continue;
        }
        if (strncmp(v, "true", 4) == 0 || strncmp(v, "false", 5) == 0) {
            evbuffer_add_printf(b,
                                "# TYPE vidpipe_relay_%s gauge\n"
                                "vidpipe_relay_%s %d\n",
                                key, key, *v == 't');
            continue;
        }
        char *end;
        double x = strtod(v, &end);
        if (end == v)
            continue;
        bool gauge = false;
        for (unsigned i = 0; i < sizeof gauges / sizeof *gauges; i++)
            gauge |= strcmp(key, gauges[i]) == 0;
        size_t kl = strlen(key);
        if (kl > 3 && strcmp(key + kl - 3, "_us") == 0) {
            key[kl - 3] = 0; /* lat_p50_us: vidpipe_relay_lat_p50_seconds */
            evbuffer_add_printf(b,
                                "# TYPE vidpipe_relay_%s_seconds gauge\n"
                                "vidpipe_relay_%s_seconds %.6f\n",
                                key, key, x / 1e6);
        } else if (strcmp(key, "uptime_s") == 0) {
            evbuffer_add_printf(b,
                                "# TYPE vidpipe_relay_uptime_seconds gauge\n"
                                "vidpipe_relay_uptime_seconds %.3f\n",
                                x);
        } else if (strcmp(key, "t") == 0) {
            evbuffer_add_printf(b,
                                "# TYPE vidpipe_relay_report_time_seconds "
                                "gauge\n"
                                "vidpipe_relay_report_time_seconds %.3f\n",
                                x);
        } else if (gauge) {
            evbuffer_add_printf(b,
                                "# TYPE vidpipe_relay_%s gauge\n"
                                "vidpipe_relay_%s %.2f\n",
                                key, key, x);
        } else {
            evbuffer_add_printf(b,
                                "# TYPE vidpipe_relay_%s counter\n"
                                "vidpipe_relay_%s_total %.0f\n",
                                key, key, x);
        }
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

void http_metrics(struct evbuffer *b, const char *relay_line,
                  const struct hstream *st, unsigned n,
                  const struct client *clients, const struct http_totals *t)
{
    relay_metrics(b, relay_line);
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
    metric_head(b, "vidpipe_http_snapshots", "counter", "snapshots served");
    evbuffer_add_printf(b, "vidpipe_http_snapshots_total %" PRIu64 "\n",
                        t->snapshots);
}
