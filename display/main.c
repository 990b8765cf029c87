/* main.c -- vidpipe-display: subscribe to a stream and show it.
 *
 * The subscriber hands over the newest frame there is (frames the sink
 * had no time for count as drops), with its pixels in place: in the
 * publisher's shm ring when it is on this host, else in the received
 * payload.  Pixels in a ring may be overwritten while they are used, so
 * the null sink checks afterwards that they were intact, and every sink
 * that keeps or shows them gets a copy taken and checked first: nothing
 * overwritten is ever shown, verified or written as good.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/spec.h"
#include "sink.h"
#include "util/fault.h"
#include "util/log.h"
#include "vidpipe.h"
#include "util/mem.h"

#define PROG "vidpipe-display"
#define TAKE_MS 20 /* the window's events are served this often */

enum {
    OPT_TIMEOUT = 't',
    OPT_NO_VERIFY = 256,
    OPT_SINK_DELAY,
    OPT_OUT_PIX_FMT,
};

struct display {
    struct cli_common c;
    double timeout_s;
    uint64_t delay_ms;
    enum vp_pixfmt raw_fmt; /* of raw:- */
    bool verify;
    vp_sub *sub;
    vp_stats *st;
    struct cli_report report;
    struct sink *sink;
    enum sink_use use;
    uint8_t *copy; /* shm pixels copied out for a sink that keeps them */
    size_t copy_cap;
    uint64_t verified, mismatch;
    bool pattern_seen; /* a test: frame has verified: judge them all now */
    bool quit;         /* the window asked to quit while a frame was held */
};

static const struct cli_opt opts[] = {
    {"timeout", 't', "S", "exit 1 when no frame came for S seconds"},
    {"no-verify", OPT_NO_VERIFY, NULL, "do not check test: frames' pixels"},
    {"sink-delay", OPT_SINK_DELAY, "MS",
     "spend MS ms more per frame (simulates a slow sink)"},
    {"out-pix-fmt", OPT_OUT_PIX_FMT, "F",
     "the pixel format raw:- writes: bgr24 (default), rgb24,\n"
     "gray, yuv420p, nv12 or yuyv422 (frames of another\n"
     "format are converted)"},
    {0},
};

static int take(void *ctx, int id, const char *arg)
{
    struct display *d = ctx;

    switch (id) {
    case OPT_TIMEOUT:
        if (cli_double(arg, 0.001, 1e6, &d->timeout_s) < 0) {
            log_err("--timeout %s: expected seconds > 0", arg);
            return -1;
        }
        return 0;
    case OPT_NO_VERIFY:
        d->verify = false;
        return 0;
    case OPT_SINK_DELAY:
        if (cli_uint(arg, 0, 60000, &d->delay_ms) < 0) {
            log_err("--sink-delay %s: expected 0..60000 ms", arg);
            return -1;
        }
        return 0;
    case OPT_OUT_PIX_FMT:
        if (!(d->raw_fmt = vp_pixfmt_parse(arg))) {
            log_err(
                "--out-pix-fmt %s: expected bgr24, rgb24, gray, yuv420p, nv12 "
                "or yuyv422",
                arg);
            return -1;
        }
        return 0;
    default:
        return -1;
    }
}

static const struct cli_prog prog = {
    .name = PROG,
    .usage = "[-i ENDPOINT] [-o SINK] [options]",
    .about = "Subscribes to vidpipe frames and shows, writes or counts them.",
    .common = CLI_INPUT | CLI_INPUTS | CLI_OUTPUT | CLI_STREAM | CLI_VARIANT |
              CLI_FRAMES | CLI_NO_SHM | CLI_CURVE_CLIENT | CLI_STATS,
    .input_help = "publisher to connect to (repeatable; default\n"
                  "tcp://127.0.0.1:5556), or - for a frame stream on stdin",
    .output_arg = "SINK",
    .output_help = "window (default when $DISPLAY is set), null (stats\n"
                   "only; default otherwise), png:DIR, a .mp4/.mkv file\n"
                   "(timed by the frames' capture times), a .ts file or\n"
                   "an rtsp://, rtmp:// or srt:// URL (H.264 muxed),\n"
                   "raw:- (raw pixels on stdout, --out-pix-fmt) or -\n"
                   "(a frame stream on stdout)",
    .variant_help = "raw (default), jpeg or h264: the variant of the stream\n"
                    "to ask the publisher for (h264 into a file or\n"
                    "server: muxed as it came, not encoded again)",
    .stream_help = "show only this stream (default: any)",
    .opts = opts,
    .take = take,
    .epilog = "In the window: q, Esc or Enter quits; o toggles the overlay.\n",
};

/* 1 if img shows the frame's seq, -1 if it shows something else, 0
 * unchecked: the stream is not known to be a test: one (a camera's frames
 * are not mismatches) until a frame has shown its seq. */
static int verify(struct display *d, const struct vp_frame_info *h,
                  const struct vp_image *img)
{
    uint64_t seq;
    if (!d->verify || h->width < 64 || h->height < 48)
        return 0;
    if (vp_pattern_read(img, &seq) == 0 && seq == h->seq) {
        d->pattern_seen = true;
        return 1;
    }
    return d->pattern_seen ? -1 : 0;
}

/* The pixels of f as the sink wants them: in place (1), or copied out
 * of a ring and checked intact (0).  -1 when there is nothing to show
 * (an undecodable payload or an overwritten slot: counted). */
static int pixels(struct display *d, vp_frame *f, struct vp_image *img)
{
    if (vp_frame_image(f, img) < 0)
        return -1;
    if (d->use != SINK_COPY || vp_frame_info(f)->path != VP_PATH_SHM)
        return 1;
    size_t need = vp_image_layout(img, img->width, img->height, img->fmt,
                                  img->stride[0], NULL);
    if (!mem_reserve(&d->copy, &d->copy_cap, need))
        return -1;
    vp_image_layout(img, img->width, img->height, img->fmt, img->stride[0],
                    d->copy);
    return vp_frame_copy(f, img) < 0 ? -1 : 0;
}

/* Fault display_step: the sink is done with f (its pixels may still be in
 * use in place); the display takes no other frame until the test writes a
 * byte to the FIFO, and keeps reporting, and its window drawn, meanwhile
 * (docs/TESTING.md). */
static void wait_step(struct display *d, vp_frame *f)
{
    const struct vp_frame_info *h = vp_frame_info(f);
    d->quit = sink_poll(d->sink) == SINK_QUIT; /* a window: drawn now */
    log_warn("fault display_step: frame %llu (%s) waits for a step",
             (unsigned long long)h->seq,
             h->path == VP_PATH_SHM ? "shm" : "payload");
    while (!cli_stop && !d->quit &&
           fault_step(FAULT_DISPLAY_STEP, 20) == -EAGAIN) {
        vp_sub_stats(d->sub); /* the receiver's counts, for the report */
        cli_report_tick(&d->report);
        d->quit = sink_poll(d->sink) == SINK_QUIT;
    }
}

/* Shows one frame.  0 to go on, 1 for a normal end, -1 on failure. */
static int show(struct display *d, vp_frame *f)
{
    const struct vp_frame_info *h = vp_frame_info(f);
    struct vp_image img;

    /* A sink that takes the frame itself needs no pixels, but to verify. */
    bool look = d->use != SINK_FRAME || d->verify;
    int in_place = look ? pixels(d, f, &img) : 1;
    if (in_place < 0)
        return 0;
    int v = look ? verify(d, h, &img) : 0;
    int wr = sink_write(d->sink, f, &img);
    if (wr == SINK_QUIT) /* stdout's reader has gone: a normal end */
        return 1;
    if (wr == -ESTALE)
        return 0; /* overwritten while written out: counted torn */
    if (wr < 0)
        return -1;
    vp_frame_shown(f); /* its age counts to here */
    if (d->delay_ms)
        usleep((useconds_t)d->delay_ms * 1000);
    if (FAULT(FAULT_DISPLAY_STEP))
        wait_step(d, f);
    /* Pixels used in place must still be the frame's now (release counts
     * it torn otherwise). */
    if (!in_place || vp_frame_intact(f)) {
        d->verified += v > 0;
        d->mismatch += v < 0;
    }
    return 0;
}

static int run(struct display *d)
{
    int64_t last = vp_clock_mono_ns();
    uint64_t frames;

    while (!cli_stop) {
        vp_frame *f;
        int rc = vp_sub_next(d->sub, TAKE_MS, &f);
        cli_report_tick(&d->report);
        if (sink_poll(d->sink) == SINK_QUIT) {
            vp_frame_release(f);
            return EXIT_OK;
        }
        if (rc == -ENODATA)
            return EXIT_OK; /* the input stream ended */
        if (rc == -EBADMSG) {
            log_err("stdin: %s", vp_errmsg());
            return EXIT_RUNTIME;
        }
        if (rc < 0) {
            if (rc != -ETIMEDOUT && rc != -EINTR) {
                log_err("%s", vp_errmsg());
                return EXIT_RUNTIME;
            }
            if (d->timeout_s > 0 &&
                vp_clock_mono_ns() - last > (int64_t)(d->timeout_s * 1e9)) {
                log_err("no frame for %.3g s", d->timeout_s);
                return EXIT_RUNTIME;
            }
            continue;
        }
        last = vp_clock_mono_ns();
        rc = show(d, f);
        vp_frame_release(f);
        if (rc)
            return rc > 0 ? EXIT_OK : EXIT_RUNTIME;
        if (d->quit)
            return EXIT_OK;
        if (d->c.frames && vp_stats_get(d->st, "frames", &frames) == 0 &&
            frames >= d->c.frames)
            break;
    }
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    struct display d = {.verify = true};
    struct vp_sub_opts so;
    struct sink_spec spec;
    const char *why;
    char err[512];
    int rc = EXIT_USAGE;

    vp_log_prefix(PROG);
    struct cli_prog p = prog;
    p.ctx = &d;
    if (cli_parse(&p, argc, argv, &d.c) < 0)
        return EXIT_USAGE;
    if (d.c.ninputs == 0)
        d.c.inputs[d.c.ninputs++] = "tcp://127.0.0.1:5556";
    if (!d.c.output) {
        const char *x = getenv("DISPLAY");
        d.c.output = x && *x ? "window" : "null";
    }
    if (sink_parse(d.c.output, &spec, &why) < 0) {
        log_err("-o %s: %s", d.c.output, why);
        return EXIT_USAGE;
    }
    /* H.264 into a file or a server is muxed as it came, never decoded
     * and encoded again: every frame is taken, in order. */
    if (spec.kind == SINK_VIDEO && d.c.variant == VP_CODEC_H264)
        spec.kind = SINK_MUX;
    if (spec.kind == SINK_MUX && !d.c.variant_set)
        d.c.variant = VP_CODEC_H264;
    if (spec.kind == SINK_MUX && d.c.variant != VP_CODEC_H264) {
        log_err("-o %s: muxes H.264: give --variant h264", d.c.output);
        return EXIT_USAGE;
    }
    if ((d.c.variant_set || d.c.no_shm) && strcmp(d.c.inputs[0], "-") == 0)
        cli_no_effect(d.c.variant_set ? "--variant" : "--no-shm",
                      "a frame stream on stdin carries what it carries");
    if (d.raw_fmt && spec.kind != SINK_RAW)
        cli_no_effect("--out-pix-fmt", "it is the format raw:- writes");
    cli_sub_opts(&d.c, &so);
    so.every_frame = spec.kind == SINK_MUX;
    if (vp_sub_open(&d.sub, d.c.inputs, d.c.ninputs, &so) < 0) {
        log_err("%s", vp_errmsg());
        return EXIT_USAGE;
    }
    cli_signals();
    cli_keep_frame_memory();
    d.st = vp_sub_stats(d.sub);
    cli_stats_add(d.st, "verified", &d.verified);
    cli_stats_add(d.st, "mismatch", &d.mismatch);
    cli_report_init(&d.report, "display", d.st, &d.c);
    if (!(d.sink = sink_new(&spec, d.raw_fmt, d.st, err, sizeof err))) {
        log_err("%s", err);
        goto out;
    }
    d.use = sink_use(d.sink);
    rc = run(&d);
    /* Counts what the receiver read since the last frame was taken, so
     * the exit line says all that came in. */
    vp_sub_stats(d.sub);
    cli_report_final(&d.report);
out:
    sink_free(d.sink);
    vp_sub_close(d.sub);
    free(d.copy);
    return rc;
}
