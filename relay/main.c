/* main.c -- vidpipe-relay: subscribe upstream, republish downstream.
 *
 * The relay forwards each frame's ZeroMQ message parts as received, so a
 * payload is never decoded or copied here; it validates every header and
 * drops what is bad.  Subscriptions flow the other way: what downstream
 * subscribers ask for is what the relay asks upstream for, so a variant
 * nobody wants is never produced or sent.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "cli.h"
#include "endpoint.h"
#include "log.h"
#include "net.h"
#include "piperun.h"
#include "pub.h"
#include "stats.h"
#include "sub.h"

#define PROG "vidpipe-relay"
#define MAX_INPUTS 16
#define BATCH 64 /* messages forwarded before looking at the other socket */

struct opts {
    const char *inputs[MAX_INPUTS];
    unsigned ninputs;
    const char *output;
    enum variant variant;
    bool stats_json;
};

static void usage(FILE *f)
{
    fprintf(f,
        "usage: " PROG " [-i ENDPOINT ...] [-o ENDPOINT] [options]\n"
        "Subscribes to vidpipe publishers and republishes their frames to "
        "any number\nof subscribers, without copying or decoding pixels.\n"
        "\n"
        "  -i, --input EP     publisher to connect to (repeatable; default\n"
        "                     tcp://127.0.0.1:5555)\n"
        "  -o, --output EP    tcp://HOST:PORT or ipc://PATH to bind (default\n"
        "                     tcp://127.0.0.1:5556)\n"
        "                     Either end may be - : a frame stream on "
        "stdin/stdout\n"
        "      --codec C      raw (default) or jpeg: what -o - asks the "
        "publisher for\n"
        "      --stats-json   print a JSON stats line a second on stderr\n"
        "  -h, --help         this help\n"
        "  -V, --version      print the version\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"input", required_argument, 0, 'i'},
        {"output", required_argument, 0, 'o'},
        {"codec", required_argument, 0, 'c'},
        {"stats-json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    int c;

    *o = (struct opts){.output = "tcp://127.0.0.1:5556", .variant = VAR_RAW};
    while ((c = getopt_long(argc, argv, "i:o:hV", lo, NULL)) != -1) {
        switch (c) {
        case 'i':
            if (o->ninputs == MAX_INPUTS) {
                log_err("at most %d inputs", MAX_INPUTS);
                return -1;
            }
            o->inputs[o->ninputs++] = optarg;
            break;
        case 'o': o->output = optarg; break;
        case 'j': o->stats_json = true; break;
        case 'c':
            if (frame_enc_parse(optarg) < 0) {
                log_err("--codec %s: expected raw or jpeg", optarg);
                return -1;
            }
            o->variant = strcmp(optarg, "jpeg") == 0 ? VAR_JPEG : VAR_RAW;
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
    if (o->ninputs == 0)
        o->inputs[o->ninputs++] = "tcp://127.0.0.1:5555";
    return 0;
}

struct relay {
    struct sub *sub;
    struct pub *pub;
    struct stats st;
    struct log_limit bad_log;
};

/* A downstream subscription (or its end) is passed upstream as is. */
static void pass_upstream(void *arg, const char *prefix, size_t len, int on)
{
    struct relay *r = arg;
    sub_subscribe_prefix(r->sub, prefix, len, on);
}

static void forward(struct relay *r)
{
    struct sub_frame f;
    const char *why;

    sub_frame_init(&f);
    for (int i = 0; i < BATCH; i++) {
        int rc = sub_read(r->sub, &f, &why);
        if (rc == -EAGAIN || rc == -EINTR || rc == -ETERM)
            break;
        if (rc == -EBADMSG) {
            r->st.bad++;
            log_limited(&r->bad_log, "dropped a bad message: %s", why);
            continue;
        }
        if (rc < 0)
            break;
        uint64_t bytes = f.len;
        stats_frame(&r->st, &f.hdr, bytes);
        pub_forward(r->pub, f.parts, f.nparts);
        f.nparts = 0; /* the parts were moved */
    }
    sub_frame_fini(&f);
}

int main(int argc, char **argv)
{
    struct relay r = {0};
    struct opts o;
    struct endpoint ep;
    const char *why;
    char err[256];
    int rc = EXIT_USAGE;
    bool piped = false;

    log_init(PROG);
    if (parse(argc, argv, &o) < 0)
        return EXIT_USAGE;
    for (unsigned i = 0; i < o.ninputs; i++) {
        if (endpoint_parse(o.inputs[i], &ep, &why) < 0) {
            log_err("-i %s: %s", o.inputs[i], why);
            return EXIT_USAGE;
        }
        if (ep.kind == EP_STDIO && o.ninputs > 1) {
            log_err("-i -: stdin must be the only input");
            return EXIT_USAGE;
        }
        piped = piped || ep.kind == EP_STDIO;
    }
    if (endpoint_parse(o.output, &ep, &why) < 0) {
        log_err("-o %s: %s", o.output, why);
        return EXIT_USAGE;
    }
    cli_signals();
    if (piped || ep.kind == EP_STDIO) {
        struct piperun_cfg pc = {o.inputs, o.ninputs, ep.url, o.variant,
                                 o.stats_json};
        return piperun(&pc);
    }
    if (!(r.sub = sub_new(o.inputs, o.ninputs, err, sizeof err)) ||
        !(r.pub = pub_new(ep.url, err, sizeof err))) {
        log_err("%s", err);
        goto out;
    }
    stats_init(&r.st, "relay", o.stats_json);
    r.st.path = "tcp";
    log_info("%s%s -> %s", o.inputs[0], o.ninputs > 1 ? " ..." : "",
             ep.url);

    zmq_pollitem_t items[2] = {
        {pub_socket(r.pub), 0, ZMQ_POLLIN, 0},
        {sub_socket(r.sub), 0, ZMQ_POLLIN, 0},
    };
    rc = EXIT_OK;
    while (!cli_stop) {
        if (zmq_poll(items, 2, 200) < 0 && errno != EINTR) {
            log_err("poll: %s", zmq_strerror(errno));
            rc = EXIT_RUNTIME;
            break;
        }
        pub_poll_subs(r.pub, pass_upstream, &r);
        forward(&r);
        stats_tick(&r.st);
    }
    stats_final(&r.st);
out:
    sub_free(r.sub);
    pub_free(r.pub);
    net_term();
    return rc;
}
