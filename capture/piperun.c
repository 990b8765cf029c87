/* piperun.c -- capture's loop for stdout output and recorded input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "api/emit.h"
#include "util/log.h"
#include "transport/net.h"
#include "piperun.h"
#include "replay.h"
#include "api/stats.h"

struct run {
    const struct piperun_cfg *cfg;
    struct emit *out;
    struct stats st;
    uint64_t skipped;
};

/* Sends one frame; 1 when stdout's reader has gone, -1 on failure. */
static int put_frame(struct run *r, const struct frame_hdr *h, const uint8_t *d)
{
    uint64_t bytes = 0;
    int rc = emit_frame(r->out, h, d, &bytes);
    if (rc == -EPIPE)
        return 1;
    if (rc < 0)
        return -1;
    stats_frame(&r->st, h, bytes);
    return 0;
}

static bool more(struct run *r)
{
    return !cli_stop && (!r->cfg->frames || r->st.frames < r->cfg->frames);
}

static int run_replay(struct run *r, struct replay *rp)
{
    struct frame_hdr h;
    const uint8_t *d;
    int64_t due;

    while (more(r)) {
        int rc = replay_next(rp, &h, &d, &due);
        if (rc == -EINTR)
            continue;
        if (rc != 0)
            return rc > 0 ? EXIT_OK : EXIT_RUNTIME;
        emit_wait_until(r->out, due);
        if (cli_stop)
            break;
        if (r->cfg->stream)
            snprintf(h.stream, sizeof h.stream, "%s", r->cfg->stream);
        /* A replay is a new capture: its age starts now. */
        frame_stamp(&h);
        if ((rc = put_frame(r, &h, d)) != 0)
            return rc > 0 ? EXIT_OK : EXIT_RUNTIME;
        stats_tick(&r->st);
    }
    return EXIT_OK;
}

static int run_source(struct run *r, struct source *src)
{
    struct frame_hdr h = {.version = FRAME_SCHEMA_VERSION, .enc = ENC_RAW};
    double fps;
    uint64_t seq = 0;
    int rc = EXIT_OK;

    source_format(src, &h.width, &h.height, &h.fmt, &fps);
    if (r->cfg->req.fps >= 0)
        fps = r->cfg->req.fps;
    h.stride = h.width * pixfmt_bpp(h.fmt);
    h.size = (uint64_t)h.stride * h.height;
    snprintf(h.stream, sizeof h.stream, "%s",
             r->cfg->stream ? r->cfg->stream : "cam0");
    uint8_t *buf = malloc(h.size);
    if (!buf) {
        log_err("cannot allocate a %ux%u frame", h.width, h.height);
        return EXIT_RUNTIME;
    }
    int64_t period = fps > 0 ? (int64_t)(1e9 / fps) : 0;
    int64_t next = clock_mono_ns();
    while (more(r)) {
        if (period) {
            emit_wait_until(r->out, next);
            next += period;
            /* Far behind: resume from now rather than burst. */
            if (clock_mono_ns() - next > 2 * period) {
                r->skipped++;
                next = clock_mono_ns() + period;
            }
        }
        if (cli_stop)
            break;
        int got = source_read(src, buf, h.stride, seq);
        if (got != 0) {
            rc = got > 0 ? EXIT_OK : EXIT_RUNTIME;
            break;
        }
        h.seq = seq++;
        frame_stamp(&h);
        if ((got = put_frame(r, &h, buf)) != 0) {
            rc = got > 0 ? EXIT_OK : EXIT_RUNTIME;
            break;
        }
        stats_tick(&r->st);
    }
    free(buf);
    return rc;
}

int piperun(const struct piperun_cfg *cfg)
{
    struct run r = {.cfg = cfg};
    struct replay *rp = NULL;
    struct source *src = NULL;
    char err[256];
    int rc = EXIT_USAGE;
    bool to_pipe = strcmp(cfg->output, "-") == 0;

    if (cfg->spec.kind == SRC_STREAM) {
        rp = replay_open(cfg->spec.arg, cfg->req.loop, cfg->speed, cfg->req.fps,
                         err, sizeof err);
    } else {
        src = source_open(&cfg->spec, &cfg->req, err, sizeof err);
    }
    if (!rp && !src) {
        log_err("%s", err);
        goto out;
    }
    if (!(r.out = emit_new(cfg->output, cfg->codec, cfg->quality,
                           cfg->ring_slots, err, sizeof err))) {
        log_err("%s", err);
        goto out;
    }
    stats_init(&r.st, "capture", cfg->stats_json);
    r.st.path = to_pipe || strcmp(cfg->spec.arg, "-") == 0 ? "pipe" : "tcp";
    stats_add_counter(&r.st, "late_skips", &r.skipped);
    log_info("%s -> %s%s%s", cfg->spec.arg, to_pipe ? "stdout (" : "",
             to_pipe ? frame_enc_name(cfg->codec) : cfg->output,
             to_pipe ? ")" : "");
    rc = rp ? run_replay(&r, rp) : run_source(&r, src);
    stats_final(&r.st);
out:
    emit_free(r.out);
    net_term();
    replay_free(rp);
    source_free(src);
    return rc;
}
