/* main.c -- vidpipe-capture: read frames from a source and publish them.
 *
 * One loop for every source.  A picture source (test:, a device, a file,
 * raw:-) draws each frame straight into the buffer the publisher lends:
 * a slot of the stream's shm ring while a same-host subscriber wants
 * descriptors, else a buffer ZeroMQ sends without copying; the publisher
 * then makes each other variant somebody wants, once.  A recording (or a
 * frame stream on stdin) already holds whole frames: each is forwarded at
 * its recorded pace.  Over ZeroMQ nothing is made while nobody wants it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/notify.h"
#include "cli/spec.h"
#include "replay.h"
#include "source.h"
#include "util/fault.h"
#include "util/log.h"
#include "vidpipe.h"

#define PROG "vidpipe-capture"
#define BACKPRESSURE_MS 1000 /* --fps 0: longest wait for a subscriber */

enum {
    OPT_SIZE = 256,
    OPT_FPS,
    OPT_PIX_FMT,
    OPT_LOOP,
    OPT_SPEED,
    OPT_BITRATE,
    OPT_GOP,
    OPT_CODEC,
    OPT_QUALITY,
};

struct capture {
    struct cli_common c;
    struct source_req req;
    int quality;
    enum vp_codec codec; /* of a byte-stream output */
    bool codec_set, quality_set, speed_set;
    double speed;
    uint64_t bitrate, gop;
    struct source *src;
    struct replay *replay;
    vp_pub *pub;
    vp_stats *st;
    struct cli_report report;
    int64_t period, next;
    uint64_t seq, skipped;
};

static const struct cli_opt opts[] = {
    {"size", OPT_SIZE, "WxH",
     "frame size (test: default 1280x720; a device is asked\nfor it)"},
    {"fps", OPT_FPS, "N",
     "the rate frames are made and sent at (test: default 30;\n"
     "a file or a recording its own; 0 = as fast as the\n"
     "slowest subscriber takes them)"},
    {"pix-fmt", OPT_PIX_FMT, "F",
     "the pixel format frames are read or made in: bgr24\n"
     "(default), rgb24, gray, yuv420p, nv12, yuyv422; of raw:-\n"
     "and test:, and a V4L2 device is captured in it as it\n"
     "gives it (without: through OpenCV, as bgr24)"},
    {"loop", OPT_LOOP, NULL, "start a file again at its end"},
    {"speed", OPT_SPEED, "X",
     "replay a recording X times as fast (default "
     "1)"},
    {"codec", OPT_CODEC, "C",
     "raw (default), jpeg or h264: the encoding written on\n"
     "-o - (over ZeroMQ each subscriber chooses its own,\n"
     "with --variant)"},
    {"quality", OPT_QUALITY, "Q",
     "JPEG quality 1..100 (default 80): made only while\n"
     "somebody subscribes to jpeg, or for -o - --codec jpeg"},
    {"bitrate", OPT_BITRATE, "RATE",
     "H.264 bit rate, e.g. 4M or 800k (default 4M): made only\nwhile "
     "somebody subscribes to h264"},
    {"gop", OPT_GOP, "N",
     "H.264 frames between regular keyframes (default 60)"},
    {0},
};

static int take(void *ctx, int id, const char *arg)
{
    struct capture *cap = ctx;
    uint64_t u;

    switch (id) {
    case OPT_SIZE:
        if (cli_size(arg, &cap->req.width, &cap->req.height) < 0) {
            log_err("--size %s: expected WxH, each 1..16384", arg);
            return -1;
        }
        return 0;
    case OPT_FPS:
        if (cli_double(arg, 0, 1000, &cap->req.fps) < 0) {
            log_err("--fps %s: expected a number 0..1000", arg);
            return -1;
        }
        return 0;
    case OPT_PIX_FMT:
        if (!(cap->req.fmt = vp_pixfmt_parse(arg))) {
            log_err("--pix-fmt %s: expected bgr24, rgb24, gray, yuv420p, nv12 "
                    "or yuyv422",
                    arg);
            return -1;
        }
        return 0;
    case OPT_LOOP:
        cap->req.loop = true;
        return 0;
    case OPT_SPEED:
        if (cli_double(arg, 0.01, 1000, &cap->speed) < 0) {
            log_err("--speed %s: expected a number 0.01..1000", arg);
            return -1;
        }
        cap->speed_set = true;
        return 0;
    case OPT_CODEC:
        if (cli_codec("--codec", arg, &cap->codec) < 0)
            return -1;
        cap->codec_set = true;
        return 0;
    case OPT_BITRATE:
        if (cli_rate(arg, 10000, 200000000, &cap->bitrate) < 0) {
            log_err("--bitrate %s: expected a rate 10k..200M", arg);
            return -1;
        }
        return 0;
    case OPT_GOP:
        if (cli_uint(arg, 1, 10000, &cap->gop) < 0) {
            log_err("--gop %s: expected 1..10000 frames", arg);
            return -1;
        }
        return 0;
    case OPT_QUALITY:
        if (cli_uint(arg, 1, 100, &u) < 0) {
            log_err("--quality %s: expected 1..100", arg);
            return -1;
        }
        cap->quality = (int)u;
        cap->quality_set = true;
        return 0;
    default:
        return -1;
    }
}

static const struct cli_prog prog = {
    .name = PROG,
    .usage = "[-i SOURCE] [-o ENDPOINT] [options]",
    .about = "Reads video from SOURCE and publishes it as vidpipe frames.",
    .common = CLI_INPUT | CLI_OUTPUT | CLI_STREAM | CLI_FRAMES | CLI_RING |
              CLI_NO_SHM | CLI_CURVE_SERVER | CLI_CURVE_CLIENT | CLI_STATS |
              CLI_MAX_SUBS,
    .input_arg = "SOURCE",
    .input_help = "test: (default), /dev/videoN (or v4l2:DEVICE), a video\n"
                  "file or URL, raw:- (raw frames on stdin), a recording\n"
                  "(.vpk) or - (a frame stream on stdin)",
    .output_help = "tcp://HOST:PORT or ipc://PATH to bind, connect:EP to\n"
                   "dial a relay's --listen EP, or - for a frame stream\n"
                   "on stdout (default tcp://127.0.0.1:5555)",
    .curve_key_help = "with -o connect:EP, the .pub of the relay it dials:\n"
                      "use CURVE (with --curve-secret; docs/GATEWAY.md)",
    .stream_help = "stream name (default cam0; a recording keeps its own)",
    .frames_help = "stop after publishing N frames",
    .opts = opts,
    .take = take,
};

/* Fault capture_step: the next frame is due when the test writes a byte
 * to the FIFO, and somebody wants it (docs/TESTING.md).  The publisher is
 * served and the report kept meanwhile.  False when a stop is asked for. */
static bool step(struct capture *cap)
{
    while (!cli_stop) {
        bool wanted =
            !cap->src || !source_on_demand(cap->src) || vp_pub_wanted(cap->pub);
        if (wanted && fault_step(FAULT_CAPTURE_STEP, 0) == 0)
            return true;
        vp_pub_wait_until(cap->pub, vp_clock_mono_ns() + 1000000);
        cli_report_tick(&cap->report);
        cli_notify_watchdog();
    }
    return false;
}

/* Sleeps until the next frame is due; false when a stop is asked for.
 * Far behind (a stall, a slow source), it resumes from now rather than
 * bursting to catch up. */
static bool pace(struct capture *cap)
{
    if (FAULT(FAULT_CAPTURE_STEP))
        return step(cap);
    if (!cap->period)
        return !cli_stop;
    vp_pub_wait_until(cap->pub, cap->next);
    cap->next += cap->period;
    int64_t now = vp_clock_mono_ns();
    if (now - cap->next > 2 * cap->period) {
        cap->skipped++;
        cap->next = now + cap->period;
    }
    return !cli_stop;
}

/* One picture: drawn into the loaned buffer and committed.  0, 1 at the
 * end of the input, -1 on failure. */
static int picture(struct capture *cap)
{
    uint32_t w, h;
    enum vp_pixfmt fmt;
    struct vp_image img;
    double fps;

    if (!pace(cap))
        return 1;
    /* Nobody wants this frame: make none.  seq counts frames made, so a
     * receiver's seq gaps are frames it lost. */
    if (source_on_demand(cap->src) && !vp_pub_wanted(cap->pub)) {
        if (!cap->period)
            usleep(1000);
        return 0;
    }
    source_format(cap->src, &w, &h, &fmt, &fps);
    int rc = vp_pub_loan(cap->pub, w, h, fmt, &img);
    if (rc == -EAGAIN)
        return 0; /* every buffer in flight: a drop, counted */
    if (rc < 0) {
        log_err("%s", vp_errmsg());
        return -1;
    }
    if ((rc = source_read(cap->src, &img, cap->seq)) != 0) {
        vp_pub_cancel(cap->pub);
        return rc;
    }
    if ((rc = vp_pub_commit(cap->pub, cap->seq)) == -EPIPE)
        return 1; /* stdout's reader has gone: a normal end */
    if (rc < 0 && rc != -EINTR) {
        log_err("%s", vp_errmsg());
        return -1;
    }
    if (FAULT(FAULT_CAPTURE_STEP))
        log_warn("fault capture_step: frame %llu made",
                 (unsigned long long)cap->seq);
    cap->seq++;
    return 0;
}

/* One recorded frame, forwarded when it is due. */
static int recorded(struct capture *cap)
{
    struct vp_fwd as = {
        .stream = cap->c.stream, .restamp = true, .reseq = true};
    int64_t due;
    vp_frame *f;

    int rc = replay_next(cap->replay, &f, &as.seq, &due);
    if (rc == -EINTR)
        return cli_stop ? 1 : 0;
    if (rc != 0)
        return rc;
    if (cap->period || FAULT(FAULT_CAPTURE_STEP))
        pace(cap);
    else
        vp_pub_wait_until(cap->pub, due);
    /* Fault pace_trace: the schedule, for a test to check exactly rather
     * than time it (docs/TESTING.md). */
    if (FAULT(FAULT_PACE_TRACE))
        log_warn("fault pace_trace: frame %llu due %lld",
                 (unsigned long long)as.seq, (long long)due);
    /* A replay is a new capture: its age starts now. */
    rc = cli_stop ? 0 : vp_pub_forward(cap->pub, f, &as);
    vp_frame_release(f);
    if (rc == -EPIPE || cli_stop)
        return 1;
    if (rc < 0 && rc != -EINTR) {
        log_err("%s", vp_errmsg());
        return -1;
    }
    return 0;
}

static int run(struct capture *cap)
{
    uint64_t frames;

    while (!cli_stop) {
        if (cap->c.frames && vp_stats_get(cap->st, "frames", &frames) == 0 &&
            frames >= cap->c.frames)
            break;
        int rc = cap->replay ? recorded(cap) : picture(cap);
        if (rc > 0)
            return EXIT_OK;
        if (rc < 0)
            return EXIT_RUNTIME;
        cli_report_tick(&cap->report);
        cli_notify_watchdog();
    }
    return EXIT_OK;
}

/* Opens the source; false (logged) if it cannot be. */
static bool open_source(struct capture *cap, const struct source_spec *spec,
                        double *fps)
{
    char err[512];
    uint32_t w, h;
    enum vp_pixfmt fmt;

    if (spec->kind == SRC_STREAM) {
        /* A recording keeps its pace unless --fps says otherwise. */
        cap->replay = replay_open(spec->arg, cap->req.loop, cap->speed,
                                  cap->req.fps, err, sizeof err);
        *fps = 0; /* the replay's own pace, or the rate it was asked for */
        if (!cap->replay)
            log_err("%s", err);
        return cap->replay != NULL;
    }
    if (!(cap->src = source_open(spec, &cap->req, err, sizeof err))) {
        log_err("%s", err);
        return false;
    }
    source_format(cap->src, &w, &h, &fmt, fps);
    if (cap->req.fps >= 0)
        *fps = cap->req.fps;
    return true;
}

/* Warns of each option given where it does nothing. */
static void check_effects(const struct capture *cap,
                          const struct source_spec *spec)
{
    bool piped = strcmp(cap->c.output, "-") == 0;
    bool replay = spec->kind == SRC_STREAM;
    bool file = spec->kind == SRC_OPENCV;

    if ((cap->c.ring_set || cap->c.no_shm) && piped)
        cli_no_effect(cap->c.ring_set ? "--ring" : "--no-shm",
                      "-o - writes every frame on stdout, through no "
                      "shared memory");
    if (cap->codec_set && !piped)
        cli_no_effect("--codec", "it is the encoding written on -o -; "
                                 "ZeroMQ subscribers choose theirs "
                                 "(--variant)");
    if (cap->quality_set && piped && cap->codec != VP_CODEC_JPEG)
        cli_no_effect("--quality", "-o - writes no JPEG without "
                                   "--codec jpeg");
    if ((cap->bitrate || cap->gop) && piped && cap->codec != VP_CODEC_H264)
        cli_no_effect(cap->bitrate ? "--bitrate" : "--gop",
                      "-o - writes no H.264 without --codec h264");
    if (cap->req.fmt && (replay || file))
        cli_no_effect("--pix-fmt",
                      replay ? "a recording keeps its frames' format"
                             : "a file or URL is read as bgr24 (OpenCV)");
    if ((cap->req.width || cap->req.height) && replay)
        cli_no_effect("--size", "a recording keeps its frames' size");
    if (cap->req.loop && !replay && !file)
        cli_no_effect("--loop", "only a file or a recording has an end to "
                                "start again from");
    if (cap->speed_set && !replay)
        cli_no_effect("--speed", "it replays a recording (.vpk or -) "
                                 "faster; --fps paces other sources");
}

/* What runs, once it does. */
static void say_running(const struct capture *cap,
                        const struct source_spec *spec, double fps)
{
    uint32_t w, h;
    enum vp_pixfmt fmt;
    double own;

    if (cap->replay) {
        log_info("%s -> %s", spec->arg, cap->c.output);
        return;
    }
    source_format(cap->src, &w, &h, &fmt, &own);
    log_info("%s %ux%u %s at %.3g fps -> %s (stream %s)", spec->arg, w, h,
             vp_pixfmt_name(fmt), fps, cap->c.output,
             cap->c.stream ? cap->c.stream : "cam0");
}

int main(int argc, char **argv)
{
    struct capture cap = {.req.fps = -1, .quality = 80, .speed = 1};
    struct source_spec spec;
    struct vp_pub_opts po;
    const char *why;
    double fps;
    int rc = EXIT_USAGE;

    vp_log_prefix(PROG);
    struct cli_prog p = prog;
    p.ctx = &cap;
    if (cli_parse(&p, argc, argv, &cap.c) < 0)
        return EXIT_USAGE;
    const char *input = cap.c.ninputs ? cap.c.inputs[0] : "test:";
    if (!cap.c.output)
        cap.c.output = "tcp://127.0.0.1:5555";
    if (source_parse(input, &spec, &why) < 0) {
        log_err("-i %s: %s", input, why);
        return EXIT_USAGE;
    }
    check_effects(&cap, &spec);
    cli_signals();
    cli_keep_frame_memory();
    if (!open_source(&cap, &spec, &fps))
        goto out;
    cli_pub_opts(&cap.c, &po);
    if (cap.c.ncurve_servers > 1) {
        log_err("--curve-server-key: one for the relay -o dials");
        goto out;
    }
    if (cap.c.ncurve_servers) {
        po.curve_secret = cap.c.curve_secret;
        po.curve_server_key = cap.c.curve_servers[0];
    }
    po.jpeg_quality = cap.quality;
    po.codec = cap.codec;
    if (cap.bitrate)
        po.h264_bitrate = (uint32_t)cap.bitrate;
    if (cap.gop)
        po.h264_gop = (uint32_t)cap.gop;
    if (fps > 0)
        po.fps = fps;
    /* Unpaced, the subscribers set the pace: frames they have no room
     * for are not made at all, rather than made and dropped at their
     * queues. */
    cap.period = fps > 0 ? (int64_t)(1e9 / fps) : 0;
    if (!cap.period && !cap.replay)
        po.backpressure_ms = BACKPRESSURE_MS;
    if (vp_pub_open(&cap.pub, cap.c.output, &po) < 0) {
        log_err("%s", vp_errmsg());
        goto out;
    }
    cap.st = vp_pub_stats(cap.pub);
    cli_stats_add(cap.st, "late_skips", &cap.skipped);
    cli_report_init(&cap.report, "capture", cap.st, &cap.c);
    say_running(&cap, &spec, fps);
    cli_notify_ready("%s -> %s", input, cap.c.output);
    cap.next = vp_clock_mono_ns();
    rc = run(&cap);
    cli_notify_stopping();
    cli_report_final(&cap.report);
out:
    vp_pub_close(cap.pub);
    replay_free(cap.replay);
    source_free(cap.src);
    return rc;
}
