/* main.c -- vidpipe-relay: subscribe upstream, republish downstream.
 *
 * The relay forwards each frame's ZeroMQ message parts as received, so a
 * payload is never decoded or copied here; it validates every header and
 * drops what is bad.  Subscriptions flow the other way: what downstream
 * subscribers ask for is what the relay asks upstream for, so a variant
 * nobody wants is never produced or sent.
 *
 * Shared memory: descriptors from a producer on this host are checked
 * against its ring and forwarded, pixels untouched.  When a stream's ring
 * cannot be opened here (its producer is on another host), the relay
 * subscribes to that stream's raw payload instead, writes each frame once
 * into a ring of its own, and publishes descriptors for this host.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "cli/cli.h"
#include "transport/curve.h"
#include "transport/endpoint.h"
#include "util/log.h"
#include "transport/net.h"
#include "piperun.h"
#include "transport/xpub.h"
#include "contract/ring.h"
#include "api/stats.h"
#include "transport/xsub.h"

#define PROG "vidpipe-relay"
#define MAX_INPUTS 16
#define BATCH 64 /* messages forwarded before looking at the other socket */
#define MAX_STREAMS 16

struct opts {
    const char *inputs[MAX_INPUTS];
    unsigned ninputs;
    const char *output;
    /* CURVE: its own key (both sides), who may subscribe, and upstream. */
    const char *curve_secret, *curve_allow, *curve_client_secret;
    const char *curve_servers[MAX_INPUTS];
    unsigned ncurve_servers;
    uint32_t ring_slots;
    enum variant variant;
    bool stats_json, no_shm;
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
        "      --ring N       slots of the relay's own shm rings (default 8)\n"
        "      --no-shm       make no shm ring for streams from other hosts\n"
        "      --curve-secret FILE  this relay's CURVE .key (for -o, and "
        "for -i unless\n"
        "                     --curve-client-secret)\n"
        "      --curve-allow DIR    CURVE on -o: only clients whose .pub is "
        "in DIR\n"
        "      --curve-server-key FILE  CURVE on -i: the publisher's .pub "
        "(once for\n"
        "                     every -i, or once per -i in order)\n"
        "      --curve-client-secret FILE  the .key to use on -i "
        "(docs/GATEWAY.md)\n"
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
        {"ring", required_argument, 0, 'R'},
        {"no-shm", no_argument, 0, 'M'},
        {"curve-secret", required_argument, 0, 'K'},
        {"curve-allow", required_argument, 0, 'A'},
        {"curve-server-key", required_argument, 0, 'P'},
        {"curve-client-secret", required_argument, 0, 'C'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    uint64_t u;
    int c;

    *o = (struct opts){.output = "tcp://127.0.0.1:5556",
                       .ring_slots = RING_DEFAULT_SLOTS,
                       .variant = VAR_RAW};
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
        case 'M': o->no_shm = true; break;
        case 'K': o->curve_secret = optarg; break;
        case 'A': o->curve_allow = optarg; break;
        case 'C': o->curve_client_secret = optarg; break;
        case 'P':
            if (o->ncurve_servers == MAX_INPUTS) {
                log_err("at most %d server keys", MAX_INPUTS);
                return -1;
            }
            o->curve_servers[o->ncurve_servers++] = optarg;
            break;
        case 'R':
            if (cli_uint(optarg, RING_MIN_SLOTS, RING_MAX_SLOTS, &u) < 0) {
                log_err("--ring %s: expected %d..%d", optarg, RING_MIN_SLOTS,
                        RING_MAX_SLOTS);
                return -1;
            }
            o->ring_slots = (uint32_t)u;
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
    if ((o->curve_allow && !o->curve_secret) ||
        (o->curve_client_secret && !o->ncurve_servers) ||
        (o->ncurve_servers && !o->curve_secret && !o->curve_client_secret) ||
        (o->curve_secret && !o->curve_allow && !o->ncurve_servers)) {
        log_err("CURVE needs --curve-secret with --curve-allow (output) "
                "and/or --curve-server-key (input); see --help");
        return -1;
    }
    if (!o->curve_client_secret)
        o->curve_client_secret = o->curve_secret;
    return 0;
}

/* What the relay knows of one stream. */
struct rstream {
    char name[FRAME_STREAM_MAX + 1];
    bool remote;    /* its producer's ring cannot be opened here */
    bool raw_added; /* we subscribed its raw payload to fill our ring */
    struct ring *ring;
};

struct relay {
    struct opts o;
    struct sub *sub;
    struct pub *pub;
    struct ring_reader *rings;
    struct stats st;
    struct rstream streams[MAX_STREAMS];
    unsigned nstreams, nrings;
    uint64_t shm_forwarded, ring_writes;
    struct log_limit bad_log;
};

static struct rstream *stream_get(struct relay *r, const char *name)
{
    for (unsigned i = 0; i < r->nstreams; i++)
        if (strcmp(r->streams[i].name, name) == 0)
            return &r->streams[i];
    if (r->nstreams == MAX_STREAMS)
        return NULL;
    struct rstream *s = &r->streams[r->nstreams++];
    memcpy(s->name, name, sizeof s->name);
    return s;
}

/* For a remote stream, holds a raw subscription upstream exactly while
 * somebody here wants its descriptors. */
static void update_remote(struct relay *r, struct rstream *s)
{
    bool want = s->remote && !r->o.no_shm &&
                pub_wants(r->pub, VAR_SHM, s->name);
    if (want != s->raw_added) {
        sub_subscribe(r->sub, VAR_RAW, s->name, want);
        s->raw_added = want;
    }
}

/* A downstream subscription (or its end) is passed upstream as is. */
static void pass_upstream(void *arg, const char *prefix, size_t len, int on)
{
    struct relay *r = arg;
    sub_subscribe_prefix(r->sub, prefix, len, on);
    for (unsigned i = 0; i < r->nstreams; i++)
        update_remote(r, &r->streams[i]);
}

/* A descriptor: forwarded if its ring is on this host and it fits it. */
static void on_descriptor(struct relay *r, struct sub_frame *f)
{
    struct rstream *s = stream_get(r, f->hdr.stream);
    const char *why;
    int rc = ring_reader_check(r->rings, &f->hdr, &why);

    if (rc == -ENOENT) {
        if (s && !s->remote) {
            log_info("stream %s comes from another host (%s)",
                     f->hdr.stream, why);
            s->remote = true;
            update_remote(r, s);
        }
        return;
    }
    if (rc < 0) {
        r->st.bad++;
        log_limited(&r->bad_log, "rejected shm descriptor: %s", why);
        return;
    }
    stats_frame(&r->st, &f->hdr, 0);
    r->st.path = "shm";
    r->shm_forwarded++;
    pub_forward(r->pub, f->parts, f->nparts);
    f->nparts = 0; /* the parts were moved */
}

/* A raw frame of a remote stream, written once into this host's ring for
 * the local subscribers that want descriptors. */
static void fill_ring(struct relay *r, struct rstream *s,
                      const struct sub_frame *f)
{
    const struct frame_hdr *h = &f->hdr;
    char err[256];

    if (s->ring && !ring_fits(s->ring, h->width, h->height, h->stride,
                              h->fmt)) {
        ring_free(s->ring);
        s->ring = NULL;
    }
    if (!s->ring) {
        char name[FRAME_SHM_NAME_MAX + 1];
        snprintf(name, sizeof name, "/vidpipe-%d-%u", (int)getpid(),
                 r->nrings++);
        s->ring = ring_create(name, r->o.ring_slots, h->width, h->height,
                              h->stride, h->fmt, err, sizeof err);
        if (!s->ring) {
            log_limited(&r->bad_log, "%s", err);
            return;
        }
    }
    struct frame_hdr dh = *h;
    uint32_t slot;
    memcpy(ring_write_begin(s->ring, &slot), f->data, f->len);
    ring_write_end(s->ring, slot, h, &dh.shm);
    dh.has_shm = true;
    r->ring_writes++;
    pub_send(r->pub, VAR_SHM, &dh, NULL);
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
        if (f.var == VAR_SHM) {
            on_descriptor(r, &f);
            continue;
        }
        struct rstream *s = f.var == VAR_RAW ? stream_get(r, f.hdr.stream)
                                             : NULL;
        if (s && s->raw_added)
            fill_ring(r, s, &f);
        stats_frame(&r->st, &f.hdr, f.len);
        r->st.path = "tcp";
        pub_forward(r->pub, f.parts, f.nparts);
        f.nparts = 0; /* the parts were moved */
    }
    sub_frame_fini(&f);
}

int main(int argc, char **argv)
{
    static struct relay r;
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
    if ((o.curve_allow && curve_server_setup(o.curve_secret, o.curve_allow,
                                             err, sizeof err) < 0) ||
        (o.ncurve_servers &&
         curve_client_setup(o.curve_client_secret, o.curve_servers,
                            o.ncurve_servers, o.inputs, o.ninputs, err,
                            sizeof err) < 0)) {
        log_err("%s", err);
        net_term();
        return EXIT_USAGE;
    }
    cli_signals();
    if (piped || ep.kind == EP_STDIO) {
        struct piperun_cfg pc = {o.inputs, o.ninputs, ep.url, o.variant,
                                 o.no_shm ? 0 : o.ring_slots, o.stats_json};
        return piperun(&pc);
    }
    r.o = o;
    if (!o.no_shm)
        ring_gc();
    if (!(r.rings = ring_reader_new())) {
        log_err("out of memory");
        return EXIT_RUNTIME;
    }
    if (!(r.sub = sub_new(o.inputs, o.ninputs, err, sizeof err)) ||
        !(r.pub = pub_new(ep.url, err, sizeof err))) {
        log_err("%s", err);
        goto out;
    }
    stats_init(&r.st, "relay", o.stats_json);
    r.st.path = "tcp";
    stats_add_counter(&r.st, "shm_forwarded", &r.shm_forwarded);
    stats_add_counter(&r.st, "ring_writes", &r.ring_writes);
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
    for (unsigned i = 0; i < r.nstreams; i++)
        ring_free(r.streams[i].ring);
    ring_reader_free(r.rings);
    return rc;
}
