/* vidpipe-inspect.c -- print each frame header as one JSON line. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "cli/cli.h"
#include "transport/endpoint.h"
#include "contract/frame.h"
#include "util/log.h"
#include "transport/net.h"
#include "contract/stream.h"
#include "transport/xsub.h"

#define PROG "vidpipe-inspect"

struct opts {
    const char *input, *stream;
    enum variant variant;
    bool variant_set;
    uint64_t frames;
};

static void usage(FILE *f)
{
    fprintf(f,
        "usage: " PROG " [-i ENDPOINT] [options]\n"
        "Prints one JSON line per frame header (the payload as its length),"
        "\nfor jq and debugging.\n"
        "\n"
        "  -i, --input EP     tcp://HOST:PORT or ipc://PATH to subscribe to "
        "(default\n"
        "                     tcp://127.0.0.1:5556), or - for a frame stream "
        "on stdin\n"
        "  -s, --stream NAME  only this stream (default: any)\n"
        "      --codec C      raw, jpeg or shm: the variant to subscribe to "
        "(default raw);\n"
        "                     on stdin, only frames of this encoding\n"
        "  -n, --frames N     exit after N frames\n"
        "  -h, --help         this help\n"
        "  -V, --version      print the version\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"input", required_argument, 0, 'i'},
        {"stream", required_argument, 0, 's'},
        {"codec", required_argument, 0, 'c'},
        {"frames", required_argument, 0, 'n'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    int c;

    *o = (struct opts){.input = "tcp://127.0.0.1:5556", .variant = VAR_RAW};
    while ((c = getopt_long(argc, argv, "i:s:n:hV", lo, NULL)) != -1) {
        switch (c) {
        case 'i': o->input = optarg; break;
        case 's': o->stream = optarg; break;
        case 'c':
            if (strcmp(optarg, "raw") == 0)
                o->variant = VAR_RAW;
            else if (strcmp(optarg, "jpeg") == 0)
                o->variant = VAR_JPEG;
            else if (strcmp(optarg, "shm") == 0)
                o->variant = VAR_SHM;
            else {
                log_err("--codec %s: expected raw, jpeg or shm", optarg);
                return -1;
            }
            o->variant_set = true;
            break;
        case 'n':
            if (cli_uint(optarg, 1, UINT64_MAX, &o->frames) < 0) {
                log_err("--frames %s: expected a positive integer", optarg);
                return -1;
            }
            break;
        case 'h': usage(stdout); exit(EXIT_OK);
        case 'V': cli_version(PROG); exit(EXIT_OK);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        log_err("unexpected argument '%s' (see --help)", argv[optind]);
        return -1;
    }
    if (o->stream && !frame_stream_name_ok(o->stream)) {
        log_err("--stream %s: use 1..63 of A-Z a-z 0-9 _ . -", o->stream);
        return -1;
    }
    return 0;
}

/* Prints h as JSON; names and formats were validated by frame_decode, so
 * they need no escaping.  false when stdout is gone. */
static bool print(const struct frame_hdr *h, const char *variant,
                  size_t data_len, const uint64_t *offset)
{
    printf("{");
    if (offset)
        printf("\"offset\":%" PRIu64 ",", *offset);
    printf("\"variant\":\"%s\",\"v\":%u,\"stream\":\"%s\",\"seq\":%" PRIu64
           ",\"t_real\":%" PRId64 ",\"t_mono\":%" PRId64 ",\"age_us\":%" PRId64
           ",\"w\":%u,\"h\":%u,\"stride\":%u,\"fmt\":\"%s\",\"enc\":\"%s\","
           "\"size\":%" PRIu64 ",\"data_len\":%zu",
           variant, h->version, h->stream, h->seq, h->t_real_ns, h->t_mono_ns,
           (clock_real_ns() - h->t_real_ns) / 1000, h->width, h->height,
           h->stride, pixfmt_name(h->fmt), frame_enc_name(h->enc), h->size,
           data_len);
    if (h->has_shm)
        printf(",\"shm\":{\"name\":\"%s\",\"token\":%" PRIu64
               ",\"slot\":%u,\"gen\":%" PRIu64 "}",
               h->shm.name, h->shm.token, h->shm.slot, h->shm.gen);
    printf("}\n");
    return fflush(stdout) == 0;
}

static int from_stdin(const struct opts *o)
{
    struct stream_reader *r = stream_reader_new(STDIN_FILENO, 0);
    struct frame_hdr h;
    const uint8_t *data;
    uint64_t n = 0;
    int rc = EXIT_OK;

    if (!r) {
        log_err("out of memory");
        return EXIT_RUNTIME;
    }
    while (!cli_stop && (!o->frames || n < o->frames)) {
        int got = stream_read(r, &h, &data);
        if (got == -EINTR)
            continue;
        if (got == STREAM_EOF)
            break;
        if (got < 0) {
            log_err("stdin: %s", stream_reader_error(r));
            rc = EXIT_RUNTIME;
            break;
        }
        if ((o->stream && strcmp(o->stream, h.stream) != 0) ||
            (o->variant_set &&
             h.enc != (o->variant == VAR_JPEG ? ENC_JPEG : ENC_RAW)))
            continue;
        uint64_t off = stream_reader_frame_offset(r);
        if (!print(&h, variant_name(h.enc == ENC_JPEG ? VAR_JPEG : VAR_RAW),
                   h.size, &off))
            break;
        n++;
    }
    stream_reader_free(r);
    return rc;
}

static int from_zmq(const struct opts *o, const char *url)
{
    struct sub_frame f;
    struct log_limit bad_log = {0};
    const char *why;
    char err[256];
    uint64_t n = 0;
    struct sub *s = sub_new(&url, 1, err, sizeof err);

    if (!s) {
        log_err("%s", err);
        return EXIT_USAGE;
    }
    sub_subscribe(s, o->variant, o->stream, true);
    zmq_pollitem_t it = {sub_socket(s), 0, ZMQ_POLLIN, 0};
    sub_frame_init(&f);
    while (!cli_stop && (!o->frames || n < o->frames)) {
        if (zmq_poll(&it, 1, 200) < 0 && errno != EINTR)
            break;
        int got;
        while ((!o->frames || n < o->frames) &&
               (got = sub_read(s, &f, &why)) != -EAGAIN) {
            if (got == -EBADMSG) {
                log_limited(&bad_log, "bad message: %s", why);
                continue;
            }
            if (got < 0)
                break;
            if (!print(&f.hdr, variant_name(f.var), f.len, NULL))
                goto out;
            n++;
        }
    }
out:
    sub_frame_fini(&f);
    sub_free(s);
    net_term();
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct endpoint ep;
    const char *why;

    log_init(PROG);
    if (parse(argc, argv, &o) < 0)
        return EXIT_USAGE;
    if (endpoint_parse(o.input, &ep, &why) < 0) {
        log_err("-i %s: %s", o.input, why);
        return EXIT_USAGE;
    }
    if (ep.kind == EP_STDIO && o.variant_set && o.variant == VAR_SHM) {
        log_err("--codec shm: a byte stream carries payloads, not shm");
        return EXIT_USAGE;
    }
    cli_signals();
    return ep.kind == EP_STDIO ? from_stdin(&o) : from_zmq(&o, ep.url);
}
