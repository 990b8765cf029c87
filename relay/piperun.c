/* piperun.c -- relay between a byte stream and ZeroMQ, or two streams. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "cli/cli.h"
#include "api/emit.h"
#include "util/log.h"
#include "transport/net.h"
#include "piperun.h"
#include "api/stats.h"
#include "contract/stream.h"
#include "transport/xsub.h"

struct relay {
    const struct piperun_cfg *cfg;
    struct stream_reader *in; /* or sub */
    struct sub *sub;
    struct emit *out; /* or stdout */
    struct stats st;
    struct log_limit bad_log;
};

/* Passes one frame on; 1 when stdout's reader has gone, -1 on failure. */
static int put_frame(struct relay *r, const struct frame_hdr *h,
                     const uint8_t *data)
{
    if (!r->out) {
        int rc = stream_write(STDOUT_FILENO, h, data, h->size);
        if (rc == -EPIPE)
            return 1;
        if (rc < 0 && rc != -EINTR) {
            log_err("writing to stdout: %s", strerror(-rc));
            return -1;
        }
        stats_frame(&r->st, h, rc == 0 ? h->size : 0);
        return 0;
    }
    uint64_t bytes = 0;
    if (emit_frame(r->out, h, data, &bytes) < 0)
        return -1;
    stats_frame(&r->st, h, bytes);
    return 0;
}

static int from_stdin(struct relay *r)
{
    struct frame_hdr h;
    const uint8_t *data;

    while (!cli_stop) {
        int rc = stream_read(r->in, &h, &data);
        if (rc == -EINTR)
            continue;
        if (rc == STREAM_EOF)
            return EXIT_OK;
        if (rc < 0) {
            r->st.bad++;
            log_err("stdin: %s", stream_reader_error(r->in));
            return EXIT_RUNTIME;
        }
        if ((rc = put_frame(r, &h, data)) != 0)
            return rc > 0 ? EXIT_OK : EXIT_RUNTIME;
        stats_tick(&r->st);
    }
    return EXIT_OK;
}

static int from_zmq(struct relay *r)
{
    zmq_pollitem_t it = {sub_socket(r->sub), 0, ZMQ_POLLIN, 0};
    struct sub_frame f;
    const char *why;
    int rc = EXIT_OK;

    sub_frame_init(&f);
    while (!cli_stop) {
        if (zmq_poll(&it, 1, 200) < 0 && errno != EINTR)
            break;
        for (;;) {
            int got = sub_read(r->sub, &f, &why);
            if (got == -EBADMSG) {
                r->st.bad++;
                log_limited(&r->bad_log, "dropped a bad message: %s", why);
                continue;
            }
            if (got < 0 || !f.data) /* nothing more, or a descriptor */
                break;
            if ((got = put_frame(r, &f.hdr, f.data)) != 0) {
                rc = got > 0 ? EXIT_OK : EXIT_RUNTIME;
                goto out;
            }
        }
        stats_tick(&r->st);
    }
out:
    sub_frame_fini(&f);
    return rc;
}

int piperun(const struct piperun_cfg *cfg)
{
    struct relay r = {.cfg = cfg};
    char err[256];
    int rc = EXIT_USAGE;
    bool in_pipe = strcmp(cfg->inputs[0], "-") == 0;

    if (in_pipe) {
        if (!(r.in = stream_reader_new(STDIN_FILENO, 0))) {
            log_err("out of memory");
            return EXIT_RUNTIME;
        }
    } else if (!(r.sub = sub_new(cfg->inputs, cfg->ninputs, err, sizeof err))) {
        log_err("%s", err);
        goto out;
    } else {
        sub_subscribe(r.sub, cfg->variant, NULL, true);
    }
    if (strcmp(cfg->output, "-") != 0 &&
        !(r.out = emit_new(cfg->output, ENC_RAW, 90, cfg->ring_slots, err,
                           sizeof err))) {
        log_err("%s", err);
        goto out;
    }
    stats_init(&r.st, "relay", cfg->stats_json);
    r.st.path = "pipe";
    log_info("%s%s -> %s", in_pipe ? "stdin" : cfg->inputs[0],
             cfg->ninputs > 1 ? " ..." : "", r.out ? cfg->output : "stdout");
    rc = in_pipe ? from_stdin(&r) : from_zmq(&r);
    stats_final(&r.st);
out:
    stream_reader_free(r.in);
    sub_free(r.sub);
    emit_free(r.out);
    net_term();
    return rc;
}
