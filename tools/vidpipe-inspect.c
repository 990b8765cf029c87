/* vidpipe-inspect.c -- print each frame header as one JSON line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/log.h"
#include "vidpipe.h"

#define PROG "vidpipe-inspect"

enum { OPT_VARIANT = 256 };

struct inspect {
    struct cli_common c;
    const char *variant; /* "raw", "jpeg", "h264", "shm", or NULL: raw */
};

static const struct cli_opt opts[] = {
    {"variant", OPT_VARIANT, "V",
     "raw, jpeg, h264 or shm: the variant to subscribe to\n(default raw); "
     "on stdin, only frames of this encoding"},
    {0},
};

static int take(void *ctx, int id, const char *arg)
{
    struct inspect *in = ctx;
    enum vp_codec c;
    if (id != OPT_VARIANT)
        return -1;
    if (strcmp(arg, "shm") != 0 && vp_codec_parse(arg, &c) < 0) {
        log_err("--variant %s: expected raw, jpeg, h264 or shm", arg);
        return -1;
    }
    in->variant = arg;
    return 0;
}

static const struct cli_prog prog = {
    .name = PROG,
    .usage = "[-i ENDPOINT] [options]",
    .about = "Prints one JSON line per frame header (the payload as its "
             "length),\nfor jq and debugging.",
    .common = CLI_INPUT | CLI_STREAM | CLI_FRAMES,
    .input_help = "tcp://HOST:PORT or ipc://PATH to subscribe to "
                  "(default\ntcp://127.0.0.1:5556), or - for a frame stream "
                  "on stdin",
    .stream_help = "only this stream (default: any)",
    .frames_help = "exit after N frames",
    .opts = opts,
    .take = take,
};

/* True if f is of the encoding asked for (a byte stream carries every
 * encoding; over ZeroMQ the subscription chose). */
static bool wanted(const struct inspect *in, vp_frame *f)
{
    const struct vp_frame_info *h = vp_frame_info(f);
    if (in->c.stream && strcmp(in->c.stream, h->stream) != 0)
        return false;
    if (!in->variant || h->path != VP_PATH_PIPE)
        return true;
    enum vp_codec c = VP_CODEC_RAW;
    vp_codec_parse(in->variant, &c);
    return h->codec == c;
}

int main(int argc, char **argv)
{
    struct inspect in = {0};
    struct vp_sub_opts so;
    char line[1024];
    vp_sub *sub;
    uint64_t n = 0;
    int rc = EXIT_OK;

    vp_log_prefix(PROG);
    struct cli_prog p = prog;
    p.ctx = &in;
    if (cli_parse(&p, argc, argv, &in.c) < 0)
        return EXIT_USAGE;
    const char *url = in.c.ninputs ? in.c.inputs[0] : "tcp://127.0.0.1:5556";
    bool piped = strcmp(url, "-") == 0;
    if (piped && in.variant && strcmp(in.variant, "shm") == 0) {
        log_err("--variant shm: a byte stream carries payloads, not shm");
        return EXIT_USAGE;
    }
    vp_sub_opts_init(&so);
    so.stream = in.c.stream;
    so.every_frame = true;
    so.shm = VP_SHM_OFF;
    if (in.variant && strcmp(in.variant, "shm") == 0)
        so.shm = VP_SHM_ONLY;
    else if (in.variant)
        vp_codec_parse(in.variant, &so.codec);
    if (vp_sub_open(&sub, &url, 1, &so) < 0) {
        log_err("%s", vp_errmsg());
        return EXIT_USAGE;
    }
    cli_signals();
    while (!cli_stop && (!in.c.frames || n < in.c.frames)) {
        vp_frame *f;
        int got = vp_sub_next(sub, 200, &f);
        if (got == -ETIMEDOUT || got == -EINTR)
            continue;
        if (got == -ENODATA)
            break;
        if (got < 0) {
            log_err("%s%s", piped ? "stdin: " : "", vp_errmsg());
            rc = EXIT_RUNTIME;
            break;
        }
        bool print = wanted(&in, f) && vp_frame_json(f, line, sizeof line) > 0;
        vp_frame_release(f);
        if (!print)
            continue;
        if (printf("%s\n", line) < 0 || fflush(stdout) != 0)
            break; /* stdout is gone */
        n++;
    }
    vp_sub_close(sub);
    return rc;
}
