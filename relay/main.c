/* main.c -- vidpipe-relay: subscribe upstream, republish downstream.
 *
 * The relay's publisher is linked below its subscriber: what downstream
 * subscribers ask for is what the relay asks upstream for, so a variant
 * nobody wants is never produced or sent, and each frame's ZeroMQ message
 * parts are forwarded as received, so a payload is never decoded or
 * copied here.  Every header is validated and what is bad is dropped.
 *
 * Shared memory: descriptors from a producer on this host are checked
 * against its ring and forwarded, pixels untouched.  When a stream's ring
 * cannot be opened here (its producer is on another host), the relay
 * subscribes to that stream's raw payload instead, writes each frame once
 * into a ring of its own, and publishes descriptors for this host.
 *
 * Either end may be a byte stream: frames from stdin are published in
 * every variant somebody wants; frames for stdout are written in the
 * variant --variant asks the publisher for.
 *
 * With --http the relay also serves its streams to browsers and
 * monitoring (http.c, docs/HTTP.md): each frame is shown to the server
 * before it is forwarded, and the server says which streams' JPEG to ask
 * upstream for.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/notify.h"
#include "h264http.h"
#include "http.h"
#include "util/fault.h"
#include "util/log.h"
#include "vidpipe.h"

#define PROG "vidpipe-relay"
#define WAIT_MS 200
#define REFUSED_LOG_NS 60000000000LL
#define DROP_AFTER_S 300 /* a camera's reboot keeps its stream's figures */
#define DROP_CHECK_NS 1000000000LL
#define TRIM_NS 5000000000LL /* heap given back at most this often */

enum {
    OPT_HTTP = 256,
    OPT_HTTP_MAX_CLIENTS,
    OPT_HTTP_AUTH,
    OPT_HTTP_CERT,
    OPT_HTTP_KEY,
    OPT_HTTP_TIMEOUT,
    OPT_MAX_STREAMS,
    OPT_HTTP_H264_BUFFER,
    OPT_DROP_AFTER,
    OPT_LISTEN,
};

struct relay {
    struct cli_common c;
    struct http_opts http;
    unsigned max_streams;
    unsigned drop_after_s; /* a stream with no frame for this long goes */
    int64_t refused_ns;    /* when a refusal was last logged */
};

static const struct cli_opt opts[] = {
    {"http", OPT_HTTP, "ADDR:PORT",
     "serve viewer pages, MJPEG, H.264, snapshots and\n"
     "/metrics there (off by default; docs/HTTP.md)"},
    {"http-max-clients", OPT_HTTP_MAX_CLIENTS, "N",
     "MJPEG and H.264 viewers at once, 503 beyond\n(default 100)"},
    {"http-auth", OPT_HTTP_AUTH, "FILE",
     "HTTP Basic auth: user:HASH lines (openssl passwd -6)"},
    {"http-cert", OPT_HTTP_CERT, "FILE", "serve HTTPS: the PEM certificate..."},
    {"http-key", OPT_HTTP_KEY, "FILE", "...and its PEM key"},
    {"http-timeout", OPT_HTTP_TIMEOUT, "S",
     "close idle and stalled HTTP connections after S s\n(default 10)"},
    {"http-h264-buffer", OPT_HTTP_H264_BUFFER, "KIB",
     "an H.264 viewer's send buffer: one behind by more\n"
     "skips to a keyframe (default 256)"},
    {"listen", OPT_LISTEN, "EP",
     "bind EP (tcp://HOST:PORT or ipc://PATH) for publishers\n"
     "to dial in to (capture -o connect:EP); repeatable;\n"
     "the same as -i bind:EP (docs/GATEWAY.md)"},
    {"max-streams", OPT_MAX_STREAMS, "N",
     "streams carried at most (default 1024): the frames\n"
     "of any more are refused and counted"},
    {"drop-after", OPT_DROP_AFTER, "S",
     "forget a stream after S s without a frame (stalled\n"
     "after 2 s), freeing what it held (default 300; 0:\nnever)"},
    {0},
};

/* --listen EP: one more input, "bind:EP" (kept for the whole run).  0,
 * or -1 after logging why. */
static int listen_on(struct relay *r, const char *ep)
{
    char *in;

    if (strncmp(ep, "tcp://", 6) != 0 && strncmp(ep, "ipc://", 6) != 0) {
        log_err("--listen %s: expected tcp://HOST:PORT or ipc://PATH", ep);
        return -1;
    }
    if (!(in = malloc(strlen(ep) + 6))) {
        log_err("out of memory");
        return -1;
    }
    sprintf(in, "bind:%s", ep);
    r->c.inputs[r->c.ninputs++] = in; /* room: one per argument */
    return 0;
}

static int take(void *ctx, int id, const char *arg)
{
    struct relay *r = ctx;
    uint64_t v;
    switch (id) {
    case OPT_HTTP:
        r->http.listen = arg;
        return 0;
    case OPT_HTTP_MAX_CLIENTS:
        if (cli_uint(arg, 1, 10000, &v) < 0) {
            log_err("--http-max-clients %s: expected 1..10000", arg);
            return -1;
        }
        r->http.max_clients = (unsigned)v;
        return 0;
    case OPT_HTTP_AUTH:
        r->http.auth_file = arg;
        return 0;
    case OPT_HTTP_CERT:
        r->http.cert_file = arg;
        return 0;
    case OPT_HTTP_KEY:
        r->http.key_file = arg;
        return 0;
    case OPT_HTTP_TIMEOUT:
        if (cli_uint(arg, 1, 3600, &v) < 0) {
            log_err("--http-timeout %s: expected 1..3600 s", arg);
            return -1;
        }
        r->http.timeout_s = (unsigned)v;
        return 0;
    case OPT_HTTP_H264_BUFFER:
        if (cli_uint(arg, 16, 65536, &v) < 0) {
            log_err("--http-h264-buffer %s: expected 16..65536 KiB", arg);
            return -1;
        }
        r->http.h264_buffer = (size_t)v * 1024;
        return 0;
    case OPT_LISTEN:
        return listen_on(r, arg);
    case OPT_MAX_STREAMS:
        if (cli_uint(arg, 1, 1000000, &v) < 0) {
            log_err("--max-streams %s: expected 1..1000000", arg);
            return -1;
        }
        r->max_streams = r->http.max_streams = (unsigned)v;
        return 0;
    case OPT_DROP_AFTER:
        if (cli_uint(arg, 0, 86400, &v) < 0) {
            log_err("--drop-after %s: expected 0..86400 s", arg);
            return -1;
        }
        r->drop_after_s = r->http.drop_after_s = (unsigned)v;
        return 0;
    }
    return -1;
}

/* A frame of a stream past --max-streams was refused: one line a minute
 * at most says so (stream_frames_refused counts them all). */
static void refused(struct relay *r)
{
    int64_t now = vp_clock_mono_ns();
    if (r->refused_ns && now - r->refused_ns < REFUSED_LOG_NS)
        return;
    r->refused_ns = now;
    log_warn("%s: refused; raise --max-streams (%u) to carry more streams",
             vp_errmsg(), r->max_streams);
}

static const struct cli_prog prog = {
    .name = PROG,
    .usage = "[-i ENDPOINT ...] [--listen ENDPOINT ...] [-o ENDPOINT] "
             "[options]",
    .about = "Subscribes to vidpipe publishers and republishes their frames "
             "to any number\nof subscribers, without copying or decoding "
             "pixels.",
    .common = CLI_INPUT | CLI_INPUTS | CLI_OUTPUT | CLI_VARIANT | CLI_RING |
              CLI_NO_SHM | CLI_CURVE_SERVER | CLI_CURVE_CLIENT |
              CLI_CURVE_CLIENT_SECRET | CLI_CURVE_LISTEN | CLI_STATS |
              CLI_MAX_SUBS,
    .input_help = "publisher to connect to, or bind:EP to bind for\n"
                  "publishers that dial in (repeatable; default\n"
                  "tcp://127.0.0.1:5555), or - for a frame stream on stdin",
    .output_help = "tcp://HOST:PORT or ipc://PATH to bind (default\n"
                   "tcp://127.0.0.1:5556), connect:EP to dial another\n"
                   "relay's --listen (without CURVE), or - for a frame\n"
                   "stream on stdout",
    .variant_help = "raw (default), jpeg or h264: the variant -o - asks the\n"
                    "publisher for and writes (over ZeroMQ, downstream\n"
                    "subscribers choose)",
    .opts = opts,
    .take = take,
};

int main(int argc, char **argv)
{
    struct relay r = {.http = {.max_clients = 100,
                               .timeout_s = 10,
                               .max_streams = 1024,
                               .h264_buffer = H264HTTP_OUT_MAX,
                               .drop_after_s = DROP_AFTER_S},
                      .max_streams = 1024,
                      .drop_after_s = DROP_AFTER_S};
    struct vp_sub_opts so;
    struct vp_pub_opts po;
    struct cli_report report;
    vp_sub *sub = NULL;
    vp_pub *pub = NULL;
    struct http *http = NULL;
    int rc = EXIT_USAGE;

    vp_log_prefix(PROG);
    struct cli_prog p = prog;
    p.ctx = &r;
    if (cli_parse(&p, argc, argv, &r.c) < 0)
        return EXIT_USAGE;
    if (r.c.ninputs == 0)
        r.c.inputs[r.c.ninputs++] = "tcp://127.0.0.1:5555";
    bool listens = false;
    for (unsigned i = 0; i < r.c.ninputs; i++)
        listens |= strncmp(r.c.inputs[i], "bind:", 5) == 0;
    if (r.c.curve_allow_publishers && !listens)
        cli_no_effect("--curve-allow-publishers",
                      "no input is bound (--listen EP or -i bind:EP)");
    if (!r.c.output)
        r.c.output = "tcp://127.0.0.1:5556";
    if (r.c.ring_set && strcmp(r.c.output, "-") == 0)
        cli_no_effect("--ring", "-o - writes every frame on stdout, through "
                                "no shared memory");
    if (r.c.variant_set && strcmp(r.c.output, "-") != 0)
        cli_no_effect("--variant", "over ZeroMQ, downstream subscribers "
                                   "choose what the relay asks for");
    if (!r.http.listen &&
        (r.http.auth_file || r.http.cert_file || r.http.key_file)) {
        log_err("--http-auth, --http-cert and --http-key need --http");
        return EXIT_USAGE;
    }
    bool to_stdout = strcmp(r.c.output, "-") == 0;
    cli_sub_opts(&r.c, &so);

    so.every_frame = true;
    so.max_streams = r.max_streams;
    /* Frames for stdout are written out: payloads, not descriptors. */
    so.shm = to_stdout ? VP_SHM_OFF : VP_SHM_AUTO;
    cli_pub_opts(&r.c, &po);
    po.codec = r.c.variant; /* -o - writes what it asked for */
    po.max_streams = r.max_streams;
    if (vp_sub_open(&sub, r.c.inputs, r.c.ninputs, &so) < 0 ||
        vp_pub_open(&pub, r.c.output, &po) < 0 || vp_pub_link(pub, sub) < 0) {
        log_err("%s", vp_errmsg());
        goto out;
    }
    if (r.http.listen && http_open(&http, &r.http) < 0)
        goto out;
    cli_signals();
    cli_keep_frame_memory();
    vp_stats *st = vp_sub_stats(sub);
    const char *counters[] = {
        "shm_forwarded",   "ring_writes",           "send_bounds_raised",
        "subs_added",      "subs_removed",          "subs_refused",
        "subs_not_passed", "stream_frames_refused", "streams",
        "streams_stalled", "streams_dropped",       "stream_bytes"};
    for (unsigned i = 0; i < sizeof counters / sizeof counters[0]; i++)
        cli_stats_share(st, vp_pub_stats(pub), counters[i]);
    cli_report_init(&report, "relay", st, &r.c);
    log_info("%s%s -> %s", r.c.inputs[0], r.c.ninputs > 1 ? " ..." : "",
             r.c.output);
    cli_notify_ready("%u input%s -> %s", r.c.ninputs,
                     r.c.ninputs > 1 ? "s" : "", r.c.output);
    rc = EXIT_OK;
    int64_t dropped_ns = 0, trimmed_ns = 0;
    uint64_t gone = 0; /* subscriptions and streams ended, at the last trim */
    while (!cli_stop) {
        vp_frame *f;
        int64_t now = vp_clock_mono_ns();
        if (now - dropped_ns >= DROP_CHECK_NS) {
            /* Streams gone quiet: stalled, then forgotten. */
            dropped_ns = now;
            vp_pub_drop_idle(pub, r.drop_after_s * 1000);
            /* What clients and streams that left held goes back to the
             * system (the heap is kept for frames otherwise). */
            uint64_t removed = 0, dropped = 0;
            vp_stats_get(vp_pub_stats(pub), "subs_removed", &removed);
            vp_stats_get(vp_pub_stats(pub), "streams_dropped", &dropped);
            if (removed + dropped != gone && now - trimmed_ns >= TRIM_NS) {
                gone = removed + dropped;
                trimmed_ns = now;
                cli_give_back_memory();
            }
        }
        if (FAULT(FAULT_LOOP_STALL) && fault_step(FAULT_LOOP_STALL, 0) == 0)
            fault_hang(FAULT_LOOP_STALL); /* docs/TESTING.md */
        cli_notify_watchdog();
        if (http)
            http_sync(http, sub);
        int got = vp_sub_next(sub, WAIT_MS, &f);
        if (got == 0) {
            if (http)
                http_frame(http, f); /* before forwarding moves it */
            /* On stdout, what HTTP asked for itself is not the output's
             * (over ZeroMQ, nobody downstream subscribed to it). */
            const struct vp_frame_info *in = vp_frame_info(f);
            bool http_only =
                http && to_stdout && in->path != VP_PATH_PIPE &&
                (in->path == VP_PATH_SHM || in->codec != r.c.variant);
            int fw = http_only ? 0 : vp_pub_forward(pub, f, NULL);
            vp_frame_release(f);
            if (fw == -EPIPE)
                break; /* stdout's reader has gone: a normal end */
            if (fw == -ENOSPC)
                refused(&r);
            if (fw < 0 && fw != -EINTR && fw != -ESTALE && to_stdout) {
                log_err("%s", vp_errmsg());
                rc = EXIT_RUNTIME;
                break;
            }
        } else if (got == -ENODATA) {
            break; /* the input stream ended */
        } else if (got == -EBADMSG) {
            log_err("stdin: %s", vp_errmsg());
            rc = EXIT_RUNTIME;
            break;
        } else if (got != -ETIMEDOUT && got != -EINTR) {
            log_err("%s", vp_errmsg());
            rc = EXIT_RUNTIME;
            break;
        }
        if (cli_report_tick(&report) && http)
            http_report(http, st);
    }
    cli_notify_stopping();
    cli_report_final(&report);
out:
    http_close(http);
    vp_sub_close(sub);
    vp_pub_close(pub);
    return rc;
}
