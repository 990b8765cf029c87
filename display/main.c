/* main.c -- vidpipe-display: subscribe to a stream and show it.
 *
 * A receiver thread drains the subscription continuously and keeps only
 * the newest frame in a one-slot mailbox, so ZeroMQ's queues never back
 * up behind a slow sink: the sink always takes the freshest frame there
 * is, and frames it had no time for are counted as drops (gaps in seq).
 *
 * The display first asks for shared-memory descriptors; if the ring they
 * name cannot be opened here (another host), it asks for payloads
 * instead.  Shm pixels are used in place and checked for tearing after
 * use; sinks that write bytes out copy the frame first and write only
 * what was intact.
 *
 * Once it shows frames from a ring, the main thread also sleeps on that
 * ring's doorbell (RING.md) and takes the ring's newest frame as soon as
 * it is written, rather than after its descriptor's trip through two
 * ZeroMQ I/O threads and the receiver.  The descriptors keep coming and
 * stay in charge: the doorbell is followed only while they arrive
 * (LEASE_NS), a descriptor naming another ring moves it there, and one
 * already taken from the ring is not posted again.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "cli/cli.h"
#include "transport/curve.h"
#include "transport/endpoint.h"
#include "codec/jpeg.h"
#include "util/log.h"
#include "transport/net.h"
#include "contract/pattern.h"
#include "contract/ring.h"
#include "sink.h"
#include "api/stats.h"
#include "contract/stream.h"
#include "transport/xsub.h"
#include "util/wake.h"

#define PROG "vidpipe-display"
#define MAX_INPUTS 16

struct opts {
    const char *inputs[MAX_INPUTS];
    unsigned ninputs;
    const char *output, *stream;
    const char *curve_secret, *curve_servers[MAX_INPUTS];
    unsigned ncurve_servers;
    enum variant variant;
    uint64_t frames;
    double timeout_s, fps;
    uint64_t delay_ms;
    bool stats_json, verify, no_shm;
};

static void usage(FILE *f)
{
    fprintf(f,
        "usage: " PROG " [-i ENDPOINT] [-o SINK] [options]\n"
        "Subscribes to vidpipe frames and shows, writes or counts them.\n"
        "\n"
        "  -i, --input EP     publisher to connect to (repeatable; default\n"
        "                     tcp://127.0.0.1:5556), or - for a frame "
        "stream on stdin\n"
        "  -o, --output SINK  window (default when $DISPLAY is set), null "
        "(stats only;\n"
        "                     default otherwise), png:DIR, a .avi/.mp4/.mkv "
        "file, raw:-\n"
        "                     (bgr24 on stdout) or - (a frame stream on "
        "stdout)\n"
        "  -s, --stream NAME  show only this stream (default: any)\n"
        "      --codec C      raw (default) or jpeg: what to ask the "
        "publisher for\n"
        "  -n, --frames N     exit 0 after N frames\n"
        "  -t, --timeout S    exit 1 when no frame came for S seconds\n"
        "      --fps N        frame rate written into video files (default "
        "30)\n"
        "      --no-shm       never use shared memory (payloads over "
        "ZeroMQ)\n"
        "      --curve-server-key FILE  the publisher's .pub: use CURVE "
        "(once for\n"
        "                     every -i, or once per -i in order)\n"
        "      --curve-secret FILE  this viewer's .key (docs/GATEWAY.md)\n"
        "      --no-verify    do not check test: frames' pixels\n"
        "      --sink-delay MS  spend MS ms more per frame (simulates a slow "
        "sink)\n"
        "      --stats-json   print a JSON stats line a second on stderr\n"
        "  -h, --help         this help\n"
        "  -V, --version      print the version\n"
        "In the window: q, Esc or Enter quits; o toggles the overlay.\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"input", required_argument, 0, 'i'},
        {"output", required_argument, 0, 'o'},
        {"stream", required_argument, 0, 's'},
        {"codec", required_argument, 0, 'c'},
        {"frames", required_argument, 0, 'n'},
        {"timeout", required_argument, 0, 't'},
        {"fps", required_argument, 0, 'f'},
        {"no-verify", no_argument, 0, 'N'},
        {"no-shm", no_argument, 0, 'M'},
        {"sink-delay", required_argument, 0, 'D'},
        {"curve-server-key", required_argument, 0, 'P'},
        {"curve-secret", required_argument, 0, 'K'},
        {"stats-json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    int c;

    *o = (struct opts){.variant = VAR_RAW, .fps = 30, .verify = true};
    while ((c = getopt_long(argc, argv, "i:o:s:n:t:hV", lo, NULL)) != -1) {
        switch (c) {
        case 'i':
            if (o->ninputs == MAX_INPUTS) {
                log_err("at most %d inputs", MAX_INPUTS);
                return -1;
            }
            o->inputs[o->ninputs++] = optarg;
            break;
        case 'o': o->output = optarg; break;
        case 's': o->stream = optarg; break;
        case 'j': o->stats_json = true; break;
        case 'N': o->verify = false; break;
        case 'M': o->no_shm = true; break;
        case 'K': o->curve_secret = optarg; break;
        case 'P':
            if (o->ncurve_servers == MAX_INPUTS) {
                log_err("at most %d server keys", MAX_INPUTS);
                return -1;
            }
            o->curve_servers[o->ncurve_servers++] = optarg;
            break;
        case 'c':
            if (strcmp(optarg, "raw") == 0)
                o->variant = VAR_RAW;
            else if (strcmp(optarg, "jpeg") == 0)
                o->variant = VAR_JPEG;
            else {
                log_err("--codec %s: expected raw or jpeg", optarg);
                return -1;
            }
            break;
        case 'n':
            if (cli_uint(optarg, 1, UINT64_MAX, &o->frames) < 0) {
                log_err("--frames %s: expected a positive integer", optarg);
                return -1;
            }
            break;
        case 't':
            if (cli_double(optarg, 0.001, 1e6, &o->timeout_s) < 0) {
                log_err("--timeout %s: expected seconds > 0", optarg);
                return -1;
            }
            break;
        case 'f':
            if (cli_double(optarg, 0.1, 1000, &o->fps) < 0) {
                log_err("--fps %s: expected a number 0.1..1000", optarg);
                return -1;
            }
            break;
        case 'D':
            if (cli_uint(optarg, 0, 60000, &o->delay_ms) < 0) {
                log_err("--sink-delay %s: expected 0..60000 ms", optarg);
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
    if (o->ninputs == 0)
        o->inputs[o->ninputs++] = "tcp://127.0.0.1:5556";
    if (!o->output) {
        const char *d = getenv("DISPLAY");
        o->output = d && *d ? "window" : "null";
    }
    if (!o->curve_secret != !o->ncurve_servers) {
        log_err("--curve-server-key and --curve-secret go together");
        return -1;
    }
    if (o->stream && !frame_stream_name_ok(o->stream)) {
        log_err("--stream %s: use 1..63 of A-Z a-z 0-9 _ . -", o->stream);
        return -1;
    }
    return 0;
}

/* The receiver thread's one-slot mailbox. */
struct mailbox {
    pthread_mutex_t mu;
    struct sub_frame slot;
    bool full;
    /* The newest shm frame the main thread has taken (taken_order is its
     * ring_order()): the receiver does not post it or older ones. */
    struct frame_hdr taken;
    uint64_t taken_order;
    _Atomic uint32_t posted; /* bumped on every post; see wake.h */
    _Atomic bool sleeping;   /* the main thread may be asleep on posted */
    _Atomic bool done;       /* the receiver has stopped */
    _Atomic bool stop;       /* asks the receiver to stop */
};

/* The doorbell is followed only while descriptors keep coming: if the
 * publisher (or the relay in between) goes, so do the frames. */
#define LEASE_NS 2000000000LL

struct display {
    struct opts o;
    struct sub *sub;
    struct stream_reader *in; /* -i -: frames from stdin, no thread */
    bool in_failed;
    struct mailbox mb;
    struct stats st;
    struct sink *sink;
    struct jpeg *jpeg;
    struct ring_reader *rings;
    uint8_t *pixels; /* decoded JPEG, or a copy of shm pixels */
    size_t pixels_cap;
    bool copy_shm;             /* the sink writes bytes out */
    _Atomic bool use_shm;      /* subscribed to descriptors */
    _Atomic bool want_payload; /* main thread: switch to payloads */
    _Atomic int64_t desc_ns;   /* when the last descriptor came */
    /* The ring whose doorbell the main thread sleeps on: the descriptor
     * of the last frame it used from there. */
    struct frame_hdr bell;
    bool bell_on;
    bool bell_never; /* descriptors of several streams: follow those */
    _Atomic uint64_t bad, received;
    uint64_t received_seen; /* the main thread's copy, for stats */
    struct log_limit bad_log, verify_log;
};

/* Subscribes to raw payloads (on) or stops, if not already so. */
static void raw_sub(struct display *d, bool *raw_on, bool on)
{
    if (*raw_on != on) {
        sub_subscribe(d->sub, VAR_RAW, d->o.stream, on);
        *raw_on = on;
    }
}

/* Moves the subscription from descriptors to payloads for good. */
static void leave_shm(struct display *d, bool *raw_on)
{
    sub_subscribe(d->sub, VAR_SHM, d->o.stream, false);
    raw_sub(d, raw_on, true);
    d->use_shm = false;
}

/* While on descriptors, a second of silence may mean the publisher
 * offers none (no ring, or a relay with --no-shm): payloads are asked for
 * too, and whichever variant comes first decides. */
#define PROBE_NS 1000000000LL

/* True if shm descriptors h and t differ only in the frame they name (its
 * slot, generation, seq and times): frames of one ring. */
static bool same_ring(const struct frame_hdr *h, const struct frame_hdr *t)
{
    return h->has_shm && t->has_shm && h->shm.token == t->shm.token &&
           strcmp(h->shm.name, t->shm.name) == 0 &&
           strcmp(h->stream, t->stream) == 0 && h->width == t->width &&
           h->height == t->height && h->stride == t->stride &&
           h->fmt == t->fmt && h->enc == t->enc && h->size == t->size &&
           h->version == t->version;
}

/* True if f is a descriptor of a frame the main thread has already taken
 * from its ring, or of an older one: everything but the frame's place and
 * time equal to the frame taken.  (Anything else goes on to be checked,
 * and counted if bad.)  Under mb->mu. */
static bool already_taken(const struct mailbox *mb, const struct sub_frame *f)
{
    return f->var == VAR_SHM && same_ring(&f->hdr, &mb->taken) &&
           ring_order(&f->hdr) <= mb->taken_order;
}

/* Puts f (moved) into the mailbox, replacing a frame not yet shown, and
 * wakes the main thread. */
static void post(struct mailbox *mb, struct sub_frame *f)
{
    pthread_mutex_lock(&mb->mu);
    bool fresh = !already_taken(mb, f);
    if (fresh) {
        sub_frame_move(&mb->slot, f);
        mb->full = true;
        atomic_fetch_add(&mb->posted, 1);
    } else {
        sub_frame_fini(f);
    }
    pthread_mutex_unlock(&mb->mu);
    if (fresh && atomic_load(&mb->sleeping))
        wake_all(&mb->posted, false);
}

static void *receiver(void *arg)
{
    struct display *d = arg;
    zmq_pollitem_t it = {sub_socket(d->sub), 0, ZMQ_POLLIN, 0};
    struct sub_frame newest, f;
    const char *why;
    bool have = false, raw_on = d->o.variant == VAR_RAW && !d->use_shm;
    int64_t last_rx = clock_mono_ns();

    sub_frame_init(&newest);
    sub_frame_init(&f);
    while (!cli_stop && !d->mb.stop) {
        if (zmq_poll(&it, 1, 100) < 0 && errno == ETERM)
            break;
        if (d->want_payload && d->use_shm)
            leave_shm(d, &raw_on);
        if (d->use_shm && !raw_on && clock_mono_ns() - last_rx > PROBE_NS)
            raw_sub(d, &raw_on, true);
        for (;;) {
            int rc = sub_read(d->sub, &f, &why);
            if (rc == -EBADMSG) {
                d->bad++;
                log_limited(&d->bad_log, "dropped a bad message: %s", why);
                continue;
            }
            if (rc < 0)
                break;
            d->received++;
            last_rx = clock_mono_ns();
            if (f.var == VAR_SHM)
                d->desc_ns = last_rx;
            if (d->use_shm && raw_on && f.var == VAR_SHM)
                raw_sub(d, &raw_on, false);
            else if (d->use_shm && raw_on)
                leave_shm(d, &raw_on);
            sub_frame_move(&newest, &f);
            have = true;
        }
        if (!have)
            continue;
        post(&d->mb, &newest);
        have = false;
    }
    sub_frame_fini(&newest);
    sub_frame_fini(&f);
    d->mb.done = true;
    atomic_fetch_add(&d->mb.posted, 1);
    wake_all(&d->mb.posted, false);
    return NULL;
}

/* The doorbell to sleep on besides the mailbox, or NULL: only while on
 * descriptors whose ring the main thread has used, and the lease holds. */
static const _Atomic uint32_t *bell_word(struct display *d)
{
    if (!d->bell_on || d->bell_never || !d->use_shm || d->want_payload ||
        clock_mono_ns() - d->desc_ns > LEASE_NS)
        return NULL;
    return ring_reader_bell(d->rings, &d->bell);
}

/* Takes the bell ring's newest frame into f if it is newer than the last
 * one taken from there. */
static bool take_bell(struct display *d, struct sub_frame *f)
{
    struct frame_hdr h;
    if (ring_reader_latest(d->rings, &d->bell, &h) < 0 ||
        ring_order(&h) <= d->mb.taken_order)
        return false;
    sub_frame_fini(f);
    f->var = VAR_SHM;
    f->hdr = h;
    return true;
}

/* A descriptor f from the mailbox of the bell ring may already be behind
 * it (the main thread was busy): the ring's newest frame replaces it. */
static void prefer_newest(struct display *d, struct sub_frame *f)
{
    struct frame_hdr h;
    if (f->var == VAR_SHM && bell_word(d) && same_ring(&f->hdr, &d->bell) &&
        ring_reader_latest(d->rings, &d->bell, &h) == 0 &&
        ring_order(&h) > ring_order(&f->hdr)) {
        sub_frame_fini(f);
        f->var = VAR_SHM;
        f->hdr = h;
    }
}

/* Waits up to ms for a frame: the mailbox's, or the doorbell ring's
 * newest; true with *f filled. */
static bool take(struct display *d, struct sub_frame *f, int ms)
{
    int64_t deadline = clock_mono_ns() + (int64_t)ms * 1000000;
    struct wake_word w[2];
    bool got = false;

    /* Set before reading posted: a post after that read either sees it
     * and wakes us, or changes posted before we sleep (see post()). */
    atomic_store(&d->mb.sleeping, true);
    while (!got && !d->mb.done && !cli_stop) {
        w[0] = (struct wake_word){&d->mb.posted, atomic_load(&d->mb.posted),
                                  false};
        pthread_mutex_lock(&d->mb.mu);
        if (d->mb.full) {
            sub_frame_move(f, &d->mb.slot);
            d->mb.full = false;
            got = !already_taken(&d->mb, f); /* the bell was faster */
            if (!got)
                sub_frame_fini(f);
        }
        pthread_mutex_unlock(&d->mb.mu);
        if (got) {
            prefer_newest(d, f);
            break;
        }
        unsigned n = 1;
        const _Atomic uint32_t *bell = bell_word(d);
        if (bell) {
            w[n++] = (struct wake_word){
                bell, atomic_load_explicit(bell, memory_order_acquire), true};
            if ((got = take_bell(d, f)))
                break;
        }
        if (wake_wait(w, n, deadline) == -ETIMEDOUT)
            break;
    }
    atomic_store(&d->mb.sleeping, false);
    return got;
}

/* Notes that the shm frame h (checked, its slot's generation matched) is
 * being used: its ring's doorbell is followed from now on, and neither it
 * nor older frames of that ring are taken again. */
static void note_taken(struct display *d, const struct frame_hdr *h)
{
    if (d->bell_on && h->shm.token != d->bell.shm.token &&
        strcmp(h->stream, d->bell.stream) != 0)
        d->bell_never = true; /* frames of several streams interleave */
    d->bell = *h;
    d->bell_on = true;
    pthread_mutex_lock(&d->mb.mu);
    d->mb.taken = *h;
    d->mb.taken_order = ring_order(h);
    pthread_mutex_unlock(&d->mb.mu);
}

/* Reads the next frame from stdin into f (payload borrowed from the
 * reader until the next call).  At the end of input, or on bad input
 * (in_failed), the mailbox is marked done. */
static bool take_stdin(struct display *d, struct sub_frame *f)
{
    int rc = stream_read(d->in, &f->hdr, &f->data);
    if (rc == 0) {
        f->len = f->hdr.size;
        f->var = f->hdr.enc == ENC_JPEG ? VAR_JPEG : VAR_RAW;
        return true;
    }
    if (rc != -EINTR) {
        if (rc != STREAM_EOF) {
            log_err("stdin: %s", stream_reader_error(d->in));
            d->bad++;
            d->in_failed = true;
        }
        d->mb.done = true;
    }
    return false;
}

/* The scratch buffer, grown to need bytes; NULL if out of memory. */
static uint8_t *scratch(struct display *d, size_t need)
{
    if (need > d->pixels_cap) {
        free(d->pixels);
        d->pixels_cap = 0;
        if (!(d->pixels = malloc(need)))
            return NULL;
        d->pixels_cap = need;
    }
    return d->pixels;
}

/* The pixels of a payload frame f, decoding JPEG into the scratch buffer;
 * NULL (counted bad) if undecodable. */
static const uint8_t *payload_pixels(struct display *d, struct sub_frame *f,
                                     uint32_t *stride)
{
    struct frame_hdr *h = &f->hdr;
    if (h->enc == ENC_RAW) {
        *stride = h->stride;
        return f->data;
    }
    *stride = h->width * pixfmt_bpp(h->fmt);
    uint8_t *px = scratch(d, (size_t)*stride * h->height);
    if (!px || jpeg_decode(d->jpeg, f->data, f->len, px, h->width, h->height,
                           *stride, h->fmt) < 0) {
        d->bad++;
        log_limited(&d->bad_log, "undecodable JPEG in frame %llu",
                    (unsigned long long)h->seq);
        return NULL;
    }
    return px;
}

/* The pixels of a descriptor frame f, in place in the ring (or copied to
 * the scratch buffer for sinks that write bytes out).  NULL when there is
 * nothing to show: the ring is not reachable (switches to payloads), the
 * descriptor is bad (counted), or the slot was already overwritten
 * (counted torn). */
static const uint8_t *shm_pixels(struct display *d, struct sub_frame *f)
{
    const char *why;
    int rc = ring_reader_check(d->rings, &f->hdr, &why);
    if (rc == -ENOENT) {
        if (!d->want_payload)
            log_info("shm %s: %s; switching to payloads over ZeroMQ",
                     f->hdr.shm.name, why);
        d->want_payload = true;
        return NULL;
    }
    if (rc < 0) {
        d->bad++;
        log_limited(&d->bad_log, "rejected shm descriptor: %s", why);
        return NULL;
    }
    const uint8_t *px = ring_read_begin(d->rings, &f->hdr);
    if (!px) {
        d->st.torn++;
        return NULL;
    }
    note_taken(d, &f->hdr);
    if (!d->copy_shm)
        return px;
    uint8_t *copy = scratch(d, f->hdr.size);
    if (!copy)
        return NULL;
    memcpy(copy, px, f->hdr.size);
    if (!ring_read_end(d->rings, &f->hdr)) {
        d->st.torn++;
        return NULL;
    }
    return copy;
}

/* 1 if px shows h's seq, -1 if it shows something else, 0 unchecked. */
static int verify(struct display *d, const struct frame_hdr *h,
                  const uint8_t *px, uint32_t stride)
{
    uint64_t seq;
    if (!d->o.verify || h->width < PATTERN_MIN_W || h->height < PATTERN_MIN_H)
        return 0;
    if (pattern_read(px, h->width, h->height, stride, h->fmt, &seq) == 0 &&
        seq == h->seq)
        return 1;
    return -1;
}

static int run(struct display *d)
{
    struct sub_frame f;
    int64_t last = clock_mono_ns();
    int rc = EXIT_OK;

    sub_frame_init(&f);
    while (!cli_stop) {
        bool got = d->in ? take_stdin(d, &f) : take(d, &f, 20);
        d->st.bad = d->bad;
        d->received_seen = d->received;
        stats_tick(&d->st);
        if (sink_poll(d->sink) == SINK_QUIT)
            break;
        if (!got) {
            if (d->mb.done)
                break;
            if (d->o.timeout_s > 0 &&
                clock_mono_ns() - last > (int64_t)(d->o.timeout_s * 1e9)) {
                log_err("no frame for %.3g s", d->o.timeout_s);
                rc = EXIT_RUNTIME;
                break;
            }
            continue;
        }
        last = clock_mono_ns();
        bool shm = f.var == VAR_SHM;
        uint32_t stride = f.hdr.stride;
        const uint8_t *px =
            shm ? shm_pixels(d, &f) : payload_pixels(d, &f, &stride);
        if (!px)
            continue;
        d->st.path = d->in ? "pipe" : shm ? "shm" : "tcp";
        int v = verify(d, &f.hdr, px, stride);
        int wr = sink_write(d->sink, &f.hdr, px, stride);
        if (wr == SINK_QUIT) /* stdout's reader has gone: a normal end */
            break;
        if (wr < 0) {
            rc = EXIT_RUNTIME;
            break;
        }
        int64_t shown = clock_real_ns(); /* the frame's age counts to here */
        if (d->o.delay_ms)
            usleep((useconds_t)d->o.delay_ms * 1000);
        /* Pixels used in place must still be the frame's now. */
        if (shm && !d->copy_shm && !ring_read_end(d->rings, &f.hdr)) {
            d->st.torn++;
            continue;
        }
        d->st.verified += v > 0;
        d->st.mismatch += v < 0;
        stats_frame_at(&d->st, &f.hdr, f.len, shown);
        sub_frame_fini(&f);
        if (d->o.frames && d->st.frames >= d->o.frames)
            break;
    }
    sub_frame_fini(&f);
    return d->in_failed ? EXIT_RUNTIME : rc;
}

int main(int argc, char **argv)
{
    struct display d = {0};
    struct sink_spec spec;
    struct endpoint ep;
    const char *why;
    char err[256];
    pthread_t th;
    bool started = false;
    int rc = EXIT_USAGE;

    log_init(PROG);
    if (parse(argc, argv, &d.o) < 0)
        return EXIT_USAGE;
    for (unsigned i = 0; i < d.o.ninputs; i++) {
        if (endpoint_parse(d.o.inputs[i], &ep, &why) < 0) {
            log_err("-i %s: %s", d.o.inputs[i], why);
            return EXIT_USAGE;
        }
        if (ep.kind == EP_STDIO && d.o.ninputs > 1) {
            log_err("-i -: stdin must be the only input");
            return EXIT_USAGE;
        }
    }
    if (sink_parse(d.o.output, &spec, &why) < 0) {
        log_err("-o %s: %s", d.o.output, why);
        return EXIT_USAGE;
    }
    if (d.o.curve_secret &&
        curve_client_setup(d.o.curve_secret, d.o.curve_servers,
                           d.o.ncurve_servers, d.o.inputs, d.o.ninputs, err,
                           sizeof err) < 0) {
        log_err("%s", err);
        return EXIT_USAGE;
    }
    cli_signals();
    stats_init(&d.st, "display", d.o.stats_json);
    d.st.path = strcmp(d.o.inputs[0], "-") == 0 ? "pipe" : "tcp";
    if (!(d.sink = sink_new(&spec, d.o.fps, &d.st, err, sizeof err))) {
        log_err("%s", err);
        goto out;
    }
    /* Only the null sink uses shm pixels in place: every other one keeps
     * or shows them, so it gets a copy taken and checked intact first. */
    d.copy_shm = spec.kind != SINK_NULL;
    if (!(d.jpeg = jpeg_new()) || !(d.rings = ring_reader_new())) {
        log_err("cannot set up the JPEG decoder");
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (strcmp(d.o.inputs[0], "-") == 0) {
        if (!(d.in = stream_reader_new(STDIN_FILENO, 0))) {
            log_err("out of memory");
            rc = EXIT_RUNTIME;
            goto out;
        }
        rc = run(&d);
        stats_final(&d.st);
        goto out;
    }
    if (!(d.sub = sub_new(d.o.inputs, d.o.ninputs, err, sizeof err))) {
        log_err("%s", err);
        goto out;
    }
    d.use_shm = d.o.variant == VAR_RAW && !d.o.no_shm;
    sub_subscribe(d.sub, d.use_shm ? VAR_SHM : d.o.variant, d.o.stream, true);
    stats_add_counter(&d.st, "received", &d.received_seen);
    pthread_mutex_init(&d.mb.mu, NULL);
    sub_frame_init(&d.mb.slot);
    if (pthread_create(&th, NULL, receiver, &d) != 0) {
        log_err("cannot start the receiver thread");
        rc = EXIT_RUNTIME;
        goto out;
    }
    started = true;
    rc = run(&d);
    stats_final(&d.st);
out:
    if (started) {
        d.mb.stop = true;
        pthread_join(th, NULL);
        sub_frame_fini(&d.mb.slot);
    }
    sub_free(d.sub);
    stream_reader_free(d.in);
    net_term();
    sink_free(d.sink);
    jpeg_free(d.jpeg);
    ring_reader_free(d.rings);
    free(d.pixels);
    return rc;
}
