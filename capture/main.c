/* main.c -- vidpipe-capture: read frames from a source and publish them.
 *
 * Over ZeroMQ, capture produces each variant only while somebody
 * subscribes to it, and then once for all subscribers.  While a same-host
 * subscriber wants shared memory, each frame is written once into a slot
 * of the stream's ring and only a descriptor is published; the raw and
 * JPEG variants for remote subscribers are made from that slot.  With no
 * shm subscriber, the source writes into a pool buffer that ZeroMQ sends
 * without copying.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "cli/cli.h"
#include "transport/curve.h"
#include "transport/endpoint.h"
#include "contract/frame.h"
#include "codec/jpeg.h"
#include "util/log.h"
#include "transport/net.h"
#include "piperun.h"
#include "util/pool.h"
#include "transport/xpub.h"
#include "contract/ring.h"
#include "source.h"
#include "api/stats.h"

#define PROG "vidpipe-capture"
#define BACKPRESSURE_MS 1000 /* --fps 0: longest wait for a subscriber */
#define POOL_BUFS 8

struct opts {
    const char *input, *output, *stream;
    const char *curve_secret, *curve_allow;
    struct source_req req;
    uint64_t frames;
    enum frame_enc codec;
    int quality;
    uint32_t ring_slots;
    double speed;
    bool stats_json, no_shm, stream_set;
};

static void usage(FILE *f)
{
    fprintf(f,
        "usage: " PROG " [-i SOURCE] [-o ENDPOINT] [options]\n"
        "Reads video from SOURCE and publishes it as vidpipe frames.\n"
        "\n"
        "  -i, --input SOURCE   test: (default), /dev/videoN, a video file "
        "or URL,\n"
        "                       raw:- (raw frames on stdin), a recording "
        "(.vpk) or -\n"
        "                       (a frame stream on stdin)\n"
        "  -o, --output EP      tcp://HOST:PORT or ipc://PATH to bind, or - "
        "for a frame\n"
        "                       stream on stdout (default "
        "tcp://127.0.0.1:5555)\n"
        "  -s, --stream NAME    stream name (default cam0)\n"
        "      --size WxH       frame size (test: default 1280x720; a device "
        "is asked for it)\n"
        "      --fps N          frames per second (test: default 30; files "
        "default to their own;\n"
        "                       0 = as fast as the slowest subscriber "
        "takes them)\n"
        "      --pix-fmt F      raw:- pixel format: bgr24 (default), rgb24, "
        "gray\n"
        "  -n, --frames N       stop after publishing N frames\n"
        "      --loop           start a file again at its end\n"
        "      --speed X        replay a recording X times as fast (default "
        "1)\n"
        "      --codec C        raw or jpeg: encoding of byte-stream output "
        "(ZeroMQ subscribers\n"
        "                       choose their own; see README)\n"
        "  -q, --quality Q      JPEG quality 1..100 (default 80)\n"
        "      --ring N         shared-memory ring slots (default 8)\n"
        "      --no-shm         never offer frames through shared memory\n"
        "      --curve-secret FILE  encrypt with CURVE; FILE is this "
        "process's .key\n"
        "      --curve-allow DIR    with --curve-secret: let in only clients "
        "whose .pub\n"
        "                       is in DIR (docs/GATEWAY.md)\n"
        "      --stats-json     print a JSON stats line a second on stderr\n"
        "  -h, --help           this help\n"
        "  -V, --version        print the version\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"input", required_argument, 0, 'i'},
        {"output", required_argument, 0, 'o'},
        {"stream", required_argument, 0, 's'},
        {"size", required_argument, 0, 'S'},
        {"fps", required_argument, 0, 'f'},
        {"frames", required_argument, 0, 'n'},
        {"loop", no_argument, 0, 'l'},
        {"pix-fmt", required_argument, 0, 'P'},
        {"speed", required_argument, 0, 'x'},
        {"codec", required_argument, 0, 'c'},
        {"quality", required_argument, 0, 'q'},
        {"stats-json", no_argument, 0, 'j'},
        {"ring", required_argument, 0, 'R'},
        {"no-shm", no_argument, 0, 'M'},
        {"curve-secret", required_argument, 0, 'K'},
        {"curve-allow", required_argument, 0, 'A'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0},
    };
    uint64_t u;
    int c;

    *o = (struct opts){.input = "test:",
                       .output = "tcp://127.0.0.1:5555",
                       .stream = "cam0",
                       .req.fps = -1,
                       .codec = ENC_RAW,
                       .quality = 80,
                       .ring_slots = RING_DEFAULT_SLOTS,
                       .speed = 1};
    while ((c = getopt_long(argc, argv, "i:o:s:n:q:hV", lo, NULL)) != -1) {
        switch (c) {
        case 'i': o->input = optarg; break;
        case 'o': o->output = optarg; break;
        case 's': o->stream = optarg, o->stream_set = true; break;
        case 'l': o->req.loop = true; break;
        case 'j': o->stats_json = true; break;
        case 'M': o->no_shm = true; break;
        case 'K': o->curve_secret = optarg; break;
        case 'A': o->curve_allow = optarg; break;
        case 'R':
            if (cli_uint(optarg, RING_MIN_SLOTS, RING_MAX_SLOTS, &u) < 0) {
                log_err("--ring %s: expected %d..%d", optarg, RING_MIN_SLOTS,
                        RING_MAX_SLOTS);
                return -1;
            }
            o->ring_slots = (uint32_t)u;
            break;
        case 'S':
            if (cli_size(optarg, &o->req.width, &o->req.height) < 0) {
                log_err("--size %s: expected WxH, each 1..16384", optarg);
                return -1;
            }
            break;
        case 'f':
            if (cli_double(optarg, 0, 1000, &o->req.fps) < 0) {
                log_err("--fps %s: expected a number 0..1000", optarg);
                return -1;
            }
            break;
        case 'n':
            if (cli_uint(optarg, 1, UINT64_MAX, &o->frames) < 0) {
                log_err("--frames %s: expected a positive integer", optarg);
                return -1;
            }
            break;
        case 'P':
            if (!(o->req.fmt = pixfmt_parse(optarg))) {
                log_err("--pix-fmt %s: expected bgr24, rgb24 or gray", optarg);
                return -1;
            }
            break;
        case 'x':
            if (cli_double(optarg, 0.01, 1000, &o->speed) < 0) {
                log_err("--speed %s: expected a number 0.01..1000", optarg);
                return -1;
            }
            break;
        case 'c':
            if (frame_enc_parse(optarg) < 0) {
                log_err("--codec %s: expected raw or jpeg", optarg);
                return -1;
            }
            o->codec = (enum frame_enc)frame_enc_parse(optarg);
            break;
        case 'q':
            if (cli_uint(optarg, 1, 100, &u) < 0) {
                log_err("--quality %s: expected 1..100", optarg);
                return -1;
            }
            o->quality = (int)u;
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
    if (!o->curve_secret != !o->curve_allow) {
        log_err("--curve-secret and --curve-allow go together");
        return -1;
    }
    if (!frame_stream_name_ok(o->stream)) {
        log_err("--stream %s: use 1..63 of A-Z a-z 0-9 _ . -", o->stream);
        return -1;
    }
    return 0;
}

struct capture {
    struct opts o;
    struct source *src;
    struct pub *pub;
    struct pool *raw_pool, *jpeg_pool;
    struct jpeg *jpeg;
    struct ring *ring;
    struct stats st;
    struct frame_hdr hdr;
    uint64_t raw_sent, raw_copies, jpeg_encodes, shm_sent, skipped;
    struct log_limit pool_log;
};

/* Sleeps until the monotonic time deadline, serving subscription changes
 * meanwhile so pub_wants() is current when the frame is due. */
static void wait_until(struct capture *cap, int64_t deadline)
{
    zmq_pollitem_t it = {pub_socket(cap->pub), 0, ZMQ_POLLIN, 0};
    for (;;) {
        pub_poll_subs(cap->pub, NULL, NULL);
        int64_t left = deadline - clock_mono_ns();
        if (left <= 0 || cli_stop)
            return;
        if (left > 2000000) {
            /* Wake 1 ms early; the rest is slept precisely below. */
            zmq_poll(&it, 1, (long)(left / 1000000) - 1);
            continue;
        }
        struct timespec ts = {.tv_sec = deadline / 1000000000,
                              .tv_nsec = deadline % 1000000000};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
}

/* True if pub_send() returned rc 0; a frame the subscribers had no room
 * for within the backpressure timeout (--fps 0) counts as a drop. */
static bool sent(struct capture *cap, int rc)
{
    if (rc == -EAGAIN)
        cap->st.drops++;
    return rc == 0;
}

/* Publishes the payload variants of the frame whose pixels are px.  buf
 * is px's pool buffer, consumed here, or NULL when px is a ring slot (a
 * raw payload then takes one copy, made only for raw subscribers). */
static uint64_t publish(struct capture *cap, const uint8_t *px, uint8_t *buf,
                        bool want_raw, bool want_jpeg)
{
    struct frame_hdr *h = &cap->hdr;
    zmq_msg_t m;
    uint64_t bytes = 0;

    if (want_raw && !buf) {
        if (!(buf = pool_get(cap->raw_pool))) {
            log_limited(&cap->pool_log, "all frame buffers in flight");
            cap->st.drops++;
            want_raw = false;
        } else {
            memcpy(buf, px, h->size);
            cap->raw_copies++;
        }
    }
    if (want_jpeg) {
        uint8_t *jb = pool_get(cap->jpeg_pool);
        size_t len;
        if (!jb) {
            log_limited(&cap->pool_log, "all JPEG buffers in flight");
            cap->st.drops++;
        } else if (jpeg_encode(cap->jpeg, px, h->width, h->height,
                               h->stride, h->fmt, cap->o.quality, jb,
                               pool_size(cap->jpeg_pool), &len) < 0) {
            log_limited(&cap->pool_log, "JPEG encode failed");
            pool_zmq_free(jb, cap->jpeg_pool);
        } else {
            struct frame_hdr jh = *h;
            jh.enc = ENC_JPEG;
            jh.size = len;
            cap->jpeg_encodes++;
            zmq_msg_init_data(&m, jb, len, pool_zmq_free, cap->jpeg_pool);
            if (sent(cap, pub_send(cap->pub, VAR_JPEG, &jh, &m)))
                bytes += len;
        }
    }
    if (want_raw) {
        zmq_msg_init_data(&m, buf, h->size, pool_zmq_free, cap->raw_pool);
        if (sent(cap, pub_send(cap->pub, VAR_RAW, h, &m))) {
            bytes += h->size;
            cap->raw_sent++;
        }
    } else if (buf) {
        pool_zmq_free(buf, cap->raw_pool);
    }
    return bytes;
}

/* Reads the next frame into a ring slot and publishes its descriptor, then
 * whatever payload variants are wanted.  0, 1 end of input, -1 error. */
static int frame_via_ring(struct capture *cap, uint64_t seq, bool want_raw,
                          bool want_jpeg)
{
    struct frame_hdr *h = &cap->hdr;
    uint32_t slot;
    uint8_t *px = ring_write_begin(cap->ring, &slot);
    int rc = source_read(cap->src, px, h->stride, seq);

    h->seq = seq;
    frame_stamp(h);
    ring_write_end(cap->ring, slot, h, &h->shm);
    if (rc != 0)
        return rc;
    h->has_shm = true;
    if (sent(cap, pub_send(cap->pub, VAR_SHM, h, NULL)))
        cap->shm_sent++;
    h->has_shm = false;
    uint64_t bytes = publish(cap, px, NULL, want_raw, want_jpeg);
    stats_frame(&cap->st, h, bytes);
    return 0;
}

/* Reads the next frame into a pool buffer handed to ZeroMQ as is. */
static int frame_via_pool(struct capture *cap, uint64_t seq, bool want_raw,
                          bool want_jpeg)
{
    struct frame_hdr *h = &cap->hdr;
    uint8_t *buf = pool_get(cap->raw_pool);
    if (!buf) {
        log_limited(&cap->pool_log, "all frame buffers in flight");
        cap->st.drops++;
        return 0;
    }
    int rc = source_read(cap->src, buf, h->stride, seq);
    if (rc != 0) {
        pool_zmq_free(buf, cap->raw_pool);
        return rc;
    }
    h->seq = seq;
    frame_stamp(h);
    uint64_t bytes = publish(cap, buf, buf, want_raw, want_jpeg);
    stats_frame(&cap->st, h, bytes);
    return 0;
}

static int run(struct capture *cap)
{
    double fps;
    uint32_t w, h;
    enum pixfmt fmt;
    uint64_t seq = 0;

    source_format(cap->src, &w, &h, &fmt, &fps);
    if (cap->o.req.fps >= 0)
        fps = cap->o.req.fps;
    int64_t period = fps > 0 ? (int64_t)(1e9 / fps) : 0;
    /* Unpaced, the subscribers set the pace: frames they have no room for
     * are not made at all, rather than made and dropped at their queues. */
    int bp = period ? 0 : pub_set_backpressure(cap->pub, BACKPRESSURE_MS);
    if (bp < 0)
        log_warn("cannot wait for subscribers: %s", zmq_strerror(-bp));
    int64_t next = clock_mono_ns();

    cap->hdr = (struct frame_hdr){.version = FRAME_SCHEMA_VERSION,
                                  .width = w,
                                  .height = h,
                                  .stride = w * pixfmt_bpp(fmt),
                                  .fmt = fmt,
                                  .enc = ENC_RAW};
    cap->hdr.size = (uint64_t)cap->hdr.stride * h;
    snprintf(cap->hdr.stream, sizeof cap->hdr.stream, "%s", cap->o.stream);

    while (!cli_stop && (!cap->o.frames || cap->st.frames < cap->o.frames)) {
        if (period)
            wait_until(cap, next);
        else
            pub_poll_subs(cap->pub, NULL, NULL);
        if (cli_stop)
            break;
        next += period;
        /* Far behind (a stall, a slow source): resume from now rather than
         * bursting to catch up. */
        if (period && clock_mono_ns() - next > 2 * period) {
            cap->skipped++;
            next = clock_mono_ns() + period;
        }
        bool want_shm =
            cap->ring && pub_wants(cap->pub, VAR_SHM, cap->o.stream);
        bool want_raw = pub_wants(cap->pub, VAR_RAW, cap->o.stream);
        bool want_jpeg = pub_wants(cap->pub, VAR_JPEG, cap->o.stream);
        if (!want_shm && !want_raw && !want_jpeg &&
            source_on_demand(cap->src)) {
            /* Nobody wants this frame: make none.  seq counts frames
             * made, so a receiver's seq gaps are frames it lost. */
            stats_tick(&cap->st);
            if (!period)
                usleep(1000);
            continue;
        }
        int rc = want_shm ? frame_via_ring(cap, seq, want_raw, want_jpeg)
                          : frame_via_pool(cap, seq, want_raw, want_jpeg);
        if (rc > 0)
            return EXIT_OK; /* end of input */
        if (rc < 0)
            return EXIT_RUNTIME;
        seq++;
        stats_tick(&cap->st);
    }
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    struct capture cap = {0};
    struct source_spec spec;
    struct endpoint ep;
    const char *why;
    char err[256];
    int rc = EXIT_USAGE;

    log_init(PROG);
    if (parse(argc, argv, &cap.o) < 0)
        return EXIT_USAGE;
    if (source_parse(cap.o.input, &spec, &why) < 0) {
        log_err("-i %s: %s", cap.o.input, why);
        return EXIT_USAGE;
    }
    if (endpoint_parse(cap.o.output, &ep, &why) < 0) {
        log_err("-o %s: %s", cap.o.output, why);
        return EXIT_USAGE;
    }
    if (cap.o.curve_secret &&
        curve_server_setup(cap.o.curve_secret, cap.o.curve_allow, err,
                           sizeof err) < 0) {
        log_err("%s", err);
        goto out;
    }
    cli_signals();
    if (ep.kind == EP_STDIO || spec.kind == SRC_STREAM) {
        struct piperun_cfg pc = {spec, cap.o.req, ep.url,
                                 cap.o.stream_set ? cap.o.stream : NULL,
                                 cap.o.frames, cap.o.codec, cap.o.quality,
                                 cap.o.speed,
                                 cap.o.no_shm ? 0 : cap.o.ring_slots,
                                 cap.o.stats_json};
        return piperun(&pc);
    }
    if (!(cap.src = source_open(&spec, &cap.o.req, err, sizeof err))) {
        log_err("%s", err);
        goto out;
    }
    uint32_t w, h;
    enum pixfmt fmt;
    double fps;
    source_format(cap.src, &w, &h, &fmt, &fps);
    size_t frame_bytes = (size_t)w * h * pixfmt_bpp(fmt);
    cap.raw_pool = pool_new(POOL_BUFS, frame_bytes);
    cap.jpeg_pool = pool_new(POOL_BUFS, jpeg_bound(w, h));
    cap.jpeg = jpeg_new();
    if (!cap.raw_pool || !cap.jpeg_pool || !cap.jpeg) {
        log_err("cannot allocate frame buffers for %ux%u", w, h);
        rc = EXIT_RUNTIME;
        goto out;
    }
    if (!cap.o.no_shm) {
        char name[FRAME_SHM_NAME_MAX + 1];
        ring_gc();
        snprintf(name, sizeof name, "/vidpipe-%d-0", (int)getpid());
        cap.ring = ring_create(name, cap.o.ring_slots, w, h,
                               w * pixfmt_bpp(fmt), fmt, err, sizeof err);
        if (!cap.ring)
            log_warn("%s; publishing without shared memory", err);
    }
    if (!(cap.pub = pub_new(ep.url, err, sizeof err))) {
        log_err("%s", err);
        goto out;
    }
    stats_init(&cap.st, "capture", cap.o.stats_json);
    cap.st.path = "tcp";
    stats_add_counter(&cap.st, "shm_sent", &cap.shm_sent);
    stats_add_counter(&cap.st, "raw_sent", &cap.raw_sent);
    stats_add_counter(&cap.st, "raw_copies", &cap.raw_copies);
    stats_add_counter(&cap.st, "jpeg_encodes", &cap.jpeg_encodes);
    stats_add_counter(&cap.st, "late_skips", &cap.skipped);
    log_info("%s %ux%u %s at %.3g fps -> %s (stream %s)", cap.o.input, w, h,
             pixfmt_name(fmt), cap.o.req.fps >= 0 ? cap.o.req.fps : fps,
             ep.url, cap.o.stream);
    rc = run(&cap);
    stats_final(&cap.st);
out:
    pub_free(cap.pub);
    net_term(); /* returns once ZeroMQ has handed back every buffer */
    pool_free(cap.raw_pool);
    pool_free(cap.jpeg_pool);
    jpeg_free(cap.jpeg);
    ring_free(cap.ring);
    source_free(cap.src);
    return rc;
}
